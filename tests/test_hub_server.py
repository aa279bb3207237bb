"""The Hub path for real: the real ``huggingface_hub`` client in our loader, talking to a Hub-compatible server on
127.0.0.1 (tests/_hub_server.py) that serves an XLM and an XLM-R repo. Download and cache, revisions, offline reuse
with zero requests, one-line errors, which files are fetched, pickled weights; results equal local loading.

huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE when imported, so the in-process tests set the
environment and the client's module constants (what those variables become); the CLI tests run ``python -m xlm``
in a fresh process with the variables set, as a user does.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _hub_server import LFS_SUFFIXES, HubServer, unreachable_endpoint
from _tolerance import approx_scores, assert_rounding_equal

import xlm
from xlm.files import resolve_model_dir
from xlm.pipelines import ModelCache
from xlm.weights import load_state_dict

pytestmark = pytest.mark.usefixtures("one_torch_thread")

XLM_FILES = [  # sorted
    "config.json",
    "merges.txt",
    "model.safetensors",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "vocab.json",
]
XLM_TEXT = "Das ist ein <special1> Haus ."
XLMR_TEXT = "Die Hauptstadt von Deutschland ist <mask>."
TOKEN = "hf_test_token"  # the only token the private and gated repos answer
INPUTS = {"input_ids": torch.tensor([[1, 40, 987, 5, 2034, 1]]), "langs": torch.tensor([[1, 1, 1, 1, 1, 1]])}


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def _pickled(source: Path, folder: Path, state: object) -> Path:
    """``source``'s config and tokenizer files with ``state`` as pytorch_model.bin and no safetensors."""
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(state, folder / "pytorch_model.bin")
    return folder


def _sharded(source: Path, folder: Path) -> Path:
    """``source`` with its weights as two pickled shards and their index (no safetensors)."""
    state = load_state_dict(source)
    names = sorted(state)
    shards = {"pytorch_model-00001-of-00002.bin": names[::2], "pytorch_model-00002-of-00002.bin": names[1::2]}
    folder = _pickled(source, folder, {})
    (folder / "pytorch_model.bin").unlink()
    for shard, keys in shards.items():
        torch.save({k: state[k] for k in keys}, folder / shard)
    weight_map = {k: shard for shard, keys in shards.items() for k in keys}
    (folder / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map})
    )
    return folder


