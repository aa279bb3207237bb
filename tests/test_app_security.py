"""The served app against a careless or hostile visitor: a real server on a public-mode deployment, driven with
gradio_client (and by hand where gradio_client cannot send the request: NaN, lone surrogates, too few values).

Each class of bad input gets a clear message, and a normal request answers right after. Absurd checkpoints are
built in temporary folders and refused before anything is allocated (the server's memory is watched meanwhile);
server folders, Hub ids and uploads the operator did not allow are refused with one message that names no path.
Also: the resource guard (xlm/resources.py) against transformers' parameter counts, and the load policy rules.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from _app_server import PeakRSS, call_raw, serving

from components import load_policy
from components.common import ASSETS_ENV, MODEL_ENV
from xlm import resources
from xlm.errors import CorruptCheckpointError, InvalidConfigError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODEL = "tiny-mlm"  # the embedded model of the served app
RSS_BOUND = 200 * 2**20  # the server may grow by at most this while it refuses an absurd checkpoint
ABSURD = {  # name → (config.json changes, the message that refuses it)
    "layers-10000": ({"n_layers": 10_000}, "n_layers = 10,000 is beyond what this app loads (at most 512)"),
    "huge-shape": (
        {"emb_dim": 10**6, "vocab_size": 10**9},
        "emb_dim = 1,000,000 is beyond what this app loads",
    ),
    "mismatch": ({"emb_dim": 4096}, "the config does not belong to these weights"),
    "not-a-number": ({"n_layers": "abc"}, "n_layers must be a whole number"),
}


def _copy_with_config(source: Path, target: Path, **changes) -> Path:
    shutil.copytree(source, target)
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    (target / "config.json").write_text(json.dumps(config | changes), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def tiny(make_model) -> Path:
    return make_model("XLMWithLMHeadModel", seed=3)


@pytest.fixture(scope="module")
def allowed(tiny, tmp_path_factory) -> Path:
    """A folder the operator allows, holding absurd checkpoints and one whose config carries server paths."""
    root = tmp_path_factory.mktemp("allowed")
    for name, (changes, _) in ABSURD.items():
        _copy_with_config(tiny, root / name, **changes)
    _copy_with_config(
        tiny, root / "paths", _name_or_path="/home/operator/secret", note="/srv/private/key.txt"
    )
    return root


@pytest.fixture(scope="module")
def served(tiny, allowed, tmp_path_factory):
    """The app on a public deployment: one embedded model, the ``allowed`` folder added by the operator."""
    import app

    assets = tmp_path_factory.mktemp("assets")
    shutil.copytree(tiny, assets / MODEL)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ASSETS_ENV, str(assets))
        env.delenv(MODEL_ENV, raising=False)
        env.setenv(load_policy.PUBLIC_ENV, "1")
        env.setenv(load_policy.ALLOWED_ENV, str(allowed))
        with serving(app.build_demo()) as url:
            yield url


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served, verbose=False)


def refused(client, message: str, *args, api_name: str) -> str:
    """Assert that the call is refused with ``message``; return the whole message."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        client.predict(*args, api_name=api_name)
    assert message in str(caught.value)
    return str(caught.value)


def still_serves(client) -> None:
    """A normal request answers right: the guesses of the model's own pipeline for the same input."""
    import os

    from xlm.pipelines import pipeline

    _plot, frame, _files, _words = client.predict(
        "Das ist ein <mask> .", "de", 3, MODEL, api_name="/fill_mask"
    )
    folder = Path(os.environ[ASSETS_ENV]) / MODEL
    expected = pipeline("fill-mask", folder)("Das ist ein <mask> .", top_k=3, lang="de")
    assert [row[2] for row in frame["data"]] == [g["token_str"] for g in expected]


