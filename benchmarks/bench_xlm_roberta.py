"""XLM-RoBERTa fill-mask, ours vs transformers, on random weights shaped like xlm-roberta-base, -large and -xl.

``python -m benchmarks.bench_xlm_roberta [base large xl]`` writes the "XLM-RoBERTa: fill-mask" section of
RESULTS.md. Base and large run both libraries in one process, calls alternating; XL (3.5 B parameters, bf16 on
disk) does not fit twice in memory, so each library runs alone in a fresh process. Beside each row: the physical
floor, the bytes of weights one call must read divided by this machine's measured memory bandwidth.
"""

from __future__ import annotations

import math
import shutil
import sys
import time

import torch

from .common import DATA, ROOT, WORK, isolated, machine, table, write_section
from .worker import summary

# (layers, hidden, heads, ffn, vocab): the released checkpoints' config.json shapes.
SHAPES = {
    "base": ("xlm-roberta-base", 12, 768, 12, 3072, 250_002),
    "large": ("xlm-roberta-large", 24, 1024, 16, 4096, 250_002),
    "xl": ("xlm-roberta-xl", 36, 2560, 32, 10240, 250_880),
}
# About 32 tokens each with the specials.
TEXTS = [
    "The city council met on Monday to discuss the new school, and most of the members agreed that the <mask> should open next year.",
    "She said that the company would not change its plans for the year, even though the <mask> had fallen in the last three months.",
    "After the war, many families moved to the north of the country, where they found work in the new <mask> and on the farms.",
    "The film was first shown in the capital in the spring, and it was later <mask> in several other countries, including France and Spain.",
]
DTYPES = {
    "base": ("float32", "bfloat16", "auto"),
    "large": ("float32", "bfloat16", "auto"),
    "xl": ("float32", "auto"),
}
TARGETS = {"float32": "≤ 0.5×", "auto": "≤ 0.3×", "bfloat16": ""}
BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1}
HEADER = ["measure", "ours", "transformers", "ratio", "target", "floor (weights ÷ bandwidth)", "notes"]


def tokenizer_folder():
    """A SentencePiece unigram model trained on the shared corpus as the tests train it (the real 250 k-piece
    vocabulary is not available here); the model's vocabulary stays the released size."""
    folder = WORK / "xlmr-spm"
    if not (folder / "sentencepiece.bpe.model").is_file():
        sys.path.insert(0, str(ROOT / "tests"))
        import _spm  # the tests' trainer: one recipe for both

        from xlm import XLMRobertaTokenizer

        _spm.train(DATA, "unigram", folder)
        XLMRobertaTokenizer.from_pretrained(folder).save_pretrained(folder)
    return folder


def checkpoint(label: str):
    """Random weights in the shape of a released checkpoint, saved once (bf16 for XL, as its Hub files are)."""
    name, layers, hidden, heads, ffn, vocab = SHAPES[label]
    folder = WORK / f"{name}-random"
    if (folder / "model.safetensors").is_file() or (folder / "model.safetensors.index.json").is_file():
        return folder
    import xlm

    xl = label == "xl"
    config = (xlm.XLMRobertaXLConfig if xl else xlm.XLMRobertaConfig)(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        max_position_embeddings=514,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        architectures=["XLMRobertaXLForMaskedLM" if xl else "XLMRobertaForMaskedLM"],
    )
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16 if xl else torch.float32)
    try:
        model = (xlm.XLMRobertaXLForMaskedLM if xl else xlm.XLMRobertaForMaskedLM)(config).eval()
    finally:
        torch.set_default_dtype(torch.float32)
    model.save_pretrained(folder)
    del model
    for file in tokenizer_folder().iterdir():
        shutil.copy(file, folder / file.name)
    return folder


def bandwidth_gb_s() -> float:
    """Read bandwidth: the best of five sums over 1 GiB of fp32 (more than any cache)."""
    x = torch.ones(2**28)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - start)
    return x.numel() * 4 / best / 1e9


def _floor(params: int, precision: str, gb_s: float) -> str:
    return f"{params * BYTES[precision] / gb_s / 1e6:.0f} ms"


