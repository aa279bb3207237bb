"""The oneDNN fp32 linear kernels used for CPU inference: the same numbers as ``F.linear``, used only where faster,
and no extra memory."""

import pytest
import torch
import torch.nn.functional as F
from _tolerance import assert_rounding_equal
from torch import nn

import xlm
from xlm.pipelines import ModelCache
from xlm.pipelines.kernels import OneDNNLinear, PackedLinear, onednn_linear_is_faster
from xlm.pipelines.precision import model_bytes


def _switch(layer: nn.Linear, kind: str) -> nn.Module:
    if kind == "packed":
        return PackedLinear(layer)
    layer.__class__ = OneDNNLinear
    return layer


@pytest.mark.parametrize("kind", ["dense", "packed"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "shape", [(1, 64), (7, 64), (2, 9, 64), (0, 64)], ids=["one row", "rows", "batch x positions", "empty"]
)
def test_onednn_linear_equals_f_linear_within_fp32_rounding(shape, bias, kind):
    torch.manual_seed(0)
    layer = nn.Linear(64, 48, bias=bias)
    x = torch.randn(*shape[:-1], 80)[..., 8:72]  # not contiguous, as slices of hidden states are
    expected = F.linear(x, layer.weight, layer.bias)
    with torch.inference_mode():
        got = _switch(layer, kind)(x)
    assert got.shape == expected.shape
    assert_rounding_equal(got, expected)


def test_dense_kernel_leaves_other_dtypes_to_pytorch():
    layer = _switch(nn.Linear(16, 8), "dense").to(torch.bfloat16)
    x = torch.randn(3, 16, dtype=torch.bfloat16)
    assert torch.equal(layer(x), F.linear(x, layer.weight, layer.bias))


def test_cached_models_switch_only_where_faster_and_keep_answers_and_size(make_model):
    folder = make_model("XLMWithLMHeadModel", seed=3)
    plain = xlm.XLMWithLMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
    loaded = ModelCache().get(folder, device="cpu", dtype="float32")
    layers = [m for m in loaded.model.modules() if isinstance(m, nn.Linear | PackedLinear)]
    if onednn_linear_is_faster():
        # the projection shares the embeddings' weight, so it reads it in place; every other layer is packed
        assert type(loaded.model.pred_layer.proj) is OneDNNLinear
        assert all(type(m) is PackedLinear for m in layers if m is not loaded.model.pred_layer.proj)
    else:
        assert {type(m) for m in layers} == {nn.Linear}
    assert loaded.nbytes == model_bytes(plain)
    ids = torch.tensor([[0, 14, 250, 31, 7, 412, 88, 1]])
    with torch.inference_mode():
        assert_rounding_equal(loaded.model(input_ids=ids).logits, plain(input_ids=ids).logits)


def test_reduced_precisions_keep_pytorch_layers_but_int8_leaves_the_fp32_projection(make_model):
    folder = make_model("XLMWithLMHeadModel", seed=3)
    bf16 = ModelCache().get(folder, device="cpu", dtype="bfloat16")
    assert {type(m) for m in bf16.model.modules() if isinstance(m, nn.Linear | PackedLinear)} == {nn.Linear}
    int8 = ModelCache().get(folder, device="cpu", dtype="int8")
    assert type(int8.model.pred_layer.proj) is (OneDNNLinear if onednn_linear_is_faster() else nn.Linear)
