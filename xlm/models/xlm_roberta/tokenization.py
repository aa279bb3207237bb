"""XLMRobertaTokenizer: SentencePiece (the ``sentencepiece`` package) with fairseq's ids, special tokens and offsets.

Reads and writes the Hugging Face files (``sentencepiece.bpe.model``, ``tokenizer_config.json``,
``special_tokens_map.json``) and gives the same ids as ``transformers.XLMRobertaTokenizer`` on them; a folder that
transformers 5 saved (``tokenizer.json`` alone) is read too.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sentencepiece

from ...errors import CorruptCheckpointError, InputError, MissingDependencyError, ModelNotFoundError
from ...files import read_json
from ...tokenization_utils import (
    SPECIAL_TOKEN_ATTRIBUTES,
    Encoded,
    Layout,
    PreTrainedTokenizer,
    Span,
    Trace,
)

SPM_FILE = "sentencepiece.bpe.model"
TOKENIZER_JSON = "tokenizer.json"
WORD_START = "▁"  # SentencePiece's mark of a space (and of the start of a text)
# fairseq's dictionary begins <s> <pad> </s> <unk>; SentencePiece's own <unk> <s> </s> are its pieces 0, 1, 2, so
# every other piece's id is its SentencePiece id + 1, and <mask> comes after the last piece.
FAIRSEQ_OFFSET = 1
SPM_CONTROL = ("<unk>", "<s>", "</s>")
# the special tokens that have a place of their own in fairseq's dictionary: its first four entries and the last
SLOTS = ("bos_token", "pad_token", "eos_token", "unk_token", "mask_token")


class XLMRobertaTokenizer(PreTrainedTokenizer):
    """Tokenizer of XLM-RoBERTa (Conneau et al., 2020) and XLM-RoBERTa-XL/XXL: SentencePiece, fairseq's ids.

    A text is normalised by the model's own rules (NFKC with SentencePiece's ``nmt_nfkc`` additions, runs of
    whitespace folded into one ``▁``, a ``▁`` put in front) and cut into pieces by the model (unigram for the
    published checkpoints, despite the file name; a BPE model works too). Ids are fairseq's: ``<s>`` 0,
    ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, each piece at its SentencePiece id + 1, ``<mask>`` last. Inputs are
    ``<s> A </s>`` or ``<s> A </s></s> B </s>``; token type ids are all 0. Special tokens written in the text
    (``<mask>``, ...) are kept whole. ``explain`` shows the steps ``normalize``, ``sentencepiece`` and ``ids``.

    ``lang`` is accepted everywhere for interface compatibility with :class:`~xlm.models.xlm.XLMTokenizer` and
    ignored: XLM-R has no language embeddings and one tokenisation for every language.

    ``from_pretrained`` reads ``sentencepiece.bpe.model``, or, in a folder that transformers 5 saved (it writes only
    ``tokenizer.json``), rebuilds the same unigram model from ``tokenizer.json`` (this needs ``protobuf``). Settings
    come from, by priority: keyword arguments; ``tokenizer_config.json``; ``config.json``
    (``model_max_length`` = ``max_position_embeddings - pad_token_id - 1``, the positions the model has).

    Differences from ``transformers.XLMRobertaTokenizer`` (a ``tokenizers`` unigram model built from the file):

    - A BPE ``sentencepiece.bpe.model`` is cut by BPE, as SentencePiece (and fairseq) cut it; transformers runs
      its unigram algorithm over the BPE pieces' scores, which cuts some words differently.
    - Offsets: a piece's span starts after the whitespace its ``▁`` stands for, as in transformers; a lone ``▁``
      piece gets the empty span at the start of the word it opens (transformers: the span of that word's first
      character, shared with the next piece); pieces of one character that NFKC expands (``㍻`` -> ``平成``) all
      get that character's span, as in transformers.
    - ``model_max_length`` is ``None`` (no limit) where no file sets it; transformers uses ``int(1e30)``.
    """

    special_token_names = SPECIAL_TOKEN_ATTRIBUTES
    vocab_files_names = (SPM_FILE,)
    pair_type_id = 0
    pair_truncation_halves = True
    length_after_padding = True
    matches_normalized = True

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        *,
        model_proto: bytes | None = None,
        model_max_length: int | None = None,
        bos_token: str = "<s>",
        eos_token: str = "</s>",
        sep_token: str = "</s>",
        cls_token: str = "<s>",
        unk_token: str = "<unk>",
        pad_token: str = "<pad>",
        mask_token: str = "<mask>",
        additional_special_tokens: Sequence[str] = (),
        add_prefix_space: bool = True,
        **kwargs: Any,
    ) -> None:
        """The SentencePiece model is a file (``vocab_file``) or its bytes (``model_proto``); ``kwargs`` are the
        base class's (``padding_side``, ``truncation_side``). ``add_prefix_space=False`` cuts each word without the
        ``▁`` that marks a word's start (and decodes without spaces), as transformers' tokenizer does with it."""
        if (vocab_file is None) == (model_proto is None):
            raise InputError("Give the SentencePiece model as vocab_file or as model_proto (one of them).")
        self.vocab_file = None if vocab_file is None else Path(vocab_file)
        if self.vocab_file is not None:
            if not self.vocab_file.is_file():
                raise ModelNotFoundError(f"{self.vocab_file.name} not found in {self.vocab_file.parent}")
            model_proto = self.vocab_file.read_bytes()
        source = self.vocab_file or "The SentencePiece model"
        self.sp_model = _load_model(model_proto, source)
        self.add_prefix_space = bool(add_prefix_space)
        self._bare_model = (
            None if self.add_prefix_space else _load_model(_without_prefix(model_proto), source)
        )
        self._model_proto, self._normalizer = model_proto, None  # the latter made when first needed
        pieces = [self.sp_model.id_to_piece(i) for i in range(len(SPM_CONTROL), len(self.sp_model))]
        vocab = {bos_token: 0, pad_token: 1, eos_token: 2, unk_token: 3}
        vocab.update({piece: i + len(SPM_CONTROL) + FAIRSEQ_OFFSET for i, piece in enumerate(pieces)})
        vocab[mask_token] = len(self.sp_model) + FAIRSEQ_OFFSET
        if len(vocab) != len(self.sp_model) + FAIRSEQ_OFFSET + 1:
            raise CorruptCheckpointError(f"{source} has pieces that repeat the special tokens.")
        specials = {
            "bos_token": bos_token,
            "eos_token": eos_token,
            "unk_token": unk_token,
            "sep_token": sep_token,
            "pad_token": pad_token,
            "cls_token": cls_token,
            "mask_token": mask_token,
        }
        super().__init__(
            vocab,
            specials,
            additional_special_tokens=additional_special_tokens,
            model_max_length=model_max_length,
            **kwargs,
        )
        # SentencePiece ids of its control pieces -> fairseq ids (it never emits <s> or </s> for text)
        self._from_spm_control = (self.unk_token_id, self.bos_token_id, self.eos_token_id)

    def __repr__(self) -> str:
        return f"XLMRobertaTokenizer(vocab_size={self.vocab_size}, model_max_length={self.model_max_length})"

    # -- family hooks ----------------------------------------------------------------------------------------------

    def _model_ids(self, spm_ids: Iterable[int]) -> list[int]:
        control = self._from_spm_control
        return [i + FAIRSEQ_OFFSET if i >= len(control) else control[i] for i in spm_ids]

    def _encode(self, text: str, lang: str | None, with_offsets: bool) -> Encoded:
        """With ``add_prefix_space=False`` no ``▁`` marks where words start: the words are then the text's
        whitespace-separated stretches and its added tokens, read from where each piece lies in the text."""
        if self.add_prefix_space:
            return super()._encode(text, lang, with_offsets)
        ids, pieces, spans, _ = super()._encode(text, lang, with_offsets=True)
        tokens, words = self.matched_tokens, []
        for i, (start, _) in enumerate(spans):
            joined = (
                i > 0
                and pieces[i] not in tokens
                and pieces[i - 1] not in tokens
                and not any(c.isspace() for c in text[spans[i - 1][1] : start])
            )
            words.append(words[-1] if joined else (words[-1] + 1 if words else 0))
        return ids, pieces, spans if with_offsets else None, words

    def _encode_chunk(
        self, chunk: str, lang: str | None, with_offsets: bool
    ) -> tuple[list[int], list[str], list[Span]]:
        """SentencePiece's pieces of ``chunk`` (an unknown one as its text, as transformers' ``tokenize`` gives it;
        ``lang`` is ignored), spans from the input positions SentencePiece reports."""
        if self._bare_model is None:
            found = self.sp_model.encode(chunk, return_type="offset_mapping")
            spans = _piece_spans(found["pieces"], found["offsets"], chunk) if with_offsets else []
            return self._model_ids(found["ids"]), found["pieces"], spans
        ids, pieces, spans = [], [], []
        for word in re.finditer(r"\S+", chunk):  # add_prefix_space=False: each word alone, no ▁ in front
            found = self._bare_model.encode(word.group(), return_type="offset_mapping")
            ids += self._model_ids(found["ids"])
            pieces += found["pieces"]
            if with_offsets:
                word_spans = _piece_spans(found["pieces"], found["offsets"], word.group())
                spans += [(start + word.start(), end + word.start()) for start, end in word_spans]
        return ids, pieces, spans

    def _normalize_with_offsets(self, text: str) -> tuple[str, list[int]]:
        """The model's normalisation of ``text`` (NFKC and its own rules) with whitespace left as written, as
        transformers' fast tokenizer normalises before it looks for normalized added tokens."""
        if self._normalizer is None:
            self._normalizer = _load_model(_normalization_only(self._model_proto), "The SentencePiece model")
        normalized, origin = self._normalizer.normalize(text, with_offsets=True)
        return normalized, list(origin)

    def _config_entries(self) -> dict[str, Any]:
        return {"add_prefix_space": self.add_prefix_space}

    @classmethod
    def _settings_from_tokenizer_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        settings = super()._settings_from_tokenizer_config(config)
        if isinstance(config.get("add_prefix_space"), bool):
            settings["add_prefix_space"] = config["add_prefix_space"]
        return settings

    def _special_layout(self, pair: bool) -> Layout:
        """``<s> A </s>`` or ``<s> A </s></s> B </s>``."""
        sep = self.sep_token_id
        return [self.cls_token_id], [sep, sep] if pair else [sep], [sep] if pair else []

    def convert_tokens_to_string(self, tokens: Iterable[str]) -> str:
        """Join pieces: each ``▁`` becomes a space, but the one that starts the text is dropped."""
        tokens = list(tokens)
        text = "".join(tokens).replace(WORD_START, " ")
        return text[1:] if tokens and tokens[0].startswith(WORD_START) else text

    def word_ends(self, tokens: Sequence[str]) -> list[bool]:
        """A word ends before each piece that starts one (``▁``) or is a special token, and at the last piece."""
        special = set(self.all_special_tokens)
        return [
            i == len(tokens) - 1 or tokens[i + 1].startswith(WORD_START) or tokens[i + 1] in special
            for i in range(len(tokens))
        ]

    # -- inspection ------------------------------------------------------------------------------------------------

    def _describe(self, lang: str | None) -> dict[str, Any]:
        return {
            "lang": lang,
            "lang_id": None,
            "segmenter": "sentencepiece",
            "do_lowercase_and_remove_accent": False,
        }

    def _steps(self, text: str, lang: str | None) -> Trace:
        normalized = [
            token if token is not None else self.sp_model.normalize(text[start:end])
            for start, end, token in self._chunks(text)
        ]
        ids, pieces, *_ = self._encode(text, lang, with_offsets=False)
        return [
            {"step": "normalize", "output": " ".join(part for part in normalized if part)},
            {"step": "sentencepiece", "output": pieces},
            {"step": "ids", "output": [str(i) for i in ids]},
        ]

    # -- files -----------------------------------------------------------------------------------------------------

    def save_vocabulary(
        self, save_directory: str | os.PathLike, filename_prefix: str | None = None
    ) -> tuple[str]:
        """Write the SentencePiece model as ``sentencepiece.bpe.model``."""
        folder = Path(save_directory)
        if not folder.is_dir():
            raise ModelNotFoundError(f"{folder} is not a folder.")
        path = folder / f"{filename_prefix + '-' if filename_prefix else ''}{SPM_FILE}"
        path.write_bytes(self.sp_model.serialized_model_proto())
        return (str(path),)

    @classmethod
    def _default_settings(cls, name_or_path: str, folder: Path) -> dict[str, Any]:
        """The length limit from config.json: the positions after ``pad_token_id``."""
        if not (folder / "config.json").is_file():
            return {}
        config = read_json(folder / "config.json")
        positions, pad = config.get("max_position_embeddings"), config.get("pad_token_id", 1)
        if isinstance(positions, int) and isinstance(pad, int):
            return {"model_max_length": positions - pad - 1}
        return {}

    @classmethod
    def _saved_added_tokens(cls, folder: Path) -> dict[str, tuple[int, dict[str, Any] | None]]:
        """Also the ``added_tokens`` of tokenizer.json, where transformers' fast tokenizer keeps them."""
        found = super()._saved_added_tokens(folder)
        if (folder / TOKENIZER_JSON).is_file():
            for entry in read_json(folder / TOKENIZER_JSON).get("added_tokens") or []:
                if isinstance(entry, dict) and isinstance(entry.get("content"), str):
                    found[entry["content"]] = (int(entry["id"]), entry)
        return found

    @classmethod
    def _from_folder(cls, folder: Path, settings: dict[str, Any]) -> XLMRobertaTokenizer:
        if not cls._missing_files(folder):
            return cls(folder / SPM_FILE, **settings)
        if not (folder / TOKENIZER_JSON).is_file():
            raise ModelNotFoundError(
                f"{folder} has no {SPM_FILE} (nor {TOKENIZER_JSON}): an XLM-RoBERTa tokenizer needs the "
                f"SentencePiece model of the checkpoint."
            )
        data = read_json(folder / TOKENIZER_JSON)
        model = _spm_model_from_tokenizer_json(data, folder / TOKENIZER_JSON)
        # the file names the tokens of fairseq's slots; a special token set to another one (saved by transformers
        # after `tokenizer.pad_token = "[PAD]"`) is added after the vocabulary, as transformers adds it
        vocab = data["model"]["vocab"]
        slots = dict(zip(SLOTS, [str(entry[0]) for entry in [*vocab[:4], vocab[-1]]], strict=True))
        tokenizer = cls(model_proto=model, **{**settings, **slots})
        for name in SLOTS:
            token = settings.get(name, slots[name])
            setattr(tokenizer, name, token)
            if token not in tokenizer.get_vocab():
                tokenizer.add_tokens(token, special_tokens=True)
        return tokenizer


