"""XLMRobertaTokenizer against transformers' XLMRobertaTokenizer on SentencePiece models trained from the shared data.

The published XLM-R vocabulary cannot be fetched here, so ``_spm`` trains two small models shaped like it (seconds):
a unigram one, the kind the published checkpoints hold despite the file name ``sentencepiece.bpe.model``, and a BPE
one. transformers 5 always runs ``tokenizers``' unigram algorithm over the file's pieces and scores, while
SentencePiece cuts a BPE model by BPE; so on the BPE model our ids are SentencePiece's own, and transformers' ids are
those of the unigram model that its saved ``tokenizer.json`` describes (both asserted below).

Known offset differences, asserted below: a lone ``▁`` piece has an empty span where the word it opens starts
(transformers gives it that word's first character, which the next piece covers too); a span ends after the
combining marks of a decomposed (NFD) character that its piece holds (transformers leaves the last mark out).
"""

from __future__ import annotations

import json
import pickle
import shutil
import unicodedata

import _spm
import pytest
import sentencepiece
import torch
from transformers import XLMRobertaTokenizer as HFTokenizer

from xlm.errors import CorruptCheckpointError, InputError, ModelNotFoundError
from xlm.models.xlm_roberta.tokenization import XLMRobertaTokenizer

SPM_FILE = "sentencepiece.bpe.model"
COLUMNS = ("input_ids", "attention_mask", "token_type_ids", "special_tokens_mask")


@pytest.fixture(scope="session")
def spm_folders(shared_data, tmp_path_factory):
    """kind -> folder holding only a freshly trained ``sentencepiece.bpe.model``."""
    root = tmp_path_factory.mktemp("spm")
    return {kind: _spm.train(shared_data, kind, root / kind) for kind in ("unigram", "bpe")}


@pytest.fixture(scope="module")
def unigram(spm_folders):
    folder = spm_folders["unigram"]
    return XLMRobertaTokenizer.from_pretrained(folder), HFTokenizer.from_pretrained(str(folder))


@pytest.fixture(scope="module")
def bpe(spm_folders):
    folder = spm_folders["bpe"]
    return XLMRobertaTokenizer.from_pretrained(folder), HFTokenizer.from_pretrained(str(folder))


@pytest.fixture(scope="module")
def texts(shared_data) -> list[str]:
    pairs = _spm.eval_texts(shared_data)
    langs = {lang for lang, _ in pairs}
    assert len(pairs) >= 2000 and len(langs) >= 10 and {"zh", "ja", "th", "ar", "hi", "ru", "el"} <= langs
    return [text for _, text in pairs]


def columns(enc) -> dict:
    """The integer columns of an encoding as plain lists (offsets as tuples), whatever produced it."""
    out = {k: enc[k].tolist() if hasattr(enc[k], "tolist") else enc[k] for k in COLUMNS if k in enc}
    if "offset_mapping" in enc:
        out["offset_mapping"] = [tuple(span) for span in enc["offset_mapping"]]
    return out


def fairseq_ids(sp: sentencepiece.SentencePieceProcessor, text: str) -> list[int]:
    """``<s> text </s>`` in fairseq's ids, straight from SentencePiece (its <unk> is fairseq's 3, pieces + 1)."""
    return [0, *[i + 1 if i else 3 for i in sp.encode(text)], 2]


# -- ids, masks, pairs --------------------------------------------------------------------------------------------


def test_ids_and_masks_match_transformers_on_2000_texts_in_18_languages(unigram, texts):
    ours, hf = unigram
    asked = {"return_special_tokens_mask": True, "return_token_type_ids": True}
    assert [t for t in texts if columns(ours(t, **asked)) != columns(hf(t, **asked))] == []
    assert columns(ours(texts, **asked)) == columns(hf(texts, **asked))
    assert [ours.tokenize(t) for t in texts] == [hf.tokenize(t) for t in texts]


