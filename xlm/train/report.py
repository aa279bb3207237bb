"""Held-out metrics of the shipped models, recomputable from the files in ``assets/`` and ``../shared/data``:
every evaluation set is rebuilt from the shared corpus by the split rules of :mod:`xlm.train.corpus`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from tqdm import tqdm

from xlm import (
    XLMForQuestionAnsweringSimple,
    XLMForSequenceClassification,
    XLMForTokenClassification,
    XLMTokenizer,
    XLMWithLMHeadModel,
)
from xlm.loading import load_model
from xlm.pipelines import pipeline

from .corpus import NTREX_TEST, eval_pairs, mlm_eval_sentences, parallel_lines
from .evaluate import (
    clm_report,
    cloze_top5,
    mlm_report,
    retrieval_top1,
    sentence_embeddings,
    tlm_effect,
)
from .finetune import (
    encode_labelled,
    evaluate_langid,
    evaluate_pos,
    evaluate_qa,
    langid_texts,
    xquad_questions,
)

QA_CHECK_QUESTIONS = 40  # per language, the held-out questions the test suite re-scores
POS_CHECK_SENTENCES = 200  # per UD test set or PUD, the sentences the test suite re-tags
MLM_SENTENCES = 200  # per language and source (books, UD, NTREX)
TLM_PAIRS = 200  # per language, from the NTREX test block
CLOZE = Path(__file__).resolve().parents[2] / "tests" / "data" / "cloze.json"


def heldout_texts(corpus: Path, langs) -> dict[str, dict[str, list[str]]]:
    """``source -> lang -> sentences``: the held-out single sentences of every language (see
    :func:`~xlm.train.corpus.mlm_eval_sentences`)."""
    out: dict[str, dict[str, list[str]]] = {}
    for lang in langs:
        for source, texts in mlm_eval_sentences(corpus, lang, MLM_SENTENCES).items():
            out.setdefault(source, {})[lang] = texts
    return out


def combined(per_source: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Per language, the token-weighted accuracy, perplexity and unigram baseline over the sources."""
    out = {}
    langs = sorted({lang for rows in per_source.values() for lang in rows})
    for lang in langs:
        parts = [rows[lang] for rows in per_source.values() if lang in rows and rows[lang]["tokens"]]
        n = sum(p["tokens"] for p in parts)
        out[lang] = {
            "accuracy": sum(p["accuracy"] * p["tokens"] for p in parts) / n,
            "perplexity": math.exp(sum(math.log(p["perplexity"]) * p["tokens"] for p in parts) / n),
            "unigram_baseline": sum(p["unigram_baseline"] * p["tokens"] for p in parts) / n,
            "tokens": n,
        }
    return out


def rounded(value):
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return round(value, 4) if isinstance(value, float) else value


def base_metrics(folder: Path, corpus: Path, cloze: Path | None = CLOZE, retrieval: bool = False) -> dict:
    """The masked LM's held-out numbers: MLM per language and source, the TLM effect (NTREX test block), where
    asked xx -> en retrieval (FLORES-200: minutes of CPU) and, where given, the cloze sentences."""
    torch.manual_seed(0)
    model, tokenizer = load_lm(folder)
    langs = sorted(tokenizer.lang2id)
    cache: dict = {}
    mlm, mlm_all = mlm_metrics(model, tokenizer, corpus, cache)
    others = [lang for lang in langs if lang != "en"]
    pairs = {lang: eval_pairs(corpus, "ntrex128", lang, NTREX_TEST)[:TLM_PAIRS] for lang in others}
    metrics = {"mlm": mlm, "mlm_all": mlm_all, "tlm": tlm_effect(model, tokenizer, pairs, cache=cache)}
    if retrieval:
        metrics["retrieval"] = flores_retrieval(model, tokenizer, corpus, others)
    if cloze is not None:
        fill_mask = pipeline("fill-mask", folder, device="cpu", dtype="float32")
        sentences = json.loads(Path(cloze).read_text(encoding="utf-8"))["sentences"]
        metrics["cloze"] = cloze_top5(fill_mask, sentences)
    return rounded(metrics)


def load_lm(folder: Path) -> tuple[XLMWithLMHeadModel, XLMTokenizer]:
    """A language model (float32, eval mode) and its tokenizer."""
    return load_model(XLMWithLMHeadModel, folder).eval(), XLMTokenizer.from_pretrained(folder)


