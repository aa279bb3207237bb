"""ZeroGPU readiness, with the real ``spaces`` package installed and no ZeroGPU hardware (as on every machine but a
ZeroGPU Space): exactly the handlers that run a model go through ``spaces.GPU``, which gives them back unchanged
here, and the served app answers as before."""

import pytest
from _app_server import serving

spaces = pytest.importorskip("spaces", reason="spaces is a dev requirement (make test installs it)")

# The app's named endpoints that run a model; every other event reads configs, examples, files or figures.
MODEL_RUNNING = {
    "answer",
    "attention",
    "classify",
    "compare",
    "cross_lingual",
    "embedding_map",
    "fill_mask",
    "generate",
    "language_swap",
    "logit_lens",
    "saliency",
    "saliency_choice",
    "tag",
}


def _named(handlers) -> set[str]:
    return {fn.api_name for fn in handlers if fn.api_name and not fn.api_name.startswith("false")}


def test_exactly_the_model_running_handlers_are_wrapped():
    import app
    from components.zerogpu import GPU_SECONDS, model_handlers, use_zerogpu

    demo = app.build_demo()
    before = {id(fn): fn.fn for fn in demo.fns.values()}
    wrapped = use_zerogpu(demo)
    assert _named(wrapped) == MODEL_RUNNING == _named(model_handlers(app.demo))
    assert all(GPU_SECONDS[fn.concurrency_id] >= 60 for fn in wrapped)
    # off ZeroGPU spaces.GPU returns each function itself: nothing about the app changed
    assert all(fn.fn is before[id(fn)] for fn in demo.fns.values())


def test_the_app_with_spaces_installed_answers(mini_dir):
    from gradio_client import Client

    import app

    with serving(app.build_demo()) as url:
        client = Client(url, verbose=False)
        _plot, frame, _files, _words = client.predict(
            "The cat is sleeping on the <special1> .", "en", 3, "xlm-explorer-mini", api_name="/fill_mask"
        )
        assert len(frame["data"]) == 3
