"""What every family's configuration shares: a ``config.json`` read and written as transformers does.

A family's config is a dataclass-style class whose annotated fields (with defaults) are the hyper-parameters;
this base adds the label maps (``id2label`` / ``label2id`` / ``num_labels``), alias names (``attribute_map``),
unknown keys kept as plain attributes and written back, JSON round trips, ``from_pretrained`` over a folder, a
JSON file or a Hub id, and the small validation helpers the families' ``validate`` methods use.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import InvalidConfigError, ModelTypeError
from .files import CONFIG_NAME, read_json, resolve_model_dir

ConfigT = TypeVar("ConfigT", bound="PretrainedConfig")


@dataclass(init=False, eq=False, repr=False)
class PretrainedConfig:
    """Base of the family configs; subclasses are ``@dataclass(init=False, eq=False, repr=False)`` classes that set
    ``model_type``, their fields and ``validate``. The fields here are the ones every family has."""

    model_type: ClassVar[str] = ""
    attribute_map: ClassVar[dict[str, str]] = {}  # other names of fields (transformers' ``attribute_map``)
    # what forwards return without ``return_dict``; written to config.json only once set, as transformers does
    return_dict: ClassVar[bool] = True

    id2label: dict[int, str] | None = None
    label2id: dict[str, int] | None = None
    # "regression", "single_label_classification" or "multi_label_classification"; None: guessed from the labels
    problem_type: str | None = None
    architectures: list[str] | None = None
    tie_word_embeddings: bool = True
    output_attentions: bool = False
    output_hidden_states: bool = False

    def __init__(self, **kwargs: Any) -> None:
        kwargs = self._canonical_keys(kwargs)
        model_type = kwargs.pop("model_type", self.model_type)
        if model_type != self.model_type:
            raise ModelTypeError(
                f"This is a {model_type!r} checkpoint (model_type={model_type!r}); {type(self).__name__} loads "
                f"{self.model_type!r} checkpoints only. AutoConfig / AutoModel pick the class from config.json."
            )
        num_labels = kwargs.pop("num_labels", None)
        for f in fields(self):
            setattr(self, f.name, kwargs.pop(f.name, f.default))
        for key, value in kwargs.items():  # unknown keys are kept as they are
            setattr(self, key, value)
        self._normalise_labels(num_labels)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InvalidConfigError` naming the first value a model cannot be built with."""
        raise NotImplementedError

    # -- aliases and labels -----------------------------------------------------------------------------------

    @classmethod
    def _canonical_keys(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Alias keys replaced by their field names; an alias and its field with different values is an error."""
        out = {k: v for k, v in data.items() if k not in cls.attribute_map}
        for alias, name in cls.attribute_map.items():
            if alias not in data:
                continue
            if name in out and out[name] != data[alias]:
                raise InvalidConfigError(
                    f"{alias}={data[alias]!r} and {name}={out[name]!r} disagree ({alias} is another name for {name})."
                )
            out[name] = data[alias]
        return out

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        if name in type(self).attribute_map:
            return getattr(self, type(self).attribute_map[name])
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(type(self).attribute_map.get(name, name), value)

    def _normalise_labels(self, num_labels: int | None) -> None:
        """Integer keys for ``id2label`` (JSON makes them strings) and the inverse map filled in."""
        if self.id2label is None:
            self.id2label = {i: f"LABEL_{i}" for i in range(2 if num_labels is None else num_labels)}
        elif num_labels is not None and num_labels != len(self.id2label):
            raise InvalidConfigError(
                f"num_labels={num_labels} but id2label has {len(self.id2label)} entries; give one of the two."
            )
        self.id2label = int_keys("id2label", self.id2label)
        if self.label2id is None:
            self.label2id = {name: i for i, name in self.id2label.items()}

    @property
    def use_return_dict(self) -> bool:
        """``return_dict`` under its older name (deprecated in transformers 5)."""
        return self.return_dict

    @property
    def num_labels(self) -> int:
        """Number of classification labels: the size of ``id2label``."""
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, value: int) -> None:
        if value != self.num_labels:
            self.id2label = {i: f"LABEL_{i}" for i in range(value)}
            self.label2id = {name: i for i, name in self.id2label.items()}

    # -- serialisation ----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every field, ``model_type`` and the unknown keys, ready for JSON."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update({k: v for k, v in vars(self).items() if k not in data})
        data["model_type"] = self.model_type
        return data

    def to_json_string(self) -> str:
        """The JSON of :meth:`to_dict`; a torch dtype (e.g. ``config.dtype``) is written by name, as transformers."""
        return (
            json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False, default=_dtype_name)
            + "\n"
        )

    def to_json_file(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_json_string` to ``path``."""
        Path(path).write_text(self.to_json_string(), encoding="utf-8")

    @classmethod
    def from_json_file(cls: type[ConfigT], path: str | os.PathLike) -> ConfigT:
        """Read a config from a JSON file."""
        return cls.from_dict(read_json(Path(path)))

    @classmethod
    def from_dict(cls: type[ConfigT], data: dict[str, Any], **overrides: Any) -> ConfigT:
        """Build from a ``config.json`` mapping; ``overrides`` win over its values."""
        if not isinstance(data, dict):
            raise InvalidConfigError(
                f"A config must be a mapping of names to values, got {type(data).__name__}."
            )
        data, overrides = cls._canonical_keys(data), cls._canonical_keys(overrides)
        if (
            "num_labels" in overrides and "id2label" not in overrides
        ):  # a new label set replaces the saved one
            data = {k: v for k, v in data.items() if k not in ("id2label", "label2id")}
        return cls(**{**data, **overrides})

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write ``folder/config.json`` (creating the folder) and return its path."""
        path = Path(folder) / CONFIG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json_string(), encoding="utf-8")
        return path

    @classmethod
    def from_pretrained(
        cls: type[ConfigT],
        name_or_path: str | os.PathLike,
        *,
        subfolder: str = "",
        revision: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool | None = None,
        token: str | bool | None = None,
        **overrides: Any,
    ) -> ConfigT:
        """Read the config of a checkpoint folder (or its ``subfolder``), a Hub id (``token`` for a gated or
        private one), or a JSON file; ``overrides`` win over its values."""
        path = config_path(name_or_path, revision, cache_dir, local_files_only, subfolder, token)
        try:
            return cls.from_dict(read_json(path), **overrides)
        except InvalidConfigError as err:
            raise InvalidConfigError(f"{path}: {err}") from err

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string()}"


def config_path(
    name_or_path: str | os.PathLike,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    subfolder: str = "",
    token: str | bool | None = None,
) -> Path:
    """The ``config.json`` of a checkpoint folder (or its ``subfolder``) or Hub id, or the JSON file given."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    folder = resolve_model_dir(
        name_or_path,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        weights=False,
        token=token,
        subfolder=subfolder,
    )
    return folder / CONFIG_NAME


