"""text-generation: greedy or sampled continuation, token by token, as a list result or a stream of text.

Two decoding schemes, chosen by the model:
- causal models (``config.is_causal``, CLM-trained): next-token prediction from the last position with an incremental
  key/value cache, so each new token costs one position (this is how the original XLM code generates);
- bidirectional (MLM) models: transformers' scheme, which appends a mask token and predicts it, re-reading the
  whole prefix every step (no cache is possible: each new token changes every earlier hidden state).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from ..errors import InputError
from ..modeling_utils import KVCache
from .base import Pipeline

MAX_NEW_TOKENS = 512


def sample_next(
    logits: torch.Tensor,
    *,
    do_sample: bool,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> int:
    """Pick the next token id from one row of logits: argmax, or sampling with temperature, top-k and top-p."""
    logits = logits.float()
    if not do_sample:
        return int(logits.argmax())
    logits = logits / max(temperature, 1e-5)
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) >= top_p  # keep the smallest prefix reaching top_p
        logits[order[drop]] = float("-inf")
    return int(torch.multinomial(logits.softmax(-1), 1, generator=generator))


class TextGenerationPipeline(Pipeline):
    """``gen(prompt)`` → ``[{"generated_text": prompt + continuation}]``; ``gen.stream(prompt)`` yields text pieces."""

    task = "text-generation"
    role = "lm"  # the causal LM head for causal models, else the masked one

    def run(self, items: list[str], return_full_text: bool = True, **options: Any) -> list[Any]:
        out = []
        for prompt in items:
            pieces = "".join(self.stream(prompt, **options))
            out.append(
                [{"generated_text": (prompt.rstrip() + " " if return_full_text else "") + pieces.strip()}]
            )
        return out

    def stream(
        self,
        prompt: str,
        *,
        max_new_tokens: int = 32,
        lang: str | None = None,
        **sampling: Any,
    ) -> Iterator[str]:
        """Yield the continuation piece by piece (each piece is newly decoded text). ``sampling``: do_sample,
        temperature, top_k, top_p, seed."""
        prompt = self.check_text(prompt, "prompt")
        if not 1 <= int(max_new_tokens) <= MAX_NEW_TOKENS:
            raise InputError(f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS}.")
        tok = self.tokenizer
        ids = tok(prompt, lang=lang)["input_ids"][:-1]  # the text's opening special token, no closing one
        self.check_length(len(ids) + int(max_new_tokens))
        new: list[int] = []
        shown = ""
        for next_id in self.generate_ids(ids, max_new_tokens=int(max_new_tokens), lang=lang, **sampling):
            if next_id == tok.sep_token_id:
                return
            new.append(next_id)
            text = tok.decode(new, skip_special_tokens=True)
            if len(text) > len(shown):
                yield text[len(shown) :]
                shown = text

    def generate_ids(
        self,
        input_ids: list[int],
        *,
        max_new_tokens: int,
        lang: str | None = None,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> Iterator[int]:
        """Yield new token ids after ``input_ids``, up to ``max_new_tokens``, stopping after ``</s>``.

        Without ``lang`` the model's default ``config.lang_id`` is used, as transformers' ``generate`` does."""
        model, device = self.model, self.loaded.device
        config = model.config
        lang_id = (self.lang_id(lang) if lang else config.lang_id) if self.uses_langs() else None
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        cache = KVCache() if config.is_causal else None  # the model then runs only the positions not cached
        cached = {model.cache_argument: cache} if cache is not None else {}
        placeholder = model.generation_mask_id(self.tokenizer)
        ids = list(input_ids)
        for _ in range(max_new_tokens):
            # Inference mode per step, not around the loop: a consumer (Gradio streaming) may resume this
            # generator in another thread, where a mode entered before the yield would not hold.
            with torch.inference_mode():
                seq = ids if config.is_causal else [*ids, placeholder]
                inputs = torch.tensor([seq], device=device)
                langs = {"langs": torch.full_like(inputs, lang_id)} if lang_id is not None else {}
                hidden = model.base_model(inputs, **langs, **cached).last_hidden_state[:, -1]
                logits = model.lm_scores(hidden)[0]
                next_id = sample_next(
                    logits,
                    do_sample=do_sample,
                    temperature=temperature,
                    top_k=top_k,
                    top_p=top_p,
                    generator=generator,
                )
            yield next_id
            if next_id == self.tokenizer.sep_token_id:
                return
            ids.append(next_id)
