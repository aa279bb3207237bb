"""The teaching views of issue 15: how long each takes on the embedded model and on an xlm-mlm-100-1280-shaped one.

``python -m benchmarks.bench_views`` prints the tables; ``--write`` also replaces their sections of RESULTS.md.
Each view has its own function returning table rows; fill-mask is timed beside them as the reference.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from .bench_pipelines import TEXTS
from .common import DATA, ROOT, machine, random_checkpoint, table, write_section

ROUNDS = 5  # timed calls per measurement, after one warm-up call (the model is loaded by then)
TEXT = TEXTS[0]  # about 32 tokens with one mask, English
HEADER = ["model", "view", "median", "min – max"]


def _median_ms(call: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, float, float]:
    """(median, min, max) wall time in ms of ``call`` over ``rounds`` calls, after one untimed warm-up."""
    call()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), max(times)


# -- logit lens and language swap (issue 15 items 1 and 2) --------------------------------------------------------
def lens_swap_models() -> list[tuple[str, Path]]:
    """The embedded model, and random weights shaped like xlm-mlm-100-1280 (200 k vocabulary, 16 layers of 1280)
    with its language embeddings turned on: the released checkpoint has ``use_lang_emb=false``, so the swap
    refuses it, and the lens costs the same either way. Its tokenizer: the xnli15 BPE files (ids below 95 k) with
    the 100-language tokenizer_config."""
    folder = random_checkpoint("xlm-mlm-100-1280", "xlm-mlm-tlm-xnli15-1024", use_lang_emb=True)
    shutil.copy(
        DATA / "hf-configs" / "xlm-mlm-100-1280.tokenizer_config.json", folder / "tokenizer_config.json"
    )
    return [
        ("xlm-explorer-mini (embedded; 4 × 256, vocab 40 k)", ROOT / "assets" / "xlm-explorer-mini"),
        ("xlm-mlm-100-1280 shape, random (16 × 1280, vocab 200 k)", folder),
    ]


def lens_swap_calls(folder: Path) -> dict[str, Callable[[], object]]:
    """The timed calls on one model: fill-mask, the lens, the swap to another language and to none."""
    from xlm.pipelines import FillMaskPipeline, ModelCache
    from xlm.pipelines.language_swap import NO_LANGUAGE, LanguageSwapPipeline
    from xlm.pipelines.logit_lens import LogitLensPipeline

    cache = ModelCache()  # this model only: freed with the calls
    fill, lens, swap = (
        cls(folder, device="cpu", cache=cache)
        for cls in (FillMaskPipeline, LogitLensPipeline, LanguageSwapPipeline)
    )
    return {
        "fill-mask top-5 (reference)": lambda: fill(TEXT, top_k=5, lang="en"),
        "logit lens, top-5 at every layer": lambda: lens(TEXT, top_k=5, lang="en"),
        "language swap en → fr": lambda: swap(TEXT, lang="en", other="fr", top_k=5),
        "language swap en → none": lambda: swap(TEXT, lang="en", other=NO_LANGUAGE, top_k=5),
    }


def lens_swap_rows() -> list[list[str]]:
    """Fill-mask, the logit lens and the swap on one 32-token text, float32, per model."""
    rows = []
    for label, folder in lens_swap_models():
        for view, call in lens_swap_calls(folder).items():
            median, low, high = _median_ms(call)
            rows.append([label, view, f"{median:.0f} ms", f"{low:.0f} – {high:.0f} ms"])
    return rows


# -- embedding map and saliency (issue 15 items 3 and 4) ---------------------------------------------------------
def map_saliency_calls(folder: Path) -> dict[str, Callable[[], object]]:
    """The timed calls on one model: the app's example map (16 sentences), saliency of a fill-mask guess and of a
    QA span (on an LM checkpoint the QA head is random: the cost is the same)."""
    from components.embedding_map import example_text
    from components.examples import QUESTION_ANSWERING
    from xlm.pipelines import ModelCache
    from xlm.pipelines.embedding_map import EmbeddingMapPipeline
    from xlm.pipelines.saliency import SaliencyPipeline

    sentences = example_text(("en", "fr", "de", "es"))
    emb = EmbeddingMapPipeline(folder, device="cpu", cache=ModelCache())
    middle = emb.n_layers // 2
    guess = SaliencyPipeline(folder, device="cpu")
    span = SaliencyPipeline(folder, target="question-answering", device="cpu")
    context, question = QUESTION_ANSWERING["en"]
    return {
        "embedding map, 16 sentences (4 × 4 languages), middle layer": lambda: emb(sentences, layer=middle),
        "saliency of a fill-mask guess (forward + backward)": lambda: guess(TEXT, lang="en"),
        "saliency of a QA span (about 60 tokens)": lambda: span(
            {"question": question, "context": context}, lang="en"
        ),
    }


def map_saliency_rows() -> list[list[str]]:
    """The embedding map and saliency per model, then the PNG + SVG export of one map (model-independent)."""
    from components.embedding_map import figure
    from components.figure_export import image_files

    rows = []
    for label, folder in lens_swap_models():
        calls = map_saliency_calls(folder)
        for view, call in calls.items():
            median, low, high = _median_ms(call)
            rows.append([label, view, f"{median:.0f} ms", f"{low:.0f} – {high:.0f} ms"])
    drawn = figure(next(iter(calls.values()))())
    median, low, high = _median_ms(lambda: image_files({"map": drawn}, "bench"), rounds=3)
    rows.append(
        [
            "(any)",
            "PNG + SVG of the map (kaleido, one Chromium start)",
            f"{median:.0f} ms",
            f"{low:.0f} – {high:.0f} ms",
        ]
    )
    return rows


SECTIONS = {
    "Views: logit lens and language swap": (
        lens_swap_rows,
        f"Median of {ROUNDS} calls after a warm-up, batch 1, one text of about 32 tokens with one mask, float32, "
        "CPU. The lens reads all layers through the LM head (one extra vocabulary projection per layer); the swap "
        "runs the encoder four times (predictions and attention, own and swapped language).",
    ),
    "Views: embedding map and saliency": (
        map_saliency_rows,
        f"Median of {ROUNDS} calls after a warm-up (3 for the image export), batch 1, float32, CPU. The map embeds "
        "16 sentences in batches of one language; saliency runs one forward and one backward pass on its own "
        "differentiable copy of the model (plain torch layers, a cache entry of its own); the export starts a headless "
        "Chromium each time.",
    ),
}


def main(argv: list[str]) -> None:
    for title, (rows_of, how) in SECTIONS.items():
        body = f"Machine: {machine()}.\n\n{how}\n\n" + table(rows_of(), HEADER)
        print(f"## {title}\n\n{body}\n")
        if "--write" in argv:
            write_section(title, body)


if __name__ == "__main__":
    torch.manual_seed(0)
    main(sys.argv[1:])