# -- helpers -------------------------------------------------------------------------------------------------------


def _load_model(model_proto: bytes, source: object) -> sentencepiece.SentencePieceProcessor:
    """A SentencePiece processor of ``model_proto``, checked to hold fairseq's expected control pieces."""
    model = sentencepiece.SentencePieceProcessor()
    try:
        model.load_from_serialized_proto(model_proto)
    except (RuntimeError, OSError, ValueError) as err:
        raise CorruptCheckpointError(f"{source} is not a SentencePiece model: {err}") from err
    control = tuple(model.id_to_piece(i) for i in range(min(len(model), len(SPM_CONTROL))))
    if control != SPM_CONTROL or model.unk_id() != 0:
        raise CorruptCheckpointError(
            f"{source} should hold {', '.join(SPM_CONTROL)} as its pieces 0, 1, 2 (XLM-R's fairseq ids assume them); "
            f"it holds {', '.join(control)}."
        )
    return model


def _piece_spans(pieces: list[str], offsets: list[tuple[int, int]], chunk: str) -> list[Span]:
    """Spans of ``chunk`` per piece from SentencePiece's input positions: a ``▁``-piece starts after the
    whitespace it stands for, a lone ``▁`` is empty where the next piece starts, and each piece of a character that
    normalisation expanded (``㍻`` -> ``平成``) gets that character."""
    spans = []
    for piece, (start, end) in zip(pieces, offsets, strict=True):
        if piece.startswith(WORD_START):
            while start < end and (chunk[start].isspace() or not chunk[start].isprintable()):
                start += 1
        if start == end and piece != WORD_START:
            end = min(start + 1, len(chunk))
        spans.append((start, end))
    for k, piece in enumerate(pieces):
        if piece == WORD_START:
            at = spans[k + 1][0] if k + 1 < len(spans) else spans[k][1]
            spans[k] = (at, at)
    return spans


