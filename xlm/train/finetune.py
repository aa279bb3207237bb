"""Fine-tuning heads on a pre-trained checkpoint: extractive QA (XQuAD), language identification (sequence
classification), part-of-speech and named-entity tagging (token classification).

Each ``finetune_*`` function trains with :class:`~xlm.train.trainer.Trainer` (so bf16, accumulation, checkpoints
and torchrun work the same), evaluates on held-out data and writes a Hub-format folder with the tokenizer and
``metrics.json``.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from xlm import (
    XLMForQuestionAnsweringSimple,
    XLMForSequenceClassification,
    XLMForTokenClassification,
    XLMTokenizer,
)
from xlm.loading import load_model
from xlm.pipelines.question_answering import QAFeature, build_qa_features

from .batches import IGNORE, pad_examples
from .corpus import (
    NTREX_TEST,
    NTREX_VALID,
    SHARED_DATA,
    XQUAD_HELDOUT_ARTICLES,
    eval_pairs,
    ud_files,
    ud_train_files,
    xquad_articles,
)
from .pretrain import base_snapshot
from .trainer import Trainer, TrainSettings
from .ud import UPOS, read_conllu

Batch = dict[str, torch.Tensor]
DEFAULT_DATA = SHARED_DATA


class HeadLoss(nn.Module):
    """Adapts a head model (which computes its own loss) to the trainer's ``(loss, n_correct, n)`` contract."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, **batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        loss = self.model(**batch).loss
        return loss, torch.tensor(0), torch.tensor(1)


def _train_head(
    model: nn.Module, batches: list[Batch], settings: TrainSettings, out: Path, seed: int
) -> dict:
    """Train on ``batches`` sampled at random (seeded) for ``settings.steps`` steps; return a training summary."""
    rng = np.random.default_rng(seed)
    trainer = Trainer(model, settings, out / "run", loss_module=HeadLoss(model))
    history = trainer.train(lambda _: batches[rng.integers(len(batches))])
    return {
        "steps": trainer.step,
        "minutes": round(trainer.elapsed / 60, 2),
        "final_loss": history[-1]["loss"],
    }


def _save(model: nn.Module, tokenizer: XLMTokenizer, out: Path, metrics: dict, base: Path) -> None:
    """The model, its tokenizer and ``metrics.json`` (with the base's point in its run)."""
    metrics["base"] = base_snapshot(base)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "metrics.json").write_text(
        json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _batches(examples: list, size: int, collate, seed: int) -> list[Batch]:
    order = np.random.default_rng(seed).permutation(len(examples))
    return [collate([examples[i] for i in order[j : j + size]]) for j in range(0, len(order), size)]


# ---------------------------------------------------------------------------------------------------------------
# Extractive QA


@dataclass
class QATrainingWindow:
    """One window of a (question, context) pair (the pipeline's layout) and the answer's token positions in it."""

    window: QAFeature
    start: int = 0
    end: int = 0


def qa_features(
    tokenizer: XLMTokenizer,
    question: str,
    context: str,
    lang: str,
    answer: tuple[int, int] | None = None,
    max_len: int = 256,
    max_question: int = 48,
) -> list[QATrainingWindow]:
    """The QA pipeline's windows, overlapping by half a window. With ``answer`` (char span), only the windows
    holding the whole answer are returned, with its token positions."""
    question_len = len(tokenizer(question, lang=lang, add_special_tokens=False)["input_ids"][:max_question])
    room = max_len - question_len - 3  # context tokens per window
    windows = build_qa_features(
        tokenizer,
        question,
        context,
        lang=lang,
        max_seq_len=max_len,
        doc_stride=room - room // 2,
        max_question_len=max_question,
        lang2id=tokenizer.lang2id,
    )
    if answer is None:
        return [QATrainingWindow(w) for w in windows]
    out = []
    for w in windows:
        inside = [i for i, (s, e) in enumerate(w.offsets) if s < answer[1] and e > answer[0]]
        if inside and w.offsets[0][0] <= answer[0] and w.offsets[-1][1] >= answer[1]:
            out.append(QATrainingWindow(w, w.ctx_start + inside[0], w.ctx_start + inside[-1]))
    return out


def _collate_qa(features: Sequence[QATrainingWindow]) -> Batch:
    batch = pad_examples(
        [(f.window.input_ids, f.window.langs, list(range(len(f.window.input_ids)))) for f in features]
    )
    batch["start_positions"] = torch.tensor([f.start for f in features])
    batch["end_positions"] = torch.tensor([f.end for f in features])
    return batch


def xquad_questions(data_dir: Path, lang: str, heldout: bool) -> list[dict]:
    """Questions of the training (``heldout=False``) or held-out XQuAD articles, with context and answers."""
    out = []
    for i, article in enumerate(xquad_articles(Path(data_dir) / "xquad", lang)):
        if (i in XQUAD_HELDOUT_ARTICLES) != heldout:
            continue
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                answers = [(a["text"], a["answer_start"]) for a in qa["answers"]]
                out.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "context": para["context"],
                        "answers": answers,
                    }
                )
    return out


