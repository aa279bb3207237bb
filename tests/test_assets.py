"""The shipped models in assets/: they load with our code and with transformers (same logits), fit the size
budget, and their model cards' held-out numbers are recomputed here from the shipped weights."""

import json
import os
from pathlib import Path

import pytest
import torch
from _tolerance import approx_recomputed, assert_rounding_equal

from xlm import XLMForQuestionAnsweringSimple, XLMForSequenceClassification, XLMTokenizer, XLMWithLMHeadModel
from xlm.loading import load_model
from xlm.train import report
from xlm.train.cards import BASE, CLM, LANGID, QA, clm_table, mlm_tables
from xlm.train.finetune import evaluate_qa, xquad_questions

ASSETS = Path(os.environ.get("XLM_EXPLORER_ASSETS") or Path(__file__).resolve().parents[1] / "assets")
HELDOUT = ASSETS / "heldout" / "gettext-test.tsv"
MODELS = {
    BASE: XLMWithLMHeadModel,
    QA: XLMForQuestionAnsweringSimple,
    LANGID: XLMForSequenceClassification,
    CLM: XLMWithLMHeadModel,
}
SHIPPED = [name for name in MODELS if (ASSETS / name / "model.safetensors").is_file()]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def metrics_of(name: str) -> dict:
    return json.loads((ASSETS / name / "metrics.json").read_text())


def test_assets_fit_the_budget():
    assert BASE in SHIPPED
    total = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    assert total <= 60e6, f"assets/ holds {total / 1e6:.1f} MB"


@pytest.mark.parametrize("name", SHIPPED)
def test_loads_with_ours_and_transformers_same_logits(name):
    import transformers

    folder = ASSETS / name
    ours = load_model(MODELS[name], folder).eval()
    theirs = getattr(transformers, MODELS[name].__name__).from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = XLMTokenizer.from_pretrained(folder)
    enc = tokenizer(
        ["cannot open file %s: permission denied", "Die Datei konnte nicht geöffnet werden"],
        lang=["en", "de"],
        padding=True,
        return_tensors="pt",
    )
    inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    if name != LANGID:  # the language identifier is used without language ids
        inputs["langs"] = enc["langs"]
    with torch.no_grad():
        a, b = ours(**inputs), theirs(**inputs)
    fields = ("start_logits", "end_logits") if name == QA else ("logits",)
    for field in fields:
        assert_rounding_equal(getattr(a, field), getattr(b, field))


def test_base_model_card_numbers_recomputed():
    shipped = metrics_of(BASE)
    got = report.base_metrics(
        ASSETS / BASE, HELDOUT, xquad_dir=None, streams=False
    )  # the stream tables: export only
    for key in ("mlm_gettext", "tlm"):
        for lang, values in got[key].items():
            assert values == approx_recomputed(shipped[key][lang]), (key, lang)
    card = (ASSETS / BASE / "README.md").read_text()
    streams = {k: shipped[k] for k in ("mlm_gettext_streams", "mlm_xquad_streams")}
    assert mlm_tables({**got, **streams}) in card


def test_base_model_beats_unigram_and_uses_the_translation():
    shipped = metrics_of(BASE)
    for lang, m in shipped["mlm_gettext"].items():  # each held-out sentence alone, as fill-mask sees it
        assert m["accuracy"] > 1.5 * m["unigram_baseline"], lang
    gains = [m["accuracy_with_en"] - m["accuracy_alone"] for m in shipped["tlm"].values()]
    assert min(gains) > 0.02  # every language: better with the English sentence in context
    assert sum(gains) / len(gains) > 0.05  # on average by more than 5 points


@pytest.mark.skipif(QA not in SHIPPED, reason="QA model not shipped")
def test_qa_card_numbers_recomputed_and_zero_shot_transfer(shared_data):
    shipped = metrics_of(QA)["check"]
    got = report.qa_metrics(ASSETS / QA, shared_data)
    assert got.keys() == shipped.keys()
    for lang in got:
        assert got[lang] == approx_recomputed(shipped[lang]), lang
    card = (ASSETS / QA / "README.md").read_text()
    for lang, m in got.items():
        assert f"| {lang} | {m['f1']:.1f} | {m['exact_match']:.1f} | {m['questions']} |" in card
    # Zero-shot transfer: on average over the languages it never saw, the English-trained head beats the same base
    # model with an untrained head (seeded). (Weak: es alone shows no gain on these 40 questions; see the card.)
    torch.manual_seed(0)
    untrained = load_model(XLMForQuestionAnsweringSimple, ASSETS / BASE, num_labels=2)
    tokenizer = XLMTokenizer.from_pretrained(ASSETS / QA)
    gains = []
    for lang in ("de", "es", "zh"):
        questions = xquad_questions(shared_data, lang, heldout=True)[: report.QA_CHECK_QUESTIONS]
        gains.append(got[lang]["f1"] - evaluate_qa(untrained, tokenizer, questions, lang)["f1"])
    assert sum(gains) / len(gains) > 1.0, gains


@pytest.mark.skipif(LANGID not in SHIPPED, reason="language identifier not shipped")
def test_langid_card_numbers_recomputed():
    shipped = metrics_of(LANGID)["check"]
    got = report.langid_metrics(ASSETS / LANGID, HELDOUT)
    assert got == approx_recomputed(shipped)
    assert got["accuracy"] > 0.5  # chance is 1/9
    card = (ASSETS / LANGID / "README.md").read_text()
    assert f"Overall: {100 * got['accuracy']:.1f}%." in card


@pytest.mark.skipif(CLM not in SHIPPED, reason="causal LM not shipped")
def test_clm_card_numbers_recomputed():
    shipped = metrics_of(CLM)
    got = report.clm_metrics(ASSETS / CLM, HELDOUT)
    for lang in got:
        assert got[lang] == approx_recomputed(shipped[lang]), lang
        assert got[lang]["accuracy"] > got[lang]["unigram_baseline"], lang
    assert clm_table(got) in (ASSETS / CLM / "README.md").read_text()
