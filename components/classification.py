"""Classification tab: a label for the whole text (e.g. its language) and a label per word (its part of speech
with the embedded tagger, or an entity type with an NER model)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from . import limits
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
    table,
)
from .validation import Choice, Language, Model, Text, endpoint

# "first" (the default): a word's label is its first sub-word's, as taggers (the embedded one included) are
# trained; "simple" can cut a word in two where its sub-words disagree.
AGGREGATIONS = ["first", "simple", "average", "max", "none"]
EXAMPLE_TEXT = "Angela Merkel a rencontré Emmanuel Macron à Paris ."


# -- handlers ----------------------------------------------------------------------------------------------------
def classify(text: str, lang: str | None, model: str) -> list[dict[str, Any]]:
    """Every label with its score, best first."""
    return get_pipeline("text-classification", model)(text, top_k=None, lang=lang_or_none(lang))


def tag(text: str, lang: str | None, aggregation: str, model: str) -> list[dict[str, Any]]:
    """Entities (or tagged tokens with aggregation "none"), each with its character span in ``text``."""
    return get_pipeline("token-classification", model)(
        text, aggregation_strategy=aggregation, lang=lang_or_none(lang)
    )


def entity_spans(text: str, entities: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """``text`` cut into (piece, label or None) for gr.HighlightedText."""
    pieces, last = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < last:
            continue  # overlapping spans (aggregation "none" on sub-words) keep the first
        if e["start"] > last:
            pieces.append((text[last : e["start"]], None))
        pieces.append((text[e["start"] : e["end"]], e.get("entity_group") or e.get("entity")))
        last = e["end"]
    if last < len(text):
        pieces.append((text[last:], None))
    return pieces


def setup(model: str) -> tuple[str, list[str], str | None]:
    notes, langs = [], []
    for task in ("text-classification", "token-classification"):
        path, note = model_for(task, model)
        notes.append(note)
        langs = langs or list(read_info(path).languages)
    return "  \n".join(n for n in notes if n), langs, first_language(langs, "fr")


# -- UI ----------------------------------------------------------------------------------------------------------
TEXT = Text("Text", limits.MAX_TEXT_CHARS)
LANGUAGE = Language("Language (tokenisation)")


@endpoint(text=TEXT, lang=LANGUAGE, model=Model())
def _classify(text, lang, model):
    scores = classify(text, lang, model)
    files = export("text_classification", {"text": text, "scores": scores}, scores)
    return {s["label"]: s["score"] for s in scores}, files


@endpoint(text=TEXT, lang=LANGUAGE, aggregation=Choice("Aggregation strategy", AGGREGATIONS), model=Model())
def _tag(text, lang, aggregation, model):
    entities = tag(text, lang, aggregation, model)
    rows = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in e.items()} for e in entities]
    files = export("token_classification", {"text": text, "entities": entities}, rows)
    return entity_spans(text, entities), table(rows), files


@endpoint(model=Model())
def _setup(model: str):
    note, langs, lang = setup(model)
    return note, language_update(langs, lang)


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    note0, langs, lang0 = setup(model.value) if model.value else ("", [], None)
    intro(
        "A classification head reads the model's summary of the whole text (sequence classification) or of each "
        "token (token classification) and scores every label.",
        "how confident the text label is, and which label each word gets: its part of speech with the embedded "
        "tagger, an entity type with an NER model (sub-words are merged into words by the aggregation strategy; "
        "neighbours with the same label are shown as one span).",
    )
    note = gr.Markdown(note0)
    with gr.Row():
        text = gr.Textbox(
            label="Text",
            value=EXAMPLE_TEXT,
            scale=4,
            max_length=limits.MAX_TEXT_CHARS,
            info=limits.text_info(limits.MAX_TEXT_CHARS),
        )
        lang = language_picker(langs, lang0, "Language (tokenisation)", scale=1)
    with gr.Row():
        with gr.Column():
            run_clf = gr.Button("Classify the text", variant="primary")
            label = gr.Label(label="Label scores", elem_id="clf-label")
            clf_files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
        with gr.Column():
            aggregation = gr.Dropdown(AGGREGATIONS, value=AGGREGATIONS[0], label="Aggregation strategy")
            run_tag = gr.Button("Tag the words", variant="primary")
            entities = gr.HighlightedText(label="Word labels", elem_id="ner-output")
            table = gr.Dataframe(label="Labelled spans with their characters")
            tag_files = gr.File(label="Download (JSON, CSV)", file_count="multiple")

    run_clf.click(
        _classify,
        [text, lang, model],
        [label, clf_files],
        api_name="classify",
        concurrency_id=MODEL_WORK,
    )
    run_tag.click(
        _tag,
        [text, lang, aggregation, model],
        [entities, table, tag_files],
        api_name="tag",
        concurrency_id=MODEL_WORK,
    )
    ready.change(_setup, ready, [note, lang], api_name="classification_setup")
