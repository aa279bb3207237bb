"""xlm.modeling against transformers' XLM classes (the oracle), on random weights, for every head and config."""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from _parity import (
    HEADS,
    HF_CONFIGS,
    VARIANTS,
    assert_beams_close,
    assert_outputs_close,
    config_dict,
    langs_like,
    model_pair,
    scale_value_heads,
    their_state_dict,
)
from _tolerance import assert_rounding_equal
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

from xlm.errors import InputError, InvalidConfigError
from xlm.modeling_utils import KVCache
from xlm.models.xlm import modeling
from xlm.models.xlm.configuration import XLMConfig

LM, MC, QA_BEAM = "XLMWithLMHeadModel", "XLMForMultipleChoice", "XLMForQuestionAnswering"
BS, SLEN = 4, 8


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_hf_config_list_covers_every_file(shared_data):
    files = sorted(
        p.stem for p in (shared_data / "hf-configs").glob("*.json") if "emb_dim" in json.loads(p.read_text())
    )
    assert files == HF_CONFIGS


# ---- inputs shared by the parity tests ------------------------------------------------------------------------


def _cases(data: dict, name: str) -> list[tuple[dict, torch.Tensor]]:
    """(forward kwargs, real-token mask) pairs: default lengths from right padding, explicit attention mask with
    left padding, explicit lengths, langs/token types/positions, inputs_embeds; explicit and fused attention."""
    gen = torch.Generator().manual_seed(1)
    pad = data["pad_token_id"]
    ids = torch.randint(6, data["vocab_size"], (BS, SLEN), generator=gen)
    ids[-1, -3:] = pad
    right = ids != pad
    left = torch.ones(BS, SLEN, dtype=torch.long)
    left[1, :2] = 0
    left_ids = ids.masked_fill(left == 0, pad)
    lengths = torch.tensor([SLEN, 5, 6, 3])
    by_length = torch.arange(SLEN) < lengths[:, None]
    embeds = torch.randn(BS, SLEN, data["emb_dim"], generator=gen)
    extras = {
        "langs": langs_like(ids, data["n_langs"]),
        "token_type_ids": torch.randint(0, data["vocab_size"], (BS, SLEN), generator=gen),
        "position_ids": torch.randint(0, data["max_position_embeddings"], (BS, SLEN), generator=gen),
    }
    flags = {"output_attentions": True, "output_hidden_states": True}
    cases = [
        ({"input_ids": ids, **flags}, right),
        ({"input_ids": ids}, right),
        ({"input_ids": left_ids, "attention_mask": left, **flags}, left.bool()),
        ({"input_ids": ids, "lengths": lengths}, by_length),
        ({"input_ids": ids, **extras, **flags}, right),
        ({"input_ids": ids, **extras}, right),
        ({"inputs_embeds": embeds, "attention_mask": left, "langs": extras["langs"], **flags}, left.bool()),
    ]
    cases.append(({**cases[0][0], **_labels(name, data, right)}, right))
    if name == QA_BEAM:  # as in SQuAD, padding is excluded from the answer beams
        cases = [({**kw, "p_mask": (~real).float()}, real) for kw, real in cases]
    if name == MC:  # the 4 rows become 2 questions with 2 choices each
        cases = [({k: _as_choices(k, v) for k, v in kw.items()}, real) for kw, real in cases]
    return cases


def _labels(name: str, data: dict, real: torch.Tensor) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    n_labels = data.get("num_labels", 2)
    if name == LM:
        return {
            "labels": torch.randint(0, data["vocab_size"], (BS, SLEN), generator=gen).masked_fill(~real, -100)
        }
    if name == "XLMForSequenceClassification":
        return {"labels": torch.randint(0, n_labels, (BS,), generator=gen)}
    if name == "XLMForTokenClassification":
        return {"labels": torch.randint(0, n_labels, (BS, SLEN), generator=gen).masked_fill(~real, -100)}
    if name == MC:
        return {"labels": torch.tensor([1, 0, 1, 1])}  # reshaped to (2,) by _as_choices
    if name == "XLMForQuestionAnsweringSimple":  # one end beyond the input: ignored in the loss
        return {"start_positions": torch.tensor([0, 2, 4, 1]), "end_positions": torch.tensor([3, 5, 50, 2])}
    if name == QA_BEAM:
        return {
            "start_positions": torch.tensor([0, 2, 4, 1]),
            "end_positions": torch.tensor([3, 5, 6, 2]),
            "cls_index": torch.tensor([0, 0, 1, 0]),
            "is_impossible": torch.tensor([0.0, 1.0, 0.0, 1.0]),
        }
    return {}


def _as_choices(key: str, value: torch.Tensor) -> torch.Tensor:
    if key == "labels":
        return value[:2]
    if not isinstance(value, torch.Tensor) or key == "lengths":
        return value
    return value.view(2, 2, *value.shape[1:])


