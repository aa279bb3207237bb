"""The app through a real server and gradio_client: every endpoint, bad inputs, and the plot functions.

Runs on the embedded models in assets/ (or $XLM_EXPLORER_ASSETS); skipped with a reason where there is none.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from components import plots
from components.common import discover, model_for

MODELS = discover()
NO_MODEL = "no embedded model in assets/ yet (train one or set XLM_EXPLORER_ASSETS)"


@pytest.fixture(scope="module")
def base():
    """The default model (a masked LM) and one of its languages, English when it has it."""
    if not MODELS:
        pytest.skip(NO_MODEL)
    model = MODELS[0]
    lang = "en" if "en" in model.languages else (model.languages[0] if model.languages else "")
    return model, lang


def config_of(path: str) -> dict:
    return json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))


def figure(plot: dict) -> dict:
    """The Plotly figure a gr.Plot output carries."""
    assert plot["type"] == "plotly"
    return json.loads(plot["plot"])


def array(value) -> np.ndarray:
    """A Plotly JSON array: a plain list, or a typed array ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(value)


def rows(frame: dict) -> list[dict]:
    return [dict(zip(frame["headers"], row, strict=True)) for row in frame["data"]]


def read_export(files: list[str], suffix: str):
    path = next(f for f in files if f.endswith(suffix))
    return json.loads(Path(path).read_text(encoding="utf-8")) if suffix == ".json" else Path(path).read_text()


# -- every endpoint --------------------------------------------------------------------------------------------
def test_fill_mask_matches_the_pipeline_and_exports(client, base):
    from xlm.pipelines import pipeline

    model, lang = base
    text = "The cat is sleeping on the <mask> ."
    plot, frame, files, words = client.predict(text, lang, 4, model.path, api_name="/fill_mask")
    table = rows(frame)
    direct = pipeline("fill-mask", model.path)(text, top_k=4, lang=lang or None)
    assert [r["token"] for r in table] == [g["token_str"] for g in direct]
    # the table shows scores rounded to 4 decimals
    assert [r["score"] for r in table] == pytest.approx([g["score"] for g in direct], abs=1e-4)
    bars = figure(plot)["data"]
    assert len(bars) == 1 and list(array(bars[0]["y"])) == [plots.safe(g["token_str"]) for g in direct][::-1]
    exported = read_export(files, ".json")
    assert exported["text"] == text and [g["token"] for g in exported["predictions"]] == [
        g["token"] for g in direct
    ]
    assert read_export(files, ".csv").splitlines()[0] == "mask,rank,token,score,sequence"
    spans = [value for _, value in words["choices"]]
    assert [text[int(a) : int(b)] for a, b in (s.split(":") for s in spans)][-2:] == ["<mask>", "."]


def test_mask_word_masks_the_clicked_word(client, base):
    from gradio_client.exceptions import AppError

    model, lang = base
    text = "The cat sleeps on the <mask> ."
    *_, words = client.predict(text, lang, 2, model.path, api_name="/fill_mask")  # offers the words to click
    assert ["cat", "4:7"] in words["choices"]
    assert client.predict(text, "4:7", api_name="/mask_word") == "The <mask> sleeps on the <mask> ."
    with pytest.raises(AppError, match="outside the text"):
        client.predict("The", "4:7", api_name="/mask_word")  # a stale click on an edited text


def test_setup_endpoints_follow_the_model(client, base):
    model, _ = base
    languages = sorted(config_of(model.path).get("lang2id") or {})
    _note, lang, examples = client.predict(model.path, api_name="/fill_mask_setup")
    assert sorted(value for _, value in lang["choices"]) == languages
    assert {value for _, value in examples["choices"]} <= set(languages) | {""}
    for name in ("/cross_lingual_setup", "/generation_setup", "/qa_setup", "/classification_setup"):
        out = client.predict(model.path, api_name=name)
        assert isinstance(out, tuple) and len(out) >= 2
    _lang_update, _pair_update, layers, heads = client.predict(model.path, api_name="/attention_setup")
    assert len(layers["choices"]) == config_of(model.path)["n_layers"] + 1
    assert len(heads["choices"]) == config_of(model.path)["n_heads"] + 1
    how, lang = client.predict(model.path, api_name="/tokenizer_setup")
    assert "Moses" in how and lang["choices"]
    _note, text, _layer = client.predict(model.path, api_name="/compare_setup")
    assert all("|" in line for line in text.splitlines())


