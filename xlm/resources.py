"""Whether the machine can hold a checkpoint, decided before anything is allocated.

Sizes come from config.json (the parameters its shape implies) and from the weights' headers (the parameters the
files hold: safetensors headers are read, no tensor is). A config whose shape is absurd, that does not belong to its
weights, or that needs more memory than is free or than the app's byte budget allows is refused with a message; no
module is built. Importing this module imports no torch; the registry (and with it the model classes) is imported only
when config.json leaves a dimension out and the family's default is needed.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from .errors import CorruptCheckpointError, InvalidConfigError, XLMError
from .files import weight_files
from .registry import family

BYTES_PER_PARAMETER = 4  # models are built in float32
MARGIN = 0.25  # activations, the tokenizer and the runtime, on top of the weights
MAX_HEADER_BYTES = 100 * 2**20  # a safetensors header larger than this is not a checkpoint's
# A config may imply more parameters than its weights hold (a head initialised afresh), but not this many more.
MISMATCH_FACTOR = 2.0
MISMATCH_SLACK = 50_000_000
# Shapes beyond these are refused outright (building that many modules takes long before memory runs out).
BOUNDS = {"layers": 512, "hidden": 65_536, "heads": 1024, "vocab": 10_000_000, "positions": 1_048_576}
_DTYPE_BYTES = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2}
_DTYPE_BYTES |= {"U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
# The names each family's config.json uses for a dimension, first found wins (XLM's, then XLM-R's).
_FIELDS = {
    "layers": ("n_layers", "num_hidden_layers"),
    "hidden": ("emb_dim", "hidden_size", "dim"),
    "heads": ("n_heads", "num_attention_heads"),
    "vocab": ("vocab_size", "n_words"),
    "positions": ("max_position_embeddings",),
    "ffn": ("intermediate_size",),
    "langs": ("n_langs",),
    "types": ("type_vocab_size",),
}


class ModelTooLargeError(XLMError, MemoryError):
    """A checkpoint the machine (or the app's budget) cannot hold."""


@dataclass(frozen=True)
class Footprint:
    """What a checkpoint implies: parameters by its config, parameters and bytes in its weight files."""

    config_parameters: int
    weight_parameters: int
    weight_bytes: int

    @property
    def needed_bytes(self) -> int:
        """Memory to load it in float32, with the margin."""
        return int(max(self.config_parameters, self.weight_parameters) * BYTES_PER_PARAMETER * (1 + MARGIN))


def _family_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The defaults of the config's family (what a field left out of config.json becomes); none for a model type
    this library does not know (the loader refuses it with its own message)."""
    try:
        return family(str(config.get("model_type", ""))).config_class().to_dict()
    except XLMError:
        return {}


def _dimension(config: dict[str, Any], what: str, default: int | None = None) -> int:
    """A dimension as config.json gives it under any of its names, else as the family's default."""
    found = next((key for key in _FIELDS[what] if config.get(key) is not None), None)
    if found is None:
        config = _family_defaults(config)
    for key in _FIELDS[what]:
        if key in config and config[key] is not None:
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidConfigError(f"config.json: {key} must be a whole number ≥ 0, not {value!r:.40}.")
            if what in BOUNDS and value > BOUNDS[what]:
                raise InvalidConfigError(
                    f"config.json: {key} = {value:,} is beyond what this app loads (at most {BOUNDS[what]:,})."
                )
            return value
    if default is None:
        raise InvalidConfigError(f"config.json has no {' or '.join(_FIELDS[what])}.")
    return default


def config_parameters(config: dict[str, Any]) -> int:
    """The parameters a config's shape implies (embeddings and the transformer layers; biases and norms are left
    out, so this is a slight underestimate)."""
    hidden = _dimension(config, "hidden")
    layers = _dimension(config, "layers")
    _dimension(config, "heads", 1)
    ffn = _dimension(config, "ffn", 4 * hidden)
    rows = sum(_dimension(config, what, 0) for what in ("vocab", "positions", "langs", "types"))
    return rows * hidden + layers * (4 * hidden * hidden + 2 * hidden * ffn)


def safetensors_header(file: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, checked against the file's size (no tensor is read)."""
    size = file.stat().st_size
    with file.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CorruptCheckpointError(f"{file.name} is too short to be a safetensors file.")
        (length,) = struct.unpack("<Q", head)
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise CorruptCheckpointError(
                f"{file.name} has a header larger than the file: it is not safetensors."
            )
        try:
            header = json.loads(f.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CorruptCheckpointError(f"{file.name} has a header that is not JSON.") from err
    if not isinstance(header, dict):
        raise CorruptCheckpointError(f"{file.name} has a header that is not a JSON object.")
    data = size - 8 - length
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end = entry["data_offsets"]
            count = math.prod(entry["shape"])
            nbytes = count * _DTYPE_BYTES[entry["dtype"]]
        except (KeyError, TypeError, ValueError) as err:
            raise CorruptCheckpointError(f"{file.name}: the entry of {name:.60} is malformed.") from err
        if not 0 <= begin <= end <= data or end - begin != nbytes:
            raise CorruptCheckpointError(
                f"{file.name}: {name:.60} lies outside the file or has the wrong size."
            )
    return header


def weight_footprint(folder: Path) -> tuple[int, int]:
    """(parameters, bytes) in a checkpoint's weight files: from safetensors headers; a pickle counts its file size
    as float32 parameters (it is not opened here)."""
    files = weight_files(folder)
    if not files:
        raise CorruptCheckpointError(
            "The checkpoint has no weights (model.safetensors or pytorch_model.bin)."
        )
    parameters = nbytes = 0
    for file in files:
        if not file.is_file():
            raise CorruptCheckpointError(f"A weight shard is missing: {file.name}.")
        if file.suffix != ".safetensors":
            size = file.stat().st_size
            parameters, nbytes = parameters + size // BYTES_PER_PARAMETER, nbytes + size
            continue
        for name, entry in safetensors_header(file).items():
            if name != "__metadata__":
                count = math.prod(entry["shape"])
                parameters += count
                nbytes += count * _DTYPE_BYTES[entry["dtype"]]
    return parameters, nbytes


def footprint(folder: str | Path) -> Footprint:
    """A checkpoint folder's :class:`Footprint` (config.json and weight headers only)."""
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except OSError as err:  # missing, or the "folder" is a file: the same words either way
        raise CorruptCheckpointError("The checkpoint has no config.json.") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptCheckpointError("The checkpoint's config.json is not valid JSON.") from err
    if not isinstance(config, dict):
        raise CorruptCheckpointError("The checkpoint's config.json does not hold a JSON object.")
    return Footprint(config_parameters(config), *weight_footprint(folder))


def gigabytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def check(
    folder: str | Path, budget_bytes: int | None = None, available_bytes: int | None = None
) -> Footprint:
    """Refuse a checkpoint before it is built: an absurd shape, a config that does not belong to its weights, or
    more memory than is available (default: free memory now) or than ``budget_bytes`` allows."""
    found = footprint(folder)
    if found.config_parameters > MISMATCH_FACTOR * found.weight_parameters + MISMATCH_SLACK:
        raise CorruptCheckpointError(
            f"config.json describes a model of about {found.config_parameters:,} parameters but the weights hold "
            f"{found.weight_parameters:,}: the config does not belong to these weights."
        )
    available = psutil.virtual_memory().available if available_bytes is None else available_bytes
    limit, what = (available, "available on this machine")
    if budget_bytes is not None and budget_bytes < available:
        limit, what = (budget_bytes, "the app's model budget")
    if found.needed_bytes > limit:
        raise ModelTooLargeError(
            f"This model needs about {gigabytes(found.needed_bytes)} of memory (float32 weights plus "
            f"{MARGIN:.0%}), more than the {gigabytes(limit)} {what}: pick a smaller model."
        )
    return found
