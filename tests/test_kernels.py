"""The oneDNN fp32 linear kernel used for CPU inference: same numbers as ``F.linear``, used only where faster."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xlm.pipelines import ModelCache
from xlm.pipelines.kernels import OneDNNLinear, onednn_linear_is_faster


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "shape", [(1, 64), (7, 64), (2, 9, 64)], ids=["one row", "rows", "batch x positions"]
)
def test_onednn_linear_equals_f_linear_within_fp32_rounding(shape, bias):
    torch.manual_seed(0)
    layer = nn.Linear(64, 48, bias=bias)
    x = torch.randn(*shape[:-1], 80)[..., 8:72]  # not contiguous, as slices of hidden states are
    expected = F.linear(x, layer.weight, layer.bias)
    layer.__class__ = OneDNNLinear
    with torch.inference_mode():
        got = layer(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_onednn_linear_leaves_other_dtypes_and_empty_inputs_to_pytorch():
    layer = nn.Linear(16, 8)
    layer.__class__ = OneDNNLinear
    half = layer.to(torch.bfloat16)
    x = torch.randn(3, 16, dtype=torch.bfloat16)
    assert torch.equal(half(x), F.linear(x, half.weight, half.bias))
    assert layer.float()(torch.empty(0, 16)).shape == (0, 8)


def test_cached_models_use_the_kernel_only_where_it_is_faster(make_model):
    folder = make_model("XLMWithLMHeadModel", seed=3)
    expected = OneDNNLinear if onednn_linear_is_faster() else nn.Linear
    exact = ModelCache().get(folder, device="cpu", dtype="float32")
    assert {type(m) for m in exact.model.modules() if isinstance(m, nn.Linear)} == {expected}
    int8 = ModelCache().get(folder, device="cpu", dtype="int8")
    assert type(int8.model.pred_layer.proj) is expected  # the fp32 vocabulary projection left by int8
    bf16 = ModelCache().get(folder, device="cpu", dtype="bfloat16")
    assert {type(m) for m in bf16.model.modules() if isinstance(m, nn.Linear)} == {nn.Linear}
