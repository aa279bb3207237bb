"""Devices as transformers users write them: ``0``, ``"cuda:1"``, ``"cuda"``, ``-1``, ``"cpu"``, ``"mps"``,
``"auto"``, ``"0"`` (the CLI's ``--device 0``) or a ``torch.device``.

A device this machine lacks is refused with one line naming the devices it has: never a traceback from deep
inside torch, and never a silent fallback to another device.
"""

from __future__ import annotations

import torch

from .errors import XLMError

DeviceLike = str | int | torch.device | None


class DeviceUnavailableError(XLMError, ValueError):
    """A device that this machine does not have, or a device name that means nothing."""


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def available_devices() -> list[str]:
    """The devices a model can run on here, by the names ``resolve_device`` accepts."""
    devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        devices.append("mps")
    return [*devices, "cpu"]


def _parse(device: DeviceLike) -> torch.device | None:
    """The device asked for, not yet checked; None for "auto"."""
    if device is None or device == "auto":
        return None
    if isinstance(device, torch.device):
        return device
    if isinstance(device, bool) or not isinstance(device, int | str):
        raise DeviceUnavailableError(
            f"device={device!r}: give an index, a name such as 'cpu' or 'cuda:0', or 'auto'."
        )
    text = str(device).strip().lower()
    if text.lstrip("-").isdigit():  # transformers' integer convention: -1 is the CPU, n >= 0 the n-th GPU
        index = int(text)
        if index < -1:
            raise DeviceUnavailableError(
                f"device={device!r}: an index is -1 (the CPU) or a GPU number from 0."
            )
        return torch.device("cpu") if index == -1 else torch.device("cuda", index)
    try:
        return torch.device(text)
    except RuntimeError:
        raise DeviceUnavailableError(
            f"device={device!r} is not a device name; this machine has: {', '.join(available_devices())} "
            "(or 'auto')."
        ) from None


def _check(device: torch.device, asked: DeviceLike) -> torch.device:
    """``device`` if this machine has it; else a DeviceUnavailableError naming what it has."""
    if device.type == "cpu":
        return torch.device("cpu")
    have = ", ".join(available_devices())
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceUnavailableError(
                f"device={asked!r} asks for a CUDA GPU, but this machine has none (it has: {have})."
            )
        if device.index is not None and device.index >= count:
            raise DeviceUnavailableError(
                f"device={asked!r} asks for CUDA GPU {device.index}, but this machine has: {have}."
            )
        return device
    if device.type == "mps" and _mps_available():
        return device
    raise DeviceUnavailableError(f"device={asked!r} is not available on this machine (it has: {have}).")


def resolve_device(device: DeviceLike = "auto") -> torch.device:
    """The device to run on: ``"auto"`` (or None) is the first CUDA GPU, else Apple's MPS, else the CPU; anything
    else must exist on this machine (see the module's docstring for the accepted spellings). A GPU always comes
    back with its index (``"cuda"`` is the current one), so that one device has one name."""
    parsed = _parse(device)
    if parsed is None:
        parsed = torch.device(available_devices()[0])
    device = _check(parsed, device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device
