"""Pipelines: fill-mask latency, generation speed, tokenizer throughput and memory, ours vs transformers."""

from __future__ import annotations

import json
import sys

from .common import DATA, isolated, machine, random_checkpoint, table, write_section
from .worker import summary

# About 32 tokens each with the specials; common words, so that their ids fit the 30,145-word en-2048 shape.
TEXTS = [
    "The city council met on Monday to discuss the new school , and most of the members agreed that the <special1> should open next year .",
    "She said that the company would not change its plans for the year , even though the <special1> had fallen in the last three months .",
    "After the war , many families moved to the north of the country , where they found work in the new <special1> and on the farms .",
    "The film was first shown in the capital in the spring , and it was later <special1> in several other countries , including France and Spain .",
]
SHAPES = [  # (label, released config, tokenizer files, overrides)
    ("xlm-mlm-en-2048", "xlm-mlm-en-2048", "xlm-mlm-enfr-1024", {}),
    ("xlm-mlm-100-1280 (vocab 95 k)", "xlm-mlm-100-1280", "xlm-mlm-tlm-xnli15-1024", {"vocab_size": 95000}),
]


def _fill_mask(rows: list[list[str]]) -> None:
    for label, name, tokenizer, overrides in SHAPES:
        folder = random_checkpoint(name, tokenizer, **overrides)
        for dtype in ("auto", "float32"):
            res = isolated("fill_mask", "both", folder=folder, texts=TEXTS, rounds=5, dtype=dtype)
            same = res["top5"]["ours"] == res["top5"]["transformers"]
            o, t = summary(res["times"]["ours"]), summary(res["times"]["transformers"])
            rows.append(
                [
                    f"fill-mask p50 latency, {label}, ours dtype={dtype}",
                    f"{o['p50'] * 1000:.0f} ms",
                    f"{t['p50'] * 1000:.0f} ms",
                    f"{o['p50'] / t['p50']:.2f}×",
                    "≤ 0.5×",
                    "same top-5" if same else "top-5 differs",
                ]
            )
        load = {
            impl: isolated("load", impl, folder=folder, texts=TEXTS, dtype="auto")
            for impl in ("ours", "transformers")
        }
        ro, rt = load["ours"]["rss_after_load_mb"], load["transformers"]["rss_after_load_mb"]
        rows.append(
            [
                f"RSS after load, {label} (ours dtype=auto)",
                f"{ro:.0f} MB",
                f"{rt:.0f} MB",
                f"{ro / rt:.2f}×",
                "≤ 1.1×",
                f"peak during load {load['ours']['peak_rss_load_mb']:.0f} vs "
                f"{load['transformers']['peak_rss_load_mb']:.0f} MB",
            ]
        )


def _generation(rows: list[list[str]]) -> None:
    prompt = [1, 20, 1500, 31, 7, 412, 88, 19]
    for label, overrides in (
        ("MLM shape (no cache possible)", {}),
        ("same shape, causal=True (KV cache)", {"causal": True}),
    ):
        folder = random_checkpoint("xlm-mlm-en-2048", "xlm-mlm-enfr-1024", **overrides)
        for dtype in ("auto", "float32"):
            res = isolated("generate", "both", folder=folder, prompt=prompt, new=32, dtype=dtype, repeat=1)
            speed = {impl: len(r["ids"]) / min(r["times"]) for impl, r in res.items()}
            same = res["ours"]["ids"] == res["transformers"]["ids"]
            rows.append(
                [
                    f"generation tokens/s, en-2048 {label}, ours dtype={dtype}",
                    f"{speed['ours']:.1f}",
                    f"{speed['transformers']:.1f}",
                    f"{speed['ours'] / speed['transformers']:.2f}×",
                    "≥ 3×",
                    "same ids" if same else "different ids (see text)",
                ]
            )


def _tokenizer(rows: list[list[str]]) -> None:
    data = json.loads((DATA / "xquad" / "xquad.en.json").read_text())
    sentences = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            sentences += [s.strip() + "." for s in para["context"].split(". ") if s.strip()]
            sentences += [qa["question"] for qa in para["qas"]]
    sentences = sentences[:2000]
    folder = DATA / "xlm-mlm-tlm-xnli15-1024"
    res = {
        impl: isolated("tokenizer", impl, folder=folder, sentences=sentences, lang="en")
        for impl in ("ours", "transformers")
    }
    assert res["ours"]["ids_checksum"] == res["transformers"]["ids_checksum"], "tokenizers disagree"
    for n, name in ((0, "cold"), (1, "warm")):
        o = len(sentences) / res["ours"]["seconds"][n]
        t = len(sentences) / res["transformers"]["seconds"][n]
        rows.append(
            [
                f"tokenizer sentences/s ({name} BPE cache), xnli15, {len(sentences)} XQuAD-en sentences",
                f"{o:.0f}",
                f"{t:.0f}",
                f"{o / t:.2f}×",
                "≥ 1×",
                "same ids",
            ]
        )


HEADER = ["measure", "ours", "transformers", "ratio", "target", "check"]
PARTS = {
    "fill-mask": (
        _fill_mask,
        "Random weights shaped like the released checkpoints (safetensors on local disk). "
        f"{len(TEXTS)} texts of about 32 tokens × 5 rounds, batch 1, both libraries in one process with calls "
        'alternating (so background load hits both alike); transformers in fp32; ours with `dtype="auto"` (bf16 '
        "where the CPU computes it faster, else int8 dynamic quantisation of the encoder's linear layers, kept only "
        "if a probe's top-5 agree with fp32) and with fp32. Memory: each library alone in a fresh process.",
    ),
    "generation": (
        _generation,
        "Random weights shaped like xlm-mlm-en-2048 (safetensors on local disk). Greedy, 32 new tokens, batch 1, one timed run after a warm-up run, both libraries in one process. For a "
        "bidirectional (MLM) model both libraries re-read the prefix each step (transformers' scheme); for a causal "
        "model ours decodes from the last position with a key/value cache (the original XLM scheme) while "
        "transformers keeps its mask-token scheme, so their ids differ by design.",
    ),
    "tokenizer": (
        _tokenizer,
        "The real XNLI-15 tokenizer files; one call per sentence; each library in a fresh process.",
    ),
}


def main(parts: list[str]) -> None:
    from xlm import XLMTokenizer

    vocab = json.loads((DATA / "hf-configs" / "xlm-mlm-en-2048.json").read_text())["vocab_size"]
    tok = XLMTokenizer.from_pretrained(DATA / "xlm-mlm-enfr-1024")
    assert all(max(tok(t)["input_ids"]) < vocab for t in TEXTS), (
        "benchmark texts must fit the en-2048 vocabulary"
    )
    for part in parts or list(PARTS):
        run, how = PARTS[part]
        rows: list[list[str]] = []
        run(rows)
        body = f"Machine: {machine()}.\n\n{how}\n\n" + table(rows, HEADER)
        write_section(f"Pipelines: {part}", body)
        print(body)


if __name__ == "__main__":
    main(sys.argv[1:])
