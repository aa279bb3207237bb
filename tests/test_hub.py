"""Loading and saving checkpoints: local folders, Hub caches offline, safetensors/.bin, round trips with transformers,
and the errors a person sees for bad paths and bad files."""

import json
import pickle
import shutil

import pytest
import torch
import transformers
from _parity import HEADS
from _tolerance import assert_rounding_equal

import xlm
from xlm.files import resolve_model_dir
from xlm.registry import FAMILIES
from xlm.weights import load_state_dict, tensor_shapes

INPUTS = {"input_ids": torch.tensor([[1, 40, 987, 5, 2034, 1]]), "langs": torch.tensor([[1, 1, 1, 1, 1, 1]])}


def _first_tensor(output) -> torch.Tensor:
    for name in ("logits", "start_logits", "start_top_log_probs", "last_hidden_state"):
        value = getattr(output, name, None) if not isinstance(output, dict) else output.get(name)
        if value is not None:
            return value
    raise AssertionError(f"no output tensor in {type(output)}")


def _inputs_for(cls_name: str) -> dict:
    if cls_name == "XLMForMultipleChoice":
        return {k: v.unsqueeze(1).repeat(1, 2, 1) for k, v in INPUTS.items()}
    return INPUTS


@pytest.mark.parametrize("cls_name", HEADS)
def test_round_trips_with_transformers(cls_name, make_model, tmp_path):
    """our save → our load and → transformers load; transformers save → our load: identical outputs."""
    folder = make_model(cls_name)
    ours = getattr(xlm, cls_name).from_pretrained(folder)
    theirs = getattr(transformers, cls_name).from_pretrained(folder).eval()
    inputs = _inputs_for(cls_name)
    with torch.no_grad():
        expected = _first_tensor(theirs(**inputs))
        assert_rounding_equal(_first_tensor(ours(**inputs)), expected)
        theirs.save_pretrained(tmp_path / "hf")
        shutil.copy(folder / "vocab.json", tmp_path / "hf")
        again = getattr(xlm, cls_name).from_pretrained(tmp_path / "hf")
        assert_rounding_equal(_first_tensor(again(**inputs)), expected)
        ours.save_pretrained(tmp_path / "ours")
        twice = getattr(xlm, cls_name).from_pretrained(tmp_path / "ours")
        assert_rounding_equal(_first_tensor(twice(**inputs)), expected)
    assert ours.load_report.missing_keys == [] and ours.load_report.unexpected_keys == []


def test_pickled_weights_load_with_weights_only(make_model, tmp_path):
    folder = make_model()
    state = load_state_dict(folder)
    shutil.copy(folder / "config.json", tmp_path)
    torch.save(state, tmp_path / "pytorch_model.bin")
    model = xlm.XLMWithLMHeadModel.from_pretrained(tmp_path)
    reference = xlm.XLMWithLMHeadModel.from_pretrained(folder)
    with torch.no_grad():
        torch.testing.assert_close(model(**INPUTS).logits, reference(**INPUTS).logits, atol=0, rtol=0)


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickle_with_code_is_refused(make_model, tmp_path, capsys):
    shutil.copy(make_model() / "config.json", tmp_path)
    with open(tmp_path / "pytorch_model.bin", "wb") as f:
        pickle.dump({"x": Evil()}, f)
    with pytest.raises(xlm.CorruptCheckpointError, match="Cannot read weights"):
        xlm.XLMModel.from_pretrained(tmp_path)
    assert "this must never run" not in capsys.readouterr().out


def test_truncated_safetensors_is_a_corrupt_checkpoint(make_model, tmp_path):
    shutil.copytree(make_model(), tmp_path / "m")
    data = (tmp_path / "m" / "model.safetensors").read_bytes()
    (tmp_path / "m" / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(xlm.CorruptCheckpointError, match=r"Cannot read weights from .*model.safetensors"):
        xlm.XLMWithLMHeadModel.from_pretrained(tmp_path / "m")


def test_weights_that_do_not_fit_the_config(make_model, tmp_path):
    shutil.copytree(make_model(), tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["vocab_size"] = 1000
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        xlm.CorruptCheckpointError, match=r"transformer.embeddings.weight has shape \(64699, 32\)"
    ):
        xlm.XLMWithLMHeadModel.from_pretrained(tmp_path / "m")


def test_missing_weights_and_bad_json(make_model, tmp_path):
    shutil.copy(make_model() / "config.json", tmp_path)
    with pytest.raises(xlm.CorruptCheckpointError, match=r"No weights in .*expected model\.safetensors"):
        xlm.XLMModel.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(xlm.CorruptCheckpointError, match=r"config\.json is not valid JSON"):
        xlm.XLMModel.from_pretrained(tmp_path)


@pytest.mark.parametrize("model_type", ["xlm-roberta", "bert"])
def test_other_architectures_are_named(model_type, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type, "hidden_size": 8}))
    with pytest.raises(xlm.ModelTypeError, match=model_type):
        xlm.XLMModel.from_pretrained(tmp_path)


