"""Exporting trained runs into ``assets/`` (fp16 safetensors + tokenizer + metrics) and writing their model cards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from xlm.weights import load_state_dict, save_state_dict

from . import report

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
    parts = []
    titles = (
        ("mlm_gettext", "gettext held-out sample, each sentence alone (as fill-mask sees it)"),
        (
            "mlm_gettext_streams",
            "gettext held-out sample, sentences joined into 128-token streams (training layout)",
        ),
        ("mlm_xquad_streams", "XQuAD held-out articles (Wikipedia paragraphs), 128-token streams"),
    )
    for key, title in titles:
        if key not in metrics:
            continue
        rows = [
            [lang, _pct(m["accuracy"]), _pct(m["unigram_baseline"]), f"{m['perplexity']:.1f}", m["tokens"]]
            for lang, m in metrics[key].items()
        ]
        header = ["lang", "MLM top-1 acc. %", "unigram baseline %", "perplexity", "masked tokens"]
        parts.append(f"**{title}**\n\n" + _table(rows, header))
    rows = [
        [lang, _pct(m["accuracy_alone"]), _pct(m["accuracy_with_en"]), m["tokens"]]
        for lang, m in metrics["tlm"].items()
    ]
    header = [
        "lang",
        "acc. % without English",
        "acc. % with the English sentence in context",
        "masked tokens",
    ]
    parts.append("**TLM effect** (15% of the translation's tokens masked)\n\n" + _table(rows, header))
    return "\n\n".join(parts)


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

CORPUS_COMMANDS = """python -m xlm.train corpus --install
python -m xlm.train bpe --merges 12000 --min-count 3"""
PRETRAIN_COMMAND = (
    "python -m xlm.train --threads 1 pretrain --objectives mlm,tlm --emb-dim 256 --layers 3 --heads 8 "
    "--seq-len 128 --batch-size 12 --tlm-batch-size 32 --max-lines 40000 --max-pairs 40000 --steps 10000 "
    "--max-minutes 55 --lr 1e-3 --warmup 100 --fp32 --eval-every 300 --save-every 100"
)
QA_COMMAND = (
    "python -m xlm.train --threads 1 finetune qa --base runs/mlm/model --out runs/qa --steps 600 "
    "--max-minutes 9 --lr 3e-4 --warmup 40 --fp32"
)
LANGID_COMMAND = (
    "python -m xlm.train --threads 1 finetune langid --base runs/mlm/model --out runs/langid --data runs/corpus "
    "--steps 400 --max-minutes 5 --lr 3e-4 --warmup 30 --fp32"
)
CLM_COMMAND = (
    "python -m xlm.train --threads 1 pretrain --out runs/clm --objectives clm --emb-dim 256 --layers 3 --heads 8 "
    "--seq-len 128 --batch-size 8 --max-lines 40000 --steps 10000 --max-minutes 26 --lr 1e-3 --warmup 100 --fp32 "
    "--eval-every 500 --save-every 100"
)
EXPORT_COMMAND = "python -m xlm.train export --runs runs --assets assets"
RECIPE = [
    *CORPUS_COMMANDS.splitlines(),
    PRETRAIN_COMMAND,
    QA_COMMAND,
    LANGID_COMMAND,
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


def _base_card(folder: Path, assets: Path, metrics: dict, training: dict) -> str:
    steps = training["history"][-1]["step"]
    return f"""---
language: [de, en, es, fr, it, pt, ru, tr, zh]
license: other
library_name: xlm-explorer
tags: [xlm, masked-lm, translation-lm]
---
# {BASE}

A small XLM (Lample & Conneau, 2019) trained from scratch with masked language modelling (MLM) and translation
language modelling (TLM) on 9 languages: de, en, es, fr, it, pt, ru, tr, zh. Hub format: loads with
`xlm.XLMWithLMHeadModel.from_pretrained("assets/{BASE}")` and with transformers' `XLMWithLMHeadModel`.

- {n_params(folder) / 1e6:.2f} M parameters: emb_dim 256, 3 layers, 8 heads, 256 learned positions, language embeddings,
  vocabulary {load_json(folder / "config.json")["vocab_size"]} (BPE, 12,000 merges learned by `xlm/train/bpe.py`).
