"""XLM's text preprocessing, per language, up to (not including) lower-casing and BPE.

The steps are those of the original XLM ``tools/tokenize.sh`` as the Hugging Face ``XLMTokenizer`` runs them:

- most languages: Moses' unicode punctuation replacement, Moses punctuation normalisation, removal of
  non-printing characters (plus Sennrich's diacritic rules for Romanian), then the Moses tokenizer;
- ``zh``: word segmentation with jieba (or rjieba, the segmenter ``transformers`` uses) on the raw text, then the
  normalisation above and a whitespace split;
- ``th``: the normalisation, then PyThaiNLP's ``word_tokenize``;
- ``ja``: the normalisation, then KyTea.

It also maps the resulting words back onto the original text (:func:`align_to_source`), for offset mappings.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sacremoses

from ...errors import InvalidConfigError, MissingDependencyError

#: Languages cut by a dedicated word segmenter instead of the Moses tokenizer.
SEGMENTER_LANGS = frozenset({"zh", "th", "ja"})
ZH_SEGMENTERS = ("jieba", "rjieba")
#: Environment variable naming the KyTea model file used for Japanese.
KYTEA_MODEL_ENV = "XLM_KYTEA_MODEL"
DEFAULT_KYTEA_MODEL = Path("~/local/share/kytea/model.bin")

# Moses replace-unicode-punctuation.perl: full-width and CJK punctuation to ASCII. The two full stops also eat
# the whitespace after them (see _FULL_STOPS).
_UNICODE_PUNCT = str.maketrans(
    {
        "，": ",",
        "、": ",",
        "”": '"',
        "“": '"',
        "∶": ":",
        "：": ":",
        "？": "?",
        "《": '"',
        "》": '"',
        "）": ")",
        "！": "!",
        "（": "(",
        "；": ";",
        "」": '"',
        "「": '"',
        "～": "~",
        "’": "'",
        "…": "...",
        "━": "-",
        "〈": "<",
        "〉": ">",
        "【": "[",
        "】": "]",
        "％": "%",
        **{chr(ord("０") + d): str(d) for d in range(10)},
    }
)
_FULL_STOPS = re.compile(r"[。．]\s*")

# Sennrich's WMT16 Romanian scripts: cedilla forms to comma forms, then all Romanian diacritics removed.
_ROMANIAN = str.maketrans("ŞşŢţȘșȚțĂăÂâÎî", "SsTtSsTtAaAaIi")


def replace_unicode_punct(text: str) -> str:
    """Replace CJK and full-width punctuation and digits by their ASCII forms (Moses' replace-unicode-punctuation)."""
    return _FULL_STOPS.sub(". ", text.translate(_UNICODE_PUNCT))


def remove_non_printing_chars(text: str) -> str:
    """Drop every character of a Unicode "C" category (controls, format characters, unassigned, ...)."""
    if text.isprintable():  # no "C" character can be printable: skip the per-character scan
        return text
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")


def normalize_romanian(text: str) -> str:
    """Romanian specifics of xlm-mlm-enro-1024: cedilla letters to comma letters, then diacritics removed."""
    return text.translate(_ROMANIAN)


def lowercase_and_remove_accents(word: str) -> str:
    """Lower-case and strip combining accents (NFD, drop category Mn), as XLM's lowercase_and_remove_accent.py."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").lower()


@functools.cache
def _moses_punct_rules(lang: str) -> list[tuple[re.Pattern[str], str]]:
    """The substitutions of sacremoses' MosesPunctNormalizer for ``lang``, compiled once."""
    return [
        (re.compile(pattern), repl)
        for pattern, repl in sacremoses.MosesPunctNormalizer(lang=lang).substitutions
    ]


def moses_punct_norm(text: str, lang: str) -> str:
    """Moses' normalize-punctuation.perl as sacremoses' MosesPunctNormalizer(lang).normalize, with compiled rules."""
    for pattern, repl in _moses_punct_rules(lang):
        text = pattern.sub(repl, text)
    return text.strip()


@functools.cache
def moses_tokenizer(lang: str) -> sacremoses.MosesTokenizer:
    """The Moses tokenizer for ``lang`` (one per language, shared)."""
    return sacremoses.MosesTokenizer(lang=lang)


def check_zh_segmenter(name: str) -> str:
    """``name`` if it is a Chinese segmenter this module knows, else :class:`InvalidConfigError`."""
    if name not in ZH_SEGMENTERS:
        raise InvalidConfigError(
            f"Unknown Chinese segmenter {name!r}; choose one of {', '.join(ZH_SEGMENTERS)}."
        )
    return name


@functools.cache
def zh_segmenter(name: str) -> Callable[[str], list[str]]:
    """A function cutting Chinese text into words with jieba or rjieba (imported on first use)."""
    if check_zh_segmenter(name) == "jieba":
        import jieba

        jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading at INFO level to stderr
        return jieba.lcut
    try:
        import rjieba
    except ImportError as err:
        raise MissingDependencyError(
            "Chinese segmentation with rjieba needs the rjieba package: pip install rjieba "
            "(or use zh_segmenter='jieba')."
        ) from err
    return rjieba.cut


@functools.cache
def thai_segmenter() -> Callable[[str], list[str]]:
    """PyThaiNLP's default word tokenizer (newmm), keeping whitespace tokens as XLMTokenizer does."""
    try:
        from pythainlp.tokenize import word_tokenize
    except ImportError as err:
        raise MissingDependencyError(
            "Thai (lang='th') needs PyThaiNLP for word segmentation: pip install pythainlp "
            "(or pip install 'xlm-explorer[th]')."
        ) from err
    return word_tokenize


@functools.cache
def japanese_segmenter(model: str | None) -> Callable[[str], list[str]]:
    """KyTea word segmentation with the model file ``model`` (else $XLM_KYTEA_MODEL, else ~/local/share/kytea)."""
    path = Path(model or os.environ.get(KYTEA_MODEL_ENV) or DEFAULT_KYTEA_MODEL).expanduser()
    try:
        import Mykytea
    except ImportError as err:
        raise MissingDependencyError(
            "Japanese (lang='ja') needs KyTea for word segmentation: install the KyTea library "
            "(https://github.com/neubig/kytea), then pip install kytea, and point "
            f"XLMTokenizer(kytea_model=...) or the {KYTEA_MODEL_ENV} environment variable at a KyTea model "
            f"(default {DEFAULT_KYTEA_MODEL})."
        ) from err
    if not path.is_file():
        raise MissingDependencyError(
            f"KyTea model {path} not found: download one (e.g. jp-0.4.7-1.mod from "
            f"https://www.phontron.com/kytea/) and pass kytea_model=... or set {KYTEA_MODEL_ENV}."
        )
    tagger = Mykytea.Mykytea(f"-model {path}")
    return lambda text: list(tagger.getWS(text))


Trace = list[dict[str, Any]]


def _record(trace: Trace | None, step: str, output: str | list[str]) -> None:
    if trace is not None:
        trace.append({"step": step, "output": output})


class Preprocessor:
    """Cuts text into XLM words for a language: normalisation then Moses or a dedicated segmenter.

    ``zh_segmenter`` picks jieba (default, a runtime dependency) or rjieba (the one ``transformers`` uses; the two
    disagree on a few percent of texts). ``kytea_model`` is the KyTea model file for Japanese.
    """

    def __init__(self, zh_segmenter: str = "jieba", kytea_model: str | os.PathLike | None = None) -> None:
        self.zh_segmenter = check_zh_segmenter(zh_segmenter)
        self.kytea_model = os.fspath(kytea_model) if kytea_model is not None else None

    def segmenter_name(self, lang: str) -> str:
        """The name of the tool that cuts ``lang`` into words."""
        return {"zh": self.zh_segmenter, "th": "pythainlp", "ja": "kytea"}.get(lang, "moses")

    def normalize(self, text: str, lang: str, trace: Trace | None = None) -> str:
        """Moses punctuation replacement and normalisation, then non-printing characters removed."""
        text = replace_unicode_punct(text)
        _record(trace, "replace_unicode_punct", text)
        text = moses_punct_norm(text, lang)
        _record(trace, "moses_punct_norm", text)
        text = remove_non_printing_chars(text)
        _record(trace, "remove_non_printing_chars", text)
        return text

    def words(self, text: str, lang: str, trace: Trace | None = None) -> list[str]:
        """The words of ``text`` in ``lang`` before lower-casing and BPE; ``trace`` collects each step's output."""
        if lang == "zh":
            # Segment the raw text (the segmenter knows full-width punctuation), then normalise the joined words.
            words = zh_segmenter(self.zh_segmenter)(text)
            _record(trace, f"segment ({self.zh_segmenter})", words)
            return self.normalize(" ".join(words), lang, trace).split()
        text = self.normalize(text, lang, trace)
        if lang == "th":
            words = thai_segmenter()(text)
            _record(trace, "segment (pythainlp)", words)
        elif lang == "ja":
            words = japanese_segmenter(self.kytea_model)(text)
            _record(trace, "segment (kytea)", words)
        else:
            if lang == "ro":
                text = normalize_romanian(text)
                _record(trace, "normalize_romanian", text)
            words = moses_tokenizer(lang).tokenize(text, return_str=False, escape=False)
            _record(trace, "moses_tokenize", words)
        return words


# ---------------------------------------------------------------------------------------------------------------
# Mapping words back onto the original text.

_QUOTES = "\"'`´‘’‚‛“”„‟«»‹›《》「」『』′″〝〞＂＇"
_DASHES = "‐‑‒–—―−━─"
_FOLD_PUNCT = str.maketrans(
    {**dict.fromkeys(_QUOTES, '"'), **dict.fromkeys(_DASHES, "-"), "。": ".", "．": "."}
)
# Combining marks, separators (whitespace) and "C" characters: nothing the pipeline keeps to compare with.
_DROPPED_CATEGORIES = frozenset({"Mn", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"})


@functools.lru_cache(maxsize=65536)
def fold_char(ch: str) -> str:
    """A comparison form of one character that survives every normalisation of the pipeline.

    Punctuation is mapped as Moses maps it (all quotes become ``"``, all dashes ``-``), then NFKD, case folding and
    removal of combining marks, whitespace and "C"/"Z" category characters. Both the original text and the words
    the pipeline produced fold to (nearly) the same string, which :func:`align_to_source` aligns.
    """
    text = ch.translate(_UNICODE_PUNCT).translate(_FOLD_PUNCT)
    text = unicodedata.normalize("NFKD", text).casefold().translate(_FOLD_PUNCT)
    return "".join(c for c in text if unicodedata.category(c) not in _DROPPED_CATEGORIES)


def _fold(text: str) -> tuple[str, list[int]]:
    """The folded form of ``text`` and, for each folded character, the index of the character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = fold_char(ch)
        chars.append(folded)
        origin.extend([i] * len(folded))
    return "".join(chars), origin


def align_to_source(source: str, words: list[str]) -> list[list[list[int]]]:
    """For each character of each word, the indices of the ``source`` characters it was made from.

    Both sides are folded (:func:`fold_char`) and aligned (:func:`_align`); replaced stretches are matched
    proportionally, inserted characters (e.g. the ``.`` Moses writes for a no-break space between digits) get no
    source. The result is monotonic: later characters never map before earlier ones.
    """
    folded_source, source_of = _fold(source)
    folded_words: list[str] = []
    owner: list[tuple[int, int]] = []  # (word index, char index) of each folded word character
    for w, word in enumerate(words):
        for k, ch in enumerate(word):
            folded = fold_char(ch)
            folded_words.append(folded)
            owner.extend([(w, k)] * len(folded))
    matches = _align(folded_source, "".join(folded_words))
    result: list[list[list[int]]] = [[[] for _ in word] for word in words]
    for (w, k), a in zip(owner, matches, strict=True):
        if a is not None:
            result[w][k].append(source_of[a])
    return result


_RESYNC_WINDOW = 48  # how far to look past a difference for the two strings to agree again
_RESYNC_RUN = 3  # how many equal characters count as agreeing again


def _align(a: str, b: str) -> list[int | None]:
    """For each character of ``b``, the index of the character of ``a`` it matches (None: inserted in ``b``).

    The strings are nearly equal, so this walks both in step and, at a difference, finds the nearest point where
    they agree again (linear time); only the differing stretch goes through difflib's longest-matching-blocks diff.
    """
    if a == b:
        return list(range(len(b)))
    matches: list[int | None] = [None] * len(b)
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            matches[j] = i
            i, j = i + 1, j + 1
            continue
        di, dj = _resync(a, b, i, j)
        _align_block(a, b, i, i + di, j, j + dj, matches)
        i, j = i + di, j + dj
    return matches


def _resync(a: str, b: str, i: int, j: int) -> tuple[int, int]:
    """The smallest skips (di, dj) after which ``a[i+di:]`` and ``b[j+dj:]`` agree again (or run out)."""
    for distance in range(1, 2 * _RESYNC_WINDOW + 1):
        for di in range(max(0, distance - _RESYNC_WINDOW), min(distance, _RESYNC_WINDOW) + 1):
            dj = distance - di
            run = min(_RESYNC_RUN, len(a) - i - di, len(b) - j - dj)
            if run > 0 and a[i + di : i + di + run] == b[j + dj : j + dj + run]:
                return di, dj
    return len(a) - i, len(b) - j


def _align_block(a: str, b: str, a0: int, a1: int, b0: int, b1: int, matches: list[int | None]) -> None:
    """Align the differing stretches ``a[a0:a1]`` and ``b[b0:b1]`` with difflib, replaced parts proportionally."""
    if a0 == a1 or b0 == b1:
        return
    for op, i0, i1, j0, j1 in difflib.SequenceMatcher(None, a[a0:a1], b[b0:b1], autojunk=False).get_opcodes():
        if op == "equal":
            matches[b0 + j0 : b0 + j1] = range(a0 + i0, a0 + i1)
        elif op == "replace":
            matches[b0 + j0 : b0 + j1] = [a0 + i0 + (k * (i1 - i0)) // (j1 - j0) for k in range(j1 - j0)]
