"""Embedding map tab: sentences in several languages as points (PCA of mean-pooled states at one layer), each
meaning's translations joined by lines, and which sentence each one finds nearest in another language."""

from __future__ import annotations

from typing import Any

import gradio as gr
import plotly.graph_objects as go

from xlm.pipelines.inputs import MAX_SENTENCE_CHARS, MAX_SENTENCES

from . import limits, plots
from .common import HEAVY_WORK, export, get_pipeline, intro, model_for, read_info, session_state, table
from .figure_export import images_button
from .validation import Flag, Integer, Model, Text, endpoint

TASK = "embedding-map"
MAX_CHARS = 6_000  # the whole text: bounds one request with the sentence count and length of the pipeline
LIMITS = f"at most {MAX_SENTENCES} sentences of {MAX_SENTENCE_CHARS} characters, in at least two languages"
# The same four meanings in the languages the embedded models know (the example offers the model's own).
MEANINGS = [
    {
        "en": "The cat is sleeping on the sofa .",
        "fr": "Le chat dort sur le canapé .",
        "de": "Die Katze schläft auf dem Sofa .",
        "es": "El gato duerme en el sofá .",
        "it": "Il gatto dorme sul divano .",
        "pt": "O gato está dormindo no sofá .",
        "ru": "Кошка спит на диване .",
        "zh": "猫在沙发上睡觉。",
    },
    {
        "en": "I would like a cup of tea .",
        "fr": "Je voudrais une tasse de thé .",
        "de": "Ich hätte gern eine Tasse Tee .",
        "es": "Quisiera una taza de té .",
        "it": "Vorrei una tazza di tè .",
        "pt": "Eu queria uma xícara de chá .",
        "ru": "Я хотел бы чашку чая .",
        "zh": "我想要一杯茶。",
    },
    {
        "en": "The file could not be opened .",
        "fr": "Le fichier n'a pas pu être ouvert .",
        "de": "Die Datei konnte nicht geöffnet werden .",
        "es": "No se pudo abrir el archivo .",
        "it": "Impossibile aprire il file .",
        "pt": "Não foi possível abrir o arquivo .",
        "ru": "Не удалось открыть файл .",
        "zh": "无法打开文件。",
    },
    {
        "en": "The weather is nice today .",
        "fr": "Il fait beau aujourd'hui .",
        "de": "Das Wetter ist heute schön .",
        "es": "Hoy hace buen tiempo .",
        "it": "Oggi il tempo è bello .",
        "pt": "O tempo está bom hoje .",
        "ru": "Сегодня хорошая погода .",
        "zh": "今天天气很好。",
    },
]
COLOURS = ["#3b6fb6", "#e07b39", "#3a9a5b", "#c0392b", "#8e44ad", "#7f8c8d", "#d4ac0d", "#16a085"]


# -- handlers ----------------------------------------------------------------------------------------------------
def example_text(languages: tuple[str, ...] | list[str], limit: int = 4) -> str:
    """The example: the four meanings in up to ``limit`` of the model's languages (English first), one block each."""
    known = [lang for lang in MEANINGS[0] if not languages or lang in languages]
    chosen = sorted(known, key=lambda lang: lang != "en")[:limit]
    return "\n\n".join("\n".join(f"{lang} | {meaning[lang]}" for lang in chosen) for meaning in MEANINGS)


