"""transformers users' model idioms, for every head of both families, each compared with transformers on the same
weights and inputs: dict-like outputs and ``return_dict=False``, ``resize_token_embeddings``, ``from_pretrained``'s
keyword arguments (loading info, mismatched sizes, dtype, ``state_dict=``), re-labelled classifiers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers
from _tolerance import assert_rounding_equal
from safetensors.torch import load_file

import xlm
from xlm.errors import CorruptCheckpointError
from xlm.registry import FAMILIES

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Test-sized configs, one per model_type; the XLM one without language embeddings so every head takes the same
# inputs. Dropout 0 so that a training step is deterministic.
CONFIGS = {
    "xlm": {
        "vocab_size": 50, "emb_dim": 16, "n_heads": 2, "n_layers": 2, "max_position_embeddings": 32,
        "n_langs": 1, "dropout": 0.0, "attention_dropout": 0.0, "summary_first_dropout": 0.0, "start_n_top": 2, "end_n_top": 2,
    },
    **{
        model_type: {
            "vocab_size": 50, "hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 2,
            "intermediate_size": 32, "max_position_embeddings": 40, "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        }
        for model_type in ("xlm-roberta", "xlm-roberta-xl")
    },
}  # fmt: skip
CASES = [(t, name) for t, family in FAMILIES.items() for name in family.architectures]
LM_SUFFIXES = ("WithLMHeadModel", "ForMaskedLM", "ForCausalLM")
LM_HEADS = [(t, name) for t, name in CASES if name.endswith(LM_SUFFIXES)]


def their_config(model_type: str, name: str, **overrides) -> transformers.PretrainedConfig:
    data = {**CONFIGS[model_type], **overrides}
    if name.endswith("ForCausalLM"):
        data["is_decoder"] = True
    config = transformers.AutoConfig.for_model(model_type, **data)
    config._attn_implementation = "eager"
    return config


def pair(model_type: str, name: str, seed: int = 0, **overrides):
    """(ours, theirs) in eval mode: transformers' random weights, saved by transformers and loaded by us."""
    torch.manual_seed(seed)
    theirs = getattr(transformers, name)(their_config(model_type, name, **overrides)).eval()
    ours = getattr(xlm, name)(FAMILIES[model_type].config_class.from_dict(theirs.config.to_dict())).eval()
    missing, unexpected = ours.load_state_dict(theirs.state_dict(), strict=False)
    assert not missing and not unexpected
    return ours, theirs


def batch(name: str, vocab_size: int = 50) -> dict[str, torch.Tensor]:
    """Ids avoiding the special ids 0-5, the last row padded (pad id 1 for XLM-R, 2 for XLM), with labels fit for
    the head; multiple-choice inputs get a choice axis."""
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(6, vocab_size, (2, 7), generator=gen)
    mask = torch.ones_like(ids)
    mask[-1, -2:] = 0
    ids[-1, -2:] = 1 if "Roberta" in name else 2
    inputs = {"input_ids": ids, "attention_mask": mask}
    if "MultipleChoice" in name:
        inputs = {k: torch.stack([v, v.flip(0)], dim=1) for k, v in inputs.items()}
        inputs["labels"] = torch.tensor([0, 1])
    elif name.endswith(LM_SUFFIXES):
        inputs["labels"] = ids.masked_fill(mask == 0, -100)
    elif "SequenceClassification" in name:
        inputs["labels"] = torch.tensor([0, 1])
    elif "TokenClassification" in name:
        inputs["labels"] = torch.randint(0, 2, ids.shape, generator=gen)
    elif "QuestionAnswering" in name:
        inputs.update(start_positions=torch.tensor([1, 2]), end_positions=torch.tensor([3, 4]))
    return inputs


def assert_tuples_close(ours: tuple, theirs: tuple) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        if isinstance(a, tuple):
            assert_tuples_close(a, b)
        else:
            assert_rounding_equal(a, b)