def test_examples_fill_the_inputs(client, base):
    from components import examples

    model, _ = base
    lang = model.languages[0] if model.languages else None
    text, chosen = client.predict(lang, model.path, api_name="/fill_mask_example")
    assert "<mask>" in text and chosen == lang
    assert text == examples.fill_mask(model.path)[lang]  # the model's own examples.json where it has one
    assert (
        client.predict("fr", model.path, api_name="/cross_lingual_example")
        == examples.parallel(model.path)["fr"]
    )
    context, question, lang_c, lang_q = client.predict("en", model.path, api_name="/qa_example")
    assert (context, question) == examples.QUESTION_ANSWERING["en"] and lang_c == lang_q == "en"


ENDPOINTS = {
    "/fill_mask", "/fill_mask_example", "/mask_word", "/fill_mask_setup",
    "/cross_lingual", "/cross_lingual_example", "/cross_lingual_setup",
    "/generate", "/generation_setup",
    "/answer", "/qa_example", "/qa_setup",
    "/classify", "/tag", "/classification_setup",
    "/attention", "/attention_view", "/attention_setup",
    "/tokenize", "/tokenizer_setup",
    "/compare", "/compare_setup",
    "/fetch_model", "/load_model", "/describe_model",
}  # fmt: skip


def test_every_endpoint_is_named_and_tested(client):
    """The public API: the endpoints this file calls, and those of newer tabs, each called by their own
    tests/test_app_*.py (a new endpoint must come with its test)."""
    api = client.view_api(return_format="dict", print_info=False)
    named = set(api["named_endpoints"])
    elsewhere = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_app_*.py"))
    assert named >= ENDPOINTS
    assert sorted(e for e in named - ENDPOINTS if f'"{e}"' not in elsewhere) == []
    assert not api["unnamed_endpoints"]


def test_cross_lingual_reads_the_translation(client, base):
    model, _ = base
    if len(model.languages) < 2:
        pytest.skip("the default model is monolingual")
    first, second = model.languages[:2]
    _bars, heat, share, frame, files = client.predict(
        "The file could not be <mask> .",
        first,
        "Le fichier n'a pas pu être ouvert .",
        second,
        3,
        "mean",
        model.path,
        api_name="/cross_lingual",
    )
    table = rows(frame)
    assert len(table) == 3 and all(0 <= r["with translation"] <= 1 for r in table)
    z = array(figure(heat)["data"][0]["z"])
    assert z.shape[0] == z.shape[1] and np.allclose(
        z.sum(1), 1, atol=1e-3
    )  # attention rows are distributions
    shares = array(figure(share)["data"][0]["y"])
    assert len(shares) == config_of(model.path)["n_layers"] and all(0 < s < 1 for s in shares)
    assert set(read_export(files, ".json")) >= {"together", "alone", "cross_share"}


def test_generate_streams_and_seeds_repeat(client, base):
    model, lang = base
    args = ("The weather today is", lang, 6, True, 0.9, 20, 0.95, 7, model.path)
    first = client.predict(*args, api_name="/generate")
    assert isinstance(first, str)
    assert client.predict(*args, api_name="/generate") == first  # same seed, same sample
    job = client.submit(*args, api_name="/generate")
    job.result()
    outputs = job.outputs()
    assert outputs and all(b.startswith(a) for a, b in itertools.pairwise(outputs))


@pytest.mark.parametrize("head", ["simple", "beam"])
def test_answer_is_a_span_of_the_context(client, base, head):
    model, lang = base
    context = "The Eiffel Tower is 330 metres tall. It was built in 1889 for the World's Fair in Paris."
    html, _plot, frame, _files = client.predict(
        context, "When was the tower built?", lang, lang, head, 3, False, model.path, api_name="/answer"
    )
    answers = rows(frame)
    assert 1 <= len(answers) <= 3
    for a in answers:
        assert context[a["start"] : a["end"]] == a["answer"]
    assert answers == sorted(answers, key=lambda a: -a["score"])
    assert 'dir="auto"' in html and f">{answers[0]['answer']}</mark>" in html.replace("&#x27;", "'")


def test_answer_right_to_left(client):
    qa_path, _ = model_for("question-answering", MODELS[0].path)
    langs = config_of(qa_path).get("lang2id") or {}
    lang = "ar" if "ar" in langs else None
    context = "بنيت برج إيفل عام 1889 في باريس ."
    html, *_ = client.predict(
        context, "متى بني برج إيفل ؟", lang, lang, "simple", 1, False, qa_path, api_name="/answer"
    )
    shown = html.split('<div class="qa-context" dir="auto">', 1)[1]  # dir="auto": the browser lays it out RTL
    assert re.sub(r"<[^>]+>", "", shown) == context  # the whole context, the answer marked inside it


