"""The app on XLM-RoBERTa through a real server and gradio_client: every endpoint once on a small random XLM-R,
the bad inputs that matter, what does not apply said plainly, and the catalogue of official checkpoints (exact
parameter counts, memory refusals, the unreachable Hub in one line)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from _app_server import xlmr_app
from _hub_server import HubServer, unreachable_endpoint
from gradio_client.exceptions import AppError
from test_app import ENDPOINTS, array, figure, read_export, rows
from test_hub_server import _point_client

from components import catalogue

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXT = "The cat is sleeping on the <mask> ."
PAIR = ("The file could not be <mask> .", "Le fichier n'a pas pu être ouvert .")


@pytest.fixture(scope="module")
def served(make_xlmr, tmp_path_factory):
    with xlmr_app(make_xlmr, tmp_path_factory.mktemp("xlmr-assets")) as (url, model):
        yield url, str(model)


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served[0], verbose=False)


@pytest.fixture(scope="module")
def model(served) -> str:
    return served[1]


@pytest.fixture
def hub_cache(tmp_path) -> Path:
    """An empty Hub cache folder (the client is pointed at it by each test)."""
    return tmp_path / "hf"


def config_of(path: str) -> dict:
    return json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))


# -- every endpoint on XLM-R -------------------------------------------------------------------------------------
def test_every_endpoint_is_named(client):
    """The endpoints of test_app.py are all here (newer tabs' ones are checked there)."""
    assert set(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) >= ENDPOINTS


def test_fetch_model_returns_the_local_folder(client, model):
    path, shown = client.predict(model, api_name="/fetch_model")
    assert path == model and shown == "Every tab uses **xlmr-mini** (XLM-RoBERTa, XLMRobertaForMaskedLM)."


def test_fill_mask_matches_the_pipeline(client, model):
    from xlm.pipelines import pipeline

    plot, frame, files, words = client.predict(TEXT, None, 4, model, api_name="/fill_mask")
    direct = pipeline("fill-mask", model)(TEXT, top_k=4)
    assert [r["token"] for r in rows(frame)] == [g["token_str"] for g in direct]
    assert [r["score"] for r in rows(frame)] == pytest.approx([g["score"] for g in direct], abs=1e-4)
    assert len(figure(plot)["data"]) == 1
    assert read_export(files, ".json")["text"] == TEXT
    spans = [value for _, value in words["choices"]]
    assert [TEXT[int(a) : int(b)] for a, b in (s.split(":") for s in spans)] == TEXT.split()


def test_a_language_is_ignored_not_refused(client, model):
    """XLM-R has no language ids: a language given anyway (an old link, the API) changes nothing."""
    without = client.predict(TEXT, None, 3, model, api_name="/fill_mask")[1]
    assert client.predict(TEXT, "xx", 3, model, api_name="/fill_mask")[1] == without


def test_fill_mask_with_mask_token_and_word_clicks(client, model):
    text = "The cat sleeps on the <mask> ."
    *_, words = client.predict(text, None, 2, model, api_name="/fill_mask")
    assert ["cat", "4:7"] in words["choices"]
    assert client.predict(text, "4:7", api_name="/mask_word") == "The <mask> sleeps on the <mask> ."
    text, lang = client.predict("fr", model, api_name="/fill_mask_example")
    assert "<mask>" in text and lang is None  # the example, not a language the model cannot take


def test_language_pickers_are_disabled_with_a_note(client, model):
    _note, lang, example = client.predict(model, api_name="/fill_mask_setup")
    assert lang["choices"] == [] and lang["interactive"] is False and "no language embeddings" in lang["info"]
    assert len(example["choices"]) > 5  # every language's example: one vocabulary for all
    for name in ("/generation_setup", "/classification_setup"):
        _note, lang = client.predict(model, api_name=name)
        assert lang["interactive"] is False
    _note, lang, question_lang, _examples = client.predict(model, api_name="/qa_setup")
    assert lang["interactive"] is False and question_lang["interactive"] is False
    lang, pair_lang, layers, heads = client.predict(model, api_name="/attention_setup")
    assert lang["interactive"] is False and pair_lang["interactive"] is False
    assert len(layers["choices"]) == config_of(model)["num_hidden_layers"] + 1
    assert len(heads["choices"]) == config_of(model)["num_attention_heads"] + 1


def test_cross_lingual_says_tlm_does_not_apply_and_still_shows_the_pair(client, model):
    note, lang, pair_lang, _layer = client.predict(model, api_name="/cross_lingual_setup")
    assert "no language embeddings and was not trained on sentence pairs" in note
    assert lang["interactive"] is False and pair_lang["interactive"] is False
    assert client.predict("fr", model, api_name="/cross_lingual_example") == PAIR
    assert (
        client.predict(None, model, api_name="/cross_lingual_example") == PAIR
    )  # no language pickers: French
    _bars, heat, share, frame, files = client.predict(
        PAIR[0], None, PAIR[1], None, 3, "mean", model, api_name="/cross_lingual"
    )
    assert len(rows(frame)) == 3
    z = array(figure(heat)["data"][0]["z"])
    assert z.shape[0] == z.shape[1] and np.allclose(z.sum(1), 1, atol=1e-3)
    shares = array(figure(share)["data"][0]["y"])
    assert len(shares) == config_of(model)["num_hidden_layers"] and all(0 < s < 1 for s in shares)
    assert set(read_export(files, ".json")) >= {"together", "alone", "cross_share"}


def test_generation_by_appending_masks_with_a_warning(client, model):
    note, _lang = client.predict(model, api_name="/generation_setup")
    assert "masked (bidirectional) language model" in note
    args = ("The weather today is", None, 4, True, 0.9, 20, 0.95, 7, model)
    first = client.predict(*args, api_name="/generate")
    assert isinstance(first, str) and first
    assert client.predict(*args, api_name="/generate") == first  # same seed, same sample


def test_answer_with_the_xlmr_qa_head(client, model):
    note, *_ = client.predict(model, api_name="/qa_setup")
    assert "xlmr-mini-qa" in note  # the masked LM has no QA head: the embedded XLM-R QA model answers
    context = "The Eiffel Tower is 330 metres tall. It was built in 1889 for the World's Fair in Paris."
    html, _plot, frame, _files = client.predict(
        context, "When was it built?", None, None, "simple", 2, False, model, api_name="/answer"
    )
    for a in rows(frame):
        assert context[a["start"] : a["end"]] == a["answer"]
    assert "qa-context" in html
    context, question, lang, question_lang = client.predict("en", model, api_name="/qa_example")
    assert context and question and lang is None and question_lang is None


def test_beam_qa_head_is_refused_plainly(client, model):
    with pytest.raises(AppError, match="XLM-RoBERTa models have no question-answering-beam head"):
        client.predict("Some context .", "What ?", None, None, "beam", 1, False, model, api_name="/answer")


def test_classify_and_tag_with_random_heads_say_so(client, model):
    note, _lang = client.predict(model, api_name="/classification_setup")
    assert "randomly initialised head" in note
    label, _files = client.predict("Bonjour tout le monde .", None, model, api_name="/classify")
    assert sum(c["confidence"] for c in label["confidences"]) == pytest.approx(1, abs=1e-3)
    text = "Angela Merkel a rencontré Emmanuel Macron à Paris ."
    pieces, frame, _files = client.predict(text, None, "simple", model, api_name="/tag")
    assert "".join(p["token"] for p in pieces) == text
    for entity in rows(frame):
        assert text[entity["start"] : entity["end"]] == entity["word"]


def test_attention_on_a_pair_and_its_views(client, model):
    config = config_of(model)
    grid, heat, _bars, query, files = client.predict(
        "The cat sleeps .", None, "Le chat dort .", None, "mean", "mean", model, api_name="/attention"
    )
    assert len(figure(grid)["data"]) == config["num_hidden_layers"] * config["num_attention_heads"]
    tokens = read_export(files, ".json")["tokens"]
    assert (tokens[0], tokens[-1]) == ("<s>", "</s>") and "▁Le" in tokens  # both sentences in one input
    n = len(query["choices"])
    assert array(figure(heat)["data"][0]["z"]).shape == (n, n) == (len(tokens), len(tokens))
    heat2, _bars2 = client.predict("1", "0", "2", api_name="/attention_view")
    assert figure(heat2)["layout"]["title"]["text"] == "Attention (layer 1, head 0)"


def test_tokenizer_tab_describes_sentencepiece(client, model):
    how, lang = client.predict(model, api_name="/tokenizer_setup")
    assert "SentencePiece" in how and "Moses" not in how and lang["interactive"] is False
    text = "L'été dernier, j'ai visité New-York !"
    steps, _pieces, frame, specials, _files = client.predict(text, None, True, model, api_name="/tokenize")
    assert "No language input" in steps and "sentencepiece" in steps and "normalize" in steps
    table = rows(frame)
    assert (table[0]["token"], table[-1]["token"]) == ("<s>", "</s>")
    for row in table:
        assert text[row["start"] : row["end"]] == row["text"]
    assert {s["token"] for s in rows(specials)} >= {"<mask>", "<pad>", "<s>", "</s>"}


def test_compare_languages_says_the_language_is_no_input(client, model):
    note, lines, _layer = client.predict(model, api_name="/compare_setup")
    assert "no language embeddings" in note and len(lines.splitlines()) == 4
    bars, heat, frame, _files = client.predict(lines, 3, "mean", model, api_name="/compare")
    langs = [line.split("|")[0].strip() for line in lines.splitlines()]
    assert len(figure(bars)["data"]) == len(langs) == len(figure(heat)["data"])
    assert [r["language"] for r in rows(frame)][::3] == langs


def test_model_tab_describes_xlmr_without_server_paths(client, model):
    card, details, picker = client.predict(model, api_name="/load_model")
    assert details["family"] == "XLM-RoBERTa" and details["languages"] == []
    assert "folder" not in details and picker["value"] == model
    assert "not an input (no language embeddings)" in card
    _card, again = client.predict(model, api_name="/describe_model")
    assert again["parameters"] == details["parameters"]


# -- official checkpoints: refusals ------------------------------------------------------------------------------
def test_picker_offers_every_official_checkpoint(client):
    from components.common import model_choices

    offered = dict((value, label) for label, value in model_choices())
    for checkpoint in catalogue.CHECKPOINTS:
        assert checkpoint.repo in offered
        assert catalogue.millions(checkpoint.parameters) in offered[checkpoint.repo]
        assert catalogue.gigabytes(checkpoint.memory_bytes) in offered[checkpoint.repo]


def test_too_big_for_this_machine_is_refused_before_any_download(client, hub_cache, monkeypatch):
    import psutil

    _point_client(monkeypatch, unreachable_endpoint(), hub_cache)
    biggest = catalogue.BY_REPO["facebook/xlm-roberta-xxl"]
    if psutil.virtual_memory().available >= biggest.memory_bytes:
        pytest.skip("this machine has the memory for XLM-R XXL")
    message = rf"facebook/xlm-roberta-xxl needs about {catalogue.gigabytes(biggest.memory_bytes)} of memory"
    with pytest.raises(AppError, match=message):
        client.predict(biggest.repo, api_name="/fetch_model")
    with pytest.raises(AppError, match="pick a smaller model"):  # any tab that would load it refuses too
        client.predict(TEXT, None, 3, biggest.repo, api_name="/fill_mask")
    assert not any(hub_cache.rglob("*"))  # nothing was fetched


def test_offline_is_one_line_without_paths(client, hub_cache, monkeypatch):
    _point_client(monkeypatch, unreachable_endpoint(), hub_cache, offline=True)
    with pytest.raises(AppError) as refused:
        client.predict("FacebookAI/xlm-roberta-base", api_name="/fetch_model")
    message = str(refused.value)
    assert "'FacebookAI/xlm-roberta-base' is not in the local Hub cache and offline mode is on" in message
    assert "\n" not in message and str(hub_cache) not in message and "Traceback" not in message


def test_unreachable_hub_is_one_line_without_paths(client, hub_cache, monkeypatch):
    endpoint = unreachable_endpoint()
    _point_client(monkeypatch, endpoint, hub_cache)
    with pytest.raises(AppError) as refused:
        client.predict("FacebookAI/xlm-mlm-enfr-1024", api_name="/fetch_model")
    message = str(refused.value)
    assert f"is not in the local Hub cache and the Hub at {endpoint} cannot be reached" in message
    assert "\n" not in message and str(hub_cache) not in message


def test_an_official_checkpoint_is_downloaded_on_first_use(client, model, hub_cache, monkeypatch):
    """A Hub-compatible server on 127.0.0.1 serves the small XLM-R as FacebookAI/xlm-roberta-base: picking it
    downloads it once (memory admitted), every tab then runs on it, and later calls fetch nothing more."""
    from components import common

    repo = "FacebookAI/xlm-roberta-base"
    with HubServer() as hub:
        hub.add_repo(repo, {"main": Path(model)})
        _point_client(monkeypatch, hub.endpoint, hub_cache)
        try:
            assert client.predict(repo, api_name="/fetch_model")[0] == repo
            assert "model.safetensors" in hub.sent and any(hub_cache.rglob("model.safetensors"))
            _note, lang, _examples = client.predict(repo, api_name="/fill_mask_setup")
            assert lang["interactive"] is False
            _plot, frame, *_ = client.predict(TEXT, None, 3, repo, api_name="/fill_mask")
            local = client.predict(TEXT, None, 3, model, api_name="/fill_mask")[1]
            assert frame == local  # the same weights, downloaded
            card, details = client.predict(repo, api_name="/describe_model")
            assert details["family"] == "XLM-RoBERTa" and str(hub_cache) not in json.dumps(details) + card
            assert hub.sent.count("model.safetensors") == 1
        finally:
            common._snapshot.cache_clear()  # the cache folder goes with this test


# -- the catalogue's numbers -------------------------------------------------------------------------------------
def _count(config) -> int:
    import torch

    from xlm.registry import family_of

    with torch.device("meta"):
        model = family_of(config).head("lm", config)(config)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("repo", "config_file"),
    [
        ("FacebookAI/xlm-mlm-en-2048", "xlm-mlm-en-2048.json"),
        ("FacebookAI/xlm-mlm-ende-1024", "xlm-mlm-ende-1024.json"),
        ("FacebookAI/xlm-mlm-tlm-xnli15-1024", "xlm-mlm-tlm-xnli15-1024.json"),
        ("FacebookAI/xlm-mlm-100-1280", "xlm-mlm-100-1280.json"),
        ("FacebookAI/xlm-clm-enfr-1024", "xlm-clm-enfr-1024.json"),
        ("FacebookAI/xlm-clm-ende-1024", "xlm-clm-ende-1024.json"),
    ],
)
def test_xlm_counts_equal_the_real_configs(shared_data, repo, config_file):
    from xlm.registry import config_from_dict

    real = json.loads((shared_data / "hf-configs" / config_file).read_text(encoding="utf-8"))
    assert catalogue.BY_REPO[repo].parameters == _count(config_from_dict(real))