# -- outputs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model_type", "name"), CASES)
def test_return_dict_false_gives_transformers_tuple(model_type, name):
    ours, theirs = pair(model_type, name)
    inputs = batch(name)
    kwargs = {"output_hidden_states": True, "output_attentions": True}
    with torch.no_grad():
        a_dict = ours(**inputs, **kwargs)
        a_tuple = ours(**inputs, **kwargs, return_dict=False)
        b_dict = theirs(**inputs, **kwargs)
        b_tuple = theirs(**inputs, **kwargs, return_dict=False)
    assert type(a_tuple) is tuple
    assert_tuples_close(a_tuple, b_tuple)
    assert_tuples_close(a_dict.to_tuple(), b_dict.to_tuple())
    # the mapping protocol as transformers' ModelOutput
    assert list(a_dict.keys()) == list(b_dict.keys()) and list(a_dict) == list(b_dict)
    assert len(a_dict) == len(b_dict)
    assert [k for k, _ in a_dict.items()] == [k for k, _ in b_dict.items()]
    assert len(list(a_dict.values())) == len(list(b_dict.values()))
    first = next(iter(b_dict))
    assert first in a_dict and "no_such_field" not in a_dict and ("no_such_field" in b_dict) is False
    assert_rounding_equal(a_dict[first], b_dict[first])
    assert_rounding_equal(a_dict[0], b_dict[0])
    assert_tuples_close(a_dict[1:], b_dict[1:])
    # config.return_dict = False makes tuples the default, as in transformers (whose XL causal LM fails on it)
    ours.config.return_dict = False
    with torch.no_grad():
        assert_tuples_close(ours(**inputs, **kwargs), b_tuple)
    assert ours.config.use_return_dict is False


# -- from_pretrained's keyword arguments ----------------------------------------------------------------------

