"""What every family's tokenizer shares: model inputs from texts (pairs, padding, truncation, tensors, offsets,
special-token masks, token types), ids back to text, vocabulary look-ups, and the Hub-format file plumbing.

A family subclasses :class:`PreTrainedTokenizer` and fills in its hooks:

- :meth:`~PreTrainedTokenizer._encode_chunk`: ids, pieces and source spans of a stretch of text that holds no
  special token (special tokens written in a text are found here and kept whole);
- :meth:`~PreTrainedTokenizer._special_layout`: the special tokens before, between and after the texts;
- :meth:`~PreTrainedTokenizer.convert_tokens_to_string`: how pieces join back into text;
- :meth:`~PreTrainedTokenizer.save_vocabulary` and :meth:`~PreTrainedTokenizer._from_folder`: the vocabulary files;
- :meth:`~PreTrainedTokenizer._describe` and :meth:`~PreTrainedTokenizer._steps`: what the tokenizer inspector shows.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import CorruptCheckpointError, InputError, UnknownLanguageError
from .files import read_json, resolve_model_dir

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKEN_ATTRIBUTES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)  # every special-token attribute transformers has; a family's special_token_names are the ones it sets
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
# transformers' clean-up of decoded text: the space before punctuation and English contractions goes
CLEAN_UPS = (" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're")
NO_LIMIT = 1 << 40  # transformers writes int(1e30) as model_max_length for "no limit"

TextInput = str | Sequence[str]
Span = tuple[int, int]
Encoded = tuple[
    list[int], list[str], list[Span] | None, list[int]
]  # ids, pieces, offsets, word index of one text
Layout = tuple[
    list[int], list[int], list[int]
]  # special ids before the first text, after it, after the second
Trace = list[dict[str, Any]]  # the inspector's steps: {"step": name, "output": str | list[str]}
TokenizerT = TypeVar("TokenizerT", bound="PreTrainedTokenizer")


@dataclass(frozen=True)
class AddedToken:
    """transformers' ``AddedToken``: a token added to the vocabulary, and where a text matches it. ``single_word``:
    not inside a word (the family says what a word boundary is); ``lstrip`` / ``rstrip``: the whitespace on its
    left / right goes with it; ``normalized`` (default: not ``special``): matched as the family normalises text
    (XLM lowercases such a token when it lowercases texts). transformers' and tokenizers' ``AddedToken`` objects
    are accepted wherever this one is."""

    content: str
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    special: bool = False
    normalized: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.content, str) or not self.content:
            raise InputError(f"An added token is a non-empty string, got {self.content!r}.")
        if self.normalized is None:
            object.__setattr__(self, "normalized", not self.special)

    def __str__(self) -> str:
        return self.content

    @classmethod
    def of(cls, token: Any, special: bool = False) -> AddedToken:
        """A string, or any object with ``AddedToken``'s attributes (transformers', tokenizers', a saved dict)."""
        if isinstance(token, str):
            return cls(token, special=special)
        fields = ("content", "single_word", "lstrip", "rstrip", "special", "normalized")
        if isinstance(token, dict):
            return cls(**{k: token[k] for k in fields if k in token})
        if not isinstance(getattr(token, "content", None), str):
            raise TypeError(f"add_tokens takes strings or AddedToken objects, got {token!r}.")
        values = {k: getattr(token, k) for k in fields if hasattr(token, k)}
        return cls(**{**values, "special": values.get("special", False) or special})


