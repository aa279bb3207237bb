"""Saliency tab: which tokens a prediction rests on (gradient × input and attention rollout, over the tokens), for a
fill-mask guess, a question-answering span or a class; any of the model's top answers can be explained."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import gradio as gr
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xlm.pipelines.inputs import MAX_SALIENCY_CHARS

from . import examples, limits, plots
from .common import (
    HEAVY_WORK,
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
from .validation import Choice, Integer, Language, Model, Text, endpoint

TOP_CHOICES = 5  # answers offered for explanation
TARGETS = {
    "Fill-mask guess": "fill-mask",
    "Question-answering span": "question-answering",
    "Class (text classification)": "text-classification",
}
WHAT = {
    "fill-mask": "log-probability of the guess {label!r} at the mask",
    "question-answering": "start logit + end logit of the span {label!r}",
    "text-classification": "logit of the class {label!r}",
}
POSITIVE, NEGATIVE, ROLLOUT, PREDICTING = "#3b6fb6", "#c0392b", "#3a9a5b", "#e07b39"


# -- handlers ----------------------------------------------------------------------------------------------------
def example(target: str, lang: str | None) -> tuple[str, str]:
    """The example (text, question) of a target in ``lang`` (English where there is none)."""
    if target == "question-answering":
        return examples.QUESTION_ANSWERING.get(lang or "en", examples.QUESTION_ANSWERING["en"])
    text = examples.FILL_MASK.get(lang or "en", examples.FILL_MASK["en"])
    return (text if target == "fill-mask" else text.replace("<mask>", "sofa")), ""


def explain(
    target: str, text: str, question: str, lang: str | None, choice: int, model: str
) -> dict[str, Any]:
    """The saliency of the model's ``choice``-th answer (0: its best) for ``text`` (the context, for QA)."""
    path, note = model_for(target, model)  # a model with a trained head for the target, where there is one
    pipe = get_pipeline("saliency", path, target=target)
    item: Any = {"question": question, "context": text} if target == "question-answering" else text
    result = pipe(item, choice=choice, top_k=TOP_CHOICES, lang=lang_or_none(lang))
    return {**result, "note": note, "what": WHAT[target].format(label=result["explained"])}


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per token: its gradient × input and its share of the rollout."""
    predicting = set(result["positions"])
    return [
        {
            "position": i,
            "token": token,
            "gradient × input": round(g, 5),
            "rollout": round(r, 5),
            "predicting": "yes" if i in predicting else "",
        }
        for i, (token, g, r) in enumerate(
            zip(result["tokens"], result["gradient_x_input"], result["rollout"], strict=True)
        )
    ]


def figure(result: dict[str, Any]) -> go.Figure:
    """Two rows of bars over the tokens: gradient × input (signed) and the rollout at the predicting position."""
    labels = [plots.safe(label) for label in plots.token_labels(result["tokens"])]
    gxi, predicting = result["gradient_x_input"], set(result["positions"])
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[
            "Gradient × input (blue: raises the score, red: lowers it)",
            "Attention rollout: how much of each token reaches the predicting position (orange)",
        ],
    )
    fig.add_trace(
        go.Bar(
            x=labels,
            y=gxi,
            marker_color=[POSITIVE if g >= 0 else NEGATIVE for g in gxi],
            hovertemplate="%{x}: %{y:.4f}<extra>gradient × input</extra>",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=labels,
            y=result["rollout"],
            marker_color=[PREDICTING if i in predicting else ROLLOUT for i in range(len(labels))],
            hovertemplate="%{x}: %{y:.4f}<extra>rollout</extra>",
            showlegend=False,
        ),
        row=2,
        col=1,
    )
    fig.update_xaxes(tickangle=-60, row=2, col=1)
    fig.update_layout(
        title={"text": f"What the {plots.safe(result['what'])} rests on", "x": 0.01},
        height=620,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
    )
    return fig


def token_html(result: dict[str, Any]) -> str:
    """The text's tokens twice, shaded by each measure (gradient × input: blue up, red down; rollout: green),
    the predicting positions underlined: the reading a teacher points at."""
    gxi, rollout = result["gradient_x_input"], result["rollout"]
    top_g, top_r = max(map(abs, gxi)) or 1.0, max(rollout) or 1.0
    predicting = set(result["positions"])

    def line(title: str, values: list[float], shade: Callable[[float], str]) -> str:
        spans = "".join(
            f'<span class="sal-token" title="{i}: {v:.4f}" style="background:{shade(v)};'
            f'{"text-decoration:underline;" if i in predicting else ""}">{html.escape(token)}</span> '
            for i, (token, v) in enumerate(zip(result["tokens"], values, strict=True))
        )
        return f"<p><b>{title}</b><br>{spans}</p>"

    def signed(v: float) -> str:
        return f"rgba(59,111,182,{v / top_g:.3f})" if v >= 0 else f"rgba(192,57,43,{-v / top_g:.3f})"

    return line("Gradient × input", gxi, signed) + line(
        "Attention rollout", rollout, lambda v: f"rgba(58,154,91,{v / top_r:.3f})"
    )


def choice_update(result: dict[str, Any]) -> dict[str, Any]:
    """The answers one may explain instead, with their scores (probability, or logit sum for QA spans)."""
    choices = [
        (f"{rank + 1}. {c['label'] or '∅'} ({c['score']:.3g})", rank)
        for rank, c in enumerate(result["choices"])
    ]
    return gr.update(choices=choices, value=result["choice"])


def setup(target: str, model: str) -> tuple[str, list[str], str | None]:
    """For a target and the picked model: a note (which model serves it), its languages, the default language."""
    path, note = model_for(target, model)
    langs = list(read_info(path).languages)
    return note, langs, first_language(langs)


# -- UI ----------------------------------------------------------------------------------------------------------
TARGET = Choice("Explain", list(TARGETS))
TEXT = Text("Text", MAX_SALIENCY_CHARS)
QUESTION = Text("Question", limits.MAX_TEXT_CHARS, required=False)
CHOICE = Integer("Answer to explain", 0, TOP_CHOICES - 1, allow_none=True)


@endpoint(target=TARGET, text=TEXT, question=QUESTION, lang=Language(), model=Model())
def _run(target: str, text: str, question: str, lang: str | None, model: str):
    return _run_choice(target, text, question, lang, 0, model)


@endpoint(target=TARGET, text=TEXT, question=QUESTION, lang=Language(), choice=CHOICE, model=Model())
def _run_choice(target: str, text: str, question: str, lang: str | None, choice: int | None, model: str):
    result = explain(TARGETS[target], text, question, lang, choice or 0, model)
    table_rows = rows(result)
    files = export("saliency", {k: v for k, v in result.items() if k != "rollout_matrix"}, table_rows)
    summary = f"{result['note']}\n\nExplaining the **{result['what']}** (score {result['objective']:.4g})."
    return (
        result,
        figure(result),
        summary.strip(),
        table(table_rows),
        files,
        choice_update(result),
        token_html(result),
    )


@endpoint(target=TARGET, model=Model())
def _setup(target: str, model: str):
    note, langs, lang = setup(TARGETS[target], model)
    text, question = example(TARGETS[target], lang)
    return (
        note,
        language_update(langs, lang),
        text,
        gr.update(value=question, visible=TARGETS[target] == "question-answering"),
        gr.update(choices=[], value=None),
    )


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    target0 = next(iter(TARGETS))
    note0, langs, lang0 = setup(TARGETS[target0], model.value) if model.value else ("", [], None)
    intro(
        "Saliency: which input tokens a prediction rests on. Gradient × input asks how the score would move if a "
        "token's embedding grew; attention rollout follows the attention, layer after layer, back to the input.",
        "whether the two measures agree, which words the guess, answer or class depends on, and how it changes "
        "when you explain the second or third answer instead of the first.",
    )
    note = gr.Markdown(note0)
    result = session_state()
    with gr.Row():
        target = gr.Radio(list(TARGETS), value=target0, label="Explain", scale=3)
        lang = language_picker(langs, lang0, "Language", scale=1)
    text = gr.Textbox(
        label="Text",
        value=example(TARGETS[target0], lang0)[0],
        info=limits.text_info(MAX_SALIENCY_CHARS, "fill-mask: exactly one <mask>; QA: the context"),
        max_length=MAX_SALIENCY_CHARS,
        lines=2,
    )
    question = gr.Textbox(label="Question", visible=False, max_length=limits.MAX_TEXT_CHARS)
    with gr.Row():
        run = gr.Button("Explain", variant="primary", scale=3)
        choice = gr.Dropdown(
            [], value=None, label="Answer to explain", info=f"one of the top {TOP_CHOICES}", scale=2
        )
    shown = gr.Markdown(elem_id="saliency-summary")
    marked = gr.HTML(elem_id="saliency-tokens")
    plot = gr.Plot(label="Saliency over the tokens", elem_id="saliency-plot")
    per_token = gr.Dataframe(label="Per token", wrap=True)
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    images_button(result, lambda r: {"tokens": figure(r)}, "saliency", "saliency_images")

    outputs = [result, plot, shown, per_token, files, choice, marked]
    run.click(_run, [target, text, question, lang, model], outputs, api_name="saliency", **HEAVY_WORK)
    choice.input(
        _run_choice,
        [target, text, question, lang, choice, model],
        outputs,
        api_name="saliency_choice",
        **HEAVY_WORK,
    )
    target.input(_setup, [target, model], [note, lang, text, question, choice], api_name="saliency_target")
    ready.change(_setup, [target, ready], [note, lang, text, question, choice], api_name="saliency_setup")