def mlm_metrics(
    model: XLMWithLMHeadModel, tokenizer: XLMTokenizer, corpus: Path, cache: dict | None = None
) -> tuple[dict, dict]:
    """Masked-LM accuracy on the held-out single sentences: per source and language, and per language over all
    sources."""
    mlm = {
        source: mlm_report(model, tokenizer, texts, cache=cache)
        for source, texts in heldout_texts(corpus, sorted(tokenizer.lang2id)).items()
    }
    return mlm, combined(mlm)


def flores_retrieval(model, tokenizer, corpus: Path, langs) -> dict[str, float]:
    """xx -> en top-1 retrieval among all the FLORES-200 sentences we have (mean-pooled last hidden states)."""
    english = sentence_embeddings(model, tokenizer, parallel_lines(corpus, "flores200_sib200", "en"), "en")
    out = {}
    for lang in tqdm(langs, desc="retrieval", unit="lang", leave=False):
        lines = parallel_lines(corpus, "flores200_sib200", lang)
        if len(lines) == len(english) and all(lines):  # the set is complete in every language
            out[lang] = retrieval_top1(sentence_embeddings(model, tokenizer, lines, lang), english)
    return out


def clm_metrics(folder: Path, corpus: Path) -> dict:
    """Next-token accuracy and perplexity per language on the held-out sentences (each alone)."""
    model = load_model(XLMWithLMHeadModel, folder).eval()
    tokenizer = XLMTokenizer.from_pretrained(folder)
    per_source = {
        source: clm_report(model, tokenizer, texts)
        for source, texts in heldout_texts(corpus, sorted(tokenizer.lang2id)).items()
    }
    return rounded(combined(per_source))


@torch.no_grad()
def greedy_samples(folder: Path, prompts: list[tuple[str, str]], new_tokens: int = 12) -> list[dict]:
    """Greedy continuations of (prompt, lang) pairs by a causal LM (illustrations for its model card)."""
    model = load_model(XLMWithLMHeadModel, folder)
    tokenizer = XLMTokenizer.from_pretrained(folder)
    out = []
    for prompt, lang in prompts:
        ids = [tokenizer.sep_token_id, *tokenizer.encode(prompt, lang=lang, add_special_tokens=False)]
        start = len(ids)
        for _ in range(new_tokens):
            x = torch.tensor([ids])
            logits = model(input_ids=x, langs=torch.full_like(x, tokenizer.lang2id[lang])).logits[0, -1]
            ids.append(int(logits.argmax()))
            if ids[-1] == tokenizer.sep_token_id:
                break
        out.append({"lang": lang, "prompt": prompt, "continuation": tokenizer.decode(ids[start:])})
    return out


def qa_metrics(
    folder: Path, data_dir: Path, limit: int | None = QA_CHECK_QUESTIONS, untrained: bool = False
) -> dict:
    """F1/EM on the held-out XQuAD articles (first ``limit`` questions per language, or all). ``untrained``: with
    the span head re-initialised (seeded), the floor that zero-shot transfer is measured against."""
    model = load_model(XLMForQuestionAnsweringSimple, folder)
    if untrained:
        torch.manual_seed(0)
        model.qa_outputs.reset_parameters()
    tokenizer = XLMTokenizer.from_pretrained(folder)
    out = {}
    for lang in ("en", "de", "es", "zh"):
        questions = xquad_questions(data_dir, lang, heldout=True)[:limit]
        out[lang] = evaluate_qa(model, tokenizer, questions, lang)
    return rounded(out)


def langid_metrics(folder: Path, corpus: Path) -> dict:
    """Accuracy per language on the NTREX-128 test block."""
    model = load_model(XLMForSequenceClassification, folder).eval()
    tokenizer = XLMTokenizer.from_pretrained(folder)
    texts = langid_texts(corpus, NTREX_TEST, sorted(tokenizer.lang2id))
    return rounded(evaluate_langid(model, encode_labelled(tokenizer, texts)))


def pos_metrics(
    folder: Path, corpus: Path, train_langs: list[str], limit: int | None = POS_CHECK_SENTENCES
) -> dict:
    """UPOS accuracy on the first ``limit`` sentences of every UD test set and PUD of the tagger's languages."""
    model = load_model(XLMForTokenClassification, folder).eval()
    return rounded(evaluate_pos(model, XLMTokenizer.from_pretrained(folder), corpus, train_langs, limit))


def save_metrics(folder: Path, metrics: dict) -> None:
    (Path(folder) / "metrics.json").write_text(
        json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
