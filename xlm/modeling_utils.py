"""What the model families share: output types, the key/value cache, the attention product, the base class that
loads and saves, and the losses and input checks the heads have in common.

A family's modeling module builds its own layers (their parameter names are the Hub's and differ between families)
from these pieces; what differs between families stays explicit there.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .configuration_utils import PretrainedConfig
from .errors import InputError, InvalidConfigError
from .loading import load_model, save_model, skipping_init

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
class ModelOutput(Mapping):
    """Base of the outputs, dict-like as transformers' ``ModelOutput``: attribute access, and a mapping of the fields
    that are set (``len``, ``keys()``, ``"logits" in out``, ``out["logits"]``, iteration over the keys) that is also
    indexed by position over those fields (``out[0]``, ``out[1:]``)."""

    def to_dict(self) -> dict[str, Any]:
        """The fields that are set (not None), in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def to_tuple(self) -> tuple[Any, ...]:
        """The values of the fields that are set: what ``return_dict=False`` returns."""
        return tuple(self.to_dict().values())

    def __getitem__(self, key: str | int | slice) -> Any:
        return self.to_dict()[key] if isinstance(key, str) else self.to_tuple()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()


@dataclass
class BaseModelOutput(ModelOutput):
    """``last_hidden_state`` (bs, qlen, dim); with ``output_hidden_states`` the n_layers + 1 hidden states (embeddings
    first); with ``output_attentions`` the n_layers attention weights (bs, nh, qlen, klen)."""

    last_hidden_state: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class BaseModelOutputWithPooling(ModelOutput):
    """:class:`BaseModelOutput` plus ``pooler_output`` (bs, dim) when the model has a pooler, and the cache;
    ``cross_attentions`` is empty (these encoders have no cross-attention) where attentions are asked for."""

    last_hidden_state: Tensor | None = None
    pooler_output: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    past_key_values: KVCache | None = None
    attentions: tuple[Tensor, ...] | None = None
    cross_attentions: tuple[Tensor, ...] | None = None


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
    cross_attentions: tuple[Tensor, ...] | None = None


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


