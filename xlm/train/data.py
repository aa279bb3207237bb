"""Turning the preprocessed corpus (``runs/corpus/tok``) into token ids with a learned vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .batches import make_stream
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


def _take(lines: list[str], limit: int | None, seed: int) -> list[str]:
    """At most ``limit`` lines, chosen at random (seeded) but kept in file order."""
    if limit is None or len(lines) <= limit:
        return lines
    keep = np.sort(np.random.default_rng(seed).choice(len(lines), size=limit, replace=False))
    return [lines[i] for i in keep]


def load_pairs(
    tok_dir: Path, encoder: Encoder, lang2id: dict[str, int], split: str, limit: int | None = None
) -> dict[tuple[int, int], list[tuple[list[int], list[int]]]]:
    """``(en id, xx id) -> [(en ids, xx ids)]`` from ``pairs.<xx>.<split>.tsv``."""
    out = {}
    for lang in tqdm(sorted(lang2id), desc=f"encoding {split} pairs", unit="lang"):
        path = Path(tok_dir) / f"pairs.{lang}.{split}.tsv"
        if lang == "en" or not path.is_file():
            continue
        rows = _take(path.read_text(encoding="utf-8").splitlines(), limit, seed=len(lang))
        out[(lang2id["en"], lang2id[lang])] = [
            (encoder.line(en), encoder.line(xx)) for en, xx in (row.split("\t") for row in rows)
        ]
    return out


def load_streams(
    tok_dir: Path, encoder: Encoder, lang2id: dict[str, int], limit: int | None = None
) -> dict[int, np.ndarray]:
    """One MLM/CLM stream per language from ``mono.<lang>.train.txt``."""
    streams = {}
    for lang in tqdm(sorted(lang2id), desc="encoding streams", unit="lang"):
        lines = _take(
            (Path(tok_dir) / f"mono.{lang}.train.txt").read_text(encoding="utf-8").splitlines(), limit, 1
        )
        streams[lang2id[lang]] = make_stream([encoder.line(x) for x in lines])
    return streams
