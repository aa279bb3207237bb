"""Language-embedding swap: the same tokens read with their own language id and with another one (or none).

Only XLM checkpoints with language embeddings (``use_lang_emb`` and more than one language) add a language vector
to every token; the swap changes that vector and nothing else: the text is tokenised once, with its own
language's rules, and both runs read the same token ids at the same positions.

"No language embedding" (``other="none"``) leaves the language vector out of the embeddings' sum, which is the same
as adding a zero vector before the embedding LayerNorm. It is the model's own path when no ``langs`` are given
(transformers' too, and fill-mask's without a language), so no vector is invented; any XLM checkpoint with
language embeddings allows it. XLM always added a language vector in training, so this input is one the model
never saw: how far its guesses move shows how much it leans on that vector.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import InputError
from .base import softmax
from .fill_mask import FillMaskPipeline, _clip
from .inputs import NO_LANGUAGE, check_swappable


def kl_divergence(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(P ‖ Q) in nats over the last dimension, from log-probabilities (terms where P is 0 count 0)."""
    p = log_p.exp()
    return torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p)).sum(dim=-1)


def topk_overlap(p: torch.Tensor, q: torch.Tensor, k: int) -> list[float]:
    """Per row, the share of P's top-k tokens that are also in Q's top-k (1 = the same set, order aside)."""
    top_p, top_q = p.topk(k, dim=-1).indices.tolist(), q.topk(k, dim=-1).indices.tolist()
    return [len(set(a) & set(b)) / k for a, b in zip(top_p, top_q, strict=True)]


def attention_shift(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """Per layer, the total variation distance between two runs' attention rows (half the L1 distance, 0 = the same,
    1 = disjoint), averaged over heads and query tokens. ``a``, ``b``: (layers, heads, q, k)."""
    return (0.5 * (a - b).abs().sum(dim=-1)).mean(dim=(1, 2)).tolist()


class LanguageSwapPipeline(FillMaskPipeline):
    """Fill-mask and attention of a text with its own language id (``lang``) and with ``other`` (a language of
    the model, or ``"none"``), and how far they move.

    Result per text: ``{"tokens", "lang", "other", "runs": [own, swapped], "shift"}``; each run is ``{"lang",
    "predictions", "attentions"}`` with predictions as fill-mask gives them and ``attentions[layer][head][q][k]``
    as the attention pipeline gives them; ``shift`` is ``{"masks": [{"kl", "overlap", "same_top1"}, ...],
    "attention": [per layer total variation]}`` with KL(own ‖ swapped) in nats over the whole vocabulary and the
    top-k overlap as a share of k.
    """

    task = "language-swap"

    def run(
        self,
        items: list[str],
        lang: str | None = None,
        other: str | None = None,
        top_k: int = 5,
        decimals: int = 4,
    ) -> list[Any]:
        self.check_swappable()
        if not lang:
            raise InputError("Give the text's own language: the swap replaces it with another one.")
        if not other:
            raise InputError(f"Give the language to swap in (or {NO_LANGUAGE!r} for no language embedding).")
        self.lang_id(lang)  # an unknown language: our message, listing the known ones
        other_id = None if other == NO_LANGUAGE else self.lang_id(other)
        k = int(top_k)
        if not 1 <= k <= self.model.config.vocab_size:
            raise InputError(
                f"top_k must be between 1 and the vocabulary size ({self.model.config.vocab_size})."
            )
        return [
            self._one(self._with_mask_token(self.check_text(text)), lang, other, other_id, k, decimals)
            for text in items
        ]

    def check_swappable(self) -> None:
        """Refuse, saying why, a model without language embeddings (nothing to swap)."""
        check_swappable(self.config, self.family)

    def _one(
        self, text: str, lang: str, other: str, other_id: int | None, k: int, decimals: int
    ) -> dict[str, Any]:
        tok = self.tokenizer
        own = self.encode([text], lang=lang)  # tokenised by the own language's rules, with its language ids
        own.pop("offset_mapping", None)
        swapped = {name: value for name, value in own.items() if name != "langs"}
        if other_id is not None:
            swapped["langs"] = torch.full_like(own["langs"], other_id)
        ids = own["input_ids"]
        is_mask = ids == tok.mask_token_id
        if not bool(is_mask.any()):
            raise InputError(
                f"No mask token in {_clip(text)!r}: write {tok.mask_token} (or <mask>) where a word is missing."
            )
        # predictions exactly as fill-mask computes them, attention as the attention pipeline does
        logits = [self.mask_logits(batch, is_mask) for batch in (own, swapped)]  # (n_masks, vocab) each
        probs = [softmax(x) for x in logits]
        attentions = [
            torch.stack(self.encoder(**batch, output_attentions=True).attentions)[:, 0].float().cpu()
            for batch in (own, swapped)
        ]
        runs = []
        for name, p, att in zip((lang, other), probs, attentions, strict=True):
            scores, best = p.topk(k, dim=-1)
            predictions = self._format(ids.cpu(), is_mask.cpu(), scores.tolist(), best.tolist())[0]
            runs.append(
                {
                    "lang": name,
                    "predictions": predictions,
                    "attentions": att.round(decimals=decimals).tolist(),
                }
            )
        kl = kl_divergence(*(x.double().log_softmax(dim=-1) for x in logits)).tolist()
        overlap = topk_overlap(probs[0], probs[1], k)
        same_top1 = (probs[0].argmax(dim=-1) == probs[1].argmax(dim=-1)).tolist()
        return {
            "tokens": tok.convert_ids_to_tokens(ids[0].tolist()),
            "lang": lang,
            "other": other,
            "runs": runs,
            "shift": {
                "masks": [
                    {"kl": d, "overlap": o, "same_top1": s}
                    for d, o, s in zip(kl, overlap, same_top1, strict=True)
                ],
                "attention": attention_shift(*attentions),
            },
        }
