"""Exporting trained runs into ``assets/`` (fp16 safetensors + tokenizer + metrics) and writing their model cards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from xlm.weights import load_state_dict, save_state_dict

from . import report
from .pretrain import STATE_FILE

COPIED = ("config.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")
REPO_URL_NOTE = "https://www.debian.org/ (Debian 12 packages; see assets/heldout/sources.json)"


def export_weights(src: Path, dst: Path) -> None:
    """Copy config and tokenizer files; store the weights in float16 (they load as float32 by default)."""
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(Path(src) / name, dst / name)
    state = load_state_dict(Path(src))
    save_state_dict({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, dst)


def _table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def mlm_tables(metrics: dict) -> str:
    """The base model's held-out tables: MLM per language (all sources, then per source), the TLM effect,
    FLORES retrieval (where measured) and the cloze sentences."""
    header = ["lang", "MLM top-1 acc. %", "unigram baseline %", "perplexity", "masked tokens"]

    def rows(table: dict) -> list[list]:
        return [
            [lang, _pct(m["accuracy"]), _pct(m["unigram_baseline"]), f"{m['perplexity']:.1f}", m["tokens"]]
            for lang, m in table.items()
        ]

    parts = [
        "**Held-out single sentences, all sources** (15% masked, fixed seed)\n\n"
        + _table(rows(metrics["mlm_all"]), header)
    ]
    for source, table in metrics["mlm"].items():
        parts.append(f"**{MLM_SOURCES.get(source, source)}**\n\n" + _table(rows(table), header))
    tlm = [
        [lang, _pct(m["accuracy_alone"]), _pct(m["accuracy_with_en"]), m["tokens"]]
        for lang, m in metrics["tlm"].items()
    ]
    header = [
        "lang",
        "acc. % without English",
        "acc. % with the English sentence in context",
        "masked tokens",
    ]
    parts.append(
        "**TLM effect** (NTREX-128 test block, 15% of the translation masked)\n\n" + _table(tlm, header)
    )
    if "retrieval" in metrics:
        retrieval = [[lang, _pct(acc)] for lang, acc in metrics["retrieval"].items()]
        parts.append(
            "**xx → en retrieval** (FLORES-200, 1,004 sentences, mean-pooled last layer, cosine)\n\n"
            + _table(retrieval, ["lang", "top-1 %"])
        )
    if "cloze" in metrics:
        cloze = [[lang, m["right"], m["sentences"], _pct(m["top5"])] for lang, m in metrics["cloze"].items()]
        parts.append(
            "**Cloze sentences** (`tests/data/cloze.json`, written before training)\n\n"
            + _table(cloze, ["lang", "answer in top 5", "sentences", "%"])
        )
    return "\n\n".join(parts)


MLM_SOURCES = {
    "books": "Held-out book (the median-sized work of each language)",
    "ud": "Universal Dependencies test sets",
    "ntrex": "NTREX-128 test block (news)",
}


def qa_table(metrics: dict) -> str:
    rows = [
        [lang, f"{m['f1']:.1f}", f"{m['exact_match']:.1f}", m["questions"]] for lang, m in metrics.items()
    ]
    return _table(rows, ["lang", "F1", "EM", "questions"])


def langid_table(metrics: dict) -> str:
    rows = [[lang, _pct(acc)] for lang, acc in metrics.items() if lang != "accuracy"]
    return _table(rows, ["lang", "accuracy %"]) + f"\n\nOverall: {_pct(metrics['accuracy'])}%."


def corpus_table(sources: dict) -> str:
    rows = [
        [name, info["version"], info["licence"][:60], sum(info["new_pairs"].values())]
        for name, info in sorted(sources["packages"].items())
    ]
    pairs = _table(
        [[lang, c["train"], c["valid"], c["test"]] for lang, c in sorted(sources["pairs"].items())],
        ["en-xx", "train", "valid", "test"],
    )
    packages = _table(rows, ["package", "version", "licence (debian/copyright, Files: *)", "new pairs"])
    return f"Message pairs per language (after cleaning and de-duplication):\n\n{pairs}\n\n{packages}"


def write_card(folder: Path, text: str) -> None:
    (Path(folder) / "README.md").write_text(text.strip() + "\n", encoding="utf-8")


def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file()) / 1e6


def n_params(folder: Path) -> int:
    return sum(v.numel() for v in load_state_dict(Path(folder)).values())


# ---------------------------------------------------------------------------------------------------------------
# The shipped models. The commands are the ones `make train` runs (keep the Makefile's train target in step).

RUN = "mix"  # the base model's run: its home is ~/.cache/xlm-explorer/train/RUN
PRETRAIN_COMMAND = (
    f"python -m xlm.train pretrain --run {RUN} --objectives mlm,tlm --tokens 50000000 --batch-tokens 8192 --mix 8 "
    "--tlm-share 0.2 --emb-dim 256 --layers 4 --heads 4 --lr 5e-4 --warmup 200 --eval-every 250 --save-every 50 "
    "--log-every 25 --export assets/xlm-explorer-mini"
)
CHUNK_COMMAND = "make train-chunk MINUTES=90  # = python -m xlm.train --threads 1 chunk --minutes 90"
CARD_COMMAND = "python -m xlm.train card --model assets/xlm-explorer-mini"
QA_COMMAND = (
    "python -m xlm.train --threads 2 finetune qa --base assets/xlm-explorer-mini --out runs/qa --steps 600 "
    "--lr 3e-4 --warmup 40"
)
LANGID_COMMAND = (
    "python -m xlm.train --threads 2 finetune langid --base assets/xlm-explorer-mini --out runs/langid "
    "--steps 400 --lr 3e-4 --warmup 30"
)
POS_COMMAND = (
    "python -m xlm.train --threads 2 finetune pos --base assets/xlm-explorer-mini --out runs/pos "
    "--steps 1500 --lr 3e-4 --warmup 100"
)
CLM_COMMAND = (
    "python -m xlm.train --threads 2 pretrain --out runs/clm --objectives clm --init runs/mlm/model "
    "--tokens 8000000 --batch-tokens 8192 --emb-dim 256 --layers 4 --heads 4 --lr 3e-4 --warmup 100 "
    "--eval-every 250 --save-every 100"
)
EXPORT_COMMAND = "python -m xlm.train export --runs runs --assets assets"
RECIPE = [
    PRETRAIN_COMMAND,
    CARD_COMMAND,
    QA_COMMAND,
    LANGID_COMMAND,
    POS_COMMAND,
    CLM_COMMAND,
    EXPORT_COMMAND,
]

BASE, QA, LANGID, CLM = (
    "xlm-explorer-mini",
    "xlm-explorer-mini-qa",
    "xlm-explorer-mini-langid",
    "xlm-explorer-mini-clm",
)
PROMPTS = [("cannot open", "en"), ("impossible d'ouvrir", "fr"), ("die Datei", "de"), ("无法", "zh")]

LIMITATIONS = """- Tiny and briefly trained: a few million parameters, trained for about an hour on two CPU cores shared
  with other jobs. It is a demonstration model for the explorer, not a useful multilingual encoder.
