"""Byte-pair-encoding learner that writes fastBPE files and Hub-format (vocab.json + merges.txt) files.

Words are whitespace-separated tokens of already preprocessed text. A word starts as its characters, the last
one carrying the end-of-word marker ``</w>`` ("low" -> ``l o w</w>``), exactly as fastBPE and XLMTokenizer do, so
a merge that ends a word reads ``e n</w>`` (the marker on the second piece).

Learning is incremental: pair counts are kept in a dict plus an index pair -> words containing it, and after each
merge only the words that contained the merged pair are updated. The best pair is taken from a lazy max-heap.

Tie-breaking (deterministic): among pairs with the same count, the one whose ``(first, second)`` strings compare
smallest (Python string order, i.e. by code point) is merged first. Input order never matters.

Files written:
- ``codes``: one merge a line, ``"first second count"`` in merge order (fastBPE ``learnbpe`` format).
- ``vocab``: ``"token count"`` lines, most frequent first (ties by token), after applying the codes to the
  corpus; a piece that is not the end of its word carries the ``@@`` suffix, a final piece none (fastBPE
  ``getvocab`` format).
- ``vocab.json``: ids 0-13 are ``<s> </s> <pad> <unk> <special0>..<special9>``, then the ``vocab`` lines in order;
  ``x@@`` becomes ``x`` and a final ``x`` becomes ``x</w>`` (the XLMTokenizer convention).
- ``merges.txt``: the codes without counts, ``"first second"`` a line (rank = line number).
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

EOW = "</w>"
SPECIAL_TOKENS = ["<s>", "</s>", "<pad>", "<unk>", *[f"<special{i}>" for i in range(10)]]


def count_words(lines: Iterable[str]) -> Counter[str]:
    """Whitespace-split word counts of an iterable of lines."""
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(line.split())
    return counts


def smoothed_counts(per_lang: dict[str, Counter[str]], alpha: float = 0.5) -> Counter[str]:
    """Word counts of several languages merged so that each language weighs as if sampled with probability
    ``∝ share ** alpha`` (XLM's smoothing): a small language's counts are multiplied up, the largest keeps its own."""
    langs = sorted(per_lang)
    totals = np.array([sum(per_lang[lang].values()) for lang in langs], dtype=np.float64)
    p = totals / totals.sum()
    ratio = p**alpha / (p**alpha).sum() / p
    ratio /= ratio.min()
    merged: Counter[str] = Counter()
    for lang, r in zip(langs, ratio, strict=True):
        for word, n in per_lang[lang].items():
            merged[word] += max(1, round(n * r))
    return merged


def split_word(word: str) -> tuple[str, ...]:
    """The initial symbols of a word: its characters, the last one with the end-of-word marker."""
    return (*word[:-1], word[-1] + EOW)


@dataclass
class BPE:
    """Learned merges, in order, each with the corpus count it had when merged."""

    merges: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def ranks(self) -> dict[tuple[str, str], int]:
        return {(a, b): i for i, (a, b, _) in enumerate(self.merges)}

    # ---------------------------------------------------------------- learning
    @classmethod
    def learn(cls, word_counts: dict[str, int], n_merges: int, progress: bool = True) -> BPE:
        """Learn up to ``n_merges`` merges from word counts (fewer if the words run out of pairs)."""
        words = [list(split_word(w)) for w in sorted(word_counts)]
        freqs = [word_counts[w] for w in sorted(word_counts)]
        pair_counts: defaultdict[tuple[str, str], int] = defaultdict(int)
        where: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
        for i, symbols in enumerate(words):
            for pair in itertools.pairwise(symbols):
                pair_counts[pair] += freqs[i]
                where[pair].add(i)
        heap = [(-c, p) for p, c in pair_counts.items()]  # min-heap: highest count, then smallest pair
        heapq.heapify(heap)
        bpe = cls()
        bar = tqdm(total=n_merges, desc="learning BPE", disable=not progress, unit="merge")
        while heap and len(bpe.merges) < n_merges:
            neg, pair = heapq.heappop(heap)
            if pair_counts.get(pair, 0) != -neg:  # stale entry: the count changed since it was pushed
                continue
            if -neg <= 0:
                break
            bpe.merges.append((pair[0], pair[1], -neg))
            bar.update()
            changed = _merge_everywhere(pair, words, freqs, pair_counts, where)
            for p in changed:
                if pair_counts.get(p, 0) > 0:
                    heapq.heappush(heap, (-pair_counts[p], p))
        bar.close()
        return bpe

    # ---------------------------------------------------------------- applying
    def segment(self, word: str, ranks: dict[tuple[str, str], int] | None = None) -> list[str]:
        """Apply the merges to one word by rank (lowest rank first), as fastBPE applybpe and XLMTokenizer do."""
        ranks = self.ranks if ranks is None else ranks
        symbols = list(split_word(word))
        while len(symbols) > 1:
            best = min(itertools.pairwise(symbols), key=lambda p: ranks.get(p, len(ranks)))
            if best not in ranks:
                break
            symbols = _merge_symbols(symbols, best)
        return symbols

    def vocab(self, word_counts: dict[str, int]) -> list[tuple[str, int]]:
        """fastBPE-style vocabulary (``x@@`` for non-final pieces, bare final pieces) with corpus counts."""
        ranks = self.ranks
        counts: Counter[str] = Counter()
        for word, n in word_counts.items():
            pieces = self.segment(word, ranks)
            for piece in pieces[:-1]:
                counts[piece + "@@"] += n
            counts[pieces[-1][: -len(EOW)]] += n
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    # ---------------------------------------------------------------- files
    def save_codes(self, path: Path) -> None:
        Path(path).write_text("".join(f"{a} {b} {c}\n" for a, b, c in self.merges), encoding="utf-8")

    @classmethod
    def read_codes(cls, path: Path) -> BPE:
        """Read a fastBPE codes file (``a b count``) or a merges.txt (``a b``, optional ``#version`` header)."""
        merges = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) < 2 or line.startswith("#version"):
                continue
            merges.append((parts[0], parts[1], int(parts[2]) if len(parts) > 2 else 0))
        return cls(merges)

    def save(self, folder: Path, word_counts: dict[str, int], min_count: int = 1) -> list[str]:
        """Write codes, vocab, vocab.json and merges.txt into ``folder``; return the Hub token list (id order).

        Pieces seen fewer than ``min_count`` times are left out of the vocabulary (they become ``<unk>``).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.save_codes(folder / "codes")
        vocab = [(w, n) for w, n in self.vocab(word_counts) if n >= min_count]
        (folder / "vocab").write_text("".join(f"{w} {n}\n" for w, n in vocab), encoding="utf-8")
        tokens = SPECIAL_TOKENS + [fastbpe_to_hub(w) for w, _ in vocab]
        (folder / "vocab.json").write_text(
            json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8",
        )
        (folder / "merges.txt").write_text("".join(f"{a} {b}\n" for a, b, _ in self.merges), encoding="utf-8")
        return tokens


def fastbpe_to_hub(token: str) -> str:
    """fastBPE vocab token -> XLMTokenizer vocab token (``ab@@`` -> ``ab``, ``ab`` -> ``ab</w>``)."""
    return token[:-2] if token.endswith("@@") else token + EOW


def _merge_symbols(symbols: list[str], pair: tuple[str, str]) -> list[str]:
    """Replace every non-overlapping occurrence of ``pair`` (left to right) by its concatenation."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == pair[0] and symbols[i + 1] == pair[1]:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def _merge_everywhere(
    pair: tuple[str, str],
    words: list[list[str]],
    freqs: list[int],
    pair_counts: defaultdict[tuple[str, str], int],
    where: defaultdict[tuple[str, str], set[int]],
) -> set[tuple[str, str]]:
    """Merge ``pair`` in every word holding it, updating the counts; return the pairs whose count changed."""
    changed: set[tuple[str, str]] = set()
    for i in sorted(where.pop(pair, ())):
        old = words[i]
        new = _merge_symbols(old, pair)
        for p in itertools.pairwise(old):
            pair_counts[p] -= freqs[i]
            changed.add(p)
        for p in itertools.pairwise(new):
            pair_counts[p] += freqs[i]
            where[p].add(i)
            changed.add(p)
        words[i] = new
    pair_counts.pop(pair, None)
    changed.discard(pair)
    return changed
