"""Handing memory back to the operating system (Linux with glibc; elsewhere these do nothing).

A process keeps freed heap pages, and pages of a memory-mapped checkpoint stay resident while any tensor of the file
lives, so without these a dropped or converted model would still count in the process's memory.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import mmap
import sys

import torch

_MADV_DONTNEED = 4


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None)  # the C library this process already uses
    if not (hasattr(libc, "madvise") and hasattr(libc, "malloc_trim")):  # not glibc (musl)
        return None
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


def release_freed_memory() -> None:
    """Collect garbage and hand freed heap pages back."""
    gc.collect()
    if (libc := _libc()) is not None:
        libc.malloc_trim(0)


def release_pages(tensor: torch.Tensor) -> None:
    """Hand back the pages lying wholly inside a CPU ``tensor`` that will not be read again (its neighbours'
    pages are left alone)."""
    libc = _libc()
    if libc is None or tensor.device.type != "cpu":
        return
    start = tensor.data_ptr()
    end = start + tensor.numel() * tensor.element_size()
    first, last = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE, end // mmap.PAGESIZE * mmap.PAGESIZE
    if last > first:
        libc.madvise(first, last - first, _MADV_DONTNEED)