- The text is software messages (menus, errors, command-line help) plus a few Wikipedia paragraphs from
  XQuAD: expect it to know "file", "option" and "%s" far better than everyday language.
- Lower-cased and accent-stripped (`do_lowercase_and_remove_accent`), like the original XLM-15 models.
- Chinese is segmented with jieba; Japanese, Thai and other languages are not in the model.
- The time-budgeted run (`--max-minutes`) stops after a wall-clock budget, so re-running it on another
  machine reaches a different number of steps; pass `--steps N` without `--max-minutes` to fix it."""


def _common_data(assets: Path) -> str:
    sources = load_json(assets / "heldout" / "sources.json")
    return f"""## Training data

Parallel English ↔ xx message pairs from the gettext translation catalogues (`.mo` files) of
{len(sources["packages"])} Debian {sources["debian"]} packages, read with polib ({REPO_URL_NOTE}). Menu
accelerators are dropped, whitespace collapsed, untranslated and implausible pairs (length ratio) removed, multi-line
messages paired line by line. A pair is held out (`test`: crc32(English) % 100 == 0, `valid`: == 1) by its
English side, so a held-out message is unseen in every language. The MLM streams use every side of the
training pairs plus the XQuAD paragraphs (CC BY-SA 4.0) of 36 of its 48 articles (en, de, es, zh); the other
12 articles (indices 0, 4, …, 44) are held out. Each package's translations keep that package's licence (below);
the model weights are a statistical summary of them.

