"""transformers users' model idioms, for every head of both families, each compared with transformers on the same
weights and inputs: dict-like outputs and ``return_dict=False``, ``resize_token_embeddings``, ``from_pretrained``'s
keyword arguments (loading info, mismatched sizes, dtype, ``state_dict=``), re-labelled classifiers."""

from __future__ import annotations

import pytest
import torch
import transformers
from _tolerance import assert_rounding_equal

import xlm
from xlm.registry import FAMILIES

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Test-sized configs, one per model_type; the XLM one without language embeddings so every head takes the same
# inputs. Dropout 0 so that a training step is deterministic.
CONFIGS = {
    "xlm": {
        "vocab_size": 50, "emb_dim": 16, "n_heads": 2, "n_layers": 2, "max_position_embeddings": 32,
        "n_langs": 1, "dropout": 0.0, "attention_dropout": 0.0, "start_n_top": 2, "end_n_top": 2,
    },
    **{
        model_type: {
            "vocab_size": 50, "hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 2,
            "intermediate_size": 32, "max_position_embeddings": 40, "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        }
        for model_type in ("xlm-roberta", "xlm-roberta-xl")
    },
}  # fmt: skip
CASES = [(t, name) for t, family in FAMILIES.items() for name in family.architectures]
LM_SUFFIXES = ("WithLMHeadModel", "ForMaskedLM", "ForCausalLM")
LM_HEADS = [(t, name) for t, name in CASES if name.endswith(LM_SUFFIXES)]


def their_config(model_type: str, name: str, **overrides) -> transformers.PretrainedConfig:
    data = {**CONFIGS[model_type], **overrides}
    if name.endswith("ForCausalLM"):
        data["is_decoder"] = True
    config = transformers.AutoConfig.for_model(model_type, **data)
    config._attn_implementation = "eager"
    return config


def pair(model_type: str, name: str, seed: int = 0, **overrides):
    """(ours, theirs) in eval mode: transformers' random weights, saved by transformers and loaded by us."""
    torch.manual_seed(seed)
    theirs = getattr(transformers, name)(their_config(model_type, name, **overrides)).eval()
    ours = getattr(xlm, name)(FAMILIES[model_type].config_class.from_dict(theirs.config.to_dict())).eval()
    missing, unexpected = ours.load_state_dict(theirs.state_dict(), strict=False)
    assert not missing and not unexpected
    return ours, theirs


def batch(name: str, vocab_size: int = 50) -> dict[str, torch.Tensor]:
    """Ids avoiding the special ids 0-5, the last row padded (pad id 1 for XLM-R, 2 for XLM), with labels fit for
    the head; multiple-choice inputs get a choice axis."""
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(6, vocab_size, (2, 7), generator=gen)
    mask = torch.ones_like(ids)
    mask[-1, -2:] = 0
    ids[-1, -2:] = 1 if "Roberta" in name else 2
    inputs = {"input_ids": ids, "attention_mask": mask}
    if "MultipleChoice" in name:
        inputs = {k: torch.stack([v, v.flip(0)], dim=1) for k, v in inputs.items()}
        inputs["labels"] = torch.tensor([0, 1])
    elif name.endswith(LM_SUFFIXES):
        inputs["labels"] = ids.masked_fill(mask == 0, -100)
    elif "SequenceClassification" in name:
        inputs["labels"] = torch.tensor([0, 1])
    elif "TokenClassification" in name:
        inputs["labels"] = torch.randint(0, 2, ids.shape, generator=gen)
    elif "QuestionAnswering" in name:
        inputs.update(start_positions=torch.tensor([1, 2]), end_positions=torch.tensor([3, 4]))
    return inputs


def assert_tuples_close(ours: tuple, theirs: tuple) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        if isinstance(a, tuple):
            assert_tuples_close(a, b)
        else:
            assert_rounding_equal(a, b)


# -- outputs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model_type", "name"), CASES)
def test_return_dict_false_gives_transformers_tuple(model_type, name):
    ours, theirs = pair(model_type, name)
    inputs = batch(name)
    kwargs = {"output_hidden_states": True, "output_attentions": True}
    with torch.no_grad():
        a_dict = ours(**inputs, **kwargs)
        a_tuple = ours(**inputs, **kwargs, return_dict=False)
        b_dict = theirs(**inputs, **kwargs)
        b_tuple = theirs(**inputs, **kwargs, return_dict=False)
    assert type(a_tuple) is tuple
    assert_tuples_close(a_tuple, b_tuple)
    assert_tuples_close(a_dict.to_tuple(), b_dict.to_tuple())
    # the mapping protocol as transformers' ModelOutput
    assert list(a_dict.keys()) == list(b_dict.keys()) and list(a_dict) == list(b_dict)
    assert len(a_dict) == len(b_dict)
    assert [k for k, _ in a_dict.items()] == [k for k, _ in b_dict.items()]
    assert len(list(a_dict.values())) == len(list(b_dict.values()))
    first = next(iter(b_dict))
    assert first in a_dict and "no_such_field" not in a_dict and ("no_such_field" in b_dict) is False
    assert_rounding_equal(a_dict[first], b_dict[first])
    assert_rounding_equal(a_dict[0], b_dict[0])
    assert_tuples_close(a_dict[1:], b_dict[1:])
    # config.return_dict = False makes tuples the default, as in transformers (whose XL causal LM fails on it)
    ours.config.return_dict = False
    with torch.no_grad():
        assert_tuples_close(ours(**inputs, **kwargs), b_tuple)
    assert ours.config.use_return_dict is False
