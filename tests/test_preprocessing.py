"""Per-language preprocessing against the functions of transformers' XLM tokenizer and the segmenters themselves."""

from __future__ import annotations

import _tok_corpus as corpus
import jieba
import pytest
import rjieba
import sacremoses
from pythainlp.tokenize import word_tokenize
from transformers.models.xlm import tokenization_xlm as hf

from xlm.errors import InvalidConfigError, MissingDependencyError
from xlm.models.xlm.preprocessing import (
    KYTEA_MODEL_ENV,
    Preprocessor,
    align_to_source,
    lowercase_and_remove_accents,
    moses_punct_norm,
    normalize_romanian,
    remove_non_printing_chars,
    replace_unicode_punct,
)

# Every character replace-unicode-punctuation handles, in context, plus whitespace after the full stops.
PUNCT_TEXTS = [
    "你好，世界。  再见．  然后、“引号”∶：？《书》（括号）！；「」",
    "０１２３４５６７８９ ～ ’ … ━ 〈〉 【】 ％",
    "No punctuation to replace here.",
    "。。．。\u3000x",
]
HANDWRITTEN = [(lang, text) for lang in corpus.HANDWRITTEN for text in corpus.handwritten(lang)]
ROMANIAN = [
    "Şi ţara noastră are o istorie bogată, spuse învăţătorul.",
    "În România, școala începe în septembrie; mâine e târziu.",
    "ŞTEFAN cel Mare și Sfânt a domnit între 1457 și 1504.",
]


@pytest.fixture(scope="module")
def hf_tok(shared_data):
    from transformers import XLMTokenizer

    return XLMTokenizer.from_pretrained(str(shared_data / "xlm-mlm-tlm-xnli15-1024"))


def hf_normalize(hf_tok, text: str, lang: str) -> str:
    """transformers' Moses pipeline (punctuation replacement, normalisation, non-printing characters)."""
    return hf_tok.moses_pipeline(text, lang=lang)


@pytest.mark.parametrize("text", PUNCT_TEXTS)
def test_replace_unicode_punct_matches_transformers(text):
    assert replace_unicode_punct(text) == hf.replace_unicode_punct(text)


def test_remove_non_printing_chars_matches_transformers():
    text = "a\u200bb\u00adc\x07d\ue000e\u2028f\u00a0g\tz\u200d"
    assert remove_non_printing_chars(text) == hf.remove_non_printing_char(text)
    assert remove_non_printing_chars("plain text") == "plain text"


@pytest.mark.parametrize("text", ROMANIAN)
def test_romanian_rules_match_transformers(text):
    assert normalize_romanian(text) == hf.romanian_preprocessing(text)


@pytest.mark.parametrize(
    "word",
    ["Héllo", "İstanbul", "ΟΔΟΣ", "Straße", "ÉCOLE", "naïve", "Ёлка", "Tiếng", "plain", "ǅemal", "ﬁne"],
)
def test_lowercase_and_remove_accents_matches_transformers(word):
    assert lowercase_and_remove_accents(word) == hf.lowercase_and_remove_accent([word])[0]


@pytest.mark.parametrize("lang", ["en", "fr", "de", "es", "ru", "el", "cs", "zh"])
def test_moses_punct_norm_matches_sacremoses(lang):
    texts = [t for _, t in HANDWRITTEN] + PUNCT_TEXTS
    normalizer = sacremoses.MosesPunctNormalizer(lang=lang)
    assert [moses_punct_norm(t, lang) for t in texts] == [normalizer.normalize(t) for t in texts]


def test_moses_words_match_transformers_pipeline(hf_tok):
    pre = Preprocessor()
    for lang, text in HANDWRITTEN:
        if lang in {"th", "zh", "ja"}:
            continue
        expected = hf_tok.moses_tokenize(hf_normalize(hf_tok, text, lang), lang=lang)
        assert pre.words(text, lang) == expected, text


@pytest.mark.parametrize("text", ROMANIAN)
def test_romanian_words_match_transformers_pipeline(hf_tok, text):
    expected = hf_tok.moses_tokenize(hf.romanian_preprocessing(hf_normalize(hf_tok, text, "ro")), lang="ro")
    assert Preprocessor().words(text, "ro") == expected
    assert "Si" in expected or "STEFAN" in expected or "In" in expected  # the diacritics really went


