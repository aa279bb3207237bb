"""XLM-RoBERTa (Conneau et al., 2020, "Unsupervised Cross-lingual Representation Learning at Scale") and its XL/XXL
variant (Goyal et al., 2021) in plain PyTorch.

Base and large are post-LayerNorm encoders (BERT's block) over word + position + token-type embeddings; XL and
XXL normalise each block's input instead, drop the embeddings' LayerNorm and add one after the last block. Positions
count from ``pad_token_id + 1`` over the non-padding tokens, as fairseq does. Parameter names, forward arguments and
outputs match transformers' ``XLMRoberta*`` and ``XLMRobertaXL*`` classes, so Hub checkpoints load unchanged.

Shapes in comments: bs batch size, slen input length, qlen new positions (slen minus the cached ones), klen
positions attended to, dim = hidden_size, nh = num_attention_heads, hd = dim // nh.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import InputError
from ...modeling_utils import (
    BaseModelOutputWithPooling,
    CausalLMOutput,
    KVCache,
    MaskedLMOutput,
    MultipleChoice,
    PreTrainedModel,
    SequenceClassifier,
    SpanQuestionAnswering,
    TokenClassifier,
    additive_bias,
    check_id_ranges,
    check_shape,
    init_normal,
    require_two_labels,
    self_attention,
)
from .configuration import XLMRobertaConfig, XLMRobertaXLConfig

HEAD_NAMES = {
    "lm_head": "language-modelling head (lm_head)",
    "classifier": "classification head (classifier)",
    "qa_outputs": "question-answering head (qa_outputs)",
}

_ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_python": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
}


# ----------------------------------------------------------------------------------------------------------------
# Building blocks (module names are the Hub's: ``attention.self.query``, ``attention.output.LayerNorm``, ...)


class XLMRobertaEmbeddings(nn.Module):
    """Word + position + token-type embeddings, then LayerNorm (not in the XL variant) and dropout."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        dim, pad = config.hidden_size, config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, dim, padding_idx=pad)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, dim, padding_idx=pad)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, dim)
        if not config.pre_layer_norm:
            self.LayerNorm = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, ids_or_embeds: Tensor, position_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        x = ids_or_embeds if ids_or_embeds.is_floating_point() else self.word_embeddings(ids_or_embeds)
        x = x + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        if hasattr(self, "LayerNorm"):
            x = self.LayerNorm(x)
        return self.dropout(x)