def _without_prefix(model_proto: bytes) -> bytes:
    """The same SentencePiece model without the ``▁`` it puts in front of a text (``add_dummy_prefix``)."""
    return _edited(model_proto, "add_prefix_space=False", add_dummy_prefix=False)


def _normalization_only(model_proto: bytes) -> bytes:
    """The same model normalising characters only: whitespace kept as written, no ``▁``."""
    return _edited(
        model_proto,
        "a normalized added token",
        add_dummy_prefix=False,
        escape_whitespaces=False,
        remove_extra_whitespaces=False,
    )


def _edited(model_proto: bytes, purpose: str, **normalizer: bool) -> bytes:
    """``model_proto`` with the given fields of its normalizer spec changed."""
    spm_pb2 = _model_pb2(purpose)
    proto = spm_pb2.ModelProto()
    proto.ParseFromString(model_proto)
    for name, value in normalizer.items():
        setattr(proto.normalizer_spec, name, value)
    return proto.SerializeToString()


def _model_pb2(purpose: str) -> Any:
    """SentencePiece's protobuf module (editing a model needs protobuf)."""
    try:
        from sentencepiece import sentencepiece_model_pb2
    except ImportError as err:
        raise MissingDependencyError(f"{purpose} needs protobuf (pip install protobuf).") from err
    return sentencepiece_model_pb2


