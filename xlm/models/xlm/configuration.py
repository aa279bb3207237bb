"""XLMConfig: the hyper-parameters of an XLM model, read from and written to a Hub-style ``config.json``.

Field names, defaults and meanings follow transformers' ``XLMConfig`` so that the same ``config.json`` works with
both libraries. Keys this class does not know (the training arguments some official checkpoints carry, say) are kept
as attributes and written back unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ...errors import InvalidConfigError, NotAnXLMModelError

# Old or generic names -> the field they stand for (transformers' ``attribute_map``).
ATTRIBUTE_MAP = {
    "hidden_size": "emb_dim",
    "num_attention_heads": "n_heads",
    "num_hidden_layers": "n_layers",
    "n_words": "vocab_size",
    "bos_index": "bos_token_id",
    "eos_index": "eos_token_id",
    "pad_index": "pad_token_id",
}
SUMMARY_TYPES = ("last", "first", "mean", "cls_index")
SUMMARY_ACTIVATIONS = (None, "tanh", "relu", "gelu", "sigmoid", "linear")
CONFIG_NAME = "config.json"


@dataclass(init=False, eq=False, repr=False)
class XLMConfig:
    """Hyper-parameters of an XLM model; build with keyword arguments, ``from_dict`` or ``from_pretrained``.

    Besides the fields below: ``num_labels`` (a property over ``id2label``, 2 by default), the aliases of
    ``ATTRIBUTE_MAP`` (``hidden_size``, ``n_words``, ``pad_index``, ...), and any unknown key as a plain attribute.
    An adaptive-softmax model (``asm=True``) also needs ``asm_cutoffs`` and ``asm_div_value``, as in transformers.
    """

    model_type = "xlm"

    vocab_size: int = 30145
    emb_dim: int = 2048
    n_layers: int = 12
    n_heads: int = 16
    dropout: float = 0.1
    attention_dropout: float = 0.1
    gelu_activation: bool = True  # gelu in the feed-forward layers, else relu
    sinusoidal_embeddings: bool = False  # initialise the position embeddings with sinusoids
    causal: bool = False  # attend to the left context only (CLM)
    asm: bool = False  # adaptive softmax output layer
    n_langs: int = 1
    use_lang_emb: bool = True  # add language embeddings (only when n_langs > 1)
    max_position_embeddings: int = 512
    embed_init_std: float | None = 2048**-0.5
    layer_norm_eps: float = 1e-12
    init_std: float = 0.02
    unk_index: int = 3
    mask_index: int = 5
    is_encoder: bool = True
    summary_type: str = "first"  # sequence summary: "last", "first", "mean" or "cls_index"
    summary_use_proj: bool = True
    summary_activation: str | None = None
    summary_proj_to_labels: bool = True
    summary_first_dropout: float = 0.1
    start_n_top: int = 5  # beam sizes of XLMForQuestionAnswering
    end_n_top: int = 5
    mask_token_id: int | None = 0
    lang_id: int = 0  # language used when generating
    pad_token_id: int = 2
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 1
    tie_word_embeddings: bool = True
    lang2id: dict[str, int] | None = None
    id2lang: dict[int, str] | None = None
    id2label: dict[int, str] | None = None
    label2id: dict[str, int] | None = None
    # "regression", "single_label_classification" or "multi_label_classification"; None: guessed from the labels
    problem_type: str | None = None
    architectures: list[str] | None = None
    output_attentions: bool = False
    output_hidden_states: bool = False

    def __init__(self, **kwargs: Any) -> None:
        kwargs = _canonical_keys(kwargs)
        model_type = kwargs.pop("model_type", self.model_type)
        if model_type != self.model_type:
            raise NotAnXLMModelError(
                f"This is a {model_type!r} checkpoint (model_type={model_type!r}); this library loads XLM checkpoints "
                "only (model_type 'xlm'). XLM-RoBERTa, BERT and other architectures need another library."
            )
        num_labels = kwargs.pop("num_labels", None)
        for f in fields(self):
            setattr(self, f.name, kwargs.pop(f.name, f.default))
        for key, value in kwargs.items():  # unknown keys are kept as they are
            setattr(self, key, value)
        self._normalise_maps(num_labels)
        self.validate()

    def _normalise_maps(self, num_labels: int | None) -> None:
        """Integer keys for the id->name maps (JSON makes them strings); fill in the missing inverse maps."""
        if self.id2label is None:
            self.id2label = {i: f"LABEL_{i}" for i in range(2 if num_labels is None else num_labels)}
        elif num_labels is not None and num_labels != len(self.id2label):
            raise InvalidConfigError(
                f"num_labels={num_labels} but id2label has {len(self.id2label)} entries; give one of the two."
            )
        self.id2label = _int_keys("id2label", self.id2label)
        if self.label2id is None:
            self.label2id = {name: i for i, name in self.id2label.items()}
        if self.id2lang is not None:
            self.id2lang = _int_keys("id2lang", self.id2lang)
            if self.lang2id is None:
                self.lang2id = {lang: i for i, lang in self.id2lang.items()}
        elif self.lang2id is not None:
            self.id2lang = {i: lang for lang, i in self.lang2id.items()}

    # -- attribute aliases and num_labels ---------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        if name in ATTRIBUTE_MAP:
            return getattr(self, ATTRIBUTE_MAP[name])
        raise AttributeError(f"XLMConfig has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(ATTRIBUTE_MAP.get(name, name), value)

    @property
    def num_labels(self) -> int:
        """Number of classification labels: the size of ``id2label``."""
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, value: int) -> None:
        if value != self.num_labels:
            self.id2label = {i: f"LABEL_{i}" for i in range(value)}
            self.label2id = {name: i for i, name in self.id2label.items()}

    # -- validation ---------------------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`InvalidConfigError` naming the first value a model cannot be built with."""
        for name in ("vocab_size", "emb_dim", "n_layers", "n_heads", "max_position_embeddings", "n_langs"):
            _require(
                _is_int(getattr(self, name)) and getattr(self, name) >= 1,
                f"{name} must be an integer >= 1",
                self,
                name,
            )
        for name in ("start_n_top", "end_n_top"):
            _require(
                _is_int(getattr(self, name)) and getattr(self, name) >= 1,
                f"{name} must be an integer >= 1",
                self,
                name,
            )
        if self.emb_dim % self.n_heads:
            raise InvalidConfigError(
                f"emb_dim={self.emb_dim} is not divisible by n_heads={self.n_heads}: each head gets emb_dim / n_heads "
                "dimensions."
            )
        for f in fields(self):
            if isinstance(f.default, bool):
                _require(
                    isinstance(getattr(self, f.name), bool), f"{f.name} must be true or false", self, f.name
                )
        for name in ("dropout", "attention_dropout", "summary_first_dropout"):
            value = getattr(self, name)
            _require(
                _is_number(value) and 0 <= value <= 1, f"{name} must be a probability in [0, 1]", self, name
            )
        for name in ("layer_norm_eps", "init_std"):
            _require(
                _is_number(getattr(self, name)) and getattr(self, name) > 0, f"{name} must be > 0", self, name
            )
        if self.embed_init_std is not None:
            _require(
                _is_number(self.embed_init_std) and self.embed_init_std > 0,
                "embed_init_std must be > 0",
                self,
                "embed_init_std",
            )
        self._validate_token_ids()
        self._validate_languages()
        self._validate_heads()

    def _validate_token_ids(self) -> None:
        vocab = f"inside the vocabulary [0, {self.vocab_size})"
        for name in ("pad_token_id", "unk_index", "mask_index"):
            value = getattr(self, name)
            _require(
                _is_int(value) and 0 <= value < self.vocab_size,
                f"{name} must be a token id {vocab}",
                self,
                name,
            )
        for name in ("bos_token_id", "mask_token_id", "eos_token_id"):
            value = getattr(self, name)
            ids = value if isinstance(value, list) else [value]
            ok = value is None or all(_is_int(i) and 0 <= i < self.vocab_size for i in ids)
            _require(ok, f"{name} must be a token id {vocab} or null", self, name)

    def _validate_languages(self) -> None:
        _require(
            _is_int(self.lang_id) and 0 <= self.lang_id < self.n_langs,
            f"lang_id must be in [0, n_langs={self.n_langs})",
            self,
            "lang_id",
        )
        if self.lang2id is None:
            return
        if not isinstance(self.lang2id, dict) or sorted(self.lang2id.values()) != list(range(self.n_langs)):
            raise InvalidConfigError(
                f"lang2id must map n_langs={self.n_langs} languages to the ids 0..{self.n_langs - 1} once each; "
                f"got {len(self.lang2id)} entries: {_preview(self.lang2id)}"
            )
        if {i: lang for lang, i in self.lang2id.items()} != self.id2lang:
            raise InvalidConfigError(
                f"id2lang is not the inverse of lang2id: id2lang={_preview(self.id2lang)}, lang2id={_preview(self.lang2id)}"
            )

    def _validate_heads(self) -> None:
        if not self.is_encoder:
            raise InvalidConfigError(
                "is_encoder=false (an XLM decoder) is not supported: XLM models are encoders."
            )
        if self.summary_type not in SUMMARY_TYPES:
            raise InvalidConfigError(
                f"summary_type={self.summary_type!r} is not supported; use one of {', '.join(SUMMARY_TYPES)}."
            )
        if self.summary_activation not in SUMMARY_ACTIVATIONS:
            names = ", ".join(str(a).lower() for a in SUMMARY_ACTIVATIONS)
            raise InvalidConfigError(f"summary_activation={self.summary_activation!r} is not one of {names}.")
        _require(self.num_labels >= 1, "num_labels (the size of id2label) must be >= 1", self, "num_labels")
        if self.asm:
            cutoffs = getattr(self, "asm_cutoffs", None)
            ok = (
                isinstance(cutoffs, list)
                and len(cutoffs) > 0
                and all(_is_int(c) for c in cutoffs)
                and cutoffs == sorted(set(cutoffs))
                and cutoffs[0] > 0
                and cutoffs[-1] < self.vocab_size
            )
            if not ok:
                raise InvalidConfigError(
                    f"asm=true needs asm_cutoffs, increasing token counts between 0 and vocab_size={self.vocab_size} "
                    f"(e.g. [8000, 20000]); got {cutoffs!r}."
                )
            div = getattr(self, "asm_div_value", None)
            _require(
                _is_number(div) and div > 0,
                "asm=true needs asm_div_value > 0 (e.g. 4.0)",
                self,
                "asm_div_value",
            )

    # -- serialisation ------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every field, ``model_type`` and the unknown keys, ready for JSON."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update({k: v for k, v in vars(self).items() if k not in data})
        data["model_type"] = self.model_type
        return data

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> XLMConfig:
        """Build from a ``config.json`` mapping; ``overrides`` win over its values."""
        if not isinstance(data, dict):
            raise InvalidConfigError(
                f"A config must be a mapping of names to values, got {type(data).__name__}."
            )
        return cls(**{**_canonical_keys(data), **_canonical_keys(overrides)})

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write ``folder/config.json`` (creating the folder) and return its path."""
        path = Path(folder) / CONFIG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json_string(), encoding="utf-8")
        return path

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool | None = None,
        **overrides: Any,
    ) -> XLMConfig:
        """Read the config of a checkpoint folder, a Hub id, or a JSON file; ``overrides`` win over its values."""
        from ...files import read_json, resolve_model_dir

        path = Path(name_or_path).expanduser()
        if not path.is_file():
            path = (
                resolve_model_dir(
                    name_or_path,
                    revision=revision,
                    cache_dir=cache_dir,
                    local_files_only=local_files_only,
                    weights=False,
                )
                / CONFIG_NAME
            )
        data = read_json(path)
        try:
            return cls.from_dict(data, **overrides)
        except InvalidConfigError as err:
            raise InvalidConfigError(f"{path}: {err}") from err

    def __eq__(self, other: object) -> bool:
        return isinstance(other, XLMConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"XLMConfig {self.to_json_string()}"


def _canonical_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Replace alias keys (``pad_index``, ``n_words``, ...) by their field names; conflicting values are an error."""
    out = {k: v for k, v in data.items() if k not in ATTRIBUTE_MAP}
    for alias, name in ATTRIBUTE_MAP.items():
        if alias not in data:
            continue
        if name in out and out[name] != data[alias]:
            raise InvalidConfigError(
                f"{alias}={data[alias]!r} and {name}={out[name]!r} disagree ({alias} is another name for {name})."
            )
        out[name] = data[alias]
    return out


def _int_keys(name: str, mapping: dict[Any, str]) -> dict[int, str]:
    try:
        return {int(k): v for k, v in mapping.items()}
    except (TypeError, ValueError, AttributeError):
        raise InvalidConfigError(f"{name} must map integer ids to names, got {_preview(mapping)}") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require(ok: bool, rule: str, config: XLMConfig, name: str) -> None:
    if not ok:
        raise InvalidConfigError(f"{rule}; got {name}={getattr(config, name, None)!r}.")


def _preview(mapping: Any, n: int = 5) -> str:
    """A short repr of a possibly long mapping, for error messages."""
    if not isinstance(mapping, dict):
        return repr(mapping)
    items = ", ".join(f"{k!r}: {v!r}" for k, v in list(mapping.items())[:n])
    return "{" + items + (", ..." if len(mapping) > n else "") + "}"