def test_pairs_match_transformers(unigram, texts):
    ours, hf = unigram
    firsts, seconds = texts[0::2], texts[1::2][: len(texts[0::2])]
    asked = {"return_special_tokens_mask": True, "return_token_type_ids": True}
    assert columns(ours(firsts, seconds, **asked)) == columns(hf(firsts, seconds, **asked))
    enc = ours("Hello", "world")
    sep = ours.sep_token_id
    assert enc["input_ids"] == [0, *ours.encode("Hello")[1:-1], sep, sep, *ours.encode("world")[1:-1], sep]
    assert ours.num_special_tokens_to_add(pair=True) == hf.num_special_tokens_to_add(pair=True) == 4
    assert ours.encode("Hello", "world", add_special_tokens=False) == hf.encode(
        "Hello", "world", add_special_tokens=False
    )


def test_bpe_model_cuts_as_sentencepiece_where_transformers_cuts_by_unigram(
    bpe, spm_folders, texts, tmp_path
):
    ours, hf = bpe
    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_folders["bpe"] / SPM_FILE))
    plain = [t for t in texts if "<" not in t]  # no special tokens written in the text
    assert [ours.encode(t) for t in plain] == [fairseq_ids(sp, t) for t in plain]
    # transformers reads the BPE file as a unigram model: most texts are cut otherwise ...
    assert sum(ours.encode(t) != hf.encode(t) for t in plain) > len(plain) // 2
    # ... exactly as the unigram model its tokenizer.json describes, which we read back the same way.
    hf.save_pretrained(str(tmp_path))
    as_unigram = XLMRobertaTokenizer.from_pretrained(tmp_path)
    assert [as_unigram.encode(t) for t in texts] == [hf.encode(t) for t in texts]


def test_unigram_ids_are_sentencepiece_ids_plus_the_fairseq_offset(unigram, spm_folders, texts):
    ours, _ = unigram
    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_folders["unigram"] / SPM_FILE))
    plain = [t for t in texts if "<" not in t]
    assert [ours.encode(t) for t in plain] == [fairseq_ids(sp, t) for t in plain]
    assert ours.mask_token_id == len(sp) + 1 == len(ours) - 1 and ours.vocab_size == len(sp) + 2


def test_special_tokens_and_vocabulary_match_transformers(unigram):
    ours, hf = unigram
    assert ours.get_vocab() == hf.get_vocab()
    assert ours.special_tokens_map == dict(hf.special_tokens_map)
    assert set(ours.all_special_tokens) == set(hf.all_special_tokens)
    assert set(ours.all_special_ids) == set(hf.all_special_ids) == {0, 1, 2, 3, len(ours) - 1}
    for name in ("bos", "eos", "sep", "cls", "pad", "unk", "mask"):
        assert getattr(ours, f"{name}_token_id") == getattr(hf, f"{name}_token_id"), name
    text = "a <s> b </s><pad> <unk>c<mask> <mask>."
    enc = ours(text, return_offsets_mapping=True)
    assert enc["input_ids"] == hf(text)["input_ids"]
    written = [
        (t, text[s:e]) for t, (s, e) in zip(ours.tokenize(text), enc["offset_mapping"][1:-1], strict=True)
    ]
    specials = ["<s>", "</s>", "<pad>", "<unk>", "<mask>", "<mask>"]
    assert [t for t, span in written if t in ours.all_special_tokens] == specials
    assert [span for t, span in written if t in ours.all_special_tokens] == specials
    ids = ours.encode(text)
    assert ours.get_special_tokens_mask(ids, already_has_special_tokens=True) == hf.get_special_tokens_mask(
        ids, already_has_special_tokens=True
    )
    assert ours.convert_tokens_to_ids(["▁a", "no such piece"]) == hf.convert_tokens_to_ids(
        ["▁a", "no such piece"]
    )


