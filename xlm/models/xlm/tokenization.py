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
from pathlib import Path
from typing import Any

from ...errors import (
    CorruptCheckpointError,
    InputError,
    InvalidConfigError,
    ModelNotFoundError,
    UnknownLanguageError,
)
from ...files import read_json, resolve_model_dir
from .preprocessing import Preprocessor, Trace, align_to_source, fold_char, lowercase_and_remove_accents

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
ASCII_BLANKS = re.compile(r"[ \t\r\f\v]+")  # field separators of merges.txt; U+00A0 may be a piece
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
WORD_END = "</w>"
SPECIAL_TOKEN_NAMES = ("bos_token", "sep_token", "cls_token", "pad_token", "unk_token", "mask_token")
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

TextInput = str | Sequence[str]
Span = tuple[int, int]
Encoded = tuple[list[int], list[str], list[Span] | None]  # ids, pieces, offsets of one text


class BatchEncoding(dict):
    """The tokenizer's output: a dict of model inputs, also readable as attributes (``enc.input_ids``).

    Values are lists of ints (one list, or one per text for a batch), or ``torch.Tensor`` of shape
    ``(batch, length)`` with ``return_tensors="pt"``; ``offset_mapping`` is a list of ``(start, end)`` pairs per
    token, or a ``(batch, length, 2)`` tensor.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no {name!r}; it holds {', '.join(self)}") from None

    def to(self, device: Any) -> BatchEncoding:
        """Move every tensor to ``device`` (a no-op for lists)."""
        return BatchEncoding({k: v.to(device) if hasattr(v, "to") else v for k, v in self.items()})


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


class XLMTokenizer:
    """Tokenizer of the XLM models (Lample & Conneau, 2019): per-language preprocessing, then BPE.

    Pipeline for a text in language ``lang`` (:mod:`xlm.preprocessing`): Moses punctuation replacement and
    normalisation, non-printing characters removed, then the Moses tokenizer (jieba/rjieba for ``zh``, PyThaiNLP for
    ``th``, KyTea for ``ja``); lower-casing and accent removal when the checkpoint was trained so
    (``do_lowercase_and_remove_accent``); BPE with ``</w>`` marking word ends. Special tokens written in the text
    (e.g. the mask token ``<special1>``) are kept whole. Inputs are ``<s> A </s>`` or ``<s> A </s> B </s>``.

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
    - ``id2lang`` has int keys; there is no ``add_tokens`` (the vocabulary is the checkpoint's).
    """

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
    ) -> None:
        self.vocab_file, self.merges_file = Path(vocab_file), Path(merges_file)
        self.encoder = read_vocab(self.vocab_file)
        self.decoder = {i: t for t, i in self.encoder.items()}
        self.bpe_ranks = read_merges(self.merges_file)
        self.do_lowercase_and_remove_accent = bool(do_lowercase_and_remove_accent)
        self.lang2id, self.id2lang = _language_maps(lang2id, id2lang)
        self.model_max_length = model_max_length
        self.bos_token, self.sep_token, self.cls_token = bos_token, sep_token, cls_token
        self.pad_token, self.unk_token, self.mask_token = pad_token, unk_token, mask_token
        self.additional_special_tokens = list(additional_special_tokens)
        self.all_special_tokens = list(
            dict.fromkeys([*self.special_tokens_map.values(), *additional_special_tokens])
        )
        missing = [t for t in self.all_special_tokens if t not in self.encoder]
        if missing:
            raise CorruptCheckpointError(f"{self.vocab_file} lacks the special tokens {', '.join(missing)}.")
        self.all_special_ids = [self.encoder[t] for t in self.all_special_tokens]
        self.bos_token_id, self.sep_token_id = self.encoder[bos_token], self.encoder[sep_token]
        self.cls_token_id, self.pad_token_id = self.encoder[cls_token], self.encoder[pad_token]
        self.unk_token_id, self.mask_token_id = self.encoder[unk_token], self.encoder[mask_token]
        by_length = sorted(self.all_special_tokens, key=len, reverse=True)
        self._special_pattern = re.compile("|".join(re.escape(t) for t in by_length))
        self.preprocessor = Preprocessor(zh_segmenter=zh_segmenter, kytea_model=kytea_model)
        self._piece_cache: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
        self._word_cache: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]] = {}

    # -- properties ------------------------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def __len__(self) -> int:
        return len(self.encoder)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.encoder)

    @property
    def do_lower_case(self) -> bool:
        return self.do_lowercase_and_remove_accent

    @property
    def zh_segmenter(self) -> str:
        return self.preprocessor.zh_segmenter

    @property
    def special_tokens_map(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SPECIAL_TOKEN_NAMES}

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

    def _check_lang(self, lang: str | None) -> str:
        if lang is None:
            return "en"
        if not isinstance(lang, str):
            raise InputError(f"lang should be a language code such as 'en', got {lang!r}.")
        if self.lang2id and lang not in self.lang2id:
            raise UnknownLanguageError(
                f"Unknown language {lang!r} for this tokenizer; it knows: {', '.join(self.lang2id)}."
            )
        return lang

    def _chunks(self, text: str) -> Iterable[tuple[int, int, bool]]:
        """(start, end, is_special_token) stretches of ``text``: special tokens written in it stay whole."""
        start = 0
        if "<" in text:
            for match in self._special_pattern.finditer(text):
                if match.start() > start:
                    yield start, match.start(), False
                yield match.start(), match.end(), True
                start = match.end()
        if start < len(text) or not text:
            yield start, len(text), False

    def _encode(self, text: str, lang: str, with_offsets: bool) -> Encoded:
        """Ids and pieces of ``text`` (no special tokens added), and their offsets when ``with_offsets``."""
        if not isinstance(text, str):
            raise InputError(f"Expected text as a string, got {type(text).__name__}.")
        ids: list[int] = []
        pieces: list[str] = []
        spans: list[Span | None] = []
        for start, end, special in self._chunks(text):
            chunk = text[start:end]
            if special:
                ids.append(self.encoder[chunk])
                pieces.append(chunk)
                spans.append((start, end))
                continue
            words = self.preprocessor.words(chunk, lang)
            if not with_offsets:
                for word in words:
                    _, word_pieces, word_ids = self._word_pieces(word)
                    pieces.extend(word_pieces)
                    ids.extend(word_ids)
                continue
            parts = [part for word in words for part in self._word_pieces(word)[0]]
            for part, sources in zip(parts, align_to_source(chunk, parts), strict=True):
                part_pieces, part_ids = self._pieces(part)
                ids.extend(part_ids)
                pieces.extend(part_pieces)
                spans.extend(_piece_spans(part_pieces, sources, start))
        return ids, pieces, _fill_gaps(spans, text) if with_offsets else None

    def tokenize(self, text: str, lang: str | None = None) -> list[str]:
        """The BPE pieces of ``text`` in ``lang`` (default: English rules), special tokens in the text kept whole."""
        return self._encode(text, self._check_lang(lang), with_offsets=False)[1]

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """Id of a token (``<unk>``'s for unknown ones), or ids of a list of tokens."""
        if isinstance(tokens, str):
            return self.encoder.get(tokens, self.unk_token_id)
        return [self.encoder.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(
        self, ids: int | Iterable[int], skip_special_tokens: bool = False
    ) -> str | list[str]:
        """Token of an id (``<unk>`` for ids outside the vocabulary), or tokens of a list of ids."""
        if isinstance(ids, int) or (hasattr(ids, "ndim") and ids.ndim == 0):
            return self.decoder.get(int(ids), self.unk_token)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self.decoder.get(int(i), self.unk_token) for i in ids if int(i) not in skip]

    def convert_tokens_to_string(self, tokens: Iterable[str]) -> str:
        """Join BPE pieces back into text: ``</w>`` becomes a space."""
        return "".join(tokens).replace(WORD_END, " ").strip()

    def decode(self, ids: int | Iterable[int], skip_special_tokens: bool = False) -> str:
        """The (pre-processed, space-separated) text of ``ids``."""
        tokens = self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens)
        return self.convert_tokens_to_string([tokens] if isinstance(tokens, str) else tokens)

    def batch_decode(
        self, sequences: Iterable[Iterable[int]], skip_special_tokens: bool = False
    ) -> list[str]:
        return [self.decode(ids, skip_special_tokens=skip_special_tokens) for ids in sequences]

    # -- model inputs ----------------------------------------------------------------------------------------------

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """``<s> A </s>`` or ``<s> A </s> B </s>``."""
        ids = [self.bos_token_id, *token_ids_0, self.sep_token_id]
        return ids if token_ids_1 is None else [*ids, *token_ids_1, self.sep_token_id]

    def get_special_tokens_mask(
        self,
        token_ids_0: list[int],
        token_ids_1: list[int] | None = None,
        already_has_special_tokens: bool = False,
    ) -> list[int]:
        """1 at special-token positions of the built input, 0 elsewhere."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise InputError("token_ids_1 must be None when the ids already hold special tokens.")
            special = set(self.all_special_ids)
            return [int(i in special) for i in token_ids_0]
        mask = [1, *[0] * len(token_ids_0), 1]
        return mask if token_ids_1 is None else [*mask, *[0] * len(token_ids_1), 1]

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """0 over ``<s> A </s>``, 1 over ``B </s>``."""
        types = [0] * (len(token_ids_0) + 2)
        return types if token_ids_1 is None else types + [1] * (len(token_ids_1) + 1)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 3 if pair else 2

    def encode(
        self,
        text: str,
        text_pair: str | None = None,
        *,
        lang: str | None = None,
        add_special_tokens: bool = True,
    ) -> list[int]:
        """Ids of ``text`` (and ``text_pair``), with ``<s>``/``</s>`` when ``add_special_tokens``."""
        return self(text, text_pair, lang=lang, add_special_tokens=add_special_tokens)["input_ids"]

    def __call__(
        self,
        text: TextInput,
        text_pair: TextInput | None = None,
        *,
        lang: str | Sequence[str] | None = None,
        pair_lang: str | Sequence[str] | None = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str = False,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool = True,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_langs: bool | None = None,
    ) -> BatchEncoding:
        """Encode a text or a batch of texts (optionally paired) into model inputs.

        ``lang`` (one code, or one per text) selects the preprocessing; ``pair_lang`` the second texts' (default:
        ``lang``). Keys: ``input_ids``, ``attention_mask`` (unless ``return_attention_mask=False``), and on request
        ``token_type_ids``, ``special_tokens_mask``, ``offset_mapping`` (spans in the original texts, ``(0, 0)`` for
        added special tokens), ``langs`` (language id of every position; by default whenever ``lang`` is given and
        the tokenizer has ``lang2id``). ``padding``: ``True``/``"longest"`` or ``"max_length"``; ``truncation``:
        ``True``/``"longest_first"``, ``"only_first"`` or ``"only_second"``, to ``max_length`` (default:
        ``model_max_length``). A single text gives flat lists, a batch lists of lists; ``return_tensors="pt"``
        gives ``torch`` tensors of shape ``(batch, length)``.
        """
        batched = not isinstance(text, str)
        texts = _as_list(text, "text")
        pairs = [None] * len(texts) if text_pair is None else _as_list(text_pair, "text_pair")
        if len(pairs) != len(texts) or (batched and isinstance(text_pair, str)):
            raise InputError(f"Got {len(texts)} texts but {len(pairs)} text pairs: give one pair per text.")
        langs = _per_text(lang, len(texts), "lang")
        pair_langs = langs if pair_lang is None else _per_text(pair_lang, len(texts), "pair_lang")
        if return_langs is None:
            return_langs = lang is not None and bool(self.lang2id)
        if return_langs and (lang is None or not self.lang2id):
            raise InputError("return_langs=True needs lang=... and a tokenizer with lang2id.")
        strategy = _truncation_strategy(truncation)
        if strategy != "do_not_truncate" and max_length is None:
            max_length = self.model_max_length
        budget = None
        if strategy != "do_not_truncate" and max_length is not None:
            budget = max_length - (
                self.num_special_tokens_to_add(text_pair is not None) if add_special_tokens else 0
            )

        wanted = {
            "input_ids": True,
            "token_type_ids": bool(return_token_type_ids),
            "attention_mask": return_attention_mask,
            "special_tokens_mask": return_special_tokens_mask,
            "offset_mapping": return_offsets_mapping,
            "langs": return_langs,
        }
        rows = []
        for first, second, lang_a, lang_b in zip(texts, pairs, langs, pair_langs, strict=True):
            a = self._encode(first, self._check_lang(lang_a), return_offsets_mapping)
            b = (
                None
                if second is None
                else self._encode(second, self._check_lang(lang_b), return_offsets_mapping)
            )
            if budget is not None:
                a, b = _truncate(a, b, budget, strategy)
            rows.append(self._example(a, b, lang_a, lang_b, add_special_tokens))
        columns = {key: [row[key] for row in rows] for key, on in wanted.items() if on}
        columns = self._pad(columns, padding, max_length, pad_to_multiple_of)
        if return_tensors is not None:
            return BatchEncoding(_to_tensors(columns, return_tensors))
        return BatchEncoding(columns if batched else {k: v[0] for k, v in columns.items()})

    def _example(
        self, a: Encoded, b: Encoded | None, lang_a: str | None, lang_b: str | None, add_special_tokens: bool
    ) -> dict[str, list]:
        """Every model-input column of one example (before padding)."""
        ids_a, _, spans_a = a
        ids_b, _, spans_b = b if b is not None else ([], [], [])
        lang_ids = self.lang2id or {}
        la, lb = lang_ids.get(lang_a or "", 0), lang_ids.get(lang_b or "", 0)
        if not add_special_tokens:
            input_ids = [*ids_a, *ids_b]
            return {
                "input_ids": input_ids,
                "token_type_ids": [0] * len(ids_a) + [1] * len(ids_b),
                "attention_mask": [1] * len(input_ids),
                "special_tokens_mask": [0] * len(input_ids),
                "offset_mapping": [*(spans_a or []), *(spans_b or [])],
                "langs": [la] * len(ids_a) + [lb] * len(ids_b),
            }
        pair = None if b is None else ids_b
        input_ids = self.build_inputs_with_special_tokens(ids_a, pair)
        none: Span = (0, 0)
        spans = [none, *(spans_a or []), none] + ([] if b is None else [*(spans_b or []), none])
        return {
            "input_ids": input_ids,
            "token_type_ids": self.create_token_type_ids_from_sequences(ids_a, pair),
            "attention_mask": [1] * len(input_ids),
            "special_tokens_mask": self.get_special_tokens_mask(ids_a, pair),
            "offset_mapping": spans,
            "langs": [la] * (len(ids_a) + 2) + ([] if b is None else [lb] * (len(ids_b) + 1)),
        }

    def _pad(
        self, columns: dict[str, list], padding: bool | str, max_length: int | None, multiple: int | None
    ) -> dict[str, list]:
        if padding is False or padding == "do_not_pad":
            return columns
        if padding is True or padding == "longest":
            target = max((len(ids) for ids in columns["input_ids"]), default=0)
        elif padding == "max_length":
            target = max_length if max_length is not None else self.model_max_length
            if target is None:
                raise InputError(
                    "padding='max_length' needs max_length (this tokenizer has no model_max_length)."
                )
        else:
            raise InputError(
                f"padding should be True, False, 'longest', 'max_length' or 'do_not_pad', got {padding!r}."
            )
        if multiple:
            target = -(-target // multiple) * multiple
        fill = {
            "input_ids": self.pad_token_id,
            "token_type_ids": 0,
            "attention_mask": 0,
            "special_tokens_mask": 1,
            "offset_mapping": (0, 0),
        }
        padded = {}
        for key, rows in columns.items():
            padded[key] = [
                row + [fill[key] if key != "langs" else (row[-1] if row else 0)] * (target - len(row))
                for row in rows
            ]
        return padded

    # -- inspection ------------------------------------------------------------------------------------------------

    def explain(self, text: str, lang: str | None = None, add_special_tokens: bool = False) -> dict[str, Any]:
        """Every step of the tokenization of ``text``, as plain JSON-able data (for a tokenizer inspector).

        Returns ``{"text", "lang", "lang_id", "segmenter", "do_lowercase_and_remove_accent", "steps", "tokens",
        "ids", "offsets"}``. ``steps`` is a list of ``{"step": name, "output": str | list[str]}`` in pipeline order
        (e.g. ``replace_unicode_punct``, ``moses_punct_norm``, ``remove_non_printing_chars``, ``moses_tokenize``,
        ``lowercase_and_remove_accent``, ``bpe``); special tokens written in the text appear whole in each step.
        ``offsets`` are ``[start, end]`` spans of ``text`` per token.
        """
        code = self._check_lang(lang)
        chunk_traces: list[Trace | str] = []
        for start, end, special in self._chunks(text):
            chunk = text[start:end]
            if special:
                chunk_traces.append(chunk)
                continue
            trace: Trace = []
            words = self.preprocessor.words(chunk, code, trace)
            encoded = [self._word_pieces(word) for word in words]
            if self.do_lowercase_and_remove_accent:
                parts = [part for word_parts, _, _ in encoded for part in word_parts]
                trace.append({"step": "lowercase_and_remove_accent", "output": parts})
            trace.append({"step": "bpe", "output": [p for _, pieces, _ in encoded for p in pieces]})
            chunk_traces.append(trace)
        enc = self(
            text,
            lang=lang,
            add_special_tokens=add_special_tokens,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_langs=False,
        )
        return {
            "text": text,
            "lang": code,
            "lang_id": (self.lang2id or {}).get(code),
            "segmenter": self.preprocessor.segmenter_name(code),
            "do_lowercase_and_remove_accent": self.do_lowercase_and_remove_accent,
            "steps": _merge_traces(chunk_traces),
            "tokens": self.convert_ids_to_tokens(enc["input_ids"]),
            "ids": enc["input_ids"],
            "offsets": [list(span) for span in enc["offset_mapping"]],
        }

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

    def save_pretrained(self, save_directory: str | os.PathLike) -> tuple[str, ...]:
        """Write the vocabulary, merges, ``tokenizer_config.json`` and ``special_tokens_map.json`` (Hub format)."""
        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        files = self.save_vocabulary(folder)
        config = {
            "tokenizer_class": "XLMTokenizer",
            "do_lowercase_and_remove_accent": self.do_lowercase_and_remove_accent,
            "lang2id": self.lang2id,
            "id2lang": None if self.id2lang is None else {str(i): lang for i, lang in self.id2lang.items()},
            "model_max_length": self.model_max_length,
            **self.special_tokens_map,
            "additional_special_tokens": self.additional_special_tokens,
            "clean_up_tokenization_spaces": False,
        }
        special_map = {**self.special_tokens_map, "additional_special_tokens": self.additional_special_tokens}
        written = []
        for name, data in [(TOKENIZER_CONFIG_FILE, config), (SPECIAL_TOKENS_MAP_FILE, special_map)]:
            path = folder / name
            path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            written.append(str(path))
        return (*files, *written)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool | None = None,
        **kwargs: Any,
    ) -> XLMTokenizer:
        """Load from a local folder or Hub repo holding ``vocab.json`` and ``merges.txt``.

        Settings come from, by priority: ``kwargs``; ``tokenizer_config.json``; ``config.json`` (``lang2id``/
        ``id2lang``, ``max_position_embeddings``); the known settings of the published checkpoint of that name
        (``do_lowercase_and_remove_accent``, languages, 512 positions), as its Hub repo has no tokenizer config.
        """
        folder = resolve_model_dir(
            name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            weights=False,
        )
        missing = [name for name in (VOCAB_FILE, MERGES_FILE) if not (folder / name).is_file()]
        if missing:
            raise ModelNotFoundError(
                f"{folder} has no {' or '.join(missing)}: an XLM tokenizer needs vocab.json and merges.txt."
            )
        settings = _known_settings(os.fspath(name_or_path))
        settings.update(_settings_from_model_config(folder))
        if (folder / TOKENIZER_CONFIG_FILE).is_file():
            settings.update(_settings_from_tokenizer_config(read_json(folder / TOKENIZER_CONFIG_FILE)))
        settings.update(kwargs)
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


def _settings_from_tokenizer_config(config: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of XLMTokenizer that a tokenizer_config.json sets (special tokens may be dicts)."""
    settings = _lang_settings(config)
    for key in ("do_lowercase_and_remove_accent", "model_max_length", *SPECIAL_TOKEN_NAMES):
        value = config.get(key)
        if isinstance(value, dict) and "content" in value:
            value = value["content"]
        if value is not None:
            settings[key] = value
    if "model_max_length" in settings and not 0 < settings["model_max_length"] < 1 << 40:
        settings["model_max_length"] = None  # transformers writes int(1e30) for "no limit"
    # transformers 4 writes additional_special_tokens, transformers 5 extra_special_tokens
    extra = config.get("additional_special_tokens") or config.get("extra_special_tokens")
    if isinstance(extra, dict):
        extra = list(extra.values())
    if extra:
        settings["additional_special_tokens"] = [t["content"] if isinstance(t, dict) else t for t in extra]
    return settings