class BatchEncoding(dict):
    """The tokenizer's output: a dict of model inputs, also readable as attributes (``enc.input_ids``).

    Values are lists of ints (one list, or one per text for a batch), or ``torch.Tensor`` of shape
    ``(batch, length)`` with ``return_tensors="pt"``; ``offset_mapping`` is a list of ``(start, end)`` pairs per
    token, or a ``(batch, length, 2)`` tensor.
    """

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        word_ids: list[list[int | None]] | None = None,
        sequence_ids: list[list[int | None]] | None = None,
    ) -> None:
        """``word_ids`` and ``sequence_ids``: per row, each position's word and text index (``None`` for special
        tokens and padding), when a tokenizer made the encoding."""
        super().__init__(data or {})
        self.__dict__["_positions"] = {"word_ids": word_ids, "sequence_ids": sequence_ids}

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no {name!r}; it holds {', '.join(self)}") from None

    def __reduce__(self) -> tuple:
        return type(self), (dict(self), *self.__dict__.get("_positions", {}).values())

    def _row(self, key: str, batch_index: int) -> list[int | None]:
        rows = self.__dict__.get("_positions", {}).get(key)
        if rows is None:
            raise InputError(f"{key}() needs an encoding made by a tokenizer's __call__.")
        return list(rows[batch_index])

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """The index of the word (or, ``is_split_into_words``, of the given word) each position of row
        ``batch_index`` comes from; ``None`` for special tokens and padding."""
        return self._row("word_ids", batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0 for the first text's positions, 1 for the second's, ``None`` for special tokens and padding."""
        return self._row("sequence_ids", batch_index)

    def to(self, device: Any) -> BatchEncoding:
        """Move every tensor to ``device`` (a no-op for lists)."""
        moved = {k: v.to(device) if hasattr(v, "to") else v for k, v in self.items()}
        return BatchEncoding(moved, *self.__dict__.get("_positions", {}).values())


class PreTrainedTokenizer:
    """Base of the families' tokenizers: a fixed vocabulary (``encoder``: token -> id), special tokens that must be in
    it, and everything that turns texts into model inputs and back. See the module docstring for the hooks.

    ``lang`` is accepted everywhere; it is checked against ``lang2id`` where the family has language ids and passed
    to :meth:`_encode_chunk`, which may ignore it.
    """

    #: Names of the special-token attributes (``bos_token`` ...), in the order ``special_tokens_map`` lists them.
    special_token_names: ClassVar[tuple[str, ...]] = (
        "bos_token",
        "sep_token",
        "cls_token",
        "pad_token",
        "unk_token",
        "mask_token",
    )
    #: Names of the files that hold the vocabulary in a checkpoint folder.
    vocab_files_names: ClassVar[tuple[str, ...]] = ()
    #: Token type id of the second text's positions (and of the special tokens after it).
    pair_type_id: ClassVar[int] = 1
    #: Whether ``longest_first`` cuts a pair as transformers' fast tokenizers do (the shorter text keeps at most
    #: half of the room) rather than as its slow ones (one token at a time from the longer text).
    pair_truncation_halves: ClassVar[bool] = False
    #: ``return_length`` as transformers' fast tokenizers give it (the padded length, a list even for one text)
    #: rather than as its slow ones (a batch's lengths before padding; one text's padded length, as an int).
    length_after_padding: ClassVar[bool] = False
    #: What may not touch a ``single_word`` added token on either side (a regex character class), as transformers'
    #: fast tokenizers look at it; None where the family settles it after the match (its slow tokenizers).
    word_character: ClassVar[str | None] = r"\w"
    #: Whether added tokens that are ``normalized`` are looked for in the normalised text
    #: (:meth:`_normalize_with_offsets`), as transformers' fast tokenizers look for them.
    matches_normalized: ClassVar[bool] = False
    #: Language assumed when none is given.
    default_lang: ClassVar[str | None] = None
    #: The model inputs that ``__call__`` and :meth:`pad` return by default (as in transformers).
    model_input_names: ClassVar[list[str]] = ["input_ids", "attention_mask"]

    lang2id: dict[str, int] | None = None
    id2lang: dict[int, str] | None = None

    def __init__(
        self,
        vocab: dict[str, int],
        special_tokens: dict[str, str],
        *,
        additional_special_tokens: Sequence[str] = (),
        model_max_length: int | None = None,
        padding_side: str = "right",
        truncation_side: str = "right",
        clean_up_tokenization_spaces: bool = False,
    ) -> None:
        """``special_tokens`` maps each of :attr:`special_token_names` to its token; those the vocabulary lacks are
        added after it (as transformers adds them). ``padding_side`` and ``truncation_side`` (``"right"`` or
        ``"left"``) are where padding goes and where truncation cuts unless a call says otherwise;
        ``clean_up_tokenization_spaces`` is :meth:`decode`'s default."""
        self.encoder = vocab
        self.decoder = {i: t for t, i in vocab.items()}
        self.added_tokens_encoder: dict[str, int] = {}
        self.added_tokens_decoder: dict[int, str] = {}
        self.added_token_rules: dict[str, AddedToken] = {}  # how each added token is matched in a text
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.model_max_length = model_max_length
        self.padding_side = _side(padding_side, "padding_side")
        self.truncation_side = _side(truncation_side, "truncation_side")
        self.additional_special_tokens = list(additional_special_tokens)
        named = [special_tokens[name] for name in SPECIAL_TOKEN_ATTRIBUTES if name in special_tokens]
        for token in dict.fromkeys([*named, *self.additional_special_tokens]):
            if token not in vocab:
                self.added_tokens_encoder[token] = len(self)
                self.added_tokens_decoder[len(self) - 1] = token
        self._special_tokens = {name: special_tokens.get(name) for name in SPECIAL_TOKEN_ATTRIBUTES}
        self._refresh_specials()

    def _refresh_specials(self) -> None:
        """Recompute what depends on the set of special tokens (after one was set or added)."""
        self.all_special_tokens = list(
            dict.fromkeys(
                [t for t in self._special_tokens.values() if t is not None] + self.additional_special_tokens
            )
        )
        self.all_special_ids = [self.convert_tokens_to_ids(t) for t in self.all_special_tokens]
        # a special token outside the vocabulary (set by attribute) is not looked for: as in transformers, it is
        # not a token until saved and reloaded (then added after the vocabulary)
        known = [t for t in self.all_special_tokens if t in self.encoder or t in self.added_tokens_encoder]
        matched = sorted({*known, *self.added_tokens_encoder}, key=len, reverse=True)
        # where the family normalises texts, a normalized token is looked for in the normalised text (as
        # transformers' fast tokenizers do), after the others were looked for in the text as written
        self.matched_tokens = frozenset(matched)  # the added and special tokens looked for in texts
        later = [t for t in matched if self.matches_normalized and self._rule(t).normalized]
        self._matchers = (
            self._matcher([t for t in matched if t not in later]),
            self._matcher(later),
        )

    def _matcher(self, tokens: list[str]) -> tuple[list[str], re.Pattern[str]] | None:
        """The tokens (longest first) and one regex that finds any of them; None for no tokens."""
        return (tokens, re.compile("|".join(self._token_pattern(t) for t in tokens))) if tokens else None

    def _token_pattern(self, token: str) -> str:
        """The regex of one added or special token in a text, its own stretch as the group: whitespace around it
        where it strips it, and no word character beside it where it is a single word."""
        rule = self.added_token_rules.get(token, AddedToken(token, special=True))
        core = re.escape(token)
        if rule.single_word and self.word_character is not None:
            core = f"(?<!{self.word_character}){core}(?!{self.word_character})"
        left, right = (r"\s*" if strip else "" for strip in (rule.lstrip, rule.rstrip))
        return f"{left}({core}){right}"

    # -- family hooks ----------------------------------------------------------------------------------------------

    def _encode_chunk(
        self, chunk: str, lang: str | None, with_offsets: bool
    ) -> tuple[list[int], list[str], list]:
        """Ids, pieces and (when ``with_offsets``) each piece's ``(start, end)`` span of ``chunk`` (``None`` where
        the family cannot tell: :meth:`_complete_spans` fills those) of a text that holds no special token."""
        raise NotImplementedError

    def _complete_spans(self, spans: list, text: str) -> list[Span]:
        """The final offsets of a whole text's tokens from the spans :meth:`_encode_chunk` gave (as they are)."""
        return spans

    def _special_layout(self, pair: bool) -> Layout:
        """Special-token ids before the first text, right after it, and after the second text (if ``pair``)."""
        raise NotImplementedError

    def convert_tokens_to_string(self, tokens: Iterable[str]) -> str:
        """Join pieces back into text."""
        raise NotImplementedError

    def word_ends(self, tokens: Sequence[str]) -> list[bool]:
        """For each piece, whether a word ends with it (a special token ends the word before it; the last piece
        always ends one)."""
        raise NotImplementedError

    def save_vocabulary(
        self, save_directory: str | os.PathLike, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        """Write the vocabulary files into an existing folder; return their paths."""
        raise NotImplementedError

    def _config_entries(self) -> dict[str, Any]:
        """The family's own settings written into ``tokenizer_config.json`` (as its keyword arguments name them)."""
        return {}

    @classmethod
    def _from_folder(cls: type[TokenizerT], folder: Path, settings: dict[str, Any]) -> TokenizerT:
        """Build the tokenizer from a checkpoint folder's vocabulary files and the gathered keyword arguments."""
        raise NotImplementedError

    @classmethod
    def _default_settings(cls, name_or_path: str, folder: Path) -> dict[str, Any]:
        """Keyword arguments known before ``tokenizer_config.json`` is read (e.g. from ``config.json``)."""
        return {}

    def _describe(self, lang: str | None) -> dict[str, Any]:
        """The inspector's header: ``lang``, ``lang_id``, ``segmenter``, ``do_lowercase_and_remove_accent``."""
        raise NotImplementedError

    def _steps(self, text: str, lang: str | None) -> Trace:
        """The inspector's steps from ``text`` to pieces, special tokens written in the text kept whole."""
        raise NotImplementedError

    # -- vocabulary --------------------------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def __len__(self) -> int:
        return len(self.encoder) + len(self.added_tokens_encoder)

    def get_vocab(self) -> dict[str, int]:
        return {**self.encoder, **self.added_tokens_encoder}

    def add_tokens(
        self, new_tokens: str | AddedToken | Sequence[str | AddedToken], special_tokens: bool = False
    ) -> int:
        """Add tokens (strings or :class:`AddedToken`) to the vocabulary (ids from ``len(self)`` on); they are never
        split, in any text, and matched as their ``lstrip`` / ``rstrip`` / ``single_word`` / ``normalized`` say.
        With ``special_tokens`` they also join the special tokens (skipped by ``decode(skip_special_tokens=True)``).
        Returns how many were new; empty strings (and ``None`` for all of them) add nothing, as in transformers."""
        if new_tokens is None:
            return 0
        many = isinstance(new_tokens, Sequence) and not isinstance(new_tokens, str)
        given = [
            AddedToken.of(t, special=special_tokens)
            for t in (new_tokens if many else [new_tokens])
            if t != ""
        ]
        added = 0  # all checked before any is added
        for rule in map(self._normalize_added, given):
            token = rule.content
            self.added_token_rules[token] = rule
            if token not in self.encoder and token not in self.added_tokens_encoder:
                self.added_tokens_encoder[token] = len(self)
                self.added_tokens_decoder[len(self) - 1] = token
                added += 1
            if rule.special and token not in self.all_special_tokens:
                self.additional_special_tokens.append(token)
        self._refresh_specials()
        return added

    def _normalize_added(self, token: AddedToken) -> AddedToken:
        """The token as the family stores it (a hook: XLM lowercases normalized ones, as transformers does)."""
        return token

    def add_special_tokens(self, special_tokens_dict: dict[str, str | Sequence[str]]) -> int:
        """Add special tokens, by attribute (``{"pad_token": "<pad>"}`` sets ``pad_token``) or as
        ``additional_special_tokens``; returns how many were new to the vocabulary."""
        added = 0
        for name, value in special_tokens_dict.items():
            if name == "additional_special_tokens":
                added += self.add_tokens(list(value), special_tokens=True)
            elif name in SPECIAL_TOKEN_ATTRIBUTES and isinstance(value, str | AddedToken):
                added += self.add_tokens(value, special_tokens=True)
                setattr(self, name, str(value))
            else:
                raise InputError(
                    f"add_special_tokens takes {', '.join(SPECIAL_TOKEN_ATTRIBUTES)} (a token each) or "
                    f"additional_special_tokens (a list), got {name!r}."
                )
        return added

    @property
    def special_tokens_map(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.special_token_names}

    def __getattr__(self, name: str) -> Any:
        """``bos_token`` ... and ``bos_token_id`` ...: the special tokens and their ids (``None`` where unset)."""
        specials = self.__dict__.get("_special_tokens")
        if specials is not None:
            if name in specials:
                return specials[name]
            if name.endswith("_id") and name[:-3] in specials:
                token = specials[name[:-3]]
                return None if token is None else self.convert_tokens_to_ids(token)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """Setting a special token (``pad_token``) or its id (``pad_token_id``) updates the other, as in
        transformers."""
        specials = self.__dict__.get("_special_tokens")
        if specials is not None and name.endswith("_id") and name[:-3] in specials:
            name, value = name[:-3], None if value is None else self.convert_ids_to_tokens(int(value))
        if specials is not None and name in specials:
            specials[name] = None if value is None else str(value)
            self._refresh_specials()
            return
        super().__setattr__(name, value)

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """Id of a token (``<unk>``'s for unknown ones), or ids of a list of tokens."""
        if isinstance(tokens, str):
            found = self.added_tokens_encoder.get(tokens, self.encoder.get(tokens))
            return self.convert_tokens_to_ids(self.unk_token) if found is None else found
        return [self.convert_tokens_to_ids(t) for t in tokens]

    def convert_ids_to_tokens(
        self, ids: int | Iterable[int], skip_special_tokens: bool = False
    ) -> str | list[str]:
        """Token of an id (``<unk>`` for ids outside the vocabulary), or tokens of a list of ids."""
        if isinstance(ids, int) or (hasattr(ids, "ndim") and ids.ndim == 0):
            return self.decoder.get(int(ids)) or self.added_tokens_decoder.get(int(ids), self.unk_token)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self.convert_ids_to_tokens(int(i)) for i in ids if int(i) not in skip]

    def decode(
        self,
        ids: int | Iterable[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> str:
        """The text of ``ids`` (special tokens written out unless ``skip_special_tokens``); with
        ``clean_up_tokenization_spaces`` (default: the tokenizer's setting) without the space before punctuation
        and English contractions, as transformers cleans up."""
        tokens = self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens)
        text = self.convert_tokens_to_string([tokens] if isinstance(tokens, str) else tokens)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        if clean_up_tokenization_spaces:
            for spaced in CLEAN_UPS:
                text = text.replace(spaced, spaced.strip() if spaced != " ' " else "'")
        return text

    def batch_decode(self, sequences: Iterable[Iterable[int]], **kwargs: Any) -> list[str]:
        """:meth:`decode` of each sequence (same keyword arguments)."""
        return [self.decode(ids, **kwargs) for ids in sequences]

    # -- texts to pieces ---------------------------------------------------------------------------------------------

    def _check_lang(self, lang: str | None) -> str | None:
        if lang is None:
            return self.default_lang
        if not isinstance(lang, str):
            raise InputError(f"lang should be a language code such as 'en', got {lang!r}.")
        if self.lang2id and lang not in self.lang2id:
            raise UnknownLanguageError(
                f"Unknown language {lang!r} for this tokenizer; it knows: {', '.join(self.lang2id)}."
            )
        return lang

    def _chunks(self, text: str) -> Iterable[tuple[int, int, str | None]]:
        """(start, end, token) stretches of ``text``: the added and special tokens written in it, whole (``token``
        is the one matched; its stretch takes in the whitespace it strips, as transformers' offsets do), and the
        text between them (``token`` None)."""
        written, normalized = self._matchers
        for start, end, token in _stretches(written, text, None, 0, len(text)):
            if token is not None or normalized is None or start == end:
                yield start, end, token
                continue
            norm, origin = self._normalize_with_offsets(text[start:end])
            yield from _stretches(normalized, norm, origin, start, end) if norm else [(start, end, None)]

    def _normalize_with_offsets(self, text: str) -> tuple[str, list[int]]:
        """The family's normalised ``text`` and, for each of its characters and its end, the position in ``text``
        it comes from (needed where :attr:`matches_normalized`)."""
        raise NotImplementedError

    def _encode(self, text: str, lang: str | None, with_offsets: bool) -> Encoded:
        """Ids and pieces of ``text`` (no special tokens added), and their offsets when ``with_offsets``."""
        if not isinstance(text, str):
            raise InputError(f"Expected text as a string, got {type(text).__name__}.")
        ids: list[int] = []
        pieces: list[str] = []
        spans: list = []
        for start, end, token in self._chunks(text):
            if token is not None:
                ids.append(self.convert_tokens_to_ids(token))
                pieces.append(token)
                spans.append((start, end))
                continue
            chunk_ids, chunk_pieces, chunk_spans = self._encode_chunk(text[start:end], lang, with_offsets)
            ids.extend(chunk_ids)
            pieces.extend(chunk_pieces)
            if with_offsets:
                spans.extend(
                    None if span is None else (span[0] + start, span[1] + start) for span in chunk_spans
                )
        return (
            ids,
            pieces,
            self._complete_spans(spans, text) if with_offsets else None,
            self._word_index(pieces),
        )

    def _word_index(self, pieces: list[str]) -> list[int]:
        """The index of the word that each piece belongs to (words as :meth:`word_ends` delimits them)."""
        index, word = [], 0
        for end in self.word_ends(pieces) if pieces else []:
            index.append(word)
            word += end
        return index

    def _encode_words(self, words: Sequence[str], lang: str | None, with_offsets: bool) -> Encoded:
        """A text given as words (``is_split_into_words``): each word encoded alone, offsets within it."""
        if isinstance(words, str) or not all(isinstance(w, str) for w in words):
            raise InputError("is_split_into_words=True takes a list of words (or one list per text).")
        parts = [self._encode(word, lang, with_offsets) for word in words]
        return (
            [i for part in parts for i in part[0]],
            [piece for part in parts for piece in part[1]],
            [span for part in parts for span in part[2]] if with_offsets else None,
            [index for index, part in enumerate(parts) for _ in part[0]],
        )

    def tokenize(self, text: str, lang: str | None = None) -> list[str]:
        """The pieces of ``text``, special tokens written in it kept whole."""
        return self._encode(text, self._check_lang(lang), with_offsets=False)[1]

    # -- model inputs ------------------------------------------------------------------------------------------------

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """The ids of one input: the texts' ids between the family's special tokens."""
        return _lay_out(self._special_layout(token_ids_1 is not None), token_ids_0, token_ids_1)

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
        second = None if token_ids_1 is None else [0] * len(token_ids_1)
        return _lay_out(self._special_layout(second is not None), [0] * len(token_ids_0), second, (1, 1))

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """0 over the first text and the special tokens up to its end, :attr:`pair_type_id` over the rest."""
        kind = self.pair_type_id
        second = None if token_ids_1 is None else [kind] * len(token_ids_1)
        return _lay_out(self._special_layout(second is not None), [0] * len(token_ids_0), second, (0, kind))

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return sum(len(ids) for ids in self._special_layout(pair))

    def encode(
        self, text: str, text_pair: str | None = None, *, lang: str | None = None, **kwargs: Any
    ) -> Any:
        """Ids of ``text`` (and ``text_pair``): ``__call__``'s ``input_ids`` with the same keyword arguments
        (``add_special_tokens``, ``max_length``, ``truncation``, ``padding``, ``return_tensors`` ...)."""
        return self(text, text_pair, lang=lang, **kwargs)["input_ids"]

    def __call__(
        self,
        text: TextInput,
        text_pair: TextInput | None = None,
        *,
        lang: str | Sequence[str] | None = None,
        pair_lang: str | Sequence[str] | None = None,
        is_split_into_words: bool = False,
        **options: Any,
    ) -> BatchEncoding:
        """Encode a text or a batch of texts (optionally paired) into model inputs.

        ``lang`` (one code, or one per text) selects the language; ``pair_lang`` the second texts' (default:
        ``lang``). With ``is_split_into_words``, a text is a list of words (a batch: a list of such lists), each
        encoded alone, as transformers' fast tokenizers do. ``options`` are those of :meth:`prepare_for_model`. Keys: the :attr:`model_input_names`, and on
        request ``token_type_ids``, ``special_tokens_mask``, ``offset_mapping`` (spans in the original texts,
        ``(0, 0)`` for added special tokens), ``langs`` (language id of every position; by default whenever
        ``lang`` is given and the tokenizer has ``lang2id``). A single text gives flat lists, a batch lists of
        lists; ``return_tensors="pt"`` gives ``torch`` tensors of shape ``(batch, length)``.
        """
        if is_split_into_words:
            batched = bool(text) and not isinstance(text[0], str)
            texts = list(text) if batched else [text]
            pairs = [None] * len(texts) if text_pair is None else list(text_pair) if batched else [text_pair]
            encode = self._encode_words
        else:
            batched = not isinstance(text, str)
            texts = _as_list(text, "text")
            pairs = [None] * len(texts) if text_pair is None else _as_list(text_pair, "text_pair")
            encode = self._encode
        if len(pairs) != len(texts) or (batched and isinstance(text_pair, str)):
            raise InputError(f"Got {len(texts)} texts but {len(pairs)} text pairs: give one pair per text.")
        langs = _per_text(lang, len(texts), "lang")
        pair_langs = langs if pair_lang is None else _per_text(pair_lang, len(texts), "pair_lang")
        if options.get("return_langs") is None:
            options["return_langs"] = lang is not None and bool(self.lang2id)
        if options["return_langs"] and (lang is None or not self.lang2id):
            raise InputError("return_langs=True needs lang=... and a tokenizer with lang2id.")
        offsets = options.get("return_offsets_mapping", False)
        examples = []
        for first, second, lang_a, lang_b in zip(texts, pairs, langs, pair_langs, strict=True):
            a = encode(first, self._check_lang(lang_a), offsets)
            b = None if second is None else encode(second, self._check_lang(lang_b), offsets)
            examples.append((a, b, lang_a, lang_b))
        return self._build(examples, batched, **options)

    def prepare_for_model(
        self, ids: list[int], pair_ids: list[int] | None = None, **options: Any
    ) -> BatchEncoding:
        """Model inputs of already tokenized ids (and a second text's): special tokens, truncation, padding and
        the columns asked for, as ``__call__`` gives them for one text (options as :meth:`_build` takes them)."""
        if options.get("return_offsets_mapping"):
            raise InputError(
                "prepare_for_model takes ids, which carry no offsets: drop return_offsets_mapping."
            )

        def encoded(values: list[int]) -> Encoded:
            pieces = self.convert_ids_to_tokens(values)
            return list(values), pieces, None, self._word_index(pieces)

        pair = None if pair_ids is None else encoded(pair_ids)
        return self._build([(encoded(ids), pair, None, None)], False, **options)

    def _build(
        self,
        examples: list[tuple[Encoded, Encoded | None, str | None, str | None]],
        batched: bool,
        *,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        return_langs: bool = False,
    ) -> BatchEncoding:
        """The model inputs of encoded texts: special tokens added (``add_special_tokens``), cut to ``max_length``
        (default: ``model_max_length``) by ``truncation`` (``True``/``"longest_first"``, ``"only_first"``,
        ``"only_second"``) on :attr:`truncation_side`, padded by ``padding`` (``True``/``"longest"`` or
        ``"max_length"``, to a multiple of ``pad_to_multiple_of``) on ``padding_side`` (default
        :attr:`padding_side`); ``return_*`` pick the columns (``None``: as :attr:`model_input_names` says).

        ``return_overflowing_tokens``: a text too long for ``max_length`` gives several rows, windows that overlap
        by ``stride`` tokens (the text cut by ``only_first``/``only_second`` for a pair, the other repeated), and
        ``overflow_to_sample_mapping`` names each row's example; the output is then always a batch (as
        transformers' fast tokenizers give it). ``return_length``: each row's length, as
        :attr:`length_after_padding` says."""
        if truncation is None:  # transformers: a max_length without padding means truncation
            truncation = max_length is not None and padding in (False, "do_not_pad")
        strategy = _truncation_strategy(truncation)
        if strategy != "do_not_truncate" and max_length is None:
            max_length = self.model_max_length
        budget = None
        if strategy != "do_not_truncate" and max_length is not None:
            pair = examples[0][1] is not None if examples else False
            budget = max_length - (self.num_special_tokens_to_add(pair) if add_special_tokens else 0)
        wanted = {
            "input_ids": True,
            "token_type_ids": self._wants("token_type_ids", return_token_type_ids),
            "attention_mask": self._wants("attention_mask", return_attention_mask),
            "special_tokens_mask": return_special_tokens_mask,
            "offset_mapping": return_offsets_mapping,
            "langs": return_langs,
        }
        rows, samples = [], []
        for index, (a, b, lang_a, lang_b) in enumerate(examples):
            parts = [(a, b)]
            if budget is not None:
                cut = (budget, strategy, self.truncation_side, self.pair_truncation_halves)
                parts = _windows(a, b, *cut, stride) if return_overflowing_tokens else [_truncate(a, b, *cut)]
            for part_a, part_b in parts:
                rows.append(self._example(part_a, part_b, lang_a, lang_b, add_special_tokens))
                samples.append(index)
        wanted.update(word_ids=True, sequence_ids=True)
        columns = {key: [row[key] for row in rows] for key, on in wanted.items() if on}
        lengths = [len(ids) for ids in columns["input_ids"]]
        columns = self._pad(columns, padding, max_length, pad_to_multiple_of, padding_side)
        positions = {key: columns.pop(key) for key in ("word_ids", "sequence_ids")}
        if return_overflowing_tokens:
            batched = True
            columns["overflow_to_sample_mapping"] = samples
        if return_length:  # a slow tokenizer counts a batch before padding, one text padded
            padded = self.length_after_padding or not batched
            columns["length"] = [len(ids) for ids in columns["input_ids"]] if padded else lengths
        if return_tensors is not None:
            return BatchEncoding(_to_tensors(columns, return_tensors), **positions)
        if not batched:
            # a fast tokenizer's one text keeps its length as a list
            keep = {"length"} if self.length_after_padding else set()
            columns = {k: v if k in keep else v[0] for k, v in columns.items()}
        return BatchEncoding(columns, **positions)

    def _wants(self, key: str, asked: bool | None) -> bool:
        """Whether to return the column ``key``: as asked, else whether it is one of :attr:`model_input_names`."""
        return key in self.model_input_names if asked is None else bool(asked)

    def pad(
        self,
        encoded_inputs: dict[str, list] | Sequence[dict[str, list]],
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
    ) -> BatchEncoding:
        """Pad encodings (a list of them, or one whose values are lists of rows or a single row) to one length,
        as ``__call__`` pads; an attention mask is added unless ``return_attention_mask=False`` (or
        :attr:`model_input_names` lacks it); one already there is padded (transformers leaves it unpadded when
        ``return_attention_mask=False``)."""
        if isinstance(encoded_inputs, Sequence):
            if not encoded_inputs:
                raise InputError("pad() got no encodings.")
            columns = {key: [_plain(e[key]) for e in encoded_inputs] for key in encoded_inputs[0]}
            batched = True
        else:
            columns = {key: _plain(value) for key, value in encoded_inputs.items()}
            batched = bool(columns["input_ids"]) and isinstance(columns["input_ids"][0], list)
            if not batched:
                columns = {key: [value] for key, value in columns.items()}
        if "input_ids" not in columns:
            raise InputError(f"pad() needs input_ids; the encodings hold {', '.join(columns)}.")
        if self._wants("attention_mask", return_attention_mask):
            columns.setdefault("attention_mask", [[1] * len(ids) for ids in columns["input_ids"]])
        columns = self._pad(columns, padding, max_length, pad_to_multiple_of, padding_side)
        if return_tensors is not None:
            tensors = _to_tensors(columns, return_tensors)
            return BatchEncoding(tensors if batched else {k: v[0] for k, v in tensors.items()})
        return BatchEncoding(columns if batched else {k: v[0] for k, v in columns.items()})

    def _example(
        self, a: Encoded, b: Encoded | None, lang_a: str | None, lang_b: str | None, add_special_tokens: bool
    ) -> dict[str, list]:
        """Every model-input column of one example (before padding)."""
        ids_a, _, spans_a, words_a = a
        ids_b, _, spans_b, words_b = (None, None, None, None) if b is None else b
        layout = self._special_layout(b is not None) if add_special_tokens else ([], [], [])
        lang_ids = self.lang2id or {}
        la, lb = lang_ids.get(lang_a or "", 0), lang_ids.get(lang_b or "", 0)
        input_ids = _lay_out(layout, ids_a, ids_b)
        kind = self.pair_type_id
        none: Span = (0, 0)
        return {
            "input_ids": input_ids,
            "token_type_ids": _lay_out(layout, [0] * len(ids_a), _same(ids_b, kind), (0, kind)),
            "attention_mask": [1] * len(input_ids),
            "special_tokens_mask": _lay_out(layout, [0] * len(ids_a), _same(ids_b, 0), (1, 1)),
            "offset_mapping": _lay_out(
                layout, spans_a or [], None if b is None else spans_b or [], (none, none)
            ),
            "langs": _lay_out(layout, [la] * len(ids_a), _same(ids_b, lb), (la, lb)),
            "word_ids": _lay_out(layout, words_a, words_b, (None, None)),
            "sequence_ids": _lay_out(layout, [0] * len(ids_a), _same(ids_b, 1), (None, None)),
        }

    def _pad(
        self,
        columns: dict[str, list],
        padding: bool | str,
        max_length: int | None,
        multiple: int | None,
        side: str | None,
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
        left = _side(side or self.padding_side, "padding_side") == "left"
        fill = {
            "input_ids": self.pad_token_id,
            "token_type_ids": 0,
            "attention_mask": 0,
            "special_tokens_mask": 1,
            "offset_mapping": (0, 0),
            "word_ids": None,
            "sequence_ids": None,
        }
        padded = {}
        for key, rows in columns.items():
            padded[key] = []
            for row in rows:
                edge = row[0 if left else -1] if row else 0
                extra = [fill[key] if key != "langs" else edge] * (target - len(row))
                padded[key].append(extra + row if left else row + extra)
        return padded

    # -- inspection --------------------------------------------------------------------------------------------------

    def explain(self, text: str, lang: str | None = None, add_special_tokens: bool = False) -> dict[str, Any]:
        """Every step of the tokenization of ``text``, as plain JSON-able data (for a tokenizer inspector).

        Returns ``{"text", "lang", "lang_id", "segmenter", "do_lowercase_and_remove_accent", "steps", "tokens",
        "ids", "offsets"}``. ``steps`` is a list of ``{"step": name, "output": str | list[str]}`` in pipeline order
        (the family's class docstring names them); ``offsets`` are ``[start, end]`` spans of ``text`` per token.
        """
        code = self._check_lang(lang)
        steps = self._steps(text, code)
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
            **self._describe(code),
            "steps": steps,
            "tokens": self.convert_ids_to_tokens(enc["input_ids"]),
            "ids": enc["input_ids"],
            "offsets": [list(span) for span in enc["offset_mapping"]],
        }

    # -- files -------------------------------------------------------------------------------------------------------

    def save_pretrained(self, save_directory: str | os.PathLike) -> tuple[str, ...]:
        """Write the vocabulary files, ``tokenizer_config.json`` and ``special_tokens_map.json`` (Hub format)."""
        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        files = self.save_vocabulary(folder)
        config = {
            "tokenizer_class": type(self).__name__,
            **self._config_entries(),
            "model_max_length": self.model_max_length,
            **self.special_tokens_map,
            "additional_special_tokens": self.additional_special_tokens,
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
            "padding_side": self.padding_side,
            "truncation_side": self.truncation_side,
            # as transformers writes it: each added token's id and how it is matched
            "added_tokens_decoder": {
                str(index): asdict(self._rule(token)) for index, token in self.added_tokens_decoder.items()
            },
        }
        special_map = {**self.special_tokens_map, "additional_special_tokens": self.additional_special_tokens}
        written = []
        files_data = [(TOKENIZER_CONFIG_FILE, config), (SPECIAL_TOKENS_MAP_FILE, special_map)]
        if self.added_tokens_encoder:
            files_data.append((ADDED_TOKENS_FILE, self.added_tokens_encoder))
        for name, data in files_data:
            path = folder / name
            path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            written.append(str(path))
        return (*files, *written)

    @classmethod
    def from_pretrained(
        cls: type[TokenizerT],
        name_or_path: str | os.PathLike,
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool | None = None,
        subfolder: str = "",
        token: str | bool | None = None,
        **kwargs: Any,
    ) -> TokenizerT:
        """Load from a local folder or Hub repo (or its ``subfolder``; ``token`` for a gated or private repo)
        holding the family's vocabulary files.

        Settings come from, by priority: ``kwargs``; ``tokenizer_config.json``; what the family knows beforehand
        (the model's ``config.json``, the published checkpoint of that name; see the family's class).
        """
        folder = resolve_model_dir(
            name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            weights=False,
            token=token,
            subfolder=subfolder,
        )
        settings = cls._default_settings(os.fspath(name_or_path), folder)
        if (folder / TOKENIZER_CONFIG_FILE).is_file():
            settings.update(cls._settings_from_tokenizer_config(read_json(folder / TOKENIZER_CONFIG_FILE)))
        settings.update(kwargs)
        saved = cls._saved_added_tokens(folder)
        extra = settings.get("additional_special_tokens")
        if saved and extra is not None:  # added special tokens are not in the vocabulary files: added below
            settings["additional_special_tokens"] = [t for t in extra if t not in saved]
        tokenizer = cls._from_folder(folder, settings)
        for token, (index, rule) in sorted(saved.items(), key=lambda item: item[1][0]):
            rule = AddedToken.of(rule or token, special=token in (extra or ()))
            if token in tokenizer.encoder or index < len(tokenizer):  # in the vocabulary: how it is matched
                tokenizer.added_token_rules[token] = rule
                tokenizer._refresh_specials()
                continue
            tokenizer.add_tokens(rule)
            if tokenizer.convert_tokens_to_ids(token) != index:
                raise CorruptCheckpointError(
                    f"{folder.name} gives the added token {token!r} the id {index}, but the next free id is "
                    f"{tokenizer.convert_tokens_to_ids(token)}."
                )
        if extra:  # in the order the files give them, those of the vocabulary files and the added ones alike
            tokenizer.additional_special_tokens = list(
                dict.fromkeys([*extra, *tokenizer.additional_special_tokens])
            )
            tokenizer._refresh_specials()
        return tokenizer

    def _rule(self, token: str) -> AddedToken:
        """How ``token`` (an added or special one) is matched in a text."""
        return self.added_token_rules.get(token) or AddedToken(
            token, special=token in self.all_special_tokens
        )

    @classmethod
    def _saved_added_tokens(cls, folder: Path) -> dict[str, tuple[int, dict[str, Any] | None]]:
        """token -> (id, its AddedToken fields or None) of the tokens a folder adds to the vocabulary files:
        added_tokens.json, and the ``added_tokens_decoder`` transformers writes into tokenizer_config.json."""
        found: dict[str, tuple[int, dict[str, Any] | None]] = {}
        if (folder / ADDED_TOKENS_FILE).is_file():
            found = {token: (index, None) for token, index in read_json(folder / ADDED_TOKENS_FILE).items()}
        if (folder / TOKENIZER_CONFIG_FILE).is_file():
            decoder = read_json(folder / TOKENIZER_CONFIG_FILE).get("added_tokens_decoder") or {}
            for index, entry in decoder.items():
                if isinstance(entry, dict) and isinstance(entry.get("content"), str):
                    found[entry["content"]] = (int(index), entry)
        return found

    @classmethod
    def _settings_from_tokenizer_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments a tokenizer_config.json sets: length limit and special tokens (which may be
        dicts); a family adds its own keys."""
        settings: dict[str, Any] = {}
        for key in (
            "model_max_length",
            "padding_side",
            "truncation_side",
            "clean_up_tokenization_spaces",
            *cls.special_token_names,
        ):
            value = config.get(key)
            if isinstance(value, dict) and "content" in value:
                value = value["content"]
            if value is not None:
                settings[key] = value
        if "model_max_length" in settings and not 0 < settings["model_max_length"] < NO_LIMIT:
            settings["model_max_length"] = None
        # transformers 4 writes additional_special_tokens, transformers 5 extra_special_tokens
        extra = config.get("additional_special_tokens") or config.get("extra_special_tokens")
        if isinstance(extra, dict):
            extra = list(extra.values())
        if extra:
            settings["additional_special_tokens"] = [
                t["content"] if isinstance(t, dict) else t for t in extra
            ]
        return settings

    @classmethod
    def _missing_files(cls, folder: Path) -> list[str]:
        """The vocabulary files that ``folder`` lacks."""
        return [name for name in cls.vocab_files_names if not (folder / name).is_file()]


# -- helpers -------------------------------------------------------------------------------------------------------


def _stretches(
    matcher: tuple[list[str], re.Pattern[str]] | None,
    text: str,
    origin: list[int] | None,
    start: int,
    end: int,
) -> Iterable[tuple[int, int, str | None]]:
    """(start, end, token) stretches of ``text`` as :meth:`PreTrainedTokenizer._chunks` gives them; positions are
    mapped through ``origin`` (a normalised text's positions in the text it came from) and moved to ``start``;
    the first stretch starts at ``start`` and the last ends at ``end`` whatever normalisation dropped there."""

    def where(i: int) -> int:
        return start if i == 0 else end if i == len(text) else start + (origin[i] if origin else i)

    at = 0
    for match in matcher[1].finditer(text) if matcher else ():
        if match.start() > at:
            yield where(at), where(match.start()), None
        yield where(match.start()), where(match.end()), matcher[0][(match.lastindex or 1) - 1]
        at = match.end()
    if at < len(text) or not text:
        yield where(at), end, None


def _lay_out(layout: Layout, first: list, second: list | None, fill: tuple[Any, Any] | None = None) -> list:
    """One input's column: the texts' values between the layout's special tokens, which are the special ids
    themselves, or with ``fill`` the value given to the first segment's (up to the end of the first text) and to the
    second's."""
    head, middle, tail = layout
    first_fill, second_fill = fill if fill is not None else (None, None)

    def specials(ids: list[int], value: Any) -> list:
        return list(ids) if fill is None else [value] * len(ids)

    column = [*specials(head, first_fill), *first, *specials(middle, first_fill)]
    return column if second is None else [*column, *second, *specials(tail, second_fill)]


def _same(ids: list[int] | None, value: Any) -> list | None:
    """``value`` at each position of an optional second text."""
    return None if ids is None else [value] * len(ids)


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


def _truncate(
    a: Encoded, b: Encoded | None, budget: int, strategy: str, side: str, halves: bool
) -> tuple[Encoded, Encoded | None]:
    """Cut tokens from the ``side`` end of the texts so that they fit in ``budget`` tokens together (as
    transformers; ``halves``: ``longest_first`` as its fast tokenizers cut pairs)."""
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
    elif halves:  # tokenizers' rule: the shorter text keeps at most half the budget, the longer the rest
        short = min(len_a, len_b, budget // 2)
        keep_a = short if len_a <= len_b else budget - short
        cut_a, cut_b = len_a - keep_a, excess - (len_a - keep_a)
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
    return _keep(a, len_a - cut_a, side), None if b is None else _keep(b, len_b - cut_b, side)


def _windows(
    a: Encoded, b: Encoded | None, budget: int, strategy: str, side: str, halves: bool, stride: int
) -> list[tuple[Encoded, Encoded | None]]:
    """The overflow windows of one example: the cut text in windows of the room truncation leaves it, each
    repeating the last ``stride`` tokens of the one before (from the ``side`` end first), the other text whole."""
    if b is not None and strategy == "longest_first":
        raise InputError(
            "return_overflowing_tokens with a pair needs truncation='only_first' or 'only_second' (which text to "
            "cut into windows)."
        )
    first, second = _truncate(a, b, budget, strategy, side, halves)
    cut_second = b is not None and strategy == "only_second"
    whole, kept = (b, second) if cut_second else (a, first)
    total, size = len(whole[0]), len(kept[0])
    if total > size and stride >= size:
        raise InputError(
            f"stride ({stride}) must be smaller than the room left for the text ({size} tokens)."
        )
    spans = []
    edge = 0 if side == "right" else total
    while True:
        start, end = (edge, min(edge + size, total)) if side == "right" else (max(edge - size, 0), edge)
        spans.append((start, end))
        if (end if side == "right" else total - start) >= total:
            break
        edge += (size - stride) * (1 if side == "right" else -1)
    parts = [_slice(whole, start, end) for start, end in spans]
    return [(a, part) if cut_second else (part, b) for part in parts]


def _keep(encoded: Encoded, n: int, side: str) -> Encoded:
    """The first ``n`` tokens of ``encoded`` (the last ``n`` when truncating on the left)."""
    total = len(encoded[0])
    return _slice(encoded, total - n, total) if side == "left" else _slice(encoded, 0, n)


def _slice(encoded: Encoded, start: int, end: int) -> Encoded:
    ids, pieces, spans, words = encoded
    return ids[start:end], pieces[start:end], None if spans is None else spans[start:end], words[start:end]


def _side(side: str, name: str) -> str:
    if side not in ("left", "right"):
        raise InputError(f"{name} should be 'left' or 'right', got {side!r}.")
    return side


def _plain(value: Any) -> Any:
    """Lists of a tensor's values (as lists), anything else as it is."""
    return value.tolist() if hasattr(value, "tolist") else value


def _to_tensors(columns: dict[str, list], kind: str) -> dict[str, Any]:
    if kind != "pt":
        raise InputError(f"return_tensors should be None or 'pt', got {kind!r}.")
    import torch

    lengths = {
        len(row)
        for key, rows in columns.items()
        if key not in ("overflow_to_sample_mapping", "length")
        for row in rows
    }
    if len(lengths) > 1:
        raise InputError("Texts of different lengths cannot form one tensor: pass padding=True.")
    return {key: torch.tensor(rows, dtype=torch.long) for key, rows in columns.items()}
