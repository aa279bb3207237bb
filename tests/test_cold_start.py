"""Cold start: the page is laid out without torch (the library's packages import lazily), the default model loads
in the background once the server is up, and meta-device construction skips the initialisation it would waste.

The timings themselves live in benchmarks/bench_app.py (benchmarks/RESULTS.md), not here.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]


def imported_by(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` in the repository root."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_page_is_built_without_torch_or_the_tokenizers():
    modules = imported_by("import app")
    assert {"gradio", "components.fill_mask", "xlm.registry"} <= modules  # the app was built
    assert not {"torch", "sacremoses", "xlm.models.xlm.modeling", "xlm.pipelines.fill_mask"} & modules


def test_reading_configs_does_not_import_torch():
    modules = imported_by(
        "import xlm, xlm.pipelines\n"
        "from xlm.registry import family\n"
        "from xlm.pipelines.inputs import MASK_ALIASES, NO_LANGUAGE\n"
        "config = family('xlm-roberta').config_class()\n"
        "assert family('xlm').head_name('lm', family('xlm').config_class()) == 'XLMWithLMHeadModel'"
    )
    assert "xlm.registry" in modules
    assert "torch" not in modules


@pytest.mark.parametrize("package", ["xlm", "xlm.pipelines"])
def test_every_public_name_is_the_object_its_module_defines(package):
    module = importlib.import_module(package)
    assert set(dir(module)) == set(module.__all__)
    for name in module.__all__:
        if name == "__version__":
            continue
        owner = importlib.import_module(module._EXPORTS[name], package)
        assert getattr(module, name) is getattr(owner, name)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        module.NoSuchName  # noqa: B018


def test_family_classes_are_the_modeling_modules_classes():
    from xlm.models.xlm import modeling
    from xlm.models.xlm_roberta import tokenization
    from xlm.registry import family

    xlm, xlmr = family("xlm"), family("xlm-roberta")
    assert xlm.head("question-answering") is modeling.XLMForQuestionAnsweringSimple
    assert xlm.heads["masked-lm"] is modeling.XLMWithLMHeadModel
    assert xlmr.tokenizer_class is tokenization.XLMRobertaTokenizer
    assert set(xlmr.architectures) == set(xlmr.head_names.values())


def test_no_init_weights_skips_initialisation_in_its_own_thread_only():
    from xlm.loading import no_init_weights

    originals = {name: getattr(nn.init, name) for name in ("normal_", "kaiming_uniform_", "ones_")}
    elsewhere: dict[str, torch.Tensor] = {}

    def initialise_in_another_thread() -> None:
        elsewhere["weight"] = nn.Linear(8, 8).weight.detach().clone()

    with no_init_weights():
        here = torch.zeros(4, 4)
        nn.init.normal_(here)
        assert torch.count_nonzero(here) == 0  # skipped in this thread
        worker = threading.Thread(target=initialise_in_another_thread)
        worker.start()
        worker.join()
    assert torch.count_nonzero(elsewhere["weight"]) == 64  # initialised as usual there
    assert all(getattr(nn.init, name) is init for name, init in originals.items())  # put back
    after = torch.zeros(4, 4)
    nn.init.normal_(after)
    assert torch.count_nonzero(after) == 16


def test_a_checkpoint_built_without_initialisation_equals_its_weights(tmp_path):
    from xlm import XLMConfig, XLMWithLMHeadModel

    config = XLMConfig(
        vocab_size=50, emb_dim=16, n_layers=2, n_heads=2, n_langs=2, max_position_embeddings=32
    )
    torch.manual_seed(0)
    XLMWithLMHeadModel(config).save_pretrained(tmp_path)
    saved = XLMWithLMHeadModel.from_pretrained(tmp_path)
    torch.manual_seed(0)
    fresh = XLMWithLMHeadModel(config)
    for (name, a), (_, b) in zip(saved.state_dict().items(), fresh.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert saved.pred_layer.proj.weight is saved.transformer.embeddings.weight  # still tied


def test_preload_loads_the_default_model_into_the_cache():
    from components import common
    from xlm.pipelines import default_cache

    model = common.default_model()
    if model is None:
        pytest.skip("no embedded model in assets/ yet")
    common.preload(model).join(timeout=300)
    loads = default_cache().loads
    common.get_pipeline("fill-mask", model).model  # noqa: B018 (a request after the preload)
    assert default_cache().loads == loads  # found in the cache, not loaded again