# -- wrong types and missing values (gradio_client) --------------------------------------------------------------
TYPES = [
    ("/fill_mask", (123, "de", 3, MODEL), "Text with <mask> must be text, not a number."),
    ("/fill_mask", (None, "de", 3, MODEL), "Text with <mask> is missing."),
    ("/fill_mask", ("Das <mask> .", "de", "abc", MODEL), "Top-k must be a number, not text."),
    ("/fill_mask", ("Das <mask> .", "de", None, MODEL), "Top-k must be a number, not nothing."),
    ("/fill_mask", ("Das <mask> .", "de", 2.5, MODEL), "Top-k must be a whole number, not 2.5."),
    ("/fill_mask", ("Das <mask> .", "de", 3, 123), "Model must be a name or a path, not a number."),
    ("/fill_mask", ("Das <mask> .", 7.5, 3, MODEL), "Unknown language '7.5'"),
    ("/cross_lingual", ("Das <mask> .", "de", None, "en", 3, "mean", MODEL), "Translation is missing."),
    ("/compare", (None, 3, "mean", MODEL), "Sentences is missing."),
    ("/tokenize", ("Hallo", "de", "yes", MODEL), "Add special tokens must be true or false, not text."),
    (
        "/generate",
        ("Hallo", "de", 5, False, 1.0, 0, 1.0, 10**30, MODEL),
        "Seed must be between -1 and 4294967295, not 1e+30.",
    ),
    (
        "/generate",
        ("Hallo", "de", 5, False, 1.0, 0, 1.5, 0, MODEL),
        "Top-p must be between 0.05 and 1.0, not 1.5.",
    ),
    ("/answer", ("Ein Satz .", None, "de", "de", "simple", 2, False, MODEL), "Question is missing."),
    ("/load_model", (123,), "Local folder or Hub id must be text, not a number."),
]


@pytest.mark.parametrize(("endpoint", "args", "message"), TYPES, ids=[f"{t[0]}-{t[2][:30]}" for t in TYPES])
def test_wrong_types_and_missing_values(client, endpoint, args, message):
    refused(client, message, *args, api_name=endpoint)
    still_serves(client)


# -- NaN, infinity, lone surrogates, too few values (by hand) ----------------------------------------------------
RAW = [
    ("/fill_mask", '["Das <mask> .", "de", NaN, "tiny-mlm"]', "Top-k must be a finite number, not nan."),
    ("/fill_mask", '["Das <mask> .", "de", Infinity, "tiny-mlm"]', "Top-k must be a finite number, not inf."),
    (
        "/generate",
        '["Hallo", "de", 5, true, NaN, 0, 1.0, 0, "tiny-mlm"]',
        "Temperature must be a finite number, not nan.",
    ),
    ("/generate", '["Hallo", "de", 5, true, 1.0, 0, 1.0, NaN, "tiny-mlm"]', "Seed must be a finite number"),
    (
        "/generate",
        '["Hallo", "de", -Infinity, true, 1.0, 0, 1.0, 0, "tiny-mlm"]',
        "New tokens must be a finite",
    ),
    (
        "/fill_mask",
        '["Das \\ud800 <mask> .", "de", 3, "tiny-mlm"]',
        "Text with <mask> holds an invalid character at position 4 (a lone surrogate",
    ),
    ("/fill_mask", '["Das <mask> .", "\\udfff", 3, "tiny-mlm"]', "Language holds an invalid character"),
    ("/tokenize", '["ok \\udc80", "de", true, "tiny-mlm"]', "Text holds an invalid character at position 3"),
    ("/fill_mask", '["Das <mask> ."]', "This request sent 1 value(s); /fill_mask takes 4 (Text with <mask>"),
    ("/answer", "[]", "This request sent 0 value(s); /answer takes 8"),
]


@pytest.mark.parametrize(("endpoint", "data", "message"), RAW, ids=[f"{r[0]}-{r[2][:30]}" for r in RAW])
def test_nan_surrogates_and_too_few_values(served, client, endpoint, data, message):
    event, answer = call_raw(served, endpoint, f'{{"data": {data}}}')
    assert event == "error" and message in answer["error"]
    still_serves(client)


def test_export_survives_text_gradio_cannot_encode(served):
    """Supplementary characters written as surrogate pairs in JSON are real text: answered, exported."""
    event, answer = call_raw(
        served, "/fill_mask", '{"data": ["Das \\ud83d\\ude00 <mask> .", "de", 2, "tiny-mlm"]}'
    )
    assert event == "complete", answer


