"""XLM (Lample & Conneau, 2019, "Cross-lingual Language Model Pretraining") in plain PyTorch.

``XLMModel`` is a post-LayerNorm transformer encoder over word + position (+ language) embeddings; the heads put a
language-modelling, classification, or question-answering layer on top. Parameter names, forward arguments, outputs
and numbers match transformers' XLM classes, so Hub checkpoints load unchanged and give the same logits.

Shapes in comments: bs batch size, slen input length, qlen new positions (slen minus the cached ones), klen
positions attended to, dim = emb_dim, nh = n_heads, hd = dim // nh.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import InputError, InvalidConfigError
from ...modeling_utils import (
    BaseModelOutput,
    KVCache,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoice,
    MultipleChoiceModelOutput,
    PreTrainedModel,
    SequenceClassifier,
    SpanQuestionAnswering,
    TokenClassifier,
    additive_bias,
    check_id_ranges,
    check_shape,
    flat_positions,
    init_normal,
    require_two_labels,
    self_attention,
)
from .configuration import XLMConfig

# Parameter-name prefixes of each head, and how to name the head to a person.
HEAD_NAMES = {
    "pred_layer": "language-modelling head (pred_layer)",
    "sequence_summary": "sequence-summary head (sequence_summary)",
    "logits_proj": "multiple-choice projection (logits_proj)",
    "qa_outputs": "question-answering head (qa_outputs)",
    "classifier": "token-classification head (classifier)",
}

# ----------------------------------------------------------------------------------------------------------------
# Outputs


@dataclass
class XLMForQuestionAnsweringOutput(ModelOutput):
    """Beam-search SQuAD output. With start and end positions given only ``loss``; otherwise the top
    ``start_n_top`` start probabilities (named log probs, as in transformers, though they are probabilities) and
    positions (bs, start_n_top), the top ``end_n_top`` end probabilities and positions for each start
    (bs, end_n_top * start_n_top, laid out end-major), and the answerability logit ``cls_logits`` (bs,)."""

    loss: Tensor | None = None
    start_top_log_probs: Tensor | None = None
    start_top_index: Tensor | None = None
    end_top_log_probs: Tensor | None = None
    end_top_index: Tensor | None = None
    cls_logits: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


# ----------------------------------------------------------------------------------------------------------------
# Building blocks


class MultiHeadAttention(nn.Module):
    """Self-attention. Fused ``scaled_dot_product_attention`` unless the weights are wanted or heads are masked."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__()
        dim = config.emb_dim
        self.n_heads = config.n_heads
        self.dropout = config.attention_dropout
        self.q_lin = nn.Linear(dim, dim)
        self.k_lin = nn.Linear(dim, dim)
        self.v_lin = nn.Linear(dim, dim)
        self.out_lin = nn.Linear(dim, dim)

    def forward(
        self,
        x: Tensor,
        bias: Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
        head_mask: Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """``x`` (bs, qlen, dim); ``bias`` (bs or 1, 1, qlen or 1, klen): 0 where attention is allowed, the dtype's
        minimum where not; ``head_mask`` (1, nh, 1, 1) multiplies the weights. Returns (bs, qlen, dim) and the
        weights (bs, nh, qlen, klen) when asked for."""
        p = self.dropout if self.training else 0.0
        projections = (self.q_lin, self.k_lin, self.v_lin)
        context, weights = self_attention(
            x, projections, self.n_heads, bias, p, cache, layer, head_mask, output_attentions
        )
        return self.out_lin(context), weights


class TransformerFFN(nn.Module):
    """Position-wise feed-forward layer: dim -> 4 dim -> dim, gelu or relu."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__()
        self.dropout = config.dropout
        self.lin1 = nn.Linear(config.emb_dim, 4 * config.emb_dim)
        self.lin2 = nn.Linear(4 * config.emb_dim, config.emb_dim)
        self.act = F.gelu if config.gelu_activation else F.relu

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(self.lin2(self.act(self.lin1(x))), p=self.dropout, training=self.training)


def sinusoidal_embeddings(n_pos: int, dim: int) -> Tensor:
    """(n_pos, dim) fixed position codes of Vaswani et al.: sin on even columns, cos on odd ones."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    column = torch.arange(dim, dtype=torch.float64)
    angles = pos / torch.pow(10000.0, 2 * torch.div(column, 2, rounding_mode="floor") / dim)  # (n_pos, dim)
    out = torch.empty(n_pos, dim, dtype=torch.float64)
    out[:, 0::2] = torch.sin(angles[:, 0::2])
    out[:, 1::2] = torch.cos(angles[:, 1::2])
    return out.float()


# ----------------------------------------------------------------------------------------------------------------
# Base class and encoder


class XLMPreTrainedModel(PreTrainedModel):
    """XLM's initialisation and names; loading, saving and the rest come from :class:`PreTrainedModel`."""

    config_class = XLMConfig
    base_model_prefix = "transformer"
    head_names: ClassVar[dict[str, str]] = HEAD_NAMES
    cache_argument: ClassVar[str] = "cache"

    def get_input_embeddings(self) -> nn.Embedding:
        return self.base_model.embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.base_model.embeddings = value

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Initialise one module in place, as transformers does: normal(init_std) linear weights, zero biases,
        normal(embed_init_std) embeddings with a zero padding row, unit LayerNorms, sinusoids if configured."""
        config = self.config
        std = getattr(config, "initializer_range", None) or config.init_std  # transformers prefers the former
        if config.sinusoidal_embeddings and module is self.base_model.position_embeddings:
            module.weight.copy_(sinusoidal_embeddings(module.num_embeddings, module.embedding_dim))
            return
        init_normal(module, std, config.embed_init_std if config.embed_init_std is not None else std)


class XLMModel(XLMPreTrainedModel):
    """The XLM encoder; returns the hidden states of the last layer (and optionally of all layers / attentions)."""

    def __init__(self, config: XLMConfig, *, init_weights: bool = True) -> None:
        super().__init__(config)
        dim = config.emb_dim
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, dim)
        self.lang_embeddings = (
            nn.Embedding(config.n_langs, dim) if config.n_langs > 1 and config.use_lang_emb else None
        )
        self.embeddings = nn.Embedding(config.vocab_size, dim, padding_idx=config.pad_token_id)
        self.layer_norm_emb = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        layers = range(config.n_layers)
        self.attentions = nn.ModuleList(MultiHeadAttention(config) for _ in layers)
        self.layer_norm1 = nn.ModuleList(nn.LayerNorm(dim, eps=config.layer_norm_eps) for _ in layers)
        self.ffns = nn.ModuleList(TransformerFFN(config) for _ in layers)
        self.layer_norm2 = nn.ModuleList(nn.LayerNorm(dim, eps=config.layer_norm_eps) for _ in layers)
        if init_weights:  # heads build the encoder with init_weights=False and initialise everything once
            self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        langs: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        lengths: Tensor | None = None,
        cache: KVCache | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
    ) -> BaseModelOutput:
        """Encode a batch.

        - ``input_ids`` (bs, slen) token ids, or ``inputs_embeds`` (bs, slen, dim) in their place.
        - ``attention_mask`` (bs, slen): 1 for real tokens, 0 for padding. Without it, ``lengths`` (bs,) marks the
          first ``lengths[i]`` positions as real; without either, ``lengths`` counts the non-pad tokens (so padding
          is assumed to be on the right, as in transformers).
        - ``langs`` (bs, slen) language ids (used when the model has language embeddings); ``token_type_ids``
          (bs, slen) are looked up in the word embeddings, as XLM does; ``position_ids`` (bs, slen).
        - ``cache``: an :class:`XLMCache` for step-by-step decoding (pass the whole sequence so far each time).
        - ``head_mask`` (nh,) or (n_layers, nh): multiplies each head's attention weights (1 keeps, 0 silences).
        - Causal models (``config.causal``) attend to the left only; their mask ignores padding (as in
          transformers), which only matters for left padding.
        """
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = (
            config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        self._check_inputs(input_ids, inputs_embeds, attention_mask, langs, token_type_ids, position_ids)
        source = input_ids if input_ids is not None else inputs_embeds
        bs, slen = source.shape[:2]
        device = source.device
        mask = self._real_tokens(input_ids, attention_mask, lengths, bs, slen, device)  # (bs, slen)
        if position_ids is None:
            position_ids = torch.arange(slen, device=device)[None]  # (1, slen)

        # positions already in the cache are not recomputed
        past = cache.seq_len if cache is not None else 0
        if past >= slen:
            raise InputError(
                f"The cache already holds {past} positions and the input has {slen}: pass the whole sequence so far "
                "(as in transformers), not only the new tokens, with at least one new token."
            )

        # attention bias over the klen = slen keys for the qlen = slen - past new queries
        dtype = self.embeddings.weight.dtype if inputs_embeds is None else inputs_embeds.dtype
        if config.causal:
            pos = torch.arange(slen, device=device)
            allowed = (pos[None, :] <= pos[past:, None])[None, None]  # (1, 1, qlen, klen)
        else:
            allowed = mask[:, None, None, :]  # (bs, 1, 1, klen)
        bias = additive_bias(allowed, dtype)

        if past:
            input_ids, inputs_embeds, langs, token_type_ids = (
                t[:, past:] if t is not None else None
                for t in (input_ids, inputs_embeds, langs, token_type_ids)
            )
            position_ids, mask = position_ids[:, past:], mask[:, past:]

        x = self.embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (bs, qlen, dim)
        x = x + self.position_embeddings(position_ids)
        if langs is not None and self.lang_embeddings is not None:
            x = x + self.lang_embeddings(langs)
        if token_type_ids is not None:
            x = x + self.embeddings(token_type_ids)
        x = F.dropout(self.layer_norm_emb(x), p=config.dropout, training=self.training)
        keep = mask[..., None].to(x.dtype)  # (bs, qlen, 1): padded positions are zeroed after every layer
        x = x * keep

        head_mask = self._layer_head_masks(head_mask, x.dtype)
        hidden_states = (x,) if output_hidden_states else None
        attentions = () if output_attentions else None
        for i in range(config.n_layers):
            attn, weights = self.attentions[i](x, bias, cache, i, head_mask[i], output_attentions)
            if output_attentions:
                attentions += (weights,)
            x = self.layer_norm1[i](x + F.dropout(attn, p=config.dropout, training=self.training))
            x = self.layer_norm2[i](x + self.ffns[i](x))
            x = x * keep
            if output_hidden_states:
                hidden_states += (x,)
        return BaseModelOutput(last_hidden_state=x, hidden_states=hidden_states, attentions=attentions)

    def _check_inputs(
        self,
        input_ids: Tensor | None,
        inputs_embeds: Tensor | None,
        attention_mask: Tensor | None,
        langs: Tensor | None,
        token_type_ids: Tensor | None,
        position_ids: Tensor | None,
    ) -> None:
        """Raise :class:`InputError` for inputs that would fail deep inside torch with an unclear message."""
        config = self.config
        if (input_ids is None) == (inputs_embeds is None):
            raise InputError("Pass either input_ids or inputs_embeds (exactly one of them).")
        shape = tuple((input_ids if input_ids is not None else inputs_embeds).shape[:2])
        for name, tensor in (
            ("attention_mask", attention_mask),
            ("langs", langs),
            ("token_type_ids", token_type_ids),
            ("position_ids", position_ids),
        ):
            check_shape(name, tensor, shape)
        if position_ids is None and shape[1] > config.max_position_embeddings:
            raise InputError(
                f"The input has {shape[1]} positions; this model handles at most "
                f"max_position_embeddings={config.max_position_embeddings}."
            )
        check_id_ranges(
            [
                ("input_ids", input_ids, config.vocab_size, "vocab_size"),
                ("token_type_ids", token_type_ids, config.vocab_size, "vocab_size"),
                ("position_ids", position_ids, config.max_position_embeddings, "max_position_embeddings"),
                ("langs", langs if self.lang_embeddings is not None else None, config.n_langs, "n_langs"),
            ]
        )

    def _real_tokens(
        self,
        input_ids: Tensor | None,
        attention_mask: Tensor | None,
        lengths: Tensor | None,
        bs: int,
        slen: int,
        device: torch.device,
    ) -> Tensor:
        """(bs, slen) True at real tokens: the attention mask, else the first ``lengths`` positions, where
        ``lengths`` defaults to the number of non-pad tokens (all positions for ``inputs_embeds``)."""
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=device)
            check_shape("lengths", lengths, (bs,))
            if lengths.max().item() > slen:
                raise InputError(
                    f"lengths go up to {lengths.max().item()} but the input has {slen} positions."
                )
        if attention_mask is not None:
            return attention_mask != 0
        if lengths is None:
            if input_ids is None:
                return torch.ones(bs, slen, dtype=torch.bool, device=device)
            lengths = (input_ids != self.config.pad_token_id).sum(dim=1)
        return torch.arange(slen, device=device) < lengths[:, None]

    def _layer_head_masks(self, head_mask: Tensor | None, dtype: torch.dtype) -> list[Tensor | None]:
        """One (1, nh, 1, 1) multiplier per layer from a (nh,) or (n_layers, nh) head mask, or Nones."""
        n_layers, n_heads = self.config.n_layers, self.config.n_heads
        if head_mask is None:
            return [None] * n_layers
        if head_mask.dim() == 1:
            head_mask = head_mask[None].expand(n_layers, -1)
        check_shape("head_mask", head_mask, (n_layers, n_heads))
        return list(head_mask.to(dtype).view(n_layers, 1, n_heads, 1, 1))


# ----------------------------------------------------------------------------------------------------------------
# Heads


class XLMPredLayer(nn.Module):
    """Vocabulary projection (``proj``): a linear layer, or an adaptive softmax when ``config.asm``."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__()
        self.asm = config.asm
        if config.asm:
            self.proj = nn.AdaptiveLogSoftmaxWithLoss(
                config.emb_dim,
                config.vocab_size,
                config.asm_cutoffs,
                div_value=config.asm_div_value,
                head_bias=True,
            )
        else:
            self.proj = nn.Linear(config.emb_dim, config.vocab_size)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``x`` (bs, qlen, dim) -> logits (bs, qlen, vocab) and the mean loss over labels that are not -100."""
        if not self.asm:
            logits = self.proj(x)
            loss = None if labels is None else F.cross_entropy(logits.flatten(0, -2), labels.flatten())
            return logits, loss
        flat = x.flatten(0, -2)  # (bs * qlen, dim): the adaptive softmax only takes 2-d input
        logits = self.proj.log_prob(flat).view(*x.shape[:-1], -1)
        if labels is None:
            return logits, None
        labels = labels.flatten()
        counted = labels != -100
        return logits, self.proj(flat[counted], labels[counted]).loss


class XLMWithLMHeadModel(XLMPreTrainedModel):
    """XLM with the (masked or causal) language-modelling head, its projection tied to the input embeddings."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.transformer = XLMModel(config, init_weights=False)
        self.pred_layer = XLMPredLayer(config)
        self.post_init()

    def tie_weights(self) -> None:
        if self.config.tie_word_embeddings and not self.config.asm:
            self.pred_layer.proj.weight = self.transformer.embeddings.weight

    def get_output_embeddings(self) -> nn.Module:
        return self.pred_layer.proj

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.pred_layer.proj = value

    def generation_mask_id(self, tokenizer: Any) -> int:
        """``config.mask_token_id``, as transformers' XLM appends when generating (0, ``<s>``, in the Hub's files)."""
        return self.config.mask_token_id

    def lm_scores(self, hidden: Tensor) -> Tensor:
        """Vocabulary logits, or log-probabilities with the adaptive softmax (``asm``), of hidden states (..., dim)."""
        proj = self.pred_layer.proj
        if not self.config.asm:
            return proj(hidden)
        return proj.log_prob(hidden.flatten(0, -2)).view(*hidden.shape[:-1], -1)

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        labels: Tensor | None = None,
        logits_to_keep: int = 0,
        **inputs: Any,
    ) -> MaskedLMOutput:
        """``labels`` (bs, slen): token ids to predict at each position, -100 where nothing is predicted (not
        shifted: for a causal LM pass the next tokens). ``logits_to_keep=n`` scores only the last n positions.
        Other arguments: see :meth:`XLMModel.forward`."""
        out = self.transformer(input_ids, attention_mask, return_dict=True, **inputs)
        hidden = out.last_hidden_state
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        logits, loss = self.pred_layer(hidden, labels)
        return MaskedLMOutput(
            loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions
        )


