"""Faster fp32 matrix products for CPU inference, through oneDNN.

PyTorch sends fp32 ``nn.Linear`` on the CPU to MKL, which runs slowly on some CPUs (on an AMD EPYC: about half
oneDNN's speed for 32-row products, 0.6× for the one-row products of decoding). Where a one-off check finds oneDNN
available, equal to ``F.linear`` within fp32 rounding and faster, the model cache switches a loaded model's fp32
linear layers to it:

- a layer that owns its weight gets it packed once into oneDNN's blocked layout (about 1.4× faster again for a
  32-token fill-mask) and the dense copy's memory is handed back, so the model takes no more memory than before;
- a layer whose weight is shared (the vocabulary projection tied to the embeddings) reads the dense weight in place.

Results are the same fp32 products, summed in another order.
"""

from __future__ import annotations

import collections
import functools
import time

import torch
import torch.nn.functional as F
from torch import nn

from .memory import release_pages

PACK_ROWS = 32  # the row count oneDNN's packed layout is tuned for; any other count works too


def _onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear`` by oneDNN; ``weight`` dense (out, in) or packed by :func:`_pack`."""
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), weight, bias, "none", [], "")


def _pack(weight: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), PACK_ROWS)


class OneDNNLinear(nn.Linear):
    """``nn.Linear`` whose fp32 CPU forward runs oneDNN's kernel on the dense weight; anything else goes the usual
    way."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.float32 or x.device.type != "cpu":
            return super().forward(x)
        return _onednn_linear(x, self.weight, self.bias)


class PackedLinear(nn.Module):
    """An fp32 CPU linear layer for inference whose weight exists only in oneDNN's packed layout."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.packed = _pack(linear.weight)  # a plain attribute: oneDNN's opaque tensors are not parameters
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _onednn_linear(x, self.packed, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, packed for oneDNN"


@functools.lru_cache(maxsize=1)
def onednn_linear_is_faster() -> bool:
    """Measured once per process: does oneDNN's fp32 linear run here, match ``F.linear`` (dense and packed
    weights) and beat it?"""
    if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")):
        return False
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 40, 1024, generator=generator)[:, 4:36]  # 3-d and not contiguous, as models pass it
    weight, bias = torch.randn(2048, 1024, generator=generator), torch.randn(2048, generator=generator)

    def best(fn, w: torch.Tensor) -> float:
        fn(x, w, bias)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn(x, w, bias)
            times.append(time.perf_counter() - start)
        return min(times)

    with torch.inference_mode():
        try:
            expected = F.linear(x, weight, bias)
            same = all(
                torch.allclose(_onednn_linear(x, w, bias), expected, rtol=1e-4, atol=1e-3)
                for w in (weight, _pack(weight))
            )
        except RuntimeError:  # the ops exist but this build cannot run them
            return False
        return same and best(_onednn_linear, weight) < 0.9 * best(F.linear, weight)


def use_onednn_linears(model: nn.Module) -> None:
    """Switch the fp32 CPU ``nn.Linear`` layers of ``model`` to oneDNN in place where that is faster: packed
    weights for the layers that own theirs, the dense kernel for shared ones. Only for a model this process loaded
    for inference alone: the replaced dense weights must not be used again."""
    if not onednn_linear_is_faster():
        return
    uses = collections.Counter(id(p) for _, p in model.named_parameters(remove_duplicate=False))
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is not nn.Linear or child.weight.dtype != torch.float32 or child.weight.is_cuda:
                continue
            if uses[id(child.weight)] > 1:
                child.__class__ = OneDNNLinear
            else:
                setattr(parent, name, PackedLinear(child))
                release_pages(child.weight)
