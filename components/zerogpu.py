"""ZeroGPU, the shared GPUs of Hugging Face Spaces: every handler that runs a model is wrapped with
``spaces.GPU`` (on ZeroGPU a GPU is attached for the call, at most ``duration`` seconds; everywhere else the
decorator gives the function back unchanged, so nothing changes).

The model-running handlers are found by their queue lane (``concurrency_id``): every event that runs a model is
in the model lane or the heavy lane (components/common.py), and nothing else is. Handlers that only read a
config, load a model or draw a figure keep running without a GPU.
"""

from __future__ import annotations

import gradio as gr
from gradio.block_function import BlockFunction

from .common import HEAVY_WORK, MODEL_WORK

# Seconds of GPU one call may hold, per lane: a quick model call, or a costly one (attention maps, generation, ...)
GPU_SECONDS = {MODEL_WORK: 60, HEAVY_WORK["concurrency_id"]: 120}


def model_handlers(demo: gr.Blocks) -> list[BlockFunction]:
    """The events of ``demo`` that run a model."""
    return [fn for fn in demo.fns.values() if fn.fn is not None and fn.concurrency_id in GPU_SECONDS]


def use_zerogpu(demo: gr.Blocks) -> list[BlockFunction]:
    """Wrap the model-running handlers of ``demo`` with ``spaces.GPU`` where the ``spaces`` package is installed
    (every Space has it): on ZeroGPU hardware it attaches a GPU for each call; elsewhere it returns the function
    itself. Returns the handlers it was applied to (none without the package)."""
    try:
        import spaces
    except ImportError:
        return []
    handlers = model_handlers(demo)
    for fn in handlers:
        fn.fn = spaces.GPU(duration=GPU_SECONDS[fn.concurrency_id])(fn.fn)
    return handlers