@torch.no_grad()
def predict_answer(model: nn.Module, tokenizer: XLMTokenizer, question: str, context: str, lang: str) -> str:
    """Best span (start <= end, at most 30 tokens) over all windows, as a substring of ``context``."""
    features = qa_features(tokenizer, question, context, lang)
    batch = _collate_qa(features)
    batch.pop("start_positions"), batch.pop("end_positions")
    out = model(**batch)
    best, text = -float("inf"), ""
    for row, w in enumerate(f.window for f in features):
        n = len(w.offsets)
        start = out.start_logits[row, w.ctx_start : w.ctx_start + n]
        end = out.end_logits[row, w.ctx_start : w.ctx_start + n]
        scores = start[:, None] + end[None, :]
        scores = scores.masked_fill(~torch.ones(n, n, dtype=torch.bool).triu().tril(29), -float("inf"))
        flat = int(scores.argmax())
        s, e = divmod(flat, n)
        if float(scores[s, e]) > best:
            best, text = float(scores[s, e]), context[w.offsets[s][0] : w.offsets[e][1]]
    return text


def _normalise(text: str, lang: str) -> list[str]:
    """SQuAD normalisation (lower-case, no punctuation, no English articles); characters for Chinese (MLQA)."""
    text = "".join(
        ch for ch in text.lower() if ch not in set(string.punctuation) | set("，。、；：？！「」《》（）")
    )
    if lang == "zh":
        return [ch for ch in text if not ch.isspace()]
    if lang == "en":
        text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def qa_scores(prediction: str, answers: Sequence[str], lang: str) -> tuple[float, float]:
    """(exact match, F1) of a prediction against the best of the gold answers."""
    pred = _normalise(prediction, lang)
    em, f1 = 0.0, 0.0
    for answer in answers:
        gold = _normalise(answer, lang)
        em = max(em, float(pred == gold))
        common = sum((Counter(pred) & Counter(gold)).values())
        if common:
            p, r = common / len(pred), common / len(gold)
            f1 = max(f1, 2 * p * r / (p + r))
    return em, f1


def evaluate_qa(
    model: nn.Module, tokenizer: XLMTokenizer, questions: list[dict], lang: str
) -> dict[str, float]:
    model.eval()
    scores = [
        qa_scores(
            predict_answer(model, tokenizer, q["question"], q["context"], lang),
            [a for a, _ in q["answers"]],
            lang,
        )
        for q in questions
    ]
    return {
        "exact_match": 100 * sum(s[0] for s in scores) / len(scores),
        "f1": 100 * sum(s[1] for s in scores) / len(scores),
        "questions": len(scores),
    }


def finetune_qa(base: Path, out: Path, settings: TrainSettings, data: Path | None = None) -> dict:
    """Train a span head on the English questions of the training articles; evaluate on the held-out articles
    in en (in-language) and de/es/zh (zero-shot: the head never saw those languages)."""
    data = Path(data or DEFAULT_DATA)
    tokenizer = XLMTokenizer.from_pretrained(base)
    model = load_model(XLMForQuestionAnsweringSimple, base, num_labels=2)
    features = []
    for q in xquad_questions(data, "en", heldout=False):
        text, start = q["answers"][0]
        features += qa_features(tokenizer, q["question"], q["context"], "en", (start, start + len(text)))
    run = _train_head(
        model, _batches(features, 16, _collate_qa, settings.seed), settings, Path(out), settings.seed
    )
    metrics = {
        "training": run,
        "train_features": len(features),
        "heldout_articles": sorted(XQUAD_HELDOUT_ARTICLES),
        **{
            lang: evaluate_qa(model, tokenizer, xquad_questions(data, lang, heldout=True), lang)
            for lang in ("en", "de", "es", "zh")
        },
    }
    _save(model, tokenizer, Path(out), metrics, base)
    return metrics


# ---------------------------------------------------------------------------------------------------------------
# Language identification (sequence classification)


def _collate_labelled(examples: Sequence[tuple[list[int], int]]) -> Batch:
    batch = pad_examples([(ids, [0] * len(ids), list(range(len(ids)))) for ids, _ in examples])
    del batch["langs"]  # the language is what is predicted: no language embeddings in the input
    batch["labels"] = torch.tensor([label for _, label in examples])
    return batch


