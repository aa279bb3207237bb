"""XLMRobertaConfig and XLMRobertaXLConfig: the hyper-parameters of XLM-RoBERTa (Conneau et al., 2020) and of its
pre-LayerNorm XL/XXL variant (Goyal et al., 2021), with transformers' field names, defaults and ``model_type``s."""

from __future__ import annotations

from dataclasses import dataclass

from ...configuration_utils import (
    PretrainedConfig,
    is_number,
    require,
    require_booleans,
    require_positive_ints,
    require_probabilities,
    require_token_ids,
)
from ...errors import InvalidConfigError

ACTIVATIONS = ("gelu", "relu", "gelu_new", "gelu_python", "silu", "swish", "tanh")


@dataclass(init=False, eq=False, repr=False)
class XLMRobertaConfig(PretrainedConfig):
    """Hyper-parameters of an XLM-RoBERTa model (base and large: post-LayerNorm blocks).

    Defaults are transformers' (a BERT-base shape with a 30,522 vocabulary); the real checkpoints' config.json
    set vocab_size 250,002, max_position_embeddings 514, type_vocab_size 1 and layer_norm_eps 1e-5. Positions start
    after ``pad_token_id`` as in fairseq, so a model reads at most ``max_position_embeddings - pad_token_id - 1``
    tokens. ``is_decoder`` makes the encoder attend to the left only (XLMRobertaForCausalLM).
    """

    model_type = "xlm-roberta"

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 1
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 2
    use_cache: bool = True
    classifier_dropout: float | None = None
    is_decoder: bool = False
    add_cross_attention: bool = False

    @property
    def is_causal(self) -> bool:
        """Whether the model attends to the left context only (a CLM)."""
        return self.is_decoder

    @property
    def uses_language_embeddings(self) -> bool:
        """XLM-RoBERTa has no language embeddings: the language is never an input."""
        return False

    @property
    def pre_layer_norm(self) -> bool:
        """Whether each block normalises its input (the XL variant) instead of its output."""
        return False

    @property
    def max_tokens(self) -> int:
        """The longest input the position embeddings cover (positions start at ``pad_token_id + 1``)."""
        return self.max_position_embeddings - self.pad_token_id - 1

    def validate(self) -> None:
        """Raise :class:`InvalidConfigError` naming the first value a model cannot be built with."""
        require_positive_ints(
            self, "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "max_position_embeddings", "type_vocab_size",
        )  # fmt: skip
        if self.hidden_size % self.num_attention_heads:
            raise InvalidConfigError(
                f"hidden_size={self.hidden_size} is not divisible by num_attention_heads={self.num_attention_heads}: "
                "each head gets hidden_size / num_attention_heads dimensions."
            )
        require_booleans(self)
        require_probabilities(self, "hidden_dropout_prob", "attention_probs_dropout_prob")
        if self.classifier_dropout is not None:
            require_probabilities(self, "classifier_dropout")
        for name in ("layer_norm_eps", "initializer_range"):
            require(
                is_number(getattr(self, name)) and getattr(self, name) > 0, f"{name} must be > 0", self, name
            )
        require(
            self.hidden_act in ACTIVATIONS,
            f"hidden_act must be one of {', '.join(ACTIVATIONS)}",
            self,
            "hidden_act",
        )
        require_token_ids(self, self.vocab_size, ("pad_token_id",), ("bos_token_id", "eos_token_id"))
        require(
            self.max_tokens >= 1,
            "max_position_embeddings must exceed pad_token_id + 1",
            self,
            "max_position_embeddings",
        )
        if self.add_cross_attention:
            raise InvalidConfigError(
                "add_cross_attention=true (an encoder-decoder's cross-attention) is not supported: these models are "
                "encoders or decoder-only language models."
            )
        require(self.num_labels >= 1, "num_labels (the size of id2label) must be >= 1", self, "num_labels")


@dataclass(init=False, eq=False, repr=False)
class XLMRobertaXLConfig(XLMRobertaConfig):
    """Hyper-parameters of XLM-RoBERTa XL and XXL: pre-LayerNorm blocks, no LayerNorm on the embeddings, one after
    the last block. Defaults are transformers' (the XL shape: 36 layers of 2,560, vocabulary 250,880)."""

    model_type = "xlm-roberta-xl"

    vocab_size: int = 250880
    hidden_size: int = 2560
    num_hidden_layers: int = 36
    num_attention_heads: int = 32
    intermediate_size: int = 10240
    max_position_embeddings: int = 514
    type_vocab_size: int = 1
    layer_norm_eps: float = 1e-5

    @property
    def pre_layer_norm(self) -> bool:
        return True
