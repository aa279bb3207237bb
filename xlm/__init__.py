"""Cross-lingual language models in plain PyTorch: XLM (Lample & Conneau, 2019) and XLM-RoBERTa (Conneau et al.,
2020; XL/XXL: Goyal et al., 2021), checkpoint-compatible with the Hub.

>>> from xlm import AutoModelForMaskedLM, AutoTokenizer, pipeline
>>> fill = pipeline("fill-mask", "assets/xlm-explorer-mini")
>>> fill("Paris is the <mask> of France.", lang="en")
"""

from typing import TYPE_CHECKING

from .lazy import lazy_exports

__version__ = "0.1.0"

# Public name -> the module defining it. Imported on first use (PEP 562), so that ``import xlm`` and its light
# modules (configs, errors, files) do not load torch: the app serves its page before the models are needed.
_EXPORTS = {
    "AutoConfig": ".auto",
    "AutoModel": ".auto",
    "AutoModelForCausalLM": ".auto",
    "AutoModelForMaskedLM": ".auto",
    "AutoModelForMultipleChoice": ".auto",
    "AutoModelForQuestionAnswering": ".auto",
    "AutoModelForSequenceClassification": ".auto",
    "AutoModelForTokenClassification": ".auto",
    "AutoTokenizer": ".auto",
    "CorruptCheckpointError": ".errors",
    "InputError": ".errors",
    "InvalidConfigError": ".errors",
    "MissingDependencyError": ".errors",
    "ModelNotFoundError": ".errors",
    "ModelTypeError": ".errors",
    "UnknownLanguageError": ".errors",
    "XLMError": ".errors",
    "XLMConfig": ".models.xlm.configuration",
    "XLMForMultipleChoice": ".models.xlm.modeling",
    "XLMForQuestionAnswering": ".models.xlm.modeling",
    "XLMForQuestionAnsweringSimple": ".models.xlm.modeling",
    "XLMForSequenceClassification": ".models.xlm.modeling",
    "XLMForTokenClassification": ".models.xlm.modeling",
    "XLMModel": ".models.xlm.modeling",
    "XLMPreTrainedModel": ".models.xlm.modeling",
    "XLMWithLMHeadModel": ".models.xlm.modeling",
    "XLMTokenizer": ".models.xlm.tokenization",
    "XLMRobertaConfig": ".models.xlm_roberta.configuration",
    "XLMRobertaXLConfig": ".models.xlm_roberta.configuration",
    "XLMRobertaForCausalLM": ".models.xlm_roberta.modeling",
    "XLMRobertaForMaskedLM": ".models.xlm_roberta.modeling",
    "XLMRobertaForMultipleChoice": ".models.xlm_roberta.modeling",
    "XLMRobertaForQuestionAnswering": ".models.xlm_roberta.modeling",
    "XLMRobertaForSequenceClassification": ".models.xlm_roberta.modeling",
    "XLMRobertaForTokenClassification": ".models.xlm_roberta.modeling",
    "XLMRobertaModel": ".models.xlm_roberta.modeling",
    "XLMRobertaPreTrainedModel": ".models.xlm_roberta.modeling",
    "XLMRobertaXLForCausalLM": ".models.xlm_roberta.modeling",
    "XLMRobertaXLForMaskedLM": ".models.xlm_roberta.modeling",
    "XLMRobertaXLForMultipleChoice": ".models.xlm_roberta.modeling",
    "XLMRobertaXLForQuestionAnswering": ".models.xlm_roberta.modeling",
    "XLMRobertaXLForSequenceClassification": ".models.xlm_roberta.modeling",
    "XLMRobertaXLForTokenClassification": ".models.xlm_roberta.modeling",
    "XLMRobertaXLModel": ".models.xlm_roberta.modeling",
    "XLMRobertaXLPreTrainedModel": ".models.xlm_roberta.modeling",
    "XLMRobertaTokenizer": ".models.xlm_roberta.tokenization",
    "pipeline": ".pipelines",
    "AddedToken": ".tokenization_utils",
}

if TYPE_CHECKING:  # the real imports, for type checkers and editors
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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

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
