"""Core library: load time, memory and forward latency of an xlm-mlm-en-2048-shaped model, ours vs transformers."""

from __future__ import annotations

from .common import isolated, machine, random_checkpoint, table, write_section
from .worker import summary

ROUNDS = 2  # alternate ours / transformers to spread any background load over both


def main() -> None:
    folder = random_checkpoint("xlm-mlm-en-2048", "xlm-mlm-enfr-1024")
    runs = {"ours": [], "transformers": []}
    for _ in range(ROUNDS):
        for impl in runs:
            runs[impl].append(isolated("model", impl, folder=folder, tokens=32, repeat=10))
    assert abs(runs["ours"][0]["checksum"] - runs["transformers"][0]["checksum"]) < 1e-3, "outputs differ"
    best = {
        impl: {
            "load_s": min(r["load_s"] for r in rs),
            "rss": min(r["rss_after_load_mb"] for r in rs),
            "peak": min(r["peak_rss_load_mb"] for r in rs),
            "warm": min(r["rss_after_forward_mb"] for r in rs),
            "p50": summary([t for r in rs for t in r["forward_s"]])["p50"],
        }
        for impl, rs in runs.items()
    }
    o, t = best["ours"], best["transformers"]
    measures = [
        ("load time (s)", "load_s", ".2f"),
        ("RSS after load (MB)", "rss", ".0f"),
        ("RSS after the first forward (MB)", "warm", ".0f"),
        ("peak RSS during load (MB)", "peak", ".0f"),
        ("forward p50, batch 1 × 32 tokens (s)", "p50", ".3f"),
    ]
    rows = [[label, f"{o[k]:{fmt}}", f"{t[k]:{fmt}}", f"{o[k] / t[k]:.2f}×"] for label, k, fmt in measures]
    body = (
        f"Machine: {machine()}.\n\n"
        "Random weights with the official xlm-mlm-en-2048 config (667 M parameters, fp32, safetensors on local disk); "
        f"each number is the best of {ROUNDS} fresh processes per implementation (forward: median of "
        f"{10 * ROUNDS} calls), ours and transformers alternating. Same outputs checked.\n\n"
        + table(rows, ["measure", "ours", "transformers", "ratio"])
    )
    write_section("Core library: xlm-mlm-en-2048 shape", body)
    print(body)


if __name__ == "__main__":
    main()
