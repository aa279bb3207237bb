"""XLMTokenizer: XLM's per-language preprocessing, BPE with ``</w>`` word ends, special tokens and offsets.

Reads and writes the Hugging Face files (``vocab.json``, ``merges.txt``, ``tokenizer_config.json``) and gives the
same ids as ``transformers.XLMTokenizer`` on them.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...errors import CorruptCheckpointError, InputError, InvalidConfigError, ModelNotFoundError
from ...files import read_json
from ...tokenization_utils import AddedToken, BatchEncoding, Layout, PreTrainedTokenizer, Span
from .preprocessing import Preprocessor, Trace, align_to_source, fold_char, lowercase_and_remove_accents

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
ASCII_BLANKS = re.compile(r"[ \t\r\f\v]+")  # field separators of merges.txt; U+00A0 may be a piece
WORD_END = "</w>"
EXTRA_SPECIAL_TOKENS = tuple(f"<special{i}>" for i in range(10))

# Settings of the published checkpoints that their Hub repos do not carry in a tokenizer_config.json:
# name -> (do_lowercase_and_remove_accent, languages in id order). All of them use 512 positions.
KNOWN_CHECKPOINTS: dict[str, tuple[bool, str]] = {
    "xlm-mlm-en-2048": (True, ""),
    "xlm-mlm-ende-1024": (True, "de en"),
    "xlm-clm-ende-1024": (True, "de en"),
    "xlm-mlm-enfr-1024": (True, "en fr"),
    "xlm-clm-enfr-1024": (True, "en fr"),
    "xlm-mlm-enro-1024": (True, "en ro"),
    "xlm-mlm-xnli15-1024": (True, "ar bg de el en es fr hi ru sw th tr ur vi zh"),
    "xlm-mlm-tlm-xnli15-1024": (True, "ar bg de el en es fr hi ru sw th tr ur vi zh"),
    "xlm-mlm-17-1280": (False, "ar de en es fr hi it ja ko nl pl pt ru sv tr vi zh"),
    "xlm-mlm-100-1280": (
        False,
        "af als am an ang ar arz ast az bar be bg bn br bs ca ceb ckb cs cy da de el en eo es et eu fa fi fr fy ga "
        "gan gl gu he hi hr hu hy ia id is it ja jv ka kk kn ko ku la lb lt lv mk ml mn mr ms my nds ne nl nn no oc "
        "pl pt ro ru scn sco sh si simple sk sl sq sr sv sw ta te th tl tr tt uk ur uz vi war wuu yi zh zh_classical "
        "zh_min_nan zh_yue",
    ),
}
KNOWN_MAX_LENGTH = 512

__all__ = ["BatchEncoding", "XLMTokenizer", "read_merges", "read_vocab"]


def read_vocab(path: Path) -> dict[str, int]:
    """Read ``vocab.json`` (token -> id), checking that it is a JSON object of string keys and int ids."""
    vocab = read_json(path)
    bad = [k for k, v in vocab.items() if not isinstance(v, int) or isinstance(v, bool)]
    if bad:
        raise CorruptCheckpointError(
            f"{path} should map tokens to integer ids; {bad[0]!r} maps to {vocab[bad[0]]!r}."
        )
    if len(set(vocab.values())) != len(vocab):
        raise CorruptCheckpointError(f"{path} gives the same id to several tokens.")
    return vocab


def read_merges(path: Path) -> dict[tuple[str, str], int]:
    """Read BPE merges (``first second`` or fastBPE's ``first second count`` a line) into pair -> rank.

    An optional ``#version`` first line is skipped. Fields are split on ASCII blanks, so pieces made of other
    whitespace (e.g. U+00A0 in the XNLI-15 codes) are kept, as fastBPE reads them; a line with no two such fields
    is split on any whitespace, as transformers reads it. A line that still holds fewer than two fields (blank,
    or what transformers 5 writes for a no-break-space merge, e.g. ``7830``) is no merge but keeps its rank
    position, as in transformers; a warning names those lines.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ModelNotFoundError(f"{Path(path).name} not found in {Path(path).parent}") from err
    except UnicodeDecodeError as err:
        raise CorruptCheckpointError(f"{path} is not UTF-8 text: {err}") from err
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    ranks: dict[tuple[str, str], int] = {}
    skipped: list[str] = []
    for number, line in enumerate(lines, 1):
        if number == 1 and line.startswith("#version"):
            continue
        fields = [field for field in ASCII_BLANKS.split(line) if field]
        if len(fields) < 2:
            fields = line.split()
        if len(fields) < 2:
            skipped.append(f"{number} ({line[:40]!r})")
            continue
        ranks[fields[0], fields[1]] = number  # a repeated pair keeps its last rank, as transformers reads it
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        warnings.warn(
            f"{Path(path).name}: {len(skipped)} line(s) hold no merge and were skipped, their ranks kept: line "
            f"{shown}.",
            stacklevel=2,
        )
    return ranks


class XLMTokenizer(PreTrainedTokenizer):
    """Tokenizer of the XLM models (Lample & Conneau, 2019): per-language preprocessing, then BPE.

    Pipeline for a text in language ``lang`` (:mod:`xlm.models.xlm.preprocessing`): Moses punctuation replacement
    and normalisation, non-printing characters removed, then the Moses tokenizer (jieba/rjieba for ``zh``,
    PyThaiNLP for ``th``, KyTea for ``ja``); lower-casing and accent removal when the checkpoint was trained so
    (``do_lowercase_and_remove_accent``); BPE with ``</w>`` marking word ends. Special tokens written in the text
    (e.g. the mask token ``<special1>``) are kept whole. Inputs are ``<s> A </s>`` or ``<s> A </s> B </s>``.
    ``explain`` shows the steps ``replace_unicode_punct``, ``moses_punct_norm``, ``remove_non_printing_chars``,
    ``moses_tokenize`` (or ``segment (<segmenter>)``), ``lowercase_and_remove_accent`` and ``bpe``.

    ``from_pretrained`` takes its settings from, by priority: keyword arguments; ``tokenizer_config.json``;
    ``config.json`` (``lang2id``/``id2lang``, ``max_position_embeddings``); the known settings of the published
    checkpoint of that name (``do_lowercase_and_remove_accent``, languages, 512 positions), as its Hub repo has no
    tokenizer config.

    Differences from ``transformers.XLMTokenizer``:

    - ``lang`` really selects the language's pipeline in every entry point (``__call__``, ``tokenize``,
      ``encode``); ``transformers``' ``__call__(text, lang=...)`` silently drops it and runs the English rules.
      Given a ``lang`` (and a tokenizer with ``lang2id``), ``__call__`` also returns the ``langs`` input.
    - ``return_offsets_mapping=True`` works: each token's ``(start, end)`` span in the original text.
    - Chinese is segmented with jieba by default (``zh_segmenter="rjieba"`` matches ``transformers`` exactly).
    - Unknown languages and missing optional segmenters raise :class:`~xlm.errors.UnknownLanguageError` and
      :class:`~xlm.errors.MissingDependencyError` instead of logging; so does a truncation that cannot fit
      (``only_first``/``only_second`` with too small a ``max_length``) raise :class:`~xlm.errors.InputError`.
    - ``merges.txt`` fields are split on ASCII blanks (fastBPE's reading), so the XNLI-15 merges of no-break-space
      pieces are kept; no segmenter ever yields such a word, so ids are the same. Files that transformers wrote
      (where such lines became a bare count) load too, with a warning naming the lines that hold no merge.
    - ``id2lang`` has int keys.
    """

    vocab_files_names = (VOCAB_FILE, MERGES_FILE)
    default_lang = "en"
    word_character = (
        None  # single-word tokens are settled after the match, as the slow tokenizer does (_chunks)
    )

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        merges_file: str | os.PathLike,
        *,
        do_lowercase_and_remove_accent: bool = True,
        lang2id: dict[str, int] | None = None,
        id2lang: dict[int | str, str] | None = None,
        model_max_length: int | None = None,
        bos_token: str = "<s>",
        sep_token: str = "</s>",
        cls_token: str = "</s>",
        pad_token: str = "<pad>",
        unk_token: str = "<unk>",
        mask_token: str = "<special1>",
        additional_special_tokens: Sequence[str] = EXTRA_SPECIAL_TOKENS,
        zh_segmenter: str = "jieba",
        kytea_model: str | os.PathLike | None = None,
        do_lower_case: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """``kwargs`` are the base class's (``padding_side``, ``truncation_side``,
        ``clean_up_tokenization_spaces``). ``do_lower_case`` is accepted and, as in transformers, changes nothing:
        ``do_lowercase_and_remove_accent`` decides (and ``do_lower_case`` reads it)."""
        del do_lower_case
        self.vocab_file, self.merges_file = Path(vocab_file), Path(merges_file)
        specials = {
            "bos_token": bos_token,
            "sep_token": sep_token,
            "cls_token": cls_token,
            "pad_token": pad_token,
            "unk_token": unk_token,
            "mask_token": mask_token,
        }
        super().__init__(
            read_vocab(self.vocab_file),
            specials,
            additional_special_tokens=additional_special_tokens,
            model_max_length=model_max_length,
            **kwargs,
        )
        self.bpe_ranks = read_merges(self.merges_file)
        self.do_lowercase_and_remove_accent = bool(do_lowercase_and_remove_accent)
        self.lang2id, self.id2lang = _language_maps(lang2id, id2lang)
        self.preprocessor = Preprocessor(zh_segmenter=zh_segmenter, kytea_model=kytea_model)
        self._piece_cache: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
        self._word_cache: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]] = {}

    # -- properties ------------------------------------------------------------------------------------------------

    @property
    def do_lower_case(self) -> bool:
        return self.do_lowercase_and_remove_accent

    def _chunks(self, text: str) -> Iterable[tuple[int, int, str | None]]:
        """As transformers' slow tokenizer treats a ``single_word`` token found in a text: when the text before it
        does not end with a space it joins that text, else when the text after it does not start with one it joins
        that; the stretch it joins is then cut as ordinary text (and stays apart from the stretch on its other
        side)."""
        parts = [[start, end, token] for start, end, token in super()._chunks(text)]
        for i, (start, end, token) in enumerate(parts):
            if token is None or not self._rule(token).single_word:
                continue
            left, right = (parts[i - 1] if i else None), (parts[i + 1] if i + 1 < len(parts) else None)
            if left and left[0] < left[1] and text[left[1] - 1] != " ":
                left[1:] = [end, None]
            elif right and right[0] < right[1] and text[right[0]] != " ":
                right[0], right[2] = start, None
            else:
                continue
            parts[i] = [start, start, None]  # joined: an empty stretch, which a later token does not join
        kept = [(start, end, token) for start, end, token in parts if start < end]
        return kept or [(0, len(text), None)]

    def _normalize_added(self, token: AddedToken) -> AddedToken:
        """transformers lowercases an added token that is normalized and not special when texts are lowercased
        (it is then matched in texts as lowercased; texts are not lowercased before that match)."""
        if token.normalized and not token.special and self.do_lower_case:
            return replace(token, content=token.content.lower())
        return token

    @property
    def zh_segmenter(self) -> str:
        return self.preprocessor.zh_segmenter

    def __repr__(self) -> str:
        langs = ",".join(self.lang2id or {}) or "-"
        return (
            f"XLMTokenizer(vocab_size={self.vocab_size}, langs={langs}, "
            f"do_lowercase_and_remove_accent={self.do_lowercase_and_remove_accent}, zh_segmenter={self.zh_segmenter!r})"
        )

    # -- tokens ----------------------------------------------------------------------------------------------------

    def bpe(self, word: str) -> tuple[str, ...]:
        """BPE pieces of one (pre-processed) word: merge the lowest-ranked adjacent pair until none is known."""
        symbols = [*word[:-1], word[-1] + WORD_END]
        ranks = self.bpe_ranks
        while len(symbols) > 1:
            best = min(
                range(len(symbols) - 1), key=lambda i: ranks.get((symbols[i], symbols[i + 1]), 1 << 62)
            )
            pair = symbols[best], symbols[best + 1]
            if pair not in ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                    merged.append(pair[0] + pair[1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return tuple(symbols)

    def _bpe_inputs(self, word: str) -> list[str]:
        """The strings BPE is applied to for one segmenter word (lower-cased, accents removed, when asked)."""
        if not self.do_lowercase_and_remove_accent:
            return [word] if word else []
        return [part for part in lowercase_and_remove_accents(word).split(" ") if part]

    def _pieces(self, part: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """BPE pieces and ids of one BPE input, cached."""
        cached = self._piece_cache.get(part)
        if cached is None:
            pieces = self.bpe(part)
            if " " in part:  # transformers splits BPE output on spaces: a word holding one yields odd pieces
                pieces = tuple(" ".join(pieces).split(" "))
            unk = self.unk_token_id
            cached = pieces, tuple(self.encoder.get(p, unk) for p in pieces)
            if len(self._piece_cache) > 500_000:
                self._piece_cache.clear()
            self._piece_cache[part] = cached
        return cached

    def _word_pieces(self, word: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
        """BPE inputs, pieces and ids of one segmenter word, cached."""
        cached = self._word_cache.get(word)
        if cached is None:
            parts = tuple(self._bpe_inputs(word))
            encoded = [self._pieces(part) for part in parts]
            cached = (
                parts,
                tuple(p for pieces, _ in encoded for p in pieces),
                tuple(i for _, ids in encoded for i in ids),
            )
            if len(self._word_cache) > 500_000:
                self._word_cache.clear()
            self._word_cache[word] = cached
        return cached

    def _encode_chunk(
        self, chunk: str, lang: str | None, with_offsets: bool
    ) -> tuple[list[int], list[str], list[Span | None]]:
        """Preprocess ``chunk`` in ``lang`` into words, then BPE; spans from the source of each word's characters."""
        ids: list[int] = []
        pieces: list[str] = []
        spans: list[Span | None] = []
        words = self.preprocessor.words(chunk, lang)
        if not with_offsets:
            for word in words:
                _, word_pieces, word_ids = self._word_pieces(word)
                pieces.extend(word_pieces)
                ids.extend(word_ids)
            return ids, pieces, spans
        parts = [part for word in words for part in self._word_pieces(word)[0]]
        for part, sources in zip(parts, align_to_source(chunk, parts), strict=True):
            part_pieces, part_ids = self._pieces(part)
            ids.extend(part_ids)
            pieces.extend(part_pieces)
            spans.extend(_piece_spans(part_pieces, sources))
        return ids, pieces, spans

    def _complete_spans(self, spans: list[Span | None], text: str) -> list[Span]:
        return _fill_gaps(spans, text)

    def _special_layout(self, pair: bool) -> Layout:
        """``<s> A </s>`` or ``<s> A </s> B </s>``."""
        return [self.bos_token_id], [self.sep_token_id], [self.sep_token_id] if pair else []

    def convert_tokens_to_string(self, tokens: Iterable[str]) -> str:
        """Join BPE pieces back into text: ``</w>`` becomes a space."""
        return "".join(tokens).replace(WORD_END, " ").strip()

    def word_ends(self, tokens: Sequence[str]) -> list[bool]:
        """A word ends with each piece that ends in ``</w>``."""
        return [t.endswith(WORD_END) or i == len(tokens) - 1 for i, t in enumerate(tokens)]

    # -- inspection ------------------------------------------------------------------------------------------------

    def _describe(self, lang: str | None) -> dict[str, Any]:
        return {
            "lang": lang,
            "lang_id": (self.lang2id or {}).get(lang),
            "segmenter": self.preprocessor.segmenter_name(lang),
            "do_lowercase_and_remove_accent": self.do_lowercase_and_remove_accent,
        }

    def _steps(self, text: str, lang: str | None) -> Trace:
        chunk_traces: list[Trace | str] = []
        for start, end, token in self._chunks(text):
            if token is not None:
                chunk_traces.append(token)
                continue
            chunk = text[start:end]
            trace: Trace = []
            words = self.preprocessor.words(chunk, lang, trace)
            encoded = [self._word_pieces(word) for word in words]
            if self.do_lowercase_and_remove_accent:
                parts = [part for word_parts, _, _ in encoded for part in word_parts]
                trace.append({"step": "lowercase_and_remove_accent", "output": parts})
            trace.append({"step": "bpe", "output": [p for _, pieces, _ in encoded for p in pieces]})
            chunk_traces.append(trace)
        return _merge_traces(chunk_traces)

    # -- files -----------------------------------------------------------------------------------------------------

    def save_vocabulary(
        self, save_directory: str | os.PathLike, filename_prefix: str | None = None
    ) -> tuple[str, str]:
        """Write ``vocab.json`` (id order) and ``merges.txt`` (``first second`` a line, no header)."""
        folder = Path(save_directory)
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder.")
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        vocab_path, merges_path = folder / f"{prefix}{VOCAB_FILE}", folder / f"{prefix}{MERGES_FILE}"
        ordered = dict(sorted(self.encoder.items(), key=lambda kv: kv[1]))
        vocab_path.write_text(json.dumps(ordered, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        merges = sorted(self.bpe_ranks, key=self.bpe_ranks.__getitem__)
        merges_path.write_text("".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
        return str(vocab_path), str(merges_path)

    def _config_entries(self) -> dict[str, Any]:
        return {
            "do_lowercase_and_remove_accent": self.do_lowercase_and_remove_accent,
            "lang2id": self.lang2id,
            "id2lang": None if self.id2lang is None else {str(i): lang for i, lang in self.id2lang.items()},
        }

    @classmethod
    def _default_settings(cls, name_or_path: str, folder: Path) -> dict[str, Any]:
        """The published checkpoint's known settings, then config.json's language maps and length limit."""
        return _known_settings(name_or_path) | _settings_from_model_config(folder)

    @classmethod
    def _settings_from_tokenizer_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        settings = super()._settings_from_tokenizer_config(config) | _lang_settings(config)
        if config.get("do_lowercase_and_remove_accent") is not None:
            settings["do_lowercase_and_remove_accent"] = config["do_lowercase_and_remove_accent"]
        return settings

    @classmethod
    def _from_folder(cls, folder: Path, settings: dict[str, Any]) -> XLMTokenizer:
        missing = cls._missing_files(folder)
        if missing:
            raise ModelNotFoundError(
                f"{folder} has no {' or '.join(missing)}: an XLM tokenizer needs vocab.json and merges.txt."
            )
        return cls(folder / VOCAB_FILE, folder / MERGES_FILE, **settings)


# -- helpers -------------------------------------------------------------------------------------------------------


def _language_maps(
    lang2id: dict[str, int] | None, id2lang: dict[int | str, str] | None
) -> tuple[dict[str, int] | None, dict[int, str] | None]:
    """Check and complete the two language maps (either may be given; id2lang keys become ints)."""
    if id2lang is not None:
        try:
            id2lang = {int(i): lang for i, lang in id2lang.items()}
        except (TypeError, ValueError) as err:
            raise InvalidConfigError(f"id2lang keys should be integer ids: {err}") from err
    if lang2id is None and id2lang is None:
        return None, None
    if lang2id is None:
        lang2id = {lang: i for i, lang in id2lang.items()}
    if id2lang is None:
        id2lang = {i: lang for lang, i in lang2id.items()}
    if {lang: i for i, lang in id2lang.items()} != dict(lang2id):
        raise InvalidConfigError(f"lang2id {lang2id} and id2lang {id2lang} disagree.")
    return dict(lang2id), id2lang


def _known_settings(name_or_path: str) -> dict[str, Any]:
    """Settings of a published checkpoint, recognised by the last part of its Hub id or folder name."""
    name = Path(name_or_path.rstrip("/")).name
    if name not in KNOWN_CHECKPOINTS:
        return {}
    lowercase, langs = KNOWN_CHECKPOINTS[name]
    settings = {"do_lowercase_and_remove_accent": lowercase, "model_max_length": KNOWN_MAX_LENGTH}
    return settings | _lang_settings({"lang2id": {lang: i for i, lang in enumerate(langs.split())}})


def _lang_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Both language maps of a config, or neither, so that one source's maps never mix with another's."""
    if config.get("lang2id") or config.get("id2lang"):
        return {"lang2id": config.get("lang2id"), "id2lang": config.get("id2lang")}
    return {}


def _settings_from_model_config(folder: Path) -> dict[str, Any]:
    """Language maps and length limit from a model's config.json, when there is one."""
    if not (folder / "config.json").is_file():
        return {}
    config = read_json(folder / "config.json")
    settings = _lang_settings(config)
    if isinstance(config.get("max_position_embeddings"), int):
        settings["model_max_length"] = config["max_position_embeddings"]
    return settings


def _piece_spans(pieces: tuple[str, ...], sources: list[list[int]]) -> list[Span | None]:
    """Source span of each BPE piece of one word, from the source indices of the word's characters."""
    spans: list[Span | None] = []
    position = 0
    for k, piece in enumerate(pieces):
        length = len(piece) - (len(WORD_END) if k == len(pieces) - 1 and piece.endswith(WORD_END) else 0)
        indices = [i for char_sources in sources[position : position + length] for i in char_sources]
        spans.append((min(indices), max(indices) + 1) if indices else None)
        position += length
    return spans


def _fill_gaps(spans: list[Span | None], text: str) -> list[Span]:
    """Give tokens with no matched source characters the (whitespace-trimmed) gap between their neighbours.

    Spans are also stretched over the characters right after them that the pipeline deletes (combining accents
    after lower-casing, zero-width format characters), so that the spans of a word cover all of it.
    """
    next_start = [len(text)] * (len(spans) + 1)  # start of the next matched span after each token
    for k in range(len(spans) - 1, -1, -1):
        next_start[k] = next_start[k + 1] if spans[k] is None else spans[k][0]
    filled: list[Span] = []
    previous_end = 0
    for k, span in enumerate(spans):
        if span is None:
            start, end = previous_end, max(previous_end, next_start[k + 1])
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            span = (start, end) if start < end else (previous_end, previous_end)
        start, end = span
        while end < len(text) and not fold_char(text[end]) and not text[end].isspace():
            end += 1  # take in the combining marks and format characters the pipeline deleted after the token
        filled.append((start, end))
        previous_end = end
    return filled


def _merge_traces(chunk_traces: list[Trace | str]) -> Trace:
    """Join the step outputs of the text's chunks, putting special tokens written in the text back in place."""
    template = next((t for t in chunk_traces if not isinstance(t, str)), [])
    merged: Trace = []
    for index, step in enumerate(template):
        outputs = [chunk if isinstance(chunk, str) else chunk[index]["output"] for chunk in chunk_traces]
        if isinstance(step["output"], str):
            output: str | list[str] = " ".join(o.strip() for o in outputs if o.strip())
        else:
            output = [item for o in outputs for item in ([o] if isinstance(o, str) else o)]
        merged.append({"step": step["step"], "output": output})
    return merged
