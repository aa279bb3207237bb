"""Tokenizer inspector: every preprocessing step from raw text to ids, with language ids and character offsets."""

from __future__ import annotations

from typing import Any

import gradio as gr

from . import examples, limits
from .common import (
    TEXT_WORK,
    export,
    first_language,
    get_pipeline,
    intro_text,
    lang_or_none,
    language_picker,
    language_update,
    read_info,
    table,
)
from .validation import Flag, Language, Model, Text, endpoint

# What each family's tokenizer does, and what to look for (keyed by whether the family has language embeddings).
HOW = {
    True: (
        "XLM's tokenizer normalises punctuation, splits words with language-specific rules (Moses; jieba for "
        "Chinese, PyThaiNLP for Thai), usually lower-cases and strips accents, then cuts words into BPE pieces.",
        "how the language changes the splitting (try Chinese or an apostrophe in French), which words break into "
        "several pieces (`</w>` ends a word), and the character span each token came from.",
    ),
    False: (
        "XLM-R's tokenizer has no language-specific rules: it normalises the text (NFKC), then SentencePiece cuts "
        "the raw text, spaces included, into pieces from one vocabulary shared by 100 languages.",
        "`▁` marking a piece that starts a word, how many pieces a word of each script takes, and the character "
        "span each token came from. The language is not an input.",
    ),
}


# -- handlers ----------------------------------------------------------------------------------------------------
def inspect_text(text: str, lang: str | None, add_special_tokens: bool, model: str) -> dict[str, Any]:
    """The tokenizer's own account of each step (``XLMTokenizer.explain``) plus one row per token."""
    tokenizer = get_pipeline("attention", model).tokenizer
    steps = tokenizer.explain(text, lang=lang_or_none(lang), add_special_tokens=bool(add_special_tokens))
    special = set(tokenizer.all_special_tokens) if hasattr(tokenizer, "all_special_tokens") else set()
    rows = [
        {
            "index": i,
            "token": token,
            "id": token_id,
            "lang id": steps["lang_id"],
            "special": token in special,
            "start": start,
            "end": end,
            "text": text[start:end],
        }
        for i, (token, token_id, (start, end)) in enumerate(
            zip(steps["tokens"], steps["ids"], steps["offsets"], strict=True)
        )
    ]
    specials = [
        {"role": role, "token": token, "id": tokenizer.convert_tokens_to_ids(token)}
        for role, token in tokenizer.special_tokens_map.items()
        if isinstance(token, str)
    ]
    return {"explain": steps, "rows": rows, "special_tokens": specials}


def token_pieces(text: str, rows: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """The text cut at token boundaries, each piece labelled with its token (for gr.HighlightedText)."""
    pieces, last = [], 0
    for row in rows:
        start, end = row["start"], row["end"]
        if end <= start or start < last:
            continue
        if start > last:
            pieces.append((text[last:start], None))
        pieces.append((text[start:end], f"{row['token']} ({row['id']})"))
        last = end
    if last < len(text):
        pieces.append((text[last:], None))
    return pieces


def steps_markdown(steps: dict[str, Any]) -> str:
    """The preprocessing steps as a numbered Markdown list."""
    language = (
        "No language input"
        if steps["lang_id"] is None and steps["lang"] is None
        else f"Language **{steps['lang'] or 'none'}** (language id {steps['lang_id']})"
    )
    head = (
        f"{language}, segmenter **{steps['segmenter']}**, lower-case and strip accents: "
        f"**{'yes' if steps['do_lowercase_and_remove_accent'] else 'no'}**."
    )
    lines = [head, ""]
    for n, step in enumerate(steps["steps"], start=1):
        output = step["output"]
        shown = " · ".join(output) if isinstance(output, list) else output
        lines.append(f'{n}. `{step["step"]}` → <span dir="auto">{_escape(shown)}</span>')
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def setup(model: str) -> tuple[str, list[str], str | None]:
    """The tab's introduction for the model's tokenizer, its languages and the default one."""
    info = read_info(model)
    langs = list(info.languages)
    return intro_text(*HOW[info.language_embeddings]), langs, first_language(langs, "fr")


# -- UI ----------------------------------------------------------------------------------------------------------
@endpoint(
    text=Text("Text", limits.MAX_TOKENIZE_CHARS),
    lang=Language(),
    add_special_tokens=Flag("Add special tokens"),
    model=Model(),
)
def _run(text, lang, add_special_tokens, model):
    out = inspect_text(text, lang, add_special_tokens, model)
    files = export("tokens", out, out["rows"])
    return (
        steps_markdown(out["explain"]),
        token_pieces(text, out["rows"]),
        table(out["rows"]),
        table(out["special_tokens"]),
        files,
    )


@endpoint(model=Model())
def _setup(model: str):
    how, langs, lang = setup(model)
    return how, language_update(langs, lang)


def build(model: gr.Dropdown, ready: gr.Textbox) -> None:
    how0, langs, lang0 = setup(model.value) if model.value else ("", [], None)
    how = gr.Markdown(how0 or intro_text(*HOW[True]))
    with gr.Row():
        text = gr.Textbox(
            label="Text",
            value="L'été dernier, j'ai visité New-York !",
            scale=3,
            max_length=limits.MAX_TOKENIZE_CHARS,
            info=limits.text_info(limits.MAX_TOKENIZE_CHARS),
        )
        with gr.Column(scale=1):
            lang = language_picker(langs, lang0, "Language")
            special = gr.Checkbox(value=True, label="Add special tokens (<s> or </s> at both ends)")
    shown = examples.for_languages(examples.FILL_MASK, langs)
    gr.Examples([[s, lang if langs else None] for lang, s in shown.items()][:8], [text, lang])
    run = gr.Button("Tokenize", variant="primary")
    steps = gr.Markdown(elem_id="tokenizer-steps")
    pieces = gr.HighlightedText(label="Tokens over the text", elem_id="tokenizer-pieces")
    table = gr.Dataframe(label="Tokens, ids, language id and character offsets")
    specials = gr.Dataframe(label="Special tokens")
    files = gr.File(label="Download (JSON, CSV)", file_count="multiple")

    run.click(
        _run,
        [text, lang, special, model],
        [steps, pieces, table, specials, files],
        api_name="tokenize",
        concurrency_id=TEXT_WORK,
    )
    ready.change(_setup, ready, [how, lang], api_name="tokenizer_setup")