def self_attention(
    x: Tensor,
    projections: tuple[nn.Linear, nn.Linear, nn.Linear],
    n_heads: int,
    bias: Tensor | None,
    dropout: float,
    cache: KVCache | None = None,
    layer: int = 0,
    head_mask: Tensor | None = None,
    output_attentions: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head scaled dot-product self-attention of x (bs, qlen, dim) through the query, key and value
    ``projections``, the keys and values appended to ``cache`` (as ``layer``) when given. ``bias`` broadcasts to
    (bs, nh, qlen, klen): 0 where attention is allowed, the dtype's minimum where not. The fused kernel (SDPA)
    unless the weights are wanted or heads are masked; ``head_mask`` (1, nh, 1, 1) multiplies the weights.
    Returns the context (bs, qlen, dim), before the output projection, and the weights when asked for."""
    bs, qlen, dim = x.shape
    q, k, v = (lin(x).view(bs, qlen, n_heads, dim // n_heads).transpose(1, 2) for lin in projections)
    if cache is not None:
        k, v = cache.update(layer, k, v)  # (bs, nh, klen, hd)
    weights = None
    if output_attentions or head_mask is not None:
        scores = (q / math.sqrt(q.shape[-1])) @ k.transpose(2, 3)  # (bs, nh, qlen, klen)
        if bias is not None:
            scores = scores + bias
        weights = F.softmax(scores.float(), dim=-1).type_as(scores)
        weights = F.dropout(weights, p=dropout, training=dropout > 0)
        if head_mask is not None:
            weights = weights * head_mask
        context = weights @ v
    else:
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
    return context.transpose(1, 2).reshape(bs, qlen, dim), (weights if output_attentions else None)


@torch.no_grad()
def init_normal(module: nn.Module, std: float, embed_std: float) -> None:
    """transformers' initialisation of one module: normal(std) linear weights and zero biases, normal(embed_std)
    embeddings with a zero padding row, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        module.weight.normal_(mean=0.0, std=std)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.normal_(mean=0.0, std=embed_std)
        if module.padding_idx is not None:
            module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        module.weight.fill_(1.0)
        module.bias.zero_()


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

    main_input_name: ClassVar[str] = "input_ids"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give every forward a ``return_dict`` argument (see :func:`_with_return_dict`)."""
        super().__init_subclass__(**kwargs)
        if not getattr(cls.forward, "_takes_return_dict", False):
            cls.forward = _with_return_dict(cls.forward)

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config

    @classmethod
    def can_generate(cls) -> bool:
        """Whether ``generate`` applies; as in transformers 5, only classes with a ``generate`` method (none here:
        text generation goes through the pipeline)."""
        return False

    @property
    def base_model(self) -> nn.Module:
        """The encoder: the model itself, or its ``base_model_prefix`` attribute for the heads."""
        return getattr(self, self.base_model_prefix, self)

    def post_init(self) -> None:
        """Initialise every weight (not while a checkpoint's model is built, see ``no_init_weights``), then tie the
        output embeddings (if any) to the input ones."""
        if not skipping_init():
            self.apply(self._init_weights)
        self.tie_weights()

    def _init_weights(self, module: nn.Module) -> None:
        raise NotImplementedError

    def tie_weights(self) -> None:
        """Share the output projection with the input embeddings; only language-modelling heads have one."""

    def get_input_embeddings(self) -> nn.Embedding:
        raise NotImplementedError

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        raise NotImplementedError

    def get_output_embeddings(self) -> nn.Module | None:
        """The vocabulary projection of a language-modelling head; None for the other classes (as transformers)."""
        return None

    def set_output_embeddings(self, value: nn.Linear) -> None:
        raise TypeError(f"{type(self).__name__} has no language-modelling head.")

    def resize_token_embeddings(
        self,
        new_num_tokens: int | None = None,
        pad_to_multiple_of: int | None = None,
        mean_resizing: bool = True,
    ) -> nn.Embedding:
        """Give the vocabulary ``new_num_tokens`` rows (rounded up to a multiple of ``pad_to_multiple_of``), as
        transformers does: existing rows kept, rows beyond the new size dropped, ``config.vocab_size`` updated, the
        LM head's projection and bias resized with the embeddings (or retied to them). New rows are the mean of the
        old ones with ``mean_resizing`` (transformers adds noise of variance 1e-9 times theirs), else freshly
        initialised; a new bias entry is 0 where the weights are tied, else the mean of the old bias. Returns the
        new input embeddings."""
        old = self.get_input_embeddings()
        if new_num_tokens is None and pad_to_multiple_of is None:
            return old
        size = old.num_embeddings if new_num_tokens is None else new_num_tokens
        if pad_to_multiple_of:
            size = math.ceil(size / pad_to_multiple_of) * pad_to_multiple_of
        self.set_input_embeddings(self._resized(old, size, mean_resizing))
        output = self.get_output_embeddings()
        if output is not None:
            if not isinstance(output, nn.Linear):
                raise TypeError(f"Cannot resize the output layer {type(output).__name__} (adaptive softmax).")
            tied = self.config.tie_word_embeddings
            self.set_output_embeddings(self._resized(output, size, mean_resizing and not tied))
        self.config.vocab_size = size
        self.tie_weights()
        return self.get_input_embeddings()

    @torch.no_grad()
    def _resized(
        self, old: nn.Embedding | nn.Linear, size: int, mean_resizing: bool
    ) -> nn.Embedding | nn.Linear:
        """A copy of an embedding or vocabulary projection with ``size`` rows: the old ones first, the new ones the
        old mean (``mean_resizing``) or initialised as the model initialises its weights (a bias to 0)."""
        weight = old.weight
        if isinstance(old, nn.Embedding):
            padding_idx = old.padding_idx if old.padding_idx is not None and old.padding_idx < size else None
            new = nn.Embedding(size, old.embedding_dim, padding_idx, device=weight.device, dtype=weight.dtype)
        else:
            bias = old.bias is not None
            new = nn.Linear(old.in_features, size, bias=bias, device=weight.device, dtype=weight.dtype)
        self._init_weights(new)
        kept = min(size, weight.shape[0])
        for name in ("weight", "bias"):
            source, target = getattr(old, name, None), getattr(new, name, None)
            if source is None:
                continue
            target[:kept] = source[:kept]
            if mean_resizing:
                target[kept:] = source.mean(0)
        return new

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
        cls, name_or_path: str | os.PathLike | None, *, dtype: str | torch.dtype | None = None, **kwargs: Any
    ) -> PreTrainedModel | tuple[PreTrainedModel, dict[str, Any]]:
        """Load a Hub-format checkpoint (folder or Hub id), in its own dtype unless ``dtype`` says otherwise (as
        transformers 5's default "auto"); see :func:`xlm.loading.load_model` for ``kwargs``."""
        return load_model(cls, name_or_path, dtype=dtype, **kwargs)

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``folder``."""
        return save_model(self, folder)


def _with_return_dict(forward: Callable[..., ModelOutput]) -> Callable[..., Any]:
    """``forward`` with transformers' ``return_dict`` argument: the output object when true, its ``to_tuple()``
    when false, ``config.return_dict`` when not given."""

    @functools.wraps(forward)
    def wrapped(self: PreTrainedModel, *args: Any, return_dict: bool | None = None, **kwargs: Any) -> Any:
        out = forward(self, *args, **kwargs)
        return out if (self.config.return_dict if return_dict is None else return_dict) else out.to_tuple()

    wrapped._takes_return_dict = True  # type: ignore[attr-defined]
    return wrapped


# ----------------------------------------------------------------------------------------------------------------
# Task heads: the forward every family shares; a family's class builds the modules (the Hub's names) and, where
# the head differs, the one method that differs. Put first in the bases: ``class X(SequenceClassifier, XPreTrained)``.


class SequenceClassifier:
    """Labels for a whole sequence; the family's :meth:`classify` maps the encoder output to (bs, num_labels)."""

    def classify(self, out: Any) -> Tensor:
        raise NotImplementedError

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        labels: Tensor | None = None,
        **inputs: Any,
    ) -> SequenceClassifierOutput:
        """``labels``: class ids (bs,), targets (bs,) for regression, or multi-hot floats (bs, num_labels). The
        loss follows ``config.problem_type``, guessed from num_labels and the labels' dtype when unset (unlike
        transformers, the guess is not written back into the config). Other arguments: the base model's."""
        out = self.base_model(input_ids, attention_mask, return_dict=True, **inputs)
        logits = self.classify(out)  # (bs, num_labels)
        loss = None
        if labels is not None:
            loss = classification_loss(logits, labels, self.config.problem_type, self.config.num_labels)
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions
        )


class TokenClassifier:
    """A label for every position: ``classifier(dropout(hidden))``, modules the family builds."""

    loss_ignores_padding: ClassVar[bool] = False  # leave out labels where attention_mask is not 1

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        labels: Tensor | None = None,
        **inputs: Any,
    ) -> TokenClassifierOutput:
        """``labels`` (bs, slen): class ids, -100 where no label. Other arguments: the base model's."""
        out = self.base_model(input_ids, attention_mask, return_dict=True, **inputs)
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (bs, slen, num_labels)
        loss = None
        if labels is not None:
            if self.loss_ignores_padding and attention_mask is not None:
                labels = labels.masked_fill(attention_mask != 1, -100)
            loss = F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions
        )


