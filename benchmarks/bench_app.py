"""The app as users meet it: cold start (``python app.py`` → page served → first fill-mask answer through
gradio_client, in fresh processes) and fill-mask latency with 8 concurrent clients on loopback.
``python -m benchmarks.bench_app`` writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from .common import ROOT, machine, table, write_section

CLIENTS = 8
REQUESTS_PER_CLIENT = 10
COLD_STARTS = 5  # fresh processes: min / median / max
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


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` (VmRSS), MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def wait_for_page(url: str, deadline: float) -> None:
    """Return once ``url`` serves the page (HTTP 200)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:  # not listening yet
            pass
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{url} did not serve its page in time")
        time.sleep(0.02)


def cold_start(lang: str | None, keep: bool = False) -> tuple[dict[str, float], subprocess.Popen, str]:
    """Start ``python app.py`` in a fresh process; time the page and the first fill-mask answer from the start
    (the client connects once the page is served), and read the server's memory at both points."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    # As deployed: the first start writes the bytecode the others read.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    kept = False  # the server stays up only for a caller that asked and a run that went through
    try:
        wait_for_page(url, start + 300)
        page = time.perf_counter() - start
        rss_page = rss_mb(server.pid)
        client = wait_for_client(url, start + 300)
        fill_mask(client, lang)
        first = time.perf_counter() - start
        measures = {"page": page, "first": first, "rss_page": rss_page, "rss_first": rss_mb(server.pid)}
        kept = keep
    finally:
        if not kept:
            server.terminate()
            server.wait(timeout=30)
    return measures, server, url


def spread(values: list[float], digits: int = 2) -> list[str]:
    return [
        f"{min(values):.{digits}f}",
        f"{statistics.median(values):.{digits}f}",
        f"{max(values):.{digits}f}",
    ]


def default_model_and_language() -> tuple[Any, str | None]:
    """The app's default model (its ModelInfo) and the language requests use: English where it has it."""
    sys.path.insert(0, str(ROOT))
    from components.common import default_model, read_info

    model = default_model()
    if model is None:
        raise SystemExit("No embedded model in assets/ (or $XLM_EXPLORER_ASSETS): nothing to measure.")
    info = read_info(model)
    return info, "en" if "en" in info.languages else (info.languages[0] if info.languages else None)


def main() -> None:
    info, lang = default_model_and_language()
    load = os.getloadavg()[0]
    for cache in [
        ROOT / "__pycache__",
        *ROOT.glob("components/**/__pycache__"),
        *ROOT.glob("xlm/**/__pycache__"),
    ]:
        shutil.rmtree(cache, ignore_errors=True)  # the first start is a fresh clone's
    runs = [cold_start(lang)[0] for _ in range(COLD_STARTS - 1)]
    last, server, url = cold_start(lang, keep=True)
    runs.append(last)
    try:
        client = wait_for_client(url, time.perf_counter() + 30)
        warm = [fill_mask(client, lang) for _ in range(5)]
        latencies, wall = concurrent(url, lang)
    finally:
        server.terminate()
        server.wait(timeout=30)
    cold = [
        ["page served (s)", *spread([r["page"] for r in runs]), "≤ 3"],
        ["first fill-mask answer (s)", *spread([r["first"] for r in runs]), "≤ 5"],
        ["server RSS when the page is served (MB)", *spread([r["rss_page"] for r in runs], 0), ""],
        ["server RSS after the first answer (MB)", *spread([r["rss_first"] for r in runs], 0), ""],
    ]
    rows = [
        ["one client, warm: median latency (s)", f"{statistics.median(warm):.3f}"],
        [f"{CLIENTS} clients: p50 latency (s)", f"{percentile(latencies, 0.5):.3f}"],
        [f"{CLIENTS} clients: p95 latency (s)", f"{percentile(latencies, 0.95):.3f}"],
        [f"{CLIENTS} clients: throughput (requests/s)", f"{len(latencies) / wall:.1f}"],
    ]
    body = (
        f"Machine: {machine()}; 1-minute load average before the run {load:.1f}.\n\n"
        f"`python app.py` in a fresh process, {COLD_STARTS} times, on the default model **{info.name}** "
        f"({info.architectures[0]}, {info.n_layers} layers). Page served = process start until `GET /` answers; "
        "first answer = process start until a gradio_client, connected once the page is served, has its first "
        "`/fill_mask` answer. Bytecode caching on, as deployed (the first run compiles the project's modules: the "
        "max). The page is laid out without torch; the model loads in the background once the "
        "server is up (and a browser's page load gets the first tab's example answered then).\n\n"
        + table(cold, ["cold start", "min", "median", "max", "target"])
        + f"\n\nThen {CLIENTS} clients, one thread each, send {REQUESTS_PER_CLIENT} `/fill_mask` requests each over "
        f"loopback to the last server; the queue runs {os.environ.get('XLM_EXPLORER_CONCURRENCY', '2')} at once "
        "(the rest wait), so latency includes queueing.\n\n" + table(rows, ["measure", "value"])
    )
    print(body)
    write_section("App: cold start and concurrent latency", body)


if __name__ == "__main__":
    main()
