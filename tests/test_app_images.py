"""PNG and SVG of every plotted tab's charts, drawn on the server from the figures of the visitor's last run (never
from a figure a client sends), through the app's named endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from _browser import CHROMIUM
from gradio_client.exceptions import AppError
from test_app import NO_MODEL, base  # noqa: F401 (a fixture)

from components.common import discover

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (run `make chromium`)"
)


def _runs(model, lang: str) -> list[tuple[str, tuple, set[str]]]:
    """(endpoint, its arguments, the charts its image export must hold) of every plotted tab."""
    other = next((x for x in model.languages if x != lang), lang)
    context = "The Eiffel Tower is 330 metres tall. It was built in 1889 for the World's Fair in Paris."
    return [
        ("/fill_mask", ("The cat is sleeping on the <mask> .", lang, 3, model.path), {"guesses"}),
        (
            "/cross_lingual",
            (
                "The file could not be <mask> .",
                lang,
                "Le fichier n'a pas pu être ouvert .",
                other,
                3,
                "mean",
                model.path,
            ),
            {"guesses", "attention", "cross_share"},
        ),
        ("/answer", (context, "When was it built?", lang, lang, "simple", 2, False, model.path), {"spans"}),
        (
            "/attention",
            ("The cat sleeps .", lang, "", None, "mean", "mean", model.path),
            {"grid", "tokens", "looks"},
        ),
        (
            "/compare",
            (
                f"{lang} | I would like a cup of <mask> .\n{other} | Je voudrais une tasse de <mask> .",
                3,
                "0",
                model.path,
            ),
            {"guesses", "attention"},
        ),
    ]


def test_every_plotted_tab_exports_its_charts(client, base):  # noqa: F811 (the fixture)
    model, lang = base
    for endpoint, args, charts in _runs(model, lang):
        images = f"{endpoint}_images" if endpoint != "/answer" else "/answer_images"
        client.predict(*args, api_name=endpoint)
        files = [Path(f) for f in client.predict(api_name=images)]
        assert {f.stem.rsplit("-", 1)[-1] for f in files} == charts, endpoint
        assert sorted(f.suffix for f in files) == sorted([".png", ".svg"] * len(charts))
        for png in (f for f in files if f.suffix == ".png"):
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000


def test_an_export_before_any_run_is_refused(server):
    from gradio_client import Client

    if not discover():
        pytest.skip(NO_MODEL)
    fresh = Client(server, verbose=False)
    for endpoint in (
        "/fill_mask_images",
        "/cross_lingual_images",
        "/answer_images",
        "/attention_images",
        "/compare_images",
    ):
        with pytest.raises(AppError, match="Nothing to export yet"):
            fresh.predict(api_name=endpoint)
