"""The app as users meet it: cold start (process start → first fill-mask answer through gradio_client) and
fill-mask latency with 8 concurrent clients on loopback. ``python -m benchmarks.bench_app`` appends its section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from .common import ROOT, machine, table, write_section

CLIENTS = 8
REQUESTS_PER_CLIENT = 10
TEXT = "The cat is sleeping on the <mask> ."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_client(url: str, deadline: float):
    """A gradio_client connected to ``url``, retrying until the server answers."""
    from gradio_client import Client

    while True:
        try:
            return Client(url, verbose=False)
        except Exception:  # the server is not up yet: connection refused, 502, ...
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fill_mask(client: Any, lang: str | None) -> float:
    start = time.perf_counter()
    client.predict(TEXT, lang, 5, api_name="/fill_mask")
    return time.perf_counter() - start


def concurrent(url: str, lang: str | None) -> tuple[list[float], float]:
    """Latencies of CLIENTS threads, each with its own client, each sending REQUESTS_PER_CLIENT requests."""
    clients = [wait_for_client(url, time.perf_counter() + 30) for _ in range(CLIENTS)]
    latencies: list[float] = []
    lock = threading.Lock()

    def work(client: Any) -> None:
        for _ in range(REQUESTS_PER_CLIENT):
            took = fill_mask(client, lang)
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from components.common import default_model, read_info

    model = default_model()
    if model is None:
        raise SystemExit("No embedded model in assets/ (or $XLM_EXPLORER_ASSETS): nothing to benchmark.")
    info = read_info(model)
    lang = "en" if "en" in info.languages else (info.languages[0] if info.languages else None)
    load = os.getloadavg()[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        client = wait_for_client(url, start + 300)
        up = time.perf_counter() - start
        fill_mask(client, lang)
        first = time.perf_counter() - start
        warm = [fill_mask(client, lang) for _ in range(5)]
        latencies, wall = concurrent(url, lang)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [
        ["server answering (s)", f"{up:.2f}"],
        ["first fill-mask answer (s)", f"{first:.2f}"],
        ["one client, warm: median latency (s)", f"{statistics.median(warm):.3f}"],
        [f"{CLIENTS} clients: p50 latency (s)", f"{percentile(latencies, 0.5):.3f}"],
        [f"{CLIENTS} clients: p95 latency (s)", f"{percentile(latencies, 0.95):.3f}"],
        [f"{CLIENTS} clients: throughput (requests/s)", f"{len(latencies) / wall:.1f}"],
    ]
    body = (
        f"Machine: {machine()}; 1-minute load average before the run {load:.1f}.\n\n"
        f"`python app.py` in a fresh process on the default model **{info.name}** ({info.architectures[0]}, "
        f"{info.n_layers} layers); cold start = process start until the first `/fill_mask` answer through "
        f"gradio_client (model loaded lazily by the first request). Then {CLIENTS} clients, one thread each, send "
        f"{REQUESTS_PER_CLIENT} `/fill_mask` requests each over loopback; the queue runs "
        f"{os.environ.get('XLM_EXPLORER_CONCURRENCY', '2')} at once (the rest wait), so latency includes queueing.\n\n"
        + table(rows, ["measure", "value"])
    )
    print(body)
    write_section("App: cold start and concurrent latency", body)


if __name__ == "__main__":
    main()
