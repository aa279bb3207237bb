"""The app in a real headless Chromium: fill-mask, QA and attention render, PNG export works, no console errors.

Screenshots of every tab go to test-artifacts/screenshots/ (printed). Needs /usr/bin/chromium (`make chromium`)
and an embedded model in assets/ (or $XLM_EXPLORER_ASSETS); skipped with a reason otherwise.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from components.common import discover

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Each tab, the buttons to press before its screenshot, and an element that shows the result arrived.
TABS = [
    ("Fill-mask", ["Predict"], "#fill-mask-plot .bars"),
    ("Cross-lingual (TLM)", ["Predict with the translation"], "#cross-heat .hm image"),
    ("Generation", ["Generate"], None),
    ("Question answering", ["Answer"], "#qa-answer .qa-context"),
    ("Classification", ["Classify the text", "Tag the words"], "#clf-label h2"),
    ("Attention", ["Show attention"], "#attention-grid .hm image"),
    ("Tokenizer", ["Tokenize"], "#tokenizer-steps li"),
    ("Compare languages", ["Compare"], "#compare-bars .bars"),
    ("Model", [], "#model-card h3"),
]
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (run `make chromium`)"),
    pytest.mark.skipif(not discover(), reason="no embedded model in assets/ yet"),
]


@pytest.fixture(scope="module")
def url():
    import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, url):
    """A fresh page on the app; fails the test if the browser logged an error."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("heading", name="XLM Explorer").wait_for()
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def test_fill_mask_renders_bars_and_exports_png(page):
    open_tab(page, "Fill-mask")
    page.get_by_role("button", name="Predict", exact=True).click()
    plot = page.locator("#fill-mask-plot")
    plot.locator(".js-plotly-plot .bars .point path").first.wait_for()
    assert plot.locator(".bars .point path").count() == 5  # top-k = 5 bars
    assert page.locator("#fill-mask-words label").count() > 3  # the words one can click to mask
    plot.locator(".js-plotly-plot").hover()
    with page.expect_download() as download:
        plot.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
    assert download.value.suggested_filename.endswith(".png")
    page.locator("#fill-mask-words label").first.click()  # mask the first word: the text gets a second mask
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea')].some(t => (t.value.match(/<mask>/g) || []).length == 2)"
    )


def test_question_answering_highlights_the_answer(page):
    open_tab(page, "Question answering")
    page.get_by_role("button", name="Answer", exact=True).click()
    mark = page.locator("#qa-answer mark.qa-answer")
    mark.wait_for()
    assert mark.inner_text().strip()
    assert page.locator("#qa-answer .qa-context").get_attribute("dir") == "auto"


def test_attention_explorer_draws_heatmaps(page):
    open_tab(page, "Attention")
    page.get_by_role("button", name="Show attention", exact=True).click()
    page.locator("#attention-heatmap .js-plotly-plot .hm image").first.wait_for()
    page.locator("#attention-grid .js-plotly-plot .hm image").first.wait_for()
    assert page.locator("#attention-grid .hm image").count() > 1  # one small heatmap per layer × head


def test_screenshots_of_every_tab(page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for number, (name, buttons, result) in enumerate(TABS, start=1):
        open_tab(page, name)
        for button in buttons:
            page.get_by_role("button", name=button, exact=True).click()
        if result:
            page.locator(result).first.wait_for()
        page.wait_for_timeout(1500)  # let the other outputs of the tab settle
        path = SHOTS / f"{number:02d}-{name.split()[0].lower()}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
    print(f"\nscreenshots in {SHOTS}")
