"""XLM-RoBERTa and XLM-RoBERTa XL against transformers (the oracle), on random weights, for every head.

Configs keep the structure of the real checkpoints (xlm-roberta-base / -large: post-LayerNorm, 514 positions, one
token type, eps 1e-5; -xl / -xxl: pre-LayerNorm, vocabulary 250,880) at test size. transformers' random weights are
copied into ours and every output must agree up to rounding.
"""

from __future__ import annotations

import pytest
import torch
import transformers
from _parity import assert_outputs_close
from _tolerance import assert_rounding_equal

from xlm.errors import InputError, InvalidConfigError, ModelTypeError
from xlm.modeling_utils import KVCache
from xlm.models.xlm_roberta import modeling
from xlm.models.xlm_roberta.configuration import XLMRobertaConfig, XLMRobertaXLConfig
from xlm.registry import FAMILIES

HEADS = [cls.__name__.removeprefix("XLMRoberta") for cls in FAMILIES["xlm-roberta"].heads.values()]
# The real configs' structure (hidden/intermediate ratio 4, 514 positions, type_vocab_size 1, eps 1e-5); sizes
# scaled down. "-large" and "-xxl" differ from "-base" / "-xl" in their size only, so the test shapes differ too.
SHAPES = {
    "xlm-roberta-base": (False, {"hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 2}),
    "xlm-roberta-large": (False, {"hidden_size": 48, "num_attention_heads": 4, "num_hidden_layers": 3}),
    "xlm-roberta-xl": (True, {"hidden_size": 40, "num_attention_heads": 4, "num_hidden_layers": 3}),
    "xlm-roberta-xxl": (True, {"hidden_size": 64, "num_attention_heads": 8, "num_hidden_layers": 2}),
}
COMMON = {"vocab_size": 120, "max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-5}
PAD = 1


def config_dict(shape: str, **overrides) -> dict:
    _, sizes = SHAPES[shape]
    return {**COMMON, **sizes, "intermediate_size": 4 * sizes["hidden_size"], **overrides}


def pair(shape: str, head: str, seed: int = 0, **overrides):
    """(ours, theirs) in eval mode, transformers' random weights copied into ours; theirs computes attention
    explicitly (its SDPA path returns no weights)."""
    xl, _ = SHAPES[shape]
    prefix = "XLMRobertaXL" if xl else "XLMRoberta"
    data = config_dict(shape, **overrides)
    if head == "ForCausalLM":
        data["is_decoder"] = True
    torch.manual_seed(seed)
    their_config = getattr(transformers, f"{prefix}Config")(**data)
    their_config._attn_implementation = "eager"
    theirs = getattr(transformers, prefix + head)(their_config).eval()
    our_config = (XLMRobertaXLConfig if xl else XLMRobertaConfig).from_dict(data)
    ours = getattr(modeling, prefix + head)(our_config).eval()
    result = ours.load_state_dict(theirs.state_dict(), strict=False)
    assert not result.unexpected_keys and not result.missing_keys, result
    return ours, theirs


def batch(bs: int = 3, slen: int = 9, seed: int = 1) -> dict[str, torch.Tensor]:
    """Ids avoiding the special ids 0-3, the last row right-padded, with its attention mask."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, COMMON["vocab_size"], (bs, slen), generator=gen)
    ids[-1, slen - 3 :] = PAD
    return {"input_ids": ids, "attention_mask": (ids != PAD).long()}


def choices(inputs: dict[str, torch.Tensor], n: int = 2) -> dict[str, torch.Tensor]:
    return {k: torch.stack([v.roll(i, dims=0) for i in range(n)], dim=1) for k, v in inputs.items()}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("head", HEADS)
def test_every_head_matches_transformers(shape, head):
    ours, theirs = pair(shape, head)
    inputs = batch()
    if head == "ForMultipleChoice":
        inputs = choices(inputs)
    kwargs = {"output_hidden_states": True, "output_attentions": True}
    with torch.no_grad():
        a, b = ours(**inputs, **kwargs), theirs(**inputs, **kwargs)
    assert_outputs_close(a, b, skip=("past_key_values",))
    assert len(a.hidden_states) == ours.config.num_hidden_layers + 1
    # the fused path (no attention weights asked for) gives the same numbers
    with torch.no_grad():
        fused = ours(**inputs)
    first = "last_hidden_state" if head == "Model" else "start_logits" if "Question" in head else "logits"
    assert_rounding_equal(fused[first], b[first])


@pytest.mark.parametrize("shape", ["xlm-roberta-base", "xlm-roberta-xl"])
def test_losses_match(shape):
    inputs = batch()
    gen = torch.Generator().manual_seed(3)
    ids = inputs["input_ids"]
    cases = {
        "ForMaskedLM": {"labels": ids.masked_fill(torch.rand(ids.shape, generator=gen) < 0.6, -100)},
        "ForCausalLM": {"labels": ids.masked_fill(ids == PAD, -100)},
        "ForSequenceClassification": {"labels": torch.tensor([0, 1, 1])},
        "ForTokenClassification": {"labels": torch.randint(0, 2, ids.shape, generator=gen)},
        "ForQuestionAnswering": {
            "start_positions": torch.tensor([1, 2, 30]),
            "end_positions": torch.tensor([3, 2, 4]),
        },
    }
    for head, labels in cases.items():
        ours, theirs = pair(shape, head)
        with torch.no_grad():
            a, b = ours(**inputs, **labels), theirs(**inputs, **labels)
        assert_rounding_equal(a.loss, b.loss, msg=lambda m, h=head: f"{h}: {m}")
    ours, theirs = pair(shape, "ForSequenceClassification", num_labels=1)
    with torch.no_grad():
        target = torch.tensor([0.5, -1.0, 2.0])
        assert_rounding_equal(ours(**inputs, labels=target).loss, theirs(**inputs, labels=target).loss)
    ours, theirs = pair(shape, "ForMultipleChoice")
    with torch.no_grad():
        a = ours(**choices(inputs), labels=torch.tensor([1, 0, 1]))
        b = theirs(**choices(inputs), labels=torch.tensor([1, 0, 1]))
    assert_rounding_equal(a.loss, b.loss)


@pytest.mark.parametrize("shape", ["xlm-roberta-large", "xlm-roberta-xxl"])
def test_explicit_inputs_match(shape):
    """token_type_ids, position_ids, inputs_embeds and left padding, as transformers reads them."""
    ours, theirs = pair(shape, "Model", type_vocab_size=2)
    inputs = batch()
    ids = inputs["input_ids"]
    gen = torch.Generator().manual_seed(4)
    extra = {
        "token_type_ids": torch.randint(0, 2, ids.shape, generator=gen),
        "position_ids": torch.randint(2, 500, ids.shape, generator=gen),
    }
    embeds = theirs.embeddings.word_embeddings(ids).detach()
    left = torch.cat([torch.full((3, 2), PAD), ids[:, :-2]], dim=1)
    with torch.no_grad():
        for kwargs in (
            {**inputs, **extra},
            {"inputs_embeds": embeds, "attention_mask": inputs["attention_mask"]},
            {"input_ids": left, "attention_mask": (left != PAD).long()},
            {"input_ids": ids},  # no mask: transformers attends to the padding too, and so do we
        ):
            assert_outputs_close(ours(**kwargs), theirs(**kwargs), skip=("past_key_values",))


@pytest.mark.parametrize("shape", ["xlm-roberta-base", "xlm-roberta-xl"])
def test_cache_steps_equal_the_full_pass_and_transformers(shape):
    ours, theirs = pair(shape, "ForCausalLM")
    ids = batch(bs=2, slen=7)["input_ids"][:1]
    with torch.no_grad():
        full = ours(ids).logits
        cache = KVCache()
        steps = [ours(ids[:, :t], past_key_values=cache).logits[:, -1] for t in range(3, 8)]
        their = theirs(ids[:, :2], use_cache=True)
        their_steps = []
        past = their.past_key_values
        for t in range(2, 7):
            out = theirs(ids[:, t : t + 1], past_key_values=past, use_cache=True)
            their_steps.append(out.logits[:, -1])
            past = out.past_key_values
    assert cache.seq_len == 7
    for t, (step, theirs_step) in enumerate(zip(steps, their_steps, strict=True)):
        assert_rounding_equal(step, full[:, t + 2])
        assert_rounding_equal(step, theirs_step)


def test_save_and_load_round_trips_both_ways(tmp_path):
    ours, theirs = pair("xlm-roberta-base", "ForMaskedLM")
    ours.save_pretrained(tmp_path / "ours")
    theirs.save_pretrained(tmp_path / "theirs")
    inputs = batch()
    reread_by_them = transformers.XLMRobertaForMaskedLM.from_pretrained(tmp_path / "ours").eval()
    reread_by_us = modeling.XLMRobertaForMaskedLM.from_pretrained(tmp_path / "theirs")
    assert reread_by_us.load_report.missing_keys == [] and reread_by_us.load_report.unexpected_keys == []
    with torch.no_grad():
        expected = theirs(**inputs).logits
        assert_rounding_equal(reread_by_them(**inputs).logits, expected)
        assert_rounding_equal(reread_by_us(**inputs).logits, expected)
    # the tied projection stays tied after loading
    assert reread_by_us.lm_head.decoder.weight is reread_by_us.roberta.embeddings.word_embeddings.weight
    # a head on a base-model checkpoint: the encoder loads, the head is reported untrained
    ours_base, _ = pair("xlm-roberta-xl", "Model")
    ours_base.save_pretrained(tmp_path / "base")
    qa = modeling.XLMRobertaXLForQuestionAnswering.from_pretrained(tmp_path / "base")
    assert qa.load_report.untrained_heads == ["question-answering head (qa_outputs)"]


def test_lm_scores_are_the_logits():
    ours, _ = pair("xlm-roberta-xl", "ForMaskedLM")
    inputs = batch()
    with torch.no_grad():
        out = ours(**inputs)
        hidden = ours.base_model(**inputs).last_hidden_state
        assert torch.equal(
            ours.lm_scores(hidden[inputs["attention_mask"].bool()]),
            out.logits[inputs["attention_mask"].bool()],
        )


def test_clear_errors():
    with pytest.raises(ModelTypeError, match="XLMRobertaConfig loads 'xlm-roberta' checkpoints only"):
        XLMRobertaConfig.from_dict({"model_type": "xlm-roberta-xl"})
    with pytest.raises(InvalidConfigError, match="hidden_size=30 is not divisible"):
        XLMRobertaConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(InvalidConfigError, match="hidden_act must be one of"):
        XLMRobertaConfig(hidden_act="sparkle")
    ours, _ = pair("xlm-roberta-base", "Model", max_position_embeddings=12)
    with pytest.raises(InputError, match="at most 10"):
        ours(torch.full((1, 11), 5))
    with pytest.raises(InputError, match=r"token_type_ids must lie in \[0, 1\)"):
        ours(torch.full((1, 4), 5), token_type_ids=torch.ones(1, 4, dtype=torch.long))
    with pytest.raises(InvalidConfigError, match="num_labels=2"):
        modeling.XLMRobertaForQuestionAnswering(XLMRobertaConfig(num_labels=3))
