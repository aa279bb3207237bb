"""Turning the preprocessed corpus (``runs/corpus/tok``) into token ids with a learned vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

from .bpe import BPE

UNK = 3


class Encoder:
    """Pretokenized words -> ids with a Hub vocabulary and its merges (XLMTokenizer's BPE step, memoised)."""

    def __init__(self, folder: Path):
        folder = Path(folder)
        self.vocab: dict[str, int] = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        bpe = BPE.read_codes(folder / "merges.txt")
        self._bpe, self._ranks = bpe, bpe.ranks
        self._cache: dict[str, list[int]] = {}

    def word(self, word: str) -> list[int]:
        ids = self._cache.get(word)
        if ids is None:
            ids = [self.vocab.get(p, UNK) for p in self._bpe.segment(word, self._ranks)]
            self._cache[word] = ids
        return ids

    def line(self, line: str) -> list[int]:
        return [i for w in line.split() for i in self.word(w)]

    def lines(self, path: Path) -> list[list[int]]:
        """The ids of every line of a preprocessed text file."""
        with Path(path).open(encoding="utf-8") as f:
            return [self.line(x) for x in f]

    def pairs(self, path: Path) -> list[tuple[list[int], list[int]]]:
        """The ids of both sides of every row of a preprocessed ``english<TAB>translation`` file."""
        with Path(path).open(encoding="utf-8") as f:
            return [
                (self.line(a), self.line(b)) for a, _, b in (row.rstrip("\n").partition("\t") for row in f)
            ]
