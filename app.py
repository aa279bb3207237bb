"""XLM Explorer: a Gradio app over the xlm pipelines (``python app.py``; Hugging Face Spaces ready).

Binds 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise. The default model is the
first embedded one in assets/, or $XLM_EXPLORER_MODEL; the picker also offers the official XLM and XLM-R
checkpoints (components/catalogue.py), downloaded on first use.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr

from components import (
    attention,
    classification,
    common,
    compare,
    cross_lingual,
    embedding_map,
    fill_mask,
    generation,
    language_swap,
    logit_lens,
    model_info,
    qa,
    saliency,
    tokenizer,
    validation,
    zerogpu,
)

TITLE = "XLM Explorer"
CONCURRENCY = int(os.environ.get("XLM_EXPLORER_CONCURRENCY", "2"))  # model calls at once (CPU-bound work)
QUEUE_SIZE = int(os.environ.get("XLM_EXPLORER_QUEUE", "64"))  # requests waiting beyond that are refused
# System fonts: the app works offline (no font download from a CDN).
THEME = gr.themes.Soft(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
)
CSS = """
.qa-context { line-height: 1.7; font-size: 1.05em; }
mark.qa-answer { background: #ffd54f; padding: 0 2px; border-radius: 3px; }
"""
TABS = [
    ("Fill-mask", fill_mask),
    ("Cross-lingual (TLM)", cross_lingual),
    ("Generation", generation),
    ("Question answering", qa),
    ("Classification", classification),
    ("Attention", attention),
    ("Tokenizer", tokenizer),
    ("Compare languages", compare),
    ("Logit lens", logit_lens),
    ("Language swap", language_swap),
    ("Embedding map", embedding_map),
    ("Saliency", saliency),
]


def build_demo() -> gr.Blocks:
    """The whole app, its queue bounded (``demo.launch()`` it)."""
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:  # Gradio's copies of exports: 1 h
        gr.Markdown(
            f"# {TITLE}\nCross-lingual language models (XLM, Lample & Conneau 2019; XLM-RoBERTa, Conneau et al. "
            "2020) from the inside: masked and translation language modelling, attention, tokenisation. Pick a "
            "model once; every tab uses it."
        )
        model = model_info.picker()
        ready = model_info.ready_signal(model)
        with gr.Tabs():
            for name, module in TABS:
                with gr.Tab(name):
                    on_arrival = module.build(model, ready)  # the first tab answers its example on page load
                    if on_arrival:
                        demo.load(**on_arrival)
            with gr.Tab("Model"):
                card, details = model_info.build(model, ready)
        demo.load(model_info._describe, model, [card, details], api_name=False)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    zerogpu.use_zerogpu(demo)  # on ZeroGPU Spaces: a GPU for each model call; elsewhere nothing changes
    validation.harden(demo)  # raw values checked before Gradio preprocesses them
    return demo


def launch(blocks: gr.Blocks | None = None, **kwargs):
    """Start the server for ``blocks`` (default: the app built at import) with the app's theme and CSS, then load
    the default model in the background (the page is served meanwhile; torch is first imported there); arguments
    as for ``Blocks.launch``."""
    blocks = blocks or demo
    wait = not kwargs.pop("prevent_thread_lock", False)
    served = blocks.launch(theme=THEME, css=CSS, prevent_thread_lock=True, **kwargs)
    common.preload(common.default_model())
    if wait:
        blocks.block_thread()
    return served


demo = build_demo()

if __name__ == "__main__":
    launch()
