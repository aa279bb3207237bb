"""Task pipelines over the XLM models, sharing one model cache. Start with :func:`pipeline`.

Names are imported on first use (PEP 562): the modules holding what the app shows before any model runs (the
input limits and mask spellings in :mod:`xlm.pipelines.inputs`) load without torch.
"""

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    "AttentionPipeline": ".features",
    "build_qa_features": ".question_answering",
    "default_cache": ".cache",
    "EmbeddingMapPipeline": ".embedding_map",
    "FeatureExtractionPipeline": ".features",
    "FillMaskPipeline": ".fill_mask",
    "LanguageSwapPipeline": ".language_swap",
    "LogitLensPipeline": ".logit_lens",
    "ModelCache": ".cache",
    "MultipleChoicePipeline": ".classification",
    "pick_precision": ".precision",
    "pipeline": ".factory",
    "Pipeline": ".base",
    "QuestionAnsweringPipeline": ".question_answering",
    "SaliencyPipeline": ".saliency",
    "TASKS": ".factory",
    "TextClassificationPipeline": ".classification",
    "TextGenerationPipeline": ".generation",
    "TokenClassificationPipeline": ".classification",
}

if TYPE_CHECKING:
    from .base import Pipeline
    from .cache import ModelCache, default_cache
    from .classification import (
        MultipleChoicePipeline,
        TextClassificationPipeline,
        TokenClassificationPipeline,
    )
    from .embedding_map import EmbeddingMapPipeline
    from .factory import TASKS, pipeline
    from .features import AttentionPipeline, FeatureExtractionPipeline
    from .fill_mask import FillMaskPipeline
    from .generation import TextGenerationPipeline
    from .language_swap import LanguageSwapPipeline
    from .logit_lens import LogitLensPipeline
    from .precision import pick_precision
    from .question_answering import QuestionAnsweringPipeline, build_qa_features
    from .saliency import SaliencyPipeline


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "TASKS",
    "AttentionPipeline",
    "EmbeddingMapPipeline",
    "FeatureExtractionPipeline",
    "FillMaskPipeline",
    "LanguageSwapPipeline",
    "LogitLensPipeline",
    "ModelCache",
    "MultipleChoicePipeline",
    "Pipeline",
    "QuestionAnsweringPipeline",
    "SaliencyPipeline",
    "TextClassificationPipeline",
    "TextGenerationPipeline",
    "TokenClassificationPipeline",
    "build_qa_features",
    "default_cache",
    "pick_precision",
    "pipeline",
]
