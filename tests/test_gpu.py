"""CUDA: parity with transformers on the same GPU, every pipeline, loading straight onto the device.

Marked ``gpu`` and skipped where CUDA is absent; ``benchmarks/gpu.sh`` runs them on a GPU machine. Bounds: float32
within 1e-4 of the logits' scale (both libraries run the same kernels up to summation order); float16 and bfloat16
within 1e-2 and 4e-2 of it (10 and 7 mantissa bits, rounding at every layer)."""

import pytest
import torch

import xlm
from xlm import pipeline

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason="needs a CUDA GPU (run benchmarks/gpu.sh on one)"
    ),
]
transformers = pytest.importorskip("transformers")
BOUNDS = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 4e-2}
HEADS = [("make_model", "XLMWithLMHeadModel"), ("make_xlmr", "XLMRobertaForMaskedLM")]


@pytest.mark.parametrize("dtype", list(BOUNDS), ids=str)
@pytest.mark.parametrize(("factory", "head"), HEADS)
def test_lm_logits_match_transformers_on_cuda(request, factory, head, dtype):
    folder = request.getfixturevalue(factory)(head, seed=7)
    ours = getattr(xlm, head).from_pretrained(folder, dtype=dtype, device_map=0)
    theirs = getattr(transformers, head).from_pretrained(folder, dtype=dtype).to("cuda:0").eval()
    assert {p.device for p in ours.parameters()} == {torch.device("cuda", 0)}
    assert {p.dtype for p in ours.parameters()} == {dtype}
    ids = torch.randint(14, 200, (2, 24), generator=torch.Generator().manual_seed(0)).to("cuda:0")
    with torch.no_grad():
        a, b = ours(input_ids=ids).logits.float(), theirs(input_ids=ids).logits.float()
    assert (a - b).abs().max() <= BOUNDS[dtype] * b.abs().max()


@pytest.mark.parametrize(
    ("task", "head", "inputs", "kwargs"),
    [
        ("fill-mask", "XLMWithLMHeadModel", "Das ist ein <special1> Haus .", {"lang": "de", "top_k": 5}),
        ("text-classification", "XLMForSequenceClassification", "Ein schönes Haus .", {"top_k": None}),
        ("token-classification", "XLMForTokenClassification", "Angela Merkel besucht Paris .", {}),
        (
            "question-answering",
            "XLMForQuestionAnsweringSimple",
            {"question": "Wo ist das Haus?", "context": "Das Haus steht in Berlin am Fluss."},
            {"lang": "de"},
        ),
        ("feature-extraction", "XLMWithLMHeadModel", "Ein Haus .", {"lang": "de"}),
    ],
)
def test_pipelines_on_cuda_answer_as_on_cpu(make_model, task, head, inputs, kwargs):
    folder = make_model(head, seed=8)
    on_gpu = pipeline(task, folder, device=0)(inputs, **kwargs)
    on_cpu = pipeline(task, folder, device="cpu")(inputs, **kwargs)
    assert pipeline(task, folder, device=0).loaded.device == torch.device("cuda", 0)
    assert _labels(on_gpu) == _labels(on_cpu)
    assert _numbers(on_gpu) == pytest.approx(_numbers(on_cpu), rel=1e-3, abs=1e-4)


def test_greedy_generation_on_cuda_uses_the_device_cache(make_model):
    folder = make_model("XLMWithLMHeadModel", seed=9, causal=True)
    kwargs = {"lang": "de", "max_new_tokens": 12, "do_sample": False}
    gen = pipeline("text-generation", folder, device=0)
    assert gen("Das Haus", **kwargs) == pipeline("text-generation", folder, device="cpu")(
        "Das Haus", **kwargs
    )


def test_float16_pipeline_on_cuda_loads_in_float16(make_xlmr):
    folder = make_xlmr("XLMRobertaForMaskedLM", seed=10)
    fill = pipeline("fill-mask", folder, device="cuda", dtype=torch.float16)
    assert fill.loaded.precision == "float16"
    assert {p.dtype for p in fill.model.parameters()} == {torch.float16}
    assert len(fill("Hello <mask> world.", top_k=3)) == 3


def _labels(result):
    """Everything in a pipeline result but its floats."""
    if isinstance(result, dict):
        return {k: _labels(v) for k, v in result.items() if not isinstance(v, float)}
    if isinstance(result, list):
        return [_labels(x) for x in result]
    return result


def _numbers(result) -> list[float]:
    """The floats of a pipeline result, in order."""
    if isinstance(result, dict):
        return [x for v in result.values() for x in _numbers(v)]
    if isinstance(result, list):
        return [x for v in result for x in _numbers(v)]
    return [result] if isinstance(result, float) else []


def test_gpu_models_count_against_the_gpu_budget_only(make_model):
    from xlm.pipelines import ModelCache

    first, second = make_model("XLMWithLMHeadModel", seed=11), make_model("XLMWithLMHeadModel", seed=12)
    one = pipeline("fill-mask", first, device="cpu", cache=ModelCache()).loaded.nbytes
    cache = ModelCache(budget_bytes=10 * one, gpu_budget_bytes=int(one * 1.5))
    for folder, device in [(first, "cpu"), (first, 0), (second, 0)]:  # the third is over the GPU budget
        assert pipeline("fill-mask", folder, device=device, cache=cache).loaded.nbytes == one
    kept = cache.keys()  # the older GPU model went; the CPU one, in the machine's budget, stayed
    assert sorted(key[2] for key in kept) == ["cpu", "cuda:0"]
    assert {key[0] for key in kept if key[2] == "cuda:0"} == {str(second.resolve())}