@pytest.fixture(scope="module")
def folders(make_model, make_xlmr, tmp_path_factory) -> dict[str, Path]:
    """The local folders the repos are made of."""
    root = tmp_path_factory.mktemp("hub-repos")
    xlm_main, xlm_v1 = make_model(seed=0), make_model(seed=1)
    extras = root / "extras"  # what big Hub repos also hold: other frameworks' weights, ONNX exports, a card
    shutil.copytree(xlm_main, extras)
    torch.save(load_state_dict(xlm_main), extras / "pytorch_model.bin")
    (extras / "tf_model.h5").write_bytes(b"not for us")
    (extras / "onnx").mkdir()
    (extras / "onnx" / "model.onnx").write_bytes(b"not for us")
    (extras / "onnx" / "tokenizer.json").write_text("{}")
    (extras / "README.md").write_text("# extras\n")
    (extras / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    nested = root / "nested"  # one repo, a checkpoint per sub-folder, and a card at its root
    for sub, source in (("xlm", xlm_main), ("xlmr", make_xlmr())):
        shutil.copytree(source, nested / sub)
    (nested / "README.md").write_text("# nested\n")
    return {
        "nested": nested,
        "xlm": xlm_main,
        "xlm-v1": xlm_v1,
        "xlmr": make_xlmr(),
        "extras": extras,
        "pickled": _pickled(xlm_main, root / "pickled", load_state_dict(xlm_main)),
        "sharded": _sharded(xlm_main, root / "sharded"),
        "evil": _pickled(xlm_main, root / "evil", {"x": Evil()}),
    }


@pytest.fixture(scope="module")
def server(folders):
    with HubServer() as hub:
        hub.add_repo("org/xlm", {"main": folders["xlm"], "v1": folders["xlm-v1"]})
        hub.add_repo("org/xlmr", {"main": folders["xlmr"]})
        for name in ("extras", "pickled", "sharded", "evil", "nested"):
            hub.add_repo(f"org/{name}", {"main": folders[name]})
        hub.add_repo("org/private", {"main": folders["xlm"]}, token=TOKEN)
        hub.add_repo("org/gated", {"main": folders["xlmr"]}, token=TOKEN, gated=True)
        yield hub


def _point_client(monkeypatch, endpoint: str, home: Path, offline: bool = False) -> None:
    """What HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE do in a fresh process, for this one: environment and the
    client's constants."""
    from huggingface_hub import constants

    for name, value in {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": home,
        "HF_HUB_OFFLINE": "1" if offline else "0",
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(home / ".agent_harnesses.json"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    # no token but the one a test passes: none from the environment, nor from a login on this machine
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))


@pytest.fixture
def hub(server, tmp_path, monkeypatch) -> HubServer:
    """The server, with no requests seen yet, and the client pointed at it with an empty cache."""
    _point_client(monkeypatch, server.endpoint, tmp_path / "hf")
    server.reset()
    return server


def _go_offline(monkeypatch, tmp_path: Path) -> None:
    _point_client(monkeypatch, os.environ["HF_ENDPOINT"], tmp_path / "hf", offline=True)


def _logits(model, **inputs) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits


def test_download_and_cache(hub, folders, tmp_path):
    folder = resolve_model_dir("org/xlm")
    assert folder.parent.parent == tmp_path / "hf" / "hub" / "models--org--xlm"
    assert folder.name == hub.repos["org/xlm"].refs["main"]
    assert sorted(p.name for p in folder.iterdir()) == XLM_FILES
    assert sorted(hub.sent) == XLM_FILES  # each file once
    hub.reset()
    model = xlm.AutoModelForMaskedLM.from_pretrained("org/xlm")
    tokenizer = xlm.AutoTokenizer.from_pretrained("org/xlm")
    # The cache is reused: each load asks once which commit "main" is, and nothing is sent again.
    assert hub.requests == [("GET", "/api/models/org/xlm/revision/main")] * 2
    local = xlm.AutoModelForMaskedLM.from_pretrained(folders["xlm"])
    assert type(model) is type(local) is xlm.XLMWithLMHeadModel
    torch.testing.assert_close(_logits(model, **INPUTS), _logits(local, **INPUTS), atol=0, rtol=0)
    local_tokenizer = xlm.AutoTokenizer.from_pretrained(folders["xlm"])
    assert tokenizer(XLM_TEXT, lang="de")["input_ids"] == local_tokenizer(XLM_TEXT, lang="de")["input_ids"]


def test_xlm_roberta_through_the_pipeline(hub, folders):
    tokenizer = xlm.AutoTokenizer.from_pretrained("org/xlmr")
    assert type(tokenizer) is xlm.XLMRobertaTokenizer
    assert not [name for name in hub.sent if name.endswith(".safetensors")]  # a tokenizer needs no weights
    fill = xlm.pipeline("fill-mask", "org/xlmr", device="cpu", cache=ModelCache())
    local = xlm.pipeline("fill-mask", folders["xlmr"], device="cpu", cache=ModelCache())
    assert fill(XLMR_TEXT, top_k=5) == local(XLMR_TEXT, top_k=5)
    assert sorted(hub.sent) == sorted(p.name for p in folders["xlmr"].iterdir())
    hub.reset()
    xlm.pipeline("fill-mask", "org/xlmr", device="cpu", cache=ModelCache())(XLMR_TEXT)
    assert hub.requests == [("GET", "/api/models/org/xlmr/revision/main")]  # resolved once per pipeline
    model = xlm.AutoModelForMaskedLM.from_pretrained("org/xlmr")
    encoded = tokenizer(XLMR_TEXT, return_tensors="pt")
    expected = _logits(xlm.AutoModelForMaskedLM.from_pretrained(folders["xlmr"]), **encoded)
    torch.testing.assert_close(_logits(model, **encoded), expected, atol=0, rtol=0)


def test_revision_picks_the_contents(hub, folders):
    main, v1 = hub.repos["org/xlm"].refs["main"], hub.repos["org/xlm"].refs["v1"]
    expected = {
        rev: _logits(xlm.XLMWithLMHeadModel.from_pretrained(folders[key]), **INPUTS)
        for rev, key in (("main", "xlm"), ("v1", "xlm-v1"))
    }
    for revision, want in ((None, "main"), ("main", "main"), ("v1", "v1"), (v1, "v1"), (main, "main")):
        model = xlm.AutoModelForMaskedLM.from_pretrained("org/xlm", revision=revision)
        torch.testing.assert_close(_logits(model, **INPUTS), expected[want], atol=0, rtol=0)
    assert resolve_model_dir("org/xlm", revision="v1").name == v1
    # v1 differs from main in its weights only: the other files are the same blobs, not sent again
    assert sorted(hub.sent) == sorted([*XLM_FILES, "model.safetensors"])
    fill = xlm.pipeline("fill-mask", "org/xlm", revision="v1", device="cpu", cache=ModelCache())
    local = xlm.pipeline("fill-mask", folders["xlm-v1"], device="cpu", cache=ModelCache())
    assert fill(XLM_TEXT, lang="de") == local(XLM_TEXT, lang="de")


def test_offline_reuses_the_cache_with_zero_requests(hub, folders, monkeypatch, tmp_path):
    xlm.AutoModelForMaskedLM.from_pretrained("org/xlm")
    xlm.AutoModelForMaskedLM.from_pretrained("org/xlm", revision="v1")
    xlm.pipeline("fill-mask", "org/xlmr", device="cpu", cache=ModelCache())
    xlm.AutoTokenizer.from_pretrained("org/extras")  # their files without the weights
    xlm.AutoTokenizer.from_pretrained("org/pickled")
    _go_offline(monkeypatch, tmp_path)
    hub.reset()
    model = xlm.AutoModelForMaskedLM.from_pretrained("org/xlm")
    pinned = xlm.AutoModelForMaskedLM.from_pretrained("org/xlm", revision="v1")
    tokenizer = xlm.AutoTokenizer.from_pretrained("org/xlm")
    xlm.AutoTokenizer.from_pretrained("org/extras")
    fill = xlm.pipeline("fill-mask", "org/xlmr", device="cpu", cache=ModelCache())
    answers = fill(XLMR_TEXT)
    assert hub.requests == []
    local = xlm.XLMWithLMHeadModel.from_pretrained(folders["xlm"])
    torch.testing.assert_close(_logits(model, **INPUTS), _logits(local, **INPUTS), atol=0, rtol=0)
    local_v1 = xlm.XLMWithLMHeadModel.from_pretrained(folders["xlm-v1"])
    torch.testing.assert_close(_logits(pinned, **INPUTS), _logits(local_v1, **INPUTS), atol=0, rtol=0)
    assert tokenizer.lang2id == {"de": 0, "en": 1}
    assert answers == xlm.pipeline("fill-mask", folders["xlmr"], device="cpu", cache=ModelCache())(XLMR_TEXT)
    offline = "and offline mode is on (HF_HUB_OFFLINE). Download it once online, or pass a local folder."
    for repo, cached in (("sharded", "not"), ("extras", "only partly"), ("pickled", "only partly")):
        with pytest.raises(xlm.ModelNotFoundError) as caught:
            xlm.AutoModelForMaskedLM.from_pretrained(f"org/{repo}")
        assert str(caught.value) == f"Model 'org/{repo}' is {cached} in the local Hub cache {offline}"
    assert hub.requests == []


ERRORS = {
    "no repo": ("org/missing", None, r"^No model 'org/missing' on the Hub"),
    "no revision": ("org/xlm", "v9", r"^Hub repo org/xlm has no revision 'v9'\.$"),
    "no commit": ("org/xlm", "0" * 40, rf"^Hub repo org/xlm has no revision '{'0' * 40}'\.$"),
}


@pytest.mark.parametrize("repo, revision, message", ERRORS.values(), ids=ERRORS)
def test_hub_errors_are_one_line(repo, revision, message, hub):
    for load in (
        resolve_model_dir,
        xlm.AutoModelForMaskedLM.from_pretrained,
        xlm.AutoTokenizer.from_pretrained,
    ):
        with pytest.raises(xlm.ModelNotFoundError, match=message) as caught:
            load(repo, revision=revision)
        assert "\n" not in str(caught.value)
    with pytest.raises(xlm.ModelNotFoundError, match=message):
        xlm.pipeline("fill-mask", repo, revision=revision)


def test_unreachable_hub_is_one_line(hub, monkeypatch, tmp_path):
    _point_client(monkeypatch, unreachable_endpoint(), tmp_path / "hf")
    with pytest.raises(xlm.ModelNotFoundError) as caught:
        xlm.AutoModelForMaskedLM.from_pretrained("org/xlm")
    assert str(caught.value) == (
        f"Model 'org/xlm' is not in the local Hub cache and the Hub at {os.environ['HF_ENDPOINT']} cannot be "
        "reached. Download it once online, or pass a local folder."
    )


def test_only_the_files_we_read_are_fetched(hub, folders):
    tokenizer = xlm.AutoTokenizer.from_pretrained("org/extras")
    wanted = sorted([*XLM_FILES, "README.md"])
    assert sorted(hub.sent) == [name for name in wanted if name != "model.safetensors"]
    model = xlm.AutoModelForMaskedLM.from_pretrained("org/extras")
    assert sorted(hub.sent) == wanted  # no pickle, no TF/ONNX files, nothing from sub-folders
    local = xlm.XLMWithLMHeadModel.from_pretrained(folders["xlm"])
    torch.testing.assert_close(_logits(model, **INPUTS), _logits(local, **INPUTS), atol=0, rtol=0)
    assert (
        tokenizer(XLM_TEXT, lang="de")["input_ids"]
        == xlm.AutoTokenizer.from_pretrained(folders["xlm"])(XLM_TEXT, lang="de")["input_ids"]
    )


@pytest.mark.parametrize("repo", ["pickled", "sharded"])
def test_pickle_only_repos_are_fetched_and_loaded(repo, hub, folders):
    xlm.AutoTokenizer.from_pretrained(f"org/{repo}")
    assert not [name for name in hub.sent if name.endswith(".bin")]  # a tokenizer needs no weights
    model = xlm.AutoModelForMaskedLM.from_pretrained(f"org/{repo}")
    assert sorted(name for name in hub.sent if name.endswith(".bin")) == sorted(
        p.name for p in folders[repo].glob("*.bin")
    )
    local = xlm.XLMWithLMHeadModel.from_pretrained(folders["xlm"])
    torch.testing.assert_close(_logits(model, **INPUTS), _logits(local, **INPUTS), atol=0, rtol=0)


def test_pickled_weights_are_read_with_weights_only(hub, capsys):
    with pytest.raises(xlm.CorruptCheckpointError, match="Cannot read weights"):
        xlm.AutoModelForMaskedLM.from_pretrained("org/evil")  # weights_only: the pickle's code does not run
    assert "this must never run" not in capsys.readouterr().out


# -- token= and subfolder= on Hub repos, each compared with transformers on the same server -------------------------
TEXTS = {"xlm": XLM_TEXT, "xlmr": XLMR_TEXT}
GUARDED = {  # repo -> (the checkpoint it serves, our one-line refusal without its token)
    "org/private": ("xlm", r"^No model 'org/private' on the Hub .* a private repo needs token="),
    "org/gated": ("xlmr", r"^Hub repo org/gated is gated: pass token="),
}


def _hub_authorizations(hub: HubServer) -> list[str | None]:
    """The Authorization header of each request to the Hub itself (not its CDN, which the client asks without)."""
    return [
        auth
        for (_, path), auth in zip(hub.requests, hub.authorizations, strict=True)
        if not path.startswith("/blobs/")
    ]


def _assert_same_as_transformers(tokenizer, model, their_tokenizer, their_model, text: str) -> None:
    """Same ids for ``text`` from both tokenizers, and the same MLM logits on them up to float rounding."""
    ids = tokenizer(text)["input_ids"]
    assert ids == their_tokenizer(text)["input_ids"]
    input_ids = torch.tensor([ids])
    with torch.no_grad():
        expected = their_model(input_ids=input_ids).logits
    assert_rounding_equal(_logits(model, input_ids=input_ids), expected)


@pytest.mark.parametrize("repo", GUARDED)
def test_a_token_opens_private_and_gated_repos_as_in_transformers(repo, hub):
    import transformers

    kind, refused = GUARDED[repo]
    for token in (None, "hf_wrong"):
        with pytest.raises(OSError):
            transformers.AutoConfig.from_pretrained(repo, token=token)
        for load in (
            xlm.AutoConfig.from_pretrained,
            xlm.AutoTokenizer.from_pretrained,
            xlm.AutoModelForMaskedLM.from_pretrained,
        ):
            with pytest.raises(xlm.ModelNotFoundError, match=refused) as caught:
                load(repo, token=token)
            assert "\n" not in str(caught.value)
    hub.reset()
    config = xlm.AutoConfig.from_pretrained(repo, token=TOKEN)
    tokenizer = xlm.AutoTokenizer.from_pretrained(repo, token=TOKEN)
    model = xlm.AutoModelForMaskedLM.from_pretrained(repo, token=TOKEN)
    assert type(config).from_pretrained(repo, token=TOKEN) == config == model.config
    again = type(tokenizer).from_pretrained(repo, token=TOKEN)
    assert again(TEXTS[kind])["input_ids"] == tokenizer(TEXTS[kind])["input_ids"]
    sent = _hub_authorizations(hub)
    assert sent and set(sent) == {f"Bearer {TOKEN}"}  # every request to the Hub carried the token
    _assert_same_as_transformers(
        tokenizer,
        model,
        transformers.AutoTokenizer.from_pretrained(repo, token=TOKEN),
        transformers.AutoModelForMaskedLM.from_pretrained(repo, token=TOKEN),
        TEXTS[kind],
    )


@pytest.mark.parametrize("sub", ["xlm", "xlmr"])
def test_a_subfolder_of_a_hub_repo_as_in_transformers(sub, hub, folders):
    import transformers

    config = xlm.AutoConfig.from_pretrained("org/nested", subfolder=sub)
    tokenizer = xlm.AutoTokenizer.from_pretrained("org/nested", subfolder=sub)
    model = xlm.AutoModelForMaskedLM.from_pretrained("org/nested", subfolder=sub)
    # the sub-folder's files, each once; nothing from the root or the other sub-folder (an LFS blob is recorded
    # under the first path the server saw it at, so file names are compared)
    assert sorted(Path(name).name for name in hub.sent) == sorted(
        p.name for p in (folders["nested"] / sub).iterdir()
    )
    assert all(name.startswith(f"{sub}/") for name in hub.sent if not name.endswith(LFS_SUFFIXES))
    assert type(config).from_pretrained("org/nested", subfolder=sub) == config == model.config
    assert config == xlm.AutoConfig.from_pretrained(folders["nested"], subfolder=sub)
    their_config = transformers.AutoConfig.from_pretrained("org/nested", subfolder=sub)
    assert (their_config.model_type, their_config.vocab_size) == (config.model_type, config.vocab_size)
    _assert_same_as_transformers(
        tokenizer,
        model,
        transformers.AutoTokenizer.from_pretrained("org/nested", subfolder=sub),
        transformers.AutoModelForMaskedLM.from_pretrained("org/nested", subfolder=sub),
        TEXTS[sub],
    )
    # transformers: "Unrecognized model in org/nested" (a ValueError)
    with pytest.raises((OSError, ValueError)):
        transformers.AutoConfig.from_pretrained("org/nested", subfolder="nope")
    for load in (xlm.AutoConfig.from_pretrained, xlm.AutoTokenizer.from_pretrained):
        with pytest.raises(xlm.ModelNotFoundError, match=r"^org/nested has no sub-folder 'nope'\.$"):
            load("org/nested", subfolder="nope")


def test_a_class_own_from_pretrained_takes_token_and_subfolder_on_hub_ids(hub, folders):
    local = _logits(xlm.XLMWithLMHeadModel.from_pretrained(folders["xlm"]), **INPUTS)
    for repo, kwargs in (("org/private", {"token": TOKEN}), ("org/nested", {"subfolder": "xlm"})):
        model = xlm.XLMWithLMHeadModel.from_pretrained(repo, **kwargs)
        torch.testing.assert_close(_logits(model, **INPUTS), local, atol=0, rtol=0)


def test_the_server_speaks_the_hub_protocol(hub, folders):
    """What the client makes of the server's answers, below our loader."""
    from huggingface_hub import errors, hf_hub_download

    config = hf_hub_download("org/xlm", "config.json", revision="v1")
    assert Path(config).read_text() == (folders["xlm-v1"] / "config.json").read_text()
    assert Path(config).parent.name == hub.repos["org/xlm"].refs["v1"]
    weights = hf_hub_download("org/xlm", "model.safetensors")  # LFS: a redirect to the "CDN" origin
    assert Path(weights).read_bytes() == (folders["xlm"] / "model.safetensors").read_bytes()
    repo = hub.repos["org/xlm"]
    blob = repo.commits[repo.refs["main"]]["model.safetensors"].sha256
    assert ("GET", f"/blobs/{blob}") in hub.requests
    for repo, revision, filename, error in (
        ("org/missing", None, "config.json", errors.RepositoryNotFoundError),
        ("org/xlm", "v9", "config.json", errors.RevisionNotFoundError),
        ("org/xlm", None, "nothing.json", errors.EntryNotFoundError),
    ):
        with pytest.raises(error):
            hf_hub_download(repo, filename, revision=revision)


# -- the command line, in a fresh process as a user runs it -------------------------------------------------------
def _cli(
    endpoint: str, home: Path, model: str, offline: bool = False, revision: str | None = None
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(home),
        "HF_HUB_OFFLINE": "1" if offline else "0",
        "PYTHONWARNINGS": "ignore",
    }
    args = ["run", "--task", "fill-mask", "--model", model, "--lang", "de", "--top-k", "3"]
    args += ["--revision", revision] if revision else []
    return subprocess.run(
        [sys.executable, "-m", "xlm", *args],
        input=XLM_TEXT + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_downloads_then_runs_offline(hub, folders, tmp_path):
    online = _cli(hub.endpoint, tmp_path / "home", "org/xlm")
    assert online.returncode == 0, online.stderr
    assert sorted(hub.sent) == XLM_FILES
    hub.reset()
    offline = _cli(hub.endpoint, tmp_path / "home", "org/xlm", offline=True)
    assert offline.returncode == 0, offline.stderr
    assert hub.requests == []
    # The answers of the local folder in this process (scores up to rounding: the thread count differs).
    local = xlm.pipeline("fill-mask", folders["xlm"], device="cpu", cache=ModelCache())
    expected = local(XLM_TEXT, lang="de", top_k=3)
    for done in (online, offline):
        answers = json.loads(done.stdout)
        assert [(a["token"], a["sequence"]) for a in answers] == [
            (a["token"], a["sequence"]) for a in expected
        ]
        assert [a["score"] for a in answers] == approx_scores([a["score"] for a in expected])


def test_cli_revision(hub, folders, tmp_path):
    done = _cli(hub.endpoint, tmp_path / "home", "org/xlm", revision="v1")
    assert done.returncode == 0, done.stderr
    local = xlm.pipeline("fill-mask", folders["xlm-v1"], device="cpu", cache=ModelCache())
    expected = local(XLM_TEXT, lang="de", top_k=3)
    assert [a["token"] for a in json.loads(done.stdout)] == [a["token"] for a in expected]
    missing = _cli(hub.endpoint, tmp_path / "home", "org/xlm", revision="v9")
    assert missing.returncode == 2 and missing.stderr.splitlines() == [
        "xlm: error: Hub repo org/xlm has no revision 'v9'."
    ]


@pytest.mark.parametrize("case", ["no repo", "unreachable"])
def test_cli_errors_are_one_line(case, hub, tmp_path):
    endpoint = unreachable_endpoint() if case == "unreachable" else hub.endpoint
    done = _cli(endpoint, tmp_path / "home", "org/missing")
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    expected = "not in the local Hub cache" if case == "unreachable" else "No model 'org/missing' on the Hub"
    assert line.startswith("xlm: error: ") and expected in line