def langid_texts(corpus: Path, lines: range, langs: Sequence[str]) -> dict[str, list[str]]:
    """The NTREX-128 lines ``lines`` of every language: the same news sentences in each, so the classifier learns
    the language and not the topic."""
    return {lang: [x for _, x in eval_pairs(corpus, "ntrex128", lang, lines)] for lang in langs}


def encode_labelled(tokenizer: XLMTokenizer, texts: dict[str, list[str]], max_len: int = 64) -> list:
    """(ids with ``<s> ... </s>``, label) examples; label = the language's id in ``tokenizer.lang2id``.

    Every text is preprocessed with the English rules, as it must be when its language is unknown."""
    return [
        (tokenizer.encode(t, lang="en")[:max_len], tokenizer.lang2id[lang])
        for lang, items in sorted(texts.items())
        for t in items
    ]


@torch.no_grad()
def evaluate_langid(model: nn.Module, examples: list) -> dict[str, float]:
    """Accuracy overall and per language."""
    model.eval()
    id2label = model.config.id2label
    right, total = Counter(), Counter()
    for i in range(0, len(examples), 64):
        chunk = examples[i : i + 64]
        batch = _collate_labelled(chunk)
        pred = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.argmax(-1)
        for p, (_, label) in zip(pred.tolist(), chunk, strict=True):
            total[id2label[label]] += 1
            right[id2label[label]] += int(p == label)
    return {
        "accuracy": sum(right.values()) / sum(total.values()),
        **{k: right[k] / total[k] for k in sorted(total)},
    }


def finetune_langid(base: Path, out: Path, settings: TrainSettings, data: Path | None = None) -> dict:
    """Language identification over the model's languages: trained on the NTREX-128 training block, tested on its
    test block (both held out from nothing else: pre-training saw the training block too, never the test block)."""
    corpus = Path(data or SHARED_DATA / "corpus")
    tokenizer = XLMTokenizer.from_pretrained(base)
    id2label = {i: lang for lang, i in tokenizer.lang2id.items()}
    model = load_model(XLMForSequenceClassification, base, id2label=id2label, label2id=tokenizer.lang2id)
    langs = sorted(tokenizer.lang2id)
    train = encode_labelled(tokenizer, langid_texts(corpus, range(NTREX_VALID.start), langs))
    run = _train_head(
        model, _batches(train, 32, _collate_labelled, settings.seed), settings, Path(out), settings.seed
    )
    metrics = {
        "training": run,
        "train_examples": len(train),
        "test": evaluate_langid(model, encode_labelled(tokenizer, langid_texts(corpus, NTREX_TEST, langs))),
    }
    _save(model, tokenizer, Path(out), metrics, base)
    return metrics


# ---------------------------------------------------------------------------------------------------------------
# Token classification (GermEval 2014 NER, German)


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of a GermEval-style TSV (index, token, outer tag, ...), blank-line separated; '#' lines skipped."""
    sentences, words, tags = [], [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = [f for f in line.split("\t") if f]
        if not fields or line.startswith("#"):
            if words:
                sentences.append((words, tags))
                words, tags = [], []
            continue
        words.append(fields[1])
        tags.append(fields[2])
    if words:
        sentences.append((words, tags))
    return sentences


def encode_tagged(
    tokenizer: XLMTokenizer,
    sentence: tuple[list[str], list[str]],
    label2id: dict[str, int],
    lang: str,
    max_len: int = 128,
) -> tuple[list[int], list[int], list[int]]:
    """(ids, langs, labels): each word's first token carries its tag, the other tokens -100."""
    ids, labels = [tokenizer.bos_token_id], [IGNORE]
    for word, tag in zip(*sentence, strict=True):
        pieces = tokenizer.encode(word, lang=lang, add_special_tokens=False) or [tokenizer.unk_token_id]
        ids += pieces
        labels += [label2id[tag]] + [IGNORE] * (len(pieces) - 1)
    ids, labels = [*ids[: max_len - 1], tokenizer.sep_token_id], [*labels[: max_len - 1], IGNORE]
    return ids, [tokenizer.lang2id[lang]] * len(ids), labels


def _collate_tagged(examples: Sequence[tuple[list[int], list[int], list[int]]]) -> Batch:
    batch = pad_examples([(ids, langs, list(range(len(ids)))) for ids, langs, _ in examples])
    batch["labels"] = torch.full_like(batch["input_ids"], IGNORE)
    for row, (_, _, labels) in enumerate(examples):
        batch["labels"][row, : len(labels)] = torch.tensor(labels)
    return batch


