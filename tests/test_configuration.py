"""XLMConfig: the real Hub config.json files, transformers' XLMConfig as the oracle, aliases and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import transformers
from _parity import HF_CONFIGS

from xlm.errors import CorruptCheckpointError, InvalidConfigError, ModelNotFoundError, ModelTypeError
from xlm.models.xlm.configuration import ATTRIBUTE_MAP, XLMConfig

# Keys only transformers' own bookkeeping writes.
TRANSFORMERS_ONLY = {
    "_name_or_path",
    "chunk_size_feed_forward",
    "dtype",
    "is_encoder_decoder",
    "return_dict",
    "transformers_version",
}


def _file(shared_data: Path, name: str) -> Path:
    return shared_data / "hf-configs" / f"{name}.json"


def _json(value):
    """What a value looks like once written to and read back from JSON (int dict keys become strings)."""
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("name", HF_CONFIGS)
def test_every_hub_config_round_trips(shared_data, tmp_path, name):
    original = json.loads(_file(shared_data, name).read_text())
    config = XLMConfig.from_pretrained(_file(shared_data, name))
    written = _json(config.to_dict())
    for key, value in original.items():  # unknown keys kept as they are, aliases under their field name
        assert written[ATTRIBUTE_MAP.get(key, key)] == value, key
    config.save_pretrained(tmp_path)
    again = XLMConfig.from_pretrained(tmp_path)
    assert again == config
    assert json.loads((tmp_path / "config.json").read_text()) == written


@pytest.mark.parametrize("name", HF_CONFIGS)
def test_every_hub_config_reads_as_transformers_reads_it(shared_data, tmp_path, name):
    ours = XLMConfig.from_pretrained(_file(shared_data, name))
    theirs = transformers.XLMConfig.from_pretrained(_file(shared_data, name)).to_dict()
    mine = _json(ours.to_dict())
    assert set(theirs) - set(mine) <= TRANSFORMERS_ONLY
    for key in set(theirs) - TRANSFORMERS_ONLY:
        assert mine[key] == _json(theirs[key]), key
    # and transformers reads what we write
    ours.save_pretrained(tmp_path)
    back = transformers.XLMConfig.from_pretrained(tmp_path).to_dict()
    for key in set(back) - TRANSFORMERS_ONLY:
        assert mine[key] == _json(back[key]), key


def test_defaults_match_transformers():
    ours, theirs = XLMConfig().to_dict(), transformers.XLMConfig().to_dict()
    assert set(theirs) - set(ours) == TRANSFORMERS_ONLY
    assert set(ours) - set(theirs) == {"lang2id", "id2lang"}
    for key in set(theirs) - TRANSFORMERS_ONLY:
        assert ours[key] == theirs[key], key


def test_language_and_label_maps_get_integer_ids(shared_data):
    config = XLMConfig.from_pretrained(_file(shared_data, "xlm-mlm-tlm-xnli15-1024"))
    assert config.id2lang[14] == "zh" and config.lang2id["zh"] == 14 and config.n_langs == 15
    config = XLMConfig.from_dict({"id2label": {"0": "neg", "1": "neu", "2": "pos"}})
    assert (
        config.num_labels == 3
        and config.id2label[2] == "pos"
        and config.label2id == {"neg": 0, "neu": 1, "pos": 2}
    )
    only_lang2id = XLMConfig(n_langs=2, lang2id={"de": 0, "en": 1})
    assert only_lang2id.id2lang == {0: "de", 1: "en"}


def test_num_labels_builds_label_maps_like_transformers():
    ours, theirs = XLMConfig(num_labels=4), transformers.XLMConfig(num_labels=4)
    assert ours.id2label == theirs.id2label and ours.label2id == theirs.label2id
    ours.num_labels = 2
    theirs.num_labels = 2
    assert ours.id2label == theirs.id2label and ours.num_labels == 2


def test_aliases_read_and_write_the_fields():
    config = XLMConfig(hidden_size=64, num_attention_heads=4, num_hidden_layers=3, n_words=100, pad_index=1)
    assert (config.emb_dim, config.n_heads, config.n_layers, config.vocab_size, config.pad_token_id) == (
        64,
        4,
        3,
        100,
        1,
    )
    config.bos_index = 7
    config.eos_index = 8
    assert (config.bos_token_id, config.eos_token_id, config.bos_index, config.hidden_size) == (7, 8, 7, 64)
    assert "bos_index" not in config.to_dict() and config.to_dict()["bos_token_id"] == 7
    theirs = transformers.XLMConfig(hidden_size=64, num_attention_heads=4, n_words=100, pad_index=1)
    assert (theirs.emb_dim, theirs.n_heads, theirs.vocab_size, theirs.pad_token_id) == (64, 4, 100, 1)


def test_overrides_apply_on_top_of_the_file(shared_data):
    config = XLMConfig.from_pretrained(
        _file(shared_data, "xlm-mlm-100-1280"), n_layers=2, pad_index=1, causal=True, my_key="kept"
    )
    assert (config.n_layers, config.pad_token_id, config.causal, config.my_key) == (2, 1, True, "kept")
    assert config.emb_dim == 1280 and config.use_lang_emb is False
    assert config.command.startswith("python ")  # one of the original training arguments, kept


def test_old_configs_without_model_type_load(shared_data):
    data = json.loads(_file(shared_data, "xlm-clm-enfr-1024").read_text())
    del data["model_type"]
    assert XLMConfig.from_dict(data).lang2id == {"en": 0, "fr": 1}


@pytest.mark.parametrize("model_type", ["xlm-roberta", "bert"])
def test_other_architectures_are_refused(tmp_path, model_type):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type, "hidden_size": 768}))
    for load in (
        lambda: XLMConfig.from_pretrained(tmp_path),
        lambda: XLMConfig.from_dict({"model_type": model_type}),
    ):
        with pytest.raises(
            ModelTypeError, match=f"'{model_type}' checkpoint .* XLMConfig loads 'xlm' checkpoints only"
        ):
            load()


def test_unreadable_or_missing_config(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CorruptCheckpointError, match="not valid JSON"):
        XLMConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(CorruptCheckpointError, match="should hold a JSON object"):
        XLMConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(ModelNotFoundError, match=r"config\.json not found"):
        XLMConfig.from_pretrained(tmp_path)
    with pytest.raises(ModelNotFoundError):
        XLMConfig.from_pretrained(tmp_path / "nowhere")


def test_invalid_value_in_a_file_names_the_file(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"emb_dim": 100, "n_heads": 3}))
    with pytest.raises(InvalidConfigError, match=r"config.json: emb_dim=100 is not divisible by n_heads=3"):
        XLMConfig.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"emb_dim": 30, "n_heads": 4}, r"emb_dim=30 is not divisible by n_heads=4"),
        ({"emb_dim": 0}, r"emb_dim must be an integer >= 1; got emb_dim=0"),
        ({"vocab_size": -5}, r"vocab_size must be an integer >= 1; got vocab_size=-5"),
        ({"n_layers": 0}, r"n_layers must be an integer >= 1"),
        ({"n_heads": "8"}, r"n_heads must be an integer >= 1; got n_heads='8'"),
        ({"max_position_embeddings": 0}, r"max_position_embeddings must be an integer >= 1"),
        ({"n_langs": 0}, r"n_langs must be an integer >= 1; got n_langs=0"),
        ({"start_n_top": 0}, r"start_n_top must be an integer >= 1"),
        (
            {"vocab_size": 100, "pad_token_id": 200},
            r"pad_token_id must be a token id inside the vocabulary \[0, 100\)",
        ),
        ({"mask_index": -1}, r"mask_index must be a token id inside the vocabulary"),
        ({"vocab_size": 100, "eos_token_id": [1, 500]}, r"eos_token_id must be a token id .* or null"),
        (
            {"n_langs": 3, "lang2id": {"en": 0, "fr": 1}},
            r"lang2id must map n_langs=3 languages to the ids 0..2",
        ),
        (
            {"n_langs": 2, "lang2id": {"en": 0, "fr": 1}, "id2lang": {0: "fr", 1: "en"}},
            r"id2lang is not the inverse of lang2id",
        ),
        ({"n_langs": 2, "lang_id": 2}, r"lang_id must be in \[0, n_langs=2\)"),
        (
            {"summary_type": "attn"},
            r"summary_type='attn' is not supported; use one of last, first, mean, cls_index",
        ),
        ({"summary_activation": "swish"}, r"summary_activation='swish' is not one of"),
        ({"dropout": 1.5}, r"dropout must be a probability in \[0, 1\]; got dropout=1.5"),
        ({"layer_norm_eps": 0}, r"layer_norm_eps must be > 0"),
        ({"embed_init_std": -1.0}, r"embed_init_std must be > 0"),
        ({"causal": "yes"}, r"causal must be true or false; got causal='yes'"),
        ({"is_encoder": False}, r"is_encoder=false \(an XLM decoder\) is not supported"),
        ({"asm": True}, r"asm=true needs asm_cutoffs, .* got None"),
        ({"asm": True, "vocab_size": 100, "asm_cutoffs": [10, 200]}, r"asm=true needs asm_cutoffs"),
        ({"asm": True, "asm_cutoffs": [10, 50]}, r"asm=true needs asm_div_value > 0"),
        ({"num_labels": 3, "id2label": {0: "a"}}, r"num_labels=3 but id2label has 1 entries"),
        ({"num_labels": 0}, r"num_labels \(the size of id2label\) must be >= 1"),
        ({"id2label": {"x": "a"}}, r"id2label must map integer ids to names"),
        ({"pad_index": 1, "pad_token_id": 2}, r"pad_index=1 and pad_token_id=2 disagree"),
    ],
)
def test_invalid_values_get_clear_errors(kwargs, message):
    with pytest.raises(InvalidConfigError, match=message):
        XLMConfig(**kwargs)


def test_from_dict_wants_a_mapping():
    with pytest.raises(InvalidConfigError, match="must be a mapping"):
        XLMConfig.from_dict([1, 2])