# -- huge and costly inputs ----------------------------------------------------------------------------------------
def test_huge_texts_are_refused_fast(client):
    started = time.perf_counter()
    refused(
        client,
        "Text is too long: 1,000,000 characters (at most 5,000 here).",
        "x" * 10**6,
        "de",
        True,
        MODEL,
        api_name="/tokenize",
    )
    refused(
        client,
        "Model is too long (1,000,000 characters; at most 200).",
        "Das <mask> .",
        "de",
        3,
        "m" * 10**6,
        api_name="/fill_mask",
    )
    assert time.perf_counter() - started < 30
    still_serves(client)


def test_many_masks_answer_and_too_many_are_refused(client):
    from components.limits import MAX_MASKS

    plot, frame, _files, _words = client.predict(
        " ".join(["<mask>"] * MAX_MASKS), "de", 2, MODEL, api_name="/fill_mask"
    )
    assert len(frame["data"]) == 2 * MAX_MASKS and len(json.loads(plot["plot"])["data"]) == MAX_MASKS
    refused(
        client,
        f"Too many masks: {MAX_MASKS + 1} (at most {MAX_MASKS} at once).",
        " ".join(["<mask>"] * (MAX_MASKS + 1)),
        "de",
        2,
        MODEL,
        api_name="/fill_mask",
    )
    still_serves(client)


def test_attention_is_bounded(client):
    from components.limits import MAX_ATTENTION_WORDS

    words = " ".join(["Haus"] * (MAX_ATTENTION_WORDS + 1))
    refused(
        client,
        f"Too many words for the attention: {MAX_ATTENTION_WORDS + 1} (at most {MAX_ATTENTION_WORDS}",
        words,
        "de",
        "",
        None,
        "mean",
        "mean",
        MODEL,
        api_name="/attention",
    )
    chinese = "我们今天在公园里散步" * 20  # 200 characters, no spaces: one "word", many tokens
    refused(
        client,
        "Too many tokens for the attention",
        chinese,
        "de",
        "",
        None,
        "mean",
        "mean",
        MODEL,
        api_name="/attention",
    )
    pair = ("Das <mask> .", "de", chinese, "en", 3, "mean", MODEL)
    refused(client, "Too many tokens for the pair", *pair, api_name="/cross_lingual")
    still_serves(client)


# -- absurd checkpoints: refused before anything is allocated ---------------------------------------------------
@pytest.mark.parametrize("name", list(ABSURD))
def test_absurd_config_is_refused_before_allocating(client, allowed, name):
    with PeakRSS() as peak:
        started = time.perf_counter()
        message = refused(client, ABSURD[name][1], str(allowed / name), api_name="/load_model")
        elapsed = time.perf_counter() - started
    assert peak.growth < RSS_BOUND, f"the server grew by {peak.growth / 2**20:.0f} MB"
    assert elapsed < 10 and str(allowed) not in message
    still_serves(client)


def test_config_is_shown_without_server_paths(client, allowed):
    card, details, _picker = client.predict(str(allowed / "paths"), api_name="/load_model")
    shown = card + json.dumps(details)
    assert "/home/operator" not in shown and "/srv/private" not in shown and str(allowed) not in shown
    assert details["config"]["note"] == "key.txt"


# -- who may load what -------------------------------------------------------------------------------------------
def test_forbidden_paths_get_one_message_without_the_path(client, tiny, tmp_path):
    """A folder, a file, a missing path, a parent path, a Hub id, a real checkpoint outside the allowed folder:
    the same words for all (no oracle of what exists), and none of them echoed."""
    (tmp_path / "a-file.txt").write_text("x")
    candidates = [
        str(tmp_path),
        str(tmp_path / "a-file.txt"),
        "/no/such/folder",
        "../../etc",
        "someone/model",
        str(tiny),
    ]
    messages = set()
    for path in candidates:
        for endpoint, args in (("/load_model", (path,)), ("/fill_mask", ("Das <mask> .", "de", 2, path))):
            message = refused(client, load_policy.NOT_OFFERED, *args, api_name=endpoint)
            assert path not in message
            messages.add(message)
    assert len(messages) == 1
    still_serves(client)


