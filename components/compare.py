"""Compare languages: the same sentence in several languages, predictions and attention side by side."""

from __future__ import annotations

from typing import Any

import gradio as gr

from xlm.pipelines.inputs import with_mask_token

from . import examples, limits, plots
from .common import (
    HEAVY_WORK,
    MEAN,
    export,
    get_pipeline,
    intro,
    layer_choices,
    model_for,
    pick,
    read_info,
    refuse,
    session_state,
    table,
)
from .figure_export import images_button, keeping_figures
from .validation import Integer, Model, Name, Text, at_most_masks, endpoint

MAX_LANGUAGES = limits.MAX_LINES
MAX_CHARS = limits.MAX_LINES * 200
NO_LANGUAGE_INPUT = (
    "ℹ️ **{name}** ({family}) has no language embeddings: the language at the start of each line only names the "
    "row. The model reads each sentence alone and must recognise its language itself, so nothing here swaps or "
    "sets a language: compare how one shared model treats the same meaning in each language."
)


# -- handlers ----------------------------------------------------------------------------------------------------
def parse(lines: str) -> list[tuple[str, str]]:
    """``lang | sentence`` lines → [(lang, sentence)]; blank lines are skipped."""
    pairs = []
    for number, line in enumerate(lines.splitlines(), start=1):
        if not line.strip():
            continue
        lang, sep, sentence = line.partition("|")
        if not sep or not lang.strip() or not sentence.strip():
            raise refuse(
                f"Line {number}: write `language | sentence`, e.g. `fr | Le chat dort sur le <mask> .`"
            )
        pairs.append((lang.strip(), sentence.strip()))
    if not pairs:
        raise refuse("Give at least one `language | sentence` line.")
    if len(pairs) > MAX_LANGUAGES:
        raise refuse(f"At most {MAX_LANGUAGES} sentences at once.")
    if len({lang for lang, _ in pairs}) != len(pairs):
        raise refuse("Each language may appear only once.")
    return pairs


def compare(lines: str, top_k: float, layer: str | None, model: str) -> dict[str, Any]:
    """Per language: fill-mask predictions and the attention matrix (mean of heads) of one layer or all. The
    language is an input only for a model with language embeddings."""
    fill = get_pipeline("fill-mask", model)
    attention = get_pipeline("attention", model)
    as_input = read_info(model_for("fill-mask", model)[0]).language_embeddings
    out: dict[str, Any] = {"predictions": {}, "attention": {}}
    pairs = parse(lines)
    for _, sentence in pairs:
        at_most_masks([sentence], fill.tokenizer.mask_token)
    for lang, sentence in pairs:
        given = lang if as_input else None
        out["predictions"][lang] = fill(sentence, top_k=int(top_k), lang=given)
        att = attention(with_mask_token(sentence, fill.tokenizer), lang=given)
        matrix = plots.reduce_attention(att["attentions"], pick(layer, att["layers"], "layer"))
        out["attention"][lang] = {"tokens": att["tokens"], "matrix": matrix.round(4).tolist()}
    return out


def setup(model: str) -> tuple[str, str, list[str]]:
    path, note = model_for("fill-mask", model)
    info = read_info(path)
    if not info.language_embeddings:
        note = f"{note}\n\n{NO_LANGUAGE_INPUT.format(name=info.name, family=info.family)}".strip()
    return note, examples.compare_text(info.languages), layer_choices(info.n_layers)


# -- UI ----------------------------------------------------------------------------------------------------------
@endpoint(
    lines=Text("Sentences", MAX_CHARS),
    top_k=Integer("Top-k", 1, limits.MAX_ANSWERS),
    layer=Name("Attention layer"),
    model=Model(),
)
def _run(lines, top_k, layer, model):
    out = compare(lines, top_k, layer, model)
    rows = [
        {"language": lang, "rank": rank + 1, "token": g["token_str"], "score": round(g["score"], 4)}
        for lang, result in out["predictions"].items()
        for rank, g in enumerate(plots.masks_of(result)[0])
    ]
    where = "mean of all layers" if layer in (None, "", MEAN) else f"layer {layer}"
    return (
        plots.compare_bars(out["predictions"]),
        plots.compare_heatmaps(out["attention"], f"Attention ({where}, mean of heads)"),
        table(rows),
        export("compare_languages", out, rows),
    )


@endpoint(model=Model())
def _setup(model: str):
    note, text, layers = setup(model)
    return note, text, gr.update(choices=layers, value=MEAN)


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    note0, text0, layers = setup(model.value) if model.value else ("", "", [MEAN])
    intro(
        "One model, one meaning, several languages: a shared vocabulary and shared layers are what let XLM and "
        "XLM-R transfer from one language to another.",
        "whether the guesses mean the same thing in each language, and whether attention patterns look alike "
        "despite different word orders and tokenisations.",
    )
    note = gr.Markdown(note0)
    lines = gr.Textbox(
        label="One `language | sentence with <mask>` per line",
        value=text0,
        lines=4,
        max_length=MAX_CHARS,
        info=limits.text_info(MAX_CHARS, f"at most {MAX_LANGUAGES} lines"),
    )
    with gr.Row():
        top_k = gr.Slider(1, limits.MAX_ANSWERS, value=5, step=1, label="Top-k")
        layer = gr.Dropdown(layers, value=MEAN, label="Attention layer (mean = all layers)")
    run = gr.Button("Compare", variant="primary")
    bars = gr.Plot(label="Predictions per language", elem_id="compare-bars")
    heat = gr.Plot(label="Attention per language")
    table = gr.Dataframe(label="Predictions")
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    figures = session_state()
    images_button(figures, dict, "compare", "compare_images", "Export the charts as PNG and SVG")

    run.click(
        keeping_figures(_run, "guesses", "attention"),
        [lines, top_k, layer, model],
        [bars, heat, table, files, figures],
        api_name="compare",
        **HEAVY_WORK,
    )
    ready.change(_setup, ready, [note, lines, layer], api_name="compare_setup")
