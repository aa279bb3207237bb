"""Devices as transformers users write them, on the machine at hand: what exists runs, what does not is refused with
one line naming what exists (never a traceback, never a silent fallback). The CUDA side is in test_gpu.py."""

import json

import pytest
import torch
from test_cli import xlm_cli

from xlm import XLMWithLMHeadModel, pipeline
from xlm.devices import DeviceUnavailableError, available_devices, resolve_device
from xlm.weights import load_state_dict

pytestmark = pytest.mark.usefixtures("one_torch_thread")
NO_CUDA = not torch.cuda.is_available()
needs_no_cuda = pytest.mark.skipif(not NO_CUDA, reason="checks the messages of a machine without CUDA")


@pytest.fixture(scope="module")
def lm_dir(make_model):
    return make_model("XLMWithLMHeadModel", seed=5)


@pytest.mark.parametrize("spelling", ["cpu", "CPU", -1, "-1", torch.device("cpu")])
def test_cpu_spellings(spelling):
    assert resolve_device(spelling) == torch.device("cpu")


def test_auto_is_the_best_device_here():
    expected = "cuda" if torch.cuda.is_available() else "mps" if "mps" in available_devices() else "cpu"
    assert resolve_device("auto").type == expected == resolve_device(None).type
    assert available_devices()[-1] == "cpu"


@needs_no_cuda
@pytest.mark.parametrize("spelling", [0, "0", "cuda", "cuda:1", torch.device("cuda", 0)])
def test_a_missing_gpu_is_named_with_what_exists(spelling):
    with pytest.raises(
        DeviceUnavailableError, match=r"CUDA GPU, but this machine has none \(it has: .*cpu\)"
    ):
        resolve_device(spelling)


@pytest.mark.parametrize("spelling", ["gpu", "cuda:x", "", True, 1.5, -2])
def test_nonsense_is_refused_with_the_accepted_spellings(spelling):
    with pytest.raises(DeviceUnavailableError, match="device="):
        resolve_device(spelling)


@needs_no_cuda
def test_pipeline_refuses_a_missing_gpu_when_made(lm_dir):
    with pytest.raises(DeviceUnavailableError, match="has none"):
        pipeline("fill-mask", model=str(lm_dir), device=0, dtype=torch.float16)


@needs_no_cuda
def test_from_pretrained_device_map(lm_dir):
    model = XLMWithLMHeadModel.from_pretrained(lm_dir, device_map="auto")
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    with pytest.raises(DeviceUnavailableError, match="has none"):
        XLMWithLMHeadModel.from_pretrained(lm_dir, device_map=0)
    with pytest.raises(DeviceUnavailableError, match="has none"):
        XLMWithLMHeadModel.from_pretrained(lm_dir, device_map={"": "cuda:0"})


def test_auto_pipeline_runs_on_the_picked_device(lm_dir):
    pipe = pipeline("fill-mask", model=str(lm_dir), device="auto")
    assert pipe.loaded.device == resolve_device("auto")
    assert len(pipe("Das ist ein <special1> .", lang="de", top_k=3)) == 3


@needs_no_cuda
def test_cli_device_0_is_one_line_and_exit_2(lm_dir):
    done = xlm_cli(
        "run", "--task", "fill-mask", "--model", str(lm_dir), "--device", "0", stdin="Ein <special1> .\n"
    )
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xlm: error: device='0'") and "cpu" in lines[0]


def test_cli_truncated_json_is_an_error_line(lm_dir):
    done = xlm_cli(
        "run",
        "--task",
        "fill-mask",
        "--model",
        str(lm_dir),
        "--lang",
        "de",
        stdin='{"inputs": "Paris ist die <special1>\nEin <special1> Haus .\n',
    )
    assert done.returncode == 1
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["line"] == 1 and first["error"].startswith("invalid JSON")
    assert isinstance(second, list) and len(second) == 5


def test_float16_loads_straight_in_float16(lm_dir):
    """Each tensor is converted as it is read: the result is exactly the float32 weights rounded once."""
    fp32 = load_state_dict(lm_dir)
    fp16 = load_state_dict(lm_dir, dtype=torch.float16)
    assert fp16.keys() == fp32.keys()
    for key, tensor in fp16.items():
        assert tensor.dtype == (torch.float16 if fp32[key].is_floating_point() else fp32[key].dtype)
        assert torch.equal(tensor, fp32[key].to(tensor.dtype))


def test_float16_on_cpu_runs_as_transformers_does(lm_dir):
    """transformers runs float16 on the CPU (slowly); so do we, with its numbers."""
    transformers = pytest.importorskip("transformers")
    ours = XLMWithLMHeadModel.from_pretrained(lm_dir, dtype=torch.float16)
    theirs = transformers.XLMWithLMHeadModel.from_pretrained(lm_dir, dtype=torch.float16).eval()
    ids = torch.tensor([[1, 20, 31, 5, 44, 1]])
    langs = torch.zeros_like(ids)
    with torch.no_grad():
        a = ours(input_ids=ids, langs=langs).logits
        b = theirs(input_ids=ids, langs=langs).logits
    assert a.dtype == b.dtype == torch.float16
    scale = b.float().abs().max()
    assert (a.float() - b.float()).abs().max() <= 1e-2 * scale
    assert a[0, 3].argmax() == b[0, 3].argmax()  # further down, float16 rounding makes exact ties
