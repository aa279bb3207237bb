"""PNG and SVG of the app's plots, drawn on the server for papers and slides.

kaleido (a registry package) drives the Chromium the project installs (``make chromium``) over its DevTools
protocol and takes plotly.js from the plotly package: it works offline. Each export starts one headless Chromium
(about 3-5 s on 2 cores) and exports run one at a time (:data:`IMAGE_WORK`), so tabs offer it behind a button of
its own rather than on every run (:func:`images_button`). The figures are redrawn from the tab's own state: the
server renders only figures it made, never a figure sent by a client.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from .common import EXPORT_DIR, LOG, friendly, refuse

PNG_SCALE = 2  # twice the screen size: sharp in print
WIDTH, HEIGHT = 1000, 600  # for figures that do not set their own
TIMEOUT_S = 60
# A Gradio lane of its own: one Chromium at a time, and model work is never kept waiting behind it.
IMAGE_WORK = {"concurrency_id": "images", "concurrency_limit": 1}
FORMATS = ("png", "svg")
_one_at_a_time = threading.Lock()


def image_files(figures: dict[str, go.Figure], stem: str) -> list[str]:
    """Write each figure as ``{stem}-{name}.png`` and ``.svg`` in a fresh export folder; return the paths (for a
    gr.File). Failures become one line for the page (a missing Chromium says how to install it)."""
    if not figures:
        raise refuse("Nothing to export yet: run the view first.")
    folder = EXPORT_DIR / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [
        {
            "fig": fig,
            "path": folder / f"{stem}-{name}.{fmt}",
            "opts": {
                "format": fmt,
                "width": fig.layout.width or WIDTH,
                "height": fig.layout.height or HEIGHT,
                "scale": PNG_SCALE if fmt == "png" else 1,
            },
        }
        for name, fig in figures.items()
        for fmt in FORMATS
    ]
    _render(jobs)
    missing = [job["path"].name for job in jobs if not Path(job["path"]).is_file()]
    if missing:
        raise refuse(f"The image export wrote no {', '.join(missing)}; the CSV/JSON downloads still work.")
    return [str(job["path"]) for job in jobs]


def _render(jobs: list[dict]) -> None:
    try:
        import kaleido
        from choreographer.errors import ChromeNotFoundError
    except ImportError:
        raise refuse(
            "PNG/SVG export needs the kaleido package on the server (pip install -r requirements.txt); the "
            "CSV/JSON downloads still work."
        ) from None
    try:
        with _one_at_a_time:
            kaleido.write_fig_from_object_sync(jobs, kopts={"timeout": TIMEOUT_S, "mathjax": False})
    except ChromeNotFoundError:
        raise refuse(
            "PNG/SVG export needs Chromium on the server (make chromium, or apt-get install chromium); the "
            "CSV/JSON downloads still work."
        ) from None
    except Exception as err:  # a browser that crashed or timed out: the page gets one line, the log the rest
        LOG.exception("image export failed")
        raise refuse(
            f"The image export failed ({type(err).__name__}); the CSV/JSON downloads still work."
        ) from None


def images_button(
    state: gr.State,
    figures_of: Callable[[Any], dict[str, go.Figure]],
    stem: str,
    api_name: str,
    label: str = "Export the chart as PNG and SVG",
) -> gr.File:
    """A button under a tab's results that draws ``figures_of(state)`` as PNG and SVG files (``stem-name.png``)
    and offers them in the returned gr.File (``elem_id``: ``{stem}-images``); an empty state is refused."""
    button = gr.Button(label, size="sm")
    files = gr.File(label="Images (PNG, SVG)", file_count="multiple", elem_id=f"{stem}-images")

    @friendly
    def draw(value: Any) -> list[str]:
        return image_files(figures_of(value) if value else {}, stem)

    button.click(draw, state, files, api_name=api_name, **IMAGE_WORK)
    return files


def keeping_figures(fn: Callable[..., tuple], *names: str) -> Callable[..., tuple]:
    """``fn`` (a handler returning a tuple of outputs) that also returns, last, the plotly figures among its outputs
    by ``names`` in their order: the value of a ``gr.State`` that :func:`images_button` draws from."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        out = fn(*args, **kwargs)
        figures = [x for x in out if isinstance(x, go.Figure)]
        return (*out, dict(zip(names, figures, strict=False)))

    return wrapper