def test_untrained_heads_are_reported(make_model):
    folder = make_model("XLMWithLMHeadModel")
    qa = xlm.XLMForQuestionAnsweringSimple.from_pretrained(folder)
    assert qa.load_report.untrained_heads == ["question-answering head (qa_outputs)"]
    assert any("not trained" in w for w in qa.load_report.warnings)
    assert qa.load_report.unexpected_keys == ["pred_layer.proj.bias"]
    base = xlm.XLMModel.from_pretrained(folder)  # a head checkpoint into the base model: prefix stripped
    assert base.load_report.missing_keys == []
    reference = xlm.XLMWithLMHeadModel.from_pretrained(folder).transformer
    with torch.no_grad():
        torch.testing.assert_close(base(**INPUTS).last_hidden_state, reference(**INPUTS).last_hidden_state)


def _hub_cache(root, repo_id, folder, commit="0123456789abcdef0123456789abcdef01234567"):
    """Lay out a Hub cache as huggingface_hub writes it: models--org--name/{refs/main, snapshots/<commit>/...}."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    shutil.copytree(folder, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return commit


def test_hub_ids_resolve_from_the_local_cache_offline(make_model, tmp_path, monkeypatch):
    folder = make_model()
    commit = _hub_cache(tmp_path / "hub", "FacebookAI/xlm-tiny-test", folder)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = xlm.XLMWithLMHeadModel.from_pretrained("FacebookAI/xlm-tiny-test", cache_dir=tmp_path / "hub")
    pinned = xlm.XLMWithLMHeadModel.from_pretrained(
        "FacebookAI/xlm-tiny-test", cache_dir=tmp_path / "hub", revision=commit
    )
    tokenizer = xlm.XLMTokenizer.from_pretrained("FacebookAI/xlm-tiny-test", cache_dir=tmp_path / "hub")
    assert tokenizer.lang2id == {"de": 0, "en": 1}
    with torch.no_grad():
        torch.testing.assert_close(model(**INPUTS).logits, pinned(**INPUTS).logits)
    with pytest.raises(xlm.ModelNotFoundError, match="not in the local Hub cache"):
        resolve_model_dir("FacebookAI/not-downloaded", cache_dir=tmp_path / "hub")


def test_standard_cache_location_is_honoured(make_model, tmp_path, monkeypatch):
    _hub_cache(tmp_path / "home" / "hub", "someone/xlm-tiny", make_model())
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "home" / "hub"))
    assert (resolve_model_dir("someone/xlm-tiny") / "config.json").is_file()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("./no/such/folder", "No such model folder"),
        ("", "No model given"),
        ("a b c", "No such model folder"),
        ("org/na--me", "neither a local folder"),
    ],
)
def test_unreachable_names(name, message):
    with pytest.raises(xlm.ModelNotFoundError, match=message):
        resolve_model_dir(name, local_files_only=True)


def test_dtype_and_meta_loading(make_model):
    model = xlm.XLMWithLMHeadModel.from_pretrained(make_model(), dtype="bfloat16")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    assert model.pred_layer.proj.weight is model.transformer.embeddings.weight  # still tied


def test_every_registered_class_is_exported():
    for family in FAMILIES.values():
        for name, cls in family.architectures.items():
            assert getattr(xlm, name) is cls and name in xlm.__all__
        for cls in (family.config_class, family.tokenizer_class):
            assert getattr(xlm, cls.__name__) is cls and cls.__name__ in xlm.__all__


def test_tensor_shapes_read_headers_only(make_model, tmp_path):
    folder = make_model("XLMForSequenceClassification", seed=4)
    shapes = tensor_shapes(folder)
    state = load_state_dict(folder)
    assert shapes == {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state.items()}
    shutil.copy(folder / "config.json", tmp_path)
    torch.save(state, tmp_path / "pytorch_model.bin")
    assert tensor_shapes(tmp_path) == shapes
