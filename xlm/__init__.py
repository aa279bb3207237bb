"""Cross-lingual language models in plain PyTorch: XLM (Lample & Conneau, 2019) and XLM-RoBERTa (Conneau et al.,
2020; XL/XXL: Goyal et al., 2021), checkpoint-compatible with the Hub.

>>> from xlm import AutoModelForMaskedLM, AutoTokenizer, pipeline
>>> fill = pipeline("fill-mask", "assets/xlm-explorer-mini")
>>> fill("Paris is the <mask> of France.", lang="en")
"""

from .auto import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForMultipleChoice,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
)
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
from .models.xlm_roberta.configuration import XLMRobertaConfig, XLMRobertaXLConfig
from .models.xlm_roberta.modeling import (
    XLMRobertaForCausalLM,
    XLMRobertaForMaskedLM,
    XLMRobertaForMultipleChoice,
    XLMRobertaForQuestionAnswering,
    XLMRobertaForSequenceClassification,
    XLMRobertaForTokenClassification,
    XLMRobertaModel,
    XLMRobertaPreTrainedModel,
    XLMRobertaXLForCausalLM,
    XLMRobertaXLForMaskedLM,
    XLMRobertaXLForMultipleChoice,
    XLMRobertaXLForQuestionAnswering,
    XLMRobertaXLForSequenceClassification,
    XLMRobertaXLForTokenClassification,
    XLMRobertaXLModel,
    XLMRobertaXLPreTrainedModel,
)
from .models.xlm_roberta.tokenization import XLMRobertaTokenizer
from .pipelines import pipeline
from .tokenization_utils import AddedToken

__version__ = "0.1.0"

__all__ = [
    "AddedToken",
    "AutoConfig",
    "AutoModel",
    "AutoModelForCausalLM",
    "AutoModelForMaskedLM",
    "AutoModelForMultipleChoice",
    "AutoModelForQuestionAnswering",
    "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification",
    "AutoTokenizer",
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
    "XLMRobertaConfig",
    "XLMRobertaForCausalLM",
    "XLMRobertaForMaskedLM",
    "XLMRobertaForMultipleChoice",
    "XLMRobertaForQuestionAnswering",
    "XLMRobertaForSequenceClassification",
    "XLMRobertaForTokenClassification",
    "XLMRobertaModel",
    "XLMRobertaPreTrainedModel",
    "XLMRobertaTokenizer",
    "XLMRobertaXLConfig",
    "XLMRobertaXLForCausalLM",
    "XLMRobertaXLForMaskedLM",
    "XLMRobertaXLForMultipleChoice",
    "XLMRobertaXLForQuestionAnswering",
    "XLMRobertaXLForSequenceClassification",
    "XLMRobertaXLForTokenClassification",
    "XLMRobertaXLModel",
    "XLMRobertaXLPreTrainedModel",
    "XLMTokenizer",
    "XLMWithLMHeadModel",
    "__version__",
    "pipeline",
]