def test_classify_scores_every_label(client, base):
    model, lang = base
    label, files = client.predict("Bonjour tout le monde .", lang, model.path, api_name="/classify")
    clf_path, _ = model_for("text-classification", model.path)
    config = config_of(clf_path)
    labels = set((config.get("id2label") or {}).values()) or {
        f"LABEL_{i}" for i in range(config.get("num_labels", 2))
    }
    assert {c["label"] for c in label["confidences"]} == labels
    assert sum(c["confidence"] for c in label["confidences"]) == pytest.approx(1, abs=1e-3)
    assert {row["label"] for row in read_export(files, ".json")["scores"]} == labels


def test_tag_highlights_spans_of_the_text(client, base):
    model, lang = base
    text = "Angela Merkel a rencontré Emmanuel Macron à Paris ."
    pieces, frame, _files = client.predict(text, lang, "simple", model.path, api_name="/tag")
    assert "".join(p["token"] for p in pieces) == text
    for entity in rows(frame):
        assert text[entity["start"] : entity["end"]] == entity["word"]


def test_tag_gives_every_word_its_part_of_speech(client, base):
    """The embedded tagger serves the tab: with the default aggregation ("first") each labelled span is whole
    words with a UPOS tag, the spans are the tagger pipeline's, and no warning about a random head is shown."""
    from xlm import pipeline
    from xlm.train.ud import UPOS

    model, _ = base
    path, note = model_for("token-classification", model.path)
    if "randomly initialised" in note:
        pytest.skip("no embedded token-classification model")
    text = "Angela Merkel a rencontré Emmanuel Macron à Paris ."
    _pieces, frame, _files = client.predict(text, "fr", "first", model.path, api_name="/tag")
    spans = rows(frame)
    assert spans and {s["entity_group"] for s in spans} <= set(UPOS)
    for s in spans:
        assert text[s["start"] : s["end"]] == s["word"]
        assert s["start"] == 0 or text[s["start"] - 1] == " ", s
        assert s["end"] == len(text) or text[s["end"]] == " ", s
    expected = pipeline("token-classification", path, device="cpu")(
        text, lang="fr", aggregation_strategy="first"
    )
    assert [(s["word"], s["entity_group"]) for s in spans] == [
        (e["word"], e["entity_group"]) for e in expected
    ]


def test_attention_and_its_views(client, base):
    model, lang = base
    config = config_of(model.path)
    grid, heat, _bars, query, files = client.predict(
        "The cat sleeps .", lang, "", None, "mean", "mean", model.path, api_name="/attention"
    )
    assert len(figure(grid)["data"]) == config["n_layers"] * config["n_heads"]
    z = array(figure(heat)["data"][0]["z"])
    assert np.allclose(z.sum(1), 1, atol=1e-3)
    n = len(query["choices"])
    assert z.shape == (n, n)
    heat2, bars2 = client.predict(
        "0", "1", str(n - 1), api_name="/attention_view"
    )  # same session: state kept
    assert figure(heat2)["layout"]["title"]["text"] == "Attention (layer 0, head 1)"
    assert len(array(figure(bars2)["data"][0]["y"])) == n
    exported = read_export(files, ".json")
    assert np.asarray(exported["attentions"]).shape == (config["n_layers"], config["n_heads"], n, n)


def test_tokenize_shows_steps_and_offsets(client, base):
    model, _ = base
    lang = "fr" if "fr" in model.languages else None
    text = "L'été dernier, j'ai visité New-York !"
    steps, _pieces, frame, specials, _files = client.predict(
        text, lang, True, model.path, api_name="/tokenize"
    )
    assert "bpe" in steps
    table = rows(frame)
    assert table[0]["special"] and table[-1]["special"]  # </s> ... </s>
    for row in table:
        assert text[row["start"] : row["end"]] == row["text"]
    assert {s["role"] for s in rows(specials)} >= {"mask_token", "pad_token"}


def test_compare_languages_side_by_side(client, base):
    model, _ = base
    langs = list(model.languages[:2]) or [""]
    if len(langs) < 2:
        pytest.skip("the default model is monolingual")
    lines = f"{langs[0]} | I would like a cup of <mask> .\n{langs[1]} | Je voudrais une tasse de <mask> ."
    bars, heat, frame, _files = client.predict(lines, 3, "0", model.path, api_name="/compare")
    assert len(figure(bars)["data"]) == 2 and len(figure(heat)["data"]) == 2
    assert {r["language"] for r in rows(frame)} == set(langs)


