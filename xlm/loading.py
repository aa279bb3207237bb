"""Building a model from a checkpoint and saving it: meta-device construction, prefix alignment, shape checks,
what was missing. No remote code, ever."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import nn

from .errors import CorruptCheckpointError
from .files import resolve_model_dir
from .weights import as_dtype, load_state_dict, save_state_dict

if TYPE_CHECKING:
    from .modeling_utils import PreTrainedModel

    ModelT = TypeVar("ModelT", bound=PreTrainedModel)


@dataclass
class LoadReport:
    """What did not match between a checkpoint and the model class it was loaded into."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    # parameter prefix -> the head's name for a person
    head_names: dict[str, str] = field(default_factory=dict)

    @property
    def untrained_heads(self) -> list[str]:
        """Heads whose weights were missing from the checkpoint, hence randomly initialised."""
        prefixes = {key.split(".", 1)[0] for key in self.missing_keys}
        return [name for prefix, name in self.head_names.items() if prefix in prefixes]

    @property
    def warnings(self) -> list[str]:
        """Sentences for a person: what is untrained, what was ignored."""
        notes = [
            f"The {head} is not in the checkpoint: it is randomly initialised (not trained)."
            for head in self.untrained_heads
        ]
        body = [k for k in self.missing_keys if k.split(".", 1)[0] not in self.head_names]
        if body:
            notes.append(
                f"{len(body)} weights of the base model are missing and were initialised randomly: "
                f"{_preview(body)}."
            )
        if self.unexpected_keys:
            notes.append(
                f"{len(self.unexpected_keys)} weights in the checkpoint are not used by this model class: "
                f"{_preview(self.unexpected_keys)}."
            )
        return notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "missing_keys": self.missing_keys,
            "unexpected_keys": self.unexpected_keys,
            "untrained_heads": self.untrained_heads,
            "warnings": self.warnings,
        }


def _preview(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def _align_prefix(
    state: dict[str, torch.Tensor], expected: Iterable[str], prefix: str
) -> dict[str, torch.Tensor]:
    """Map a base-model checkpoint onto a head model (add ``prefix.``) and the reverse (strip it)."""
    expected = set(expected)
    dotted = prefix + "."
    model_has_prefix = any(k.startswith(dotted) for k in expected)
    state_has_prefix = any(k.startswith(dotted) for k in state)
    if model_has_prefix and not state_has_prefix:
        return {dotted + k if dotted + k in expected else k: v for k, v in state.items()}
    if state_has_prefix and not model_has_prefix:
        return {k.removeprefix(dotted): v for k, v in state.items()}
    return state


def _check_shapes(model: nn.Module, state: dict[str, torch.Tensor], folder: Path) -> None:
    expected = {k: v.shape for k, v in model.state_dict().items()}
    bad = sorted(
        f"{k} has shape {tuple(v.shape)}, the config implies {tuple(expected[k])}"
        for k, v in state.items()
        if k in expected and v.shape != expected[k]
    )
    if bad:
        raise CorruptCheckpointError(f"Weights in {folder} do not fit its config: {_preview(bad)}.")


def _materialise_missing(model: PreTrainedModel, device: torch.device) -> None:
    """Give every tensor still on the meta device real storage and the model's own initialisation."""
    for module in model.modules():
        own = list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False))
        if not any(t.is_meta for _, t in own):
            continue
        loaded = {name: t for name, t in own if not t.is_meta}
        module.to_empty(device=device, recurse=False)
        model._init_weights(module)
        with torch.no_grad():
            for name, tensor in loaded.items():
                getattr(module, name).copy_(tensor)


def load_model(
    cls: type[ModelT],
    name_or_path: str | os.PathLike,
    *,
    dtype: str | torch.dtype | None = torch.float32,
    device: str | torch.device | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    config: Any = None,
    **config_overrides: Any,
) -> ModelT:
    """Build ``cls`` from a checkpoint without initialising weights twice (meta-device construction).

    ``dtype=None`` or ``"auto"`` keeps the checkpoint's dtype. Weights the checkpoint lacks are initialised as a
    fresh model would be; ``model.load_report`` lists them (e.g. an untrained QA head).
    """
    folder = resolve_model_dir(
        name_or_path, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only
    )
    if config is None:
        config = cls.config_class.from_pretrained(folder, **config_overrides)
    state = load_state_dict(folder)
    with torch.device("meta"):
        model = cls(config)
    expected = model.state_dict().keys()
    state = _align_prefix(state, expected, cls.base_model_prefix)
    _check_shapes(model, state, folder)
    target = as_dtype(dtype)
    if target is not None:
        state = {k: v.to(target) if v.is_floating_point() else v for k, v in state.items()}
    model.load_state_dict(state, strict=False, assign=True)
    model.tie_weights()
    tied = _tied_keys(model)
    report = LoadReport(
        missing_keys=sorted(k for k in expected if k not in state and k not in tied),
        unexpected_keys=sorted(k for k in state if k not in expected),
        head_names=cls.head_names,
    )
    _materialise_missing(model, torch.device("cpu"))
    if target is not None:
        model.to(target)
    if device is not None:
        model.to(device)
    model.eval()
    model.load_report = report
    model.name_or_path = os.fspath(name_or_path)
    return model


def _tied_keys(model: nn.Module) -> set[str]:
    """Names under which a parameter appears a second time (tied weights)."""
    seen: dict[int, str] = {}
    tied = set()
    for name, param in model.named_parameters(remove_duplicate=False):
        if id(param) in seen:
            tied.add(name)
        else:
            seen[id(param)] = name
    return tied


def save_model(model: PreTrainedModel, folder: str | os.PathLike) -> Path:
    """Write ``config.json`` and ``model.safetensors`` (tied weights stored once, as transformers does)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.architectures = [type(model).__name__]
    model.config.save_pretrained(folder)
    tied = _tied_keys(model)
    state = {k: v for k, v in model.state_dict().items() if k not in tied}
    save_state_dict(state, folder)
    return folder
