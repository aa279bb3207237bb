"""The logit lens: its last layer is fill-mask's answer, and every layer is transformers' hidden state of that layer
read out through transformers' own LM head (with the final LayerNorm on the pre-LN XL), on the same weights."""

import pytest
import torch
import transformers
from _tolerance import approx_scores

import xlm
from xlm.pipelines import pipeline
from xlm.pipelines.logit_lens import LogitLensPipeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")

XLM_TEXT = "Berlin is a <special1> city with many people ."
XLMR_TEXT = "The cat is sleeping on the <mask> ."


@pytest.fixture(scope="module")
def checkpoints(make_model, make_xlmr):
    """name -> (folder, text, lang, transformers' class)."""
    return {
        "xlm": (make_model("XLMWithLMHeadModel", seed=3), XLM_TEXT, "de", transformers.XLMWithLMHeadModel),
        "xlm-no-lang": (
            make_model("XLMWithLMHeadModel", seed=4),
            XLM_TEXT,
            None,
            transformers.XLMWithLMHeadModel,
        ),
        "xlmr": (
            make_xlmr("XLMRobertaForMaskedLM", seed=1),
            XLMR_TEXT,
            None,
            transformers.XLMRobertaForMaskedLM,
        ),
        "xlmr-xl": (
            make_xlmr("XLMRobertaXLForMaskedLM", seed=2),
            XLMR_TEXT,
            None,
            transformers.XLMRobertaXLForMaskedLM,
        ),
    }


def their_readout(model: torch.nn.Module, hidden: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """transformers' hidden states at one position (layers + 1, dim) through transformers' own head: XLM's
    projection, XLM-R's whole LM head, after the XL encoder's final LayerNorm for the layers before the last."""
    states = torch.stack(hidden)
    if isinstance(model, transformers.XLMWithLMHeadModel):
        return model.pred_layer.proj(states)
    norm = getattr(model.roberta.encoder, "LayerNorm", None)
    if norm is not None:
        states = torch.cat([norm(states[:-1]), states[-1:]])
    return model.lm_head(states)


@pytest.mark.parametrize("name", ["xlm", "xlm-no-lang", "xlmr", "xlmr-xl"])
def test_every_layer_matches_transformers_hidden_states_through_its_head(name, checkpoints):
    folder, text, lang, their_class = checkpoints[name]
    lens = LogitLensPipeline(folder, device="cpu")
    ours = lens(text, top_k=5, lang=lang)
    enc = lens.encode([lens._with_mask_token(text)], lang=lang)
    inputs = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "langs")}
    theirs = their_class.from_pretrained(folder, dtype=torch.float32).eval()
    position = ours["mask_index"]
    with torch.no_grad():
        hidden = theirs(**inputs, output_hidden_states=True).hidden_states
        probs = their_readout(theirs, tuple(h[0, position] for h in hidden)).softmax(dim=-1)
    assert len(ours["layers"]) == theirs.config.num_hidden_layers + 1 == len(hidden)
    answer = int(probs[-1].argmax())
    assert ours["answer"]["token"] == answer
    for layer, row in zip(ours["layers"], probs, strict=True):
        scores, best = row.topk(5)
        assert [g["token"] for g in layer["top"]] == best.tolist()
        assert [g["score"] for g in layer["top"]] == approx_scores(scores.tolist())
        assert layer["answer_score"] == approx_scores(row[answer].item())
        assert layer["answer_rank"] == 1 + int((row > row[answer]).sum())
    assert ours["layers"][-1]["answer_rank"] == 1


@pytest.mark.parametrize("name", ["xlm", "xlmr", "xlmr-xl", "asm", "mini"])
def test_last_layer_is_fill_mask_exactly(name, checkpoints, make_model, mini_dir):
    if name == "asm":  # the adaptive softmax: its log-probabilities are the scores
        folder, text, lang = (
            make_model(asm=True, asm_cutoffs=[2000, 20000], asm_div_value=4.0, seed=5),
            XLM_TEXT,
            "en",
        )
    elif name == "mini":
        folder, text, lang = mini_dir, "Le chat dort sur le <mask> .", "fr"
    else:
        folder, text, lang, _ = checkpoints[name]
    lens = LogitLensPipeline(folder, device="cpu")(text, top_k=7, lang=lang)
    fill = pipeline("fill-mask", folder, device="cpu")(text, top_k=7, lang=lang)
    last = lens["layers"][-1]["top"]
    assert [(g["token"], g["token_str"], g["score"]) for g in last] == [
        (g["token"], g["token_str"], g["score"]) for g in fill
    ]
    assert lens["answer"]["token"] == fill[0]["token"]


def test_readout_is_said_for_each_family(checkpoints, make_model):
    folders = {name: checkpoints[name][:2] for name in ("xlm", "xlmr", "xlmr-xl")}
    folders["asm"] = (make_model(asm=True, asm_cutoffs=[2000, 20000], asm_div_value=4.0, seed=5), XLM_TEXT)
    lines = {
        name: LogitLensPipeline(folder, device="cpu")(text)["readout"]
        for name, (folder, text) in folders.items()
    }
    assert lines["xlm"].endswith("→ the vocabulary projection")
    assert lines["asm"].endswith("→ the adaptive softmax")
    assert "dense → GELU → LayerNorm" in lines["xlmr"]
    assert "final LayerNorm" in lines["xlmr-xl"]


def test_tokens_and_mask_index(checkpoints):
    folder, text, lang, _ = checkpoints["xlm"]
    out = LogitLensPipeline(folder, device="cpu")(text.replace("<special1>", "<mask>"), top_k=2, lang=lang)
    assert out["tokens"][out["mask_index"]] == "<special1>"
    assert [layer["layer"] for layer in out["layers"]] == [0, 1, 2]
    assert all(len(layer["top"]) == 2 for layer in out["layers"])


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("no mask here", {}, "No mask token"),
        ("two <mask> and <mask> .", {}, "one mask at a time and the text has 2"),
        ("   ", {}, "empty"),
        ("a <mask>", {"top_k": 0}, "top_k must be between 1"),
        ("a <mask>", {"lang": "xx"}, "Unknown language 'xx'"),
    ],
)
def test_bad_input(text, kwargs, message, checkpoints):
    with pytest.raises(xlm.XLMError, match=message):
        LogitLensPipeline(checkpoints["xlm"][0], device="cpu")(text, **kwargs)


def test_wrong_type_is_refused(checkpoints):
    with pytest.raises(xlm.InputError, match="must be a string"):
        LogitLensPipeline(checkpoints["xlm"][0], device="cpu")(42)
