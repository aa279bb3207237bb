"""Training batches for the three XLM objectives (Lample & Conneau, 2019).

- CLM / MLM: the sentences of one language are joined into one stream, each sentence followed by ``</s>``,
  and a batch is ``batch_size`` windows of ``seq_len`` tokens cut from that stream.
- MLM masking: 15% of the non-special tokens are chosen for prediction; of those 80% become the mask token,
  10% a random (non-special) token and 10% stay as they are.
- TLM: ``</s> sentence </s> </s> translation </s>``; position ids restart at 0 for the translation and the
  language ids follow each side; both sides are masked as in MLM.
- Languages are sampled with probabilities proportional to ``(n_lang / n_total) ** alpha`` (alpha 0.5 or 0.7).

A batch is a dict of tensors named like the model's forward arguments: ``input_ids``, ``langs``,
``position_ids``, ``attention_mask`` and ``labels`` (-100 where nothing is predicted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

EOS, PAD, MASK, N_SPECIAL = 1, 2, 5, 14  # </s>, <pad>, <special1> (XLM's mask token), ids 0-13 are special
IGNORE = -100


def sampling_probs(counts: Sequence[int], alpha: float = 0.5) -> np.ndarray:
    """Smoothed language sampling: ``q_i ∝ p_i ** alpha`` with ``p_i = n_i / sum(n)``."""
    p = np.asarray(counts, dtype=np.float64)
    p = p / p.sum()
    q = p**alpha
    return q / q.sum()


def mask_tokens(
    input_ids: torch.Tensor,
    vocab_size: int,
    generator: torch.Generator,
    prob: float = 0.15,
    candidates: torch.Tensor | None = None,
    replace: tuple[float, float] = (0.8, 0.1),
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT/XLM masking. Returns ``(masked_ids, labels)``; labels are -100 except at the chosen positions.

    ``candidates`` (bool, same shape) restricts where masking may happen; special tokens are never chosen.
    ``replace``: the shares of chosen tokens replaced by the mask token and by a random token (the rest is kept).
    """
    p_mask, p_random = replace
    maskable = input_ids >= N_SPECIAL
    if candidates is not None:
        maskable &= candidates
    chosen = (torch.rand(input_ids.shape, generator=generator) < prob) & maskable
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    roll = torch.rand(input_ids.shape, generator=generator)
    random_ids = torch.randint(N_SPECIAL, vocab_size, input_ids.shape, generator=generator)
    masked = torch.where(chosen & (roll < p_mask), torch.full_like(input_ids, MASK), input_ids)
    masked = torch.where(chosen & (roll >= p_mask) & (roll < p_mask + p_random), random_ids, masked)
    return masked, labels


def make_stream(sentences: Sequence[Sequence[int]]) -> np.ndarray:
    """One language's sentences joined into a single stream, ``</s>`` after each."""
    total = sum(len(s) + 1 for s in sentences)
    stream = np.empty(total, dtype=np.int64)
    i = 0
    for s in sentences:
        stream[i : i + len(s)] = s
        stream[i + len(s)] = EOS
        i += len(s) + 1
    return stream


def tlm_example(
    src: Sequence[int], tgt: Sequence[int], src_lang: int, tgt_lang: int
) -> tuple[list[int], ...]:
    """``</s> src </s> </s> tgt </s>`` with positions restarting for ``tgt`` and per-side language ids."""
    a, b = [EOS, *src, EOS], [EOS, *tgt, EOS]
    return a + b, [src_lang] * len(a) + [tgt_lang] * len(b), list(range(len(a))) + list(range(len(b)))


