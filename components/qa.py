"""Question-answering tab: the answer span highlighted in the context, top-n spans with scores, both QA heads."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from xlm import pipelines

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
from .validation import Choice, Flag, Integer, Language, Model, Name, Text, endpoint

TASK = "question-answering"
HEADS = [("simple (start/end logits)", "simple"), ("beam (start/end beam search + answerability)", "beam")]


# -- handlers ----------------------------------------------------------------------------------------------------
def answer(
    context: str,
    question: str,
    lang: str | None,
    question_lang: str | None,
    head: str,
    top_k: float,
    allow_no_answer: bool,
    model: str,
) -> list[dict[str, Any]]:
    """The ``top_k`` best answers, best first: ``{"score", "start", "end", "answer"}`` (character spans)."""
    pipe = get_pipeline(TASK, model, head=head or None)
    result = pipe(
        {"question": question, "context": context},
        top_k=int(top_k),
        lang=lang_or_none(lang),
        question_lang=lang_or_none(question_lang) or lang_or_none(lang),
        handle_impossible_answer=bool(allow_no_answer),
    )
    return result if isinstance(result, list) else [result]


def highlight(context: str, answers: list[dict[str, Any]]) -> str:
    """The context as HTML with the best answer marked; ``dir="auto"`` lays out right-to-left scripts correctly."""
    best = answers[0] if answers else None
    if not best or best["end"] <= best["start"]:
        body = html.escape(context)
        verdict = "<p><b>No answer</b>: the model thinks the context does not answer the question.</p>"
    else:
        a, b = best["start"], best["end"]
        body = (
            html.escape(context[:a])
            + f'<mark class="qa-answer" title="score {best["score"]:.3f}">{html.escape(context[a:b])}</mark>'
            + html.escape(context[b:])
        )
        verdict = f'<p dir="auto"><b>Answer:</b> <bdi>{html.escape(best["answer"])}</bdi> (score {best["score"]:.3f})</p>'
    return f'{verdict}<div class="qa-context" dir="auto">{body}</div>'


def head_warning(model: str, head: str) -> str:
    """A warning when the chosen head is not the one the checkpoint was trained with (it is then random)."""
    path, _ = model_for(TASK, model)
    info = read_info(path)
    wanted = pipelines.QuestionAnsweringPipeline.heads.get(head or "simple")
    if wanted in info.roles:
        return ""
    return (
        f'<p class="qa-warning">⚠️ {html.escape(info.name)} has no trained {html.escape(head)} head '
        f"(it holds {html.escape(info.architectures[0])}): this head is randomly initialised.</p>"
    )


def setup(model: str) -> tuple[str, list[str], str | None, list[tuple[str, str]]]:
    path, note = model_for(TASK, model)
    langs = list(read_info(path).languages)
    choices = [
        (f"{lang}: {q}", lang)
        for lang, (_, q) in examples.for_languages(examples.QUESTION_ANSWERING, langs).items()
    ]
    return note, langs, first_language(langs), choices


# -- UI ----------------------------------------------------------------------------------------------------------
@endpoint(
    context=Text("Context", limits.MAX_CONTEXT_CHARS),
    question=Text("Question", limits.MAX_TEXT_CHARS),
    lang=Language("Context language"),
    question_lang=Language("Question language"),
    head=Choice("QA head", [value for _, value in HEADS]),
    top_k=Integer("Answers to show", 1, limits.MAX_ANSWERS),
    allow_no_answer=Flag("Allow 'no answer'"),
    model=Model(),
)
def _run(context, question, lang, question_lang, head, top_k, allow_no_answer, model):
    answers = answer(context, question, lang, question_lang, head, top_k, allow_no_answer, model)
    rows = [{"rank": n + 1, **a, "score": round(a["score"], 4)} for n, a in enumerate(answers)]
    labels = [
        {"label": f"{n + 1}. {a['answer'] or '(no answer)'}", "score": a["score"]}
        for n, a in enumerate(answers)
    ]
    files = export("question_answering", {"question": question, "context": context, "answers": answers}, rows)
    return (
        head_warning(model, head) + highlight(context, answers),
        plots.label_bars(labels, "Best answer spans"),
        table(rows),
        files,
    )


@endpoint(model=Model())
def _setup(model: str):
    note, langs, lang, choices = setup(model)
    return (
        note,
        language_update(langs, lang),
        language_update(langs, lang),
        gr.update(choices=choices),
    )


@endpoint(lang=Language(), model=Name("Model", limits.MAX_MODEL_CHARS))
def _example(lang: str | None, model: str | None):
    if lang not in examples.QUESTION_ANSWERING:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    context, question = examples.QUESTION_ANSWERING[lang]
    shown = example_language(lang, model_for(TASK, model)[0] if model else None)
    return context, question, shown, shown


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    note0, langs, lang0, choices = setup(model.value) if model.value else ("", [], None, [])
    context0, question0 = examples.QUESTION_ANSWERING["en"]
    intro(
        "Extractive question answering: the model scores every context token as the start and the end of the "
        "answer, and the best (start, end) pair is the answer span.",
        "the highlighted span, how close the runner-up spans score, a question in another language than the "
        "context (cross-lingual transfer), and the two heads (simple vs. beam) disagreeing.",
    )
    note = gr.Markdown(note0)
    example = gr.Dropdown(choices, value=None, label="Examples")
    with gr.Row():
        context = gr.Textbox(
            label="Context",
            value=context0,
            lines=5,
            scale=3,
            max_length=limits.MAX_CONTEXT_CHARS,
            info=limits.text_info(limits.MAX_CONTEXT_CHARS),
        )
        with gr.Column(scale=2):
            question = gr.Textbox(label="Question", value=question0, max_length=limits.MAX_TEXT_CHARS)
            with gr.Row():
                lang = language_picker(langs, lang0, "Context language")
                question_lang = language_picker(langs, lang0, "Question language")
            head = gr.Radio(HEADS, value="simple", label="QA head")
            with gr.Row():
                top_k = gr.Slider(1, limits.MAX_ANSWERS, value=3, step=1, label="Answers to show")
                allow_none = gr.Checkbox(value=False, label="Allow 'no answer'")
    run = gr.Button("Answer", variant="primary")
    shown = gr.HTML(elem_id="qa-answer")
    plot = gr.Plot(label="Scores of the best spans")
    table = gr.Dataframe(label="Answer spans (character offsets in the context)")
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    figures = session_state()
    images_button(figures, dict, "qa", "answer_images", "Export the chart as PNG and SVG")
    run_keeping = keeping_figures(_run, "spans")

    inputs = [context, question, lang, question_lang, head, top_k, allow_none, model]
    example.input(_example, [example, model], [context, question, lang, question_lang], api_name="qa_example")
    outputs = [shown, plot, table, files, figures]
    run.click(run_keeping, inputs, outputs, api_name="answer", concurrency_id=MODEL_WORK)
    question.submit(run_keeping, inputs, outputs, api_name=False, concurrency_id=MODEL_WORK)
    ready.change(_setup, ready, [note, lang, question_lang, example], api_name="qa_setup")