def test_load_model_describes_the_checkpoint(client, base):
    from safetensors import safe_open

    model, _ = base
    card, details, picker = client.predict(model.path, api_name="/load_model")
    with safe_open(str(Path(model.path) / "model.safetensors"), "pt") as weights:
        count = sum(int(np.prod(weights.get_slice(key).get_shape())) for key in weights.keys())  # noqa: SIM118
    assert details["parameters"] == count
    assert sorted(details["languages"]) == sorted(config_of(model.path).get("lang2id") or {})
    assert picker["value"] == model.path and "Languages" in card
    _card2, details2 = client.predict(model.path, api_name="/describe_model")
    assert details2["parameters"] == count
    assert "folder" not in details  # no server path beyond the one the user typed


def test_no_server_path_reaches_the_page(server, client, base):
    """Embedded models are picked by name: the page and the Model tab never show where they live."""
    import httpx

    model, _ = base
    folder = str(Path(model.path).parent)
    page = httpx.get(server + "config").text
    assert folder not in page and json.dumps(model.name) in page
    card, details = client.predict(model.name, api_name="/describe_model")
    assert folder not in card + json.dumps(details) and details["model"] == model.name


def test_fetch_model_admits_a_local_folder(client, base):
    from gradio_client.exceptions import AppError

    model, _ = base
    path, shown = client.predict(model.path, api_name="/fetch_model")
    assert path == model.path and f"Every tab uses **{model.name}** (XLM" in shown
    with pytest.raises(AppError, match="No such model folder"):
        client.predict("/no/such/folder", api_name="/fetch_model")


# -- bad input: a clear message, and the server keeps serving --------------------------------------------------
BAD_INPUTS = [
    ("/fill_mask", ("No mask here .", "{lang}", 5, "{model}"), "No mask token"),
    ("/fill_mask", ("The <mask> .", "xx", 5, "{model}"), "Unknown language 'xx'"),
    ("/fill_mask", ("   ", "{lang}", 5, "{model}"), "empty"),
    ("/fill_mask", ("The <mask> .", "{lang}", 5, "/no/such/folder"), "No such model folder"),
    (
        "/answer",
        ("Some context .", "", "{lang}", "{lang}", "simple", 1, False, "{model}"),
        "question is empty",
    ),
    (
        "/generate",
        ("Hello", "{lang}", 0, False, 1.0, 0, 1.0, 0, "{model}"),
        "New tokens must be between 1 and 128, not 0",
    ),  # the slider refuses it
    ("/compare", ("no separator here", 3, "mean", "{model}"), "language | sentence"),
    (
        "/attention",
        ("The cat .", "{lang}", "", None, "99", "mean", "{model}"),
        "99 is not in the list of choices",
    ),
    ("/load_model", ("/no/such/folder",), "No such model folder"),
]


@pytest.mark.parametrize(
    ("endpoint", "args", "message"), BAD_INPUTS, ids=[b[0] + "-" + b[2] for b in BAD_INPUTS]
)
def test_bad_input_is_a_clear_error(client, base, endpoint, args, message):
    from gradio_client.exceptions import AppError

    model, lang = base
    filled = [a.format(model=model.path, lang=lang) if isinstance(a, str) else a for a in args]
    with pytest.raises(AppError, match=message.replace("(", r"\(").replace("|", r"\|")):
        client.predict(*filled, api_name=endpoint)


def test_view_before_attention_and_server_still_serves(server, base):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    fresh = Client(server, verbose=False)  # a new session has no attention yet
    with pytest.raises(AppError, match="Run the attention first"):
        fresh.predict("mean", "mean", None, api_name="/attention_view")
    model, lang = base
    _plot, frame, *_ = fresh.predict("The <mask> is red .", lang, 2, model.path, api_name="/fill_mask")
    assert len(frame["data"]) == 2


# -- plot functions on real pipeline output ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def attention_output(base):
    from xlm.pipelines import pipeline

    model, lang = base
    return pipeline("attention", model.path)("The cat sleeps on the sofa .", lang=lang or None)


def test_mask_bars_one_panel_per_mask(base):
    from xlm.pipelines import pipeline

    model, lang = base
    out = pipeline("fill-mask", model.path)("The <mask> sleeps on the <mask> .", top_k=3, lang=lang or None)
    fig = plots.mask_bars(out)
    assert len(fig.data) == 2
    for trace, guesses in zip(fig.data, out, strict=True):
        assert list(trace.y) == [plots.safe(g["token_str"]) for g in guesses][::-1]
        assert list(trace.x) == sorted(trace.x)  # best on top