{corpus_table(sources)}

The shipped held-out sample `assets/heldout/gettext-test.tsv` (200 test pairs per language, with the package
each came from) lets the test suite recompute the metrics without the Debian packages.
"""


MAIN_LANGS = ("en", "fr", "es", "de", "it", "pt", "ru", "zh")  # the targets average over these


def main_top1(metrics: dict) -> float:
    """Held-out single-sentence MLM top-1 averaged over the main languages the model has (all sources)."""
    values = [m["accuracy"] for lang, m in metrics["mlm_all"].items() if lang in MAIN_LANGS]
    return sum(values) / len(values)


def curve_tables(state: dict) -> str:
    """The run's chunks (where, how long, how fast) and its held-out curve by tokens seen."""
    chunks = [
        [
            i + 1,
            c["started"],
            c["cpu"],
            c["threads"],
            f"{c['wall_minutes']:.0f}",
            f"{c['steps'][0]:,}-{c['steps'][1]:,}",
            f"{c['tokens'][1] / 1e6:.1f}",
            f"{c['tokens_per_s']:,.0f}",
            "from the export (optimizer restarted)" if c["restarted_from_export"] else "",
            _pct(c["heldout"]["main_top1"]) if "heldout" in c else "",
        ]
        for i, c in enumerate(state["chunks"])
    ]
    header = ["chunk", "started", "CPU", "threads", "minutes", "steps", "M tokens seen", "tokens/s", "resumed",
              "held-out top-1 % (main languages)"]  # fmt: skip
    curve = []
    for point in state["curve"]:
        alone = [v["accuracy"] for k, v in point["eval"].items() if "+" not in k]
        with_en = [v["accuracy"] for k, v in point["eval"].items() if "+" in k]
        curve.append(
            [
                f"{point['step']:,}",
                f"{point['tokens'] / 1e6:.2f}",
                f"{point['loss']:.2f}",
                _pct(sum(alone) / len(alone)),
                _pct(sum(with_en) / len(with_en)),
            ]
        )
    curve_header = [
        "step",
        "M tokens",
        "train loss",
        "NTREX-valid top-1 % alone",
        "with the English in front",
    ]
    return (
        "**Chunks**\n\n"
        + _table(chunks, header)
        + "\n\n**Curve** (NTREX-128 validation block, each sentence alone and with its English translation in "
        "front, averaged over the languages; train loss = the mean over the last logging interval)\n\n"
        + _table(curve, curve_header)
    )


def comparison_table(rows: list[dict]) -> str:
    """The short recipe comparison run before the first chunk."""
    return _table(
        [[r["variant"], f"{r['minutes']:.0f}", f"{r['tokens'] / 1e6:.2f}", f"{r['loss']:.2f}", _pct(r["top1"])]
         for r in rows],
        ["variant", "training minutes", "M tokens", "train loss", "NTREX-valid top-1 % (alone)"],
    )  # fmt: skip


def corpus_counts_table(sources: dict) -> str:
    """Training sentences and pairs per language and source (after the held-out cuts and de-duplication)."""
    counts = sources["counts"]
    keys = sorted({k for c in counts.values() for k in c})
    return _table(
        [[lang, *(c.get(k, 0) for k in keys)] for lang, c in sorted(counts.items())], ["lang", *keys]
    )


def _mixing(mix: int) -> str:
    if mix == 1:
        return ", one language a batch"
    return (
        f", {mix} languages a batch (sampled like the batches' languages), every language's rows starting at one "
        "row length, equal lengths in a random order"
    )