class XLMRobertaSelfAttention(nn.Module):
    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        dim = config.hidden_size
        self.n_heads = config.num_attention_heads
        self.dropout = config.attention_probs_dropout_prob
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)

    def forward(
        self, x: Tensor, bias: Tensor | None, cache: KVCache | None, layer: int, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        """(bs, qlen, dim) -> context (bs, qlen, dim) and the weights (bs, nh, qlen, klen) when asked for."""
        p = self.dropout if self.training else 0.0
        projections = (self.query, self.key, self.value)
        return self_attention(x, projections, self.n_heads, bias, p, cache, layer, None, output_attentions)


class XLMRobertaSelfOutput(nn.Module):
    """Projection of the attention's context and the residual; post-LN models normalise the sum here."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        if not config.pre_layer_norm:
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, context: Tensor, residual: Tensor) -> Tensor:
        x = self.dropout(self.dense(context)) + residual
        return self.LayerNorm(x) if hasattr(self, "LayerNorm") else x


class XLMRobertaAttention(nn.Module):
    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        if config.pre_layer_norm:
            self.self_attn_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self = XLMRobertaSelfAttention(config)
        self.output = XLMRobertaSelfOutput(config)

    def forward(
        self, x: Tensor, bias: Tensor | None, cache: KVCache | None, layer: int, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        h = self.self_attn_layer_norm(x) if hasattr(self, "self_attn_layer_norm") else x
        context, weights = self.self(h, bias, cache, layer, output_attentions)
        return self.output(context, x), weights


class XLMRobertaIntermediate(nn.Module):
    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = _ACTIVATIONS[config.hidden_act]

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.dense(x))


class XLMRobertaOutput(nn.Module):
    """The feed-forward layer's second projection and the residual (post-LN: with dropout, then LayerNorm)."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        if not config.pre_layer_norm:
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        if not hasattr(self, "LayerNorm"):  # the XL variant: no dropout here, as in transformers
            return self.dense(x) + residual
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class XLMRobertaLayer(nn.Module):
    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        self.attention = XLMRobertaAttention(config)
        if config.pre_layer_norm:
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate = XLMRobertaIntermediate(config)
        self.output = XLMRobertaOutput(config)

    def forward(
        self, x: Tensor, bias: Tensor | None, cache: KVCache | None, layer: int, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        x, weights = self.attention(x, bias, cache, layer, output_attentions)
        h = self.LayerNorm(x) if hasattr(self, "LayerNorm") else x
        return self.output(self.intermediate(h), x), weights


class XLMRobertaEncoder(nn.Module):
    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(XLMRobertaLayer(config) for _ in range(config.num_hidden_layers))
        if config.pre_layer_norm:
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)


class XLMRobertaPooler(nn.Module):
    """tanh(dense(first token's state)): the sentence vector the multiple-choice head reads."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: Tensor) -> Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))


# ----------------------------------------------------------------------------------------------------------------
# Base class and encoder


class XLMRobertaPreTrainedModel(PreTrainedModel):
    """XLM-RoBERTa's initialisation and names; loading, saving and the rest come from :class:`PreTrainedModel`."""

    config_class = XLMRobertaConfig
    base_model_prefix = "roberta"
    head_names: ClassVar[dict[str, str]] = HEAD_NAMES
    cache_argument: ClassVar[str] = "past_key_values"

    def get_input_embeddings(self) -> nn.Embedding:
        return self.base_model.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.base_model.embeddings.word_embeddings = value

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """As transformers: normal(initializer_range) linear and embedding weights (zero padding rows), zero
        biases (the LM head's too), unit LayerNorms."""
        std = self.config.initializer_range
        init_normal(module, std, std)
        if isinstance(module, XLMRobertaLMHead):
            module.bias.zero_()


class XLMRobertaModel(XLMRobertaPreTrainedModel):
    """The XLM-RoBERTa encoder, with the pooler unless ``add_pooling_layer=False`` (as the heads build it)."""

    def __init__(
        self, config: XLMRobertaConfig, add_pooling_layer: bool = True, *, init_weights: bool = True
    ) -> None:
        super().__init__(config)
        self.embeddings = XLMRobertaEmbeddings(config)
        self.encoder = XLMRobertaEncoder(config)
        self.pooler = XLMRobertaPooler(config) if add_pooling_layer else None
        if init_weights:  # heads build the encoder with init_weights=False and initialise everything once
            self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        past_key_values: KVCache | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
    ) -> BaseModelOutputWithPooling:
        """Encode a batch.

        - ``input_ids`` (bs, slen), or ``inputs_embeds`` (bs, slen, dim) in their place.
        - ``attention_mask`` (bs, slen): 1 for real tokens, 0 for padding (without it every position is attended
          to, as in transformers). ``token_type_ids`` (bs, slen), zeros by default.
        - ``position_ids`` (bs, slen): by default ``pad_token_id + 1 + i`` for the i-th non-padding token and
          ``pad_token_id`` at padding (from ``input_ids``), or consecutive from ``pad_token_id + 1`` for
          ``inputs_embeds``.
        - ``past_key_values``: a :class:`KVCache` for step-by-step decoding of a causal model (``is_decoder``):
          pass the whole sequence so far each time; only the positions not cached are computed and returned.
          ``use_cache=True`` without one starts a new cache (returned in the output).
        """
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = (
            config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        source = self._check_inputs(input_ids, inputs_embeds, attention_mask, token_type_ids, position_ids)
        bs, slen = source.shape[:2]
        device = source.device
        if position_ids is None:
            position_ids = self._position_ids(input_ids, bs, slen, device)
        if token_type_ids is None:
            token_type_ids = torch.zeros(bs, slen, dtype=torch.long, device=device)
        if use_cache and past_key_values is None and config.is_decoder:
            past_key_values = KVCache()
        cache = past_key_values if config.is_decoder else None
        past = cache.seq_len if cache is not None else 0
        if past >= slen:
            raise InputError(
                f"The cache already holds {past} positions and the input has {slen}: pass the whole sequence so far, "
                "not only the new tokens, with at least one new token."
            )

        dtype = self.embeddings.word_embeddings.weight.dtype if inputs_embeds is None else inputs_embeds.dtype
        allowed = None  # (bs or 1, 1, qlen or 1, klen), None: everything
        if attention_mask is not None:
            allowed = (attention_mask != 0)[:, None, None, :]
        if config.is_decoder:
            pos = torch.arange(slen, device=device)
            causal = (pos[None, :] <= pos[past:, None])[None, None]
            allowed = causal if allowed is None else causal & allowed
        bias = None if allowed is None else additive_bias(allowed, dtype)

        x = self.embeddings(
            source[:, past:], position_ids[:, past:], token_type_ids.expand(bs, slen)[:, past:]
        )  # (bs, qlen, dim)
        hidden_states = (x,) if output_hidden_states else None
        attentions = () if output_attentions else None
        for i, layer in enumerate(self.encoder.layer):
            x, weights = layer(x, bias, cache, i, output_attentions)
            if output_hidden_states:
                hidden_states += (x,)
            if output_attentions:
                attentions += (weights,)
        if hasattr(self.encoder, "LayerNorm"):
            x = self.encoder.LayerNorm(x)
            if output_hidden_states:  # the last one is the normalised output, as in transformers
                hidden_states = (*hidden_states[:-1], x)
        return BaseModelOutputWithPooling(
            last_hidden_state=x,
            pooler_output=self.pooler(x) if self.pooler is not None else None,
            hidden_states=hidden_states,
            past_key_values=cache,
            attentions=attentions,
            cross_attentions=None if attentions is None else (),  # none: no cross-attention layers
        )

    def _position_ids(self, input_ids: Tensor | None, bs: int, slen: int, device: torch.device) -> Tensor:
        """fairseq's positions: ``pad + 1 + i`` for the i-th non-padding token, ``pad`` at padding."""
        pad = self.config.pad_token_id
        if input_ids is None:
            return torch.arange(pad + 1, slen + pad + 1, device=device)[None].expand(bs, -1)
        real = (input_ids != pad).long()
        return torch.cumsum(real, dim=1) * real + pad

    def _check_inputs(
        self,
        input_ids: Tensor | None,
        inputs_embeds: Tensor | None,
        attention_mask: Tensor | None,
        token_type_ids: Tensor | None,
        position_ids: Tensor | None,
    ) -> Tensor:
        """The input (ids or embeddings), after raising :class:`InputError` for what would fail deep in torch."""
        config = self.config
        if (input_ids is None) == (inputs_embeds is None):
            raise InputError("Pass either input_ids or inputs_embeds (exactly one of them).")
        source = input_ids if input_ids is not None else inputs_embeds
        shape = tuple(source.shape[:2])
        for name, tensor in (
            ("attention_mask", attention_mask),
            ("token_type_ids", token_type_ids),
            ("position_ids", position_ids),
        ):
            check_shape(name, tensor, shape)
        if position_ids is None and shape[1] > config.max_tokens:
            raise InputError(
                f"The input has {shape[1]} positions; this model handles at most {config.max_tokens} "
                f"(max_position_embeddings={config.max_position_embeddings}, positions start after "
                f"pad_token_id={config.pad_token_id})."
            )
        check_id_ranges(
            [
                ("input_ids", input_ids, config.vocab_size, "vocab_size"),
                ("token_type_ids", token_type_ids, config.type_vocab_size, "type_vocab_size"),
                ("position_ids", position_ids, config.max_position_embeddings, "max_position_embeddings"),
            ]
        )
        return source


# ----------------------------------------------------------------------------------------------------------------
# Heads


class XLMRobertaLMHead(nn.Module):
    """dense -> gelu -> LayerNorm -> vocabulary projection (tied to the word embeddings) + bias."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        self.bias = nn.Parameter(
            torch.zeros(config.vocab_size)
        )  # before ``decoder``: the name saved for the bias
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.decoder.bias = self.bias

    def forward(self, hidden: Tensor) -> Tensor:
        return self.decoder(self.layer_norm(F.gelu(self.dense(hidden))))


class _XLMRobertaLMModel(XLMRobertaPreTrainedModel):
    """What the masked and the causal language models share: the encoder, the tied LM head, ``lm_scores``."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__(config)
        self.roberta = XLMRobertaModel(config, add_pooling_layer=False, init_weights=False)
        self.lm_head = XLMRobertaLMHead(config)
        self.post_init()

    def tie_weights(self) -> None:
        if self.config.tie_word_embeddings:
            self.lm_head.decoder.weight = self.roberta.embeddings.word_embeddings.weight
        self.lm_head.decoder.bias = self.lm_head.bias

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head.decoder

    def set_output_embeddings(self, value: nn.Linear) -> None:
        """The projection, its bias kept as the head's ``bias`` (the name checkpoints use)."""
        self.lm_head.decoder = value
        self.lm_head.bias = value.bias

    def lm_scores(self, hidden: Tensor) -> Tensor:
        """Vocabulary logits (..., vocab_size) of final hidden states (..., dim)."""
        return self.lm_head(hidden)


class XLMRobertaForMaskedLM(_XLMRobertaLMModel):
    """XLM-RoBERTa with its masked-language-modelling head."""

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        labels: Tensor | None = None,
        **inputs: Any,
    ) -> MaskedLMOutput:
        """``labels`` (bs, slen): the token to predict at each position, -100 where nothing is predicted. Other
        arguments: see :meth:`XLMRobertaModel.forward`."""
        out = self.roberta(input_ids, attention_mask, return_dict=True, **inputs)
        logits = self.lm_head(out.last_hidden_state)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.config.vocab_size), labels.view(-1))
        return MaskedLMOutput(
            loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions
        )