def test_thai_words_are_pythainlp_on_normalised_text(hf_tok):
    pre = Preprocessor()
    for text in corpus.handwritten("th"):
        assert pre.words(text, "th") == word_tokenize(hf_normalize(hf_tok, text, "th")), text


def test_chinese_segmenter_is_selectable(hf_tok, shared_data):
    texts = corpus.xquad(shared_data, "zh")["questions"][:300]
    for name, cut in [("jieba", jieba.lcut), ("rjieba", rjieba.cut)]:
        pre = Preprocessor(zh_segmenter=name)
        for text in texts:
            assert pre.words(text, "zh") == hf_normalize(hf_tok, " ".join(cut(text)), "zh").split(), (
                name,
                text,
            )
    # The choice matters: jieba and rjieba cut some of these texts differently.
    assert any(Preprocessor("jieba").words(t, "zh") != Preprocessor("rjieba").words(t, "zh") for t in texts)


def test_unknown_chinese_segmenter_is_refused():
    with pytest.raises(
        InvalidConfigError, match=r"Unknown Chinese segmenter 'pkuseg'; choose one of jieba, rjieba"
    ):
        Preprocessor(zh_segmenter="pkuseg")


def test_japanese_without_kytea_says_how_to_install():
    # KyTea is not installed in this environment: the error is real, not simulated.
    with pytest.raises(ImportError):
        import Mykytea  # noqa: F401
    with pytest.raises(MissingDependencyError) as info:
        Preprocessor().words("日本語のテキストです。", "ja")
    message = str(info.value)
    assert "pip install kytea" in message
    assert KYTEA_MODEL_ENV in message and "kytea_model=" in message
    assert "https://github.com/neubig/kytea" in message


def test_trace_records_every_step_in_order():
    trace: list = []
    words = Preprocessor().words("Il a dit : « C’est l’été… »", "fr", trace)
    assert [step["step"] for step in trace] == [
        "replace_unicode_punct",
        "moses_punct_norm",
        "remove_non_printing_chars",
        "moses_tokenize",
    ]
    assert trace[0]["output"] == "Il a dit : « C'est l'été... »"
    assert trace[1]["output"] == "Il a dit: \" C'est l'été... \""
    assert trace[-1]["output"] == words == ["Il", "a", "dit", ":", '"', "C'", "est", "l'", "été", "...", '"']

    trace = []
    Preprocessor().words("我爱北京。", "zh", trace)
    assert trace[0]["step"] == "segment (jieba)"
    assert trace[0]["output"] == ["我", "爱", "北京", "。"]


def test_align_to_source_maps_each_character_back():
    # Hand-checked expectations: quotes, lower-casing, accents, dotted capital I, ellipsis, full-width digits.
    assert align_to_source("L’été", ["l'", "ete"]) == [[[0], [1]], [[2], [3], [4]]]
    assert align_to_source("İz…", ["iz", "..."]) == [[[0], [1]], [[2], [2], [2]]]
    assert align_to_source("１２ kg", ["12", "kg"]) == [[[0], [1]], [[3], [4]]]
    # Moses writes "." for a no-break space between digits: that character has no source.
    assert align_to_source("1\u00a0000", ["1.000"]) == [[[0], [], [2], [3], [4]]]
    # A replaced stretch is matched position by position; an inserted one has no source.
    assert align_to_source("abc", ["xyz"]) == [[[0], [1], [2]]]
    assert align_to_source("ab", ["a", "zz", "b"]) == [[[0]], [[], []], [[1]]]
    # Moses moves a comma before the closing quote: the quote keeps its source, the moved comma gets none.
    assert align_to_source('"a", b', ['"', "a", ",", '"', "b"]) == [[[0]], [[1]], [[]], [[2]], [[5]]]
    # Far apart differences in a long text are each resolved locally.
    long_source = " ".join(["L’été «chaud»"] * 500)
    long_words = ["l'", "ete", '"', "chaud", '"'] * 500
    sources = align_to_source(long_source, long_words)
    assert [chars[0] for chars in sources[-1]] == [len(long_source) - 1]
    assert all(all(chars for chars in word) for word in sources)