def _piece_spans(pieces: tuple[str, ...], sources: list[list[int]], base: int) -> list[Span | None]:
    """Source span of each BPE piece of one word, from the source indices of the word's characters."""
    spans: list[Span | None] = []
    position = 0
    for k, piece in enumerate(pieces):
        length = len(piece) - (len(WORD_END) if k == len(pieces) - 1 and piece.endswith(WORD_END) else 0)
        indices = [i for char_sources in sources[position : position + length] for i in char_sources]
        spans.append((base + min(indices), base + max(indices) + 1) if indices else None)
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


def _as_list(value: TextInput, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError(f"{name} should be a string or a list of strings, got {type(value).__name__}.")


def _per_text(lang: str | Sequence[str] | None, n: int, name: str) -> list[str | None]:
    if lang is None or isinstance(lang, str):
        return [lang] * n
    langs = list(lang)
    if len(langs) != n:
        raise InputError(f"{name} has {len(langs)} languages for {n} texts.")
    return langs


def _truncation_strategy(truncation: bool | str) -> str:
    if truncation is True:
        return "longest_first"
    if truncation is False:
        return "do_not_truncate"
    if truncation in {"longest_first", "only_first", "only_second", "do_not_truncate"}:
        return truncation
    raise InputError(
        f"truncation should be True, False, 'longest_first', 'only_first', 'only_second' or 'do_not_truncate', "
        f"got {truncation!r}."
    )


def _truncate(a: Encoded, b: Encoded | None, budget: int, strategy: str) -> tuple[Encoded, Encoded | None]:
    """Cut tokens from the end of the texts so that they fit in ``budget`` tokens together (as transformers)."""
    if budget < 0:
        raise InputError("max_length is smaller than the special tokens alone.")
    len_a, len_b = len(a[0]), 0 if b is None else len(b[0])
    excess = len_a + len_b - budget
    if excess <= 0:
        return a, b
    if b is None or strategy == "only_first":
        cut_a, cut_b = excess, 0
    elif strategy == "only_second":
        cut_a, cut_b = 0, excess
    else:  # longest_first: the longer text down to the shorter one, then both evenly (the second one more if odd)
        first = min(abs(len_a - len_b), excess)
        rest = excess - first
        cut_a = first + rest // 2 if len_a > len_b else rest // 2
        cut_b = excess - cut_a
    if cut_a > len_a or cut_b > len_b:
        which = "first" if cut_a > len_a else "second"
        raise InputError(
            f"Cannot fit the input in max_length by cutting only the {which} text ({excess} too many)."
        )
    return _keep(a, len_a - cut_a), None if b is None else _keep(b, len_b - cut_b)


def _keep(encoded: Encoded, n: int) -> Encoded:
    ids, pieces, spans = encoded
    return ids[:n], pieces[:n], None if spans is None else spans[:n]


def _to_tensors(columns: dict[str, list], kind: str) -> dict[str, Any]:
    if kind != "pt":
        raise InputError(f"return_tensors should be None or 'pt', got {kind!r}.")
    import torch

    lengths = {len(row) for rows in columns.values() for row in rows}
    if len(lengths) > 1:
        raise InputError("Texts of different lengths cannot form one tensor: pass padding=True.")
    return {key: torch.tensor(rows, dtype=torch.long) for key, rows in columns.items()}