BASES = {"xlm": "XLMModel", "xlm-roberta": "XLMRobertaModel", "xlm-roberta-xl": "XLMRobertaXLModel"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Factory: the folder where transformers saved its random ``name`` (a ``sub`` subfolder too)."""
    made = {}

    def save(model_type: str, name: str):
        if (model_type, name) not in made:
            torch.manual_seed(0)
            theirs = getattr(transformers, name)(their_config(model_type, name))
            folder = tmp_path_factory.mktemp(name)
            theirs.save_pretrained(folder)
            theirs.save_pretrained(folder / "sub")
            made[model_type, name] = folder
        return made[model_type, name]

    return save


@pytest.mark.parametrize(("model_type", "name"), CASES)
def test_loading_info_of_a_base_checkpoint_is_transformers(model_type, name, saved):
    folder = saved(model_type, BASES[model_type])
    ours, a = getattr(xlm, name).from_pretrained(folder, output_loading_info=True)
    theirs, b = getattr(transformers, name).from_pretrained(folder, output_loading_info=True)
    assert a == b
    # the base model's weights are the checkpoint's, in both
    for key, value in theirs.base_model.state_dict().items():
        assert torch.equal(ours.base_model.state_dict()[key], value), key


def classifier_name(model_type: str, role: str = "sequence-classification") -> str:
    return FAMILIES[model_type].heads[role].__name__


def classifier_pair(model_type: str, saved, role: str = "sequence-classification", **kwargs):
    name = classifier_name(model_type, role)
    folder = saved(model_type, name)
    ours = getattr(xlm, name).from_pretrained(folder, **kwargs)
    theirs = getattr(transformers, name).from_pretrained(folder, **kwargs)
    return ours, theirs


CLASSIFIERS = ["sequence-classification", "token-classification"]  # the heads that num_labels re-labels


@pytest.mark.parametrize("role", CLASSIFIERS)
@pytest.mark.parametrize("model_type", list(FAMILIES))
def test_relabelled_classifier_loads_mismatched_and_trains_as_transformers(model_type, role, saved):
    kwargs = {"num_labels": 5, "ignore_mismatched_sizes": True, "output_loading_info": True}
    (ours, a), (theirs, b) = classifier_pair(model_type, saved, role, **kwargs)
    assert a == b and b["mismatched_keys"]
    assert ours.config.num_labels == theirs.config.num_labels == 5
    assert ours.config.id2label == theirs.config.id2label
    # the re-initialised head is random in both: give ours theirs, then one training step each
    ours.load_state_dict(theirs.state_dict())
    inputs = batch("classifier")
    gen = torch.Generator().manual_seed(2)
    shape = (2,) if role == "sequence-classification" else inputs["input_ids"].shape
    inputs["labels"] = torch.randint(0, 5, shape, generator=gen)
    losses = []
    for model in (ours, theirs):
        model.train()
        optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
        first = model(**inputs).loss
        first.backward()
        optimiser.step()
        losses.append((first.detach(), model(**inputs).loss.detach()))
    assert_tuples_close(losses[0], losses[1])


@pytest.mark.parametrize(
    ("model_type", "name"),
    CASES,
)
def test_mismatched_sizes_of_every_head_as_transformers(model_type, name, saved):
    """A checkpoint loaded with another vocabulary size: the tensors of that size are initialised afresh and
    listed as transformers lists them; the rest is the checkpoint's."""
    folder = saved(model_type, name)
    kwargs = {"vocab_size": 60, "ignore_mismatched_sizes": True, "output_loading_info": True}
    ours, a = getattr(xlm, name).from_pretrained(folder, **kwargs)
    theirs, b = getattr(transformers, name).from_pretrained(folder, **kwargs)
    assert a == b and b["mismatched_keys"]
    assert ours.config.vocab_size == theirs.config.vocab_size == 60
    mismatched = {key for key, _, _ in b["mismatched_keys"]}
    for key, value in load_file(folder / "model.safetensors").items():
        if key not in mismatched:
            assert torch.equal(ours.state_dict()[key], value), key
    out, their_out = ours.get_output_embeddings(), theirs.get_output_embeddings()
    if their_out is not None:  # a tied head stays tied to the re-initialised embeddings
        assert (out.weight is ours.get_input_embeddings().weight) is (
            their_out.weight is theirs.get_input_embeddings().weight
        )


@pytest.mark.parametrize("model_type", list(FAMILIES))
def test_a_relabelled_classifier_without_ignore_mismatched_sizes_is_refused(model_type, saved):
    name = classifier_name(model_type)
    folder = saved(model_type, name)
    # transformers raises a RuntimeError, we a CorruptCheckpointError (a ValueError); both name the way out
    with pytest.raises(CorruptCheckpointError, match="ignore_mismatched_sizes=True"):
        getattr(xlm, name).from_pretrained(folder, num_labels=5)
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):
        getattr(transformers, name).from_pretrained(folder, num_labels=5)


@pytest.mark.parametrize("model_type", list(FAMILIES))
def test_dtype_device_map_subfolder_and_config_overrides(model_type, saved, tmp_path):
    name = FAMILIES[model_type].heads["masked-lm"].__name__
    folder = saved(model_type, name)
    inputs = batch(name)
    for kwargs in ({"dtype": torch.float16}, {"torch_dtype": torch.float16}, {"torch_dtype": "float16"}):
        ours = getattr(xlm, name).from_pretrained(folder, **kwargs)
        theirs = getattr(transformers, name).from_pretrained(folder, **kwargs)
        assert ours.dtype == theirs.dtype == torch.float16
        ours.save_pretrained(tmp_path / "half")  # a dtype in the config does not stop saving
        assert getattr(transformers, name).from_pretrained(tmp_path / "half").dtype == torch.float16
    # transformers needs accelerate for device_map (not installed here); "auto" is the GPU where there is one
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    for device_map, device in (
        ("cpu", "cpu"),
        ("auto", auto),
        (torch.device("cpu"), "cpu"),
        ({"": "cpu"}, "cpu"),
    ):
        assert getattr(xlm, name).from_pretrained(folder, device_map=device_map).device.type == device
    kwargs = {"subfolder": "sub", "local_files_only": True, "output_attentions": True}
    ours = getattr(xlm, name).from_pretrained(folder, **kwargs)
    theirs = getattr(transformers, name).from_pretrained(folder, **kwargs).eval()
    assert ours.config.output_attentions is theirs.config.output_attentions is True
    with torch.no_grad():
        assert_tuples_close(ours(**inputs).to_tuple(), theirs(**inputs).to_tuple())