# -- offsets ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_each_offset_span_reproduces_its_piece(kind, request, spm_folders, texts):
    ours, _ = request.getfixturevalue(kind)
    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_folders[kind] / SPM_FILE))
    checked = total = 0
    for text in texts:
        pieces = ours.tokenize(text)
        spans = ours(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        assert all(0 <= s <= e <= len(text) for s, e in spans)
        assert [s for s, _ in spans] == sorted(s for s, _ in spans)
        total += len(pieces)
        for k, (piece, (start, end)) in enumerate(zip(pieces, spans, strict=True)):
            if piece in ours.all_special_tokens:
                assert text[start:end] == piece
                continue
            source = sp.normalize(text[start:end]).replace("▁", "")
            assert piece.replace("▁", "") in source, (text, piece, text[start:end])
            neighbours = spans[max(k - 1, 0) : k] + spans[k + 1 : k + 2]
            if all(e <= start or s >= end for s, e in neighbours):  # a span of its own: exactly the piece
                assert source == piece.replace("▁", ""), (text, piece, text[start:end])
                checked += 1
    assert checked > 0.9 * total


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_masks_pairs_and_offsets_match_transformers_where_ids_agree(kind, request, texts):
    ours, hf = request.getfixturevalue(kind)
    agree = [t for t in texts if ours.encode(t) == hf.encode(t)]  # all on the unigram model
    assert (len(agree) == len(texts)) if kind == "unigram" else (len(agree) > 100)
    asked = {"return_special_tokens_mask": True, "return_token_type_ids": True}
    assert columns(ours(agree, agree[::-1], **asked)) == columns(hf(agree, agree[::-1], **asked))
    others = []
    lone = 0
    for text in agree:
        mine = ours(text, return_offsets_mapping=True)
        theirs = hf(text, return_offsets_mapping=True)["offset_mapping"]
        tokens = ours.convert_ids_to_tokens(mine["input_ids"])
        for token, a, b in zip(tokens, mine["offset_mapping"], theirs, strict=True):
            if token == "▁":
                assert a == (b[0], b[0]) and b[1] == b[0] + 1
                lone += 1
            elif a != tuple(b):
                others.append((text, a, tuple(b)))
    assert lone > 0
    # The rest: spans that keep a decomposed character's last combining mark, which transformers leaves out.
    assert all(
        a[0] == b[0] and a[1] > b[1] and all(unicodedata.combining(c) for c in text[b[1] : a[1]])
        for text, a, b in others
    )
    assert others or kind == "bpe"


def test_offsets_of_characters_that_normalisation_expands(unigram):
    ours, hf = unigram
    text = "ﬁne ㍻ Ⅻ <mask>"
    pieces = ours.tokenize(text)
    spans = ours(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    theirs = hf(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    lone = [k for k, p in enumerate(pieces) if p == "▁"]
    assert lone and all(spans[k] == (spans[k + 1][0], spans[k + 1][0]) for k in lone)
    assert [s for p, s in zip(pieces, spans, strict=True) if p != "▁"] == [
        tuple(s) for p, s in zip(pieces, theirs, strict=True) if p != "▁"
    ]
    assert {s for p, s in zip(pieces, spans, strict=True) if s[0] == 4 and p != "▁"} == {(4, 5)}  # 平成
    assert {s for p, s in zip(pieces, spans, strict=True) if s[0] == 6 and p != "▁"} == {(6, 7)}  # XII
    assert spans[-1] == (8, 14) and pieces[-1] == "<mask>"


# -- decode -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_decode_matches_transformers(kind, request, texts):
    ours, hf = request.getfixturevalue(kind)
    batches = [hf(t)["input_ids"] for t in texts]
    for skip in (False, True):
        assert ours.batch_decode(batches, skip_special_tokens=skip) == hf.batch_decode(
            batches, skip_special_tokens=skip
        )
    assert ours.decode(ours.encode("Hello <mask> world.")) == "<s> Hello<mask> world.</s>"
    assert ours.decode(torch.tensor(ours.encode("Hi")), skip_special_tokens=True) == "Hi"


# -- padding, truncation, tensors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"padding": True},
        {"padding": "max_length", "max_length": 40, "truncation": True},
        {"padding": True, "pad_to_multiple_of": 8},
        {"truncation": True, "max_length": 12},
        {"truncation": "only_first", "max_length": 30, "pair": "long-short"},
        {"truncation": "only_second", "max_length": 30, "pair": "short-long"},
        {"truncation": "longest_first", "max_length": 20, "pair": "long-long", "padding": True},
    ],
)
def test_padding_truncation_and_tensors_match_transformers(settings, unigram, texts):
    ours, hf = unigram
    settings = dict(settings)
    batch = [t for t in texts[::50] if len(ours.tokenize(t)) > 20][:16]
    short = ["Hello world!"] * len(batch)
    pairs = {"long-short": (batch, short), "short-long": (short, batch), "long-long": (batch, batch[::-1])}
    args = pairs[settings.pop("pair")] if "pair" in settings else (batch,)
    asked = {"return_special_tokens_mask": True, "return_token_type_ids": True, **settings}
    assert columns(ours(*args, **asked)) == columns(hf(*args, **asked))
    if settings.get("padding"):
        mine, theirs = ours(*args, return_tensors="pt", **asked), hf(*args, return_tensors="pt", **asked)
        for key in COLUMNS:
            assert mine[key].dtype == torch.long and torch.equal(mine[key], theirs[key]), key


def test_offsets_survive_padding_and_truncation(unigram, texts):
    ours, hf = unigram
    batch = texts[::97][:8]
    mine = ours(batch, padding=True, truncation=True, max_length=16, return_offsets_mapping=True)
    theirs = hf(batch, padding=True, truncation=True, max_length=16, return_offsets_mapping=True)
    for ids, row, their_row in zip(
        mine["input_ids"], mine["offset_mapping"], theirs["offset_mapping"], strict=True
    ):
        for token, span, (start, end) in zip(ours.convert_ids_to_tokens(ids), row, their_row, strict=True):
            assert span == ((start, start) if token == "▁" else (start, end))
    tensors = ours(batch, padding=True, return_offsets_mapping=True, return_tensors="pt")
    assert tensors["offset_mapping"].shape == (*tensors["input_ids"].shape, 2)


# -- lang, inspection ---------------------------------------------------------------------------------------------


def test_lang_is_accepted_and_ignored(unigram):
    ours, _ = unigram
    text = "L'homme qu'on voit là-bas."
    assert ours(text, lang="fr") == ours(text) == ours(text, lang="zh")
    assert ours.tokenize(text, lang="fr") == ours.tokenize(text)
    assert "langs" not in ours(text, lang="fr") and ours.lang2id is None
    with pytest.raises(InputError, match=r"return_langs=True needs lang=\.\.\. and a tokenizer with lang2id"):
        ours(text, lang="fr", return_langs=True)


def test_explain_shows_normalised_text_pieces_and_ids(unigram):
    ours, _ = unigram
    text = "Ｈｅｌｌｏ  <mask> world ①"
    info = ours.explain(text, lang="en", add_special_tokens=True)
    json.dumps(info)
    assert (info["lang"], info["lang_id"], info["segmenter"]) == ("en", None, "sentencepiece")
    assert info["do_lowercase_and_remove_accent"] is False
    steps = {s["step"]: s["output"] for s in info["steps"]}
    assert list(steps) == ["normalize", "sentencepiece", "ids"]
    assert steps["normalize"] == "▁Hello <mask> ▁world▁1"
    assert steps["sentencepiece"] == ours.tokenize(text)
    assert steps["ids"] == [str(i) for i in ours.encode(text, add_special_tokens=False)]
    assert info["ids"] == ours.encode(text) and info["tokens"] == ours.convert_ids_to_tokens(info["ids"])
    enc = ours(text, return_offsets_mapping=True)
    assert info["offsets"] == [list(span) for span in enc["offset_mapping"]] and info["offsets"][0] == [0, 0]


# -- files --------------------------------------------------------------------------------------------------------


def test_save_in_hub_format_read_by_transformers(unigram, texts, tmp_path):
    ours, hf = unigram
    written = ours.save_pretrained(tmp_path / "tok")
    assert sorted(p.split("/")[-1] for p in written) == [
        SPM_FILE,
        "special_tokens_map.json",
        "tokenizer_config.json",
    ]
    config = json.loads((tmp_path / "tok" / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "XLMRobertaTokenizer" and config["mask_token"] == "<mask>"
    theirs = HFTokenizer.from_pretrained(str(tmp_path / "tok"))
    again = XLMRobertaTokenizer.from_pretrained(tmp_path / "tok")
    assert (
        [theirs.encode(t) for t in texts] == [hf.encode(t) for t in texts] == [again.encode(t) for t in texts]
    )
    assert theirs.special_tokens_map == hf.special_tokens_map


def test_folder_saved_by_transformers_loads_with_its_ids(unigram, texts, tmp_path):
    _, hf = unigram
    hf.save_pretrained(str(tmp_path))
    assert not (tmp_path / SPM_FILE).exists()  # transformers 5 writes tokenizer.json alone
    loaded = XLMRobertaTokenizer.from_pretrained(tmp_path)
    assert [loaded.encode(t) for t in texts] == [hf.encode(t) for t in texts]
    assert loaded.get_vocab() == hf.get_vocab() and loaded.model_max_length is None
    loaded.save_pretrained(tmp_path / "ours")
    assert [HFTokenizer.from_pretrained(str(tmp_path / "ours")).encode(t) for t in texts[::10]] == [
        hf.encode(t) for t in texts[::10]
    ]


def test_settings_from_tokenizer_config_and_config_json(spm_folders, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(spm_folders["unigram"], folder)
    (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 514, "pad_token_id": 1}))
    assert XLMRobertaTokenizer.from_pretrained(folder).model_max_length == 512
    mask = {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False}
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 128, "mask_token": mask}))
    loaded = XLMRobertaTokenizer.from_pretrained(folder)
    assert (loaded.model_max_length, loaded.mask_token) == (128, "<mask>")
    assert XLMRobertaTokenizer.from_pretrained(folder, model_max_length=64).model_max_length == 64
    assert len(loaded("word " * 300, truncation=True)["input_ids"]) == 128


