"""Building a model from a checkpoint and saving it: meta-device construction, prefix alignment, shape checks,
what was missing. No remote code, ever."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import nn

from .devices import resolve_device
from .errors import CorruptCheckpointError
from .files import resolve_model_dir
from .weights import as_dtype, load_state_dict, save_state_dict

if TYPE_CHECKING:
    from .configuration_utils import PretrainedConfig
    from .modeling_utils import PreTrainedModel

    ModelT = TypeVar("ModelT", bound=PreTrainedModel)


# The torch.nn.init functions module constructors call; skipped while a model is built on the meta device.
_INIT_FUNCTIONS = (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "xavier_uniform_",
    "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
)  # fmt: skip
_skipping = threading.local()
_patch_lock = threading.Lock()
_patched_for = 0  # threads inside no_init_weights: the init functions are wrapped while there is one


def skipping_init() -> bool:
    """Whether this thread is building a model inside :func:`no_init_weights`."""
    return getattr(_skipping, "depth", 0) > 0


@contextlib.contextmanager
def no_init_weights() -> Iterator[None]:
    """Build modules without initialising their weights, in this thread only: the modules' own resets
    (``torch.nn.init``) and ``post_init`` are skipped. For construction on the meta device, where the checkpoint's
    tensors replace every weight: initialising meta tensors is wasted work, and its first call imports
    ``torch._dynamo`` (1.7 s on these CPUs). Other threads keep initialising as usual."""
    global _patched_for
    with _patch_lock:
        if _patched_for == 0:
            for name in _INIT_FUNCTIONS:
                setattr(nn.init, name, _skippable(getattr(nn.init, name)))
        _patched_for += 1
    _skipping.depth = getattr(_skipping, "depth", 0) + 1
    try:
        yield
    finally:
        _skipping.depth -= 1
        with _patch_lock:
            _patched_for -= 1
            if _patched_for == 0:
                for name in _INIT_FUNCTIONS:
                    setattr(nn.init, name, getattr(nn.init, name).__wrapped__)


def _skippable(init: Any) -> Any:
    """``init`` that leaves the tensor as it is in a thread inside :func:`no_init_weights`."""

    def maybe(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return tensor if skipping_init() else init(tensor, *args, **kwargs)

    maybe.__wrapped__ = init
    return maybe


@dataclass
class LoadReport:
    """What did not match between a checkpoint and the model class it was loaded into."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    # (key, shape in the checkpoint, shape in the model) of tensors initialised afresh (ignore_mismatched_sizes)
    mismatched_keys: list[tuple[str, torch.Size, torch.Size]] = field(default_factory=list)
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
        if self.mismatched_keys:
            notes.append(
                f"{len(self.mismatched_keys)} weights have another shape in the checkpoint and were initialised "
                f"randomly: {_preview([key for key, _, _ in self.mismatched_keys])}."
            )
        if self.unexpected_keys:
            notes.append(
                f"{len(self.unexpected_keys)} weights in the checkpoint are not used by this model class: "
                f"{_preview(self.unexpected_keys)}."
            )
        return notes

    def loading_info(self) -> dict[str, Any]:
        """transformers' ``output_loading_info`` dict: sets of keys, and no error messages (errors raise)."""
        return {
            "missing_keys": set(self.missing_keys),
            "unexpected_keys": set(self.unexpected_keys),
            "mismatched_keys": set(self.mismatched_keys),
            "error_msgs": [],
        }

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


def _check_shapes(
    model: nn.Module, state: dict[str, torch.Tensor], folder: Path | str, ignore_mismatched: bool
) -> list[tuple[str, torch.Size, torch.Size]]:
    """(key, checkpoint shape, model shape) of every tensor whose shape differs; an error unless
    ``ignore_mismatched``, in which case they are dropped from ``state`` (and initialised as missing ones)."""
    expected = {k: v.shape for k, v in model.state_dict().items()}
    bad = sorted(
        (k, v.shape, expected[k]) for k, v in state.items() if k in expected and v.shape != expected[k]
    )
    if bad and not ignore_mismatched:
        raise CorruptCheckpointError(
            f"Weights in {folder} do not fit its config: "
            + _preview([f"{k} has shape {tuple(a)}, the config implies {tuple(b)}" for k, a, b in bad])
            + " (ignore_mismatched_sizes=True initialises them afresh)."
        )
    for key, _, _ in bad:
        del state[key]
    return bad


def _materialise_missing(model: PreTrainedModel, device: torch.device) -> None:
    """Give every tensor still on the meta device real storage and the model's own initialisation."""
    for module in model.modules():
        own = list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False))
        if not any(t.is_meta for _, t in own):
            continue
        # copies: to_empty refills the storage of a tensor shared with another module (a tied weight) in place
        loaded = {name: t.detach().clone() for name, t in own if not t.is_meta}
        module.to_empty(device=device, recurse=False)
        model._init_weights(module)
        with torch.no_grad():
            for name, tensor in loaded.items():
                getattr(module, name).copy_(tensor)


