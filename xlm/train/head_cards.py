"""The fine-tuned heads in ``assets/`` (QA, language identification, part-of-speech tagging, causal LM): export
from their runs, held-out numbers measured again on the exported fp16 weights, and model cards generated from
them (no hand-written claim a retrain could falsify)."""

from __future__ import annotations

from pathlib import Path

from . import report
from .cards import (
    BASE,
    CLM_COMMAND,
    EXPORT_COMMAND,
    LANGID_COMMAND,
    POS_COMMAND,
    QA_COMMAND,
    _pct,
    _table,
    export_weights,
    load_json,
    n_params,
    size_mb,
    write_card,
)
from .finetune import POS_TRAIN_PER_LANG
from .sharing import OWN_SHARD, SHARED_SHARD, prune_shared

QA, LANGID, POS, CLM = (
    "xlm-explorer-mini-qa",
    "xlm-explorer-mini-langid",
    "xlm-explorer-mini-pos",
    "xlm-explorer-mini-clm",
)
SHARED = "shared"  # assets/shared: word embeddings the heads of one base share (see xlm/train/sharing.py)
QA_GOALS = {"en_f1": 13.2, "zero_shot_gain": 5.0}  # held-out English F1; zero-shot F1 above an untrained head
ZERO_SHOT = ("de", "es", "zh")  # the QA head's zero-shot languages
POS_GOALS = {"trained": 0.90, "zero_shot": 0.65}  # UPOS accuracy the issue asks of the tagger
PROMPTS = [("The city is", "en"), ("La ville est", "fr"), ("Die Stadt ist", "de"), ("这个城市", "zh")]


def qa_table(metrics: dict) -> str:
    rows = [
        [lang, f"{m['f1']:.1f}", f"{m['exact_match']:.1f}", m["questions"]] for lang, m in metrics.items()
    ]
    return _table(rows, ["lang", "F1", "EM", "questions"])


def langid_table(metrics: dict) -> str:
    rows = [[lang, _pct(acc)] for lang, acc in metrics.items() if lang != "accuracy"]
    return _table(rows, ["lang", "accuracy %"]) + f"\n\nOverall: {_pct(metrics['accuracy'])}%."


def clm_table(metrics: dict) -> str:
    rows = [
        [lang, _pct(m["accuracy"]), _pct(m["unigram_baseline"]), f"{m['perplexity']:.1f}", m["tokens"]]
        for lang, m in metrics.items()
    ]
    return _table(rows, ["lang", "next-token acc. %", "unigram baseline %", "perplexity", "predicted tokens"])


def _front(langs: list[str], tags: list[str]) -> str:
    return f"""---
language: [{", ".join(langs)}]
license: other
library_name: xlm-explorer
tags: [xlm, {", ".join(tags)}]
---"""


def _base_and_storage(folder: Path, base: dict) -> str:
    """Which point of the base's run the head starts from, and how its weights are stored."""
    where = (
        f"at step {base['steps']:,} of its run ({base['tokens_seen'] / 1e6:.1f} M tokens seen; the base may "
        "have trained on since, its card has the curve)"
        if base
        else "(its run state was not recorded)"
    )
    shared = (Path(folder) / SHARED_SHARD).is_symlink()
    storage = (
        f"The word embeddings stayed frozen during fine-tuning, so they are the base's: stored once in "
        f"`assets/{SHARED}/` for every head of that base and linked as `{SHARED_SHARD}`; the rest "
        f"(`{OWN_SHARD}`, float16) and the tokenizer files take this folder's own {size_mb(folder):.1f} MB. Any loader reads it as a "
        "sharded Hub checkpoint."
        if shared
        else f"Weights in float16 ({size_mb(folder):.1f} MB)."
    )
    return (
        f"Fine-tuned from [{BASE}](../{BASE}/README.md) {where}; {n_params(folder) / 1e6:.2f} M parameters. "
        + storage
    )


LIMITATIONS = f"""- Built on a tiny base model early in its run (see the learning curve in [{BASE}](../{BASE}/README.md)):
  expect mistakes, and read the held-out numbers above before trusting an answer.
- Cased, accents kept; the base's 17 languages (Japanese is not among them)."""


def _training(*commands: str) -> str:
    return "## Training\n\n```bash\n" + "\n".join([*commands, EXPORT_COMMAND]) + "\n```"


def zero_shot_gain(check: dict, untrained: dict) -> float:
    """Mean F1 over de, es and zh above the same base with an untrained head."""
    return sum(check[lang]["f1"] - untrained[lang]["f1"] for lang in ZERO_SHOT) / len(ZERO_SHOT)


