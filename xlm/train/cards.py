"""Exporting trained runs into ``assets/`` (fp16 safetensors + tokenizer + metrics) and writing their model cards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from xlm.weights import load_state_dict, save_state_dict

from . import report
from .pretrain import STATE_FILE
from .sharing import save_sharing_embeddings

COPIED = ("config.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")


def export_weights(src: Path, dst: Path, shared: Path | None = None) -> None:
    """Copy config and tokenizer files; store the weights in float16 (they load as float32 by default). With
    ``shared``, the word embeddings go there, once per content, linked from the folder (see :mod:`.sharing`)."""
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(Path(src) / name, dst / name)
    state = load_state_dict(Path(src))
    state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    if shared is None:
        save_state_dict(state, dst)
    else:
        save_sharing_embeddings(state, dst, shared)


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


def write_card(folder: Path, text: str) -> None:
    (Path(folder) / "README.md").write_text(text.strip() + "\n", encoding="utf-8")


def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def size_mb(folder: Path) -> float:
    """The megabytes a folder adds on disk: its files, not what its links point to (a head's shared shard)."""
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file() and not p.is_symlink()) / 1e6


def n_params(folder: Path) -> int:
    return sum(v.numel() for v in load_state_dict(Path(folder)).values())


# ---------------------------------------------------------------------------------------------------------------
# The shipped models. The commands are the ones `make train` runs (keep the Makefile's train target in step).

RUN = "mix"  # the base model's run: its home is ~/.cache/xlm-explorer/train/RUN
PRETRAIN_COMMAND = (
    f"python -m xlm.train pretrain --run {RUN} --objectives mlm,tlm --tokens 66000000 --batch-tokens 8192 --mix 8 "
    "--tlm-share 0.2 --emb-dim 256 --layers 4 --heads 4 --lr 5e-4 --warmup 200 --eval-every 250 --save-every 50 "
    "--log-every 25 --export assets/xlm-explorer-mini"
)
CHUNK_COMMAND = "make train-chunk MINUTES=90  # = python -m xlm.train --threads 1 chunk --minutes 90"
CARD_COMMAND = "python -m xlm.train card --model assets/xlm-explorer-mini"
HEAD_FROM_BASE = "--base assets/xlm-explorer-mini --freeze-embeddings"  # see sharing.py
QA_COMMAND = f"python -m xlm.train --threads 2 finetune qa {HEAD_FROM_BASE} --out runs/qa --steps 600 --lr 3e-4 --warmup 40"
LANGID_COMMAND = (
    f"python -m xlm.train --threads 2 finetune langid {HEAD_FROM_BASE} --out runs/langid --steps 400 --lr 3e-4 "
    "--warmup 30"
)
POS_COMMAND = (
    f"python -m xlm.train --threads 2 finetune pos {HEAD_FROM_BASE} --out runs/pos --steps 3000 --lr 1e-3 "
    "--warmup 100"
)
CLM_COMMAND = (
    f"python -m xlm.train --threads 2 pretrain --run {RUN} --out runs/clm --objectives clm "
    "--init assets/xlm-explorer-mini --freeze-embeddings --tokens 1200000 --batch-tokens 8192 --mix 8 "
    "--emb-dim 256 --layers 4 --heads 4 --lr 3e-4 --warmup 50 --eval-every 100 --save-every 50 --log-every 25"
)
EXPORT_COMMAND = "python -m xlm.train export --runs runs --assets assets"
# From the shipped base; the longest first, so that `heads --jobs 2` runs the CLM beside the other three.
HEADS_RECIPE = [CLM_COMMAND, QA_COMMAND, LANGID_COMMAND, POS_COMMAND, EXPORT_COMMAND]
RECIPE = [PRETRAIN_COMMAND, CARD_COMMAND, *HEADS_RECIPE]

BASE = "xlm-explorer-mini"


MAIN_LANGS = ("en", "fr", "es", "de", "it", "pt", "ru", "zh")  # the targets average over these


def main_top1(metrics: dict) -> float:
    """Held-out single-sentence MLM top-1 averaged over the main languages the model has (all sources)."""
    values = [m["accuracy"] for lang, m in metrics["mlm_all"].items() if lang in MAIN_LANGS]
    return sum(values) / len(values)


def _resumed(chunk: dict) -> str:
    if chunk["restarted_from_export"]:
        return "from the export (optimizer restarted)"
    return "stopped before its export; kept from the run state" if chunk.get("interrupted") else ""


def curve_tables(state: dict) -> str:
    """The run's chunks (where, how long, how fast) and its held-out curve by tokens seen."""
    chunks = [
        [
            i + 1,
            c["started"],
            c["cpu"],
            c["threads"] or "",
            f"{c['wall_minutes']:.0f}" + ("*" if c.get("interrupted") else ""),
            f"{c['steps'][0]:,}-{c['steps'][1]:,}",
            f"{c['tokens'][1] / 1e6:.1f}",
            f"{c['tokens_per_s']:,.0f}",
            _resumed(c),
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
    interrupted = (
        "\n\n\\* training minutes only: the chunk was stopped before its export, so its wall clock was not kept"
        if any(c.get("interrupted") for c in state["chunks"])
        else ""
    )
    return (
        "**Chunks**\n\n"
        + _table(chunks, header)
        + interrupted
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


def _budget_note(schedule: dict) -> str:
    """Where the token budget changed during the run (the learning rate went on from its value there)."""
    change = schedule.get("decay_from")
    if not change:
        return ""
    return (
        f" The budget was changed at step {change['step']:,}: from there the learning rate decays linearly from "
        f"its value then ({change['factor']:.0%} of the peak) to 10% at the new last step, without a jump."
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
- One learning-rate schedule spans the budget: AdamW, peak lr {schedule["lr"]:g} after {schedule["warmup"]} warm-up steps, then linear decay to 10% at the last step.{_budget_note(schedule)} {restart_note}
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