def _dtype_name(value: Any) -> str:
    """JSON fallback: a torch dtype by its name ("float16"); anything else is not serialisable."""
    if type(value).__module__ == "torch" and type(value).__name__ == "dtype":
        return str(value).removeprefix("torch.")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# -- validation helpers ---------------------------------------------------------------------------------------


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def require(ok: bool, rule: str, config: PretrainedConfig, name: str) -> None:
    """Raise ``InvalidConfigError("<rule>; got <name>=<value>.")`` unless ``ok``."""
    if not ok:
        raise InvalidConfigError(f"{rule}; got {name}={getattr(config, name, None)!r}.")


def require_positive_ints(config: PretrainedConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        require(is_int(value) and value >= 1, f"{name} must be an integer >= 1", config, name)


def require_probabilities(config: PretrainedConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        require(is_number(value) and 0 <= value <= 1, f"{name} must be a probability in [0, 1]", config, name)


def require_booleans(config: PretrainedConfig) -> None:
    """Every field whose default is a bool must hold a bool."""
    for f in fields(config):
        if isinstance(f.default, bool):
            require(
                isinstance(getattr(config, f.name), bool), f"{f.name} must be true or false", config, f.name
            )


def require_token_ids(
    config: PretrainedConfig, vocab_size: int, required: tuple[str, ...], optional: tuple[str, ...]
) -> None:
    """Token-id fields inside the vocabulary; the ``optional`` ones may be null (and may be lists, as eos can)."""
    vocab = f"inside the vocabulary [0, {vocab_size})"
    for name in required:
        value = getattr(config, name)
        require(is_int(value) and 0 <= value < vocab_size, f"{name} must be a token id {vocab}", config, name)
    for name in optional:
        value = getattr(config, name)
        ids = value if isinstance(value, list) else [value]
        ok = value is None or all(is_int(i) and 0 <= i < vocab_size for i in ids)
        require(ok, f"{name} must be a token id {vocab} or null", config, name)


def int_keys(name: str, mapping: dict[Any, str]) -> dict[int, str]:
    try:
        return {int(k): v for k, v in mapping.items()}
    except (TypeError, ValueError, AttributeError):
        raise InvalidConfigError(f"{name} must map integer ids to names, got {preview(mapping)}") from None


def preview(mapping: Any, n: int = 5) -> str:
    """A short repr of a possibly long mapping, for error messages."""
    if not isinstance(mapping, dict):
        return repr(mapping)
    items = ", ".join(f"{k!r}: {v!r}" for k, v in list(mapping.items())[:n])
    return "{" + items + (", ..." if len(mapping) > n else "") + "}"