def base_card(folder: Path, metrics: dict, state: dict, sources: dict) -> str:
    """The base model's card, generated from its metrics, its training state and the corpus counts."""
    config = load_json(folder / "config.json")
    langs = sorted(config["lang2id"])
    schedule = state["schedule"]
    restarts = [c for c in state["chunks"] if c["restarted_from_export"]]
    restart_note = (
        f"The run restarted {len(restarts)} time(s) from the exported weights alone (its state was gone): the "
        f"optimizer moments started from zero with a {schedule['rewarm']}-step warm-up, so its trajectory differs "
        "slightly from an uninterrupted run."
        if restarts
        else "Every chunk resumed from the full run state (fp32 weights, optimizer, random state): the chunks "
        "equal one uninterrupted run."
    )
    comparison = (
        "## Recipe comparison\n\nEach earlier run or variant at its last evaluation, on the same held-out sets "
        "(NTREX-valid top-1, each sentence alone):\n\n"
        + comparison_table(state["recipe_comparison"])
        + "\n\n"
        if state.get("recipe_comparison")
        else ""
    )
    return f"""---
language: [{", ".join(langs)}]
license: other
library_name: xlm-explorer
tags: [xlm, masked-lm, translation-lm]
---
# {BASE}

A small XLM (Lample & Conneau, 2019) being trained from scratch with masked (MLM) and translation (TLM) language
modelling on {len(langs)} languages: {", ".join(langs)}. Hub format: loads with
`xlm.XLMWithLMHeadModel.from_pretrained("assets/{BASE}")` and with transformers' `XLMWithLMHeadModel`.

- {n_params(folder) / 1e6:.2f} M parameters: emb_dim {config["emb_dim"]}, {config["n_layers"]} layers, {config["n_heads"]} heads, {config["max_position_embeddings"]} learned positions, language embeddings, vocabulary {config["vocab_size"]:,} (BPE learned by `xlm/train/bpe.py`); cased, accents kept.
- Weights stored in **float16** ({size_mb(folder):.1f} MB with the tokenizer); they load as float32.
- **Work in progress**: {state["tokens_seen"] / 1e6:.1f} M of the recipe's {schedule["token_budget"] / 1e6:.0f} M-token budget seen ({state["steps"]:,} of {schedule["total_steps"]:,} steps), trained in time-boxed chunks (`make train-chunk`).
- One learning-rate schedule spans the budget: AdamW, peak lr {schedule["lr"]:g} after {schedule["warmup"]} warm-up steps, then linear decay to 10% at the last step. {restart_note}
- Batches: one sentence a row (`</s> sentence </s>`, positions from 0, as the explorer feeds it), about {schedule["batch_tokens"]:,} padded tokens of sentences of similar length{_mixing(state["recipe"].get("mix", 1))}; MLM 15% (80/10/10) on the sentences and TLM on sentence pairs with English. `training_state.json` has the rest of the recipe and the whole history.

## Use

```python
from xlm import pipeline
fill = pipeline("fill-mask", "assets/{BASE}")
fill("Paris is the <mask> of France.", lang="en")
```

## Evaluation (held-out, recomputed by tests/test_assets.py)

15% of each sentence's tokens masked (all replaced by the mask token, fixed seed), one sentence at a time. The
unigram baseline always guesses the most frequent masked token, chosen with hindsight. TLM effect: the same
masked tokens of the translation, predicted without and with the English sentence in front. Held-out
single-sentence MLM top-1 averaged over {", ".join(lang for lang in MAIN_LANGS if lang in langs)}:
**{_pct(main_top1(metrics))}%**.

{mlm_tables(metrics)}

## Learning curve

{curve_tables(state)}

{comparison}## Training data

`../shared/data/corpus` (public-domain books, Universal Dependencies train sets, NTREX-128 lines 0-1499 and
UDHR as TLM pairs), cut by the rules in `xlm/train/corpus.py` before any training: the median-sized book of each
language, UD dev/test/PUD, NTREX lines 1500-1996, FLORES-200, MGSM and TICO-19 never train. Sentences and pairs
per language and source:

{corpus_counts_table(sources)}

## Training

```bash
{CHUNK_COMMAND}
```
resumes the run (from `~/.cache/xlm-explorer/train/{RUN}`, or from this folder's weights and
`training_state.json` when that is gone) for one chunk; the recipe is `cards.PRETRAIN_COMMAND`:

```bash
{PRETRAIN_COMMAND}
```

## Limitations

- Tiny and still early in its run: read the curve above before trusting a prediction.
- Japanese is not in the model (its tokenizer needs KyTea); bg, sw, ur and vi have little text.
"""


