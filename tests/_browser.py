"""A real headless Chromium for the app's browser tests: where it is, how it starts, a page on the app that fails
the test on any console error, tab switching that copes with Gradio's "More tabs" menu, screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
TIMEOUT_MS = 60_000


@contextmanager
def opened(browser, url: str) -> Iterator:
    """A fresh page on the app at ``url``; fails the test if the browser logged an error."""
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


def open_tab(page, name: str, timeout_s: float = 30) -> None:
    """Click a tab in the tab row, or in Gradio's "More tabs" menu once the row has moved it there. The row settles
    after the page is drawn (a tab seen at first may move into the menu), so this looks again until either shows."""
    tab = page.get_by_role("tab", name=name, exact=True).filter(visible=True)
    more = page.get_by_role("button", name="More tabs").filter(visible=True)
    for _ in range(int(timeout_s / 0.25)):
        page.wait_for_timeout(250)
        if tab.count():
            tab.click()
            return
        if more.count():
            more.click()
            page.locator(".overflow-dropdown").get_by_role("button", name=name, exact=True).click()
            return
    raise AssertionError(f"no tab {name!r} in the tab row or its menu")


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
