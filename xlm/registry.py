"""The model families this library loads, keyed by ``model_type``: the one list every other part reads.

A family gives its config class, its tokenizer class and its head classes by *role* (what a pipeline needs the
model to do: ``masked-lm``, ``question-answering``, ...). Adding a family is a folder under ``xlm/models/`` and an
entry in :data:`FAMILIES`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .configuration_utils import PretrainedConfig
from .errors import InvalidConfigError, ModelTypeError
from .files import CONFIG_NAME, read_json
from .models.xlm.configuration import XLMConfig
from .models.xlm_roberta.configuration import XLMRobertaConfig, XLMRobertaXLConfig

if TYPE_CHECKING:
    from .modeling_utils import PreTrainedModel
    from .tokenization_utils import PreTrainedTokenizer

# What a pipeline can ask a model to do; each family maps the roles it serves to one of its classes.
ROLES = (
    "base",
    "masked-lm",
    "causal-lm",
    "sequence-classification",
    "token-classification",
    "question-answering",
    "question-answering-beam",
    "multiple-choice",
)


@dataclass(frozen=True)
class Family:
    """One model family: its classes, and what its models can do.

    Only the config class is imported with the registry; the model and tokenizer classes (torch, sacremoses) are
    imported from the family's folder the first time they are asked for, so that reading configs stays light."""

    model_type: str
    name: str  # for people: "XLM", "XLM-RoBERTa XL"
    config_class: type[PretrainedConfig]
    package: str  # the family's folder as a module: "xlm.models.xlm"
    tokenizer_name: str  # a class of the package's ``tokenization`` module
    head_names: dict[str, str]  # role -> a class of the package's ``modeling`` module
    language_embeddings: bool  # whether its models can take a language id per token

    @property
    def tokenizer_class(self) -> type[PreTrainedTokenizer]:
        return getattr(importlib.import_module(f"{self.package}.tokenization"), self.tokenizer_name)

    @property
    def heads(self) -> dict[str, type[PreTrainedModel]]:
        """Role -> class."""
        return {role: getattr(self._modeling, name) for role, name in self.head_names.items()}

    @property
    def architectures(self) -> dict[str, type[PreTrainedModel]]:
        """Class name -> class, for every head class of the family."""
        return {cls.__name__: cls for cls in self.heads.values()}

    def head_name(self, role: str, config: PretrainedConfig | None = None) -> str:
        """The name of the class serving ``role``; ``causal-lm`` and ``masked-lm`` follow the config (a causal
        model's LM head serves both where the family has one class for both)."""
        if role == "lm" and config is not None:
            role = "causal-lm" if config.is_causal else "masked-lm"
        if role not in self.head_names:
            served = ", ".join(r for r in ROLES if r in self.head_names)
            raise InvalidConfigError(f"{self.name} models have no {role} head; they serve: {served}.")
        return self.head_names[role]

    def head(self, role: str, config: PretrainedConfig | None = None) -> type[PreTrainedModel]:
        """The class serving ``role`` (see :meth:`head_name`)."""
        return getattr(self._modeling, self.head_name(role, config))

    @property
    def _modeling(self) -> Any:
        """The family's ``modeling`` module, imported (with torch) on first use."""
        return importlib.import_module(f"{self.package}.modeling")


def _xlm_roberta(model_type: str, name: str, config_class: type, prefix: str) -> Family:
    heads = {
        "base": "Model",
        "masked-lm": "ForMaskedLM",
        "causal-lm": "ForCausalLM",
        "sequence-classification": "ForSequenceClassification",
        "token-classification": "ForTokenClassification",
        "question-answering": "ForQuestionAnswering",
        "multiple-choice": "ForMultipleChoice",
    }
    return Family(
        model_type=model_type,
        name=name,
        config_class=config_class,
        package="xlm.models.xlm_roberta",
        tokenizer_name="XLMRobertaTokenizer",
        head_names={role: prefix + suffix for role, suffix in heads.items()},
        language_embeddings=False,
    )


FAMILIES: dict[str, Family] = {
    "xlm": Family(
        model_type="xlm",
        name="XLM",
        config_class=XLMConfig,
        package="xlm.models.xlm",
        tokenizer_name="XLMTokenizer",
        head_names={
            "base": "XLMModel",
            "masked-lm": "XLMWithLMHeadModel",
            "causal-lm": "XLMWithLMHeadModel",
            "sequence-classification": "XLMForSequenceClassification",
            "token-classification": "XLMForTokenClassification",
            "question-answering": "XLMForQuestionAnsweringSimple",
            "question-answering-beam": "XLMForQuestionAnswering",
            "multiple-choice": "XLMForMultipleChoice",
        },
        language_embeddings=True,
    ),
    "xlm-roberta": _xlm_roberta("xlm-roberta", "XLM-RoBERTa", XLMRobertaConfig, "XLMRoberta"),
    "xlm-roberta-xl": _xlm_roberta("xlm-roberta-xl", "XLM-RoBERTa XL", XLMRobertaXLConfig, "XLMRobertaXL"),
}


def family(model_type: str) -> Family:
    """The family of a ``model_type``, or a :class:`ModelTypeError` listing the ones this library loads."""
    if model_type not in FAMILIES:
        known = ", ".join(repr(t) for t in FAMILIES)
        raise ModelTypeError(
            f"model_type={model_type!r} is not supported; this library loads {known} checkpoints."
        )
    return FAMILIES[model_type]


def family_of(config: PretrainedConfig) -> Family:
    return family(config.model_type)


def config_from_dict(data: dict[str, Any], **overrides: Any) -> PretrainedConfig:
    """The family's config built from a ``config.json`` mapping. Old XLM files without ``model_type`` are XLM."""
    model_type = data.get("model_type") or ("xlm" if "emb_dim" in data or "n_layers" in data else None)
    if model_type is None:
        raise ModelTypeError(
            f"config.json has no model_type; this library loads {', '.join(repr(t) for t in FAMILIES)} checkpoints."
        )
    return family(model_type).config_class.from_dict({**data, "model_type": model_type}, **overrides)


def read_config(folder: Path, **overrides: Any) -> PretrainedConfig:
    """The config of a checkpoint folder, read once, as its family's class."""
    path = Path(folder) / CONFIG_NAME
    try:
        return config_from_dict(read_json(path), **overrides)
    except InvalidConfigError as err:
        raise InvalidConfigError(f"{path}: {err}") from err


def architecture(
    config: PretrainedConfig, name: str | None = None, role: str = "lm"
) -> type[PreTrainedModel]:
    """The class to build for a checkpoint: ``name`` (an architecture of its family), else the checkpoint's own
    architecture when it is one of the family's, else the family's class for ``role``."""
    fam = family_of(config)
    if name is not None:
        if name not in fam.architectures:
            raise InvalidConfigError(
                f"Unknown {fam.name} architecture {name!r}; it has {', '.join(sorted(fam.architectures))}."
            )
        return fam.architectures[name]
    own = next((a for a in config.architectures or [] if a in fam.architectures), None)
    return fam.architectures[own] if own else fam.head(role, config)