def qa_card(folder: Path, check: dict, untrained: dict, full: dict) -> str:
    gain = zero_shot_gain(check, untrained)
    f1_reached = "reached" if full["en"]["f1"] >= QA_GOALS["en_f1"] else "not reached"
    gain_reached = "reached" if gain >= QA_GOALS["zero_shot_gain"] else "not reached"
    return f"""{_front(["en", "de", "es", "zh"], ["question-answering"])}
# {QA}

A span head (`XLMForQuestionAnsweringSimple`) trained on the **English** questions of 36 of XQuAD's 48 articles
({full["train_features"]:,} training windows; {full["training"]["steps"]} steps, {full["training"]["minutes"]:.0f}
minutes, batch 16). {_base_and_storage(folder, full["base"])}

## Evaluation: zero-shot cross-lingual transfer

The other 12 articles (indices {", ".join(map(str, full["heldout_articles"]))}) are held out of pre-training and
fine-tuning. The head saw English only: de, es and zh are zero-shot. SQuAD F1 and exact match (character F1 for
zh); contexts in 256-token windows, the best span of at most 30 tokens wins.

All held-out questions:

{qa_table({k: full[k] for k in ("en", "de", "es", "zh")})}

The first {report.QA_CHECK_QUESTIONS} held-out questions per language, recomputed by tests/test_assets.py: the
fine-tuned head, then the same model with its span head re-initialised (seeded), the floor transfer is measured
from.

Fine-tuned head:

{qa_table(check)}

Untrained head:

{qa_table(untrained)}

The project's goals: English F1 on all held-out questions at least {QA_GOALS["en_f1"]:.1f} (twice that of the
first shipped head): {f1_reached}; on the checked questions, de, es and zh at least
{QA_GOALS["zero_shot_gain"]:.0f} F1 above the untrained head on average: {gain:+.1f} F1, {gain_reached}.

XQuAD is CC BY-SA 4.0 (read from ../shared/data/xquad; not copied here).

{_training(QA_COMMAND)}

## Limitations

{LIMITATIONS}
"""


def langid_card(folder: Path, check: dict, full: dict) -> str:
    langs = sorted(k for k in check if k != "accuracy")
    return f"""{_front(langs, ["text-classification", "language-identification"])}
# {LANGID}

A sequence-classification head (`XLMForSequenceClassification`, summary of the first token) telling the
{len(langs)} languages of the base apart: {", ".join(langs)}. Trained on the NTREX-128 training block (lines
0-1499, the same news sentences in every language, so it learns the language and not the topic;
{full["train_examples"]:,} sentences, {full["training"]["steps"]} steps, {full["training"]["minutes"]:.0f} minutes,
batch 32). Labels in `config.json` (`id2label`). {_base_and_storage(folder, full["base"])}

Call it **without `langs`** (the language is what it predicts) and preprocess with the English rules
(`lang="en"`), as it was trained.

## Evaluation (NTREX-128 test block, lines 1500-1996, never trained on; recomputed by tests/test_assets.py)

{langid_table(check)}

{_training(LANGID_COMMAND)}

## Limitations

{LIMITATIONS}
- A text in a language outside these {len(langs)} is forced into one of them.
"""


def pos_table(check: dict) -> str:
    rows = [
        [name, _pct(m["accuracy"]), m["words"], "zero-shot" if m["zero_shot"] else "trained"]
        for name, m in check.items()
    ]
    return _table(rows, ["language.set", "UPOS accuracy %", "words", "language"])


def pos_averages(check: dict) -> dict[str, float]:
    """Mean accuracy over the test sets of the training languages, and over the zero-shot ones."""
    out = {}
    for key, zero_shot in (("trained", False), ("zero_shot", True)):
        values = [m["accuracy"] for m in check.values() if m["zero_shot"] == zero_shot]
        if values:
            out[key] = sum(values) / len(values)
    return out