class SpanQuestionAnswering:
    """A start and an end logit per position from ``qa_outputs`` (a linear layer to 2), a module the family builds."""

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        **inputs: Any,
    ) -> QuestionAnsweringModelOutput:
        """``start_positions``/``end_positions`` (bs,): the answer span; positions beyond the input are ignored in
        the loss. Other arguments: the base model's."""
        out = self.base_model(input_ids, attention_mask, return_dict=True, **inputs)
        logits = self.qa_outputs(out.last_hidden_state)  # (bs, slen, 2)
        start_logits, end_logits = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start_logits, end_logits, start_positions, end_positions)
        return QuestionAnsweringModelOutput(
            loss=loss,
            start_logits=start_logits,
            end_logits=end_logits,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )


def require_two_labels(config: PretrainedConfig, name: str) -> None:
    if config.num_labels != 2:
        raise InvalidConfigError(
            f"{name} needs num_labels=2 (start and end logits), got {config.num_labels}."
        )


class MultipleChoice:
    """One score per choice; the family's :meth:`score` maps the encoder output of the bs * num_choices flattened
    sequences to (bs * num_choices, 1)."""

    def score(self, out: Any) -> Tensor:
        raise NotImplementedError

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        labels: Tensor | None = None,
        **inputs: Any,
    ) -> MultipleChoiceModelOutput:
        """Every per-token input (``input_ids``, ``attention_mask``, ``token_type_ids``, ...) is (bs, num_choices,
        slen), ``inputs_embeds`` (bs, num_choices, slen, dim); ``labels`` (bs,) the right choice."""
        source = input_ids if input_ids is not None else inputs.get("inputs_embeds")
        if source is None:
            raise InputError("Pass either input_ids or inputs_embeds (exactly one of them).")
        num_choices = source.shape[1]
        input_ids, attention_mask = (
            t.flatten(0, 1) if t is not None else None for t in (input_ids, attention_mask)
        )
        per_choice = {k for k, v in inputs.items() if isinstance(v, Tensor) and v.dim() >= 3}  # not head_mask
        inputs = {k: v.flatten(0, 1) if k in per_choice else v for k, v in inputs.items()}
        out = self.base_model(input_ids, attention_mask, return_dict=True, **inputs)
        logits = self.score(out).view(-1, num_choices)
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return MultipleChoiceModelOutput(
            loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions
        )


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