_ACTIVATIONS = {
    None: nn.Identity,
    "linear": nn.Identity,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
}


class XLMSequenceSummary(nn.Module):
    """One vector per sequence: the first or last position, or the mean, then an optional projection."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__()
        self.summary_type = config.summary_type
        self.summary: nn.Module = nn.Identity()
        self.out_features = config.emb_dim
        if config.summary_use_proj:
            self.out_features = config.num_labels if config.summary_proj_to_labels else config.emb_dim
            self.summary = nn.Linear(config.emb_dim, self.out_features)
        self.activation = _ACTIVATIONS[config.summary_activation]()
        self.first_dropout = nn.Dropout(config.summary_first_dropout)
        self.last_dropout = nn.Dropout(getattr(config, "summary_last_dropout", 0.0))

    def forward(self, hidden: Tensor) -> Tensor:
        """(bs, slen, dim) -> (bs, out_features). "cls_index" takes the last position, as transformers' XLM heads
        never pass a classification index."""
        if self.summary_type == "first":
            x = hidden[:, 0]
        elif self.summary_type == "mean":
            x = hidden.mean(dim=1)
        else:  # "last" and "cls_index"
            x = hidden[:, -1]
        return self.last_dropout(self.activation(self.summary(self.first_dropout(x))))


class XLMForSequenceClassification(SequenceClassifier, XLMPreTrainedModel):
    """XLM with a sequence summary as classifier (or regressor when ``num_labels == 1``)."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLMModel(config, init_weights=False)
        self.sequence_summary = XLMSequenceSummary(config)
        self.post_init()

    def classify(self, out: BaseModelOutput) -> Tensor:
        return self.sequence_summary(out.last_hidden_state)


