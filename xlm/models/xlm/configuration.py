"""XLMConfig: the hyper-parameters of an XLM model, read from and written to a Hub-style ``config.json``.

Field names, defaults and meanings follow transformers' ``XLMConfig`` so that the same ``config.json`` works with
both libraries. Keys this class does not know (the training arguments some official checkpoints carry, say) are kept
as attributes and written back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...configuration_utils import (
    PretrainedConfig,
    int_keys,
    is_int,
    is_number,
    preview,
    require,
    require_booleans,
    require_positive_ints,
    require_probabilities,
    require_token_ids,
)
from ...errors import InvalidConfigError

# Old or generic names -> the field they stand for (transformers' ``attribute_map``).
ATTRIBUTE_MAP = {
    "hidden_size": "emb_dim",
    "num_attention_heads": "n_heads",
    "num_hidden_layers": "n_layers",
    "n_words": "vocab_size",
    "bos_index": "bos_token_id",
    "eos_index": "eos_token_id",
    "pad_index": "pad_token_id",
}
SUMMARY_TYPES = ("last", "first", "mean", "cls_index")
SUMMARY_ACTIVATIONS = (None, "tanh", "relu", "gelu", "sigmoid", "linear")


@dataclass(init=False, eq=False, repr=False)
class XLMConfig(PretrainedConfig):
    """Hyper-parameters of an XLM model; build with keyword arguments, ``from_dict`` or ``from_pretrained``.

    Besides the fields below: ``num_labels`` (a property over ``id2label``, 2 by default), the aliases of
    ``ATTRIBUTE_MAP`` (``hidden_size``, ``n_words``, ``pad_index``, ...), and any unknown key as a plain attribute.
    An adaptive-softmax model (``asm=True``) also needs ``asm_cutoffs`` and ``asm_div_value``, as in transformers.
    """

    model_type = "xlm"
    attribute_map = ATTRIBUTE_MAP

    vocab_size: int = 30145
    emb_dim: int = 2048
    n_layers: int = 12
    n_heads: int = 16
    dropout: float = 0.1
    attention_dropout: float = 0.1
    gelu_activation: bool = True  # gelu in the feed-forward layers, else relu
    sinusoidal_embeddings: bool = False  # initialise the position embeddings with sinusoids
    causal: bool = False  # attend to the left context only (CLM)
    asm: bool = False  # adaptive softmax output layer
    n_langs: int = 1
    use_lang_emb: bool = True  # add language embeddings (only when n_langs > 1)
    max_position_embeddings: int = 512
    embed_init_std: float | None = 2048**-0.5
    layer_norm_eps: float = 1e-12
    init_std: float = 0.02
    unk_index: int = 3
    mask_index: int = 5
    is_encoder: bool = True
    summary_type: str = "first"  # sequence summary: "last", "first", "mean" or "cls_index"
    summary_use_proj: bool = True
    summary_activation: str | None = None
    summary_proj_to_labels: bool = True
    summary_first_dropout: float = 0.1
    start_n_top: int = 5  # beam sizes of XLMForQuestionAnswering
    end_n_top: int = 5
    mask_token_id: int | None = 0
    lang_id: int = 0  # language used when generating
    pad_token_id: int = 2
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 1
    lang2id: dict[str, int] | None = None
    id2lang: dict[int, str] | None = None

    def _normalise_labels(self, num_labels: int | None) -> None:
        """Also integer keys for ``id2lang`` and the missing one of the two language maps."""
        super()._normalise_labels(num_labels)
        if self.id2lang is not None:
            self.id2lang = int_keys("id2lang", self.id2lang)
            if self.lang2id is None:
                self.lang2id = {lang: i for i, lang in self.id2lang.items()}
        elif self.lang2id is not None:
            self.id2lang = {i: lang for lang, i in self.lang2id.items()}

    @property
    def is_causal(self) -> bool:
        """Whether the model attends to the left context only (a CLM)."""
        return self.causal

    @property
    def max_tokens(self) -> int:
        """The longest input the position embeddings cover."""
        return self.max_position_embeddings

    @property
    def uses_language_embeddings(self) -> bool:
        """Whether a language id per token changes the output (language embeddings, more than one language)."""
        return bool(self.use_lang_emb and self.n_langs > 1)

    # -- validation ---------------------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`InvalidConfigError` naming the first value a model cannot be built with."""
        require_positive_ints(
            self, "vocab_size", "emb_dim", "n_layers", "n_heads", "max_position_embeddings", "n_langs",
            "start_n_top", "end_n_top",
        )  # fmt: skip
        if self.emb_dim % self.n_heads:
            raise InvalidConfigError(
                f"emb_dim={self.emb_dim} is not divisible by n_heads={self.n_heads}: each head gets emb_dim / n_heads "
                "dimensions."
            )
        require_booleans(self)
        require_probabilities(self, "dropout", "attention_dropout", "summary_first_dropout")
        for name in ("layer_norm_eps", "init_std"):
            require(
                is_number(getattr(self, name)) and getattr(self, name) > 0, f"{name} must be > 0", self, name
            )
        if self.embed_init_std is not None:
            require(
                is_number(self.embed_init_std) and self.embed_init_std > 0,
                "embed_init_std must be > 0",
                self,
                "embed_init_std",
            )
        require_token_ids(
            self, self.vocab_size, ("pad_token_id", "unk_index", "mask_index"),
            ("bos_token_id", "mask_token_id", "eos_token_id"),
        )  # fmt: skip
        self._validate_languages()
        self._validate_heads()

    def _validate_languages(self) -> None:
        require(
            is_int(self.lang_id) and 0 <= self.lang_id < self.n_langs,
            f"lang_id must be in [0, n_langs={self.n_langs})",
            self,
            "lang_id",
        )
        if self.lang2id is None:
            return
        if not isinstance(self.lang2id, dict) or sorted(self.lang2id.values()) != list(range(self.n_langs)):
            raise InvalidConfigError(
                f"lang2id must map n_langs={self.n_langs} languages to the ids 0..{self.n_langs - 1} once each; "
                f"got {len(self.lang2id)} entries: {preview(self.lang2id)}"
            )
        if {i: lang for lang, i in self.lang2id.items()} != self.id2lang:
            raise InvalidConfigError(
                f"id2lang is not the inverse of lang2id: id2lang={preview(self.id2lang)}, lang2id={preview(self.lang2id)}"
            )

    def _validate_heads(self) -> None:
        if not self.is_encoder:
            raise InvalidConfigError(
                "is_encoder=false (an XLM decoder) is not supported: XLM models are encoders."
            )
        if self.summary_type not in SUMMARY_TYPES:
            raise InvalidConfigError(
                f"summary_type={self.summary_type!r} is not supported; use one of {', '.join(SUMMARY_TYPES)}."
            )
        if self.summary_activation not in SUMMARY_ACTIVATIONS:
            names = ", ".join(str(a).lower() for a in SUMMARY_ACTIVATIONS)
            raise InvalidConfigError(f"summary_activation={self.summary_activation!r} is not one of {names}.")
        require(self.num_labels >= 1, "num_labels (the size of id2label) must be >= 1", self, "num_labels")
        if self.asm:
            cutoffs = getattr(self, "asm_cutoffs", None)
            ok = (
                isinstance(cutoffs, list)
                and len(cutoffs) > 0
                and all(is_int(c) for c in cutoffs)
                and cutoffs == sorted(set(cutoffs))
                and cutoffs[0] > 0
                and cutoffs[-1] < self.vocab_size
            )
            if not ok:
                raise InvalidConfigError(
                    f"asm=true needs asm_cutoffs, increasing token counts between 0 and vocab_size={self.vocab_size} "
                    f"(e.g. [8000, 20000]); got {cutoffs!r}."
                )
            div = getattr(self, "asm_div_value", None)
            require(
                is_number(div) and div > 0,
                "asm=true needs asm_div_value > 0 (e.g. 4.0)",
                self,
                "asm_div_value",
            )
