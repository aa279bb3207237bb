"""The shared model picker and the Model tab (load a local folder or a Hub id, show what the checkpoint holds)."""

from __future__ import annotations

import json
import os
from typing import Any

import gradio as gr
import pandas as pd

from xlm.cli import describe

from . import catalogue, limits, load_policy
from .common import (
    LOADING_WORK,
    default_model,
    discover,
    folder_of,
    get_pipeline,
    intro,
    model_choices,
    read_info,
    refuse,
    without_paths,
)
from .validation import Name, endpoint

PATH = Name("Model", limits.MAX_MODEL_CHARS)

NO_MODEL = "No model yet: type a local folder or a Hub id above and press Load (assets/ holds no model)."


# -- handlers ----------------------------------------------------------------------------------------------------
def load(path: str, progress: Any = None) -> dict[str, Any]:
    """Describe a checkpoint and load it through the model cache (its own architecture), with warnings."""
    path = (path or "").strip()
    if not path:
        raise refuse("Type a local model folder or a Hub id (e.g. FacebookAI/xlm-mlm-enfr-1024).")
    step = progress or (lambda *a, **k: None)
    step(0.1, desc="Reading the checkpoint")
    info = describe(os.fspath(folder_of(path)))
    info["model"] = path  # as the user named it: a Hub snapshot's or an embedded model's folder stays private
    del info["folder"]
    step(0.4, desc="Loading the model (first time only; it is cached afterwards)")
    loaded = get_pipeline("attention", path).loaded
    warnings = list(loaded.report.warnings)
    trained = info["trained_heads"]
    if not trained:
        warnings.append("No trained head: only the encoder is useful (attention, tokenizer, features).")
    step(1.0, desc="Ready")
    info = {
        **info,
        "device": str(loaded.device),
        "precision": loaded.precision,
        "notes": list(loaded.notes),
        "warnings": warnings,
    }
    return redacted(json.loads(json.dumps(info)))  # JSON-safe (integer keys of id2lang become strings)


def redacted(value: Any) -> Any:
    """``value`` (JSON data) with every absolute path in its strings shortened to its last part, and the config's
    private entries (``_name_or_path``, ...) left out: the page shows no server path."""
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return without_paths(value) if isinstance(value, str) else value


def summary(info: dict[str, Any]) -> str:
    """A short Markdown card of a described checkpoint."""
    shape = info["shape"]
    kind = "causal (CLM)" if shape["causal"] else "bidirectional (MLM/TLM)"
    lines = [
        f"### {info['model']}",
        f"- **Architecture:** {', '.join(info['architectures'] or ['unknown'])} ({info['family']}) — {kind}",
        f"- **Size:** {info['parameters'] / 1e6:.2f} M parameters ({info['dtype']} on disk; running on "
        f"{info['device']} in {info['precision']})",
        f"- **Shape:** {shape['layers']} layers, dim {shape['hidden_size']}, {shape['heads']} heads, "
        f"vocabulary {shape['vocab_size']}, up to {shape['max_tokens']} tokens",
        f"- **Languages:** {', '.join(info['languages']) or 'not an input (no language embeddings)'}",
        f"- **Trained heads:** {', '.join(info['trained_heads']) or 'none'}",
    ]
    lines += [f"- {note}" for note in info["notes"]]
    lines += [f"- ⚠️ {w}" for w in info["warnings"]]
    return "\n".join(lines)


def fetch(path: str) -> tuple[str, str]:
    """Make a picked checkpoint available: an official one is checked for memory and downloaded (first use only;
    Gradio's progress bar follows the download). Returns ``path``, which tells every tab to set itself up, and a
    status line."""
    path = (path or "").strip()
    if not path:
        raise refuse("Pick a model, or type a local folder or a Hub id.")
    return path, status(path)


def status(path: str | None) -> str:
    """The line under the picker: which model every tab uses."""
    if not path:
        return NO_MODEL
    info = read_info(path)
    return f"Every tab uses **{info.name}** ({info.family}, {info.architectures[0]})."


def embedded() -> pd.DataFrame:
    """One row per embedded model: what the picker offers."""
    return pd.DataFrame(
        [
            {
                "model": m.name,
                "architecture": m.architectures[0],
                "kind": "causal" if m.causal else "bidirectional",
                "layers": m.n_layers,
                "languages": ", ".join(m.languages) or "one",
            }
            for m in discover()
        ]
    )


# -- UI ----------------------------------------------------------------------------------------------------------
def picker() -> gr.Dropdown:
    """The model picker shared by every tab (the embedded default first; any folder or Hub id may be typed)."""
    return gr.Dropdown(
        model_choices(),
        value=default_model(),
        label="Model (shared by all tabs: an embedded model, an official checkpoint, a local folder or a Hub id)",
        allow_custom_value=True,
        elem_id="model-picker",
        info=load_policy.note(),
    )


@endpoint(path=PATH)
def _load(path: str, progress=gr.Progress()):  # noqa: B008 (how Gradio injects progress)
    info = load(path, progress)
    choices = model_choices()
    if path not in {value for _, value in choices}:
        choices.append((path, path))
    return summary(info), info, gr.update(choices=choices, value=path)


@endpoint(path=PATH)
def _fetch(path: str, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (how Gradio injects progress)
    progress(0, desc="Fetching the checkpoint (official ones are downloaded on first use)")
    return fetch(path)


@endpoint(path=PATH)
def _describe(path: str, progress=gr.Progress()):  # noqa: B008 (how Gradio injects progress)
    if not path:
        return NO_MODEL, {}
    info = load(path, progress)
    return summary(info), info


def ready_signal(model: gr.Dropdown) -> gr.Textbox:
    """A hidden copy of the picked model that changes only once the model is available (fetched, downloaded, or
    refused with a message): the tabs set themselves up when it changes, so a refusal shows once. The status line
    under the picker carries the download's progress bar."""
    shown = gr.Markdown(status(model.value), elem_id="model-status")
    ready = gr.Textbox(model.value, visible=False)
    model.change(_fetch, model, [ready, shown], api_name="fetch_model", **LOADING_WORK)
    return ready


def build(model: gr.Dropdown, ready: gr.Textbox) -> tuple[gr.Markdown, gr.JSON]:
    """The Model tab; returns its card and details, which the app fills on page load."""
    intro(
        "A checkpoint is a folder (or Hub repo) with config.json, weights and tokenizer files; the same encoder "
        "can carry different task heads.",
        "the languages it knows, its size, and warnings about heads that are not in the checkpoint (randomly "
        "initialised, hence meaningless until fine-tuned).",
    )
    with gr.Row():
        path = gr.Textbox(
            label="Local folder or Hub id",
            value=model.value or "",
            scale=4,
            max_length=limits.MAX_MODEL_CHARS,
            info=load_policy.note(),
        )
        load_button = gr.Button("Load and use in every tab", variant="primary", scale=1)
    card = gr.Markdown(elem_id="model-card")
    gr.Dataframe(embedded(), label="Embedded models (assets/)", interactive=False)
    gr.Dataframe(
        pd.DataFrame(catalogue.rows()),
        label=f"Official checkpoints (downloaded on first use; memory: float32 weights + {catalogue.MARGIN:.0%})",
        interactive=False,
    )
    details = gr.JSON(label="Configuration and details")

    load_button.click(_load, path, [card, details, model], api_name="load_model", **LOADING_WORK)
    ready.change(_describe, ready, [card, details], api_name="describe_model", **LOADING_WORK)
    return card, details
