"""The app as a real server for tests: a free port, the app built for a given assets folder, launched and closed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# The XLM-R models an XLM-R app serves: the default masked LM and a QA model (other heads are random there).
XLMR_ASSETS = {"xlmr-mini": "XLMRobertaForMaskedLM", "xlmr-mini-qa": "XLMRobertaForQuestionAnswering"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(demo=None) -> Iterator[str]:
    """Launch ``demo`` (default: the app built at import) on a free port of 127.0.0.1; yield its URL."""
    import app

    blocks = demo or app.demo
    port = free_port()
    app.launch(blocks, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        blocks.close()


def xlmr_assets(make_xlmr: Callable[..., Path], root: Path) -> Path:
    """An assets folder holding only small random XLM-R checkpoints (see :data:`XLMR_ASSETS`)."""
    for name, head in XLMR_ASSETS.items():
        if not (root / name).is_dir():
            shutil.copytree(make_xlmr(head, seed=1), root / name)
    return root


@contextmanager
def xlmr_app(make_xlmr: Callable[..., Path], root: Path) -> Iterator[tuple[str, Path]]:
    """The app built over an XLM-R-only assets folder, served; yields (URL, the default model's folder). The
    environment points at that folder while it runs."""
    import app  # built at import with the environment as it is: before pointing it elsewhere
    from components.common import ASSETS_ENV, MODEL_ENV

    assets = xlmr_assets(make_xlmr, root)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ASSETS_ENV, str(assets))
        env.delenv(MODEL_ENV, raising=False)
        with serving(app.build_demo()) as url:
            yield url, assets / "xlmr-mini"


def call_raw(url: str, api_name: str, body: str) -> tuple[str, Any]:
    """Call an endpoint with a request body written by hand (NaN, lone surrogates, too few values: what
    gradio_client cannot send); return the final event ("complete" or "error") and its data."""
    import httpx

    started = httpx.post(
        f"{url}gradio_api/call/{api_name.strip('/')}",
        content=body.encode(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    started.raise_for_status()
    stream = httpx.get(
        f"{url}gradio_api/call/{api_name.strip('/')}/{started.json()['event_id']}", timeout=120
    )
    event, data = "", None
    for line in stream.text.splitlines():
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data = json.loads(line.partition(":")[2])
    return event, data


class PeakRSS:
    """The highest resident memory of this process (where the test server runs) while the block runs, sampled
    every 5 ms: ``with PeakRSS() as peak: ...; peak.growth`` in bytes above the start."""

    def __enter__(self) -> PeakRSS:
        import psutil

        self._process = psutil.Process()
        self.start = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start