def test_missing_and_corrupt_files(spm_folders, unigram, tmp_path):
    with pytest.raises(ModelNotFoundError, match="No such model folder"):
        XLMRobertaTokenizer.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match=r"has no sentencepiece.bpe.model \(nor tokenizer.json\)"):
        XLMRobertaTokenizer.from_pretrained(tmp_path / "empty")
    (tmp_path / "empty" / SPM_FILE).write_bytes(b"not a model")
    with pytest.raises(CorruptCheckpointError, match="is not a SentencePiece model"):
        XLMRobertaTokenizer.from_pretrained(tmp_path / "empty")
    with pytest.raises(InputError, match="vocab_file or as model_proto"):
        XLMRobertaTokenizer()
    # A tokenizer.json of another kind (BPE, no fairseq ids) says what to do instead.
    json_only = tmp_path / "other"
    json_only.mkdir()
    (json_only / "tokenizer.json").write_text(
        json.dumps({"model": {"type": "BPE", "vocab": {}, "merges": []}})
    )
    with pytest.raises(CorruptCheckpointError, match=r"does not describe an XLM-RoBERTa tokenizer.*Copy the"):
        XLMRobertaTokenizer.from_pretrained(json_only)


def test_model_without_fairseq_control_pieces_is_refused(shared_data, tmp_path):
    lines = _spm.corpus_lines(shared_data, "ntrex128", "en")[:300]
    model = tmp_path / SPM_FILE
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_prefix=str(tmp_path / "m"),
        vocab_size=300,
        unk_id=1,
        bos_id=0,
        minloglevel=2,
    )
    shutil.copy(tmp_path / "m.model", model)
    with pytest.raises(CorruptCheckpointError, match="should hold <unk>, <s>, </s> as its pieces 0, 1, 2"):
        XLMRobertaTokenizer(model)


def test_pickles_for_worker_processes(unigram):
    ours, _ = unigram
    copy = pickle.loads(pickle.dumps(ours))
    text = "Der Tokenizer reist in einen anderen Prozess. 東京"
    assert copy(text, return_offsets_mapping=True) == ours(text, return_offsets_mapping=True)