def load_model(
    cls: type[ModelT],
    name_or_path: str | os.PathLike | None,
    *,
    config: PretrainedConfig | None = None,
    state_dict: dict[str, torch.Tensor] | None = None,
    dtype: str | torch.dtype | None = torch.float32,
    torch_dtype: str | torch.dtype | None = None,
    device: str | int | torch.device | None = None,
    device_map: str | int | torch.device | dict[str, Any] | None = None,
    subfolder: str = "",
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    token: str | bool | None = None,
    ignore_mismatched_sizes: bool = False,
    output_loading_info: bool = False,
    **config_overrides: Any,
) -> ModelT | tuple[ModelT, dict[str, Any]]:
    """Build ``cls`` from a checkpoint without initialising weights twice (meta-device construction).

    The keyword arguments are transformers' ones: ``dtype`` (or its older name ``torch_dtype``; None or "auto"
    keeps the checkpoint's; float32 unless given here, the checkpoint's through ``from_pretrained``), ``device_map`` ("cpu", "auto", a device, or ``{"": device}``; ``device`` is our
    older name), ``state_dict`` (weights in place of the folder's; ``name_or_path`` may then be None with a
    ``config``), ``ignore_mismatched_sizes`` (tensors whose shape differs are initialised afresh, e.g. a classifier
    re-labelled with ``num_labels``), ``output_loading_info`` (also return transformers' dict of missing,
    unexpected and mismatched keys). Other keywords must be config attributes: they override config.json.
    Weights the checkpoint lacks are initialised as a fresh model would be; ``model.load_report`` lists them.
    """
    dtype = torch_dtype if torch_dtype is not None and dtype in (None, torch.float32) else dtype
    dtype = _one_of("dtype", dtype, "torch_dtype", torch_dtype)
    device = _one_of("device", device, "device_map", _map_device(device_map))
    folder: Path | None = None
    if name_or_path is not None:
        folder = resolve_model_dir(
            name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            subfolder=subfolder,
        )
    elif config is None or state_dict is None:
        raise ValueError("Without a checkpoint (name_or_path=None) pass both config= and state_dict=.")
    if config is None:
        config = cls.config_class.from_pretrained(folder)
        unknown = {k: v for k, v in config_overrides.items() if not hasattr(config, k)}
        if config_overrides and not unknown:
            config = cls.config_class.from_dict(config.to_dict(), **config_overrides)
    else:
        unknown = config_overrides  # transformers passes them to the model's constructor, which takes none
    if unknown:
        raise TypeError(
            f"{cls.__name__}.from_pretrained() got unexpected keyword arguments {_names(unknown)} (neither a "
            "loading option nor an attribute of the config)."
        )
    device = resolve_device(device) if device is not None else None
    target = as_dtype(dtype)
    if state_dict is not None:
        state = {k: _cast(v, target) for k, v in state_dict.items()}
    else:  # straight to the device, in the target dtype, a tensor at a time
        state = load_state_dict(folder, device=device or "cpu", dtype=target)
    with torch.device("meta"), no_init_weights():
        model = cls(config)
    expected = model.state_dict().keys()
    state = _align_prefix(state, expected, cls.base_model_prefix)
    mismatched = _check_shapes(model, state, folder or "the state dict", ignore_mismatched_sizes)
    model.load_state_dict(state, strict=False, assign=True)
    model.tie_weights()
    tied = _tied_keys(model)
    mismatched_keys = {key for key, _, _ in mismatched}
    report = LoadReport(
        missing_keys=sorted(
            k
            for k in expected
            if k not in state
            and tied.get(k) not in state
            and k not in mismatched_keys
            and tied.get(k) not in mismatched_keys
        ),
        unexpected_keys=sorted(k for k in state if k not in expected),
        mismatched_keys=mismatched,
        head_names=cls.head_names,
    )
    _materialise_missing(model, torch.device("cpu"))
    model.tie_weights()  # a re-initialised (mismatched) source: the head follows the new tensor
    if target is not None:
        model.to(target)
    if device is not None:
        model.to(device)
    model.eval()
    model.load_report = report
    model.name_or_path = os.fspath(name_or_path) if name_or_path is not None else ""
    return (model, report.loading_info()) if output_loading_info else model


def _one_of(name: str, value: Any, other_name: str, other: Any) -> Any:
    """The value of an argument that has two names; both given with different values is an error."""
    if value is not None and other is not None and value != other:
        raise ValueError(f"{name}={value!r} and {other_name}={other!r} disagree; give one of them.")
    return value if value is not None else other


def _map_device(device_map: str | int | torch.device | dict[str, Any] | None) -> torch.device | None:
    """The one device a ``device_map`` puts the whole model on ("auto": the first GPU if there is one, see
    :func:`~xlm.devices.resolve_device`)."""
    if isinstance(device_map, dict):
        if set(device_map) != {""}:
            raise ValueError(
                f"device_map={device_map!r}: splitting a model across devices is not supported; "
                'pass one device, "auto", or {"": device}.'
            )
        device_map = device_map[""]
    if device_map is None:
        return None
    return resolve_device(device_map)


def _cast(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    return tensor.to(dtype) if dtype is not None and tensor.is_floating_point() else tensor


def _names(kwargs: dict[str, Any]) -> str:
    return ", ".join(repr(k) for k in kwargs)


def _tied_keys(model: nn.Module) -> dict[str, str]:
    """Each name under which a parameter appears a second time (a tied weight) -> its first name."""
    first: dict[int, str] = {}
    tied = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        if id(param) in first:
            tied[name] = first[id(param)]
        else:
            first[id(param)] = name
    return tied


def save_model(model: PreTrainedModel, folder: str | os.PathLike) -> Path:
    """Write ``config.json`` and ``model.safetensors`` (tied weights stored once, as transformers does)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.architectures = [type(model).__name__]
    model.config.dtype = str(model.dtype).removeprefix("torch.")  # the dtype transformers loads it in
    model.config.save_pretrained(folder)
    tied = _tied_keys(model)
    state = {k: v for k, v in model.state_dict().items() if k not in tied}
    save_state_dict(state, folder)
    return folder
