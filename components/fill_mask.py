"""Fill-mask tab: the model's top-k guesses for each masked word, with a language selector and examples."""

from __future__ import annotations

import re
from typing import Any

import gradio as gr

from xlm.pipelines.inputs import MASK_ALIASES

from . import examples, limits, plots
from .common import (
    MODEL_WORK,
    example_language,
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
from .figure_export import images_button, keeping_figures
from .validation import Integer, Language, Model, Name, Text, at_most_masks, endpoint

TASK = "fill-mask"


# -- handlers (pure: plain values in, plain values and figures out) ------------------------------------------------
def predict(text: str, lang: str | None, top_k: float, model: str) -> dict[str, Any]:
    """Run fill-mask; return the raw predictions, one table row per guess, and the word spans of ``text``."""
    pipe = get_pipeline(TASK, model)
    at_most_masks([text], pipe.tokenizer.mask_token)
    result = pipe(text, top_k=int(top_k), lang=lang_or_none(lang))
    rows = [
        {
            "mask": n + 1,
            "rank": rank + 1,
            "token": g["token_str"],
            "score": round(g["score"], 4),
            "sequence": g["sequence"],
        }
        for n, guesses in enumerate(plots.masks_of(result))
        for rank, g in enumerate(guesses)
    ]
    return {
        "predictions": result,
        "rows": rows,
        "words": word_spans(pipe.tokenizer, text, lang_or_none(lang)),
    }


def word_spans(tokenizer: Any, text: str, lang: str | None) -> list[tuple[str, str]]:
    """(word, "start:end") for each word of ``text`` as the tokenizer splits it (BPE pieces joined into words);
    a mask, however written, is one word."""
    masks = "|".join(re.escape(m) for m in {*MASK_ALIASES, tokenizer.mask_token})
    spans: list[tuple[str, str]] = []
    last = 0
    for hit in [*re.finditer(masks, text), None]:
        end = hit.start() if hit else len(text)
        if text[last:end].strip():
            spans += _chunk_words(tokenizer, text, last, end, lang)
        if hit:
            spans.append((hit.group(), f"{hit.start()}:{hit.end()}"))
            last = hit.end()
    return spans


def _chunk_words(tokenizer: Any, text: str, begin: int, end: int, lang: str | None) -> list[tuple[str, str]]:
    enc = tokenizer(text[begin:end], lang=lang, add_special_tokens=False, return_offsets_mapping=True)
    ends = tokenizer.word_ends(tokenizer.convert_ids_to_tokens(enc["input_ids"]))
    spans, start = [], None
    for word_end, (a, b) in zip(ends, enc["offset_mapping"], strict=True):
        start = a if start is None else start
        if word_end:
            spans.append((text[begin + start : begin + b], f"{begin + start}:{begin + b}"))
            start = None
    return spans


def mask_span(text: str, span: str | None) -> str:
    """``text`` with the characters ``span`` ("start:end") replaced by ``<mask>``."""
    if not span:
        return text
    try:
        start, end = (int(x) for x in span.split(":"))
    except ValueError as err:
        raise gr.Error(f"Not a character span: {span!r} (expected start:end).") from err
    if not 0 <= start < end <= len(text):
        raise gr.Error(f"Span {span} is outside the text ({len(text)} characters).")
    return text[:start] + "<mask>" + text[end:]


def setup(model: str) -> tuple[str, list[str], str | None, list[tuple[str, str]]]:
    """What the tab shows for a model: a note, its languages, the default language, the example choices."""
    path, note = model_for(TASK, model)
    langs = list(read_info(path).languages)
    choices = [
        (f"{lang}: {s}", lang) for lang, s in examples.for_languages(examples.fill_mask(path), langs).items()
    ]
    return note, langs, first_language(langs), choices


# -- UI ----------------------------------------------------------------------------------------------------------
TEXT = Text("Text with <mask>", limits.MAX_TEXT_CHARS)


@endpoint(text=TEXT, lang=Language(), top_k=Integer("Top-k", 1, limits.MAX_TOP_K), model=Model())
def _run(text: str, lang: str | None, top_k: float, model: str):
    out = predict(text, lang, top_k, model)
    files = export("fill_mask", {"text": text, "lang": lang, "predictions": out["predictions"]}, out["rows"])
    figure = plots.mask_bars(out["predictions"])
    return figure, table(out["rows"]), files, gr.update(choices=out["words"], value=None)


@endpoint(model=Model())
def _setup(model: str):
    note, langs, lang, choices = setup(model)
    return note, language_update(langs, lang), gr.update(choices=choices, value=None)


@endpoint(lang=Language(), model=Name("Model", limits.MAX_MODEL_CHARS))
def _example(lang: str | None, model: str | None):
    if not lang:
        return gr.skip(), gr.skip()
    return examples.fill_mask(model).get(lang, ""), example_language(lang, model)


_mask_span = endpoint(text=TEXT, span=Name("Word"))(mask_span)


def build(model: gr.Dropdown, ready: gr.Textbox) -> dict[str, Any]:
    """The tab; returns the page-load event that answers its example, so a visitor arrives to an answer."""
    note0, langs, lang0, choices = setup(model.value) if model.value else ("", [], None, [])
    intro(
        "A masked language model guesses the word hidden behind `<mask>` from the words around it (`<mask>` is "
        "understood by XLM and XLM-R alike; XLM's own mask token is `<special1>`).",
        "how sure it is (bar length), whether the guesses fit the grammar, and how the language selector (XLM "
        "models) changes tokenisation and the guesses. Click a word below the chart to mask it instead.",
    )
    note = gr.Markdown(note0)
    with gr.Row():
        text = gr.Textbox(
            label="Text with <mask>",
            value=examples.fill_mask(model.value).get(lang0 or "en"),
            scale=4,
            rtl=False,
            max_length=limits.MAX_TEXT_CHARS,
            info=limits.text_info(limits.MAX_TEXT_CHARS, f"at most {limits.MAX_MASKS} masks"),
        )
        with gr.Column(scale=1):
            lang = language_picker(langs, lang0, "Language")
            top_k = gr.Slider(1, limits.MAX_TOP_K, value=5, step=1, label="Top-k")
    example = gr.Dropdown(choices, value=None, label="Examples (one per language of the model)")
    run = gr.Button("Predict", variant="primary")
    plot = gr.Plot(label="Top-k guesses per mask", elem_id="fill-mask-plot")
    words = gr.Radio([], label="Click a word to mask it", elem_id="fill-mask-words")
    table = gr.Dataframe(label="Predictions", wrap=True)
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    figures = session_state()
    images_button(figures, dict, "fill_mask", "fill_mask_images", "Export the chart as PNG and SVG")
    run_keeping = keeping_figures(_run, "guesses")

    example.input(_example, [example, model], [text, lang], api_name="fill_mask_example")
    run.click(
        run_keeping,
        [text, lang, top_k, model],
        [plot, table, files, words, figures],
        api_name="fill_mask",
        concurrency_id=MODEL_WORK,
    )
    text.submit(
        run_keeping,
        [text, lang, top_k, model],
        [plot, table, files, words, figures],
        api_name=False,
        concurrency_id=MODEL_WORK,
    )
    words.input(_mask_span, [text, words], text, api_name="mask_word").then(
        run_keeping,
        [text, lang, top_k, model],
        [plot, table, files, words, figures],
        api_name=False,
        concurrency_id=MODEL_WORK,
    )
    ready.change(_setup, ready, [note, lang, example], api_name="fill_mask_setup")
    return {
        "fn": run_keeping,
        "inputs": [text, lang, top_k, model],
        "outputs": [plot, table, files, words, figures],
        "api_name": False,
        "concurrency_id": MODEL_WORK,
    }
