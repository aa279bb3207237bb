"""feature-extraction (hidden states) and the attention view (layer × head matrices with their tokens)."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import InputError
from .base import Pipeline

POOLINGS = ("none", "mean", "first")


class FeatureExtractionPipeline(Pipeline):
    """Last hidden states: ``[[token vector, ...]]`` per text like transformers, or one vector with ``pooling``."""

    task = "feature-extraction"

    def run(self, items: list[str], lang: str | None = None, pooling: str = "none") -> list[Any]:
        if pooling not in POOLINGS:
            raise InputError(f"pooling must be one of {', '.join(POOLINGS)}.")
        texts = [self.check_text(t) for t in items]
        batch = self.encode(texts, lang=lang)
        hidden = self.encoder(**batch).last_hidden_state.float().cpu()
        mask = batch["attention_mask"].cpu().bool()
        out = []
        for row in range(hidden.shape[0]):
            states = hidden[row][mask[row]]
            if pooling == "mean":
                out.append(states.mean(0).tolist())
            elif pooling == "first":
                out.append(states[0].tolist())
            else:
                out.append([states.tolist()])
        return out


class AttentionPipeline(Pipeline):
    """Attention weights of every layer and head, with the tokens they connect.

    An input is a text, or a dict ``{"text", "lang", "text_pair", "lang_pair"}``: a pair is laid out as in TLM
    training (positions restart, one language id per side), so attention between the two languages shows.
    Result: ``{"tokens", "token_ids", "langs", "side", "layers", "heads", "attentions"}`` with ``attentions[layer][head][query][key]``.
    """

    task = "attention"

    def run(self, items: list[Any], lang: str | None = None, decimals: int = 4) -> list[Any]:
        return [
            self._one(item if isinstance(item, dict) else {"text": item, "lang": lang}, decimals)
            for item in items
        ]

    def _one(self, item: dict[str, Any], decimals: int) -> dict[str, Any]:
        lang, pair, pair_lang = item.get("lang"), item.get("text_pair"), item.get("lang_pair")
        text = self.check_text(item.get("text"))
        if pair:
            batch, split = self.encode_tlm(text, lang, pair, pair_lang or lang)
        else:
            batch = self.encode([text], lang=lang)
            batch.pop("offset_mapping", None)
            split = batch["input_ids"].shape[1]
        out = self.encoder(**batch, output_attentions=True)
        attn = torch.stack([a[0] for a in out.attentions]).float().cpu()  # (layers, heads, q, k)
        ids = batch["input_ids"][0].tolist()
        langs = batch["langs"][0].tolist() if "langs" in batch else [None] * len(ids)
        id2lang = self.tokenizer.id2lang or {}
        return {
            "tokens": self.tokenizer.convert_ids_to_tokens(ids),
            "token_ids": ids,
            "langs": [id2lang.get(x) if x is not None else None for x in langs],
            "side": [0] * split + [1] * (len(ids) - split),
            "layers": attn.shape[0],
            "heads": attn.shape[1],
            "attentions": attn.round(decimals=decimals).tolist(),
        }
