"""Inference precision: fp32 (exact), bf16 where the hardware computes it faster, or int8 dynamic quantisation of
the encoder's linear layers on CPUs without fast bf16. A reduced precision is kept under ``"auto"`` only when the
model's answers on a probe input agree with fp32: the same five best tokens at each masked position for LM heads,
the same best label otherwise, up to candidates that fp32 itself scores within ``AGREE_TOLERANCE`` of each other
(rounding reorders such near-ties; a model broken by the reduction moves answers by whole nats)."""

from __future__ import annotations

import functools
import time
import warnings

import torch
from torch import nn

from ..registry import family_of
from ..weights import as_dtype
from .kernels import PackedLinear
from .memory import release_pages

PRECISIONS = ("float32", "bfloat16", "float16", "int8")


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """Measured once: do bf16 matmuls beat fp32 on this CPU? (Yes with AMX/AVX512-BF16, no on plain AVX2.)"""
    x, w = torch.randn(32, 1024), torch.randn(2048, 1024)

    def best(dtype: torch.dtype) -> float:
        a, b = x.to(dtype), w.to(dtype)
        torch.nn.functional.linear(a, b)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            torch.nn.functional.linear(a, b)
            times.append(time.perf_counter() - start)
        return min(times)

    with torch.inference_mode():
        return best(torch.bfloat16) < 0.8 * best(torch.float32)


def pick_precision(dtype: str | torch.dtype | None, device: torch.device) -> str:
    """``None`` → float32; ``"auto"`` → bf16 on GPUs and fast-bf16 CPUs, int8 on other CPUs, fp32 elsewhere."""
    if dtype == "auto":
        if device.type == "cuda":
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        if device.type == "cpu":
            return "bfloat16" if cpu_has_fast_bf16() else "int8"
        return "float32"
    if dtype in ("int8", "qint8"):
        if device.type != "cpu":
            raise ValueError("int8 (dynamic quantisation) runs on the CPU only.")
        return "int8"
    resolved = as_dtype(dtype) or torch.float32
    return str(resolved).removeprefix("torch.")


def reduce_precision(model: nn.Module, precision: str) -> nn.Module:
    """Convert ``model`` in place: a float dtype for every weight, or int8 weights for the encoder's linear layers
    (embeddings, layer norms and the heads stay fp32). Only for a model loaded for this purpose: the fp32 weights'
    memory is handed back as they are converted."""
    if precision == "int8":
        with warnings.catch_warnings():  # torch announces the move of this API to torchao
            warnings.simplefilter("ignore")
            encoder = model.base_model
            torch.ao.quantization.quantize_dynamic(encoder, {nn.Linear}, dtype=torch.qint8, inplace=True)
        return model
    dtype = getattr(torch, precision)
    floats = {
        id(t): t
        for t in [*model.parameters(), *model.buffers()]
        if t.is_floating_point() and t.dtype != dtype
    }
    for tensor in floats.values():  # one at a time, each fp32 copy released as soon as it is converted
        fp32 = tensor.data
        tensor.data = fp32.to(dtype)
        release_pages(fp32)
    return model


def model_bytes(model: nn.Module) -> int:
    """Memory held by the weights, tied tensors once, int8 linear layers at one byte per weight, oneDNN-packed
    layers at their packed size."""
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    for module in model.modules():
        if isinstance(module, torch.ao.nn.quantized.dynamic.Linear):
            total += module.in_features * module.out_features + 4 * module.out_features
        elif isinstance(module, PackedLinear):
            total += module.packed.numel() * module.packed.element_size()
    return total


AGREE_TOLERANCE = 0.1  # nats: a 10% difference in probability


def probe(model: nn.Module, mask_id: int) -> tuple[torch.Tensor, int]:
    """The model's log-probabilities on a fixed probe input, and how many best answers count: over the vocabulary
    at three masked positions and the top 5 (LM heads), or over the labels, positions or choices and the best one
    (the other heads)."""
    config = model.config
    ids = torch.arange(14, 14 + 30, device=next(model.parameters()).device)[None] % config.vocab_size
    ids[0, [3, 11, 20]] = mask_id
    heads = family_of(config).heads
    with torch.inference_mode():
        if type(model) in (heads["masked-lm"], heads["causal-lm"]):
            hidden = model.base_model(input_ids=ids).last_hidden_state[0, [3, 11, 20]]
            return model.lm_scores(hidden).float().log_softmax(-1).cpu(), 5
        if type(model) is heads["multiple-choice"]:
            ids = ids[:, None].expand(1, 2, -1)
        out = model(input_ids=ids)
        first = next(v for v in out.to_tuple() if isinstance(v, torch.Tensor))
        return first.float().log_softmax(-1).cpu(), 1


def answers_agree(
    reference: torch.Tensor, reduced: torch.Tensor, k: int, tolerance: float = AGREE_TOLERANCE
) -> bool:
    """Do both score tensors pick the same ``k`` best answers along the last dimension, up to near-ties? Each
    side's picks must score, on the other side, no lower than that side's k-th best minus ``tolerance``. NaNs
    never agree."""
    k = min(k, reference.shape[-1])

    def picks_hold(scores: torch.Tensor, other: torch.Tensor) -> bool:
        kth_best = scores.topk(k, dim=-1).values[..., -1:]
        return bool((scores.gather(-1, other.topk(k, dim=-1).indices) >= kth_best - tolerance).all())

    return picks_hold(reference, reduced) and picks_hold(reduced, reference)