class XLMForQuestionAnsweringSimple(SpanQuestionAnswering, XLMPreTrainedModel):
    """XLM with a linear span head: a start and an end logit per position."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        require_two_labels(config, type(self).__name__)
        self.transformer = XLMModel(config, init_weights=False)
        self.qa_outputs = nn.Linear(config.emb_dim, 2)
        self.post_init()


class XLMSQuADHead(nn.Module):
    """XLNet-style SQuAD head: start logits, end logits given a start, and an answerability logit.

    Sub-modules are ModuleDicts only to keep transformers' parameter names
    (``start_logits.dense``, ``end_logits.dense_0/LayerNorm/dense_1``, ``answer_class.dense_0/dense_1``).
    """

    def __init__(self, config: XLMConfig) -> None:
        super().__init__()
        dim = config.emb_dim
        self.start_n_top = config.start_n_top
        self.end_n_top = config.end_n_top
        self.start_logits = nn.ModuleDict({"dense": nn.Linear(dim, 1)})
        self.end_logits = nn.ModuleDict(
            {
                "dense_0": nn.Linear(2 * dim, dim),
                "LayerNorm": nn.LayerNorm(dim, eps=config.layer_norm_eps),
                "dense_1": nn.Linear(dim, 1),
            }
        )
        self.answer_class = nn.ModuleDict(
            {"dense_0": nn.Linear(2 * dim, dim), "dense_1": nn.Linear(dim, 1, bias=False)}
        )

    def _end(self, hidden: Tensor, start_states: Tensor, p_mask: Tensor | None) -> Tensor:
        """hidden, start_states (..., dim) -> end logits (...)."""
        layers = self.end_logits
        x = torch.tanh(layers["dense_0"](torch.cat([hidden, start_states], dim=-1)))
        return _mask_logits(layers["dense_1"](layers["LayerNorm"](x)).squeeze(-1), p_mask)

    def _answerable(self, hidden: Tensor, start_states: Tensor, cls_index: Tensor | None) -> Tensor:
        """hidden (bs, slen, dim), start_states (bs, dim) -> answerability logit (bs,), from the CLS position
        (``cls_index``, else the last one)."""
        cls_states = hidden[:, -1] if cls_index is None else _at(hidden, cls_index)
        layers = self.answer_class
        x = torch.tanh(layers["dense_0"](torch.cat([start_states, cls_states], dim=-1)))
        return layers["dense_1"](x).squeeze(-1)

    def forward(
        self,
        hidden: Tensor,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        cls_index: Tensor | None = None,
        is_impossible: Tensor | None = None,
        p_mask: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Loss when the answer span is given, else the beam of best starts and ends (see the output class)."""
        bs, slen, dim = hidden.shape
        start_logits = _mask_logits(self.start_logits["dense"](hidden).squeeze(-1), p_mask)  # (bs, slen)
        if start_positions is not None and end_positions is not None:
            start_positions, end_positions = flat_positions(start_positions), flat_positions(end_positions)
            start_states = _at(hidden, start_positions)  # (bs, dim)
            end_logits = self._end(hidden, start_states[:, None].expand(-1, slen, -1), p_mask)  # (bs, slen)
            loss = (
                F.cross_entropy(start_logits, start_positions) + F.cross_entropy(end_logits, end_positions)
            ) / 2
            if cls_index is not None and is_impossible is not None:
                cls_logits = self._answerable(hidden, start_states, flat_positions(cls_index))
                loss = loss + 0.5 * F.binary_cross_entropy_with_logits(
                    cls_logits, flat_positions(is_impossible).to(cls_logits)
                )
            return {"loss": loss}

        if slen < max(self.start_n_top, self.end_n_top):
            raise InputError(
                f"The input has {slen} positions, fewer than the beam sizes start_n_top={self.start_n_top} / "
                f"end_n_top={self.end_n_top}."
            )
        start_probs = F.softmax(start_logits, dim=-1)  # (bs, slen)
        start_top_probs, start_top_index = start_probs.topk(self.start_n_top, dim=-1)  # (bs, k)
        start_states = hidden.gather(1, start_top_index[..., None].expand(-1, -1, dim))  # (bs, k, dim)
        start_states = start_states[:, None].expand(-1, slen, -1, -1)  # (bs, slen, k, dim)
        hidden_expanded = hidden[:, :, None].expand_as(start_states)  # (bs, slen, k, dim)
        p_mask = p_mask[..., None] if p_mask is not None else None
        end_probs = F.softmax(self._end(hidden_expanded, start_states, p_mask), dim=1)  # (bs, slen, k)
        end_top_probs, end_top_index = end_probs.topk(self.end_n_top, dim=1)  # (bs, end_n_top, k)
        expected_start = torch.einsum("blh,bl->bh", hidden, start_probs)  # (bs, dim)
        return {
            "start_top_log_probs": start_top_probs,
            "start_top_index": start_top_index,
            "end_top_log_probs": end_top_probs.reshape(bs, -1),
            "end_top_index": end_top_index.reshape(bs, -1),
            "cls_logits": self._answerable(hidden, expected_start, cls_index),
        }