def test_xlm_enfr_vocabulary_is_its_vocab_json(shared_data):
    vocab = json.loads((shared_data / "xlm-mlm-enfr-1024" / "vocab.json").read_text(encoding="utf-8"))
    assert catalogue.BY_REPO["FacebookAI/xlm-mlm-enfr-1024"].shape["vocab_size"] == len(vocab)


def _xlmr_by_hand(vocab: int, hidden: int, layers: int, ffn: int, xl: bool) -> int:
    """XLM-R's parameters counted from its architecture: embeddings (words, 514 positions, 1 token type; a
    LayerNorm in base/large only), per layer attention (4 projections), FFN and 2 LayerNorms, a final LayerNorm in
    XL, and the LM head (dense, LayerNorm, output bias; its weight is the word embeddings)."""
    norm = 2 * hidden
    embeddings = (vocab + 514 + 1) * hidden + (0 if xl else norm)
    layer = 4 * (hidden * hidden + hidden) + (hidden * ffn + ffn) + (ffn * hidden + hidden) + 2 * norm
    head = hidden * hidden + hidden + norm + vocab
    return embeddings + layers * layer + (norm if xl else 0) + head


@pytest.mark.parametrize(
    ("repo", "shape"),
    [
        ("FacebookAI/xlm-roberta-base", (250002, 768, 12, 3072, False)),
        ("FacebookAI/xlm-roberta-large", (250002, 1024, 24, 4096, False)),
        ("facebook/xlm-roberta-xl", (250880, 2560, 36, 10240, True)),
        ("facebook/xlm-roberta-xxl", (250880, 4096, 48, 16384, True)),
    ],
)
def test_xlmr_counts_by_hand(repo, shape):
    assert catalogue.BY_REPO[repo].parameters == _xlmr_by_hand(*shape)


def test_memory_is_float32_weights_plus_the_margin():
    for checkpoint in catalogue.CHECKPOINTS:
        assert checkpoint.memory_bytes == math.floor(checkpoint.parameters * 4 * 1.25)
    assert catalogue.gigabytes(catalogue.BY_REPO["FacebookAI/xlm-roberta-base"].memory_bytes) == "1.4 GB"
