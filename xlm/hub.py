"""Finding, loading and saving Hub-format checkpoints (config.json, model.safetensors / pytorch_model.bin).

A checkpoint is a local folder or a Hub repo id. Hub repos go through ``huggingface_hub.snapshot_download``, so the
standard cache, ``HF_HUB_OFFLINE``, ``HF_HOME`` and revisions all behave as users of ``transformers`` expect.
Weights: safetensors first; a pickled ``.bin`` only with ``torch.load(weights_only=True)``; no remote code, ever.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import nn

from .errors import CorruptCheckpointError, ModelNotFoundError

if TYPE_CHECKING:
    from .modeling import XLMPreTrainedModel

    ModelT = TypeVar("ModelT", bound=XLMPreTrainedModel)

SAFE_WEIGHTS = "model.safetensors"
SAFE_INDEX = "model.safetensors.index.json"
PICKLE_WEIGHTS = "pytorch_model.bin"
PICKLE_INDEX = "pytorch_model.bin.index.json"
# Files worth fetching from a Hub repo: configs, tokenizer files, model card, safetensors weights.
HUB_PATTERNS = ["*.json", "*.txt", "*.md", "*.safetensors"]

# Parameter-name prefixes of each head, and how to name the head to a person.
HEAD_NAMES = {
    "pred_layer": "language-modelling head (pred_layer)",
    "sequence_summary": "sequence-summary head (sequence_summary)",
    "logits_proj": "multiple-choice projection (logits_proj)",
    "qa_outputs": "question-answering head (qa_outputs)",
    "classifier": "token-classification head (classifier)",
}


_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def is_hub_id(name: str) -> bool:
    """True for strings shaped like ``org/name`` or ``name`` (no path separators beyond one slash)."""
    return bool(_HUB_ID.match(name)) and not name.startswith((".", "~"))


def resolve_model_dir(
    name_or_path: str | os.PathLike,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    weights: bool = True,
) -> Path:
    """Return the local folder of a checkpoint: the folder itself, or a Hub snapshot (downloaded or cached).

    ``local_files_only=None`` follows ``HF_HUB_OFFLINE``. ``weights=False`` (tokenizer, config) never fetches a
    pickled ``pytorch_model.bin`` for repos without safetensors. Raises :class:`ModelNotFoundError` with a message that
    says what was tried.
    """
    name = os.fspath(name_or_path)
    if not name.strip():
        raise ModelNotFoundError(
            "No model given: pass a local folder or a Hub id such as FacebookAI/xlm-mlm-en-2048."
        )
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelNotFoundError(
            f"{name} is a file; a model is a folder holding config.json and its weights."
        )
    if not is_hub_id(name):
        raise ModelNotFoundError(f"No such model folder: {name}")
    return _snapshot(name, revision, cache_dir, local_files_only, weights)


def _snapshot(
    repo_id: str, revision: str | None, cache_dir: Any, local_files_only: bool | None, weights: bool
) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    offline = local_files_only if local_files_only is not None else _env_flag("HF_HUB_OFFLINE")
    try:
        folder = Path(
            snapshot_download(
                repo_id,
                revision=revision,
                cache_dir=cache_dir,
                local_files_only=offline,
                allow_patterns=HUB_PATTERNS,
            )
        )
        if weights and not offline and not _weight_files(folder):
            # Old repos ship only pickled weights: fetch them, to be read with weights_only=True.
            folder = Path(
                snapshot_download(
                    repo_id,
                    revision=revision,
                    cache_dir=cache_dir,
                    allow_patterns=[PICKLE_WEIGHTS, PICKLE_INDEX],
                )
            )
    except HFValidationError as err:
        raise ModelNotFoundError(
            f"{repo_id!r} is neither a local folder nor a valid Hub id ({err})."
        ) from err
    except RevisionNotFoundError as err:
        raise ModelNotFoundError(f"Hub repo {repo_id} has no revision {revision!r}.") from err
    except GatedRepoError as err:
        raise ModelNotFoundError(
            f"Hub repo {repo_id} is gated: log in with a token that has access."
        ) from err
    except RepositoryNotFoundError as err:
        raise ModelNotFoundError(
            f"No model {repo_id!r} on the Hub (and no local folder of that name)."
        ) from err
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as err:
        raise ModelNotFoundError(
            f"Model {repo_id!r} is not in the local Hub cache and the Hub cannot be reached "
            f"(offline mode or no network). Download it once online, or pass a local folder."
        ) from err
    except OSError as err:  # network failures surface as OSError subclasses
        raise ModelNotFoundError(f"Could not download {repo_id!r} from the Hub: {err}") from err
    return folder


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object, raising :class:`CorruptCheckpointError` with the file name when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ModelNotFoundError(f"{Path(path).name} not found in {Path(path).parent}") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptCheckpointError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise CorruptCheckpointError(f"{path} should hold a JSON object, found {type(data).__name__}.")
    return data


def _weight_files(folder: Path) -> list[Path]:
    """The weight files of a checkpoint folder, preferring safetensors, following shard indexes."""
    for single, index in ((SAFE_WEIGHTS, SAFE_INDEX), (PICKLE_WEIGHTS, PICKLE_INDEX)):
        if (folder / single).is_file():
            return [folder / single]
        if (folder / index).is_file():
            shards = sorted(set(read_json(folder / index).get("weight_map", {}).values()))
            return [folder / shard for shard in shards]
    return []


def load_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint folder, on the CPU, in the dtype they were saved in."""
    files = _weight_files(Path(folder))
    if not files:
        raise CorruptCheckpointError(f"No weights in {folder}: expected {SAFE_WEIGHTS} or {PICKLE_WEIGHTS}.")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update(_load_file(file))
    return state