def _at(hidden: Tensor, index: Tensor) -> Tensor:
    """hidden (bs, slen, dim), index (bs,) -> hidden[b, index[b]] (bs, dim)."""
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), index]


def _mask_logits(x: Tensor, p_mask: Tensor | None) -> Tensor:
    """Push the logits where ``p_mask`` is 1 to a huge negative value (-65500 in float16)."""
    if p_mask is None:
        return x
    big = 65500 if p_mask.dtype == torch.float16 else 1e30
    return x * (1 - p_mask) - big * p_mask


class XLMForQuestionAnswering(XLMPreTrainedModel):
    """XLM with the beam-search SQuAD head (start/end beams and an answerability logit)."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.transformer = XLMModel(config, init_weights=False)
        self.qa_outputs = XLMSQuADHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        *,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        is_impossible: Tensor | None = None,
        cls_index: Tensor | None = None,
        p_mask: Tensor | None = None,
        **inputs: Any,
    ) -> XLMForQuestionAnsweringOutput:
        """``start_positions``/``end_positions`` (bs,) give the training span; ``is_impossible`` (bs,) and
        ``cls_index`` (bs,) add the answerability loss; ``p_mask`` (bs, slen) is 1 where no answer may be (question,
        special tokens, padding). Other arguments: see :meth:`XLMModel.forward`."""
        out = self.transformer(input_ids, attention_mask, return_dict=True, **inputs)
        head = self.qa_outputs(
            out.last_hidden_state, start_positions, end_positions, cls_index, is_impossible, p_mask
        )
        return XLMForQuestionAnsweringOutput(
            **head, hidden_states=out.hidden_states, attentions=out.attentions
        )


class XLMForTokenClassification(TokenClassifier, XLMPreTrainedModel):
    """XLM with a linear classifier on every position (NER, POS tagging)."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLMModel(config, init_weights=False)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.emb_dim, config.num_labels)
        self.post_init()


