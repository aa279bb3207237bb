"""Held-out measurements of a trained LM: MLM accuracy per language and the TLM effect.

Everything here starts from raw text and our :class:`~xlm.tokenization.XLMTokenizer`, exactly as a user would,
and masks with a fixed seed, so the numbers in a model card can be recomputed from the shipped files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from tqdm import tqdm

from .batches import EOS, IGNORE, N_SPECIAL, mask_tokens, pad_examples, sentence_example, tlm_example
from .trainer import evaluate_lm

Batch = dict[str, torch.Tensor]


def encode(tokenizer, texts: Sequence[str], lang: str, cache: dict | None = None) -> list[list[int]]:
    """Token ids of each text (no special tokens), through the tokenizer's full pipeline for ``lang``; ``cache``
    (a dict) remembers them across calls."""
    cache = {} if cache is None else cache
    for t in texts:
        if (t, lang) not in cache:
            cache[t, lang] = tokenizer.encode(t, lang=lang, add_special_tokens=False)
    return [cache[t, lang] for t in texts]


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def unigram_baseline(batches: list[Batch]) -> float:
    """Accuracy of always guessing the single most frequent masked token (chosen with hindsight: optimistic)."""
    labels = torch.cat([b["labels"][b["labels"] != IGNORE] for b in batches]).tolist()
    return Counter(labels).most_common(1)[0][1] / len(labels) if labels else float("nan")


def mlm_report(
    model: nn.Module,
    tokenizer,
    texts: dict[str, list[str]],
    seed: int = 0,
    cache: dict | None = None,
    max_tokens: int = 126,
) -> dict[str, dict]:
    """Per language: masked-token accuracy, perplexity, token count and the unigram baseline; each text is scored
    alone (``</s> text </s>``, as a fill-mask user sends it)."""
    report = {}
    for lang, lines in tqdm(sorted(texts.items()), desc="MLM", unit="lang", leave=False):
        ids = [x for x in encode(tokenizer, lines, lang, cache) if x]
        lang_id = tokenizer.lang2id[lang]
        batches = masked_batches(
            [([], x[:max_tokens]) for x in ids], lang_id, lang_id, seed, with_source=False
        )
        report[lang] = {**evaluate_lm(model, iter(batches)), "unigram_baseline": unigram_baseline(batches)}
    return report


def masked_batches(
    pairs: list[tuple[list[int], list[int]]], src_lang: int, tgt_lang: int, seed: int, with_source: bool
) -> list[Batch]:
    """Mask 15% of each translation's tokens (all with the mask token, from a fixed seed: the accuracy is that of
    truly hidden tokens); optionally put the source in front (TLM)."""
    gen = torch.Generator().manual_seed(seed)
    examples, labels = [], []
    for src, tgt in pairs:
        tgt_ids = torch.tensor([EOS, *tgt, EOS])
        masked, lab = mask_tokens(tgt_ids, N_SPECIAL + 1, gen, replace=(1.0, 0.0))
        if with_source:
            ids, langs, pos = tlm_example(src, masked[1:-1].tolist(), src_lang, tgt_lang)
            lab = torch.cat([torch.full((len(src) + 2,), IGNORE), lab])
        else:
            ids, langs, pos = masked.tolist(), [tgt_lang] * len(masked), list(range(len(masked)))
        examples.append((ids, langs, pos))
        labels.append(lab)
    batches = []
    for rows in _chunks(list(range(len(examples))), 32):
        batch = pad_examples([examples[r] for r in rows])
        batch["labels"] = torch.full_like(batch["input_ids"], IGNORE)
        for j, r in enumerate(rows):
            batch["labels"][j, : len(labels[r])] = labels[r]
        batches.append(batch)
    return batches


def tlm_effect(
    model: nn.Module,
    tokenizer,
    pairs: dict[str, list[tuple[str, str]]],
    seed: int = 0,
    max_tokens: int = 126,
    cache: dict | None = None,
) -> dict[str, dict]:
    """Per language xx: accuracy on masked xx tokens with the English sentence in context and without it."""
    report = {}
    for lang, rows in tqdm(sorted(pairs.items()), desc="TLM", unit="lang", leave=False):
        en_ids = encode(tokenizer, [en for en, _ in rows], "en", cache)
        xx_ids = encode(tokenizer, [xx for _, xx in rows], lang, cache)
        encoded = [(e[:max_tokens], x[:max_tokens]) for e, x in zip(en_ids, xx_ids, strict=True) if e and x]
        ids = tokenizer.lang2id["en"], tokenizer.lang2id[lang]
        alone = evaluate_lm(model, iter(masked_batches(encoded, *ids, seed, with_source=False)))
        both = evaluate_lm(model, iter(masked_batches(encoded, *ids, seed, with_source=True)))
        report[lang] = {"accuracy_alone": alone["accuracy"], "accuracy_with_en": both["accuracy"]}
        report[lang]["tokens"] = alone["tokens"]
    return report


def causal_batches(sentences: list[list[int]], lang_id: int, max_tokens: int = 126) -> list[Batch]:
    """Each sentence alone (``</s> sentence </s>``), labels = inputs (the model shifts them), 32 a batch."""
    examples = [sentence_example(x[:max_tokens], lang_id) for x in sentences if x]
    batches = []
    for rows in _chunks(examples, 32):
        batch = pad_examples(rows)
        batch["labels"] = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, IGNORE)
        batches.append(batch)
    return batches


def clm_report(model: nn.Module, tokenizer, texts: dict[str, list[str]], cache: dict | None = None) -> dict:
    """Per language: next-token accuracy and perplexity of a causal LM, each text alone (``</s> text </s>``)."""
    report = {}
    for lang, lines in sorted(texts.items()):
        batches = causal_batches(encode(tokenizer, lines, lang, cache), tokenizer.lang2id[lang])
        labels = [t for b in batches for row in b["labels"] for t in row[1:].tolist() if t != IGNORE]
        report[lang] = {
            **evaluate_lm(model, iter(batches)),
            "unigram_baseline": Counter(labels).most_common(1)[0][1] / len(labels),
        }
    return report


@torch.no_grad()
def sentence_embeddings(model: nn.Module, tokenizer, texts: Sequence[str], lang: str) -> torch.Tensor:
    """Mean of the last hidden states over each text's own tokens (``</s>`` markers left out), L2-normalised."""
    encoder = model.base_model
    lang_id = tokenizer.lang2id[lang]
    out = []
    for chunk in _chunks([x[:126] for x in encode(tokenizer, list(texts), lang)], 32):
        rows = [sentence_example(x, lang_id) for x in chunk]
        batch = pad_examples(rows)
        hidden = encoder(**batch)[0].float()
        inner = batch["attention_mask"].clone()
        inner[:, 0] = 0
        inner[torch.arange(len(rows)), batch["attention_mask"].sum(1) - 1] = 0
        pooled = (hidden * inner[..., None]).sum(1) / inner.sum(1, keepdim=True).clamp(min=1)
        out.append(torch.nn.functional.normalize(pooled, dim=-1))
    return torch.cat(out)


def retrieval_top1(queries: torch.Tensor, keys: torch.Tensor) -> float:
    """The share of queries whose nearest key (cosine of normalised embeddings) is the one at their own index."""
    return float((queries @ keys.T).argmax(1).eq(torch.arange(len(queries))).float().mean())


def cloze_top5(fill_mask, sentences: Sequence[dict]) -> dict[str, dict]:
    """Per language (and ``all``): the share of cloze sentences with an answer among the top-5 predicted words
    (case-insensitive), with the predictions for the card."""
    report: dict[str, dict] = {}
    for item in sentences:
        words = [p["token_str"].strip() for p in fill_mask(item["text"], top_k=5, lang=item["lang"])]
        hit = any(w.casefold() in {a.casefold() for a in item["answers"]} for w in words)
        for key in (item["lang"], "all"):
            entry = report.setdefault(key, {"right": 0, "sentences": 0})
            entry["right"] += int(hit)
            entry["sentences"] += 1
    for entry in report.values():
        entry["top5"] = entry["right"] / entry["sentences"]
    return report
