"""Attention explorer: heatmaps of every layer × head, averages over heads or layers, and where one token looks."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from . import examples, limits, plots
from .common import (
    HEAVY_WORK,
    MEAN,
    export,
    first_language,
    get_pipeline,
    intro,
    lang_or_none,
    language_picker,
    language_update,
    layer_choices,
    pick,
    read_info,
    refuse,
    session_state,
)
from .figure_export import images_button, keeping_figures
from .validation import Language, Model, Name, Text, at_most_tokens, at_most_words, endpoint

TASK = "attention"


# -- handlers ----------------------------------------------------------------------------------------------------
def attend(
    text: str, lang: str | None, pair: str | None, lang_pair: str | None, model: str
) -> dict[str, Any]:
    """The attention pipeline's output for a text (or a sentence pair in the TLM layout)."""
    at_most_words([text, pair or ""], limits.MAX_ATTENTION_WORDS, "the attention")
    if len(text) + len(pair or "") > limits.MAX_ATTENTION_CHARS:
        raise refuse(
            f"The text and its translation are too long for the attention together: at most "
            f"{limits.MAX_ATTENTION_CHARS} characters."
        )
    pipe = get_pipeline(TASK, model)
    sides = [(text, lang_or_none(lang)), (pair or "", lang_or_none(lang_pair) or lang_or_none(lang))]
    at_most_tokens(pipe.tokenizer, sides, limits.MAX_ATTENTION_TOKENS, "the attention")
    item = {"text": text, "lang": lang_or_none(lang)}
    if pair and pair.strip():
        item |= {"text_pair": pair, "lang_pair": lang_or_none(lang_pair) or lang_or_none(lang)}
    return pipe(item)


def view(data: dict[str, Any], layer: str | None, head: str | None, query: str | None) -> dict[str, Any]:
    """The matrix for a layer/head choice ("mean" averages), its title, and the row of one query token."""
    if not data:
        raise refuse("Run the attention first (press Show attention).")
    layer_i, head_i = pick(layer, data["layers"], "layer"), pick(head, data["heads"], "head")
    matrix = plots.reduce_attention(data["attentions"], layer_i, head_i)
    n = len(data["tokens"])
    query_i = pick(query, n, "token") or 0
    where = (
        f"{'mean of layers' if layer_i is None else f'layer {layer_i}'}, "
        f"{'mean of heads' if head_i is None else f'head {head_i}'}"
    )
    return {"matrix": matrix, "title": f"Attention ({where})", "query": query_i}


def setup(model: str) -> tuple[list[str], str | None, list[str], list[str]]:
    info = read_info(model)
    langs = list(info.languages)
    return (
        langs,
        first_language(langs),
        layer_choices(info.n_layers),
        layer_choices(info.n_heads),
    )


