"""saliency: which input tokens a prediction rests on, by two measures shown side by side.

- Gradient × input: the gradient of one score with respect to the input (word) embeddings, times those embeddings,
  summed over the hidden dimension: one signed number per token (positive: the token pushes the score up). The
  score is the chosen fill-mask guess's log-probability at the mask, a QA span's start logit + end logit, or a
  class's logit.
- Attention rollout (Abnar & Zuidema 2020): each layer's attention averaged over heads, plus the identity for
  the residual connection, rows renormalised, multiplied through the layers; the row of the predicting position
  (the mask; the span's start and end, averaged; the first token for a class) says how much each input token
  reaches it. Rows sum to 1.

Gradients need a model autograd can go through: the pipeline asks the model cache for a differentiable copy
(plain torch layers in a float dtype; the inference copies run oneDNN kernels without a backward).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..errors import InputError
from ..registry import architecture
from .base import Pipeline
from .inputs import MAX_SALIENCY_CHARS, with_mask_token
from .question_answering import build_qa_features

TARGETS = {
    "fill-mask": "masked-lm",
    "question-answering": "question-answering",
    "text-classification": "sequence-classification",
}
MAX_ANSWER_TOKENS = 30
QA_WINDOW = 384


def attention_rollout(attentions: Sequence[torch.Tensor]) -> torch.Tensor:
    """(n, n) rollout of per-layer (heads, n, n) attentions, first layer first: rows sum to 1."""
    n = attentions[0].shape[-1]
    eye = torch.eye(n, dtype=torch.float64)
    rollout = eye
    for layer in attentions:
        mixed = 0.5 * layer.detach().double().cpu().mean(0) + 0.5 * eye
        rollout = (mixed / mixed.sum(-1, keepdim=True)) @ rollout
    return rollout


class SaliencyPipeline(Pipeline):
    """``sal(item, choice=0)`` for one target: ``target="fill-mask"`` (a text with one mask),
    ``"question-answering"`` (``{"question", "context"}``, in one window) or ``"text-classification"`` (a text).

    ``choice``: which of the ranked choices to explain (0: the model's answer). Result: ``{"target", "tokens", "token_ids",
    "choices": [{"label", "score"}] (the top_k best), "choice", "explained", "objective", "positions", "gradient_x_input",
    "rollout", "rollout_matrix"}``, one value per token in the last three (the matrix: one row per token).
    """

    task = "saliency"
    differentiable = True  # gradients flow back to the input embeddings

    def __init__(self, model: Any, *, target: str = "fill-mask", **kwargs: Any) -> None:
        if target not in TARGETS:
            raise InputError(f"target must be one of {', '.join(TARGETS)}, not {target!r}.")
        self.role = TARGETS[target]
        super().__init__(model, **kwargs)
        self.target = target
        beam = self.family.heads.get("question-answering-beam")
        if target == "question-answering" and beam is not None and architecture(self.config) is beam:
            raise InputError(
                "This checkpoint has XLM's beam-search QA head, which gives no start/end logit per token: "
                "saliency of a span needs a span head (XLMForQuestionAnsweringSimple)."
            )

    def run(
        self,
        items: list[Any],
        choice: int = 0,
        top_k: int = 5,
        lang: str | None = None,
        question_lang: str | None = None,
    ) -> list[Any]:
        if not isinstance(choice, int) or isinstance(choice, bool) or choice < 0:
            raise InputError(f"choice must be a rank from 0, not {choice!r}.")
        if not isinstance(top_k, int) or top_k < 1:
            raise InputError("top_k must be at least 1.")
        return [self._one(item, choice, top_k, lang, question_lang) for item in items]

    def _one(self, item: Any, choice: int, top_k: int, lang: str | None, question_lang: str | None) -> dict:
        with torch.inference_mode(False), torch.enable_grad():  # Pipeline.__call__ runs in inference mode
            if self.target == "question-answering":
                batch, scorer = self._qa(item, top_k, lang, question_lang)
            elif self.target == "fill-mask":
                batch, scorer = self._fill_mask(item, top_k, lang)
            else:
                batch, scorer = self._classification(item, top_k, lang)
            ids = batch.pop("input_ids")
            embeds = self.model.get_input_embeddings()(ids).detach().requires_grad_(True)
            attentions, choices, objective, positions = scorer(embeds, batch, choice)
            (grad,) = torch.autograd.grad(objective, embeds)
        gxi = (grad.float() * embeds.detach().float()).sum(-1)[0]
        rollout = attention_rollout([a[0] for a in attentions])
        return {
            "target": self.target,
            "tokens": self.tokenizer.convert_ids_to_tokens(ids[0].tolist()),
            "token_ids": ids[0].tolist(),
            "choices": choices,
            "choice": choice,
            "explained": choices[choice]["label"],
            "objective": float(objective.detach()),
            "positions": positions,
            "gradient_x_input": gxi.cpu().tolist(),
            "rollout": rollout[positions].mean(0).tolist(),
            "rollout_matrix": rollout.float().round(decimals=5).tolist(),
        }

    # -- the three kinds of score ----------------------------------------------------------------------------
    def _fill_mask(self, text: Any, top_k: int, lang: str | None) -> tuple[dict, Callable]:
        text = with_mask_token(self.check_text(text), self.tokenizer)
        batch = self._plain(self.encode([text], lang=lang))
        where = (batch["input_ids"][0] == self.tokenizer.mask_token_id).nonzero().flatten().tolist()
        if len(where) != 1:
            raise InputError(
                f"Saliency explains one mask: write exactly one <mask> in the text (found {len(where)})."
            )

        def score(embeds: torch.Tensor, inputs: dict, choice: int):
            out = self.model.base_model(inputs_embeds=embeds, **inputs, output_attentions=True)
            logp = self.model.lm_scores(out.last_hidden_state[0, where]).float().log_softmax(-1)[0]
            best = logp.detach().topk(min(top_k, logp.shape[0]))
            choices = [
                {"label": self.tokenizer.decode([i]), "token_id": i, "score": float(p.exp())}
                for p, i in zip(best.values, best.indices.tolist(), strict=True)
            ]
            _check_choice(choice, choices)
            return out.attentions, choices, logp[choices[choice]["token_id"]], where

        return batch, score

    def _classification(self, text: Any, top_k: int, lang: str | None) -> tuple[dict, Callable]:
        batch = self._plain(self.encode([self.check_text(text)], lang=lang))
        labels = self.config.id2label or {}

        def score(embeds: torch.Tensor, inputs: dict, choice: int):
            out = self.model(inputs_embeds=embeds, **inputs, output_attentions=True)
            logits = out.logits[0].float()
            probs = logits.detach().softmax(-1)
            order = probs.argsort(descending=True).tolist()[:top_k]
            choices = [
                {"label": labels.get(i, f"LABEL_{i}"), "index": i, "score": float(probs[i])} for i in order
            ]
            _check_choice(choice, choices)
            return out.attentions, choices, logits[choices[choice]["index"]], [0]

        return batch, score

    def _qa(
        self, item: Any, top_k: int, lang: str | None, question_lang: str | None
    ) -> tuple[dict, Callable]:
        if not isinstance(item, dict) or "question" not in item or "context" not in item:
            raise InputError('A QA input is a dict with "question" and "context".')
        self.lang_id(lang), self.lang_id(question_lang)
        context = self.check_text(item["context"], "context")
        window = min(QA_WINDOW, self.max_tokens)
        features = build_qa_features(
            self.tokenizer,
            self.check_text(item["question"], "question"),
            context,
            lang=lang,
            question_lang=question_lang,
            max_seq_len=window,
            doc_stride=window // 2,
            lang2id=self.tokenizer.lang2id if (lang and self.uses_langs()) else None,
        )
        if len(features) > 1:
            raise InputError(f"The context is too long for one window of {window} tokens: shorten it.")
        f = features[0]
        batch = {"input_ids": torch.tensor([f.input_ids]), "attention_mask": torch.ones(1, len(f.input_ids))}
        if f.langs is not None:
            batch["langs"] = torch.tensor([f.langs])
        batch = {k: v.long().to(self.loaded.device) for k, v in batch.items()}
        first, last = f.ctx_start, f.ctx_start + len(f.offsets) - 1

        def score(embeds: torch.Tensor, inputs: dict, choice: int):
            out = self.model(inputs_embeds=embeds, **inputs, output_attentions=True)
            start, end = out.start_logits[0].float(), out.end_logits[0].float()
            sums = (start.detach()[:, None] + end.detach()[None, :])[first : last + 1, first : last + 1]
            allowed = torch.ones_like(sums, dtype=torch.bool).triu().tril(MAX_ANSWER_TOKENS - 1)
            flat = sums.masked_fill(~allowed, float("-inf")).flatten()
            best = flat.topk(min(top_k * 4, int(allowed.sum())))  # token spans widened to words may repeat
            choices, spans = [], []
            for value, index in zip(best.values.tolist(), best.indices.tolist(), strict=True):
                i, j = divmod(index, sums.shape[1])
                a, b = f.words[i][0], f.words[j][1]
                if len(choices) < top_k and all((c["start"], c["end"]) != (a, b) for c in choices):
                    choices.append({"label": context[a:b], "start": a, "end": b, "score": value})
                    spans.append((i, j))
            _check_choice(choice, choices)
            i, j = (first + k for k in spans[choice])
            return out.attentions, choices, start[i] + end[j], [i, j]

        return batch, score

    def check_text(self, text: Any, what: str = "text") -> str:
        text = super().check_text(text, what)
        if len(text) > MAX_SALIENCY_CHARS:
            raise InputError(
                f"The {what} is too long for saliency ({len(text)} characters; the limit is {MAX_SALIENCY_CHARS})."
            )
        return text

    def _plain(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The batch without what a forward pass does not take, as tensors that autograd may save."""
        batch.pop("offset_mapping", None)
        return {k: v.clone() for k, v in batch.items()}


def _check_choice(choice: int, choices: list[dict[str, Any]]) -> None:
    if choice >= len(choices):
        raise InputError(f"There is no choice {choice}: there are {len(choices)} (0 to {len(choices) - 1}).")