def _spm_model_from_tokenizer_json(data: dict[str, Any], path: Path) -> bytes:
    """The SentencePiece unigram model (serialised) that a transformers ``tokenizer.json`` of XLM-R describes."""
    spm_pb2 = _model_pb2(
        f"{path.parent} has {TOKENIZER_JSON} but no {SPM_FILE} (or copy the original checkpoint's {SPM_FILE} into "
        f"the folder); reading {TOKENIZER_JSON}"
    )
    model = data.get("model") or {}
    vocab = model.get("vocab") or []
    fairseq = [str(entry[0]) for entry in vocab[:4]]
    # tokens added after the vocabulary are read with the other added tokens (see _saved_added_tokens)
    if model.get("type") != "Unigram" or fairseq != ["<s>", "<pad>", "</s>", "<unk>"]:
        raise CorruptCheckpointError(
            f"{path} does not describe an XLM-RoBERTa tokenizer (a unigram model whose vocabulary starts "
            f"<s> <pad> </s> <unk> and ends <mask>). Copy the original checkpoint's {SPM_FILE} into {path.parent}."
        )
    proto = spm_pb2.ModelProto()
    proto.trainer_spec.model_type = spm_pb2.TrainerSpec.UNIGRAM
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id, proto.trainer_spec.eos_id = 0, 1, 2
    proto.trainer_spec.pad_id = -1
    charsmap = _precompiled_charsmap(data.get("normalizer"))
    proto.normalizer_spec.name = "nmt_nfkc" if charsmap else "identity"
    proto.normalizer_spec.precompiled_charsmap = charsmap
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    kinds = (spm_pb2.ModelProto.SentencePiece.UNKNOWN, *[spm_pb2.ModelProto.SentencePiece.CONTROL] * 2)
    for piece, kind in zip(SPM_CONTROL, kinds, strict=True):
        proto.pieces.add(piece=piece, score=0.0, type=kind)
    for piece, score in vocab[len(SPM_CONTROL) + 1 : -1]:
        proto.pieces.add(piece=piece, score=score, type=spm_pb2.ModelProto.SentencePiece.NORMAL)
    return proto.SerializeToString()


def _precompiled_charsmap(normalizer: dict[str, Any] | None) -> bytes:
    """The SentencePiece normalisation rules a ``tokenizer.json`` normalizer carries (``b""`` for none)."""
    if not normalizer:
        return b""
    if normalizer.get("type") == "Precompiled":
        return base64.b64decode(normalizer.get("precompiled_charsmap") or "")
    inner = [_precompiled_charsmap(n) for n in normalizer.get("normalizers") or []]
    return next((charsmap for charsmap in inner if charsmap), b"")
