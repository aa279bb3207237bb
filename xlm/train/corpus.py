"""The training corpus of the embedded models: ``../shared/data/corpus`` (books, Universal Dependencies, parallel
sets) plus what Debian translates (gettext catalogues, LibreOffice help), cut into held-out and training parts.

Splits are rules, not files, so that tests rebuild every evaluation set from the shared data alone:

- books: per language, the median-sized work (by words; languages with fewer than three works keep none back) is
  held out whole; the others train. Paragraphs are cut into sentences (:func:`split_sentences`).
- UD: train files train (never the CC BY-NC-SA ``bg_btb`` and ``ur_udtb``); dev, test and PUD are evaluation only.
- NTREX-128: lines 0-1499 train, 1500-1599 are the validation block watched during training, 1600-1996 the test
  block; UDHR trains; FLORES-200, MGSM and TICO-19 are evaluation only (TICO's dev/test split is not marked in
  our copy, so none of it trains).
- gettext and LibreOffice help: a pair is held out (in every language at once) when ``crc32(english) % 100`` is 0
  (test) or 1 (valid).

Every training sentence is unique per language and none equals a held-out or evaluation sentence of its
language (exact match after collapsing whitespace). The Chinese books are in traditional characters; they are
converted to simplified with OpenCC (``t2s``) like the modern, simplified rest of the Chinese data.

``build`` writes ``out/tok`` (what the tokenizer's preprocessing makes of every text, ready for BPE):
``mono.<lang>.train.txt`` (one sentence a line), ``para.<lang>.<split>.tsv`` (English, translation) and
``counts.json``; ``out/sources.json`` records where every part came from.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import debian
from .ud import open_text, read_conllu

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("XLM_SHARED_DATA", REPO.parent / "shared" / "data"))

# Alphabetical = lang2id order. Japanese is left out: its tokenizer step needs KyTea (a C++ library and a model
# file that pip cannot install), which the app could not assume.
LANGS = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "it", "pt", "ru", "sw", "th", "tr", "ur", "vi", "zh")
MAIN_LANGS = ("en", "fr", "es", "de", "it", "pt", "ru", "zh")  # the languages with training-size prose
NON_COMMERCIAL_TREEBANKS = ("bg_btb", "ur_udtb")
TRAIN_PARALLEL = ("ntrex128", "udhr")
EVAL_PARALLEL = ("flores200_sib200", "mgsm", "tico19")
NTREX_VALID, NTREX_TEST = range(1500, 1600), range(1600, 1997)
HELDOUT_BUCKETS = {0: "test", 1: "valid"}  # crc32(english) % 100 of a Debian pair -> split, else "train"

_SPACES = re.compile(r"\s+")


def normalize_space(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


# ---------------------------------------------------------------------------------------------------------------
# Sentences


_CJK_END = re.compile(r"(?<=[。！？!?])[」』”’）)]*")
_END = re.compile(r"[.!?…।؟]+[\"'»”’)\]]*\s+")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Sr|Sra|Srta|Jr|Mme|Mlle|Mgr|Hr|Fr|Frl|Prof|Sig|Dott|Nr|No|vs|etc|ca|p|pp|S)|\b\w)\.$"
)
_MAX_WORDS = 120


def split_sentences(paragraph: str, lang: str) -> list[str]:
    """A paragraph cut into sentences: after ``. ! ? …`` (``。！？`` in Chinese; ``।`` Hindi, ``؟`` Arabic and
    Urdu) and closing quotes, when the next sentence starts with an upper-case letter or a caseless script; not
    after common abbreviations and initials. Pieces longer than 120 words are cut at the word limit."""
    paragraph = normalize_space(paragraph)
    if lang in ("zh", "ja"):
        pieces, start = [], 0
        for m in _CJK_END.finditer(paragraph):
            if m.end() < len(paragraph):
                pieces.append(paragraph[start : m.end()])
                start = m.end()
        pieces.append(paragraph[start:])
    else:
        pieces, start = [], 0
        for m in _END.finditer(paragraph):
            head, nxt = paragraph[start : m.end()].rstrip(), paragraph[m.end() : m.end() + 2]
            if _ABBREVIATION.search(head) or not nxt or not _starts_sentence(nxt):
                continue
            pieces.append(head)
            start = m.end()
        pieces.append(paragraph[start:])
    out = []
    for piece in (p.strip() for p in pieces):
        words = piece.split()
        out.extend(" ".join(words[i : i + _MAX_WORDS]) for i in range(0, len(words), _MAX_WORDS))
    return [s for s in out if s]


def _starts_sentence(text: str) -> bool:
    for ch in text:
        if ch.isalpha():
            return ch.isupper() or ch.lower() == ch.upper()  # caseless scripts (Arabic, Devanagari, ...) too
        if ch.isdigit():
            return True
        if ch not in "\"'«“‘(¿¡—–-[":
            return False
    return False


@functools.cache
def _to_simplified() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


# ---------------------------------------------------------------------------------------------------------------
# Reading the shared corpus


def book_works(corpus: Path, lang: str) -> list[Path]:
    return sorted((Path(corpus) / "books" / lang).glob("*.txt.xz"))


def _manifest_words(corpus: Path) -> dict[str, int]:
    rows = (Path(corpus) / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {r.split("\t")[0]: int(r.split("\t")[5]) for r in rows}


def heldout_work(corpus: Path, lang: str) -> Path | None:
    """The book held out for ``lang``: the median-sized work (None with fewer than three works)."""
    works = book_works(corpus, lang)
    if len(works) < 3:
        return None
    words = _manifest_words(corpus)
    ranked = sorted(works, key=lambda p: (words.get(p.relative_to(corpus).as_posix(), 0), p.name))
    return ranked[len(ranked) // 2]


def book_sentences(path: Path, lang: str) -> Iterator[str]:
    """The sentences of one work (Chinese converted to simplified characters)."""
    convert = _to_simplified() if lang == "zh" else None
    with open_text(path) as f:
        for paragraph in f:
            if convert is not None:
                paragraph = convert(paragraph)
            yield from split_sentences(paragraph, lang)


def ud_files(corpus: Path, lang: str, split: str) -> list[Path]:
    """The CoNLL-U files of a language and split (``pud`` for the parallel test set)."""
    if split == "pud":
        path = Path(corpus) / "ud" / "pud" / f"{lang}_pud-ud-test.conllu.xz"
        return [path] if path.is_file() else []
    return sorted((Path(corpus) / "ud" / lang).glob(f"*-ud-{split}.conllu.xz"))


def ud_train_files(corpus: Path, lang: str) -> list[Path]:
    return [
        p for p in ud_files(corpus, lang, "train") if p.name.split("-")[0] not in NON_COMMERCIAL_TREEBANKS
    ]


def parallel_lines(corpus: Path, source: str, lang: str) -> list[str]:
    """Line ``i`` is the translation of line ``i`` of English (empty where a translation is missing)."""
    path = Path(corpus) / "parallel" / source / f"{lang}.txt.xz"
    if not path.is_file():
        return []
    with open_text(path) as f:
        return [line.rstrip("\n") for line in f]


def debian_split(english: str) -> str:
    """The split of a Debian pair, decided by its English side only (so it is held out in every language)."""
    return HELDOUT_BUCKETS.get(zlib.crc32(english.encode("utf-8")) % 100, "train")


# ---------------------------------------------------------------------------------------------------------------
# Evaluation sets (rebuilt by the tests from the shared data)


def mlm_eval_sentences(corpus: Path, lang: str, n: int = 200, seed: int = 0) -> dict[str, list[str]]:
    """Held-out single sentences of 5-60 words for masked-LM evaluation, ``n`` (seeded sample) per source:
    ``books`` (the held-out work), ``ud`` (UD test sets) and ``ntrex`` (the NTREX test block)."""
    sources: dict[str, Iterable[str]] = {}
    work = heldout_work(corpus, lang)
    if work is not None:
        sources["books"] = book_sentences(work, lang)
    tests = ud_files(corpus, lang, "test")
    if tests:
        sources["ud"] = (s.text for p in tests for s in read_conllu(p))
    ntrex = parallel_lines(corpus, "ntrex128", lang)
    if ntrex:
        sources["ntrex"] = (ntrex[i] for i in NTREX_TEST)
    out = {}
    for name, texts in sources.items():
        pool = list(dict.fromkeys(t for t in map(normalize_space, texts) if _eval_length(t, lang)))
        rng = np.random.default_rng([seed, zlib.crc32(f"{name}.{lang}".encode())])
        keep = np.sort(rng.choice(len(pool), size=min(n, len(pool)), replace=False))
        out[name] = [pool[i] for i in keep]
    return out


def _eval_length(text: str, lang: str) -> bool:
    size = len(text.replace(" ", "")) / 2 if lang in ("zh", "ja", "th") else len(text.split())
    return 5 <= size <= 60


def eval_pairs(
    corpus: Path, source: str, lang: str, lines: Iterable[int] | None = None
) -> list[tuple[str, str]]:
    """(English, translation) pairs of a parallel source (all lines, or ``lines``), skipping empty ones."""
    en, xx = parallel_lines(corpus, source, "en"), parallel_lines(corpus, source, lang)
    if not xx:
        return []
    index = range(len(en)) if lines is None else lines
    return [(en[i], xx[i]) for i in index if en[i].strip() and xx[i].strip()]


XQUAD_LANGS = ("en", "de", "es", "zh")
XQUAD_HELDOUT_ARTICLES = frozenset(range(0, 48, 4))  # 12 of the 48 articles: never seen in QA fine-tuning


def xquad_articles(xquad_dir: Path, lang: str) -> list[dict]:
    """The articles of ``xquad.<lang>.json`` (SQuAD layout), in file order (the same order in every language)."""
    return json.loads((Path(xquad_dir) / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]


def _heldout_texts(corpus: Path, lang: str) -> set[str]:
    """Every text of ``lang`` that is held out or an evaluation set: nothing equal to one of them trains."""
    texts: set[str] = set()
    work = heldout_work(corpus, lang)
    if work is not None:
        texts.update(book_sentences(work, lang))
    for split in ("dev", "test", "pud"):
        texts.update(s.text for p in ud_files(corpus, lang, split) for s in read_conllu(p))
    for source in EVAL_PARALLEL:
        texts.update(parallel_lines(corpus, source, lang))
    ntrex = parallel_lines(corpus, "ntrex128", lang)
    texts.update(ntrex[i] for i in [*NTREX_VALID, *NTREX_TEST] if i < len(ntrex))
    return {normalize_space(t) for t in texts} - {""}


# ---------------------------------------------------------------------------------------------------------------
# Building


class _Part:
    """One language's training texts: sentences (unique, in first-seen order) and (English, translation) pairs."""

    def __init__(self, heldout: set[str]):
        self.heldout = heldout
        self.mono: dict[str, None] = {}
        self.pairs: dict[tuple[str, str], None] = {}
        self.valid: list[tuple[str, str]] = []
        self.counts: dict[str, int] = {}

    def add_sentences(self, source: str, texts: Iterable[str]) -> None:
        before = len(self.mono)
        for text in map(normalize_space, texts):
            if text and text not in self.heldout:
                self.mono.setdefault(text)
        self.counts[f"mono.{source}"] = self.counts.get(f"mono.{source}", 0) + len(self.mono) - before

    def add_pairs(self, source: str, pairs: Iterable[tuple[str, str]], lang: str) -> list[str]:
        """Adds the pairs (the translation side to the sentences too); returns the English sides kept."""
        kept, before = [], len(self.pairs)
        for en, xx in pairs:
            en, xx = normalize_space(en), normalize_space(xx)
            if en and xx and xx not in self.heldout:
                self.pairs.setdefault((en, xx))
                kept.append(en)
        self.counts[f"pairs.{source}"] = len(self.pairs) - before
        self.add_sentences(
            source, (s for _, xx in list(self.pairs)[before:] for s in split_sentences(xx, lang))
        )
        return kept


