"""One measurement in a fresh process, so that load time and peak memory belong to one implementation alone.

``python -m benchmarks.worker < spec.json`` prints one JSON line. Specs: ``{"job": "model"|"load"|"fill_mask"|
"fill_mask_alone"|"generate"|"tokenizer", "impl": "ours"|"transformers", ...}``; see each function for its fields. Latency jobs run
both libraries in one process, alternating calls, so that background load affects both alike.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import torch


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mb() -> float:
    """This process's peak RSS so far: VmHWM, the high-water mark of its own address space.

    Not getrusage's ru_maxrss: Linux carries that over from the parent across fork and exec, so every worker
    started by a runner that once held 3 GB reported 3 GB.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("/proc/self/status has no VmHWM line (not Linux?)")


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
        warm_rss = _rss_mb()  # weights memory-mapped at load are resident only once used
        times = _timed(lambda: model(input_ids=ids), spec.get("repeat", 10))
        logits = model(input_ids=ids).logits
    return {
        "load_s": load_s,
        "rss_after_load_mb": rss,
        "peak_rss_load_mb": peak,
        "rss_after_forward_mb": warm_rss,
        "forward_s": times,
        "checksum": float(logits[0, :4, :8].sum()),
    }


def _fill_mask_pipeline(impl: str, folder: str, dtype: str | None, device: str = "cpu"):
    """Ours in ``dtype``; transformers in float32 on the CPU (the exact reference), in ``dtype`` on a GPU."""
    if impl == "ours":
        from xlm.pipelines import pipeline

        fill = pipeline("fill-mask", folder, device=device, dtype=dtype)
        assert fill.model is not None  # load now, not inside the first timed call
        return fill
    import transformers

    config = json.loads((Path(folder) / "config.json").read_text())
    # transformers' AutoTokenizer has no entry for model_type xlm-roberta-xl: name the class, as its model card does
    tokenizer = (
        transformers.XLMRobertaTokenizer.from_pretrained(folder)
        if config["model_type"].startswith("xlm-roberta")
        else None
    )
    theirs = torch.float32 if device == "cpu" or dtype in (None, "auto") else getattr(torch, dtype)
    return transformers.pipeline("fill-mask", model=folder, tokenizer=tokenizer, dtype=theirs, device=device)


def load_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Load time and memory of one fill-mask pipeline, alone in its process."""
    start = time.perf_counter()
    fill = _fill_mask_pipeline(spec["impl"], spec["folder"], spec.get("dtype"), spec.get("device", "cpu"))
    load_s = time.perf_counter() - start
    top5 = [p["token"] for p in fill(spec["texts"][0], top_k=5)]
    # After the first call: memory-mapped weights (transformers') are read, and so resident, only then.
    return {
        "load_s": load_s,
        "rss_after_load_mb": _rss_mb(),
        "peak_rss_load_mb": _peak_rss_mb(),
        "top5": top5,
    }


def fill_mask_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Both pipelines in one process, calls alternating, so background load hits both alike. Besides the times:
    each library's top-5 tokens per text, and transformers' log-probability gaps between its six best candidates
    (how close a near-tie that a reduced precision could reorder is)."""
    pipes = {
        impl: _fill_mask_pipeline(impl, spec["folder"], spec.get("dtype"), spec.get("device", "cpu"))
        for impl in ("ours", "transformers")
    }
    times: dict[str, list[float]] = {impl: [] for impl in pipes}
    for fill in pipes.values():
        fill(spec["texts"][0])  # warm-up
    for _ in range(spec.get("rounds", 3)):
        for text in spec["texts"]:
            for impl, fill in pipes.items():
                t0 = time.perf_counter()
                fill(text, top_k=5)
                times[impl].append(time.perf_counter() - t0)
    top6 = {impl: [fill(text, top_k=6) for text in spec["texts"]] for impl, fill in pipes.items()}
    return {
        "times": times,
        "precision": pipes["ours"].loaded.precision,
        "top5": {impl: [[p["token"] for p in out[:5]] for out in outs] for impl, outs in top6.items()},
        "fp32_gaps": [
            [math.log(a["score"] / b["score"]) for a, b in itertools.pairwise(out)]
            for out in top6["transformers"]
        ],
    }


def fill_mask_alone_job(spec: dict[str, Any]) -> dict[str, Any]:
    """One library's fill-mask pipeline alone in its process (models too big for two in memory): load time, RSS
    after load and a first call, p50 latency over ``rounds`` passes of the texts, top-5 per text, and the
    log-probability gaps between its six best candidates."""
    start = time.perf_counter()
    fill = _fill_mask_pipeline(spec["impl"], spec["folder"], spec.get("dtype"), spec.get("device", "cpu"))
    load_s = time.perf_counter() - start
    fill(spec["texts"][0])  # warm-up (and memory-mapped weights read)
    rss = _rss_mb()
    times = []
    for _ in range(spec.get("rounds", 3)):
        for text in spec["texts"]:
            t0 = time.perf_counter()
            fill(text, top_k=5)
            times.append(time.perf_counter() - t0)
    top6 = [fill(text, top_k=6) for text in spec["texts"]]
    gpu = spec.get("device", "cpu") != "cpu"
    return {
        "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if gpu else None,
        "load_s": load_s,
        "rss_after_load_mb": rss,
        "times": times,
        "precision": fill.loaded.precision if spec["impl"] == "ours" else "float32",
        "top5": [[p["token"] for p in out[:5]] for out in top6],
        "gaps": [[math.log(a["score"] / b["score"]) for a, b in itertools.pairwise(out)] for out in top6],
    }


def generate_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Greedy generation of ``new`` tokens after ``prompt`` ids by both libraries in one process, alternating."""
    new, prompt = spec["new"], spec["prompt"]
    import transformers

    from xlm.pipelines import pipeline

    gen = pipeline("text-generation", spec["folder"], device="cpu", dtype=spec.get("dtype"))
    model = transformers.XLMWithLMHeadModel.from_pretrained(spec["folder"], dtype=torch.float32).eval()
    ids = torch.tensor([prompt])

    def theirs() -> list[int]:
        with torch.inference_mode():
            return model.generate(ids, max_new_tokens=new, do_sample=False)[0, len(prompt) :].tolist()

    runs = {"ours": lambda: list(gen.generate_ids(prompt, max_new_tokens=new)), "transformers": theirs}
    out: dict[str, Any] = {impl: {"times": []} for impl in runs}
    out["precision"] = gen.loaded.precision
    for impl, run in runs.items():
        out[impl]["ids"] = run()  # warm-up, and the ids
    for _ in range(spec.get("repeat", 2)):
        for impl, run in runs.items():
            t0 = time.perf_counter()
            run()
            out[impl]["times"].append(time.perf_counter() - t0)
    return out


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


JOBS = {
    "model": model_job,
    "load": load_job,
    "fill_mask": fill_mask_job,
    "fill_mask_alone": fill_mask_alone_job,
    "generate": generate_job,
    "tokenizer": tokenizer_job,
}


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
    }


if __name__ == "__main__":
    spec = json.loads(sys.stdin.read())
    torch.manual_seed(0)
    print(json.dumps(JOBS[spec["job"]](spec)))
