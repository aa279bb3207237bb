"""The Logit lens and Language swap tabs through a real server and gradio_client (the embedded XLM model, and a
small random XLM-R), bad inputs answered with a message while the server keeps serving, and both tabs rendered in
a headless Chromium (screenshots in test-artifacts/screenshots/)."""

from __future__ import annotations

import re

import pytest
from _app_server import xlmr_app
from _browser import CHROMIUM, FLAGS, open_tab, opened, shoot
from gradio_client.exceptions import AppError
from test_app import figure, read_export, rows

from components.common import discover
from xlm.pipelines import pipeline
from xlm.pipelines.language_swap import NO_LANGUAGE, LanguageSwapPipeline
from xlm.pipelines.logit_lens import LogitLensPipeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODELS = [m for m in discover() if m.languages and not m.causal]
TEXT = "The cat is sleeping on the <mask> ."
TWO_MASKS = "The <mask> is sleeping on the <mask> ."


@pytest.fixture(scope="module")
def model() -> str:
    if not MODELS:
        pytest.skip("no embedded XLM model with languages in assets/")
    return MODELS[0].path


# -- logit lens --------------------------------------------------------------------------------------------------
def test_logit_lens_shows_every_layer_and_exports(client, model):
    found, answer, heat, frame, files = client.predict(TEXT, "en", 4, model, api_name="/logit_lens")
    direct = LogitLensPipeline(model)(TEXT, top_k=4, lang="en")
    fill = pipeline("fill-mask", model)(TEXT, top_k=4, lang="en")
    table = rows(frame)
    assert len(table) == len(direct["layers"]) == MODELS[0].n_layers + 1
    assert table[0]["layer"] == "0 (embeddings)"
    last = [table[-1][f"#{r}"] for r in range(1, 5)]
    assert last == [
        f"{g['token_str']} ({g['score']:.3f})" for g in fill
    ]  # the last layer is fill-mask's answer
    assert [r["answer rank"] for r in table] == [layer["answer_rank"] for layer in direct["layers"]]
    assert f"Final answer `{fill[0]['token_str']}`" in found
    probability, rank = figure(answer)["data"]
    assert list(rank["y"]) == [layer["answer_rank"] for layer in direct["layers"]]
    assert list(probability["y"]) == pytest.approx([layer["answer_score"] for layer in direct["layers"]])
    assert len(figure(heat)["data"][0]["text"]) == len(direct["layers"])
    exported = read_export(files, ".json")
    assert exported["text"] == TEXT and exported["layers"] == direct["layers"]
    csv = read_export(files, ".csv").splitlines()
    assert csv[0] == "layer,rank,token,token_id,probability,is_final_answer"
    assert len(csv) == 1 + 4 * len(direct["layers"])


def test_logit_lens_setup_offers_the_languages(client, model):
    _note, lang = client.predict(model, api_name="/logit_lens_setup")
    assert sorted(value for _, value in lang["choices"]) == sorted(MODELS[0].languages)
    assert lang["value"] == "en"


# -- language swap -----------------------------------------------------------------------------------------------
def test_swap_to_the_same_language_moves_nothing(client, model):
    moved, _bars, _heat, shift, frame, _files = client.predict(
        TEXT, "en", "en", 3, "mean", model, api_name="/language_swap"
    )
    table = rows(frame)
    assert [r["own: token"] for r in table] == [r["swapped: token"] for r in table]
    fill = pipeline("fill-mask", model)(TEXT, top_k=3, lang="en")
    assert [r["own: token"] for r in table] == [g["token_str"] for g in fill]
    assert "KL = 0.000 nats, top-3 overlap 100%, same top guess" in moved
    assert list(figure(shift)["data"][0]["y"]) == [0.0] * MODELS[0].n_layers


@pytest.mark.parametrize("other", ["fr", NO_LANGUAGE])
def test_swap_shows_both_runs_and_how_far_they_move(client, model, other):
    moved, bars, heat, shift, frame, files = client.predict(
        TWO_MASKS, "en", other, 5, "1", model, api_name="/language_swap"
    )
    direct = LanguageSwapPipeline(model)(TWO_MASKS, lang="en", other=other, top_k=5)
    for m, shifted in enumerate(direct["shift"]["masks"]):
        assert f"mask {m + 1}: KL = {shifted['kl']:.3f} nats, top-5 overlap {shifted['overlap']:.0%}" in moved
    table = rows(frame)
    assert len(table) == 2 * 5
    assert [r["swapped: token"] for r in table[:5]] == [
        g["token_str"] for g in direct["runs"][1]["predictions"][0]
    ]
    assert len(figure(bars)["data"]) == 2 * 2  # two masks × two runs
    assert len(figure(heat)["data"]) == 2  # the two runs' attention side by side
    assert list(figure(shift)["data"][0]["y"]) == pytest.approx(direct["shift"]["attention"])
    exported = read_export(files, ".json")
    assert exported["other"] == other and exported["shift"] == direct["shift"]
    assert (
        read_export(files, ".csv").splitlines()[0] == "mask,rank,own: token,own: p,swapped: token,swapped: p"
    )


def test_swap_setup_offers_languages_and_none(client, model):
    _note, lang, other, layers = client.predict(model, api_name="/language_swap_setup")
    values = [value for _, value in other["choices"]]
    assert values[-1] == NO_LANGUAGE and sorted(values[:-1]) == sorted(MODELS[0].languages)
    assert lang["value"] == "en" and other["value"] == "fr"
    assert len(layers["choices"]) == MODELS[0].n_layers + 1


