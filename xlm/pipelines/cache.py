"""One loaded model per (checkpoint, head class, device, dtype), shared by every task and thread.

Models load lazily on first use. Concurrent first calls for the same key wait for a single load. When the loaded
models together exceed a memory budget, the least recently used ones are dropped.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import torch

from ..configuration_utils import PretrainedConfig
from ..devices import DeviceLike, resolve_device
from ..files import resolve_model_dir
from ..loading import LoadReport
from ..modeling_utils import PreTrainedModel
from ..registry import architecture, family_of, read_config
from ..tokenization_utils import PreTrainedTokenizer
from .kernels import use_onednn_linears
from .memory import release_freed_memory
from .precision import answers_agree, model_bytes, pick_precision, probe, reduce_precision

BUDGET_ENV = "XLM_CACHE_BUDGET_MB"
GPU_BUDGET_ENV = "XLM_GPU_BUDGET_MB"


@dataclass
class LoadedModel:
    """A model ready for inference, with its tokenizer and what loading it reported."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizer
    folder: Path
    device: torch.device
    precision: str  # float32, bfloat16, float16 or int8
    report: LoadReport
    nbytes: int
    notes: list[str] = field(default_factory=list)


def _default_budget() -> int:
    if os.environ.get(BUDGET_ENV):
        return int(float(os.environ[BUDGET_ENV]) * 2**20)
    return int(psutil.virtual_memory().total * 0.5)


def _gpu_budget(device: torch.device) -> int:
    """Bytes of weights a GPU may hold: ``$XLM_GPU_BUDGET_MB``, else 80% of its memory (the rest for
    activations and the key/value cache)."""
    if os.environ.get(GPU_BUDGET_ENV):
        return int(float(os.environ[GPU_BUDGET_ENV]) * 2**20)
    return int(torch.cuda.mem_get_info(device)[1] * 0.8)


def _memory_of(device: torch.device) -> torch.device:
    """The memory a device's tensors live in: each GPU its own, everything else the machine's."""
    return device if device.type == "cuda" else torch.device("cpu")


class ModelCache:
    """A thread-safe LRU of loaded models under byte budgets: one for the machine's memory (default: half of it)
    and one for each GPU (default: 80% of its memory); a model counts against the memory of its device."""

    def __init__(self, budget_bytes: int | None = None, gpu_budget_bytes: int | None = None) -> None:
        self.budget_bytes = budget_bytes if budget_bytes is not None else _default_budget()
        self.gpu_budget_bytes = gpu_budget_bytes
        self._entries: OrderedDict[tuple, LoadedModel] = OrderedDict()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was actually read from disk

    def budget_for(self, device: torch.device) -> int:
        """The byte budget of the memory ``device``'s models live in."""
        if device.type != "cuda":
            return self.budget_bytes
        return self.gpu_budget_bytes if self.gpu_budget_bytes is not None else _gpu_budget(device)

    def get(
        self,
        model: str | os.PathLike,
        cls: str | type[PreTrainedModel] | None = None,
        device: DeviceLike = "auto",
        dtype: str | torch.dtype | None = None,
        revision: str | None = None,
        config: PretrainedConfig | None = None,
        differentiable: bool = False,
    ) -> LoadedModel:
        """Return the loaded model for this key, loading it once if needed. ``cls``: a class, an architecture
        name of the checkpoint's family, or None for the checkpoint's own; ``config``: the checkpoint's config
        when the caller has read it already; ``differentiable``: a copy gradients can flow through (plain torch
        layers in a float dtype: no int8, no oneDNN kernels, "auto" means float32), a cache entry of its own. A ``Path`` is taken as a local folder resolved before (pipelines
        pass theirs), so a Hub id is resolved once, where the pipeline is made."""
        folder = model if isinstance(model, Path) else resolve_model_dir(model, revision=revision)
        config = config if config is not None else read_config(folder)
        klass = cls if isinstance(cls, type) else architecture(config, cls)
        dev = resolve_device(device)
        if differentiable and (dtype == "auto" or pick_precision(dtype, dev) == "int8"):
            dtype = None
        key = (str(folder.resolve()), klass.__name__, str(dev), str(dtype), differentiable)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one loader per key; the others wait here and then find the entry
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key]
            entry = self._load(folder, config, klass, dev, dtype, differentiable)
            with self._lock:
                self._entries[key] = entry
                self._evict(keep=key)
                self.loads += 1
            return entry

    def _load(
        self,
        folder: Path,
        config: PretrainedConfig,
        cls: type[PreTrainedModel],
        device: torch.device,
        dtype: Any,
        differentiable: bool,
    ) -> LoadedModel:
        # Loads happen lazily, often inside a pipeline call's inference mode: build normal (not inference) tensors,
        # so that the model also works where a caller runs it outside inference mode.
        with torch.inference_mode(False):
            return self._load_model(folder, config, cls, device, dtype, differentiable)

    def _load_model(
        self,
        folder: Path,
        config: PretrainedConfig,
        cls: type[PreTrainedModel],
        device: torch.device,
        dtype: Any,
        differentiable: bool,
    ) -> LoadedModel:
        precision = pick_precision(dtype, device)
        # a float dtype asked for by name is read straight in it; "auto" and int8 start from float32
        direct = precision in ("float16", "bfloat16") and dtype != "auto"
        model = cls.from_pretrained(
            folder, config=config, dtype=precision if direct else torch.float32, device=device
        )
        tokenizer = family_of(config).tokenizer_class.from_pretrained(folder)
        notes = []
        if precision != "float32":
            reference = probe(model, tokenizer.mask_token_id) if dtype == "auto" else None
            reduce_precision(model, precision)
            if reference is not None and not answers_agree(
                reference[0], probe(model, tokenizer.mask_token_id)[0], k=reference[1]
            ):
                notes.append(
                    f"{precision} changed the model's answers on a probe input; using float32 instead."
                )
                precision = "float32"
                del model  # free the reduced copy before reading the weights again
                release_freed_memory()
                model = cls.from_pretrained(folder, config=config, dtype=torch.float32, device=device)
        model.eval().requires_grad_(False)  # inference only: no autograd bookkeeping
        if not differentiable:  # oneDNN kernels have no backward
            use_onednn_linears(model)  # the fp32 linear layers left: a faster kernel, where there is one
        return LoadedModel(
            model, tokenizer, folder, device, precision, model.load_report, model_bytes(model), notes
        )

    def _evict(self, keep: tuple) -> None:
        evicted = False
        for device in {_memory_of(e.device) for e in self._entries.values()}:
            budget = self.budget_for(device)
            while True:
                here = [k for k, e in self._entries.items() if _memory_of(e.device) == device]
                if sum(self._entries[k].nbytes for k in here) <= budget or len(here) <= 1:
                    break
                del self._entries[next(k for k in here if k != keep)]
                evicted = True
        if evicted:
            release_freed_memory()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        release_freed_memory()

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[tuple]:
        with self._lock:
            return list(self._entries)


_DEFAULT_CACHE: ModelCache | None = None
_DEFAULT_LOCK = threading.Lock()


def default_cache() -> ModelCache:
    """The process-wide cache every pipeline uses unless given another."""
    global _DEFAULT_CACHE
    with _DEFAULT_LOCK:
        if _DEFAULT_CACHE is None:
            _DEFAULT_CACHE = ModelCache()
        return _DEFAULT_CACHE