@torch.no_grad()
def evaluate_tagger(model: nn.Module, examples: list) -> dict[str, float]:
    """Word-level tag accuracy, and accuracy on the words whose gold tag is not O."""
    model.eval()
    o = model.config.label2id.get("O")
    right = total = right_ent = total_ent = 0
    for i in range(0, len(examples), 32):
        batch = _collate_tagged(examples[i : i + 32])
        labels = batch.pop("labels")
        pred = model(**batch).logits.argmax(-1)
        seen = labels != IGNORE
        right += int((pred[seen] == labels[seen]).sum())
        total += int(seen.sum())
        ent = seen & (labels != o)
        right_ent += int((pred[ent] == labels[ent]).sum())
        total_ent += int(ent.sum())
    return {
        "accuracy": right / max(total, 1),
        "entity_word_accuracy": right_ent / max(total_ent, 1),
        "words": total,
    }


def finetune_ner(base: Path, out: Path, settings: TrainSettings, data: Path | None = None) -> dict:
    """German NER on GermEval 2014 (its test file, split 80/20 by sentence: the only NER data at hand)."""
    path = Path(data or DEFAULT_DATA / "ner" / "germeval14.de.test.tsv")
    sentences = read_conll(path)
    tags = sorted({t for _, ts in sentences for t in ts})
    label2id = {t: i for i, t in enumerate(tags)}
    tokenizer = XLMTokenizer.from_pretrained(base)
    model = load_model(XLMForTokenClassification, base, id2label=dict(enumerate(tags)), label2id=label2id)
    cut = len(sentences) * 4 // 5
    train = [encode_tagged(tokenizer, s, label2id, "de") for s in sentences[:cut]]
    test = [encode_tagged(tokenizer, s, label2id, "de") for s in sentences[cut:]]
    run = _train_head(
        model, _batches(train, 16, _collate_tagged, settings.seed), settings, Path(out), settings.seed
    )
    metrics = {"training": run, "train_sentences": len(train), "test": evaluate_tagger(model, test)}
    _save(model, tokenizer, Path(out), metrics, base)
    return metrics


# ---------------------------------------------------------------------------------------------------------------
# Part-of-speech tagging (Universal Dependencies UPOS)

POS_TRAIN_PER_LANG = 4000  # sentences a language at most, so English and Portuguese do not drown the rest


def pos_sentences(corpus: Path, lang: str, split: str) -> list[tuple[list[str], list[str]]]:
    """(words, UPOS tags) of a language's UD ``train`` (licence-filtered), ``dev``, ``test`` or ``pud`` files."""
    files = ud_train_files(corpus, lang) if split == "train" else ud_files(corpus, lang, split)
    return [(list(s.words), list(s.upos)) for p in files for s in read_conllu(p)]


def evaluate_pos(
    model: nn.Module,
    tokenizer: XLMTokenizer,
    corpus: Path,
    train_langs: Sequence[str],
    limit: int | None = None,
) -> dict[str, dict]:
    """Word accuracy on every UD test set and PUD of the model's languages (the first ``limit`` sentences of
    each, or all), each marked zero-shot where its language had no training data."""
    label2id = model.config.label2id
    out = {}
    for lang in sorted(tokenizer.lang2id):
        for split in ("test", "pud"):
            sentences = pos_sentences(corpus, lang, split)[:limit]
            if sentences:
                examples = [encode_tagged(tokenizer, s, label2id, lang) for s in sentences]
                result = evaluate_tagger(model, examples)
                out[f"{lang}.{split}"] = {
                    "accuracy": result["accuracy"],
                    "words": result["words"],
                    "zero_shot": lang not in train_langs,
                }
    return out


def finetune_pos(base: Path, out: Path, settings: TrainSettings, data: Path | None = None) -> dict:
    """UPOS tagging trained on the UD training sets there are (at most :data:`POS_TRAIN_PER_LANG` sentences a
    language), tested on every UD test set and PUD: the languages without training data are zero-shot."""
    corpus = Path(data or SHARED_DATA / "corpus")
    tokenizer = XLMTokenizer.from_pretrained(base)
    label2id = {t: i for i, t in enumerate(UPOS)}
    model = load_model(XLMForTokenClassification, base, id2label=dict(enumerate(UPOS)), label2id=label2id)
    rng = np.random.default_rng(settings.seed)
    train, train_langs = [], []
    for lang in sorted(tokenizer.lang2id):
        sentences = pos_sentences(corpus, lang, "train")
        if sentences:
            train_langs.append(lang)
            pick = rng.permutation(len(sentences))[:POS_TRAIN_PER_LANG]
            train += [encode_tagged(tokenizer, sentences[i], label2id, lang) for i in pick]
    run = _train_head(
        model, _batches(train, 16, _collate_tagged, settings.seed), settings, Path(out), settings.seed
    )
    metrics = {
        "training": run,
        "train_sentences": len(train),
        "train_langs": train_langs,
        "test": evaluate_pos(model, tokenizer, corpus, train_langs),
    }
    _save(model, tokenizer, Path(out), metrics, base)
    return metrics