def _compare(name: str, ours, theirs, kwargs: dict) -> None:
    their_out = theirs(**kwargs)
    if name == MC and "lengths" in kwargs:
        with pytest.warns(UserWarning, match="lengths"):
            our_out = ours(**kwargs)
    else:
        our_out = ours(**kwargs)
    if name == QA_BEAM and "start_positions" not in kwargs:
        assert_beams_close(our_out, their_out)
    else:
        assert_outputs_close(our_out, their_out)


# ---- parity -----------------------------------------------------------------------------------------------------

PAIRS = [(name, variant) for name in HEADS for variant in VARIANTS if (name, variant) != (LM, "asm")]


@pytest.mark.parametrize(("name", "variant"), PAIRS)
def test_parity_with_transformers(shared_data, name, variant):
    data = config_dict(shared_data, variant)
    if name == "XLMForQuestionAnsweringSimple":
        data["num_labels"] = 2
    ours, theirs = model_pair(name, data)
    assert list(ours.state_dict()) == list(their_state_dict(theirs))
    assert ours.num_parameters() == theirs.num_parameters()
    with torch.no_grad():
        for kwargs, _ in _cases(data, name):
            _compare(name, ours, theirs, kwargs)


@pytest.mark.parametrize("name", ["XLMModel", LM, MC])
def test_head_mask_scales_each_heads_weights(shared_data, name):
    data = config_dict(shared_data, "xlm-mlm-tlm-xnli15-1024")
    ours, theirs = model_pair(name, data)
    (kwargs, _), *_ = _cases(data, name)
    head_mask = torch.tensor([[1.0, 0.0, 0.5, 1.0], [0.0, 1.0, 1.0, 0.25]])
    scaled = scale_value_heads(theirs, head_mask)
    with torch.no_grad():
        our_out = ours(**kwargs, head_mask=head_mask)
        their_out = scaled(**kwargs)
        assert_outputs_close(our_out, their_out, skip=("attentions",))
        for layer, (a, b) in enumerate(zip(our_out.attentions, their_out.attentions, strict=True)):
            assert_rounding_equal(a, b * head_mask[layer].view(1, -1, 1, 1))
        # a 1-d mask applies to every layer; without output_attentions the same numbers come out
        plain = {k: v for k, v in kwargs.items() if not k.startswith("output_")}
        one_d = ours(**plain, head_mask=head_mask[1])
        assert_outputs_close(one_d, scale_value_heads(theirs, head_mask[[1, 1]])(**plain))


def _their_cache() -> EncoderDecoderCache:
    return EncoderDecoderCache(DynamicCache(), DynamicCache())


@pytest.mark.parametrize(
    "variant", ["causal", "tiny-random-xlm", "xlm-mlm-tlm-xnli15-1024", "xlm-mlm-en-2048"]
)
def test_cache_matches_transformers_step_by_step(shared_data, variant):
    data = config_dict(shared_data, variant)
    causal = variant == "causal"
    ours, theirs = model_pair(LM, data)
    ids = torch.randint(6, data["vocab_size"], (2, 7))
    if causal:  # padding is only consistent between prefix and full runs for a causal model
        ids[1, 5:] = data["pad_token_id"]
    langs = langs_like(ids, data["n_langs"])
    our_cache, their_cache = ours.new_cache(), _their_cache()
    steps = []
    with torch.no_grad():
        for t in range(3, 8):
            kwargs = {"input_ids": ids[:, :t], "langs": langs[:, :t], "output_attentions": t % 2 == 0}
            our_out = ours(**kwargs, cache=our_cache)
            assert_outputs_close(our_out, theirs(**kwargs, cache=their_cache))
            steps.append(our_out.logits)
        assert our_cache.seq_len == 7
        if causal:  # step by step = the whole sequence at once
            assert_rounding_equal(torch.cat(steps, 1), theirs(ids, langs=langs).logits)


def test_cache_with_inputs_embeds_matches_a_full_causal_run(shared_data):
    """transformers does not trim inputs_embeds against its cache; ours does, like input_ids."""
    data = config_dict(shared_data, "causal")
    ours, theirs = model_pair("XLMModel", data)
    embeds = torch.randn(2, 6, data["emb_dim"])
    cache = KVCache()
    with torch.no_grad():
        steps = [ours(inputs_embeds=embeds[:, :t], cache=cache).last_hidden_state for t in range(2, 7)]
        full = theirs(inputs_embeds=embeds).last_hidden_state
    assert_rounding_equal(torch.cat(steps, 1), full)