def test_reduce_attention_averages(attention_output):
    att = np.asarray(attention_output["attentions"])
    assert np.allclose(plots.reduce_attention(att), att.mean(axis=(0, 1)))
    assert np.allclose(plots.reduce_attention(att, layer=1), att[1].mean(axis=0))
    assert np.allclose(plots.reduce_attention(att, layer=0, head=2), att[0, 2])


def test_attention_figures(attention_output):
    att, tokens = attention_output["attentions"], attention_output["tokens"]
    labels = plots.token_labels(tokens, attention_output["langs"])
    assert len(set(labels)) == len(tokens)  # unique even where tokens repeat
    heat = plots.attention_heatmap(plots.reduce_attention(att), labels)
    assert heat.data[0].z.shape == (len(tokens), len(tokens))
    grid = plots.attention_grid(att)
    assert len(grid.data) == attention_output["layers"] * attention_output["heads"]
    bars = plots.token_attention(plots.reduce_attention(att), labels, query=2)
    assert list(bars.data[0].x) == [plots.safe(label) for label in labels] and sum(
        bars.data[0].y
    ) == pytest.approx(1, abs=1e-3)


def test_labels_are_shown_as_written():
    assert plots.safe("<s>") == "&lt;s&gt;"  # Plotly would otherwise strike through the rest of the label
    assert plots.safe("x" * 60, limit=10) == "x" * 9 + "…"


def test_cross_share_by_hand():
    # one layer, one head, two tokens on different sides: token 0 gives 0.5 to token 1, token 1 gives 0.25 to token 0
    assert plots.cross_share([[[[0.5, 0.5], [0.25, 0.75]]]], side=[0, 1]) == [pytest.approx(0.375)]
    assert plots.cross_share([[[[1.0, 0.0], [0.0, 1.0]]]], side=[0, 1]) == [0.0]


def test_layer_and_head_pickers():
    import gradio as gr

    from components.common import pick

    assert pick("mean", 4, "layer") is None and pick("2", 4, "layer") == 2
    with pytest.raises(gr.Error, match="There is no head 4: this model has 4"):
        pick("4", 4, "head")


# -- pure handlers ------------------------------------------------------------------------------------------------
def test_answer_html_escapes_the_context():
    from components.qa import highlight

    context = "Use <b>bold</b> & win"
    html = highlight(context, [{"score": 0.9, "start": 4, "end": 15, "answer": context[4:15]}])
    assert '<mark class="qa-answer" title="score 0.900">&lt;b&gt;bold&lt;/b&gt;</mark> &amp; win' in html
    assert "<b>bold" not in html.split("</p>", 1)[1]  # the context part holds no live tag
    assert "No answer" in highlight(context, [{"score": 0.5, "start": 0, "end": 0, "answer": ""}])


def test_entity_and_token_pieces_cover_the_text():
    from components.classification import entity_spans
    from components.tokenizer import token_pieces

    text = "Ada met Alan in Paris"
    entities = [
        {"entity_group": "PER", "start": 0, "end": 3},
        {"entity_group": "LOC", "start": 16, "end": 21},
    ]
    assert entity_spans(text, entities) == [("Ada", "PER"), (" met Alan in ", None), ("Paris", "LOC")]
    rows_ = [
        {"start": 0, "end": 3, "token": "ada</w>", "id": 7},
        {"start": 4, "end": 7, "token": "met</w>", "id": 9},
    ]
    assert token_pieces("Ada met", rows_) == [("Ada", "ada</w> (7)"), (" ", None), ("met", "met</w> (9)")]


def test_compare_input_parsing():
    import gradio as gr

    from components.compare import parse

    assert parse("en | The <mask> .\n\nfr | Le <mask> .") == [("en", "The <mask> ."), ("fr", "Le <mask> .")]
    with pytest.raises(gr.Error, match="only once"):
        parse("en | a <mask>\nen | b <mask>")


def test_export_writes_json_and_csv_and_prunes_old_exports(tmp_path, monkeypatch):
    from components import common

    monkeypatch.setattr(common, "EXPORT_DIR", tmp_path)
    old = tmp_path / "old"
    old.mkdir()
    os.utime(old, (0, 0))  # last touched in 1970
    paths = common.export("result", {"a": "é"}, [{"x": 1, "y": "z"}])
    assert not old.exists()
    assert json.loads(Path(paths[0]).read_text(encoding="utf-8")) == {"a": "é"}
    assert Path(paths[1]).read_text().splitlines() == ["x,y", "1,z"]
