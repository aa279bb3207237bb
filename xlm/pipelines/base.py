"""What every task pipeline shares: lazy model access through the cache, input checks, encoding with languages."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from ..devices import DeviceLike, resolve_device
from ..errors import InputError, UnknownLanguageError
from ..files import resolve_model_dir
from ..registry import architecture, family_of, read_config
from .cache import LoadedModel, ModelCache, default_cache

MAX_CHARS = 20_000  # longest text a pipeline accepts: bounds the work one request can cause
MAX_BATCH = 256  # most inputs in one call


class Pipeline:
    """Base class: holds *where* the model is; the cache holds the model itself (loaded on first use)."""

    task: str = ""
    role: str | None = (
        None  # what the model must do (a registry role); None: the checkpoint's own architecture
    )
    differentiable: bool = False  # whether it takes gradients through the model (a cache entry of its own)

    def __init__(
        self,
        model: str | os.PathLike,
        *,
        device: DeviceLike = "auto",
        dtype: str | torch.dtype | None = None,
        revision: str | None = None,
        cache: ModelCache | None = None,
        batch_size: int = 8,
    ) -> None:
        self.folder = resolve_model_dir(model, revision=revision)  # fail early on a bad path or id
        self.config = read_config(self.folder)  # once, not per call
        self.family = family_of(self.config)
        self.head_class = self.family.head(self.role, self.config) if self.role else architecture(self.config)
        self.model_name = os.fspath(model)
        self.device, self.dtype = resolve_device(device), dtype  # a device this machine lacks: refused here
        self.cache = cache if cache is not None else default_cache()
        self.batch_size = max(1, int(batch_size))

    # -- model access -------------------------------------------------------------------------------------------
    @property
    def loaded(self) -> LoadedModel:
        return self.cache.get(
            self.folder,
            self.head_class,
            device=self.device,
            dtype=self.dtype,
            config=self.config,
            differentiable=self.differentiable,
        )

    @property
    def model(self):
        return self.loaded.model

    @property
    def tokenizer(self):
        return self.loaded.tokenizer

    @property
    def encoder(self):
        """The base model (the encoder), whatever head the checkpoint has."""
        return self.model.base_model

    @property
    def max_tokens(self) -> int:
        return int(self.config.max_tokens)

    # -- calling ------------------------------------------------------------------------------------------------
    def __call__(self, inputs: Any, **kwargs: Any) -> Any:
        """One input gives one result; a list gives a list of results, in order."""
        single = not isinstance(inputs, list | tuple)
        items = [inputs] if single else list(inputs)
        if not items:
            raise InputError("No input given.")
        if len(items) > MAX_BATCH:
            raise InputError(f"Too many inputs in one call ({len(items)}); the limit is {MAX_BATCH}.")
        results: list[Any] = []
        with torch.inference_mode():
            for chunk in _chunks(items, self.batch_size):
                results.extend(self.run(chunk, **kwargs))
        return results[0] if single else results

    def run(self, items: list[Any], **kwargs: Any) -> list[Any]:
        """Answer a batch of inputs (already checked to be a non-empty list)."""
        raise NotImplementedError

    # -- helpers for subclasses ---------------------------------------------------------------------------------
    def lang_id(self, lang: str | None) -> int | None:
        """The language id of ``lang`` for the model's language embeddings (None: no language given, or a family
        without language embeddings, which accepts ``lang`` with a warning and ignores it)."""
        if lang is None:
            return None
        if not self.family.language_embeddings:
            warnings.warn(
                f"{self.family.name} models have no language embeddings and one tokenizer for every language: "
                f"lang={lang!r} is accepted and ignored.",
                UserWarning,
                stacklevel=3,
            )
            return None
        lang2id = self.tokenizer.lang2id or {}
        if lang not in lang2id:
            known = ", ".join(sorted(lang2id)) or "none (a monolingual model: leave the language empty)"
            raise UnknownLanguageError(f"Unknown language {lang!r} for this model; it knows: {known}.")
        return lang2id[lang]

    def uses_langs(self) -> bool:
        return self.config.uses_language_embeddings

    def check_text(self, text: Any, what: str = "text") -> str:
        if not isinstance(text, str):
            raise InputError(f"The {what} must be a string, got {type(text).__name__}.")
        if not text.strip():
            raise InputError(f"The {what} is empty.")
        if len(text) > MAX_CHARS:
            raise InputError(f"The {what} is too long ({len(text)} characters; the limit is {MAX_CHARS}).")
        return text

    def check_length(self, n_tokens: int) -> None:
        if n_tokens > self.max_tokens:
            raise InputError(
                f"Text too long: {n_tokens} tokens, the model reads at most {self.max_tokens}. Shorten it."
            )

    def encode(
        self,
        texts: Sequence[str],
        lang: str | None = None,
        pairs: Sequence[str] | None = None,
        pair_lang: str | None = None,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Tokenise with padding, check lengths, add ``langs`` (per side for pairs), move to the model's device."""
        self.lang_id(lang), self.lang_id(pair_lang)  # unknown languages: our message, listing the known ones
        enc = self.tokenizer(
            list(texts),
            text_pair=list(pairs) if pairs is not None else None,
            lang=lang,
            pair_lang=(pair_lang or lang) if pairs is not None else None,
            padding=True,
            return_tensors="pt",
            **kwargs,
        )
        self.check_length(enc["input_ids"].shape[1])
        batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        if lang is not None and self.uses_langs():
            batch["langs"] = enc["langs"]
        batch = {k: v.to(self.loaded.device) for k, v in batch.items()}
        if "offset_mapping" in enc:
            batch["offset_mapping"] = torch.as_tensor(enc["offset_mapping"])
        return batch

    def encode_tlm(
        self, text: str, lang: str | None, pair: str, pair_lang: str | None
    ) -> tuple[dict[str, torch.Tensor], int]:
        """A sentence and its translation read together. Families trained on pairs (XLM's TLM) get that layout:
        each side with its special tokens (``</s> a </s> </s> b </s>``), positions restarting at 0 for the second
        side, each side with its own language id. Others get their tokenizer's pair layout and their own positions
        (XLM-R: ``<s> a </s></s> b </s>``). Returns the batch (size 1) and the index where the second side starts."""
        if not self.family.language_embeddings:
            a, b = (
                self.tokenizer(t, add_special_tokens=False)["input_ids"]
                for t in (self.check_text(text), self.check_text(pair, "translation"))
            )
            ids = torch.tensor([self.tokenizer.build_inputs_with_special_tokens(a, b)])
            self.check_length(ids.shape[1])
            batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
            # the second side starts after the first with its special tokens
            split = len(self.tokenizer.build_inputs_with_special_tokens(a))
            return {k: v.to(self.loaded.device) for k, v in batch.items()}, split
        first = self.tokenizer(self.check_text(text), lang=lang)["input_ids"]
        second = self.tokenizer(self.check_text(pair, "translation"), lang=pair_lang)["input_ids"]
        self.check_length(max(len(first), len(second)))
        ids = torch.tensor([first + second])
        batch = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "position_ids": torch.tensor([list(range(len(first))) + list(range(len(second)))]),
        }
        if self.uses_langs() and lang is not None and pair_lang is not None:
            a, b = self.lang_id(lang), self.lang_id(pair_lang)
            batch["langs"] = torch.tensor([[a] * len(first) + [b] * len(second)])
        return {k: v.to(self.loaded.device) for k, v in batch.items()}, len(first)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax in fp32 whatever the model's dtype (scores are compared across dtypes)."""
    return logits.float().softmax(dim=-1)