class XLMRobertaForCausalLM(_XLMRobertaLMModel):
    """XLM-RoBERTa as a left-to-right language model (``is_decoder=True``), with a key/value cache."""

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        labels: Tensor | None = None,
        logits_to_keep: int = 0,
        **inputs: Any,
    ) -> CausalLMOutput:
        """``labels`` (bs, slen): the input ids (-100 where not scored); position t is scored on token t + 1, as
        transformers shifts them. ``logits_to_keep=n`` scores only the last n positions. Other arguments: see
        :meth:`XLMRobertaModel.forward`."""
        out = self.roberta(input_ids, attention_mask, return_dict=True, **inputs)
        hidden = out.last_hidden_state
        logits = self.lm_head(hidden[:, -logits_to_keep:] if logits_to_keep else hidden)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(
                logits[:, :-1].float().reshape(-1, self.config.vocab_size), labels[:, 1:].reshape(-1)
            )
        return CausalLMOutput(
            loss=loss,
            logits=logits,
            past_key_values=out.past_key_values,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
            cross_attentions=out.cross_attentions,
        )


def _classifier_dropout(config: XLMRobertaConfig) -> float:
    return config.hidden_dropout_prob if config.classifier_dropout is None else config.classifier_dropout


class XLMRobertaClassificationHead(nn.Module):
    """The first token's state -> dropout, dense, tanh, dropout, projection to the labels."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, hidden: Tensor) -> Tensor:
        x = torch.tanh(self.dense(self.dropout(hidden[:, 0])))
        return self.out_proj(self.dropout(x))


class XLMRobertaForSequenceClassification(SequenceClassifier, XLMRobertaPreTrainedModel):
    """XLM-RoBERTa with a classifier (or regressor when ``num_labels == 1``) on the first token."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.roberta = XLMRobertaModel(config, add_pooling_layer=False, init_weights=False)
        self.classifier = XLMRobertaClassificationHead(config)
        self.post_init()

    def classify(self, out: BaseModelOutputWithPooling) -> Tensor:
        return self.classifier(out.last_hidden_state)