@pytest.mark.parametrize("model_type", list(FAMILIES))
def test_state_dict_without_a_path_and_unknown_keywords(model_type, saved):
    name = FAMILIES[model_type].heads["token-classification"].__name__
    torch.manual_seed(0)
    theirs = getattr(transformers, name)(their_config(model_type, name)).eval()
    config = FAMILIES[model_type].config_class.from_dict(theirs.config.to_dict())
    ours = getattr(xlm, name).from_pretrained(None, config=config, state_dict=theirs.state_dict())
    again = getattr(transformers, name).from_pretrained(
        None, config=theirs.config, state_dict=theirs.state_dict()
    )
    inputs = batch(name)
    with torch.no_grad():
        assert_tuples_close(ours(**inputs).to_tuple(), again.eval()(**inputs).to_tuple())
    folder = saved(model_type, name)
    for cls in (getattr(xlm, name), getattr(transformers, name)):
        with pytest.raises(TypeError, match="devise_map"):
            cls.from_pretrained(folder, devise_map="cpu")


@pytest.mark.parametrize("model_type", list(FAMILIES))
def test_config_json_files_and_subfolder_read_both_ways(model_type, saved, tmp_path):
    folder = saved(model_type, BASES[model_type])
    ours_class = FAMILIES[model_type].config_class
    theirs_class = type(transformers.AutoConfig.for_model(model_type))
    ours = ours_class.from_pretrained(folder, subfolder="sub")
    theirs = theirs_class.from_pretrained(folder, subfolder="sub")
    ours.to_json_file(tmp_path / "ours.json")
    theirs.to_json_file(tmp_path / "theirs.json")
    assert set_values(theirs_class.from_json_file(tmp_path / "ours.json").to_dict()) == set_values(
        theirs.to_dict()
    )
    assert ours_class.from_json_file(tmp_path / "theirs.json") == ours
    # a JSON file with the Hub options transformers users pass: they are not config values (a token never is)
    hub = {"token": "hf_secret", "revision": "main", "subfolder": "", "local_files_only": True}
    for auto in (xlm.AutoConfig, transformers.AutoConfig):
        config = auto.from_pretrained(folder / "config.json", **hub)
        assert not hasattr(config, "token") and "hf_secret" not in config.to_json_string()


@pytest.mark.parametrize("model_type", list(FAMILIES))
def test_auto_classes_read_config_json_once_and_load_as_transformers(model_type, saved, monkeypatch):
    folder = saved(model_type, classifier_name(model_type))
    kwargs = {
        "subfolder": "sub",
        "num_labels": 5,
        "ignore_mismatched_sizes": True,
        "output_loading_info": True,
    }
    read = []
    read_text = Path.read_text

    def counted(path: Path, *args, **kw) -> str:  # the real read, counted
        read.append(path.name)
        return read_text(path, *args, **kw)

    monkeypatch.setattr(Path, "read_text", counted)
    ours, a = xlm.AutoModelForSequenceClassification.from_pretrained(folder, token="unused", **kwargs)
    assert read.count("config.json") == 1
    monkeypatch.undo()
    theirs, b = transformers.AutoModelForSequenceClassification.from_pretrained(
        folder, token="unused", **kwargs
    )
    assert type(ours).__name__ == type(theirs).__name__
    assert a == b and b["mismatched_keys"]
    assert ours.config.num_labels == theirs.config.num_labels == 5
    for cls in (xlm.AutoModelForSequenceClassification, transformers.AutoModelForSequenceClassification):
        with pytest.raises(TypeError, match="devise_map"):
            cls.from_pretrained(folder, devise_map="cpu")


