"""Held-out measurements of a trained LM: MLM accuracy per language and the TLM effect.

Everything here starts from raw text and our :class:`~xlm.tokenization.XLMTokenizer`, exactly as a user would,
and masks with a fixed seed, so the numbers in a model card can be recomputed from the shipped files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from .batches import EOS, IGNORE, N_SPECIAL, make_stream, mask_tokens, pad_examples, tlm_example
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


def stream_batches(
    sentences: list[list[int]], lang_id: int, seq_len: int = 128, batch_size: int = 16, causal: bool = False
) -> list[Batch]:
    """Sentences joined into one stream and cut into windows; ``labels`` are the inputs when ``causal``."""
    stream = torch.from_numpy(make_stream(sentences))
    n = len(stream) // seq_len
    windows = stream[: n * seq_len].view(n, seq_len) if n else stream.view(1, -1)
    batches = []
    for rows in _chunks(list(range(len(windows))), batch_size):
        x = windows[rows]
        batch = {
            "input_ids": x,
            "langs": torch.full_like(x, lang_id),
            "position_ids": torch.arange(x.shape[1]).expand_as(x).clone(),
            "attention_mask": torch.ones_like(x),
        }
        if causal:
            batch["labels"] = x.clone()
        batches.append(batch)
    return batches


def mlm_batches(
    sentences: list[list[int]], lang_id: int, vocab_size: int, seed: int, **kwargs
) -> list[Batch]:
    """:func:`stream_batches` with 15% of the tokens chosen from a fixed seed, every one of them replaced by the
    mask token (no 10% random / 10% kept at evaluation: the accuracy is that of truly hidden tokens)."""
    gen = torch.Generator().manual_seed(seed)
    batches = stream_batches(sentences, lang_id, **kwargs)
    for batch in batches:
        batch["input_ids"], batch["labels"] = mask_tokens(
            batch["input_ids"], vocab_size, gen, replace=(1.0, 0.0)
        )
    return batches


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
    streams: bool = False,
    max_tokens: int = 126,
) -> dict[str, dict]:
    """Per language: masked-token accuracy, perplexity, token count and the unigram baseline.

    Each text is scored alone (``</s> text </s>``, as a fill-mask user sends it), or with ``streams=True`` the
    texts are joined into 128-token windows (XLM's MLM training layout)."""
    report = {}
    for lang, lines in sorted(texts.items()):
        ids = [x for x in encode(tokenizer, lines, lang, cache) if x]
        lang_id = tokenizer.lang2id[lang]
        if streams:
            batches = mlm_batches(ids, lang_id, len(tokenizer), seed)
        else:
            batches = _tlm_batches(
                [([], x[:max_tokens]) for x in ids], lang_id, lang_id, seed, with_source=False
            )
        report[lang] = {**evaluate_lm(model, iter(batches)), "unigram_baseline": unigram_baseline(batches)}
    return report


def _tlm_batches(
    pairs: list[tuple[list[int], list[int]]], src_lang: int, tgt_lang: int, seed: int, with_source: bool
) -> list[Batch]:
    """Mask 15% of each translation's tokens (all with the mask token); optionally put the source in front."""
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
    for lang, rows in sorted(pairs.items()):
        en_ids = encode(tokenizer, [en for en, _ in rows], "en", cache)
        xx_ids = encode(tokenizer, [xx for _, xx in rows], lang, cache)
        encoded = [(e[:max_tokens], x[:max_tokens]) for e, x in zip(en_ids, xx_ids, strict=True) if e and x]
        ids = tokenizer.lang2id["en"], tokenizer.lang2id[lang]
        alone = evaluate_lm(model, iter(_tlm_batches(encoded, *ids, seed, with_source=False)))
        both = evaluate_lm(model, iter(_tlm_batches(encoded, *ids, seed, with_source=True)))
        report[lang] = {"accuracy_alone": alone["accuracy"], "accuracy_with_en": both["accuracy"]}
        report[lang]["tokens"] = alone["tokens"]
    return report


def clm_report(model: nn.Module, tokenizer, texts: dict[str, list[str]], cache: dict | None = None) -> dict:
    """Per language: next-token accuracy and perplexity of a causal LM, each text alone (``</s> text </s>``)."""
    report = {}
    for lang, lines in sorted(texts.items()):
        lang_id = tokenizer.lang2id[lang]
        examples = [
            ([EOS, *x[:126], EOS], [lang_id] * (len(x[:126]) + 2), list(range(len(x[:126]) + 2)))
            for x in encode(tokenizer, lines, lang, cache)
            if x
        ]
        batches = []
        for rows in _chunks(examples, 32):
            batch = pad_examples(rows)
            batch["labels"] = batch["input_ids"].clone()
            batches.append(batch)
        labels = [t for ids, _, _ in examples for t in ids[1:]]
        report[lang] = {
            **evaluate_lm(model, iter(batches)),
            "unigram_baseline": Counter(labels).most_common(1)[0][1] / len(labels),
        }
    return report
