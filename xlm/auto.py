"""Auto classes named as in transformers: the family and the class are picked from the checkpoint's config.json.

>>> from xlm import AutoModelForMaskedLM, AutoTokenizer
>>> model = AutoModelForMaskedLM.from_pretrained("FacebookAI/xlm-roberta-base")
>>> tokenizer = AutoTokenizer.from_pretrained("FacebookAI/xlm-roberta-base")
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, ClassVar

from .configuration_utils import PretrainedConfig
from .errors import ModelTypeError
from .files import CONFIG_NAME, read_json, resolve_model_dir
from .loading import load_model
from .modeling_utils import PreTrainedModel
from .registry import FAMILIES, config_from_dict, family, family_of, read_config
from .tokenization_utils import PreTrainedTokenizer

_HUB_OPTIONS = ("revision", "cache_dir", "local_files_only", "token", "subfolder")
# The loader's own keyword arguments: any other keyword of an Auto model load is a config override (or a mistake)
_LOADING_OPTIONS = frozenset(
    name for name, p in inspect.signature(load_model).parameters.items() if p.kind is p.KEYWORD_ONLY
)


def _folder(name_or_path: str | os.PathLike, options: dict[str, Any], weights: bool) -> Path:
    """Resolve a folder or Hub id (and its sub-folder) once; the Hub options are taken out of ``options``."""
    hub = {k: options.pop(k) for k in _HUB_OPTIONS if k in options}
    return resolve_model_dir(name_or_path, weights=weights, **hub)


def _config_once(folder: Path, options: dict[str, Any]) -> PretrainedConfig:
    """The checkpoint's config, read once, with the config attributes among ``options`` applied (and taken out):
    what is left are loading options, or unknown names the loader refuses."""
    config = read_config(folder)
    overrides = {k: options.pop(k) for k in list(options) if k not in _LOADING_OPTIONS and hasattr(config, k)}
    return type(config).from_dict(config.to_dict(), **overrides) if overrides else config


class AutoConfig:
    """``AutoConfig.from_pretrained(folder or Hub id)`` gives the family's config class for its ``model_type``."""

    @staticmethod
    def from_pretrained(name_or_path: str | os.PathLike, **kwargs: Any) -> PretrainedConfig:
        path = Path(name_or_path).expanduser()
        if path.is_file():  # a JSON file: the Hub options have nothing to do (and never become config values)
            overrides = {k: v for k, v in kwargs.items() if k not in _HUB_OPTIONS}
            return config_from_dict(read_json(path), **overrides)
        return read_config(_folder(name_or_path, kwargs, weights=False), **kwargs)

    @staticmethod
    def for_model(model_type: str, **kwargs: Any) -> PretrainedConfig:
        """A fresh config of a family: ``AutoConfig.for_model("xlm-roberta", hidden_size=256)``."""
        return family(model_type).config_class(**kwargs)


class AutoTokenizer:
    """The family's tokenizer, from config.json's ``model_type`` or, in a tokenizer-only folder, from
    tokenizer_config.json's ``tokenizer_class``."""

    @staticmethod
    def from_pretrained(name_or_path: str | os.PathLike, **kwargs: Any) -> PreTrainedTokenizer:
        folder = _folder(name_or_path, kwargs, weights=False)
        if (folder / CONFIG_NAME).is_file():
            cls = family_of(read_config(folder)).tokenizer_class
        else:
            wanted = read_json(folder / "tokenizer_config.json").get("tokenizer_class", "")
            classes = {f.tokenizer_class.__name__: f.tokenizer_class for f in FAMILIES.values()}
            # transformers 5 writes "XLMRobertaTokenizerFast" / "XLMRobertaTokenizer" alike
            cls = classes.get(str(wanted).removesuffix("Fast"))
            if cls is None:
                raise ModelTypeError(
                    f"{folder.name} has no config.json and its tokenizer_class {wanted!r} is not one of "
                    f"{', '.join(sorted(classes))}."
                )
        return cls.from_pretrained(folder, **kwargs)


class _AutoModel:
    """Picks the class serving ``role`` in the checkpoint's family, then loads with it. config.json is read once,
    here: config overrides (``num_labels``) are applied to it; loading options (``dtype``, ``output_loading_info``,
    ``ignore_mismatched_sizes``, ...) go to the loader, which refuses unknown names as the class's own
    ``from_pretrained`` does."""

    role: ClassVar[str]

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike, *, config: PretrainedConfig | None = None, **kwargs: Any
    ) -> PreTrainedModel | tuple[PreTrainedModel, dict[str, Any]]:
        # a Hub id (with its token and sub-folder) is resolved here only; the loader gets the local folder
        folder = _folder(name_or_path, kwargs, weights=True)
        config = config if config is not None else _config_once(folder, kwargs)
        head = family_of(config).head(cls.role, config)
        loaded = head.from_pretrained(folder, config=config, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        model.name_or_path = os.fspath(name_or_path)
        return loaded

    @classmethod
    def from_config(cls, config: PretrainedConfig) -> PreTrainedModel:
        """A freshly initialised model of the config's family."""
        return family_of(config).head(cls.role, config)(config)


class AutoModel(_AutoModel):
    role = "base"


class AutoModelForMaskedLM(_AutoModel):
    role = "masked-lm"


class AutoModelForCausalLM(_AutoModel):
    role = "causal-lm"


class AutoModelForSequenceClassification(_AutoModel):
    role = "sequence-classification"


class AutoModelForTokenClassification(_AutoModel):
    role = "token-classification"


class AutoModelForQuestionAnswering(_AutoModel):
    role = "question-answering"


class AutoModelForMultipleChoice(_AutoModel):
    role = "multiple-choice"
