"""The official checkpoints the picker offers beside the embedded models, as data: repo, family, shape, source.

Parameter counts are not typed in: they are computed from each shape as the family's classes lay the weights out
(tests check them against the models built on the meta device). The memory a model needs is its float32 weights
(the app runs models in float32) plus ``MARGIN`` (xlm.resources, as for any checkpoint) for activations, the
tokenizer and the runtime.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from xlm.configuration_utils import PretrainedConfig
from xlm.registry import family
from xlm.resources import BYTES_PER_PARAMETER, MARGIN, gigabytes

# Sources of the shapes. The Hub's config.json is the primary source; four XLM repos had none at hand.
HUB = "config.json on the Hub"
XLM_README = "facebookresearch/XLM's model table (vocabulary, languages)"

_XLM_1024 = {"emb_dim": 1024, "n_layers": 6, "n_heads": 8}
_XLM_XNLI15 = {"vocab_size": 95000, "emb_dim": 1024, "n_layers": 12, "n_heads": 8, "n_langs": 15}
_XLM_1280 = {"vocab_size": 200000, "emb_dim": 1280, "n_layers": 16, "n_heads": 16, "use_lang_emb": False}
_XLMR = {"vocab_size": 250002, "max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-5}
_XLMR_XL = {**_XLMR, "vocab_size": 250880}


@dataclass(frozen=True)
class Checkpoint:
    """One official checkpoint: its Hub id, family (``model_type``), the config fields that set its size, and
    where those numbers come from."""

    repo: str
    model_type: str
    shape: dict[str, Any]
    source: str

    @property
    def family(self) -> str:
        return family(self.model_type).name

    def config(self) -> PretrainedConfig:
        return family(self.model_type).config_class(**self.shape)

    @property
    def parameters(self) -> int:
        return _count(self.repo)

    @property
    def memory_bytes(self) -> int:
        """What loading it needs: float32 weights plus the margin."""
        return int(self.parameters * BYTES_PER_PARAMETER * (1 + MARGIN))

    def label(self) -> str:
        """The picker's label: name, family, size, memory."""
        return (
            f"{self.repo} — {self.family}, {millions(self.parameters)} parameters, needs "
            f"{gigabytes(self.memory_bytes)} (downloaded on first use)"
        )


CHECKPOINTS: tuple[Checkpoint, ...] = (
    Checkpoint(
        "FacebookAI/xlm-mlm-en-2048",
        "xlm",
        {"vocab_size": 30145, "emb_dim": 2048, "n_layers": 12, "n_heads": 16},
        HUB,
    ),
    Checkpoint("FacebookAI/xlm-mlm-ende-1024", "xlm", {"vocab_size": 64699, "n_langs": 2, **_XLM_1024}, HUB),
    # No config.json at hand: the vocabulary is the length of the repo's vocab.json (64,139, as in xlm-clm-enfr).
    Checkpoint(
        "FacebookAI/xlm-mlm-enfr-1024", "xlm", {"vocab_size": 64139, "n_langs": 2, **_XLM_1024}, "vocab.json"
    ),
    # No primary source at hand for the vocabulary (64,592: PaddleNLP's copy of the configuration).
    Checkpoint(
        "FacebookAI/xlm-mlm-enro-1024", "xlm", {"vocab_size": 64592, "n_langs": 2, **_XLM_1024}, "PaddleNLP"
    ),
    Checkpoint("FacebookAI/xlm-mlm-xnli15-1024", "xlm", _XLM_XNLI15, XLM_README + ", as mlm-tlm-xnli15-1024"),
    Checkpoint("FacebookAI/xlm-mlm-tlm-xnli15-1024", "xlm", _XLM_XNLI15, HUB),
    Checkpoint(
        "FacebookAI/xlm-mlm-17-1280", "xlm", {**_XLM_1280, "n_langs": 17}, XLM_README + ", as 100-1280"
    ),
    Checkpoint("FacebookAI/xlm-mlm-100-1280", "xlm", {**_XLM_1280, "n_langs": 100}, HUB),
    Checkpoint("FacebookAI/xlm-clm-enfr-1024", "xlm", {"vocab_size": 64139, "n_langs": 2, **_XLM_1024}, HUB),
    Checkpoint("FacebookAI/xlm-clm-ende-1024", "xlm", {"vocab_size": 64699, "n_langs": 2, **_XLM_1024}, HUB),
    Checkpoint(
        "FacebookAI/xlm-roberta-base",
        "xlm-roberta",
        {
            **_XLMR,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
        },
        HUB,
    ),
    Checkpoint(
        "FacebookAI/xlm-roberta-large",
        "xlm-roberta",
        {
            **_XLMR,
            "hidden_size": 1024,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "intermediate_size": 4096,
        },
        HUB,
    ),
    Checkpoint(
        "facebook/xlm-roberta-xl",
        "xlm-roberta-xl",
        {
            **_XLMR_XL,
            "hidden_size": 2560,
            "num_hidden_layers": 36,
            "num_attention_heads": 32,
            "intermediate_size": 10240,
        },
        HUB,
    ),
    Checkpoint(
        "facebook/xlm-roberta-xxl",
        "xlm-roberta-xl",
        {
            **_XLMR_XL,
            "hidden_size": 4096,
            "num_hidden_layers": 48,
            "num_attention_heads": 32,
            "intermediate_size": 16384,
        },
        HUB,
    ),
)
BY_REPO = {c.repo: c for c in CHECKPOINTS}


@functools.cache
def _count(repo: str) -> int:
    """The parameters of the checkpoint's LM model (tied weights once), counted from its shape as its family's
    classes lay them out, without building it: the picker's labels are ready before torch is imported. The tests
    check every count against the model built on the meta device."""
    config = BY_REPO[repo].config()
    return _xlm_lm(config) if config.model_type == "xlm" else _xlm_roberta_lm(config)


def _xlm_lm(c: PretrainedConfig) -> int:
    """XLMWithLMHeadModel: word, position (and language) embeddings with a LayerNorm; per layer attention (4
    projections), FFN (4x) and 2 LayerNorms; the output bias (its weight is the word embeddings)."""
    d, norm = c.emb_dim, 2 * c.emb_dim
    langs = c.n_langs if c.n_langs > 1 and c.use_lang_emb else 0
    layer = 4 * (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 2 * norm
    return (c.vocab_size + c.max_position_embeddings + langs) * d + norm + c.n_layers * layer + c.vocab_size


def _xlm_roberta_lm(c: PretrainedConfig) -> int:
    """XLMRoberta(XL)ForMaskedLM: word, position and token-type embeddings (a LayerNorm in base/large, a final one
    after the layers in XL/XXL); per layer attention, FFN and 2 LayerNorms; the LM head's dense layer, LayerNorm
    and output bias (its weight is the word embeddings)."""
    h, ffn, norm = c.hidden_size, c.intermediate_size, 2 * c.hidden_size
    layer = 4 * (h * h + h) + (h * ffn + ffn) + (ffn * h + h) + 2 * norm
    embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * h + norm
    head = h * h + h + norm + c.vocab_size
    return embeddings + c.num_hidden_layers * layer + head


def millions(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.0f} M"


def rows() -> list[dict[str, Any]]:
    """One row per checkpoint, for the Model tab's table."""
    return [
        {
            "checkpoint": c.repo,
            "family": c.family,
            "parameters": c.parameters,
            "memory needed": gigabytes(c.memory_bytes),
            "shape from": c.source,
        }
        for c in CHECKPOINTS
    ]
