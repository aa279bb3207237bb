"""Fill-mask on a CUDA GPU in float16, ours vs transformers (same weights, same GPU, each library alone in a fresh
process), plus XLM-RoBERTa XL (3.5 B parameters) loaded in float16 and answering.

``python -m benchmarks.bench_gpu`` (what ``benchmarks/gpu.sh`` runs on a lent GPU machine) writes the
"GPU: fill-mask in float16" section of RESULTS.md. Shapes: xlm-mlm-100-1280 (random weights, its released config)
and xlm-roberta-large / -xl (random weights, the released shapes). Peak GPU memory is torch's high-water mark.
"""

from __future__ import annotations

import sys

import torch

from .bench_xlm_roberta import TEXTS as XLMR_TEXTS
from .bench_xlm_roberta import checkpoint as xlmr_checkpoint
from .common import isolated, machine, random_checkpoint, table, write_section
from .worker import summary

XLM_TEXTS = [text.replace("<mask>", "<special1>") for text in XLMR_TEXTS]
HEADER = ["model", "ours p50", "transformers p50", "ratio", "target", "same top-5", "ours peak GPU memory"]


def _gpu() -> str:
    props = torch.cuda.get_device_properties(0)
    return f"{props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}"


def _row(name: str, folder, texts: list[str], with_theirs: bool = True) -> list[str]:
    spec = {
        "folder": folder,
        "texts": texts,
        "rounds": 5,
        "dtype": "float16",
        "device": "cuda",
        "timeout": 3600,
    }
    ours = isolated("fill_mask_alone", "ours", **spec)
    theirs = isolated("fill_mask_alone", "transformers", **spec) if with_theirs else None
    o = summary(ours["times"])["p50"]
    t = summary(theirs["times"])["p50"] if theirs else float("nan")
    same = sum(a == b for a, b in zip(ours["top5"], theirs["top5"], strict=True)) if theirs else "-"
    return [
        name,
        f"{o * 1000:.1f} ms",
        f"{t * 1000:.1f} ms" if theirs else "not run",
        f"{o / t:.2f}×" if theirs else "-",
        "≤ 0.7×" if theirs else "answers",
        f"{same}/{len(texts)}" if theirs else "-",
        f"{ours.get('gpu_peak_mb', float('nan')):.0f} MB",
    ]


def main(labels: list[str]) -> None:
    if not torch.cuda.is_available():
        sys.exit("bench_gpu: no CUDA GPU here (run it through benchmarks/gpu.sh on a GPU machine).")
    shapes = {
        "xlm-100": lambda: (
            "xlm-mlm-100-1280",
            random_checkpoint("xlm-mlm-100-1280", "xlm-mlm-enfr-1024"),
            XLM_TEXTS,
        ),
        "large": lambda: ("xlm-roberta-large", xlmr_checkpoint("large"), XLMR_TEXTS),
        "xl": lambda: (
            "xlm-roberta-xl (ours only: loaded in fp16 and answering)",
            xlmr_checkpoint("xl"),
            XLMR_TEXTS,
        ),
    }
    rows: list[list[str]] = []
    for label in labels or list(shapes):
        name, folder, texts = shapes[label]()
        rows.append(_row(name, folder, texts, with_theirs=label != "xl"))
        body = (
            f"Machine: {machine()}; GPU: {_gpu()}.\n\nfloat16 on both sides, batch 1, ~32-token texts with one "
            "mask, top-5, 5 passes; each library alone in a fresh process.\n\n" + table(rows, HEADER)
        )
        write_section("GPU: fill-mask in float16", body)
        print(body, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
