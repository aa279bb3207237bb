"""Weights of a checkpoint folder: safetensors first, a pickled ``.bin`` only with ``torch.load(weights_only=True)``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from .errors import CorruptCheckpointError
from .files import PICKLE_WEIGHTS, SAFE_WEIGHTS, weight_files


def load_state_dict(
    folder: Path, device: torch.device | str = "cpu", dtype: torch.dtype | None = None
) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint folder on ``device``; floating-point ones in ``dtype`` (None: as saved).

    Tensors go one at a time from the file to the device, converted on the way: a GPU load never holds a
    full copy of the weights in CPU memory, and a float16 load of a float32 checkpoint never holds the float32
    copy."""
    files = weight_files(Path(folder))
    if not files:
        raise CorruptCheckpointError(f"No weights in {folder}: expected {SAFE_WEIGHTS} or {PICKLE_WEIGHTS}.")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        for key, tensor in _read_file(file):
            cast = dtype if dtype is not None and tensor.is_floating_point() else None
            state[key] = tensor.to(device=device, dtype=cast)
    return state


def _read_file(file: Path) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, CPU tensor) pairs of one weight file, read lazily where the format allows it."""
    if file.suffix != ".safetensors":
        yield from _load_pickle(file).items()  # memory-mapped
        return
    from safetensors import safe_open

    _require(file)
    try:
        with safe_open(file, framework="pt", device="cpu") as reader:
            keys = list(reader.keys())
            for key in keys:
                yield key, reader.get_tensor(key)
    except Exception as err:  # every parser failure means the same thing to a user
        raise CorruptCheckpointError(f"Cannot read weights from {file}: {type(err).__name__}: {err}") from err


def _require(file: Path) -> None:
    if not file.is_file():
        raise CorruptCheckpointError(
            f"Weight shard {file.name} listed in the index is missing from {file.parent}."
        )


def _load_pickle(file: Path) -> dict[str, torch.Tensor]:
    """A pickled state dict, memory-mapped, with ``weights_only=True`` (no code runs)."""
    _require(file)
    try:
        state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # every parser failure means the same thing to a user
        raise CorruptCheckpointError(f"Cannot read weights from {file}: {type(err).__name__}: {err}") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CorruptCheckpointError(f"{file} does not hold a state dict of tensors.")
    return state


def tensor_shapes(folder: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name → (shape, dtype) of every tensor of a checkpoint, read from the safetensors headers (no weights are
    loaded); a pickled checkpoint is memory-mapped."""
    files = weight_files(Path(folder))
    if not files:
        raise CorruptCheckpointError(f"No weights in {folder}: expected {SAFE_WEIGHTS} or {PICKLE_WEIGHTS}.")
    shapes: dict[str, tuple[tuple[int, ...], str]] = {}
    for file in files:
        if file.suffix != ".safetensors":
            shapes.update(
                {
                    k: (tuple(v.shape), str(v.dtype).removeprefix("torch."))
                    for k, v in _load_pickle(file).items()
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
