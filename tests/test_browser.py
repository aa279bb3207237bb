"""The app in a real headless Chromium: fill-mask, QA and attention render, PNG export works, no console errors;
fill-mask and the attention explorer also on a small random XLM-RoBERTa.

Screenshots of every tab go to test-artifacts/screenshots/ (printed). Needs /usr/bin/chromium (`make chromium`);
the XLM tests need an embedded model in assets/ (or $XLM_EXPLORER_ASSETS) and are skipped with a reason otherwise.
"""

from __future__ import annotations

import pytest
from _app_server import serving, xlmr_app
from _browser import CHROMIUM, SHOTS, open_tab, opened, shoot

from components.common import discover

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (run `make chromium`)"),
]
needs_xlm = pytest.mark.skipif(not discover(), reason="no embedded model in assets/ yet")


@pytest.fixture(scope="module")
def url():
    with serving() as url:
        yield url


@pytest.fixture(scope="module")
def xlmr_url(make_xlmr, tmp_path_factory):
    """The app over an XLM-R-only assets folder (its default model: a small random XLM-R masked LM)."""
    with xlmr_app(make_xlmr, tmp_path_factory.mktemp("xlmr-assets")) as (url, _model):
        yield url


@pytest.fixture()
def page(browser, url):
    with opened(browser, url) as page:
        yield page


@pytest.fixture()
def xlmr_page(browser, xlmr_url):
    with opened(browser, xlmr_url) as page:
        yield page


@needs_xlm
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
    words = page.locator("#fill-mask-words label").filter(has_not_text="<mask>")
    words.first.click()  # mask the first word that is not the mask: the text gets a second mask
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea')].some(t => (t.value.match(/<mask>/g) || []).length == 2)"
    )


@needs_xlm
def test_the_first_tab_arrives_answered(page):
    """Nothing pressed: the page load runs the fill-mask example shown, and the chart holds the pipeline's guesses."""
    from xlm.pipelines import pipeline

    plot = page.locator("#fill-mask-plot")
    plot.locator(".js-plotly-plot .bars .point path").first.wait_for()
    assert plot.locator(".bars .point path").count() == 5
    text = page.get_by_label("Text with <mask>").input_value()
    model = discover()[0]
    lang = page.get_by_label("Language").first.input_value() or None
    guesses = pipeline("fill-mask", model.path)(text, lang=lang, top_k=5)
    drawn = " ".join(plot.locator("svg text").all_text_contents())
    assert all(g["token_str"] in drawn for g in guesses), (drawn, guesses)


@needs_xlm
def test_question_answering_highlights_the_answer(page):
    open_tab(page, "Question answering")
    page.get_by_role("button", name="Answer", exact=True).click()
    mark = page.locator("#qa-answer mark.qa-answer")
    mark.wait_for()
    assert mark.inner_text().strip()
    assert page.locator("#qa-answer .qa-context").get_attribute("dir") == "auto"


@needs_xlm
def test_attention_explorer_draws_heatmaps(page):
    open_tab(page, "Attention")
    page.get_by_role("button", name="Show attention", exact=True).click()
    page.locator("#attention-heatmap .js-plotly-plot .hm image").first.wait_for()
    page.locator("#attention-grid .js-plotly-plot .hm image").first.wait_for()
    assert page.locator("#attention-grid .hm image").count() > 1  # one small heatmap per layer × head


@needs_xlm
def test_screenshots_of_every_tab(page):
    for number, (name, buttons, result) in enumerate(TABS, start=1):
        open_tab(page, name)
        for button in buttons:
            page.get_by_role("button", name=button, exact=True).click()
        if result:
            page.locator(result).first.wait_for()
        page.wait_for_timeout(1500)  # let the other outputs of the tab settle
        shoot(page, f"{number:02d}-{name.split()[0].lower()}")
    print(f"\nscreenshots in {SHOTS}")


# -- XLM-RoBERTa ---------------------------------------------------------------------------------------------------
def test_xlmr_fill_mask_renders_with_the_language_picker_disabled(xlmr_page):
    page = xlmr_page
    open_tab(page, "Fill-mask")
    page.get_by_role("button", name="Predict", exact=True).click()
    plot = page.locator("#fill-mask-plot")
    plot.locator(".js-plotly-plot .bars .point path").first.wait_for()
    assert plot.locator(".bars .point path").count() == 5
    assert page.locator("#fill-mask-words label").count() > 3
    page.get_by_text("This model has no language embeddings").first.wait_for()
    shoot(page, "xlmr-01-fill-mask")


def test_xlmr_attention_explorer_draws_heatmaps(xlmr_page):
    page = xlmr_page
    open_tab(page, "Attention")
    page.get_by_role("button", name="Show attention", exact=True).click()
    page.locator("#attention-heatmap .js-plotly-plot .hm image").first.wait_for()
    page.locator("#attention-grid .js-plotly-plot .hm image").first.wait_for()
    assert page.locator("#attention-grid .hm image").count() == 2 * 4  # layers × heads of the test model
    shoot(page, "xlmr-02-attention")


def test_a_checkpoint_too_big_is_refused_in_a_message(xlmr_page):
    import psutil

    from components.catalogue import BY_REPO, gigabytes

    biggest = BY_REPO["facebook/xlm-roberta-xxl"]
    if psutil.virtual_memory().available >= biggest.memory_bytes:
        pytest.skip("this machine has the memory for XLM-R XXL")
    page = xlmr_page
    page.locator("#model-picker input").click()
    page.get_by_role("option", name=biggest.label()).click()
    page.get_by_text(f"needs about {gigabytes(biggest.memory_bytes)} of memory").first.wait_for()
    assert "xlmr-mini" in page.locator("#model-status").inner_text()  # the tabs stay on the model they had
    shoot(page, "xlmr-03-refused")
