"""The Embedding map and Saliency tabs through a real server: gradio_client for every endpoint (the pipelines'
answers, exports, PNG/SVG drawn on the server, bad inputs answered with a message while the server keeps serving,
XLM-R too), and a headless Chromium that renders both tabs and saves their screenshots."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pytest
from _app_server import xlmr_app
from _browser import CHROMIUM, open_tab, opened, shoot

from components.common import discover, folder_of
from components.embedding_map import MAX_CHARS as MAP_CHARS
from xlm.pipelines.embedding_map import MAX_SENTENCES, EmbeddingMapPipeline
from xlm.pipelines.inputs import MAX_SALIENCY_CHARS as SALIENCY_CHARS
from xlm.pipelines.saliency import SaliencyPipeline

MODELS = discover()
needs_xlm = pytest.mark.skipif(not MODELS, reason="no embedded model in assets/ yet")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (make chromium)"
)
FILL, QA, CLASS = "Fill-mask guess", "Question-answering span", "Class (text classification)"


@pytest.fixture(scope="module")
def model() -> str:
    return MODELS[0].path


def figure(plot: dict) -> dict:
    assert plot["type"] == "plotly"
    return json.loads(plot["plot"])


def rows(frame: dict) -> list[dict]:
    return [dict(zip(frame["headers"], row, strict=True)) for row in frame["data"]]


def exported(files: list[str], suffix: str) -> Path:
    return Path(next(f for f in files if f.endswith(suffix)))


# -- embedding map -------------------------------------------------------------------------------------------------
def test_map_draws_what_the_pipeline_computes(client, model):
    text, layer, _note = client.predict(model, api_name="/embedding_map_setup")
    layers = MODELS[0].n_layers
    assert layer["value"] == layers // 2 and f"0 to {layers}" in layer["info"]
    assert text.count("\n\n") == 3  # four meanings, one block each
    plot, summary, frame, files = client.predict(text, 1, False, model, api_name="/embedding_map")
    expected = EmbeddingMapPipeline(folder_of(model), device="cpu")(text, layer=1)
    table = rows(frame)
    assert [r["sentence"] for r in table] == [s["text"] for s in expected["sentences"]]
    assert [r["cosine"] for r in table] == [round(n["cosine"], 4) for n in expected["neighbours"]]
    assert f"({expected['accuracy']:.0%})" in summary and "Layer 1 of" in summary
    traces = [t for t in figure(plot)["data"] if t.get("mode") == "markers+text"]
    assert {t["name"] for t in traces} == {s["lang"] for s in expected["sentences"]}
    points = {(round(x, 4), round(y, 4)) for t in traces for x, y in zip(t["x"], t["y"], strict=True)}
    assert points == {(round(x, 4), round(y, 4)) for x, y in expected["points"]}
    data = json.loads(exported(files, ".json").read_text(encoding="utf-8"))
    assert data["points"] == expected["points"] or np.allclose(data["points"], expected["points"], atol=1e-5)
    assert exported(files, ".csv").read_text(encoding="utf-8").startswith("lang,sentence,nearest")


@needs_chromium
def test_map_and_saliency_export_png_and_svg_drawn_on_the_server(client, model):
    text, *_ = client.predict(model, api_name="/embedding_map_setup")
    client.predict(text, 2, True, model, api_name="/embedding_map")  # the session's map
    for files in (
        client.predict(api_name="/embedding_map_images"),
        _saliency_images(client, model),
    ):
        png, svg = exported(files, ".png"), exported(files, ".svg")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")


def _saliency_images(client, model: str) -> list[str]:
    _note, _lang, text, question, _choice = client.predict(FILL, model, api_name="/saliency_target")
    client.predict(FILL, text, question["value"] or "", "en", model, api_name="/saliency")
    return client.predict(api_name="/saliency_images")


def test_image_export_without_chromium_says_what_is_missing(monkeypatch, tmp_path):
    import gradio as gr
    import plotly.graph_objects as go

    from components.figure_export import image_files

    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chromium"))  # where kaleido looks first
    with pytest.raises(gr.Error, match="needs Chromium on the server") as refused:
        image_files({"bars": go.Figure(go.Bar(y=[1, 2]))}, "test")
    assert str(tmp_path) not in str(refused.value)  # no server path in the message


def test_images_before_a_run_are_refused_and_limits_are_stated(server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    import app

    fresh = Client(server, verbose=False)
    for endpoint in ("/embedding_map_images", "/saliency_images"):
        with pytest.raises(AppError, match="Nothing to export yet"):
            fresh.predict(api_name=endpoint)
    infos = [str(getattr(b, "info", "")) for b in app.demo.blocks.values()]
    assert any(f"{MAP_CHARS:,} characters" in i and f"at most {MAX_SENTENCES} sentences" in i for i in infos)
    assert any(f"{SALIENCY_CHARS:,} characters" in i and "exactly one <mask>" in i for i in infos)


# -- saliency ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [FILL, QA, CLASS])
def test_saliency_shows_the_pipeline_over_the_tokens(client, model, target):
    from components.common import model_for
    from components.saliency import TARGETS

    note, lang, text, question, _ = client.predict(target, model, api_name="/saliency_target")
    assert question["visible"] == (target == QA)
    chosen = lang["value"]
    plot, summary, frame, files, choice, marked = client.predict(
        target, text, question["value"] or "", chosen, model, api_name="/saliency"
    )
    kind = TARGETS[target]
    pipe = SaliencyPipeline(folder_of(model_for(kind, model)[0]), target=kind, device="cpu")
    item = {"question": question["value"], "context": text} if kind == "question-answering" else text
    expected = pipe(item, lang=chosen)
    table = rows(frame)
    assert [r["token"] for r in table] == expected["tokens"]
    np.testing.assert_allclose(
        [r["gradient × input"] for r in table], expected["gradient_x_input"], atol=1e-5
    )
    assert sum(r["rollout"] for r in table) == pytest.approx(1.0, abs=len(table) * 1e-5)
    assert [r["position"] for r in table if r["predicting"]] == sorted(set(expected["positions"]))
    assert repr(expected["explained"]) in summary and (note in summary)
    assert len(figure(plot)["data"]) == 2  # gradient × input above, rollout below
    assert marked.count('class="sal-token"') == 2 * len(table)  # the tokens shaded by each measure
    assert html.escape(expected["tokens"][1]) in marked
    assert choice["value"] == 0 and len(choice["choices"]) == len(expected["choices"])
    data = json.loads(exported(files, ".json").read_text(encoding="utf-8"))
    assert data["tokens"] == expected["tokens"] and "rollout_matrix" not in data

    second = client.predict(
        target, text, question["value"] or "", chosen, 1, model, api_name="/saliency_choice"
    )
    assert repr(pipe(item, lang=chosen, choice=1)["explained"]) in second[1] and second[4]["value"] == 1


def test_saliency_setup_follows_the_model_and_target(client, model):
    from components.common import model_for, read_info

    for target, kind in ((QA, "question-answering"), (CLASS, "text-classification"), (FILL, "fill-mask")):
        note, lang, text, question, choice = client.predict(target, model, api_name="/saliency_setup")
        path, expected_note = model_for(kind, model)
        assert note == expected_note and lang["choices"] == [[c, c] for c in read_info(path).languages]
        assert question["visible"] == (kind == "question-answering") and choice["choices"] == []
        assert ("<mask>" in text) == (kind == "fill-mask")


def _valid_map(model: str) -> tuple:
    return ("en | The cat sleeps .\nfr | Le chat dort .", 1, False, model)


BAD_INPUTS = [
    ("/embedding_map", ("en | a\n\nen | b", 1, False), "All sentences are in one language"),
    ("/embedding_map", ("", 1, False), "at least two sentences"),
    ("/embedding_map", ("en | a\nen | b", 1, False), "appears twice in one block"),
    (
        "/embedding_map",
        ("\n\n".join(f"en | s{i}\nfr | t{i}" for i in range(40)), 1, False),
        "Too many sentences",
    ),
    ("/embedding_map", ("en | " + "a" * MAP_CHARS + "\nfr | b", 1, False), "too long"),
    ("/embedding_map", ("en | a\nfr | b", 99, False), "There is no layer 99"),
    ("/embedding_map", ("en | a\nfr | b", -1, False), "Layer must be between 0"),
    ("/embedding_map", ("en | a\nfr | b", "one", False), "must be a number"),
    ("/embedding_map", ("en | a\nfr | b", 1, "yes"), "true or false"),
    ("/embedding_map", (["en | a"], 1, False), "must be text"),
    ("/embedding_map", ("en | a\nxx | b", 1, False), "Unknown language 'xx'"),
    ("/saliency", ("Everything", "A <mask> .", "", "en"), "not in the list of choices"),
    ("/saliency", (FILL, "A <mask> and a <mask> .", "", "en"), "exactly one <mask>"),
    ("/saliency", (FILL, "No mask here .", "", "en"), "exactly one <mask>"),
    ("/saliency", (FILL, "", "", "en"), "empty"),
    ("/saliency", (FILL, 42, "", "en"), "must be text"),
    ("/saliency", (QA, "The tower is tall .", "", "en"), "question is empty"),
    ("/saliency_choice", (FILL, "A <mask> .", "", "en", 7), "not in the list of choices"),
]


@pytest.mark.parametrize(
    ("endpoint", "args", "message"), BAD_INPUTS, ids=[f"{e}-{m}" for e, _, m in BAD_INPUTS]
)
def test_bad_input_is_one_clear_message_and_the_server_still_answers(client, model, endpoint, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, model, api_name=endpoint)
    _plot, _summary, frame, _files = client.predict(*_valid_map(model), api_name="/embedding_map")
    assert len(frame["data"]) == 2


# -- XLM-RoBERTa (no language embeddings) ---------------------------------------------------------------------------
def test_xlmr_map_and_saliency(make_xlmr, tmp_path_factory):
    from gradio_client import Client

    with xlmr_app(make_xlmr, tmp_path_factory.mktemp("xlmr-assets")) as (url, folder):
        client = Client(url, verbose=False)
        text, _layer, note = client.predict(folder.name, api_name="/embedding_map_setup")
        assert "no language embeddings" in note and text.count("\n\n") == 3
        _plot, summary, frame, _files = client.predict(text, 2, False, folder.name, api_name="/embedding_map")
        expected = EmbeddingMapPipeline(folder, device="cpu")(text, layer=2)
        assert [r["cosine"] for r in rows(frame)] == [round(n["cosine"], 4) for n in expected["neighbours"]]
        _note, lang, text, _question, _ = client.predict(FILL, folder.name, api_name="/saliency_target")
        assert lang["interactive"] is False
        _plot, summary, frame, *_ = client.predict(FILL, text, "", None, folder.name, api_name="/saliency")
        expected = SaliencyPipeline(folder, device="cpu")(text)
        assert [r["token"] for r in rows(frame)] == expected["tokens"]
        assert repr(expected["explained"]) in summary


# -- in a real browser ----------------------------------------------------------------------------------------------
@pytest.mark.browser
@needs_chromium
@needs_xlm
def test_both_tabs_render_in_chromium(browser, server):
    with opened(browser, server) as page:
        open_tab(page, "Embedding map")
        page.get_by_role("button", name="Draw the map", exact=True).click()
        page.locator("#map-plot .js-plotly-plot .scatterlayer .point").first.wait_for()
        assert page.locator("#map-plot .scatterlayer .point").count() == 16  # 4 meanings × 4 languages
        page.get_by_text("Nearest neighbour across languages").first.wait_for()
        page.get_by_role("button", name="Export the map as PNG and SVG", exact=True).click()
        page.locator("#embedding_map-images").get_by_text(".svg").wait_for()  # drawn on the server
        page.wait_for_timeout(1000)
        shoot(page, "15-embedding-map")
        open_tab(page, "Saliency")
        page.get_by_role("button", name="Explain", exact=True).click()
        page.locator("#saliency-plot .js-plotly-plot .bars .point path").first.wait_for()
        page.get_by_text("Explaining the").first.wait_for()
        assert page.locator("#saliency-tokens .sal-token").count() == 2 * 12  # 12 tokens, shaded twice
        page.wait_for_timeout(1000)
        shoot(page, "16-saliency")