def test_adaptive_softmax_head(shared_data, tmp_path):
    """transformers 5.23 cannot run its asm head on (bs, slen, dim) input; its own modules are the oracle."""
    data = config_dict(shared_data, "asm")
    ours, theirs = model_pair(LM, data)
    assert set(ours.state_dict()) == set(theirs.state_dict()) - {"pred_layer.proj.weight"}
    ids = torch.randint(6, data["vocab_size"], (3, 6))
    labels = torch.randint(0, data["vocab_size"], (3, 6))
    with torch.no_grad():
        hidden = theirs.transformer(ids).last_hidden_state.reshape(-1, data["emb_dim"])
        out = ours(ids, labels=labels)
        assert_rounding_equal(out.logits, theirs.pred_layer.proj.log_prob(hidden).view(3, 6, -1))
        assert_rounding_equal(out.loss, theirs.pred_layer.proj(hidden, labels.flatten()).loss)
        # -100 labels are left out of the loss
        labels[0, :4] = -100
        kept = labels.flatten() != -100
        expected = theirs.pred_layer.proj(hidden[kept], labels.flatten()[kept]).loss
        assert_rounding_equal(ours(ids, labels=labels).loss, expected)
        ours.save_pretrained(tmp_path)
        again = modeling.XLMWithLMHeadModel.from_pretrained(tmp_path)
        assert torch.equal(again(ids).logits, ours(ids).logits)


@pytest.mark.parametrize(
    ("problem_type", "num_labels", "labels"),
    [
        (None, 1, torch.tensor([0.5, -1.0, 2.0, 0.0])),
        (None, 3, torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])),
        ("regression", 3, torch.randn(4, 3)),
        ("single_label_classification", 3, torch.tensor([2, 0, 1, 1])),
    ],
)
def test_sequence_classification_losses(shared_data, problem_type, num_labels, labels):
    data = config_dict(shared_data, "tiny-random-xlm", num_labels=num_labels, problem_type=problem_type)
    ours, theirs = model_pair("XLMForSequenceClassification", data)
    ids = torch.randint(6, data["vocab_size"], (4, 5))
    with torch.no_grad():
        assert_outputs_close(ours(ids, labels=labels), theirs(ids, labels=labels))


# ---- initialisation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HEADS)
def test_fresh_initialisation_follows_transformers(shared_data, name):
    """Same scheme: zeros, ones and the std of every random tensor (large sizes so the std estimate is tight)."""
    data = config_dict(shared_data, "xlm-mlm-ende-1024", emb_dim=64, vocab_size=2000)
    ours = getattr(modeling, name)(XLMConfig.from_dict(data))
    theirs = getattr(transformers, name)(transformers.XLMConfig(**data))
    mine = ours.state_dict()
    for key, their in their_state_dict(theirs).items():
        our = mine[key]
        if their.eq(0).all() or their.eq(1).all():
            assert torch.equal(our, their), key
        elif their.numel() >= 1000:  # std estimates within a few percent
            assert our.std().item() == pytest.approx(their.std().item(), rel=0.1), key
        else:
            assert our.ne(0).all(), key
    pad = data["pad_token_id"]
    assert ours.get_input_embeddings().weight[pad].eq(0).all()
    if name == LM:
        assert ours.pred_layer.proj.weight is ours.transformer.embeddings.weight


def test_sinusoidal_position_embeddings(shared_data):
    data = config_dict(shared_data, "sinusoidal")
    expected = transformers.XLMModel(transformers.XLMConfig(**data)).position_embeddings.weight.detach()
    ours = modeling.XLMModel(XLMConfig.from_dict(data))
    assert_rounding_equal(ours.position_embeddings.weight.detach(), expected, ulps=8)
    # the per-module initialisation the loader uses after building on the meta device
    with torch.device("meta"):
        lazy = modeling.XLMForSequenceClassification(XLMConfig.from_dict(data))
    embeddings = lazy.transformer.position_embeddings.to_empty(device="cpu")
    lazy._init_weights(embeddings)
    assert_rounding_equal(embeddings.weight.detach(), expected, ulps=8)


def test_untied_output_embeddings(shared_data):
    data = config_dict(shared_data, "tiny-random-xlm", tie_word_embeddings=False)
    ours, theirs = model_pair(LM, data)
    assert ours.pred_layer.proj.weight is not ours.transformer.embeddings.weight
    ids = torch.randint(6, data["vocab_size"], (2, 5))
    with torch.no_grad():
        assert_outputs_close(ours(ids), theirs(ids))


# ---- loading and saving through the Hub format ------------------------------------------------------------------


@pytest.mark.parametrize("name", [LM, QA_BEAM, "XLMForSequenceClassification"])
def test_checkpoints_load_both_ways(shared_data, tmp_path, name):
    data = config_dict(shared_data, "xlm-mlm-tlm-xnli15-1024")
    _, theirs = model_pair(name, data)
    theirs.save_pretrained(tmp_path / "theirs")
    ours = getattr(modeling, name).from_pretrained(tmp_path / "theirs")
    assert ours.load_report.missing_keys == [] and ours.load_report.unexpected_keys == []
    ours.save_pretrained(tmp_path / "ours")
    back = getattr(transformers, name).from_pretrained(tmp_path / "ours").eval()
    (kwargs, _), *_ = _cases(data, name)
    with torch.no_grad():
        _compare(name, ours, theirs, kwargs)
        _compare(name, ours, back, kwargs)


