"""Logit lens tab: the guesses at the mask read out of every layer, and the final answer's rank and probability."""

from __future__ import annotations

from typing import Any

import gradio as gr

from . import examples, lens_plots, limits
from .common import (
    MODEL_WORK,
    export,
    first_language,
    get_pipeline,
    intro,
    lang_or_none,
    language_picker,
    language_update,
    model_for,
    read_info,
    session_state,
    table,
)
from .figure_export import images_button
from .validation import Integer, Language, Model, Text, endpoint

TASK = "fill-mask"  # it reads the LM head: it runs on the model fill-mask runs on (common.TASK_ROLES)


# -- handlers ----------------------------------------------------------------------------------------------------
def lens(text: str, lang: str | None, top_k: float, model: str) -> dict[str, Any]:
    """The logit-lens pipeline's output for a text with one mask."""
    return get_pipeline("logit-lens", model)(text, top_k=int(top_k), lang=lang_or_none(lang))


def table_rows(out: dict[str, Any]) -> list[dict[str, Any]]:
    """The layer × rank table: one row per layer, a column per rank ("token (p)"), then the answer's rank and p."""
    names = lens_plots.layer_names(len(out["layers"]))
    return [
        {
            "layer": name,
            **{f"#{r}": f"{g['token_str']} ({g['score']:.3f})" for r, g in enumerate(layer["top"], start=1)},
            "answer rank": layer["answer_rank"],
            "answer p": round(layer["answer_score"], 4),
        }
        for name, layer in zip(names, out["layers"], strict=True)
    ]


def export_rows(out: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per layer and rank (long format), the final answer marked."""
    return [
        {
            "layer": layer["layer"],
            "rank": r,
            "token": g["token_str"],
            "token_id": g["token"],
            "probability": g["score"],
            "is_final_answer": g["token"] == out["answer"]["token"],
        }
        for layer in out["layers"]
        for r, g in enumerate(layer["top"], start=1)
    ]


def summary(out: dict[str, Any]) -> str:
    """What the lens read, and from which layer on the final answer stays the top guess."""
    ranks = [layer["answer_rank"] for layer in out["layers"]]
    settled = len(ranks) - next((i for i, r in enumerate(reversed(ranks)) if r != 1), len(ranks))
    where = "from the embeddings on" if settled == 0 else f"from layer {settled} on"
    return (
        f"Final answer `{out['answer']['token_str']}`: the top guess {where}.  \nRead out: {out['readout']}."
    )


def figures(out: dict[str, Any]) -> dict[str, Any]:
    """The tab's charts of one result, by file name."""
    return {"answer": lens_plots.answer_by_layer(out), "layers": lens_plots.lens_heatmap(out)}


def setup(model: str) -> tuple[str, list[str], str | None]:
    """A note (when another model runs), the model's languages and the default one."""
    path, note = model_for(TASK, model)
    langs = list(read_info(path).languages)
    return note, langs, first_language(langs)


# -- UI ----------------------------------------------------------------------------------------------------------
MAX_TOP_K = 10  # guesses per layer: the table has a column per rank


@endpoint(
    text=Text("Text with one <mask>", limits.MAX_TEXT_CHARS),
    lang=Language(),
    top_k=Integer("Guesses per layer", 1, MAX_TOP_K),
    model=Model(),
)
def _run(text: str, lang: str | None, top_k: float, model: str):
    out = lens(text, lang, top_k, model)
    files = export("logit_lens", {"text": text, "lang": lang, **out}, export_rows(out))
    return (
        out,
        summary(out),
        lens_plots.answer_by_layer(out),
        lens_plots.lens_heatmap(out),
        table(table_rows(out)),
        files,
    )


@endpoint(model=Model())
def _setup(model: str):
    note, langs, lang = setup(model)
    return note, language_update(langs, lang)


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    note0, langs, lang0 = setup(model.value) if model.value else ("", [], None)
    intro(
        "The logit lens reads the model's guess for the mask after every layer, by sending that layer's hidden "
        "state through the LM head that normally reads only the last one.",
        "the layer where the final answer rises to the top, and the guesses before it: early layers often echo "
        "frequent or nearby tokens, later ones settle on a word that fits.",
    )
    note = gr.Markdown(note0)
    with gr.Row():
        text = gr.Textbox(
            label="Text with one <mask>",
            value=examples.fill_mask(model.value).get(lang0 or "en"),
            scale=4,
            max_length=limits.MAX_TEXT_CHARS,
            info=limits.text_info(limits.MAX_TEXT_CHARS, "exactly one mask"),
        )
        with gr.Column(scale=1):
            lang = language_picker(langs, lang0, "Language")
            top_k = gr.Slider(1, MAX_TOP_K, value=5, step=1, label="Guesses per layer")
    run = gr.Button("Read every layer", variant="primary")
    found = gr.Markdown(elem_id="lens-summary")
    answer = gr.Plot(label="The final answer per layer", elem_id="lens-answer")
    heat = gr.Plot(label="Layer × rank", elem_id="lens-heatmap")
    frame = gr.Dataframe(label="Layer × rank (token and probability)", wrap=True)
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    result = session_state()
    images_button(result, figures, "logit_lens", "logit_lens_images", "Export the charts as PNG and SVG")

    inputs, outputs = [text, lang, top_k, model], [result, found, answer, heat, frame, files]
    run.click(_run, inputs, outputs, api_name="logit_lens", concurrency_id=MODEL_WORK)
    text.submit(_run, inputs, outputs, api_name=False, concurrency_id=MODEL_WORK)
    ready.change(_setup, ready, [note, lang], api_name="logit_lens_setup")
