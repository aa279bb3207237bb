"""The task registry and :func:`pipeline`, the one way to build a task pipeline by name."""

from __future__ import annotations

import os
from typing import Any

import torch

from ..devices import DeviceLike
from ..errors import InputError
from .base import Pipeline
from .cache import ModelCache
from .classification import MultipleChoicePipeline, TextClassificationPipeline, TokenClassificationPipeline
from .embedding_map import EmbeddingMapPipeline
from .features import AttentionPipeline, FeatureExtractionPipeline
from .fill_mask import FillMaskPipeline
from .generation import TextGenerationPipeline
from .language_swap import LanguageSwapPipeline
from .logit_lens import LogitLensPipeline
from .question_answering import QuestionAnsweringPipeline
from .saliency import SaliencyPipeline

TASKS: dict[str, type[Pipeline]] = {
    cls.task: cls
    for cls in (
        FillMaskPipeline,
        TextGenerationPipeline,
        QuestionAnsweringPipeline,
        TextClassificationPipeline,
        TokenClassificationPipeline,
        MultipleChoicePipeline,
        FeatureExtractionPipeline,
        AttentionPipeline,
        LogitLensPipeline,
        LanguageSwapPipeline,
        EmbeddingMapPipeline,
        SaliencyPipeline,
    )
}
ALIASES = {
    "ner": "token-classification",
    "sentiment-analysis": "text-classification",
    "qa": "question-answering",
}


def pipeline(
    task: str,
    model: str | os.PathLike,
    *,
    device: DeviceLike = "auto",
    dtype: str | torch.dtype | None = None,
    revision: str | None = None,
    cache: ModelCache | None = None,
    **kwargs: Any,
) -> Pipeline:
    """Build a task pipeline on a local folder or Hub id. ``device``: as in transformers (``0``, ``"cuda:1"``,
    ``-1``, ``"cpu"``, ...; a device this machine lacks is refused here); ``"auto"`` picks cuda, then mps, then cpu;
    ``dtype="auto"`` picks bf16 where the device computes it faster (checked) and fp32 otherwise."""
    name = ALIASES.get(task, task)
    if name not in TASKS:
        raise InputError(f"Unknown task {task!r}; choose one of: {', '.join(sorted(TASKS))}.")
    return TASKS[name](model, device=device, dtype=dtype, revision=revision, cache=cache, **kwargs)