def _qa_card(folder: Path, assets: Path, metrics: dict, full: dict) -> str:
    return f"""---
language: [en, de, es, zh]
license: other
library_name: xlm-explorer
tags: [xlm, question-answering]
---
# {QA}

[{BASE}](../{BASE}/README.md) with a span head (`XLMForQuestionAnsweringSimple`) fine-tuned on the **English**
questions of 36 of XQuAD's 48 articles ({full["train_features"]} training windows; {full["training"]["steps"]} steps,
{full["training"]["minutes"]:.0f} minutes, batch 16, lr 3e-4, fp32). Weights in float16 ({size_mb(folder):.1f} MB).

## Evaluation: zero-shot cross-lingual transfer

Held-out articles (indices {", ".join(map(str, full["heldout_articles"]))}), never seen in pre-training nor
fine-tuning. The head saw only English; de, es and zh are zero-shot. SQuAD F1/EM (character F1 for zh).
Contexts are cut into 256-token windows; the best span of at most 30 tokens wins.

All held-out questions:

{qa_table({k: full[k] for k in ("en", "de", "es", "zh")})}

The first {report.QA_CHECK_QUESTIONS} held-out questions per language (recomputed by tests/test_assets.py):

{qa_table(metrics)}

These numbers are low: the base model is tiny and trained mostly on software messages. XQuAD is CC BY-SA 4.0
(in ../shared/data/xquad; not copied here).

Reading the numbers: these are near the floor. Over de/es/zh the head gains a little over an untrained head
on the same base (the test checks the average gain), but Spanish shows no gain on the 40 checked questions:
zero-shot transfer is barely measurable at this model size.

## Training

```bash
{QA_COMMAND}
{EXPORT_COMMAND}
```

## Limitations

{LIMITATIONS}
"""


def _langid_card(folder: Path, assets: Path, metrics: dict, full: dict) -> str:
    return f"""---
language: [de, en, es, fr, it, pt, ru, tr, zh]
license: other
library_name: xlm-explorer
tags: [xlm, text-classification, language-identification]
---
# {LANGID}

[{BASE}](../{BASE}/README.md) with a sequence-classification head (`XLMForSequenceClassification`, summary of the
first token) fine-tuned to tell the 9 languages apart ({full["train_examples"]} training sentences from the corpus's
train split; {full["training"]["steps"]} steps, {full["training"]["minutes"]:.0f} minutes, batch 32, lr 3e-4).
Labels are in `config.json` (`id2label`). Weights in float16 ({size_mb(folder):.1f} MB).

Call it **without `langs`** (the language is what it predicts) and preprocess with the English rules
(`lang="en"`), as it was trained.

## Evaluation (held-out sample, recomputed by tests/test_assets.py)

{langid_table(metrics)}

{_common_data(assets)}
## Training

```bash
{LANGID_COMMAND}
{EXPORT_COMMAND}
```

## Limitations

{LIMITATIONS}
- Short software messages only; languages outside the 9 are forced into one of them.
"""


def clm_table(metrics: dict) -> str:
    rows = [
        [lang, _pct(m["accuracy"]), _pct(m["unigram_baseline"]), f"{m['perplexity']:.1f}", m["tokens"]]
        for lang, m in metrics.items()
    ]
    return _table(rows, ["lang", "next-token acc. %", "unigram baseline %", "perplexity", "predicted tokens"])


def _clm_card(folder: Path, assets: Path, metrics: dict, training: dict, samples: list[dict]) -> str:
    last = training["history"][-1]
    shown = "\n".join(f"- ({s['lang']}) `{s['prompt']}` → `{s['continuation']}`" for s in samples)
    return f"""---
language: [de, en, es, fr, it, pt, ru, tr, zh]
license: other
library_name: xlm-explorer
tags: [xlm, causal-lm, text-generation]
---
# {CLM}

A small **causal** XLM (`"causal": true`: each position sees only the positions before it) trained from scratch
with the CLM objective on the same data and vocabulary as [{BASE}](../{BASE}/README.md), for text generation in
the explorer. {n_params(folder) / 1e6:.2f} M parameters (emb_dim 256, 3 layers, 8 heads); weights in float16
({size_mb(folder):.1f} MB). Trained {last["step"]} steps in {last["minutes"]:.0f} minutes on 2 shared CPU cores
(streams of 8 × 128 tokens, AdamW lr 1e-3, fp32, one thread while the other models trained).

## Evaluation (held-out sample, each sentence alone; recomputed by tests/test_assets.py)

The unigram baseline always guesses the most frequent next token, chosen with hindsight.

{clm_table(metrics)}

Greedy continuations (illustrations, lower-cased as the model sees text):

{shown}

{_common_data(assets)}
## Training

```bash
{CLM_COMMAND}
{EXPORT_COMMAND}
```

## Limitations

{LIMITATIONS}
- Generation quality is that of a few-million-parameter model trained for half an hour: short, repetitive
  software-message phrases.
"""


