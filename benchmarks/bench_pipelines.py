"""Pipelines: fill-mask latency, generation speed, tokenizer throughput and memory, ours vs transformers."""

from __future__ import annotations

import json

from .common import DATA, isolated, machine, random_checkpoint, table, write_section
from .worker import summary

# About 32 tokens each with the specials; common words, so that their ids fit the 30,145-word en-2048 shape.
TEXTS = [
    "The city council met on Monday to discuss the new school , and most of the members agreed that the <special1> should open next year .",
    "She said that the company would not change its plans for the year , even though the <special1> had fallen in the last three months .",
    "After the war , many families moved to the north of the country , where they found work in the new <special1> and on the farms .",
    "The film was first shown in London in 1952 , and it was later <special1> in several other countries , including France and Italy .",
]
SHAPES = [  # (label, released config, tokenizer files, overrides)
    ("xlm-mlm-en-2048", "xlm-mlm-en-2048", "xlm-mlm-enfr-1024", {}),
    ("xlm-mlm-100-1280 (vocab 95 k)", "xlm-mlm-100-1280", "xlm-mlm-tlm-xnli15-1024", {"vocab_size": 95000}),
]


def _fill_mask(rows: list[list[str]]) -> None:
    for label, name, tokenizer, overrides in SHAPES:
        folder = random_checkpoint(name, tokenizer, **overrides)
        res = {
            impl: isolated("fill_mask", impl, folder=folder, texts=TEXTS, rounds=5, dtype="auto")
            for impl in ("ours", "transformers")
        }
        same = res["ours"]["top5"] == res["transformers"]["top5"]
        o, t = summary(res["ours"]["times"]), summary(res["transformers"]["times"])
        rows.append(
            [
                f"fill-mask p50 latency, {label}",
                f"{o['p50'] * 1000:.0f} ms",
                f"{t['p50'] * 1000:.0f} ms",
                f"{o['p50'] / t['p50']:.2f}×",
                "≤ 0.5×",
                "same top-5" if same else "TOP-5 DIFFERS",
            ]
        )
        ro, rt = res["ours"]["rss_after_load_mb"], res["transformers"]["rss_after_load_mb"]
        rows.append(
            [f"RSS after load, {label}", f"{ro:.0f} MB", f"{rt:.0f} MB", f"{ro / rt:.2f}×", "≤ 1.1×", ""]
        )


def _generation(rows: list[list[str]]) -> None:
    prompt = [1, 20, 1500, 31, 7, 412, 88, 19]
    for label, overrides in (
        ("MLM shape (no cache possible)", {}),
        ("same shape, causal=True (KV cache)", {"causal": True}),
    ):
        folder = random_checkpoint("xlm-mlm-en-2048", "xlm-mlm-enfr-1024", **overrides)
        res = {
            impl: isolated("generate", impl, folder=folder, prompt=prompt, new=32)
            for impl in ("ours", "transformers")
        }
        speed = {impl: r["tokens"] / min(r["times"]) for impl, r in res.items()}
        note = (
            "same ids"
            if res["ours"]["ids"] == res["transformers"]["ids"]
            else "different decoding scheme (see text)"
        )
        rows.append(
            [
                f"generation tokens/s, en-2048 {label}",
                f"{speed['ours']:.1f}",
                f"{speed['transformers']:.1f}",
                f"{speed['ours'] / speed['transformers']:.2f}×",
                "≥ 3×",
                note,
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


def main() -> None:
    rows: list[list[str]] = []
    _fill_mask(rows)
    _generation(rows)
    _tokenizer(rows)
    body = (
        f"Machine: {machine()}.\n\n"
        "Random weights shaped like the released checkpoints (safetensors on local disk), batch 1. fill-mask: "
        f"{len(TEXTS)} texts of about 32 tokens × 5 rounds per implementation, each in a fresh process; ours with "
        '`dtype="auto"` (bf16 only where the CPU computes it faster, else fp32). Generation: greedy, 32 new tokens, '
        "best of 2. For a bidirectional (MLM) model both libraries re-read the prefix each step (transformers' scheme, "
        "same ids); for a causal model ours decodes from the last position with a key/value cache (the original XLM "
        "scheme) while transformers keeps its mask-token scheme, so their ids differ by design.\n\n"
        + table(rows, ["measure", "ours", "transformers", "ratio", "target", "check"])
    )
    write_section("Pipelines", body)
    print(body)


if __name__ == "__main__":
    main()