def build(
    out: Path,
    corpus: Path = SHARED_DATA / "corpus",
    debian_dir: Path | None = None,
    install: bool = False,
    workers: int = 2,
    help_pages: bool = True,
) -> dict:
    """Read, split, deduplicate and preprocess everything into ``out/tok``; return the counts written.

    ``debian_dir``: where the LibreOffice help packages are downloaded and unpacked (None: no Debian data);
    ``install``: ``apt-get install`` the gettext packages first; ``help_pages=False`` leaves the LibreOffice help
    out (the vocabulary is learned without it, so that software jargon does not take the merges of prose)."""
    out, corpus = Path(out), Path(corpus)
    parts = {
        lang: _Part(_heldout_texts(corpus, lang)) for lang in tqdm(LANGS, desc="held-out sets", unit="lang")
    }
    english_kept: list[str] = []
    for lang in tqdm(LANGS, desc="shared corpus", unit="lang"):
        part, held = parts[lang], heldout_work(corpus, lang)
        for work in book_works(corpus, lang):
            if work != held:
                part.add_sentences("books", book_sentences(work, lang))
        part.add_sentences("ud", (s.text for p in ud_train_files(corpus, lang) for s in read_conllu(p)))
        if lang == "en":
            continue
        for source in TRAIN_PARALLEL:
            lines = range(NTREX_VALID.start) if source == "ntrex128" else None
            english_kept += part.add_pairs(source, eval_pairs(corpus, source, lang, lines), lang)
        part.valid = eval_pairs(corpus, "ntrex128", lang, NTREX_VALID)
    sources: dict = {"corpus": str(corpus.name), "debian": debian.debian_release()}
    if debian_dir is not None:
        gettext, sources["gettext"] = debian.gettext_pairs(install=install)
        help_pairs = {}
        if help_pages:
            sources["libreoffice_help"] = debian.download_help(debian_dir)
            help_pairs = debian.help_pairs(debian_dir)
        for name, found in (("gettext", gettext), ("help", help_pairs)):
            for lang, pairs in found.items():
                train = [p for p in pairs if debian_split(p[0]) == "train"]
                english_kept += parts[lang].add_pairs(name, train, lang)
    parts["en"].add_sentences("translated", (s for en in english_kept for s in split_sentences(en, "en")))
    counts = _write(out / "tok", parts, workers)
    sources["counts"] = {lang: part.counts for lang, part in parts.items()}
    (out / "sources.json").write_text(
        json.dumps(sources, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return counts


def _write(tok: Path, parts: dict[str, _Part], workers: int) -> dict[str, int]:
    tok.mkdir(parents=True, exist_ok=True)
    counts = {}
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        # The same English sentence sides every language's pairs: preprocess each once.
        english = list(dict.fromkeys(a for part in parts.values() for a, _ in [*part.pairs, *part.valid]))
        english_words = dict(zip(english, _pretokenize(pool, english, "en"), strict=True))
        for lang, part in tqdm(parts.items(), desc="preprocessing", unit="lang"):
            mono = _pretokenize(pool, list(part.mono), lang)
            _write_lines(tok / f"mono.{lang}.train.txt", (m for m in mono if m))
            counts[f"mono.{lang}.train.txt"] = sum(1 for m in mono if m)
            for split, pairs in (("train", list(part.pairs)), ("valid", part.valid)):
                if lang == "en" or not pairs:
                    continue
                xx = _pretokenize(pool, [b for _, b in pairs], lang)
                rows = [
                    f"{english_words[a]}\t{b}"
                    for (a, _), b in zip(pairs, xx, strict=True)
                    if english_words[a] and b
                ]
                _write_lines(tok / f"para.{lang}.{split}.tsv", rows)
                counts[f"para.{lang}.{split}.tsv"] = len(rows)
    (tok / "counts.json").write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
    return counts


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def _pretokenize(pool, texts: list[str], lang: str) -> list[str]:
    chunks = [texts[i : i + 2000] for i in range(0, len(texts), 2000)]
    jobs = pool.imap(functools.partial(_pretokenize_chunk, lang=lang), chunks)
    return [
        line
        for chunk in tqdm(jobs, total=len(chunks), desc=lang, unit="chunk", leave=False)
        for line in chunk
    ]


def _pretokenize_chunk(texts: list[str], lang: str) -> list[str]:
    words = pretokenizer()
    return [" ".join(words(t, lang)) for t in texts]


@functools.cache
def pretokenizer() -> Callable[[str, str], list[str]]:
    """The words our XLMTokenizer feeds to BPE (its preprocessing; the models keep case and accents)."""
    from xlm.models.xlm.preprocessing import Preprocessor

    return Preprocessor().words