def write_base_card(
    folder: Path,
    corpus: Path,
    sources: Path,
    baseline: Path | None = None,
    comparison: dict | None = None,
    retrieval: bool = False,
) -> dict:
    """Measure the exported base model in ``folder`` on the held-out sets of ``corpus`` (the shared corpus), add
    the result to the last chunk of its ``training_state.json`` (with ``baseline``'s number on the same sets:
    the model it would replace), and write ``metrics.json`` and the card. ``sources``: the run corpus's
    ``sources.json``; ``comparison``: variant name -> a comparison run's state folder; ``retrieval``: measure
    FLORES retrieval too (minutes of CPU). Returns the metrics."""
    folder = Path(folder)
    metrics = report.base_metrics(folder, corpus, retrieval=retrieval)
    state = load_json(folder / STATE_FILE)
    heldout = {"main_top1": main_top1(metrics)}
    if baseline is not None:
        mlm_all = report.mlm_metrics(*report.load_lm(baseline), corpus)[1]
        heldout["baseline_main_top1"] = main_top1({"mlm_all": mlm_all})
    state["chunks"][-1]["heldout"] = heldout
    if comparison:
        state["recipe_comparison"] = [comparison_row(name, Path(run)) for name, run in comparison.items()]
    (folder / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    report.save_metrics(folder, metrics)
    write_card(folder, base_card(folder, metrics, state, load_json(sources)))
    return {"heldout": heldout, **metrics}


def comparison_row(name: str, run: Path) -> dict:
    """A comparison run's last evaluation: minutes, tokens, train loss and NTREX-valid top-1 (alone, averaged)."""
    history = load_json(run / "model" / "training.json")["history"]
    last = [h for h in history if "eval" in h][-1]
    alone = [v["accuracy"] for k, v in last["eval"].items() if "+" not in k]
    return {
        "variant": name,
        "minutes": last["minutes"],
        "tokens": last["tokens"],
        "loss": last["loss"],
        "top1": sum(alone) / len(alone),
    }


def export_all(runs: Path, assets: Path, data: Path) -> dict:
    """Export every finished run in ``runs`` to ``assets`` with metrics and model cards; return the metrics."""
    runs, assets, data = Path(runs), Path(assets), Path(data)
    out = {}
    if (runs / "qa" / "metrics.json").is_file():
        folder = assets / QA
        export_weights(runs / "qa", folder)
        full = load_json(runs / "qa" / "metrics.json")
        metrics = report.qa_metrics(folder, data)
        report.save_metrics(folder, {"check": metrics, "all_heldout": full})
        write_card(folder, _qa_card(folder, assets, metrics, full))
        out[QA] = metrics
    if (runs / "langid" / "metrics.json").is_file():
        folder = assets / LANGID
        export_weights(runs / "langid", folder)
        full = load_json(runs / "langid" / "metrics.json")
        metrics = report.langid_metrics(folder, data / "corpus")
        report.save_metrics(folder, {"check": metrics, "training": full})
        write_card(folder, _langid_card(folder, assets, metrics, full))
        out[LANGID] = metrics
    if (runs / "clm" / "model").is_dir():
        folder = assets / CLM
        export_weights(runs / "clm" / "model", folder)
        metrics = report.clm_metrics(folder, data / "corpus")
        report.save_metrics(folder, metrics)
        samples = report.greedy_samples(folder, PROMPTS)
        training = load_json(runs / "clm" / "model" / "training.json")
        write_card(folder, _clm_card(folder, assets, metrics, training, samples))
        out[CLM] = metrics
    return out
