"""XLM in plain PyTorch: the models and heads of Lample & Conneau (2019), checkpoint-compatible with the Hub.

>>> from xlm import XLMTokenizer, XLMWithLMHeadModel, pipeline
>>> fill = pipeline("fill-mask", "assets/xlm-explorer-mini")
>>> fill("Paris is the <mask> of France.", lang="en")
"""

from .configuration import XLMConfig
from .errors import (
    CorruptCheckpointError,
    InputError,
    InvalidConfigError,
    MissingDependencyError,
    ModelNotFoundError,
    NotAnXLMModelError,
    UnknownLanguageError,
    XLMError,
)
from .modeling import (
    XLMForMultipleChoice,
    XLMForQuestionAnswering,
    XLMForQuestionAnsweringSimple,
    XLMForSequenceClassification,
    XLMForTokenClassification,
    XLMModel,
    XLMPreTrainedModel,
    XLMWithLMHeadModel,
)
from .pipelines import pipeline
from .tokenization import XLMTokenizer

__version__ = "0.1.0"

__all__ = [
    "CorruptCheckpointError",
    "InputError",
    "InvalidConfigError",
    "MissingDependencyError",
    "ModelNotFoundError",
    "NotAnXLMModelError",
    "UnknownLanguageError",
    "XLMConfig",
    "XLMError",
    "XLMForMultipleChoice",
    "XLMForQuestionAnswering",
    "XLMForQuestionAnsweringSimple",
    "XLMForSequenceClassification",
    "XLMForTokenClassification",
    "XLMModel",
    "XLMPreTrainedModel",
    "XLMTokenizer",
    "XLMWithLMHeadModel",
    "__version__",
    "pipeline",
]