def export_rows(data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the attention export holds: every layer × head × query × key weight, or, beyond
    :data:`limits.EXPORT_CELLS` weights, their mean over heads (the export of a long text stays small)."""
    att = np.asarray(data["attentions"], dtype=np.float32)
    per_head = att.size <= limits.EXPORT_CELLS
    kept = att if per_head else att.mean(axis=1, keepdims=True)
    heads = list(range(att.shape[1])) if per_head else [MEAN]
    rows = [
        {"layer": layer_i, "head": heads[head_i], "query": q, "key": k, "weight": round(float(w), 4)}
        for (layer_i, head_i, q, k), w in np.ndenumerate(kept)
    ]
    shown = {**data, "attentions": kept.round(4).tolist()}
    if not per_head:
        shown["note"] = f"More than {limits.EXPORT_CELLS:,} weights: the mean over heads of each layer."
    return shown, rows


# -- UI ----------------------------------------------------------------------------------------------------------
def _figures(data, layer, head, query):
    chosen = view(data, layer, head, query)
    labels = plots.token_labels(data["tokens"], data["langs"])
    return (
        plots.attention_heatmap(chosen["matrix"], labels, title=chosen["title"], split=data["side"].count(0)),
        plots.token_attention(chosen["matrix"], labels, chosen["query"]),
    )


LAYER, HEAD, QUERY = Name("Layer"), Name("Head"), Name("Token")


@endpoint(
    text=Text("Text", limits.MAX_ATTENTION_CHARS),
    lang=Language(),
    pair=Text("Translation", limits.MAX_ATTENTION_CHARS, required=False),
    lang_pair=Language("Its language"),
    layer=LAYER,
    head=HEAD,
    model=Model(),
)
def _run(text, lang, pair, lang_pair, layer, head, model):
    data = attend(text, lang, pair, lang_pair, model)
    data = {**data, "attentions": np.asarray(data["attentions"], dtype=np.float32)}
    labels = plots.token_labels(data["tokens"], data["langs"])
    query_choices = [(label, str(i)) for i, label in enumerate(labels)]
    heat, bars = _figures(data, layer, head, "0")
    files = export("attention", *export_rows(data))
    grid = plots.attention_grid(data["attentions"])
    # Kept per visitor until the next run or SESSION_TTL_S, for the views: float16 (weights in [0, 1] keep three
    # digits; a nested list of Python floats takes 16 times more).
    kept = {**data, "attentions": data["attentions"].astype(np.float16)}
    return kept, grid, heat, bars, gr.update(choices=query_choices, value="0"), files


@endpoint(layer=LAYER, head=HEAD, query=QUERY)
def _view(data, layer, head, query):
    return _figures(data, layer, head, query)


@endpoint(model=Model())
def _setup(model: str):
    langs, lang, layers, heads = setup(model)
    return (
        language_update(langs, lang),
        language_update(langs, None),
        gr.update(choices=layers, value=MEAN),
        gr.update(choices=heads, value=MEAN),
    )


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    langs, lang0, layers, heads = setup(model.value) if model.value else ([], None, [MEAN], [MEAN])
    intro(
        "Self-attention: in every layer, each head mixes information from the tokens a token attends to; a row of "
        "a heatmap is one token's attention, summing to 1.",
        "heads that look at the previous or next token (diagonals), at the sentence boundaries (`<s>`, `</s>`), or "
        "at the "
        "same word in the translation when you add one.",
    )
    data = session_state()
    with gr.Row():
        text = gr.Textbox(
            label="Text",
            value=examples.FILL_MASK["en"].replace("<mask>", "sofa"),
            scale=3,
            max_length=limits.MAX_ATTENTION_CHARS,
            info=limits.text_info(
                limits.MAX_ATTENTION_CHARS,
                f"at most {limits.MAX_ATTENTION_WORDS} words or {limits.MAX_ATTENTION_TOKENS} tokens with the "
                "translation (the cost grows as their square)",
            ),
        )
        lang = language_picker(langs, lang0, "Language", scale=1)
    with gr.Accordion("Add a translation (TLM layout: both sentences in one input)", open=False), gr.Row():
        pair = gr.Textbox(
            label="Translation (optional)", value="", scale=3, max_length=limits.MAX_ATTENTION_CHARS
        )
        lang_pair = language_picker(langs, None, "Its language", scale=1)
    run = gr.Button("Show attention", variant="primary")
    with gr.Row():
        layer = gr.Dropdown(layers, value=MEAN, label="Layer (mean = average of layers)")
        head = gr.Dropdown(heads, value=MEAN, label="Head (mean = average of heads)")
        query = gr.Dropdown([], value=None, label="Token whose attention to show")
    with gr.Row():
        heat = gr.Plot(label="Token-to-token attention", elem_id="attention-heatmap")
        bars = gr.Plot(label="Where the token looks")
    grid = gr.Plot(label="Every layer × head", elem_id="attention-grid")
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    figures = session_state()
    images_button(
        figures, dict, "attention", "attention_images", "Export the last run's charts as PNG and SVG"
    )

    run.click(
        keeping_figures(_run, "grid", "tokens", "looks"),
        [text, lang, pair, lang_pair, layer, head, model],
        [data, grid, heat, bars, query, files, figures],
        api_name="attention",
        **HEAVY_WORK,
    )
    gr.on(
        [layer.input, head.input, query.input],
        _view,
        [data, layer, head, query],
        [heat, bars],
        api_name="attention_view",
    )
    ready.change(_setup, ready, [lang, lang_pair, layer, head], api_name="attention_setup")
