"""The language-embedding swap: with the same language it is the plain run (fill-mask and attention, exactly);
swapped or left out, it is transformers' model fed the same ids with those language ids (or none); KL, top-k
overlap and the attention shift against numpy on transformers' outputs; models without language embeddings refused."""

import numpy as np
import pytest
import torch
import transformers

import xlm
from xlm.pipelines import pipeline
from xlm.pipelines.language_swap import NO_LANGUAGE, LanguageSwapPipeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXT = "Das ist ein <mask> Haus mit vielen <mask> ."
EPS = torch.finfo(torch.float32).eps


@pytest.fixture(scope="module")
def lm_dir(make_model):
    return make_model("XLMWithLMHeadModel", seed=3)


@pytest.fixture(scope="module")
def swap(lm_dir) -> LanguageSwapPipeline:
    return LanguageSwapPipeline(lm_dir, device="cpu")


def test_same_language_is_the_plain_run(swap, lm_dir):
    out = swap(TEXT, lang="de", other="de", top_k=4)
    fill = pipeline("fill-mask", lm_dir, device="cpu")(TEXT, top_k=4, lang="de")
    attention = pipeline("attention", lm_dir, device="cpu")(TEXT.replace("<mask>", "<special1>"), lang="de")
    for run in out["runs"]:
        assert run["predictions"] == fill
        assert run["attentions"] == attention["attentions"]
    assert out["tokens"] == attention["tokens"]
    assert out["shift"]["masks"] == [{"kl": 0.0, "overlap": 1.0, "same_top1": True}] * 2
    assert out["shift"]["attention"] == [0.0, 0.0]


def their_run(model, ids: torch.Tensor, langs: torch.Tensor | None, positions: list[int]):
    """transformers' logits at the masks (float64 numpy) and attentions (layers, heads, q, k)."""
    with torch.no_grad():
        out = model(input_ids=ids, langs=langs, output_attentions=True)
    return out.logits[0, positions].double().numpy(), torch.stack(out.attentions)[:, 0].double().numpy()


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


SWAPS = [  # (model, text, own language, other, k)
    ("random", TEXT, "de", "en", 5),
    ("random", TEXT, "de", NO_LANGUAGE, 5),
    ("mini", "Le chat dort sur le <mask> .", "fr", "it", 20),  # trained: top-20 overlap 0.15
]


@pytest.mark.parametrize(("name", "text", "lang", "other", "k"), SWAPS)
def test_swap_matches_transformers_and_numpy(name, text, lang, other, k, lm_dir, mini_dir):
    folder = {"random": lm_dir, "mini": mini_dir}[name]
    swap = LanguageSwapPipeline(folder, device="cpu")
    out = swap(text, lang=lang, other=other, top_k=k)
    ids = swap.encode([swap._with_mask_token(text)], lang=lang)["input_ids"]
    positions = (ids[0] == swap.tokenizer.mask_token_id).nonzero().flatten().tolist()
    model = transformers.XLMWithLMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
    own_langs = torch.full_like(ids, model.config.lang2id[lang])
    swapped = None if other == NO_LANGUAGE else torch.full_like(ids, model.config.lang2id[other])
    own_logits, own_att = their_run(model, ids, own_langs, positions)
    other_logits, other_att = their_run(model, ids, swapped, positions)
    # the swapped run's predictions and attention are transformers' with the other language ids (or none)
    for n, guesses in enumerate(swap_masks(out["runs"][1]["predictions"])):
        probs = np.exp(log_softmax(other_logits[n]))
        assert [g["token"] for g in guesses] == list(np.argsort(-probs)[:k])
        assert [g["score"] for g in guesses] == pytest.approx(
            np.sort(probs)[::-1][:k], rel=64 * EPS, abs=64 * EPS
        )
    np.testing.assert_allclose(out["runs"][1]["attentions"], other_att, atol=1e-4, rtol=0)  # 4 decimals kept
    # KL(own ‖ swapped), top-k overlap, same top-1, attention total variation: numpy on transformers' outputs
    log_p, log_q = log_softmax(own_logits), log_softmax(other_logits)
    kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)
    scale = max(np.abs(own_logits).max(), np.abs(other_logits).max())
    overlaps = []
    for n, moved in enumerate(out["shift"]["masks"]):
        top_p, top_q = set(np.argsort(-log_p[n])[:k]), set(np.argsort(-log_q[n])[:k])
        assert moved["kl"] == pytest.approx(kl[n], rel=1e-6, abs=4 * 64 * EPS * scale)
        assert moved["overlap"] == len(top_p & top_q) / k
        assert moved["same_top1"] == (log_p[n].argmax() == log_q[n].argmax())
        overlaps.append(moved["overlap"])
    tv = (0.5 * np.abs(own_att - other_att).sum(axis=-1)).mean(axis=(1, 2))
    assert out["shift"]["attention"] == pytest.approx(tv, abs=64 * EPS * own_att.shape[-1])
    assert min(m["kl"] for m in out["shift"]["masks"]) > 1e-3  # the language id does move these models
    if name == "mini":
        assert 0 < overlaps[0] < 1  # a partial overlap, so the count is really checked
    assert out["runs"][1]["lang"] == other and out["other"] == other


def swap_masks(predictions: list) -> list[list[dict]]:
    """fill-mask's layout: one mask comes unwrapped."""
    return [predictions] if isinstance(predictions[0], dict) else predictions


def test_one_mask_unwrapped_like_fill_mask(swap, lm_dir):
    text = "Das ist ein <mask> Haus ."
    out = swap(text, lang="de", other="en", top_k=3)
    assert out["runs"][0]["predictions"] == pipeline("fill-mask", lm_dir, device="cpu")(
        text, top_k=3, lang="de"
    )
    assert isinstance(out["runs"][1]["predictions"][0], dict) and len(out["shift"]["masks"]) == 1


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("kein Platzhalter", {"lang": "de", "other": "en"}, "No mask token"),
        ("   ", {"lang": "de", "other": "en"}, "empty"),
        ("ein <mask>", {"lang": "de", "other": "xx"}, "Unknown language 'xx'"),
        ("ein <mask>", {"lang": "xx", "other": "en"}, "Unknown language 'xx'"),
        ("ein <mask>", {"other": "en"}, "own language"),
        ("ein <mask>", {"lang": "de"}, "language to swap in"),
        ("ein <mask>", {"lang": "de", "other": "en", "top_k": 0}, "top_k must be between 1"),
    ],
)
def test_bad_input(text, kwargs, message, swap):
    with pytest.raises(xlm.XLMError, match=message):
        swap(text, **kwargs)


def test_models_without_language_embeddings_are_refused(make_xlmr, make_model):
    with pytest.raises(xlm.InputError, match="XLM-RoBERTa models have no language embeddings"):
        LanguageSwapPipeline(make_xlmr("XLMRobertaForMaskedLM", seed=1), device="cpu")(
            "a <mask>", lang="en", other="de"
        )
    with pytest.raises(xlm.InputError, match=r"no language embeddings \(use_lang_emb=false\)"):
        LanguageSwapPipeline(make_model(use_lang_emb=False), device="cpu")("a <mask>", lang="en", other="de")
