"""What the model families share: output types, the key/value cache, the attention product, the base class that
loads and saves, and the losses and input checks the heads have in common.

A family's modeling module builds its own layers (their parameter names are the Hub's and differ between families)
from these pieces; what differs between families stays explicit there.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .configuration_utils import PretrainedConfig
from .errors import InputError, InvalidConfigError
from .loading import load_model, save_model

# ----------------------------------------------------------------------------------------------------------------
# Incremental decoding cache


class KVCache:
    """Keys and values of every layer, so that decoding step by step does not recompute the prefix.

    Pass the same (initially empty) cache to each call together with the whole sequence so far; the model runs only
    the positions the cache does not hold yet and returns outputs for those. transformers passes a ``DynamicCache``
    (inside an ``EncoderDecoderCache`` for XLM); this is a plain list of per-layer ``(keys, values)`` tensors of
    shape (bs, nh, seq_len, hd) with the same effect. The types are not interchangeable. One difference in results: for a non-causal model whose prefix has padding, the new
    positions here attend with the padding mask of the whole sequence (as a full forward pass would), while
    transformers applies the newest position's mask to every key.
    """

    def __init__(self) -> None:
        self.layers: list[tuple[Tensor, Tensor]] = []

    @property
    def seq_len(self) -> int:
        """Number of positions cached."""
        return self.layers[0][0].shape[2] if self.layers else 0

    def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append the new keys/values (bs, nh, qlen, hd) of ``layer``; return all of them (bs, nh, klen, hd)."""
        if layer == len(self.layers):
            self.layers.append((k, v))
        else:
            old_k, old_v = self.layers[layer]
            self.layers[layer] = (torch.cat([old_k, k], dim=2), torch.cat([old_v, v], dim=2))
        return self.layers[layer]


# ----------------------------------------------------------------------------------------------------------------
# Outputs


@dataclass
class ModelOutput:
    """Base of the outputs: attribute access, ``out["logits"]`` and ``out[0]`` over the fields that are set."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(self.to_dict().values())

    def __getitem__(self, key: str | int | slice) -> Any:
        return self.to_dict()[key] if isinstance(key, str) else self.to_tuple()[key]


@dataclass
class BaseModelOutput(ModelOutput):
    """``last_hidden_state`` (bs, qlen, dim); with ``output_hidden_states`` the n_layers + 1 hidden states (embeddings
    first); with ``output_attentions`` the n_layers attention weights (bs, nh, qlen, klen)."""

    last_hidden_state: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class BaseModelOutputWithPooling(ModelOutput):
    """:class:`BaseModelOutput` plus ``pooler_output`` (bs, dim) when the model has a pooler, and the cache."""

    last_hidden_state: Tensor | None = None
    pooler_output: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    past_key_values: KVCache | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class _LogitsOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


class MaskedLMOutput(_LogitsOutput):
    """``logits`` (bs, qlen, vocab_size): scores, or log-probabilities with the adaptive softmax (``asm``)."""


@dataclass
class CausalLMOutput(ModelOutput):
    """``logits`` (bs, qlen, vocab_size); ``past_key_values`` the cache when one was used."""

    loss: Tensor | None = None
    logits: Tensor | None = None
    past_key_values: KVCache | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


class SequenceClassifierOutput(_LogitsOutput):
    """``logits`` (bs, num_labels)."""


class TokenClassifierOutput(_LogitsOutput):
    """``logits`` (bs, slen, num_labels)."""


class MultipleChoiceModelOutput(_LogitsOutput):
    """``logits`` (bs, num_choices)."""


@dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    """``start_logits`` and ``end_logits`` (bs, slen)."""

    loss: Tensor | None = None
    start_logits: Tensor | None = None
    end_logits: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


# ----------------------------------------------------------------------------------------------------------------
# Attention


def attend(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    bias: Tensor | None,
    dropout: float,
    head_mask: Tensor | None = None,
    output_attentions: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Scaled dot-product attention of q (bs, nh, qlen, hd) over k, v (bs, nh, klen, hd) with an additive ``bias``
    broadcastable to (bs, nh, qlen, klen) (0 where allowed, the dtype's minimum where not). The fused kernel
    (SDPA) unless the weights are wanted or heads are masked; ``head_mask`` (1, nh, 1, 1) multiplies the weights.
    Returns the context (bs, nh, qlen, hd) and the weights when asked for."""
    if not (output_attentions or head_mask is not None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout), None
    scores = (q / math.sqrt(q.shape[-1])) @ k.transpose(2, 3)  # (bs, nh, qlen, klen)
    if bias is not None:
        scores = scores + bias
    weights = F.softmax(scores.float(), dim=-1).type_as(scores)
    weights = F.dropout(weights, p=dropout, training=dropout > 0)
    if head_mask is not None:
        weights = weights * head_mask
    return weights @ v, (weights if output_attentions else None)


