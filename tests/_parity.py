"""Helpers for the modeling parity tests: test-sized configs from the real hf-configs, model pairs, comparisons.

transformers is the oracle: both models get the same weights (transformers' random init copied into ours) and the
same inputs, and every output tensor must agree.
"""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
import transformers
from _tolerance import assert_rounding_equal

from xlm.models.xlm import modeling
from xlm.models.xlm.configuration import XLMConfig
from xlm.registry import FAMILIES

HEADS = list(FAMILIES["xlm"].architectures)  # every XLM class, from the registry
# Every config.json in shared/data/hf-configs (test_modeling checks that this list is complete).
HF_CONFIGS = [
    "tiny-random-xlm",
    "xlm-clm-ende-1024",
    "xlm-clm-enfr-1024",
    "xlm-mlm-100-1280",
    "xlm-mlm-en-2048",
    "xlm-mlm-ende-1024",
    "xlm-mlm-tlm-xnli15-1024",
]
# Variants none of the files has: name -> (base file, overrides).
SYNTHETIC = {
    "causal": ("xlm-clm-enfr-1024", {"causal": True}),
    "asm": ("xlm-mlm-en-2048", {"asm": True, "asm_cutoffs": [20, 50], "asm_div_value": 2.0}),
    "sinusoidal": ("xlm-mlm-ende-1024", {"sinusoidal_embeddings": True}),
    "relu-mean-tanh": (
        "xlm-mlm-tlm-xnli15-1024",
        {"gelu_activation": False, "summary_type": "mean", "summary_activation": "tanh", "num_labels": 3},
    ),
}
VARIANTS = HF_CONFIGS + list(SYNTHETIC)
# Test size: what the files' models would be at dim 32; everything else (languages, special ids, flags) kept.
TINY = {"emb_dim": 32, "n_heads": 4, "n_layers": 2, "vocab_size": 99, "max_position_embeddings": 40}


def config_dict(shared_data: Path, variant: str, **overrides: Any) -> dict[str, Any]:
    """The test-sized config.json contents of a file in hf-configs, or of a synthetic variant."""
    name, extra = SYNTHETIC.get(variant, (variant, {}))
    data = json.loads((shared_data / "hf-configs" / f"{name}.json").read_text())
    return {**data, **TINY, **extra, **overrides}


def model_pair(name: str, data: dict[str, Any], seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(ours, theirs) in eval mode with transformers' random weights copied into ours."""
    torch.manual_seed(seed)
    theirs = getattr(transformers, name)(transformers.XLMConfig(**data)).eval()
    ours = getattr(modeling, name)(XLMConfig.from_dict(data)).eval()
    ours.load_state_dict(their_state_dict(theirs))
    return ours, theirs


def their_state_dict(theirs: torch.nn.Module) -> dict[str, torch.Tensor]:
    """transformers' state dict, less the stray embedding alias it ties onto an adaptive softmax (asm=True)."""
    state = theirs.state_dict()
    if theirs.config.asm:
        state.pop("pred_layer.proj.weight", None)
    return state


def inputs(data: dict[str, Any], bs: int = 3, slen: int = 8, seed: int = 1) -> dict[str, torch.Tensor]:
    """Token ids avoiding the special ids 0-5, the last row right-padded with the pad id."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(6, data["vocab_size"], (bs, slen), generator=gen)
    ids[-1, slen - 3 :] = data["pad_token_id"]
    return {"input_ids": ids}


def langs_like(ids: torch.Tensor, n_langs: int, seed: int = 2) -> torch.Tensor:
    return torch.randint(0, n_langs, ids.shape, generator=torch.Generator().manual_seed(seed))


def assert_outputs_close(ours: Any, theirs: Any, skip: tuple[str, ...] = ()) -> None:
    """Every field of our output equals transformers' one up to rounding (tuples element-wise)."""
    for f in fields(ours):
        if f.name in skip:
            continue
        a, b = getattr(ours, f.name), getattr(theirs, f.name, None)
        assert (a is None) == (b is None), f"{f.name}: ours is {type(a).__name__}, theirs {type(b).__name__}"
        if a is None:
            continue
        if isinstance(a, tuple):
            assert len(a) == len(b), f"{f.name}: {len(a)} vs {len(b)} tensors"
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                assert_rounding_equal(x, y, msg=lambda m, i=i, n=f.name: f"{n}[{i}]: {m}")
        else:
            assert_rounding_equal(a, b, msg=lambda m, n=f.name: f"{n}: {m}")


def assert_beams_close(ours: Any, theirs: Any) -> None:
    """Beam QA outputs: probabilities everywhere their start beam is real; indices only where the probability is
    above zero (positions masked to probability 0 tie, and topk orders ties arbitrarily)."""
    assert_outputs_close(ours, theirs, skip=("start_top_index", "end_top_index", "end_top_log_probs"))
    start_ok = theirs.start_top_log_probs > 0  # (bs, k)
    assert torch.equal(ours.start_top_index[start_ok], theirs.start_top_index[start_ok])
    bs, k = start_ok.shape
    end_n_top = theirs.end_top_log_probs.shape[1] // k
    beam_ok = start_ok[:, None, :].expand(bs, end_n_top, k).reshape(bs, -1)  # (bs, end_n_top * k), end-major
    assert_rounding_equal(ours.end_top_log_probs[beam_ok], theirs.end_top_log_probs[beam_ok])
    end_ok = beam_ok & (theirs.end_top_log_probs > 0)
    assert torch.equal(ours.end_top_index[end_ok], theirs.end_top_index[end_ok])


def scale_value_heads(theirs: torch.nn.Module, head_mask: torch.Tensor) -> torch.nn.Module:
    """A copy of a transformers model whose v_lin outputs are scaled per head: the same as multiplying that head's
    attention weights by ``head_mask[layer, head]`` (transformers 5 has no head_mask argument)."""
    scaled = copy.deepcopy(theirs)
    base = getattr(scaled, "transformer", scaled)
    head_dim = base.dim // base.n_heads
    with torch.no_grad():
        for layer, attention in enumerate(base.attentions):
            factors = head_mask[layer].repeat_interleave(head_dim)  # (dim,)
            attention.v_lin.weight.mul_(factors[:, None])
            attention.v_lin.bias.mul_(factors)
    return scaled
