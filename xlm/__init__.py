"""XLM in plain PyTorch: the models and heads of Lample & Conneau (2019), checkpoint-compatible with the Hub.

>>> from xlm import XLMTokenizer, XLMWithLMHeadModel, pipeline
>>> fill = pipeline("fill-mask", "assets/xlm-explorer-mini")
>>> fill("Paris is the <mask> of France.", lang="en")
"""

from .errors import (
    CorruptCheckpointError,
    InputError,
    InvalidConfigError,
    MissingDependencyError,
    ModelNotFoundError,
    ModelTypeError,
    UnknownLanguageError,
    XLMError,
)
from .models.xlm.configuration import XLMConfig
from .models.xlm.modeling import (
    XLMForMultipleChoice,
    XLMForQuestionAnswering,
    XLMForQuestionAnsweringSimple,
    XLMForSequenceClassification,
    XLMForTokenClassification,
    XLMModel,
    XLMPreTrainedModel,
    XLMWithLMHeadModel,
)
from .models.xlm.tokenization import XLMTokenizer
from .pipelines import pipeline

__version__ = "0.1.0"

__all__ = [
    "CorruptCheckpointError",
    "InputError",
    "InvalidConfigError",
    "MissingDependencyError",
    "ModelNotFoundError",
    "ModelTypeError",
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
