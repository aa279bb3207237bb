"""Cross-lingual tab (TLM): a sentence and its translation read together; masks in one side, predictions that can
use the other side, and the attention that flows between the two languages."""

from __future__ import annotations

from typing import Any

import gradio as gr

from xlm.pipelines.inputs import with_mask_token

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
    model_for,
    pick,
    read_info,
    session_state,
    table,
)
from .figure_export import images_button, keeping_figures
from .validation import Integer, Language, Model, Name, Text, at_most_masks, at_most_tokens, endpoint

TASK = "fill-mask"
NOT_TLM = (
    "ℹ️ **{name}** ({family}) has no language embeddings and was not trained on sentence pairs, so translation "
    "language modelling does not apply: the two sentences are still read as one input, and the predictions and "
    "the attention between them are shown, but the model was never taught to use the translation."
)


# -- handlers ----------------------------------------------------------------------------------------------------
def predict(
    text: str, lang: str | None, pair: str, lang_pair: str | None, top_k: float, layer: str | None, model: str
) -> dict[str, Any]:
    """Fill the masks of a sentence pair, with and without the other side, and the pair's attention."""
    lang, lang_pair = lang_or_none(lang), lang_or_none(lang_pair)
    fill = get_pipeline(TASK, model)
    at_most_masks([text, pair], fill.tokenizer.mask_token)
    at_most_tokens(fill.tokenizer, [(text, lang), (pair, lang_pair)], limits.MAX_ATTENTION_TOKENS, "the pair")
    k = int(top_k)
    together = plots.masks_of(fill(text, top_k=k, lang=lang, text_pair=pair, lang_pair=lang_pair))
    alone: list[Any] = []
    for side_text, side_lang in ((text, lang), (pair, lang_pair)):
        if fill.tokenizer.mask_token in with_mask_token(side_text, fill.tokenizer):
            alone += plots.masks_of(fill(side_text, top_k=k, lang=side_lang))
    tok = fill.tokenizer
    attention = get_pipeline("attention", model)(
        {
            "text": with_mask_token(text, tok),
            "lang": lang,
            "text_pair": with_mask_token(pair, tok),
            "lang_pair": lang_pair,
        }
    )
    chosen = pick(layer, attention["layers"], "layer")
    rows = [
        {
            "mask": n + 1,
            "rank": rank + 1,
            "token": g["token_str"],
            "with translation": round(g["score"], 4),
            "alone": round(next((a["score"] for a in solo if a["token"] == g["token"]), 0.0), 4),
        }
        for n, (guesses, solo) in enumerate(zip(together, alone, strict=True))
        for rank, g in enumerate(guesses)
    ]
    return {
        "together": together,
        "alone": alone,
        "attention": attention,
        "matrix": plots.reduce_attention(attention["attentions"], chosen).tolist(),
        "cross_share": plots.cross_share(attention["attentions"], attention["side"]),
        "rows": rows,
    }


def setup(model: str) -> tuple[str, list[str], str | None, str | None, list[str]]:
    path, note = model_for(TASK, model)
    info = read_info(path)
    langs = list(info.languages)
    second = next(
        (lang for lang in examples.parallel(path) if lang in langs), langs[1] if len(langs) > 1 else None
    )
    if not info.language_embeddings:
        note += "\n\n" + NOT_TLM.format(name=info.name, family=info.family)
    elif len(langs) < 2:
        note += "\n\n⚠️ This model knows fewer than two languages: translation modelling needs a multilingual model."
    return note.strip(), langs, first_language(langs), second, layer_choices(info.n_layers)