# -- bad input: a clear message, and the server keeps serving --------------------------------------------------
BAD_INPUTS = [
    ("/logit_lens", ("No mask here .", "en", 5), "No mask token"),
    ("/logit_lens", (TWO_MASKS, "en", 5), "one mask at a time and the text has 2"),
    ("/logit_lens", (TEXT, "xx", 5), "Unknown language 'xx'"),
    ("/logit_lens", ("   ", "en", 5), "The text is empty"),
    ("/logit_lens", ("", "en", 5), "The text is empty"),
    ("/logit_lens", (42, "en", 5), "must be text, not a number"),
    ("/logit_lens", (TEXT, "en", "five"), "must be a number, not text"),
    ("/logit_lens", (TEXT, "en", 11), "between 1 and 10"),
    ("/language_swap", ("No mask here .", "en", "fr", 5, "mean"), "No mask token"),
    ("/language_swap", (TEXT, "en", "xx", 5, "mean"), "Unknown language 'xx'"),
    ("/language_swap", (TEXT, None, "fr", 5, "mean"), "own language"),
    ("/language_swap", (TEXT, "en", None, 5, "mean"), "language to swap in"),
    ("/language_swap", ("", "en", "fr", 5, "mean"), "The text is empty"),
    ("/language_swap", (TEXT, "en", "fr", 5, "99"), "99 is not in the list of choices"),
    ("/language_swap", (TEXT, "en", "fr", [5], "mean"), "must be a number, not a list"),
    ("/language_swap", (TEXT, 7.5, "fr", 5, "mean"), "Unknown language '7.5'"),
]


@pytest.mark.parametrize(
    ("endpoint", "args", "message"), BAD_INPUTS, ids=[f"{e}-{m}" for e, _, m in BAD_INPUTS]
)
def test_bad_input_is_a_clear_error_and_the_server_still_answers(client, model, endpoint, args, message):
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(*args, model, api_name=endpoint)
    _found, _answer, _heat, frame, _files = client.predict(TEXT, "en", 2, model, api_name="/logit_lens")
    assert len(rows(frame)) == MODELS[0].n_layers + 1


# -- XLM-RoBERTa -------------------------------------------------------------------------------------------------
def test_both_views_export_their_charts_as_png_and_svg(client, model):
    """The charts of the session's last run, drawn on the server (kaleido with the installed Chromium)."""
    from pathlib import Path

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (run `make chromium`)")
    client.predict(TEXT, "en", 3, model, api_name="/logit_lens")
    client.predict(TEXT, "en", "fr", 3, "mean", model, api_name="/language_swap")
    for endpoint, names in [
        ("/logit_lens_images", {"answer", "layers"}),
        ("/language_swap_images", {"guesses", "attention", "shift"}),
    ]:
        files = [Path(f) for f in client.predict(api_name=endpoint)]
        assert {f.stem.rsplit("-", 1)[-1] for f in files} == names and {f.suffix for f in files} == {
            ".png",
            ".svg",
        }
        for png in (f for f in files if f.suffix == ".png"):
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="class")
def xlmr(make_xlmr, tmp_path_factory):
    """(client, model folder) of the app over a small random XLM-R; class-scoped, as the environment points at its
    assets only while it runs."""
    from gradio_client import Client

    with xlmr_app(make_xlmr, tmp_path_factory.mktemp("xlmr-assets")) as (url, folder):
        yield Client(url, verbose=False), str(folder)


class TestXLMRoberta:
    def test_lens_reads_through_the_whole_lm_head(self, xlmr):
        client, model = xlmr
        found, _answer, _heat, frame, _files = client.predict(TEXT, None, 3, model, api_name="/logit_lens")
        fill = pipeline("fill-mask", model)(TEXT, top_k=3)
        last = [rows(frame)[-1][f"#{r}"] for r in (1, 2, 3)]
        assert last == [f"{g['token_str']} ({g['score']:.3f})" for g in fill]
        assert "dense → GELU → LayerNorm" in found

    def test_swap_says_there_is_nothing_to_swap(self, xlmr):
        client, model = xlmr
        note, lang, other, _layers = client.predict(model, api_name="/language_swap_setup")
        assert "XLM-RoBERTa models have no language embeddings" in note
        assert not lang["interactive"] and not other["interactive"]
        with pytest.raises(AppError, match="XLM-RoBERTa models have no language embeddings"):
            client.predict(TEXT, "en", "fr", 5, "mean", model, api_name="/language_swap")
        assert rows(client.predict(TEXT, None, 2, model, api_name="/logit_lens")[3])  # still serving


# -- Chromium ----------------------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (run `make chromium`)")
def test_both_tabs_render_in_chromium(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        with opened(browser, server) as page:
            open_tab(page, "Logit lens")
            page.get_by_role("button", name="Read every layer", exact=True).click()
            page.locator("#lens-heatmap .js-plotly-plot .hm image").first.wait_for()
            page.locator("#lens-answer .js-plotly-plot .scatterlayer .trace").first.wait_for()
            assert "Final answer" in page.locator("#lens-summary").inner_text()
            page.wait_for_timeout(1000)
            shoot(page, "lens-01-logit-lens")
            open_tab(page, "Language swap")
            page.get_by_role("button", name="Swap the language", exact=True).click()
            page.locator("#swap-heat .js-plotly-plot .hm image").first.wait_for()
            page.locator("#swap-bars .bars .point path").first.wait_for()
            assert page.locator("#swap-bars .bars .point path").count() == 2 * 5  # both runs' top-5
            assert "KL =" in page.locator("#swap-summary").inner_text()
            page.wait_for_timeout(1000)
            shoot(page, "lens-02-language-swap")
        browser.close()
