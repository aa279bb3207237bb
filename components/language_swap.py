"""Language-swap tab: the same text with its own language embedding and with another (or none), side by side."""

from __future__ import annotations

from typing import Any

import gradio as gr

from xlm.errors import InputError
from xlm.pipelines.inputs import NO_LANGUAGE, check_swappable
from xlm.registry import family_of, read_config

from . import examples, lens_plots, limits, plots
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
    local_folder,
    model_for,
    pick,
    read_info,
    session_state,
    table,
)
from .figure_export import images_button
from .validation import Integer, Language, Model, Name, Text, at_most_masks, at_most_words, endpoint

TASK = "fill-mask"  # it reads the LM head: it runs on the model fill-mask runs on (common.TASK_ROLES)
NONE_CHOICE = ("none: no language embedding (a zero vector)", NO_LANGUAGE)


# -- handlers ----------------------------------------------------------------------------------------------------
def swap(text: str, lang: str | None, other: str | None, top_k: float, model: str) -> dict[str, Any]:
    """The language-swap pipeline's output for a text (with one mask or more)."""
    at_most_words([text], limits.MAX_ATTENTION_WORDS, "the attention of both runs")
    pipe = get_pipeline("language-swap", model)
    at_most_masks([text], pipe.tokenizer.mask_token)
    return pipe(text, lang=lang_or_none(lang), other=lang_or_none(other), top_k=int(top_k))


def prediction_rows(out: dict[str, Any]) -> list[dict[str, Any]]:
    """Side by side, per mask and rank: the guess with the own language and with the swapped one."""
    own, other = (plots.masks_of(run["predictions"]) for run in out["runs"])
    return [
        {
            "mask": m + 1,
            "rank": r + 1,
            "own: token": a["token_str"],
            "own: p": round(a["score"], 4),
            "swapped: token": b["token_str"],
            "swapped: p": round(b["score"], 4),
        }
        for m, (guesses_a, guesses_b) in enumerate(zip(own, other, strict=True))
        for r, (a, b) in enumerate(zip(guesses_a, guesses_b, strict=True))
    ]


def summary(out: dict[str, Any], k: int) -> str:
    """How far the guesses moved, one line per mask."""
    swapped = lens_plots.label(out["runs"][1])
    lines = [
        f"mask {m + 1}: KL = {s['kl']:.3f} nats, top-{k} overlap {s['overlap']:.0%}, "
        f"{'same' if s['same_top1'] else 'another'} top guess"
        for m, s in enumerate(out["shift"]["masks"])
    ]
    return (
        f"From language {out['lang']} to {swapped} (KL of own ‖ swapped over the whole vocabulary):  \n"
        + ("  \n".join(lines))
    )


def attention_views(out: dict[str, Any], layer: str | None) -> dict[str, dict[str, Any]]:
    """Both runs' attention (mean of heads, of one layer or all) for side-by-side heatmaps."""
    views = {}
    for run in out["runs"]:
        layers = len(run["attentions"])
        matrix = plots.reduce_attention(run["attentions"], pick(layer, layers, "layer"))
        views[lens_plots.label(run)] = {"tokens": out["tokens"], "matrix": matrix}
    return views


def setup(model: str) -> tuple[str, list[str], str | None, str | None, list[str]]:
    """A note (another model runs, or the model has no language embeddings), the languages, the default own and
    other language, the layer choices."""
    path, note = model_for(TASK, model)
    info = read_info(path)
    try:
        config = read_config(local_folder(path))
        check_swappable(config, family_of(config))
    except InputError as err:
        note = f"{note}\n\nℹ️ {err}".strip()
    langs = list(info.languages)
    own = first_language(langs)
    other = first_language([lang for lang in langs if lang != own], "fr")
    return note, langs, own, other, layer_choices(info.n_layers)


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """The tab's charts of one result (the swap's output and the attention layer shown), by file name."""
    out, layer = result["out"], result["layer"]
    where = "mean of all layers" if layer in (None, "", MEAN) else f"layer {layer}"
    return {
        "guesses": lens_plots.swap_bars(out),
        "attention": plots.compare_heatmaps(
            attention_views(out, layer), f"Attention ({where}, mean of heads)"
        ),
        "shift": lens_plots.attention_shift_plot(out["shift"]["attention"]),
    }


