"""embedding-map: sentences in several languages as points, to see whether translations land together.

Each sentence is embedded by the mean of its hidden states at one layer (layer 0: the embeddings' output, layer
``n``: after the n-th block, as transformers' ``hidden_states[n]``), over its real tokens; special tokens (``<s>``,
``</s>``) are left out unless asked for, since every sentence shares them. The points are projected to 2-D by PCA
(torch SVD, float64), and each sentence's nearest neighbour in another language (cosine of the full vectors) tells
whether the model puts a translation closest.

Text format: one block per meaning, blocks separated by a blank line, one ``lang | sentence`` line per
translation (a tab may stand for ``|``). A block of one line is a sentence with no translation given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import InputError
from .base import Pipeline
from .inputs import MAX_SENTENCE_CHARS, MAX_SENTENCES

SEPARATOR = re.compile(r"\s*[|\t]\s*")


@dataclass(frozen=True)
class Sentence:
    lang: str
    text: str
    group: int  # sentences of the same group are translations of each other


def parse_blocks(text: Any) -> list[Sentence]:
    """The text format (see the module's docstring) → sentences, each with its block number as group."""
    if not isinstance(text, str):
        raise InputError(f"The sentences must be a string, got {type(text).__name__}.")
    sentences: list[Sentence] = []
    group, seen = 0, set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            group, seen = group + bool(seen), set()
            continue
        parts = SEPARATOR.split(line.strip(), maxsplit=1)
        if len(parts) != 2 or not parts[0] or not parts[1] or " " in parts[0]:
            raise InputError(f"Line {number}: write `lang | sentence`, e.g. `fr | Le chat dort.`")
        lang, sentence = parts
        if lang in seen:
            raise InputError(
                f"Line {number}: {lang!r} appears twice in one block; a block holds one sentence and its "
                "translations: start a new meaning after a blank line."
            )
        seen.add(lang)
        sentences.append(Sentence(lang, sentence, group))
    return sentences


def check_sentences(sentences: list[Sentence]) -> None:
    """Refuse what cannot make a map, or would cost too much: too few, too many, too long, one language."""
    if len(sentences) < 2:
        raise InputError("Give at least two sentences (`lang | sentence`, one per line).")
    if len(sentences) > MAX_SENTENCES:
        raise InputError(f"Too many sentences ({len(sentences)}); the limit is {MAX_SENTENCES}.")
    for s in sentences:
        if len(s.text) > MAX_SENTENCE_CHARS:
            raise InputError(
                f"A sentence is too long ({len(s.text)} characters; the limit is {MAX_SENTENCE_CHARS})."
            )
    if len({s.lang for s in sentences}) < 2:
        raise InputError("All sentences are in one language: the map compares languages, give at least two.")


def pca_2d(points: torch.Tensor) -> tuple[torch.Tensor, list[float]]:
    """Project (n, d) points on their first two principal components: (n, 2) coordinates and the share of the
    variance each explains. Signs are fixed: in each component the point farthest from the centre is positive."""
    x = points.double()
    x = x - x.mean(0)
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    k = min(2, u.shape[1])
    coords = u[:, :k] * s[:k]
    signs = torch.sign(coords.gather(0, coords.abs().argmax(0, keepdim=True)))
    coords = coords * torch.where(signs == 0, 1.0, signs)
    coords = torch.cat([coords, coords.new_zeros(coords.shape[0], 2 - k)], 1)
    total = float((s**2).sum())
    explained = [float(v**2) / total if total > 0 else 0.0 for v in s[:2].tolist()] + [0.0] * (2 - k)
    return coords, explained


def nearest_across_languages(
    vectors: torch.Tensor, sentences: list[Sentence]
) -> tuple[list[dict[str, Any]], float | None, torch.Tensor]:
    """For each sentence, the most similar sentence (cosine) in another language; whether it is a translation
    (None where no translation is given); top-1 accuracy over the sentences with translations; the cosine matrix."""
    unit = torch.nn.functional.normalize(vectors.double(), dim=-1)
    cos = unit @ unit.T
    langs = [s.lang for s in sentences]
    rows, hits = [], []
    for i, s in enumerate(sentences):
        other = torch.tensor([lang != s.lang for lang in langs])
        j = int(cos[i].masked_fill(~other, -2.0).argmax())
        has_translation = any(t.group == s.group and t.lang != s.lang for t in sentences)
        correct = sentences[j].group == s.group if has_translation else None
        if correct is not None:
            hits.append(correct)
        rows.append({"index": i, "nearest": j, "cosine": float(cos[i, j]), "correct": correct})
    return rows, (sum(hits) / len(hits) if hits else None), cos


class EmbeddingMapPipeline(Pipeline):
    """``emb(text, layer=...)`` → the map of the sentences of ``text`` (format in the module's docstring).

    Result: ``{"sentences": [{"lang", "text", "group"}], "layer", "layers", "points": [[x, y]], "explained",
    "neighbours": [{"index", "nearest", "cosine", "correct"}], "accuracy", "similarity", "special_tokens"}``.
    """

    task = "embedding-map"

    @property
    def n_layers(self) -> int:
        return int(self.config.num_hidden_layers)

    def run(self, items: list[Any], layer: int | None = None, special_tokens: bool = False) -> list[Any]:
        return [self.map(parse_blocks(item), layer, special_tokens) for item in items]

    def map(self, sentences: list[Sentence], layer: int | None = None, special_tokens: bool = False) -> dict:
        check_sentences(sentences)
        layer = self.n_layers if layer is None else self.check_layer(layer)
        vectors = self.embed(sentences, layer, special_tokens)
        points, explained = pca_2d(vectors)
        neighbours, accuracy, cos = nearest_across_languages(vectors, sentences)
        return {
            "sentences": [{"lang": s.lang, "text": s.text, "group": s.group} for s in sentences],
            "layer": layer,
            "layers": self.n_layers,
            "points": points.float().tolist(),
            "explained": explained,
            "neighbours": neighbours,
            "accuracy": accuracy,
            "similarity": cos.float().round(decimals=4).tolist(),
            "special_tokens": special_tokens,
        }

    def check_layer(self, layer: Any) -> int:
        if isinstance(layer, bool) or not isinstance(layer, int | float) or int(layer) != layer:
            raise InputError(f"The layer must be a whole number, not {layer!r}.")
        if not 0 <= layer <= self.n_layers:
            raise InputError(
                f"There is no layer {int(layer)}: this model has layers 0 (embeddings) to {self.n_layers}."
            )
        return int(layer)

    def embed(self, sentences: list[Sentence], layer: int, special_tokens: bool = False) -> torch.Tensor:
        """(n, dim) mean-pooled hidden states at ``layer``, in the order of ``sentences``. Each sentence is read
        with its own language (its tokenisation rules and language embedding) where the family has them."""
        for s in sentences:
            self.check_text(s.text, "sentence")
        by_lang: dict[str | None, list[int]] = {}
        for i, s in enumerate(sentences):
            by_lang.setdefault(s.lang if self.family.language_embeddings else None, []).append(i)
        for lang in by_lang:
            self.lang_id(lang)  # every language known before any work is done
        special = torch.tensor(self.tokenizer.all_special_ids)
        out = torch.empty(len(sentences), self.config.hidden_size)
        for lang, indices in by_lang.items():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                batch = self.encode([sentences[i].text for i in chunk], lang=lang)
                batch.pop("offset_mapping", None)
                hidden = self.encoder(**batch, output_hidden_states=True).hidden_states[layer].float().cpu()
                keep = batch["attention_mask"].cpu().bool()
                if not special_tokens:
                    keep &= ~torch.isin(batch["input_ids"].cpu(), special)
                weights = keep.float()[..., None]
                out[chunk] = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return out
