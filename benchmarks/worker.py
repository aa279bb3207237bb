"""One measurement in a fresh process, so that load time and peak memory belong to one implementation alone.

``python -m benchmarks.worker '<json spec>'`` prints one JSON line. Specs: ``{"job": "model"|"fill_mask"|
"generate"|"tokenizer", "impl": "ours"|"transformers", ...}``; see each function for its fields.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from typing import Any

import psutil
import torch


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _load(spec: dict[str, Any], cls_name: str):
    start = time.perf_counter()
    if spec["impl"] == "ours":
        import xlm

        model = getattr(xlm, cls_name).from_pretrained(spec["folder"], dtype=torch.float32)
    else:
        import transformers

        model = getattr(transformers, cls_name).from_pretrained(spec["folder"], dtype=torch.float32).eval()
    return model, time.perf_counter() - start


def model_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Load time, memory after load, forward latency (batch 1, ``tokens`` tokens) of the LM-head model."""
    model, load_s = _load(spec, "XLMWithLMHeadModel")
    rss, peak = _rss_mb(), _peak_rss_mb()
    ids = torch.randint(
        14, model.config.vocab_size, (1, spec.get("tokens", 32)), generator=torch.Generator().manual_seed(0)
    )
    with torch.inference_mode():
        model(input_ids=ids)
        times = _timed(lambda: model(input_ids=ids), spec.get("repeat", 10))
        logits = model(input_ids=ids).logits
    return {
        "load_s": load_s,
        "rss_after_load_mb": rss,
        "peak_rss_load_mb": peak,
        "forward_s": times,
        "checksum": float(logits[0, :4, :8].sum()),
    }


def fill_mask_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Latency per call of the fill-mask pipeline on each text, and its top-5 tokens."""
    start = time.perf_counter()
    if spec["impl"] == "ours":
        from xlm.pipelines import pipeline

        fill = pipeline("fill-mask", spec["folder"], device="cpu", dtype=spec.get("dtype"))
        assert fill.model is not None  # load now, not inside the first timed call
    else:
        import transformers

        fill = transformers.pipeline("fill-mask", model=spec["folder"], dtype=torch.float32, device="cpu")
    load_s = time.perf_counter() - start
    rss, peak = _rss_mb(), _peak_rss_mb()
    texts = spec["texts"]
    fill(texts[0])  # warm-up
    times, tops = [], []
    for _ in range(spec.get("rounds", 3)):
        for text in texts:
            t0 = time.perf_counter()
            out = fill(text, top_k=5)
            times.append(time.perf_counter() - t0)
            tops.append([p["token"] for p in out])
    return {
        "load_s": load_s,
        "rss_after_load_mb": rss,
        "peak_rss_load_mb": peak,
        "times": times,
        "top5": tops[: len(texts)],
    }


def generate_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Greedy generation of ``new`` tokens after ``prompt`` ids: tokens per second and the ids."""
    new, prompt = spec["new"], spec["prompt"]
    if spec["impl"] == "ours":
        from xlm.pipelines import pipeline

        gen = pipeline("text-generation", spec["folder"], device="cpu", dtype=spec.get("dtype"))
        run = lambda: list(gen.generate_ids(prompt, max_new_tokens=new))  # noqa: E731
    else:
        import transformers

        model = transformers.XLMWithLMHeadModel.from_pretrained(spec["folder"], dtype=torch.float32).eval()
        ids = torch.tensor([prompt])

        def run():
            with torch.inference_mode():
                return model.generate(ids, max_new_tokens=new, do_sample=False)[0, len(prompt) :].tolist()

    run()  # warm-up
    out, times = None, []
    for _ in range(spec.get("repeat", 2)):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return {"tokens": len(out), "times": times, "ids": out}


def tokenizer_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Sentences per second, one call per sentence, first pass (cold BPE cache) and second pass."""
    if spec["impl"] == "ours":
        from xlm import XLMTokenizer

        tok = XLMTokenizer.from_pretrained(spec["folder"])
        encode = lambda s: tok(s, lang=spec.get("lang"))["input_ids"]  # noqa: E731
    else:
        import transformers

        tok = transformers.XLMTokenizer.from_pretrained(spec["folder"])
        encode = lambda s: tok(s)["input_ids"]  # noqa: E731
    sentences = spec["sentences"]
    passes, ids = [], []
    for _ in range(2):
        t0 = time.perf_counter()
        ids = [encode(s) for s in sentences]
        passes.append(time.perf_counter() - t0)
    return {"sentences": len(sentences), "seconds": passes, "ids_checksum": sum(sum(x) for x in ids)}


JOBS = {"model": model_job, "fill_mask": fill_mask_job, "generate": generate_job, "tokenizer": tokenizer_job}


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
    }


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    torch.manual_seed(0)
    print(json.dumps(JOBS[spec["job"]](spec)))