# ---- model API --------------------------------------------------------------------------------------------------


def test_outputs_index_like_transformers(shared_data):
    ours, theirs = model_pair(LM, config_dict(shared_data, "tiny-random-xlm"))
    ids = torch.randint(6, 99, (2, 5))
    with torch.no_grad():
        out, ref = ours(ids, output_hidden_states=True), theirs(ids, output_hidden_states=True)
    assert out["logits"] is out.logits and out[0] is out.logits and out[1] is out.hidden_states
    assert len(out.to_tuple()) == len(ref.to_tuple()) == 2
    with pytest.raises(KeyError):
        out["loss"]


def test_logits_to_keep_and_output_flags_from_the_config(shared_data):
    data = config_dict(shared_data, "tiny-random-xlm", output_attentions=True, output_hidden_states=True)
    ours, theirs = model_pair(LM, data)
    ids = torch.randint(6, data["vocab_size"], (2, 6))
    with torch.no_grad():
        our_out, their_out = ours(ids, logits_to_keep=2), theirs(ids, logits_to_keep=2)
    assert our_out.logits.shape == (2, 2, data["vocab_size"]) and len(our_out.attentions) == data["n_layers"]
    assert_outputs_close(our_out, their_out)


def test_dtype_device_and_bfloat16(shared_data):
    data = config_dict(shared_data, "xlm-clm-ende-1024")
    ours, theirs = model_pair(LM, data)
    assert ours.dtype == torch.float32 and ours.device == torch.device("cpu")
    ids = torch.randint(6, data["vocab_size"], (2, 6))
    ids[1, 4:] = data["pad_token_id"]
    ours.to(torch.bfloat16)
    theirs.to(torch.bfloat16)
    assert ours.dtype == torch.bfloat16
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, theirs(ids).logits, atol=0.05, rtol=0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of them"),
        ({"input_ids": torch.full((1, 4), 99)}, r"input_ids must lie in \[0, 99\) \(vocab_size=99\)"),
        ({"input_ids": torch.ones(1, 41, dtype=torch.long)}, "max_position_embeddings=40"),
        (
            {"input_ids": torch.ones(1, 4, dtype=torch.long), "langs": torch.full((1, 4), 2)},
            r"langs must lie in \[0, 2\)",
        ),
        (
            {"input_ids": torch.ones(1, 4, dtype=torch.long), "lengths": torch.tensor([5])},
            "lengths go up to 5",
        ),
        (
            {"input_ids": torch.ones(2, 4, dtype=torch.long), "attention_mask": torch.ones(2, 3)},
            r"attention_mask has shape \(2, 3\), expected \(2, 4\)",
        ),
        (
            {"input_ids": torch.ones(1, 4, dtype=torch.long), "head_mask": torch.ones(3, 4)},
            r"head_mask has shape \(3, 4\)",
        ),
    ],
)
def test_bad_inputs_get_clear_errors(shared_data, kwargs, message):
    model = modeling.XLMModel(XLMConfig.from_dict(config_dict(shared_data, "tiny-random-xlm")))
    with pytest.raises(InputError, match=message):
        model(**kwargs)


def test_cache_wants_the_whole_sequence(shared_data):
    model = modeling.XLMWithLMHeadModel(XLMConfig.from_dict(config_dict(shared_data, "causal")))
    cache, ids = model.new_cache(), torch.randint(6, 99, (1, 4))
    model(ids, cache=cache)
    with pytest.raises(InputError, match="whole sequence so far"):
        model(ids[:, -1:], cache=cache)


def test_beam_qa_needs_enough_positions(shared_data):
    model = modeling.XLMForQuestionAnswering(XLMConfig.from_dict(config_dict(shared_data, "tiny-random-xlm")))
    with pytest.raises(InputError, match="fewer than the beam sizes start_n_top=5"):
        model(torch.randint(6, 99, (1, 4)))


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("XLMForQuestionAnsweringSimple", {"num_labels": 3}, "needs num_labels=2"),
        (MC, {"summary_use_proj": False}, "project to num_labels features"),
        (MC, {"summary_proj_to_labels": False}, "project to num_labels features"),
    ],
)
def test_heads_reject_configs_they_cannot_use(shared_data, name, overrides, message):
    config = XLMConfig.from_dict(config_dict(shared_data, "tiny-random-xlm", **overrides))
    with pytest.raises(InvalidConfigError, match=message):
        getattr(modeling, name)(config)
