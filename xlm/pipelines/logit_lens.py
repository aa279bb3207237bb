"""Logit lens at the mask: what the model would guess if it stopped after each layer.

Every layer's hidden state at the masked position is read out through the model's own LM head (``lm_scores``),
so the guesses of layer 0 (the embeddings) to the last layer show how the answer forms. What "through the LM
head" means differs by family:

- XLM (post-LN): every layer ends in a LayerNorm (the embeddings in ``layer_norm_emb``), so each hidden state is
  already on the scale the head reads; it goes straight into the vocabulary projection ``pred_layer.proj`` (tied
  to the embeddings where ``tie_word_embeddings``; the adaptive softmax's log-probabilities where ``asm``). XLM
  has no transform of its own before the projection.
- XLM-R base and large (post-LN, too): each hidden state goes through the whole LM head, which has its own
  transform before the projection: dense → GELU → LayerNorm → decoder tied to the embeddings, + bias.
- XLM-R XL and XXL (pre-LN): the blocks' outputs are un-normalised sums; the encoder's final LayerNorm, which
  only the last layer's output has been through, is applied to the others first, then the whole LM head.

The last layer's readout is the very computation fill-mask runs, so it equals fill-mask's answer exactly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import InputError
from .base import softmax
from .fill_mask import FillMaskPipeline, _clip


def final_norm(encoder: nn.Module) -> nn.Module | None:
    """The LayerNorm a pre-LN encoder applies after its last block (XLM-R XL/XXL: ``encoder.LayerNorm``), which
    the earlier layers' hidden states have not been through; None for post-LN encoders (XLM, XLM-R base/large)."""
    return getattr(getattr(encoder, "encoder", None), "LayerNorm", None)


def readout(family: str, encoder: nn.Module, asm: bool = False) -> str:
    """One line for people: how a layer's hidden state becomes guesses on this model."""
    if family == "XLM":
        head = "the adaptive softmax" if asm else "the vocabulary projection"
        return f"each layer's output (XLM is post-LN: already normalised) → {head}"
    if final_norm(encoder) is not None:
        return "each layer's output → the encoder's final LayerNorm (pre-LN model; the last layer has it) → LM head"
    return (
        "each layer's output (post-LN: already normalised) → the LM head (dense → GELU → LayerNorm → decoder)"
    )


class LogitLensPipeline(FillMaskPipeline):
    """Top-k guesses at the one mask of a text, read out of every layer (0 = the embeddings' output).

    Result per text: ``{"tokens", "mask_index", "readout", "answer": {"token", "token_str"}, "layers": [{"layer",
    "top": [{"token", "token_str", "score"}, ...], "answer_rank", "answer_score"}, ...]}`` where the answer is the
    last layer's top guess and its rank (1 = top) and probability are given for every layer.
    """

    task = "logit-lens"

    def run(self, items: list[str], top_k: int = 5, lang: str | None = None) -> list[Any]:
        k = int(top_k)
        if not 1 <= k <= self.model.config.vocab_size:
            raise InputError(
                f"top_k must be between 1 and the vocabulary size ({self.model.config.vocab_size})."
            )
        return [self._one(self._with_mask_token(self.check_text(text)), k, lang) for text in items]

    def _one(self, text: str, k: int, lang: str | None) -> dict[str, Any]:
        tok = self.tokenizer
        batch = self.encode([text], lang=lang)
        batch.pop("offset_mapping", None)
        is_mask = batch["input_ids"] == tok.mask_token_id
        masks = int(is_mask.sum())
        if masks == 0:
            raise InputError(
                f"No mask token in {_clip(text)!r}: write {tok.mask_token} (or <mask>) where a word is missing."
            )
        if masks > 1:
            raise InputError(f"The logit lens reads one mask at a time and the text has {masks}: keep one.")
        probs = softmax(self.layer_logits(batch, is_mask))  # (layers + 1, vocab)
        answer = int(probs[-1].argmax())
        answer_probs = probs[:, answer]
        ranks = (probs > answer_probs[:, None]).sum(dim=-1) + 1
        scores, best = probs.topk(k, dim=-1)
        layers = [
            {
                "layer": layer,
                "top": [
                    {"token": t, "token_str": tok.decode([t]), "score": s}
                    for s, t in zip(scores[layer].tolist(), best[layer].tolist(), strict=True)
                ],
                "answer_rank": int(ranks[layer]),
                "answer_score": float(answer_probs[layer]),
            }
            for layer in range(probs.shape[0])
        ]
        ids = batch["input_ids"][0].tolist()
        return {
            "tokens": tok.convert_ids_to_tokens(ids),
            "mask_index": int(is_mask[0].nonzero()[0, 0]),
            "readout": readout(self.family.name, self.encoder, bool(getattr(self.config, "asm", False))),
            "answer": {"token": answer, "token_str": tok.decode([answer])},
            "layers": layers,
        }

    def layer_logits(self, batch: dict[str, torch.Tensor], is_mask: torch.Tensor) -> torch.Tensor:
        """LM scores of every layer's hidden state at the mask: (n_layers + 1, vocab). The last row is computed
        exactly as fill-mask computes it (same call on the same tensor), the earlier rows in one batch."""
        model = self.model
        hidden = model.base_model(**batch, output_hidden_states=True).hidden_states
        earlier = torch.cat([h[is_mask] for h in hidden[:-1]])  # (n_layers, dim)
        norm = final_norm(self.encoder)
        if norm is not None:
            earlier = norm(earlier)
        return torch.cat([model.lm_scores(earlier), model.lm_scores(hidden[-1][is_mask])])