- Weights stored in **float16** ({size_mb(folder):.1f} MB in all); they load as float32 unless asked otherwise.
- Trained {steps} steps in {training["history"][-1]["minutes"]:.0f} minutes on a 2-core CPU shared with other jobs
  (fp32; batches alternate MLM streams of 12 × 128 tokens and TLM batches of 32 sentence pairs; AdamW, lr 1e-3,
  100 warm-up steps then linear decay over the time budget; dropout 0.1; language sampling α = 0.5). The run was
  interrupted three times and resumed from its checkpoint with a changed budget (`--steps 3000 --max-minutes 60`
  with 2 threads; `--steps 10000 --max-minutes 60` from step 1,000; `--max-minutes 55` from step 1,500; and the
  command below, with 1 thread, from step 2,900: two OpenMP threads on two cores shared with other jobs ran
  about 6 s a step, one thread about 1 s), so its learning-rate curve differs slightly from a single run of
  that command. A variant with fixed sinusoidal positions learned
  more slowly (the sinusoids dwarf XLM's small token embeddings after the embedding LayerNorm) and was dropped.

## Use

```python
from xlm import XLMTokenizer, XLMWithLMHeadModel
tok = XLMTokenizer.from_pretrained("assets/{BASE}")
model = XLMWithLMHeadModel.from_pretrained("assets/{BASE}")
enc = tok("cannot open file <special1>", lang="en", return_tensors="pt")
logits = model(**enc).logits
```
Pass `langs` (the tokenizer returns it when given `lang`): the model was trained with language embeddings.

## Evaluation (held-out, recomputed by tests/test_assets.py)

15% of the tokens masked (all replaced by the mask token, fixed seed). The unigram baseline always guesses the
masked tokens' most frequent token, chosen with hindsight. The TLM effect: the same masked tokens of the
translation, predicted without and with the English sentence in front (TLM layout, positions restarting).

{mlm_tables(metrics)}

Reading the numbers: one held-out sentence at a time (how the explorer's fill-mask uses the model) the
model is 2-3x better than the unigram guess and the English translation in context adds 5-8 points in every
language (the TLM effect). In 128-token streams of unrelated messages, and on Wikipedia text (XQuAD), it is at
the unigram level: it has learned little beyond short software messages.

{_common_data(assets)}
## Training

```bash
{CORPUS_COMMANDS}
{PRETRAIN_COMMAND}
{EXPORT_COMMAND}
```
or simply `make train` (every model here). Multi-process / multi-node: see `xlm/train/README.md`.

## Limitations

{LIMITATIONS}
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


def export_all(runs: Path, assets: Path, data: Path) -> dict:
    """Export every finished run in ``runs`` to ``assets`` with metrics and model cards; return the metrics."""
    runs, assets, data = Path(runs), Path(assets), Path(data)
    if (runs / "corpus" / "raw").is_dir():
        report.write_heldout_sample(runs / "corpus", assets / "heldout" / "gettext-test.tsv")
        shutil.copyfile(runs / "corpus" / "raw" / "sources.json", assets / "heldout" / "sources.json")
    heldout = assets / "heldout" / "gettext-test.tsv"
    out = {}
    if (runs / "mlm" / "model").is_dir():
        folder = assets / BASE
        export_weights(runs / "mlm" / "model", folder)
        metrics = report.base_metrics(folder, heldout, data / "xquad")
        report.save_metrics(folder, metrics)
        write_card(
            folder, _base_card(folder, assets, metrics, load_json(runs / "mlm" / "model" / "training.json"))
        )
        out[BASE] = metrics
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
        metrics = report.langid_metrics(folder, heldout)
        report.save_metrics(folder, {"check": metrics, "training": full})
        write_card(folder, _langid_card(folder, assets, metrics, full))
        out[LANGID] = metrics
    if (runs / "clm" / "model").is_dir():
        folder = assets / CLM
        export_weights(runs / "clm" / "model", folder)
        metrics = report.clm_metrics(folder, heldout)
        report.save_metrics(folder, metrics)
        samples = report.greedy_samples(folder, PROMPTS)
        training = load_json(runs / "clm" / "model" / "training.json")
        write_card(folder, _clm_card(folder, assets, metrics, training, samples))
        out[CLM] = metrics
    return out
