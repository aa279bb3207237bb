"""fill-mask: the most likely tokens for each mask in a text, scored like transformers' FillMaskPipeline."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import InputError
from .base import Pipeline, softmax
from .inputs import with_mask_token


class FillMaskPipeline(Pipeline):
    """Predict masked tokens. The vocabulary projection runs only at the mask positions (the big saving on CPU).

    Results per text: a list of ``{score, token, token_str, sequence}`` for one mask, a list of such lists for
    several. ``lang`` selects the tokenisation rules and the language embedding; without it the text is tokenised
    with the English rules and no language embedding is added (what transformers' pipeline does).
    """

    task = "fill-mask"
    role = "masked-lm"

    def run(
        self,
        items: list[str],
        top_k: int = 5,
        targets: str | list[str] | None = None,
        lang: str | None = None,
        text_pair: str | None = None,
        lang_pair: str | None = None,
    ) -> list[Any]:
        """``text_pair``: a translation read beside each text in the TLM layout (see ``Pipeline.encode_tlm``);
        masks may be in either side, and the sequences then show both sides."""
        tok = self.tokenizer
        texts = [self._with_mask_token(self.check_text(t)) for t in items]
        if text_pair is None:
            batches = [(self.encode(texts, lang=lang), texts)]
        else:
            pair = self._with_mask_token(self.check_text(text_pair, "translation"))
            batches = [
                (self.encode_tlm(t, lang, pair, lang_pair or lang)[0], [f"{t} / {pair}"]) for t in texts
            ]
        target_ids = self.target_ids(targets) if targets is not None else None
        k = min(int(top_k), len(target_ids) if target_ids is not None else self.model.config.vocab_size)
        if k < 1:
            raise InputError("top_k must be at least 1.")
        out: list[Any] = []
        for batch, shown in batches:
            ids = batch["input_ids"]
            is_mask = ids == tok.mask_token_id
            for row, text in enumerate(shown):
                if not bool(is_mask[row].any()):
                    raise InputError(
                        f"No mask token in {_clip(text)!r}: write {tok.mask_token} (or <mask>) where a word is missing."
                    )
            # (n_masks, vocab): all masks of the batch in order
            probs = softmax(self.mask_logits(batch, is_mask))
            if target_ids is not None:
                probs = probs[:, target_ids]
            scores, best = probs.topk(k, dim=-1)
            if target_ids is not None:
                best = target_ids[best]
            out += self._format(ids.cpu(), is_mask.cpu(), scores.tolist(), best.tolist())
        return out

    def mask_logits(self, batch: dict[str, torch.Tensor], is_mask: torch.Tensor) -> torch.Tensor:
        """LM scores at the masked positions only: (n_masks, vocab)."""
        model = self.model
        inputs = {k: v for k, v in batch.items() if k != "offset_mapping"}
        return model.lm_scores(model.base_model(**inputs).last_hidden_state[is_mask])

    def target_ids(self, targets: str | list[str]) -> torch.Tensor:
        """Vocabulary ids of the targets; a word not in the vocabulary stands for its first BPE piece."""
        tok = self.tokenizer
        vocab = tok.get_vocab()
        ids = []
        for target in [targets] if isinstance(targets, str) else targets:
            if target in vocab:
                ids.append(vocab[target])
                continue
            pieces = tok(target, add_special_tokens=False)["input_ids"]
            if pieces:
                ids.append(pieces[0])
        if not ids:
            raise InputError("None of the targets can be written with this model's vocabulary.")
        return torch.tensor(sorted(set(ids)))

    def _with_mask_token(self, text: str) -> str:
        return with_mask_token(text, self.tokenizer)

    def _format(self, ids: torch.Tensor, is_mask: torch.Tensor, scores: list, best: list) -> list[Any]:
        tok = self.tokenizer
        out, n = [], 0
        for row in range(ids.shape[0]):
            positions = is_mask[row].nonzero().flatten().tolist()
            tokens = ids[row][ids[row] != tok.pad_token_id]
            single = len(positions) == 1
            per_mask = []
            for pos in positions:
                guesses = []
                for score, token in zip(scores[n], best[n], strict=True):
                    filled = tokens.clone()
                    filled[pos] = token
                    guesses.append(
                        {
                            "score": score,
                            "token": token,
                            "token_str": tok.decode([token]),
                            "sequence": tok.decode(filled.tolist(), skip_special_tokens=single),
                        }
                    )
                per_mask.append(guesses)
                n += 1
            out.append(per_mask[0] if single else per_mask)
        return out


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
