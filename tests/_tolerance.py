"""Bounds for "equal up to rounding" that scale with the values compared, so they hold on every CPU.

Two float results of the same computation, summed in another order (AVX2 vs AVX-512 kernels, 1 or 2 threads,
MKL vs oneDNN), differ by a few units in the last place of the *largest* terms involved, not of each result: a
logit near zero can carry the error of its neighbours of magnitude 10. So the bound is a number of machine epsilons
of the dtype, relative to each element and to the tensor's own scale (its largest finite magnitude, leaving out mask
fills such as -1e30, which are compared relatively).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import torch

# Measured on an Intel Xeon with AMX, 1 and 2 threads: the parity suite fails at 8 epsilons and passes at 24; the
# AMX failure that a 1e-5 bound met was 10 (1.34e-5 on logits of ~11). 64 leaves room for other kernels.
ULPS = 64
MASK_FILL = 1e9  # magnitudes at or above this are fills for masked positions (-1e30, finfo.min), not values
STORED_DIGITS = 4  # metrics.json keeps 4 decimals (xlm.train.report)
RECOMPUTE_REL = 1e-5  # a metric recomputed in fp32 on another CPU: ~100 epsilons of fp32, relative


def scale_of(tensor: torch.Tensor) -> float:
    """The largest finite magnitude below MASK_FILL (1.0 for an empty or all-masked tensor)."""
    values = tensor.detach().abs().float()
    values = values[torch.isfinite(values) & (values < MASK_FILL)]
    return max(values.max().item(), 1e-30) if values.numel() else 1.0


def _epsilons(values: torch.Tensor, dtype: torch.dtype, ulps: int) -> tuple[float, float]:
    """(relative, absolute) bound: ``ulps`` epsilons of ``dtype``, relative and at the scale of ``values``."""
    bound = ulps * torch.finfo(dtype).eps
    return bound, bound * scale_of(values)


def rounding_bounds(expected: torch.Tensor, ulps: int = ULPS) -> dict[str, float]:
    """``rtol``/``atol`` for torch.testing.assert_close, in epsilons of ``expected``'s dtype."""
    rtol, atol = _epsilons(expected, expected.dtype, ulps)
    return {"rtol": rtol, "atol": atol}


def assert_rounding_equal(actual: torch.Tensor, expected: torch.Tensor, *, ulps: int = ULPS, msg: Any = None):
    """``actual`` equals ``expected`` up to float rounding of ``expected``'s dtype at its scale."""
    torch.testing.assert_close(actual, expected, **rounding_bounds(expected, ulps), msg=msg)


def approx_scores(expected: float | list[float], dtype: torch.dtype = torch.float32, ulps: int = ULPS):
    """pytest.approx for scores (probabilities) computed in ``dtype``: the bound is at the largest one's scale."""
    rel, abs_ = _epsilons(torch.tensor(expected), dtype, ulps)
    return pytest.approx(expected, rel=rel, abs=abs_)


def approx_recomputed(shipped: Any):
    """pytest.approx for metrics recomputed from shipped weights: fp32 rounding (relative) plus one unit in the
    last stored decimal (both sides are rounded to STORED_DIGITS decimals, so they may round apart)."""
    if isinstance(shipped, Mapping):
        return {k: approx_recomputed(v) for k, v in shipped.items()}
    return pytest.approx(shipped, rel=RECOMPUTE_REL, abs=10**-STORED_DIGITS)