class XLMRobertaForTokenClassification(TokenClassifier, XLMRobertaPreTrainedModel):
    """XLM-RoBERTa with a linear classifier on every position (NER, POS tagging)."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.roberta = XLMRobertaModel(config, add_pooling_layer=False, init_weights=False)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()


class XLMRobertaForQuestionAnswering(SpanQuestionAnswering, XLMRobertaPreTrainedModel):
    """XLM-RoBERTa with a linear span head: a start and an end logit per position."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__(config)
        require_two_labels(config, type(self).__name__)
        self.roberta = XLMRobertaModel(config, add_pooling_layer=False, init_weights=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()


class XLMRobertaForMultipleChoice(MultipleChoice, XLMRobertaPreTrainedModel):
    """XLM-RoBERTa scoring each of num_choices sequences from its pooled vector; choices are batched as
    bs * num_choices sequences."""

    def __init__(self, config: XLMRobertaConfig) -> None:
        super().__init__(config)
        self.roberta = XLMRobertaModel(config, add_pooling_layer=True, init_weights=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def score(self, out: BaseModelOutputWithPooling) -> Tensor:
        return self.classifier(self.dropout(out.pooler_output))


# ----------------------------------------------------------------------------------------------------------------
# XL and XXL: the same classes on the pre-LayerNorm config, under transformers' names


class XLMRobertaXLPreTrainedModel(XLMRobertaPreTrainedModel):
    config_class = XLMRobertaXLConfig


class XLMRobertaXLModel(XLMRobertaModel):
    config_class = XLMRobertaXLConfig


class XLMRobertaXLForMaskedLM(XLMRobertaForMaskedLM):
    config_class = XLMRobertaXLConfig


class XLMRobertaXLForCausalLM(XLMRobertaForCausalLM):
    config_class = XLMRobertaXLConfig


class XLMRobertaXLForSequenceClassification(XLMRobertaForSequenceClassification):
    config_class = XLMRobertaXLConfig


class XLMRobertaXLForTokenClassification(XLMRobertaForTokenClassification):
    config_class = XLMRobertaXLConfig
    loss_ignores_padding = True  # transformers' XL head leaves out labels where attention_mask is not 1


class XLMRobertaXLForQuestionAnswering(XLMRobertaForQuestionAnswering):
    config_class = XLMRobertaXLConfig


class XLMRobertaXLForMultipleChoice(XLMRobertaForMultipleChoice):
    config_class = XLMRobertaXLConfig
