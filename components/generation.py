"""Generation tab: continue a prompt token by token, streamed, greedy or sampled."""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr

from . import examples, limits
from .common import (
    HEAVY_WORK,
    discover,
    first_language,
    get_pipeline,
    intro,
    lang_or_none,
    language_picker,
    language_update,
    model_for,
    read_info,
)
from .validation import Flag, Integer, Language, Model, Number, Text, endpoint

TASK = "text-generation"
EMPTY = "(nothing: the model's first choice was the end of the sentence; try sampling)"
MLM_NOTE = (
    "⚠️ **{name}** is a masked (bidirectional) language model, not a real left-to-right LM: each new word is "
    "guessed by appending a mask to the text and re-reading everything, which it was never trained to do. "
    "Expect repetition and odd text; a causal (CLM) model generates properly."
)


# -- handlers ----------------------------------------------------------------------------------------------------
def stream(
    prompt: str,
    lang: str | None,
    max_new_tokens: float,
    do_sample: bool,
    temperature: float,
    top_k: float,
    top_p: float,
    seed: float | None,
    model: str,
) -> Iterator[str]:
    """Yield the growing continuation of ``prompt`` (the whole text so far each time)."""
    pipe = get_pipeline(TASK, model)
    text = ""
    for piece in pipe.stream(
        prompt,
        max_new_tokens=int(max_new_tokens),
        lang=lang_or_none(lang),
        do_sample=bool(do_sample),
        temperature=float(temperature),
        top_k=int(top_k),
        top_p=float(top_p),
        seed=None if seed is None or seed < 0 else int(seed),
    ):
        text += piece
        yield text
    if not text:
        yield EMPTY


def setup(model: str) -> tuple[str, list[str], str | None]:
    path, note = model_for(TASK, model)
    info = read_info(path)
    if not info.causal:
        note += "\n\n" + MLM_NOTE.format(name=info.name)
        causal = [m.name for m in discover() if m.causal and m.serves(TASK)]
        if causal:
            note += f" Pick **{causal[0]}** at the top for real generation."
    langs = list(info.languages)
    return note.strip(), langs, first_language(langs)


# -- UI ----------------------------------------------------------------------------------------------------------
_stream = endpoint(
    prompt=Text("Prompt", limits.MAX_TEXT_CHARS),
    lang=Language(),
    max_new_tokens=Integer("New tokens", 1, limits.MAX_NEW_TOKENS),
    do_sample=Flag("Sample"),
    temperature=Number("Temperature", 0.01, limits.MAX_TEMPERATURE),
    top_k=Integer("Top-k", 0, 1000),
    top_p=Number("Top-p", 0.01, 1.0),
    seed=Integer("Seed", -1, limits.MAX_SEED, allow_none=True),
    model=Model(),
)(stream)


@endpoint(model=Model())
def _setup(model: str):
    note, langs, lang = setup(model)
    return note, language_update(langs, lang)


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    note0, langs, lang0 = setup(model.value) if model.value else ("", [], None)
    intro(
        "A causal language model writes one token at a time, each chosen from its prediction given the text so far.",
        "greedy decoding repeating itself, and how temperature, top-k and top-p trade safe text for variety "
        "(a fixed seed makes sampling repeatable).",
    )
    note = gr.Markdown(note0)
    with gr.Row():
        prompt = gr.Textbox(
            label="Prompt",
            value=examples.GENERATION.get(lang0 or "en", ""),
            scale=4,
            max_length=limits.MAX_TEXT_CHARS,
            info=limits.text_info(limits.MAX_TEXT_CHARS),
        )
        lang = language_picker(langs, lang0, "Language", scale=1)
    with gr.Row():
        max_new = gr.Slider(1, limits.MAX_NEW_TOKENS, value=24, step=1, label="New tokens")
        do_sample = gr.Checkbox(value=False, label="Sample (otherwise greedy)")
        temperature = gr.Slider(0.1, 2.0, value=0.8, step=0.05, label="Temperature")
        top_k = gr.Slider(0, 100, value=40, step=1, label="Top-k (0 = off)")
        top_p = gr.Slider(0.05, 1.0, value=0.95, step=0.05, label="Top-p")
        seed = gr.Number(
            value=0, precision=0, minimum=-1, maximum=limits.MAX_SEED, label="Seed (-1 = random)"
        )
    with gr.Row():
        run = gr.Button("Generate", variant="primary")
        stop = gr.Button("Stop")
    output = gr.Textbox(label="Continuation (streamed)", lines=4, elem_id="generation-output")

    event = run.click(
        _stream,
        [prompt, lang, max_new, do_sample, temperature, top_k, top_p, seed, model],
        output,
        api_name="generate",
        **HEAVY_WORK,
    )
    stop.click(None, None, None, cancels=[event])
    ready.change(_setup, ready, [note, lang], api_name="generation_setup")