def draw(text: str, layer: int, special_tokens: bool, model: str) -> dict[str, Any]:
    """The pipeline's map of ``text`` at ``layer`` (the language is an input only where the model has language
    embeddings; elsewhere it only names the point)."""
    return get_pipeline(TASK, model)(text, layer=layer, special_tokens=special_tokens)


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The retrieval table: each sentence, the sentence nearest to it in another language, and whether that one is
    its translation (— where none is given)."""
    sentences = result["sentences"]
    marks = {True: "yes", False: "no", None: "—"}
    return [
        {
            "lang": sentences[n["index"]]["lang"],
            "sentence": sentences[n["index"]]["text"],
            "nearest in another language": sentences[n["nearest"]]["text"],
            "its lang": sentences[n["nearest"]]["lang"],
            "cosine": round(n["cosine"], 4),
            "translation?": marks[n["correct"]],
        }
        for n in result["neighbours"]
    ]


def summary(result: dict[str, Any]) -> str:
    """One line: the retrieval accuracy where translations are known, and what was pooled."""
    scored = [n for n in result["neighbours"] if n["correct"] is not None]
    pooled = "with" if result["special_tokens"] else "without"
    head = (
        f"**Nearest neighbour across languages is a translation for {sum(n['correct'] for n in scored)} of "
        f"{len(scored)} sentences ({result['accuracy']:.0%}).**"
        if scored
        else "**No translations given** (one sentence per block): the table lists nearest neighbours only."
    )
    return (
        f"{head} Layer {result['layer']} of {result['layers']} (0 = embeddings); mean over each sentence's "
        f"tokens, {pooled} the special tokens; cosine of the full vectors."
    )


def figure(result: dict[str, Any]) -> go.Figure:
    """The 2-D map: one colour per language, translations joined by grey lines, the sentence on hover."""
    points, sentences = result["points"], result["sentences"]
    fig = go.Figure()
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(sentences):
        groups.setdefault(s["group"], []).append(i)
    for members in groups.values():
        if len(members) > 1:
            fig.add_trace(
                go.Scatter(
                    x=[points[i][0] for i in members] + [points[members[0]][0]],
                    y=[points[i][1] for i in members] + [points[members[0]][1]],
                    mode="lines",
                    line={"color": "rgba(120,120,120,0.45)", "width": 1},
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
    langs = list(dict.fromkeys(s["lang"] for s in sentences))
    for n, lang in enumerate(langs):
        members = [i for i, s in enumerate(sentences) if s["lang"] == lang]
        fig.add_trace(
            go.Scatter(
                x=[points[i][0] for i in members],
                y=[points[i][1] for i in members],
                mode="markers+text",
                name=lang,
                marker={"size": 11, "color": COLOURS[n % len(COLOURS)]},
                text=[plots.safe(sentences[i]["text"], 18) for i in members],
                textposition="top center",
                hovertext=[plots.safe(sentences[i]["text"], 120) for i in members],
                hovertemplate=f"[{plots.safe(lang)}] %{{hovertext}}<extra></extra>",
            )
        )
    first, second = result["explained"]
    fig.update_xaxes(title_text=f"PC1 ({first:.0%} of the variance)", zeroline=False)
    fig.update_yaxes(title_text=f"PC2 ({second:.0%})", zeroline=False)
    fig.update_layout(
        title={"text": f"Sentences at layer {result['layer']} (PCA of mean-pooled states)", "x": 0.01},
        height=560,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend_title_text="language",
    )
    return fig


def layer_info(layers: int) -> str:
    return f"0 to {layers}; middle layers often align languages best."


def setup(model: str) -> tuple[str, int, str]:
    """For a model: its example text, its number of layers, and a note on what the language does there."""
    info = read_info(model_for(TASK, model)[0])
    note = (
        ""
        if info.language_embeddings
        else f"ℹ️ **{info.name}** has no language embeddings: the language at the start of a line only names the "
        "point; the model must recognise the language itself."
    )
    return example_text(info.languages), info.n_layers, note


# -- UI ----------------------------------------------------------------------------------------------------------
SENTENCES = Text("Sentences", MAX_CHARS)


@endpoint(
    text=SENTENCES,
    layer=Integer("Layer", 0, 1000),
    special_tokens=Flag("Count the special tokens"),
    model=Model(),
)
def _run(text: str, layer: int, special_tokens: bool, model: str):
    result = draw(text, layer, special_tokens, model)
    table_rows = rows(result)
    files = export("embedding_map", result, table_rows)
    return result, figure(result), summary(result), table(table_rows), files


@endpoint(model=Model())
def _setup(model: str):
    text, layers, note = setup(model)
    return text, gr.update(value=layers // 2 or layers, info=layer_info(layers)), note


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    text0, layers0, note0 = setup(model.value) if model.value else (example_text(()), 1, "")
    intro(
        "Each sentence becomes one point: the mean of its hidden states at one layer, projected to 2-D by PCA. "
        "A multilingual model that aligns languages puts translations close together.",
        "whether translations (joined by grey lines) cluster by meaning or the points cluster by language, and how "
        "that changes from the embeddings (layer 0) to the last layer; the table checks it in the full space.",
    )
    note = gr.Markdown(note0)
    result = session_state()
    with gr.Row():
        text = gr.Textbox(
            label="Sentences",
            value=text0,
            lines=10,
            scale=3,
            max_length=MAX_CHARS,
            info=limits.text_info(
                MAX_CHARS,
                f"one `lang | sentence` per line (a tab works too); a blank line between meanings; {LIMITS}",
            ),
        )
        with gr.Column(scale=1):
            layer = gr.Number(
                value=layers0 // 2 or layers0,
                minimum=0,
                precision=0,
                label="Layer (0 = embeddings)",
                info=layer_info(layers0),
            )
            special = gr.Checkbox(
                False, label="Count the special tokens", info="<s>, </s>: the same in every sentence"
            )
    run = gr.Button("Draw the map", variant="primary")
    shown = gr.Markdown(elem_id="map-summary")
    plot = gr.Plot(label="Sentences (PCA)", elem_id="map-plot")
    neighbours = gr.Dataframe(label="Nearest sentence in another language", wrap=True)
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")
    images_button(
        result,
        lambda r: {"map": figure(r)},
        "embedding_map",
        "embedding_map_images",
        "Export the map as PNG and SVG",
    )

    run.click(
        _run,
        [text, layer, special, model],
        [result, plot, shown, neighbours, files],
        api_name="embedding_map",
        **HEAVY_WORK,
    )
    ready.change(_setup, ready, [text, layer, note], api_name="embedding_map_setup")