def other_choices(langs: list[str]) -> list[tuple[str, str]]:
    return [*((lang, lang) for lang in langs), NONE_CHOICE] if langs else []


# -- UI ----------------------------------------------------------------------------------------------------------
@endpoint(
    text=Text("Text with <mask>", limits.MAX_ATTENTION_CHARS),
    lang=Language("Its own language"),
    other=Language("Swap in"),
    top_k=Integer("Top-k", 1, limits.MAX_TOP_K),
    layer=Name("Attention layer"),
    model=Model(),
)
def _run(text: str, lang: str | None, other: str | None, top_k: float, layer: str | None, model: str):
    out = swap(text, lang, other, top_k, model)
    charts = figures({"out": out, "layer": layer})
    rows = prediction_rows(out)
    return (
        {"out": out, "layer": layer},
        summary(out, int(top_k)),
        charts["guesses"],
        charts["attention"],
        charts["shift"],
        table(rows),
        export("language_swap", {"text": text, **out}, rows),
    )


@endpoint(model=Model())
def _setup(model: str):
    note, langs, own, other, layers = setup(model)
    return (
        note,
        language_update(langs, own),
        gr.update(choices=other_choices(langs), value=other, interactive=bool(langs)),
        gr.update(choices=layers, value=MEAN),
    )


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    note0, langs, own0, other0, layers = setup(model.value) if model.value else ("", [], None, None, [MEAN])
    intro(
        "XLM adds a language embedding to every token. Here the same tokens are read with their own language "
        "id and with another one (or none), and nothing else changes.",
        "whether the guesses switch to the other language's words, how far they move (KL, overlap), and in which "
        "layers attention changes most.",
    )
    note = gr.Markdown(note0)
    with gr.Row():
        text = gr.Textbox(
            label="Text with <mask>",
            value=examples.fill_mask(model.value).get(own0 or "en"),
            scale=3,
            max_length=limits.MAX_ATTENTION_CHARS,
            info=limits.text_info(
                limits.MAX_ATTENTION_CHARS,
                f"at most {limits.MAX_ATTENTION_WORDS} words, {limits.MAX_MASKS} masks",
            ),
        )
        with gr.Column(scale=1):
            lang = language_picker(langs, own0, "Its own language")
            other = gr.Dropdown(
                other_choices(langs),
                value=other0,
                label="Swap in",
                allow_custom_value=True,  # an unknown code gets the model's message listing its languages
                interactive=bool(langs),
            )
    with gr.Row():
        top_k = gr.Slider(1, limits.MAX_TOP_K, value=5, step=1, label="Top-k")
        layer = gr.Dropdown(layers, value=MEAN, label="Attention layer (mean = all layers)")
    run = gr.Button("Swap the language", variant="primary")
    moved = gr.Markdown(elem_id="swap-summary")
    bars = gr.Plot(label="Guesses side by side", elem_id="swap-bars")
    heat = gr.Plot(label="Attention side by side", elem_id="swap-heat")
    shift = gr.Plot(label="Attention shift per layer")
    frame = gr.Dataframe(label="Predictions side by side")
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    result = session_state()
    images_button(
        result, figures, "language_swap", "language_swap_images", "Export the charts as PNG and SVG"
    )

    run.click(
        _run,
        [text, lang, other, top_k, layer, model],
        [result, moved, bars, heat, shift, frame, files],
        api_name="language_swap",
        **HEAVY_WORK,
    )
    ready.change(_setup, ready, [note, lang, other, layer], api_name="language_swap_setup")