class XLMForMultipleChoice(MultipleChoice, XLMPreTrainedModel):
    """XLM scoring each of num_choices sequences; the choices are batched as bs * num_choices sequences."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.transformer = XLMModel(config, init_weights=False)
        self.sequence_summary = XLMSequenceSummary(config)
        if self.sequence_summary.out_features != config.num_labels:
            raise InvalidConfigError(
                "XLMForMultipleChoice needs the sequence summary to project to num_labels features "
                f"(summary_use_proj and summary_proj_to_labels true); it gives {self.sequence_summary.out_features}."
            )
        self.logits_proj = nn.Linear(config.num_labels, 1)
        self.post_init()

    def score(self, out: BaseModelOutput) -> Tensor:
        return self.logits_proj(self.sequence_summary(out.last_hidden_state))

    def forward(self, *args: Any, **inputs: Any) -> MultipleChoiceModelOutput:
        """As :meth:`MultipleChoice.forward`, with ``langs`` per choice too. ``lengths`` cannot be used here
        (ignored with a warning, as in transformers): pass an attention mask."""
        if inputs.pop("lengths", None) is not None:
            warnings.warn(
                "lengths cannot be used with XLMForMultipleChoice; pass attention_mask.", stacklevel=2
            )
        return super().forward(*args, **inputs)