def test_uploads_are_never_models(served, client, tiny, monkeypatch):
    import httpx

    files = [("files", (name, (tiny / name).read_bytes())) for name in ("config.json", "model.safetensors")]
    uploaded = [Path(p) for p in httpx.post(served + "gradio_api/upload", files=files, timeout=60).json()]
    cache = Path(load_policy.forbidden_roots()[0])
    monkeypatch.setenv(
        load_policy.ALLOWED_ENV, f"{cache},{uploaded[0].parent}"
    )  # even where the operator allows it
    for public in ("1", "0"):
        monkeypatch.setenv(load_policy.PUBLIC_ENV, public)
        for path in {uploaded[0].parent, uploaded[0]}:
            message = refused(client, load_policy.UPLOADED, str(path), api_name="/load_model")
            assert str(cache) not in message
    still_serves(client)


def test_policy_defaults(monkeypatch):
    for name in (load_policy.PUBLIC_ENV, "SPACE_ID", "GRADIO_SERVER_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert not load_policy.public()  # bound to localhost by default
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    assert load_policy.public()
    monkeypatch.setenv(load_policy.PUBLIC_ENV, "0")
    assert not load_policy.public()  # the operator's word wins
    monkeypatch.delenv("GRADIO_SERVER_NAME")
    monkeypatch.delenv(load_policy.PUBLIC_ENV)
    monkeypatch.setenv("SPACE_ID", "someone/space")
    assert load_policy.public()


# -- the resource guard --------------------------------------------------------------------------------------------
SHARED_CONFIGS = ["xlm-mlm-en-2048", "xlm-mlm-ende-1024", "xlm-mlm-100-1280", "xlm-clm-enfr-1024"]


@pytest.mark.parametrize("name", SHARED_CONFIGS)
def test_config_parameters_match_transformers(shared_data, name):
    """The parameters a config implies, against transformers' model built on the meta device (biases and norms
    are left out of ours: within 1 %, never above)."""
    import torch
    import transformers

    config = json.loads((shared_data / "hf-configs" / f"{name}.json").read_text(encoding="utf-8"))
    with torch.device("meta"):
        reference = transformers.XLMWithLMHeadModel(transformers.XLMConfig(**config)).num_parameters()
    ours = resources.config_parameters(config)
    assert 0.99 * reference <= ours <= reference


@pytest.mark.parametrize(
    "repo", ["FacebookAI/xlm-roberta-base", "FacebookAI/xlm-roberta-large", "facebook/xlm-roberta-xl"]
)
def test_config_parameters_match_transformers_xlmr(repo):
    """The same for XLM-R shapes (the catalogue's), against transformers' masked LM on the meta device."""
    import torch
    import transformers

    from components.catalogue import BY_REPO

    checkpoint = BY_REPO[repo]
    classes = {
        "xlm-roberta": (transformers.XLMRobertaConfig, transformers.XLMRobertaForMaskedLM),
        "xlm-roberta-xl": (transformers.XLMRobertaXLConfig, transformers.XLMRobertaXLForMaskedLM),
    }
    config_class, model_class = classes[checkpoint.model_type]
    with torch.device("meta"):
        reference = model_class(config_class(**checkpoint.shape)).num_parameters()
    ours = resources.config_parameters(checkpoint.shape)
    assert 0.99 * reference <= ours <= reference


def test_weight_footprint_reads_headers_only(tiny):
    from safetensors import safe_open

    with safe_open(str(tiny / "model.safetensors"), "pt") as weights:
        tensors = [weights.get_tensor(k) for k in weights.keys()]  # noqa: SIM118
    parameters, nbytes = resources.weight_footprint(tiny)
    assert parameters == sum(t.numel() for t in tensors)
    assert nbytes == sum(t.numel() * t.element_size() for t in tensors)


def test_guard_compares_with_memory_and_budget(tiny):
    found = resources.check(tiny)
    with pytest.raises(resources.ModelTooLargeError, match="the app's model budget: pick a smaller model"):
        resources.check(tiny, budget_bytes=found.needed_bytes - 1)
    with pytest.raises(resources.ModelTooLargeError, match="available on this machine"):
        resources.check(tiny, available_bytes=found.needed_bytes - 1)


def test_corrupt_headers_are_refused(tiny, tmp_path):
    folder = _copy_with_config(tiny, tmp_path / "cut")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpointError, match="lies outside the file"):
        resources.footprint(folder)
    (folder / "model.safetensors").write_bytes((2**40).to_bytes(8, "little") + b"{}")
    with pytest.raises(CorruptCheckpointError, match="header larger than the file"):
        resources.footprint(folder)
    with pytest.raises(InvalidConfigError, match="n_layers must be a whole number"):
        resources.config_parameters({"emb_dim": 8, "n_layers": True})


