"""Choosing a model's fill-mask examples (xlm/train/examples.py) and the app reading them (components/examples.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from components import examples
from xlm.train.examples import masked_versions

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_only_whole_one_token_words_of_letters_are_masked():
    tokens = ["The</w>", "c", "at</w>", "sat</w>", "on</w>", "1", "2</w>", ".</w>"]
    assert list(masked_versions(tokens, "en")) == [
        ("<mask> cat sat on 12 .", "The"),
        ("The cat <mask> on 12 .", "sat"),
        ("The cat sat <mask> 12 .", "on"),
    ]


def test_unspaced_languages_are_joined_without_spaces():
    tokens = ["今天</w>", ",</w>", "我们</w>", "视", "频</w>"]
    assert list(masked_versions(tokens, "zh")) == [("<mask>,我们视频", "今天"), ("今天,<mask>视频", "我们")]


def test_a_models_examples_replace_the_built_in_ones_of_its_languages(tmp_path, monkeypatch):
    model = tmp_path / "tiny"
    model.mkdir()
    shutil.copy(ASSETS / "xlm-explorer-mini" / "config.json", model / "config.json")
    monkeypatch.setenv("XLM_EXPLORER_ASSETS", str(tmp_path))
    assert examples.fill_mask("tiny") == examples.FILL_MASK  # no examples.json: the built-in ones
    chosen = {
        "fill-mask": {"en": {"text": "Pictures <mask> videos .", "answer": "and", "source": "s", "line": 1}}
    }
    (model / "examples.json").write_text(json.dumps(chosen), encoding="utf-8")
    shown = examples.fill_mask("tiny")
    assert shown["en"] == "Pictures <mask> videos ."
    assert shown["fr"] == examples.FILL_MASK["fr"]
    assert examples.fill_mask("no-such-model") == examples.FILL_MASK
    assert examples.parallel("tiny") == examples.PARALLEL  # no pairs chosen


def test_a_models_pairs_come_first(tmp_path, monkeypatch):
    model = tmp_path / "tiny"
    model.mkdir()
    shutil.copy(ASSETS / "xlm-explorer-mini" / "config.json", model / "config.json")
    monkeypatch.setenv("XLM_EXPLORER_ASSETS", str(tmp_path))
    pair = {
        "text": "He built <mask> bell .",
        "pair": "Ele montou uma campainha .",
        "answer": "a",
        "alone": False,
    }
    (model / "examples.json").write_text(json.dumps({"cross-lingual": {"pt": pair}}), encoding="utf-8")
    shown = examples.parallel("tiny")
    assert next(iter(shown)) == "pt" and shown["pt"] == (pair["text"], pair["pair"])
    assert shown["fr"] == examples.PARALLEL["fr"] and len(shown) == len(examples.PARALLEL | {"pt": None})
