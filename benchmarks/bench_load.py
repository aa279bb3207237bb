"""Load test of the served app: light visitors alone, then the same with one heavy visitor among them.

``python -m benchmarks.bench_load`` starts ``app.py`` in a fresh process on loopback, then:

1. ``LIGHT`` light clients (fill-mask, a short attention, QA in turn) for ``ALONE_S`` seconds: their latency alone;
2. the same light clients plus one heavy client (attention at the word limit, with its export) for ``MIXED_S``
   seconds: 8 clients in all.

Bounded: loopback only, a fixed number of clients, every request with a timeout (counted as an error). Prints
p50/p95 per endpoint and phase, errors, the server's RSS before, after, and 5 s after the clients left, and whether
the light clients' p95 with the heavy one stays within twice their p50 alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import psutil

from .bench_app import default_model_and_language, free_port, percentile, wait_for_client
from .common import ROOT, machine, table, write_section

LIGHT = 7
ALONE_S = 20
MIXED_S = 60
TIMEOUT_S = 60
WORDS = ["the", "house", "of", "my", "friend", "is", "near", "the", "old", "bridge", "over", "the", "river"]


def _requests(model: str, lang: str | None) -> dict[str, tuple[str, tuple[Any, ...]]]:
    from components.limits import MAX_ATTENTION_WORDS

    long_text = " ".join((WORDS * 10)[:MAX_ATTENTION_WORDS])
    context = "My friend lives in the old house near the bridge over the river ."
    return {
        "fill_mask": ("/fill_mask", ("The cat is sleeping on the <mask> .", lang, 5, model)),
        "attention (short)": ("/attention", ("The cat sleeps .", lang, "", None, "mean", "mean", model)),
        "answer": (
            "/answer",
            (context, "Where does my friend live ?", lang, lang, "simple", 3, False, model),
        ),
        "attention (heavy)": ("/attention", (long_text, lang, "", None, "mean", "mean", model)),
    }


def _client_loop(
    url: str, names: list[str], requests: dict, until: float, record: Callable[[str, float, bool], None]
) -> None:
    client = wait_for_client(url, time.perf_counter() + 60)
    turn = 0
    while time.perf_counter() < until:
        name = names[turn % len(names)]
        api, args = requests[name]
        start = time.perf_counter()
        try:
            client.submit(*args, api_name=api).result(timeout=TIMEOUT_S)
            ok = True
        except Exception:  # a refusal, a timeout, a dropped connection: all count as errors
            ok = False
        record(name, time.perf_counter() - start, ok)
        turn += 1


def phase(url: str, requests: dict, seconds: float, heavy: bool) -> dict[str, list[float]]:
    """Run the clients for ``seconds``; latencies per request name, errors under ``"errors"``."""
    results: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()

    def record(name: str, took: float, ok: bool) -> None:
        with lock:
            results[name if ok else "errors"].append(took)

    until = time.perf_counter() + seconds
    light = ["fill_mask", "attention (short)", "answer"]
    plans = [light[i % 3 :] + light[: i % 3] for i in range(LIGHT)] + (
        [["attention (heavy)"]] if heavy else []
    )
    threads = [threading.Thread(target=_client_loop, args=(url, p, requests, until, record)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def rss(pid: int) -> int:
    process = psutil.Process(pid)
    return process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))


def main() -> None:
    info, lang = default_model_and_language()
    model = info.path
    requests = _requests(model, lang)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        warm = wait_for_client(url, time.perf_counter() + 300)
        for api, args in requests.values():  # load the models once
            warm.predict(*args, api_name=api)
        before = rss(server.pid)
        alone = phase(url, requests, ALONE_S, heavy=False)
        mixed = phase(url, requests, MIXED_S, heavy=True)
        after = rss(server.pid)
        time.sleep(5)
        later = rss(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = []
    for label, results in (("light alone", alone), ("with one heavy client", mixed)):
        for name in [*requests, "errors"]:
            values = results.get(name, [])
            if values or name == "errors":
                p50 = f"{percentile(values, 0.5):.3f}" if values and name != "errors" else ""
                p95 = f"{percentile(values, 0.95):.3f}" if values and name != "errors" else ""
                rows.append([label, name, len(values), p50, p95])
    light = ["fill_mask", "attention (short)", "answer"]
    verdicts = [
        f"{name}: p95 with the heavy client {percentile(mixed[name], 0.95):.3f} s vs 2 × p50 alone "
        f"{2 * percentile(alone[name], 0.5):.3f} s → "
        f"{'within' if percentile(mixed[name], 0.95) <= 2 * percentile(alone[name], 0.5) else 'BEYOND'}"
        for name in light
        if mixed.get(name) and alone.get(name)
    ]
    body = (
        f"Machine: {machine()}.\n\nModel {info.name}; `app.py` in a fresh process on loopback; {LIGHT} light "
        f"clients (each cycling fill-mask, a short attention and QA) for {ALONE_S} s, then {LIGHT} + 1 heavy "
        f"(attention at the word limit, with export) for {MIXED_S} s; timeout {TIMEOUT_S} s per request.\n\n"
        + table(rows, ["phase", "request", "n", "p50 (s)", "p95 (s)"])
        + f"\n\nServer RSS: {before / 2**20:.0f} MB before, {after / 2**20:.0f} MB after, "
        f"{later / 2**20:.0f} MB 5 s after the clients left.\n\n" + "\n".join(f"- {v}" for v in verdicts)
    )
    print(body)
    write_section("App: load test", body)


if __name__ == "__main__":
    main()