def set_values(data: dict) -> dict:
    """A config dict less its null entries (we write null for XLM's unset language maps; transformers omits them)."""
    return {k: v for k, v in data.items() if v is not None}


# -- embeddings -----------------------------------------------------------------------------------------------


def new_rows_close(ours: torch.Tensor, theirs: torch.Tensor, old: torch.Tensor) -> None:
    """transformers' mean-resized rows: the old mean plus noise of covariance 1e-9 times the old one; ours are
    the mean, so they agree within 6 standard deviations of that noise."""
    noise = 6 * 1e-9**0.5 * old.std(0).max().item()
    assert ours.shape == theirs.shape
    assert ours.numel() == 0 or (ours - theirs).abs().max().item() <= noise


@pytest.mark.parametrize("tie", [True, False])
@pytest.mark.parametrize(("model_type", "name"), CASES)
def test_resize_token_embeddings_as_transformers(model_type, name, tie):
    ours, theirs = pair(model_type, name, tie_word_embeddings=tie)
    inputs = batch(name, vocab_size=45)
    inputs.pop("labels", None)  # transformers' XLM LM loss keeps the old vocabulary size
    old = theirs.get_input_embeddings().weight.detach().clone()
    old_out = theirs.get_output_embeddings()
    old_out = None if old_out is None else old_out.weight.detach().clone()
    for size, multiple in ((53, 8), (45, None)):  # grow (to 56), then shrink
        new = [m.resize_token_embeddings(size, pad_to_multiple_of=multiple) for m in (ours, theirs)]
        assert ours.config.vocab_size == theirs.config.vocab_size == new[1].num_embeddings
        assert new[0] is ours.get_input_embeddings() and new[0].padding_idx == new[1].padding_idx
        kept = min(old.shape[0], new[1].num_embeddings)
        assert torch.equal(new[0].weight[:kept], new[1].weight[:kept])
        new_rows_close(new[0].weight[kept:], new[1].weight[kept:], old)
        with torch.no_grad():  # the random part made equal, everything else must agree
            new[0].weight[kept:] = new[1].weight[kept:]
        a, b = ours.get_output_embeddings(), theirs.get_output_embeddings()
        assert (a is None) == (b is None)
        if a is not None:
            assert (a.weight is new[0].weight) is (b.weight is new[1].weight) is tie
            assert_rounding_equal(a.bias, b.bias)
            if not tie:
                assert torch.equal(a.weight[:kept], b.weight[:kept])
                new_rows_close(a.weight[kept:], b.weight[kept:], old_out)
                with torch.no_grad():
                    a.weight[kept:] = b.weight[kept:]
        with torch.no_grad():
            assert_tuples_close(ours(**inputs).to_tuple(), without_cache(theirs(**inputs).to_tuple()))


def without_cache(outputs: tuple) -> tuple:
    """transformers' outputs less the cache its causal LM returns by default (ours only where one is passed)."""
    return tuple(x for x in outputs if not isinstance(x, transformers.Cache))


@pytest.mark.parametrize(("model_type", "name"), CASES)
def test_embedding_accessors_and_class_attributes(model_type, name):
    ours, theirs = pair(model_type, name)
    assert ours.main_input_name == theirs.main_input_name
    assert (ours.get_output_embeddings() is None) == (theirs.get_output_embeddings() is None)
    torch.manual_seed(3)
    replacement = torch.nn.Embedding(50, theirs.get_input_embeddings().embedding_dim)
    ours.set_input_embeddings(replacement)
    theirs.set_input_embeddings(replacement)
    assert ours.get_input_embeddings() is replacement is theirs.get_input_embeddings()
    if ours.get_output_embeddings() is not None:
        head = torch.nn.Linear(replacement.embedding_dim, 50)
        ours.set_output_embeddings(head)
        theirs.set_output_embeddings(head)
        assert ours.get_output_embeddings() is head is theirs.get_output_embeddings()
    inputs = batch(name)
    with torch.no_grad():
        assert_tuples_close(ours(**inputs).to_tuple(), without_cache(theirs(**inputs).to_tuple()))