def pos_card(folder: Path, check: dict, full: dict) -> str:
    langs = sorted({name.split(".")[0] for name in full["test"]})
    averages, whole = pos_averages(check), pos_averages(full["test"])
    zero = sorted({n.split(".")[0] for n, m in check.items() if m["zero_shot"]})
    reached = {
        key: "reached" if averages.get(key, 0.0) >= goal else "not reached" for key, goal in POS_GOALS.items()
    }
    return f"""{_front(langs, ["token-classification", "part-of-speech"])}
# {POS}

A token-classification head (`XLMForTokenClassification`) tagging each word with its Universal Dependencies
part of speech (UPOS, 17 tags; the tag is read on the word's first sub-word). Trained on the UD training sets of
{", ".join(full["train_langs"])} (licence-filtered, at most {POS_TRAIN_PER_LANG:,} sentences a language,
{full["train_sentences"]:,} in all; {full["training"]["steps"]} steps, {full["training"]["minutes"]:.0f} minutes, batch 16); the languages
without a training set ({", ".join(zero) or "none"}) are tagged zero-shot. {_base_and_storage(folder, full["base"])}

## Evaluation (UD test sets and PUD, never trained on)

The first {report.POS_CHECK_SENTENCES} sentences of each set (recomputed by tests/test_assets.py): mean
**{_pct(averages.get("trained", 0.0))}%** over the training languages' sets and
**{_pct(averages.get("zero_shot", 0.0))}%** zero-shot (the whole sets: {_pct(whole.get("trained", 0.0))}% and
{_pct(whole.get("zero_shot", 0.0))}%). The project's goals, 90% and 65%: {reached["trained"]} and
{reached["zero_shot"]}.

{pos_table(check)}

{_training(POS_COMMAND)}

## Limitations

{LIMITATIONS}
- Gold word segmentation in training and evaluation; in the explorer, words are what the tokenizer splits on,
  so contractions (de "zum", fr "du") get one tag where UD has two.
"""


def clm_card(folder: Path, metrics: dict, training: dict, samples: list[dict]) -> str:
    last = training["history"][-1]
    settings = training["settings"]
    shown = "\n".join(f"- ({s['lang']}) `{s['prompt']}` → `{s['continuation']}`" for s in samples)
    return f"""{_front(sorted(metrics), ["causal-lm", "text-generation"])}
# {CLM}

A **causal** XLM (`"causal": true`: each position sees only the positions before it) for text generation in the
explorer, initialised from the masked LM and trained on with the causal objective on the same corpus, one sentence a
row: {last["tokens"] / 1e6:.1f} M tokens, {last["step"]:,} steps, {last["minutes"]:.0f} minutes, AdamW lr
{settings["train"]["lr"]:g}. {_base_and_storage(folder, training["base"])}

## Evaluation (held-out single sentences, the base's evaluation sets; recomputed by tests/test_assets.py)

Next-token accuracy over the book, UD and NTREX held-out sentences, each alone. The unigram baseline always
guesses the most frequent next token, chosen with hindsight.

{clm_table(metrics)}

Greedy continuations (illustrations):

{shown}

{_training(CLM_COMMAND)}

## Limitations

{LIMITATIONS}
- Generation of a model this size: short, often repetitive phrases.
"""


def export_heads(runs: Path, assets: Path, data: Path) -> dict:
    """Export every finished fine-tuning run in ``runs`` to ``assets`` (word embeddings shared through
    ``assets/shared``), measure it again and write its card; return the re-measured numbers."""
    runs, assets, data = Path(runs), Path(assets), Path(data)
    shared = assets / SHARED
    corpus = data / "corpus"
    out = {}
    if (runs / "qa" / "metrics.json").is_file():
        folder = assets / QA
        export_weights(runs / "qa", folder, shared)
        full = load_json(runs / "qa" / "metrics.json")
        check = report.qa_metrics(folder, data)
        untrained = report.qa_metrics(folder, data, untrained=True)
        report.save_metrics(folder, {"check": check, "untrained_check": untrained, "all_heldout": full})
        write_card(folder, qa_card(folder, check, untrained, full))
        out[QA] = check
    if (runs / "langid" / "metrics.json").is_file():
        folder = assets / LANGID
        export_weights(runs / "langid", folder, shared)
        full = load_json(runs / "langid" / "metrics.json")
        check = report.langid_metrics(folder, corpus)
        report.save_metrics(folder, {"check": check, "training": full})
        write_card(folder, langid_card(folder, check, full))
        out[LANGID] = check
    if (runs / "pos" / "metrics.json").is_file():
        folder = assets / POS
        export_weights(runs / "pos", folder, shared)
        full = load_json(runs / "pos" / "metrics.json")
        check = report.pos_metrics(folder, corpus, full["train_langs"])
        report.save_metrics(folder, {"check": check, "training": full})
        write_card(folder, pos_card(folder, check, full))
        out[POS] = check
    if (runs / "clm" / "model").is_dir():
        folder = assets / CLM
        export_weights(runs / "clm" / "model", folder, shared)
        metrics = report.clm_metrics(folder, corpus)
        report.save_metrics(folder, metrics)
        training = load_json(runs / "clm" / "model" / "training.json")
        write_card(folder, clm_card(folder, metrics, training, report.greedy_samples(folder, PROMPTS)))
        out[CLM] = metrics
    prune_shared(assets, shared)
    return out
