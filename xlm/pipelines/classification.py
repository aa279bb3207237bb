"""text-classification, token-classification (aggregated to words, with character spans) and multiple-choice."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import InputError
from .base import Pipeline, softmax

AGGREGATIONS = ("none", "simple", "first", "average", "max")


def _scores(logits: torch.Tensor, config: Any) -> torch.Tensor:
    """Label scores as transformers computes them: sigmoid for one label or multi-label, softmax otherwise."""
    if config.num_labels == 1 or getattr(config, "problem_type", None) == "multi_label_classification":
        return torch.sigmoid(logits.float())
    return softmax(logits)


def _label(config: Any, index: int) -> str:
    return (config.id2label or {}).get(index, f"LABEL_{index}")


class TextClassificationPipeline(Pipeline):
    """``clf(text)`` → ``[{"label", "score"}, ...]`` best first (``top_k`` of them, all with ``top_k=None``)."""

    task = "text-classification"
    role = "sequence-classification"

    def run(
        self, items: list[Any], top_k: int | None = 1, lang: str | None = None, lang_pair: str | None = None
    ) -> list[Any]:
        texts, pairs = [], []
        for item in items:
            if isinstance(item, dict):
                texts.append(self.check_text(item.get("text"), "text"))
                pairs.append(self.check_text(item.get("text_pair"), "text_pair"))
            else:
                texts.append(self.check_text(item))
        if pairs and len(pairs) != len(texts):
            raise InputError("Give every input a text_pair, or none of them.")
        batch = self.encode(texts, lang=lang, pairs=pairs or None, pair_lang=lang_pair)
        config = self.model.config
        scores = _scores(self.model(**batch).logits, config).cpu()
        out = []
        for row in scores:
            ranked = sorted(
                ({"label": _label(config, i), "score": float(s)} for i, s in enumerate(row)),
                key=lambda x: -x["score"],
            )
            out.append(ranked if top_k is None else ranked[:top_k])
        return out


class TokenClassificationPipeline(Pipeline):
    """Tag tokens; ``aggregation_strategy`` groups pieces into words and words into entities, with char spans."""

    task = "token-classification"
    role = "token-classification"

    def run(
        self,
        items: list[str],
        aggregation_strategy: str = "simple",
        ignore_labels: tuple[str, ...] = ("O",),
        lang: str | None = None,
    ) -> list[Any]:
        if aggregation_strategy not in AGGREGATIONS:
            raise InputError(f"aggregation_strategy must be one of {', '.join(AGGREGATIONS)}.")
        texts = [self.check_text(t) for t in items]
        batch = self.encode(texts, lang=lang, return_offsets_mapping=True, add_special_tokens=True)
        offsets = batch.pop("offset_mapping").tolist()
        config = self.model.config
        scores = _scores(self.model(**batch).logits, config).cpu()
        results = []
        for row, text in enumerate(texts):
            ids = batch["input_ids"][row].tolist()
            ends = self.tokenizer.word_ends(self.tokenizer.convert_ids_to_tokens(ids))
            pieces = [
                (i, scores[row, i], start, end, ends_word)
                for i, (ends_word, (start, end)) in enumerate(zip(ends, offsets[row], strict=True))
                if end > start
            ]
            entities = _aggregate(pieces, aggregation_strategy, config)
            results.append(
                [
                    {**e, "word": text[e["start"] : e["end"]]}
                    for e in entities
                    if e.get("entity", e.get("entity_group")) not in ignore_labels
                ]
            )
        return results


def _aggregate(pieces: list[tuple], strategy: str, config: Any) -> list[dict[str, Any]]:
    """Token-level predictions → entities. ``pieces``: (index, label scores, start, end, ends_word)."""
    if strategy in ("none", "simple"):
        units = [(i, s, a, b) for i, s, a, b, _ in pieces]
    else:
        units, word = [], []
        for piece in pieces:
            word.append(piece)
            if piece[4] or piece is pieces[-1]:
                units.append(_word(word, strategy))
                word = []
    tagged = [
        {"entity": _label(config, int(s.argmax())), "score": float(s.max()), "index": i, "start": a, "end": b}
        for i, s, a, b in units
    ]
    return tagged if strategy == "none" else _group(tagged)


def _word(pieces: list[tuple], strategy: str) -> tuple:
    stack = torch.stack([p[1] for p in pieces])
    if strategy == "first":
        scores = stack[0]
    elif strategy == "average":
        scores = stack.mean(0)
    else:  # max: the piece the model is surest about speaks for the word
        scores = stack[int(stack.max(-1).values.argmax())]
    return pieces[0][0], scores, pieces[0][2], pieces[-1][3]


def _group(tagged: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge neighbours into entities: ``I-X`` (or a bare ``X``) continues an ``X`` entity, ``B-X`` starts one."""
    groups: list[list[dict[str, Any]]] = []
    for item in tagged:
        prefix, _, kind = item["entity"].rpartition("-")
        if groups and prefix != "B" and groups[-1][0]["kind"] == kind:
            groups[-1].append({**item, "kind": kind})
        else:
            groups.append([{**item, "kind": kind}])
    return [
        {
            "entity_group": g[0]["kind"],
            "score": sum(x["score"] for x in g) / len(g),
            "start": g[0]["start"],
            "end": g[-1]["end"],
        }
        for g in groups
    ]


class MultipleChoicePipeline(Pipeline):
    """``mc({"question": ..., "choices": [...]})`` → ``[{"choice", "index", "score"}, ...]`` best first."""

    task = "multiple-choice"
    role = "multiple-choice"

    def run(self, items: list[dict[str, Any]], lang: str | None = None) -> list[Any]:
        out = []
        for item in items:  # choices differ in number between items: one forward pass each
            if not isinstance(item, dict) or not item.get("choices"):
                raise InputError(
                    'Each multiple-choice input is a dict with "question" and a list of "choices".'
                )
            question = self.check_text(item.get("question"), "question")
            choices = [self.check_text(c, "choice") for c in item["choices"]]
            batch = self.encode([question] * len(choices), lang=lang, pairs=choices)
            logits = self.model(**{k: v.unsqueeze(0) for k, v in batch.items()}).logits[0]
            probs = softmax(logits).cpu().tolist()
            ranked = [
                {"choice": c, "index": i, "score": p}
                for i, (c, p) in enumerate(zip(choices, probs, strict=True))
            ]
            out.append(sorted(ranked, key=lambda x: -x["score"]))
        return out
