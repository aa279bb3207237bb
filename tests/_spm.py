"""Small SentencePiece models shaped like XLM-R's, trained in seconds from the shared corpus, and texts to test on.

The published XLM-R vocabulary cannot be fetched here. Like it, these models normalise with ``nmt_nfkc``, add a
dummy ``▁`` prefix, have no byte fallback and hold ``<unk> <s> </s>`` as pieces 0, 1, 2; they differ in size (a few
thousand pieces instead of 250,000). Training text: the first lines of NTREX-128 in 18 languages; test text: FLORES
(held apart from training), XQuAD and hand-written edge cases.
"""

from __future__ import annotations

import io
import lzma
from pathlib import Path

import _tok_corpus
import sentencepiece

LANGS = (
    "en",
    "fr",
    "es",
    "de",
    "it",
    "pt",
    "ru",
    "zh",
    "ar",
    "hi",
    "ja",
    "tr",
    "vi",
    "bg",
    "el",
    "th",
    "sw",
    "ur",
)
TRAIN_LINES = 600  # per language
VOCAB_SIZE = 4000

# Whitespace, normalisation, special-token and unknown-character cases the corpora rarely hold.
EDGE_CASES = [
    "",
    "   ",
    "\t\n",
    "Hello <mask> world.",
    "<mask>",
    "a <s> b </s><pad> <unk>c<mask>",
    "  leading and   inner   and trailing spaces  ",
    "tab\tnew\nline\r\nand\u00a0no-break\u3000ideographic\u2003em",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "ﬁne ﬂour — ㍻ Ⅻ ① ½ ｆｕｌｌｗｉｄｔｈ ｶﾀｶﾅ",
    "e\u0301te\u0301 (NFD) and été (NFC)",
    "emoji 😀🚀 and rare 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 letters",
    "मैंने कल एक किताब पढ़ी। ภาษาไทย 東京は日本の首都です。",
    "مرحبا بالعالم، كيف حالك؟ Ελληνικά κείμενα! Привет, мир!",
]


def corpus_lines(data_dir: Path, source: str, lang: str) -> list[str]:
    """Non-empty lines of one language of a parallel corpus (``corpus/parallel/<source>/<lang>.txt.xz``)."""
    with lzma.open(data_dir / "corpus" / "parallel" / source / f"{lang}.txt.xz", "rt", encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def train(data_dir: Path, model_type: str, folder: Path) -> Path:
    """Train a ``model_type`` ("unigram" or "bpe") model into ``folder/sentencepiece.bpe.model``; return the folder."""
    lines = [line for lang in LANGS for line in corpus_lines(data_dir, "ntrex128", lang)[:TRAIN_LINES]]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type=model_type,
        vocab_size=VOCAB_SIZE,
        character_coverage=0.9995,
        byte_fallback=False,
        normalization_rule_name="nmt_nfkc",
        num_threads=2,
        minloglevel=2,
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    return folder


def eval_texts(data_dir: Path, per_lang: int = 120) -> list[tuple[str, str]]:
    """(lang, text): FLORES sentences in 18 languages, XQuAD questions and contexts, and the edge cases."""
    texts = [(lang, t) for lang in LANGS for t in corpus_lines(data_dir, "flores200_sib200", lang)[:per_lang]]
    for lang in ("en", "de", "es", "zh"):
        data = xquad_texts(data_dir, lang)
        texts += [(lang, t) for t in data[:40]]
    return texts + [("xx", t) for t in EDGE_CASES]


def xquad_texts(data_dir: Path, lang: str) -> list[str]:
    """XQuAD's questions and contexts in ``lang``, interleaved (short and long texts)."""
    data = _tok_corpus.xquad(data_dir, lang)
    return [t for pair in zip(data["questions"], data["contexts"], strict=False) for t in pair]