def additive_bias(allowed: Tensor, dtype: torch.dtype) -> Tensor:
    """A boolean mask of allowed (query, key) pairs as an additive bias: 0 where allowed, the dtype's minimum not."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(
        ~allowed, torch.finfo(dtype).min
    )


# ----------------------------------------------------------------------------------------------------------------
# Base class


class PreTrainedModel(nn.Module):
    """Shared plumbing of every model and head: config, weight initialisation, weight tying, loading and saving.

    A family sets ``config_class``, ``base_model_prefix`` (the attribute holding the encoder in its heads) and
    ``_init_weights``; a head with a language-modelling layer implements :meth:`lm_scores`.
    """

    config_class: ClassVar[type[PretrainedConfig]]
    base_model_prefix: ClassVar[str]
    head_names: ClassVar[dict[str, str]]  # parameter prefix of each head -> its name for a person
    cache_argument: ClassVar[str]  # the forward argument that takes a KVCache ("cache" or "past_key_values")

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config

    @property
    def base_model(self) -> nn.Module:
        """The encoder: the model itself, or its ``base_model_prefix`` attribute for the heads."""
        return getattr(self, self.base_model_prefix, self)

    def post_init(self) -> None:
        """Initialise every weight, then tie the output embeddings (if any) to the input ones."""
        self.apply(self._init_weights)
        self.tie_weights()

    def _init_weights(self, module: nn.Module) -> None:
        raise NotImplementedError

    def tie_weights(self) -> None:
        """Share the output projection with the input embeddings; only language-modelling heads have one."""

    def new_cache(self) -> KVCache:
        """An empty cache for step-by-step decoding (see :class:`KVCache`)."""
        return KVCache()

    def lm_scores(self, hidden: Tensor) -> Tensor:
        """Vocabulary scores (..., vocab_size) of final hidden states (..., dim): what the language-modelling head
        makes of them. Only language-modelling heads have it."""
        raise TypeError(f"{type(self).__name__} has no language-modelling head.")

    def generation_mask_id(self, tokenizer: Any) -> int:
        """The token a masked LM reads after the text when it generates: it predicts that position."""
        return tokenizer.mask_token_id

    def num_parameters(self, only_trainable: bool = False) -> int:
        """Number of parameters, tied ones counted once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not only_trainable)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        dtype: str | torch.dtype | None = None,
        device: str | torch.device | None = None,
        **kwargs: Any,
    ) -> PreTrainedModel:
        """Load a Hub-format checkpoint (folder or Hub id); see :func:`xlm.loading.load_model` for ``kwargs``."""
        return load_model(cls, name_or_path, dtype=dtype, device=device, **kwargs)

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``folder``."""
        return save_model(self, folder)


# ----------------------------------------------------------------------------------------------------------------
# Heads' losses and input checks


def classification_loss(logits: Tensor, labels: Tensor, problem_type: str | None, num_labels: int) -> Tensor:
    if problem_type is None:
        if num_labels == 1:
            problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            problem_type = "single_label_classification"
        else:
            problem_type = "multi_label_classification"
    if problem_type == "regression":
        return (
            F.mse_loss(logits.squeeze(), labels.squeeze()) if num_labels == 1 else F.mse_loss(logits, labels)
        )
    if problem_type == "single_label_classification":
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    if problem_type == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits, labels)
    raise InvalidConfigError(
        f"problem_type={problem_type!r} is not one of regression, single_label_classification, "
        "multi_label_classification."
    )


def span_loss(
    start_logits: Tensor, end_logits: Tensor, start_positions: Tensor, end_positions: Tensor
) -> Tensor:
    """Mean of the start and end cross-entropies; positions beyond the input are ignored (as in transformers)."""
    ignored = start_logits.size(1)
    start_positions = flat_positions(start_positions).clamp(0, ignored)
    end_positions = flat_positions(end_positions).clamp(0, ignored)
    return (
        F.cross_entropy(start_logits, start_positions, ignore_index=ignored)
        + F.cross_entropy(end_logits, end_positions, ignore_index=ignored)
    ) / 2


def flat_positions(positions: Tensor) -> Tensor:
    """(bs, 1) -> (bs,), as produced by some data collators."""
    return positions.squeeze(-1) if positions.dim() > 1 else positions


def check_shape(name: str, tensor: Tensor | None, shape: tuple[int, ...]) -> None:
    if tensor is not None and tuple(tensor.shape) != shape:
        raise InputError(f"{name} has shape {tuple(tensor.shape)}, expected {shape}.")


def check_id_ranges(checks: list[tuple[str, Tensor | None, int, str]]) -> None:
    """Each (name, ids, upper, limit name): ids must lie in [0, upper), else an :class:`InputError` saying so."""
    for name, ids, upper, limit in checks:
        if ids is not None and ids.numel() and (ids.min().item() < 0 or ids.max().item() >= upper):
            raise InputError(
                f"{name} must lie in [0, {upper}) ({limit}={upper}); "
                f"got values from {ids.min().item()} to {ids.max().item()}."
            )