def test_bad_input_leaves_no_traceback_in_the_log(served, client, capfd):
    """Expected bad input is answered, not logged as a crash."""
    capfd.readouterr()
    call_raw(served, "/fill_mask", '{"data": ["Das <mask> .", "de", NaN, "tiny-mlm"]}')
    call_raw(served, "/fill_mask", '{"data": ["x"]}')
    refused(
        client, "Top-k must be a number, not text.", "Das <mask> .", "de", "abc", MODEL, api_name="/fill_mask"
    )
    refused(client, load_policy.NOT_OFFERED, "/etc", api_name="/load_model")
    refused(client, "No mask token", "Kein Maskenwort .", "de", 2, MODEL, api_name="/fill_mask")
    refused(
        client,
        "99 is not in the list of choices",
        "Das Haus .",
        "de",
        "",
        None,
        "99",
        "mean",
        MODEL,
        api_name="/attention",
    )
    assert "Traceback" not in capfd.readouterr().err


def test_operator_choices_are_allowed_in_public(monkeypatch, tmp_path):
    monkeypatch.setenv(load_policy.PUBLIC_ENV, "1")
    monkeypatch.setenv(load_policy.ALLOWED_ENV, f"someone/model, {tmp_path}")
    monkeypatch.setenv(load_policy.DEFAULT_MODEL_ENV, "/srv/models/default")
    assert load_policy.may_load("someone/model") is None
    assert load_policy.may_load(str(tmp_path / "sub" / "folder")) is None
    assert load_policy.may_load("/srv/models/default") is None
    assert load_policy.may_load("someone/other") == load_policy.NOT_OFFERED
    assert load_policy.may_load(str(tmp_path.parent)) == load_policy.NOT_OFFERED


# -- bounded exports -----------------------------------------------------------------------------------------------
def test_big_attention_exports_hold_the_mean_over_heads():
    import numpy as np

    from components.attention import export_rows
    from components.limits import EXPORT_CELLS

    rng = np.random.default_rng(0)
    n = int((EXPORT_CELLS / 8) ** 0.5) + 4  # 2 layers x 4 heads x n x n > EXPORT_CELLS
    att = rng.random((2, 4, n, n), dtype=np.float32)
    shown, rows = export_rows({"tokens": ["t"] * n, "attentions": att})
    assert len(rows) == 2 * n * n and {r["head"] for r in rows} == {"mean"}
    assert rows[n + 1]["weight"] == pytest.approx(float(att[0, :, 1, 1].mean()), abs=1e-4)
    assert np.asarray(shown["attentions"]).shape == (2, 1, n, n) and "mean over heads" in shown["note"]
    small = att[:, :, :8, :8]
    _, rows = export_rows({"tokens": ["t"] * 8, "attentions": small})
    assert len(rows) == small.size and rows[-1]["head"] == 3


DISK_FULL = """
import json, resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from components import common
common.EXPORT_DIR = Path(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (64, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
files = common.export("big", {"text": "x" * 1000}, [{"a": 1}])
print(json.dumps({"files": files, "left": [str(p) for p in Path(sys.argv[1]).rglob("*")]}))
"""


