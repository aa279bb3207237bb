"""The pipelines behind the logit-lens and language-swap tabs, one per (class, model), on the shared model cache.

The task registry (``xlm.pipelines.TASKS``, which ``common.get_pipeline`` builds from) does not list these views,
so they are built here the same way, on the model fill-mask runs on (they need its LM head), and share its loaded
model through the cache.
"""

from __future__ import annotations

import functools
import os

from xlm.pipelines.base import Pipeline

from .common import folder_of, model_for


def view_pipeline(cls: type[Pipeline], selected: str | None) -> Pipeline:
    """The cached ``cls`` pipeline on the model fill-mask would use for ``selected`` (no model is loaded here)."""
    path, _ = model_for("fill-mask", selected)
    return _build(cls, os.fspath(folder_of(path)))


@functools.lru_cache(maxsize=32)
def _build(cls: type[Pipeline], folder: str) -> Pipeline:
    return cls(folder, device="auto")
