"""Reading Universal Dependencies treebanks (CoNLL-U, optionally ``.xz``): sentence texts, words and UPOS tags."""

from __future__ import annotations

import lzma
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

UPOS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)  # fmt: skip


@dataclass(frozen=True)
class Sentence:
    """One treebank sentence: its id, its text (``# text``), and its syntactic words with their UPOS tags."""

    sent_id: str
    text: str
    words: tuple[str, ...]
    upos: tuple[str, ...]


def open_text(path: Path):
    """Open a UTF-8 text file, transparently decompressing ``.xz``."""
    path = Path(path)
    return lzma.open(path, "rt", encoding="utf-8") if path.suffix == ".xz" else path.open(encoding="utf-8")


def read_conllu(path: Path) -> Iterator[Sentence]:
    """The sentences of a CoNLL-U file. Multi-word tokens ("1-2") and empty nodes ("1.1") are skipped: the tags
    belong to the syntactic words."""
    meta: dict[str, str] = {}
    words: list[str] = []
    tags: list[str] = []
    with open_text(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if words:
                    yield Sentence(
                        meta.get("sent_id", ""), meta.get("text", " ".join(words)), tuple(words), tuple(tags)
                    )
                meta, words, tags = {}, [], []
            elif line.startswith("#"):
                key, sep, value = line[1:].partition("=")
                if sep:
                    meta[key.strip()] = value.strip()
            else:
                cols = line.split("\t")
                if len(cols) >= 4 and cols[0].isdigit():
                    words.append(cols[1])
                    tags.append(cols[3])
    if words:
        yield Sentence(meta.get("sent_id", ""), meta.get("text", " ".join(words)), tuple(words), tuple(tags))