def test_export_on_a_full_disk_keeps_nothing_and_answers(tmp_path):
    """Files cannot grow past 64 bytes (RLIMIT_FSIZE, as a full disk): no files, nothing half-written, no crash."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"files": [], "left": []}
    assert "export not written: File too large" in result.stderr


# -- a fair queue --------------------------------------------------------------------------------------------------
HEAVY = {"attention", "cross_lingual", "compare", "generate"}
LIGHT = {"fill_mask", "answer", "classify", "tag"}


def test_heavy_requests_have_a_lane_of_their_own():
    """Costly events run one at a time in their own lane, model loads in another: the slots of the quick requests
    (demo.queue's default limit) stay free for other visitors."""
    import app
    from components.common import HEAVY_WORK, LOADING_WORK, MODEL_WORK, TEXT_WORK

    lanes = {fn.api_name: (fn.concurrency_id, fn.concurrency_limit) for fn in app.demo.fns.values()}
    heavy = (HEAVY_WORK["concurrency_id"], 1)
    assert {name: lanes[name] for name in HEAVY} == dict.fromkeys(HEAVY, heavy)
    assert {name: lanes[name][0] for name in LIGHT} == dict.fromkeys(LIGHT, MODEL_WORK)
    assert lanes["load_model"] == lanes["describe_model"] == (LOADING_WORK["concurrency_id"], 1)
    assert lanes["tokenize"][0] == TEXT_WORK  # reads a tokenizer, runs no model


def test_guard_says_the_same_for_a_file_and_a_missing_folder(tmp_path):
    (tmp_path / "a-file").write_text("x")
    for path in (tmp_path / "a-file", tmp_path / "missing"):
        with pytest.raises(CorruptCheckpointError, match=r"^The checkpoint has no config\.json\.$"):
            resources.footprint(path)


@pytest.mark.parametrize("model_type", ["xlm", "xlm-roberta"])
def test_fields_left_out_take_the_family_defaults(model_type):
    """A config.json with only its model type: the guard counts the defaults, as transformers builds them."""
    import torch
    import transformers

    classes = {
        "xlm": (transformers.XLMConfig, transformers.XLMWithLMHeadModel),
        "xlm-roberta": (transformers.XLMRobertaConfig, transformers.XLMRobertaForMaskedLM),
    }
    config_class, model_class = classes[model_type]
    with torch.device("meta"):
        reference = model_class(config_class()).num_parameters()
    ours = resources.config_parameters({"model_type": model_type})
    assert 0.99 * reference <= ours <= reference
    assert resources.config_parameters({"model_type": model_type, "vocab_size": 10}) < ours


def test_messages_show_no_server_path():
    from components.common import without_paths

    cases = {
        "config.json not found in /srv/models/snap-1/": "config.json not found in snap-1",
        "/a/b/c.json is not valid JSON: line 1": "c.json is not valid JSON: line 1",
        "the Hub at https://huggingface.co/org/m cannot be reached": "the Hub at https://huggingface.co/org/m cannot be reached",
        "Hub id FacebookAI/xlm-mlm-en-2048, spacing 1 / (cols - 1)": "Hub id FacebookAI/xlm-mlm-en-2048, spacing 1 / (cols - 1)",
    }
    assert {text: without_paths(text) for text in cases} == cases


def test_attention_grid_panels_are_bounded():
    import numpy as np

    from components import plots
    from components.limits import GRID_SIDE

    n = 2 * GRID_SIDE + 1
    att = np.random.default_rng(1).random((2, 3, n, n), dtype=np.float32)
    fig = plots.attention_grid(att)
    panels = [np.asarray(trace.z) for trace in fig.data]
    assert len(panels) == 6 and all(p.shape == (GRID_SIDE, GRID_SIDE) for p in panels)
    starts = np.linspace(0, n, GRID_SIDE + 1).astype(int)
    block = att[1, 2, starts[0] : starts[1], starts[-2] :]  # first block row, last block column
    assert panels[5][0, -1] == pytest.approx(float(block.mean()), rel=1e-5)
    small = plots.attention_grid(att[:, :, :5, :5])
    assert np.array_equal(np.asarray(small.data[0].z), att[0, 0, :5, :5])
