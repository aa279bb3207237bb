"""``python -m xlm.train``: corpus, bpe, pretrain, finetune and evaluate subcommands (see xlm/train/README.md)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import torch

DEFAULT_XQUAD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "xquad"


def _corpus(args: argparse.Namespace) -> None:
    from .corpus import extract, prepare, xlm_pretokenizer

    if not args.skip_extract:
        extract(args.out, install=args.install)
    counts = prepare(args.out, xlm_pretokenizer(), args.xquad if args.xquad.is_dir() else None)
    print(json.dumps(counts, indent=2))


def _bpe(args: argparse.Namespace) -> None:
    from .bpe import BPE, count_words

    lines: list[str] = []
    for path in sorted((args.corpus / "tok").glob("mono.*.train.txt")):
        lines += path.read_text(encoding="utf-8").splitlines()
    counts = count_words(lines)
    tokens = BPE.learn(counts, args.merges).save(args.out, counts, min_count=args.min_count)
    print(f"{len(counts)} distinct words, {args.merges} merges, vocabulary of {len(tokens)} -> {args.out}")


def _pretrain(args: argparse.Namespace) -> None:
    from .pretrain import ModelSize, PretrainSettings, pretrain
    from .trainer import TrainSettings

    settings = PretrainSettings(
        corpus=args.corpus,
        vocab=args.vocab,
        out=args.out,
        objectives=tuple(args.objectives.split(",")),
        batch_size=args.batch_size,
        tlm_batch_size=args.tlm_batch_size,
        seq_len=args.seq_len,
        alpha=args.alpha,
        max_lines=args.max_lines,
        max_pairs=args.max_pairs,
        eval_every=args.eval_every,
        size=ModelSize(
            emb_dim=args.emb_dim,
            n_layers=args.layers,
            n_heads=args.heads,
            dropout=args.dropout,
            attention_dropout=args.dropout,
            sinusoidal_embeddings=args.sinusoidal,
        ),
        train=_train_settings(args, TrainSettings),
    )
    print(f"model written to {pretrain(settings)}")


def _train_settings(args: argparse.Namespace, cls):
    return cls(
        steps=args.steps,
        max_minutes=args.max_minutes,
        lr=args.lr,
        warmup=args.warmup,
        accum=args.accum,
        bf16=not args.fp32,
        seed=args.seed,
        log_every=args.log_every,
        save_every=args.save_every,
    )


def _finetune(args: argparse.Namespace) -> None:
    from . import finetune
    from .trainer import TrainSettings

    settings = _train_settings(args, TrainSettings)
    task = {"qa": finetune.finetune_qa, "langid": finetune.finetune_langid, "ner": finetune.finetune_ner}[
        args.task
    ]
    print(json.dumps(task(args.base, args.out, settings, data=args.data), indent=2))


def _export(args: argparse.Namespace) -> None:
    from .cards import export_all

    print(json.dumps(export_all(args.runs, args.assets, args.data), indent=2))


def _all(args: argparse.Namespace) -> None:
    from .cards import RECIPE

    for command in RECIPE:
        print(f"$ {command}", flush=True)
        main(shlex.split(command.removeprefix("python -m xlm.train ")))


def _add_train_options(p: argparse.ArgumentParser, steps: int, lr: float, warmup: int) -> None:
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--max-minutes", type=float, default=None, help="time budget (ends the LR decay in time)")
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--accum", type=int, default=1, help="gradient accumulation steps")
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=250)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xlm.train", description=__doc__)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("corpus", help="extract Debian gettext pairs (+ XQuAD) and preprocess them")
    p.add_argument("--out", type=Path, default=Path("runs/corpus"))
    p.add_argument("--install", action="store_true", help="apt-get update + install the package list first")
    p.add_argument("--skip-extract", action="store_true", help="only re-run the preprocessing")
    p.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD)
    p.set_defaults(func=_corpus)

    p = sub.add_parser("bpe", help="learn BPE codes and the vocabulary")
    p.add_argument("--corpus", type=Path, default=Path("runs/corpus"))
    p.add_argument("--out", type=Path, default=Path("runs/vocab"))
    p.add_argument("--merges", type=int, default=12000)
    p.add_argument("--min-count", type=int, default=3)
    p.set_defaults(func=_bpe)

    p = sub.add_parser("pretrain", help="MLM / MLM+TLM / CLM pre-training (works under torchrun)")
    p.add_argument("--corpus", type=Path, default=Path("runs/corpus"))
    p.add_argument("--vocab", type=Path, default=Path("runs/vocab"))
    p.add_argument("--out", type=Path, default=Path("runs/mlm"))
    p.add_argument("--objectives", default="mlm,tlm", help="comma-separated: mlm, tlm, clm")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--tlm-batch-size", type=int, default=48)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--max-lines", type=int, default=None)
    p.add_argument("--max-pairs", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--emb-dim", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--dropout", type=float, default=0.1, help="dropout and attention dropout")
    p.add_argument("--sinusoidal", action="store_true", help="fixed sinusoidal position embeddings")
    _add_train_options(p, steps=4000, lr=5e-4, warmup=300)
    p.set_defaults(func=_pretrain)

    p = sub.add_parser("finetune", help="fine-tune a head: qa (XQuAD-en), langid, ner (GermEval)")
    p.add_argument("task", choices=["qa", "langid", "ner"])
    p.add_argument("--base", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data", type=Path, default=None, help="data folder (XQuAD / corpus / NER file)")
    _add_train_options(p, steps=600, lr=1e-4, warmup=60)
    p.set_defaults(func=_finetune)

    p = sub.add_parser("export", help="runs/* -> assets/* (fp16 weights, metrics.json, model cards)")
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--assets", type=Path, default=Path("assets"))
    p.add_argument("--data", type=Path, default=DEFAULT_XQUAD.parent, help="the shared data folder (xquad/)")
    p.set_defaults(func=_export)

    p = sub.add_parser("all", help="the whole recipe of the shipped models (what `make train` runs)")
    p.set_defaults(func=_all)

    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args.func(args)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