def _load_file(file: Path) -> dict[str, torch.Tensor]:
    if not file.is_file():
        raise CorruptCheckpointError(
            f"Weight shard {file.name} listed in the index is missing from {file.parent}."
        )
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(file, device="cpu")
        state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # every parser failure means the same thing to a user
        raise CorruptCheckpointError(f"Cannot read weights from {file}: {type(err).__name__}: {err}") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CorruptCheckpointError(f"{file} does not hold a state dict of tensors.")
    return state


def tensor_shapes(folder: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name → (shape, dtype) of every tensor of a checkpoint, read from the safetensors headers (no weights are
    loaded); a pickled checkpoint is memory-mapped."""
    files = _weight_files(Path(folder))
    if not files:
        raise CorruptCheckpointError(f"No weights in {folder}: expected {SAFE_WEIGHTS} or {PICKLE_WEIGHTS}.")
    shapes: dict[str, tuple[tuple[int, ...], str]] = {}
    for file in files:
        if file.suffix != ".safetensors":
            shapes.update(
                {
                    k: (tuple(v.shape), str(v.dtype).removeprefix("torch."))
                    for k, v in _load_file(file).items()
                }
            )
            continue
        from safetensors import safe_open

        try:
            with safe_open(file, framework="pt") as reader:
                for key in reader.keys():  # noqa: SIM118 - safe_open objects are not iterable
                    tensor = reader.get_slice(key)
                    shapes[key] = (
                        tuple(tensor.get_shape()),
                        _SAFE_DTYPES.get(tensor.get_dtype(), tensor.get_dtype()),
                    )
        except Exception as err:  # a header that does not parse
            raise CorruptCheckpointError(
                f"Cannot read weights from {file}: {type(err).__name__}: {err}"
            ) from err
    return shapes


_SAFE_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64", "I32": "int32"}


def save_state_dict(state_dict: dict[str, torch.Tensor], folder: Path) -> Path:
    """Write ``model.safetensors`` (contiguous tensors, ``format=pt`` metadata as transformers expects)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SAFE_WEIGHTS
    save_file({k: v.detach().contiguous() for k, v in state_dict.items()}, path, metadata={"format": "pt"})
    return path


@dataclass
class LoadReport:
    """What did not match between a checkpoint and the model class it was loaded into."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)

    @property
    def untrained_heads(self) -> list[str]:
        """Heads whose weights were missing from the checkpoint, hence randomly initialised."""
        prefixes = {key.split(".", 1)[0] for key in self.missing_keys}
        return [name for prefix, name in HEAD_NAMES.items() if prefix in prefixes]

    @property
    def warnings(self) -> list[str]:
        """Sentences for a person: what is untrained, what was ignored."""
        notes = [
            f"The {head} is not in the checkpoint: it is randomly initialised (not trained)."
            for head in self.untrained_heads
        ]
        body = [k for k in self.missing_keys if k.split(".", 1)[0] not in HEAD_NAMES]
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


def _materialise_missing(model: XLMPreTrainedModel, device: torch.device) -> None:
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


_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def as_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    """Accept a torch dtype or its common names ("float32", "fp16", "bf16", ...); ``None``/"auto" stay None."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return None
    try:
        return _DTYPES[str(dtype).lower().removeprefix("torch.")]
    except KeyError:
        raise ValueError(
            f"Unknown dtype {dtype!r}: use one of {', '.join(sorted(_DTYPES))} or 'auto'."
        ) from None


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


def save_model(model: XLMPreTrainedModel, folder: str | os.PathLike) -> Path:
    """Write ``config.json`` and ``model.safetensors`` (tied weights stored once, as transformers does)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.architectures = [type(model).__name__]
    model.config.save_pretrained(folder)
    tied = _tied_keys(model)
    state = {k: v for k, v in model.state_dict().items() if k not in tied}
    save_state_dict(state, folder)
    return folder
