"""Held-out metrics of the shipped models, recomputable from the files in ``assets/`` (and ../shared/data).

``assets/heldout/gettext-test.tsv`` is a small sample of the corpus's *test* split (never trained on), so the
tests can recompute every number of the model cards without Debian's packages installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from xlm import XLMForQuestionAnsweringSimple, XLMForSequenceClassification, XLMTokenizer, XLMWithLMHeadModel
from xlm.loading import load_model

from .corpus import LANGS, xquad_paragraphs
from .evaluate import clm_report, mlm_report, tlm_effect
from .finetune import encode_labelled, evaluate_langid, evaluate_qa, xquad_questions

QA_CHECK_QUESTIONS = 40  # per language, the held-out questions the test suite re-scores


def write_heldout_sample(corpus: Path, out: Path, per_lang: int = 200, seed: int = 0) -> int:
    """Sample ``per_lang`` pairs per language from ``raw/pairs.<xx>.test.tsv`` into one TSV (lang, en, xx, package)."""
    rows = []
    for lang in LANGS:
        path = Path(corpus) / "raw" / f"pairs.{lang}.test.tsv"
        if lang == "en" or not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        pick = np.sort(np.random.default_rng(seed).permutation(len(lines))[:per_lang])
        rows += [f"{lang}\t{lines[i]}\n" for i in pick]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("lang\ten\ttranslation\tpackage\n" + "".join(rows), encoding="utf-8")
    return len(rows)


def read_heldout(path: Path) -> dict[str, list[tuple[str, str]]]:
    """``lang -> [(english, translation)]`` from the shipped held-out TSV."""
    pairs: dict[str, list[tuple[str, str]]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines()[1:]:
        lang, en, xx, _package = line.split("\t")
        pairs.setdefault(lang, []).append((en, xx))
    return pairs


def heldout_texts(pairs: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    """Monolingual held-out texts per language; English gets as many distinct English sides as the largest other
    language has texts (taken round-robin over the languages)."""
    texts = {lang: [xx for _, xx in rows] for lang, rows in pairs.items()}
    mixed = [en for group in zip(*pairs.values(), strict=False) for en, _ in group]
    texts["en"] = list(dict.fromkeys(mixed))[: max(len(t) for t in texts.values())]
    return texts


def _round(value):
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return round(value, 4) if isinstance(value, float) else value


def base_metrics(folder: Path, heldout: Path, xquad_dir: Path | None, streams: bool = True) -> dict:
    """MLM accuracy/perplexity per language (gettext held-out, XQuAD held-out articles) and the TLM effect."""
    torch.manual_seed(0)
    model = load_model(XLMWithLMHeadModel, folder)
    tokenizer = XLMTokenizer.from_pretrained(folder)
    pairs = read_heldout(heldout)
    cache: dict = {}
    texts = heldout_texts(pairs)
    metrics = {
        "mlm_gettext": mlm_report(model, tokenizer, texts, cache=cache),
        "tlm": tlm_effect(model, tokenizer, pairs, cache=cache),
    }
    if streams:
        metrics["mlm_gettext_streams"] = mlm_report(model, tokenizer, texts, cache=cache, streams=True)
    if xquad_dir is not None:
        texts = {lang: xquad_paragraphs(xquad_dir, lang, heldout=True) for lang in ("en", "de", "es", "zh")}
        metrics["mlm_xquad_streams"] = mlm_report(model, tokenizer, texts, streams=True)
    return _round(metrics)


def clm_metrics(folder: Path, heldout: Path) -> dict:
    """Next-token accuracy and perplexity per language on the held-out sample (each sentence alone)."""
    model = load_model(XLMWithLMHeadModel, folder)
    tokenizer = XLMTokenizer.from_pretrained(folder)
    return _round(clm_report(model, tokenizer, heldout_texts(read_heldout(heldout))))


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


def qa_metrics(folder: Path, data_dir: Path, limit: int | None = QA_CHECK_QUESTIONS) -> dict:
    """F1/EM on the held-out XQuAD articles (first ``limit`` questions per language, or all)."""
    model = load_model(XLMForQuestionAnsweringSimple, folder)
    tokenizer = XLMTokenizer.from_pretrained(folder)
    out = {}
    for lang in ("en", "de", "es", "zh"):
        questions = xquad_questions(data_dir, lang, heldout=True)[:limit]
        out[lang] = evaluate_qa(model, tokenizer, questions, lang)
    return _round(out)


def langid_metrics(folder: Path, heldout: Path) -> dict:
    """Accuracy per language on the shipped held-out sample (English: its distinct English sides)."""
    model = load_model(XLMForSequenceClassification, folder)
    tokenizer = XLMTokenizer.from_pretrained(folder)
    return _round(evaluate_langid(model, encode_labelled(tokenizer, heldout_texts(read_heldout(heldout)))))


def save_metrics(folder: Path, metrics: dict) -> None:
    (Path(folder) / "metrics.json").write_text(
        json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