def pad_examples(examples: Sequence[tuple[list[int], list[int], list[int]]]) -> dict[str, torch.Tensor]:
    """Right-pad (ids, langs, positions) examples into a batch with an attention mask."""
    width = max(len(ids) for ids, _, _ in examples)
    batch = {
        "input_ids": torch.full((len(examples), width), PAD, dtype=torch.long),
        "langs": torch.zeros((len(examples), width), dtype=torch.long),
        "position_ids": torch.zeros((len(examples), width), dtype=torch.long),
        "attention_mask": torch.zeros((len(examples), width), dtype=torch.long),
    }
    for row, (ids, langs, pos) in enumerate(examples):
        n = len(ids)
        batch["input_ids"][row, :n] = torch.tensor(ids)
        batch["langs"][row, :n] = torch.tensor(langs)
        batch["position_ids"][row, :n] = torch.tensor(pos)
        batch["attention_mask"][row, :n] = 1
    return batch


@dataclass
class BatchMaker:
    """Samples CLM / MLM / TLM batches from encoded data.

    ``streams[lang_id]``: 1-D int array (see :func:`make_stream`); ``pairs[(src_lang_id, tgt_lang_id)]``: list of
    (src ids, tgt ids). Seeded, so a given (seed, rank) always yields the same batches.
    """

    streams: dict[int, np.ndarray]
    pairs: dict[tuple[int, int], list[tuple[list[int], list[int]]]]
    vocab_size: int
    seq_len: int = 256
    alpha: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        self.gen = torch.Generator().manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)
        self.stream_langs = sorted(self.streams)
        self.stream_p = sampling_probs([len(self.streams[k]) for k in self.stream_langs], self.alpha)
        self.pair_keys = sorted(self.pairs)
        self.pair_p = (
            sampling_probs([len(self.pairs[k]) for k in self.pair_keys], self.alpha) if self.pairs else None
        )

    def reseed(self, seed: int) -> None:
        """Restart the sampling from ``seed`` (used when resuming from a checkpoint)."""
        self.seed = seed
        self.__post_init__()

    def stream_batch(self, batch_size: int, lang: int | None = None) -> dict[str, torch.Tensor]:
        """``batch_size`` windows of ``seq_len`` tokens from one language's stream (sampled if not given)."""
        if lang is None:
            lang = self.stream_langs[self.rng.choice(len(self.stream_langs), p=self.stream_p)]
        stream = self.streams[lang]
        n = min(self.seq_len, len(stream))
        starts = self.rng.integers(0, len(stream) - n + 1, size=batch_size)
        ids = torch.from_numpy(np.stack([stream[s : s + n] for s in starts]))
        return {
            "input_ids": ids,
            "langs": torch.full_like(ids, lang),
            "position_ids": torch.arange(n).expand(batch_size, n).clone(),
            "attention_mask": torch.ones_like(ids),
        }

    def clm_batch(self, batch_size: int, lang: int | None = None) -> dict[str, torch.Tensor]:
        """Causal LM: labels are the inputs (the model shifts them)."""
        batch = self.stream_batch(batch_size, lang)
        batch["labels"] = batch["input_ids"].clone()
        return batch

    def mlm_batch(self, batch_size: int, lang: int | None = None) -> dict[str, torch.Tensor]:
        batch = self.stream_batch(batch_size, lang)
        batch["input_ids"], batch["labels"] = mask_tokens(batch["input_ids"], self.vocab_size, self.gen)
        return batch

    def tlm_batch(self, batch_size: int, key: tuple[int, int] | None = None) -> dict[str, torch.Tensor]:
        """Translation LM on sampled sentence pairs; each pair is shown in a random order (src first or not)."""
        if key is None:
            key = self.pair_keys[self.rng.choice(len(self.pair_keys), p=self.pair_p)]
        pool = self.pairs[key]
        examples = []
        for i in self.rng.integers(0, len(pool), size=batch_size):
            (a, b), (la, lb) = pool[i], key
            if self.rng.random() < 0.5:
                (a, b), (la, lb) = (b, a), (lb, la)
            examples.append(tlm_example(a[: self.seq_len // 2 - 2], b[: self.seq_len // 2 - 2], la, lb))
        batch = pad_examples(examples)
        batch["input_ids"], batch["labels"] = mask_tokens(batch["input_ids"], self.vocab_size, self.gen)
        return batch