# -- UI ----------------------------------------------------------------------------------------------------------
@endpoint(
    text=Text("Sentence", limits.MAX_TEXT_CHARS),
    lang=Language("Its language"),
    pair=Text("Translation", limits.MAX_TEXT_CHARS),
    lang_pair=Language("Translation language"),
    top_k=Integer("Top-k", 1, limits.MAX_TOP_K),
    layer=Name("Attention layer"),
    model=Model(),
)
def _run(text, lang, pair, lang_pair, top_k, layer, model):
    out = predict(text, lang, pair, lang_pair, top_k, layer, model)
    att = out["attention"]
    labels = plots.token_labels(att["tokens"], att["langs"])
    title = f"Attention over the pair ({'mean of all layers' if pick(layer, att['layers'], 'layer') is None else f'layer {layer}'}, mean of heads)"
    files = export(
        "cross_lingual",
        {k: out[k] for k in ("together", "alone", "cross_share")}
        | {"tokens": att["tokens"], "langs": att["langs"]},
        out["rows"],
    )
    return (
        plots.paired_bars(
            out["together"], out["alone"], "Guesses with the translation vs. the sentence alone"
        ),
        plots.attention_heatmap(out["matrix"], labels, title=title, split=att["side"].count(0)),
        plots.cross_share_plot(out["cross_share"]),
        table(out["rows"]),
        files,
    )


@endpoint(model=Model())
def _setup(model: str):
    note, langs, first, second, layers = setup(model)
    return (
        note,
        language_update(langs, first),
        language_update(langs, second),
        gr.update(choices=layers, value=layers[-1]),
    )


@endpoint(lang_pair=Language("Translation language"), model=Name("Model", limits.MAX_MODEL_CHARS))
def _example(lang_pair: str | None, model: str | None):
    """The example pair for the translation language (French where there is none, as for XLM-R)."""
    pairs = examples.parallel(model)
    if lang_pair and lang_pair not in pairs:
        return gr.skip(), gr.skip()
    return pairs[lang_pair or "fr"]


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    note0, langs, first, second, layers = setup(model.value) if model.value else ("", [], None, None, [MEAN])
    pairs = examples.parallel(model.value)
    text0, pair0 = pairs.get(second or "fr", pairs["fr"])
    intro(
        "Translation language modelling (TLM): the model reads a sentence and its translation as one input, each "
        "side with its own language embedding and positions, so it can fill a mask in one language from the other.",
        "guesses that improve with the translation (blue vs. orange bars), and the bright off-diagonal blocks of the "
        "heatmap, where one language attends to the other.",
    )
    note = gr.Markdown(note0)
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(
                label="Sentence (mask words with <mask>)",
                value=text0,
                max_length=limits.MAX_TEXT_CHARS,
                info=limits.text_info(
                    limits.MAX_TEXT_CHARS,
                    f"at most {limits.MAX_MASKS} masks and {limits.MAX_ATTENTION_TOKENS} tokens in both",
                ),
            )
            lang = language_picker(langs, first, "Its language")
        with gr.Column():
            pair = gr.Textbox(
                label="Translation (may hold masks too)",
                value=pair0,
                rtl=False,
                max_length=limits.MAX_TEXT_CHARS,
            )
            lang_pair = language_picker(langs, second, "Translation language")
    with gr.Row():
        top_k = gr.Slider(1, limits.MAX_TOP_K, value=5, step=1, label="Top-k")
        layer = gr.Dropdown(layers, value=layers[-1], label="Attention layer (mean = all layers)")
        example = gr.Button("Load the example for the translation language")
    run = gr.Button("Predict with the translation", variant="primary")
    bars = gr.Plot(label="Predictions", elem_id="cross-bars")
    with gr.Row():
        heat = gr.Plot(label="Attention between the two sentences", elem_id="cross-heat")
        share = gr.Plot(label="Cross-language attention per layer")
    table = gr.Dataframe(label="Predictions with and without the translation", wrap=True)
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    figures = session_state()
    images_button(figures, dict, "cross_lingual", "cross_lingual_images", "Export the charts as PNG and SVG")

    example.click(_example, [lang_pair, model], [text, pair], api_name="cross_lingual_example")
    run.click(
        keeping_figures(_run, "guesses", "attention", "cross_share"),
        [text, lang, pair, lang_pair, top_k, layer, model],
        [bars, heat, share, table, files, figures],
        api_name="cross_lingual",
        **HEAVY_WORK,
    )
    ready.change(_setup, ready, [note, lang, lang_pair, layer], api_name="cross_lingual_setup")
