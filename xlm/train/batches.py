"""Training batches for the three XLM objectives (Lample & Conneau, 2019).

- CLM / MLM: one sentence a row, ``</s> sentence </s>``; a batch holds sentences of (nearly) equal length, so
  rows need almost no padding (:class:`LengthSorted`) and no sentence sees another.
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


class LengthSorted:
    """Examples of one kind (one language's sentences, or its sentence pairs with English) stored flat and sorted
    by length, so that a run of neighbours makes a batch with almost no padding.

    An MLM/CLM example is ``</s> sentence </s>``; a TLM example is a (sentence, translation) pair laid out by
    :func:`tlm_example` (each side cut to ``max_len // 2 - 2`` tokens). ``shuffle_seed``: examples of equal
    length in a random order fixed by the seed, instead of the corpus order.
    """

    def __init__(
        self,
        examples: Sequence[Sequence[int]] | Sequence[tuple[Sequence[int], Sequence[int]]],
        max_len: int = 256,
        pairs: bool = False,
        shuffle_seed: int | None = None,
    ):
        self.pairs = pairs
        if pairs:
            half = max_len // 2 - 2
            cut = [(list(a[:half]), list(b[:half])) for a, b in examples]
            sizes = np.array([len(a) + len(b) + 4 for a, b in cut], dtype=np.int64)
            flat = [list(a) + list(b) for a, b in cut]
            self.split = np.array([len(a) for a, _ in cut], dtype=np.int64)
        else:
            flat = [list(x[: max_len - 2]) for x in examples]
            sizes = np.array([len(x) + 2 for x in flat], dtype=np.int64)
            self.split = np.zeros(len(flat), dtype=np.int64)
        if shuffle_seed is None:  # equal lengths in corpus order: neighbours come from one passage
            order = np.argsort(sizes, kind="stable")
        else:  # equal lengths in a fixed random order: neighbours come from anywhere in the corpus
            ties = np.random.default_rng(shuffle_seed).permutation(len(sizes))
            order = np.lexsort((ties, sizes))
        self.sizes = sizes[order]
        self.split = self.split[order]
        lengths = np.array([len(flat[i]) for i in order], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.ids = np.fromiter((t for i in order for t in flat[i]), dtype=np.int32, count=int(lengths.sum()))

    def __len__(self) -> int:
        return len(self.sizes)

    @property
    def tokens(self) -> int:
        return int(self.sizes.sum())

    def example(self, i: int) -> tuple[list[int], list[int]]:
        """(sentence, translation) token ids of example ``i`` (translation empty for MLM/CLM examples)."""
        ids = self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()
        return (ids[: self.split[i]], ids[self.split[i] :]) if self.pairs else (ids, [])

    def window(self, start: int, max_tokens: int) -> range:
        """The examples ``start, start + 1, ...`` that fit ``max_tokens`` padded tokens (at least one), moved
        back from the end of the pool when it runs out."""
        width = int(self.sizes[min(start, len(self) - 1)])
        count = max(1, max_tokens // width)
        while True:
            stop = min(start + count, len(self))
            first = max(0, stop - count)
            width = int(self.sizes[stop - 1])
            if count == 1 or count * width <= max_tokens:
                return range(first, stop)
            count = max(1, max_tokens // width)


@dataclass
class BatchSampler:
    """MLM / TLM / CLM batches of about ``max_tokens`` (padded) tokens from length-sorted pools.

    ``mono[lang_id]`` holds a language's sentences, ``pairs[lang_id]`` its pairs with English (``en_id``). Batch
    ``k`` depends only on ``(seed, k)``: a resumed run draws exactly the batches it would have drawn. Each batch
    picks an objective (TLM with probability ``tlm_share``), ``mix`` languages (``alpha``-smoothed over tokens,
    with replacement) and in each language's length-sorted pool a run of neighbours of ``max_tokens / mix``
    tokens, all starting at one row length (drawn from the first language's pool), so that the rows of a batch
    have similar lengths and padding stays small.
    ``mix=1``: one language a batch, as in the original XLM.
    """

    mono: dict[int, LengthSorted]
    pairs: dict[int, LengthSorted]
    en_id: int
    vocab_size: int
    max_tokens: int = 8192
    tlm_share: float = 0.0
    alpha: float = 0.5
    causal: bool = False
    seed: int = 0
    mix: int = 1

    def __post_init__(self) -> None:
        self.mono_keys = sorted(self.mono)
        self.mono_p = sampling_probs([self.mono[k].tokens for k in self.mono_keys], self.alpha)
        self.pair_keys = sorted(self.pairs)
        self.pair_p = (
            sampling_probs([self.pairs[k].tokens for k in self.pair_keys], self.alpha) if self.pairs else None
        )

    def __call__(self, k: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, k])
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        tlm = self.pairs and rng.random() < self.tlm_share
        keys, probs, pools = (
            (self.pair_keys, self.pair_p, self.pairs) if tlm else (self.mono_keys, self.mono_p, self.mono)
        )
        if self.mix == 1:  # the original draw, kept so that runs made with it resume exactly
            langs = [keys[rng.choice(len(keys), p=probs)]]
            starts = [int(rng.integers(len(pools[langs[0]])))]
        else:
            langs = [keys[i] for i in rng.choice(len(keys), size=self.mix, p=probs)]
            first = pools[langs[0]]
            width = first.sizes[int(rng.integers(len(first)))]  # one row length for the whole batch
            starts = [
                min(int(np.searchsorted(pools[lang].sizes, width)), len(pools[lang]) - 1) for lang in langs
            ]
        examples = []
        for lang, start in zip(langs, starts, strict=True):
            pool = pools[lang]
            for i in pool.window(start, self.max_tokens // len(langs)):
                a, b = pool.example(i)
                if not tlm:
                    examples.append(sentence_example(a, lang))
                    continue
                la, lb = lang, self.en_id
                if rng.random() < 0.5:
                    (a, b), (la, lb) = (b, a), (lb, la)
                examples.append(tlm_example(a, b, la, lb))
        batch = pad_examples(examples)
        if self.causal:
            batch["labels"] = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, IGNORE)
        else:
            batch["input_ids"], batch["labels"] = mask_tokens(batch["input_ids"], self.vocab_size, gen)
        return batch


def sentence_example(ids: Sequence[int], lang: int) -> tuple[list[int], list[int], list[int]]:
    """``</s> sentence </s>`` with its language and position ids (the layout the tokenizer builds)."""
    row = [EOS, *ids, EOS]
    return row, [lang] * len(row), list(range(len(row)))