def _agreement(ours: list, theirs: list, gaps: list) -> str:
    same = sum(a == b for a, b in zip(ours, theirs, strict=True))
    if same == len(ours):
        return f"same top-5 ({same}/{len(ours)} texts)"
    near = [min(g) for a, b, g in zip(ours, theirs, gaps, strict=True) if a != b]
    return f"same top-5 on {same}/{len(ours)}; the others hold an fp32 near-tie (≤ {max(near):.4f} nats)"


def _params(folder) -> int:
    from xlm.weights import tensor_shapes

    return sum(math.prod(shape) for shape, _ in tensor_shapes(folder).values())


def measure(label: str, rows: list[list[str]], gb_s: float) -> None:
    folder = checkpoint(label)
    params = _params(folder)
    name = SHAPES[label][0]
    alone = label == "xl"
    theirs_alone = (
        isolated("fill_mask_alone", "transformers", folder=folder, texts=TEXTS, rounds=2, timeout=3600)
        if alone
        else None
    )
    for dtype in DTYPES[label]:
        if alone:
            ours = isolated(
                "fill_mask_alone", "ours", folder=folder, texts=TEXTS, rounds=2, dtype=dtype, timeout=3600
            )
            o, t = summary(ours["times"])["p50"], summary(theirs_alone["times"])["p50"]
            precision, top5, gaps = (
                ours["precision"],
                (ours["top5"], theirs_alone["top5"]),
                theirs_alone["gaps"],
            )
        else:
            res = isolated("fill_mask", "both", folder=folder, texts=TEXTS, rounds=5, dtype=dtype)
            o, t = summary(res["times"]["ours"])["p50"], summary(res["times"]["transformers"])["p50"]
            precision = res["precision"]
            top5, gaps = (res["top5"]["ours"], res["top5"]["transformers"]), res["fp32_gaps"]
        rows.append(
            [
                f"fill-mask p50, {name} ({params / 1e6:.0f} M), ours dtype={dtype} (ran {precision})",
                f"{o * 1000:.0f} ms",
                f"{t * 1000:.0f} ms",
                f"{o / t:.2f}×",
                TARGETS[dtype],
                f"ours {_floor(params, precision, gb_s)}, transformers {_floor(params, 'float32', gb_s)}",
                _agreement(*top5, gaps),
            ]
        )
    theirs = theirs_alone or isolated("load", "transformers", folder=folder, texts=TEXTS)
    for dtype in ("float32", "bfloat16"):
        ours = isolated("load", "ours", folder=folder, texts=TEXTS, dtype=dtype, timeout=3600)
        target = "≤ 1.0×" if dtype == "float32" else "≤ 0.55×"
        rows.append(
            [
                f"RSS after load and one call, {name}, ours dtype={dtype}",
                f"{ours['rss_after_load_mb']:.0f} MB",
                f"{theirs['rss_after_load_mb']:.0f} MB",
                f"{ours['rss_after_load_mb'] / theirs['rss_after_load_mb']:.2f}×",
                target,
                "",
                f"load {ours['load_s']:.1f} s vs {theirs['load_s']:.1f} s",
            ]
        )


def main(labels: list[str]) -> None:
    """Measure each shape in turn; the section is rewritten after each, so a cut-short run keeps what it did."""
    gb_s = bandwidth_gb_s()
    how = (
        f"Random weights in the released shapes (vocabulary 250,002; XL 250,880, bf16 on disk), a SentencePiece "
        f"vocabulary trained here (4,000 pieces; the model's vocabulary keeps its full size), ~32-token English "
        f"texts with one mask, batch 1, top-5. Measured read bandwidth {gb_s:.1f} GB/s. Base and large: both "
        f"libraries in one process, calls alternating; XL: each library alone in a fresh process (two copies do not "
        f"fit in memory)."
    )
    rows: list[list[str]] = []
    for label in labels or list(SHAPES):
        measure(label, rows, gb_s)
        body = f"Machine: {machine()}.\n\n{how}\n\n" + table(rows, HEADER)
        write_section("XLM-RoBERTa: fill-mask", body)
        print(body, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
