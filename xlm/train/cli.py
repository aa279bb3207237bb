"""``python -m xlm.train``: corpus, bpe, pretrain, finetune and evaluate subcommands (see xlm/train/README.md)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import torch

from .cards import HEADS_RECIPE, RECIPE, RUN
from .corpus import SHARED_DATA

DEFAULT_XQUAD = SHARED_DATA / "xquad"


def _corpus(args: argparse.Namespace) -> None:
    from .corpus import build

    debian_dir = None if args.no_debian else args.debian
    counts = build(
        args.out,
        args.shared / "corpus",
        debian_dir,
        install=args.install,
        workers=args.workers,
        help_pages=not args.no_help_pages,
    )
    print(json.dumps(counts, indent=2))


def _bpe(args: argparse.Namespace) -> None:
    from .bpe import BPE, count_words, smoothed_counts

    per_lang = {}
    for path in sorted((args.corpus / "tok").glob("mono.*.train.txt")):
        with path.open(encoding="utf-8") as f:
            per_lang[path.name.split(".")[1]] = count_words(f)
    counts = smoothed_counts(per_lang, args.alpha)
    learn_from = {w: n for w, n in counts.items() if n >= args.min_word_count}
    tokens = BPE.learn(learn_from, args.merges).save(args.out, counts, min_count=args.min_count)
    print(f"{len(counts)} distinct words, {args.merges} merges, vocabulary of {len(tokens)} -> {args.out}")


def run_home(run: str) -> Path:
    """Where a run keeps its state, corpus and vocabulary: ``$XLM_TRAIN_HOME`` or
    ``~/.cache/xlm-explorer/train/<run>`` (outside the work tree, which each session lays anew)."""
    home = os.environ.get("XLM_TRAIN_HOME")
    return Path(home) if home else Path.home() / ".cache" / "xlm-explorer" / "train" / run


def _prepare(args: argparse.Namespace) -> None:
    """Fill in the run's folders (under its home when not given) and build the corpus and the vocabulary there
    when they are missing (the corpus without Debian's data unless ``--debian`` is given; the vocabulary copied
    from the exported model when the run continues from it)."""
    home = run_home(args.run)
    args.corpus = args.corpus or home / "corpus"
    args.vocab = args.vocab or home / "vocab"
    args.out = args.out or home / "state"
    if not (args.corpus / "tok" / "counts.json").is_file():
        main(
            [
                "corpus",
                "--out",
                str(args.corpus),
                *(["--debian", str(args.debian)] if args.debian else ["--no-debian"]),
            ]
        )
    exported = args.export is not None and (args.export / "training_state.json").is_file()
    if (
        not (args.vocab / "vocab.json").is_file() and exported
    ):  # the run's vocabulary travels with its weights
        args.vocab.mkdir(parents=True, exist_ok=True)
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(args.export / name, args.vocab / name)
    if not (args.vocab / "vocab.json").is_file():
        main(["bpe", "--corpus", str(args.corpus), "--out", str(args.vocab)])


def _pretrain(args: argparse.Namespace) -> None:
    from .pretrain import ModelSize, PretrainSettings, pretrain
    from .trainer import TrainSettings

    _prepare(args)
    settings = PretrainSettings(
        corpus=args.corpus,
        vocab=args.vocab,
        out=args.out,
        objectives=tuple(args.objectives.split(",")),
        tokens=args.tokens,
        batch_tokens=args.batch_tokens,
        tlm_share=args.tlm_share,
        max_len=args.max_len,
        alpha=args.alpha,
        mix=args.mix,
        eval_every=args.eval_every,
        init=args.init,
        minutes=args.minutes,
        reserve_minutes=args.reserve_minutes,
        chunk_steps=args.chunk_steps,
        export=args.export,
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


def _chunk(args: argparse.Namespace) -> None:
    """One time-boxed chunk of the base model's run: the recipe's pre-training command, capped and exported."""
    from .cards import PRETRAIN_COMMAND

    recipe = _argv(PRETRAIN_COMMAND)
    main([*recipe, "--minutes", str(args.minutes), "--export", str(args.export)])


def _examples(args: argparse.Namespace) -> None:
    from .examples import write

    print(f"examples written to {write(args.model, args.shared / 'corpus')}")


def _card(args: argparse.Namespace) -> None:
    """Held-out metrics, curve point and model card of an exported base model."""
    from .cards import write_base_card

    comparison = dict(spec.split("=", 1) for spec in args.compare)
    sources = (args.run_corpus or run_home(args.run) / "corpus") / "sources.json"
    result = write_base_card(
        args.model, args.shared / "corpus", sources, args.baseline, comparison, retrieval=args.retrieval
    )
    print(json.dumps(result["heldout"], indent=2))


def _speed(args: argparse.Namespace) -> None:
    from .pretrain import ModelSize, PretrainSettings, measure_speed
    from .trainer import TrainSettings

    settings = PretrainSettings(
        corpus=args.corpus,
        vocab=args.vocab,
        batch_tokens=args.batch_tokens,
        train=TrainSettings(bf16=not args.fp32),
    )
    sizes = []
    for spec in args.sizes.split(","):
        layers, dim = (int(x) for x in spec.split("x"))
        sizes.append(ModelSize(emb_dim=dim, n_layers=layers, n_heads=max(4, dim // 64)))
    results = measure_speed(settings, sizes, args.steps, compile_model=args.compile)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def _train_settings(args: argparse.Namespace, cls):
    return cls(
        steps=getattr(args, "steps", 0),  # pre-training derives its steps from the token budget
        max_minutes=args.max_minutes,
        lr=args.lr,
        warmup=args.warmup,
        accum=args.accum,
        bf16=not args.fp32,
        compile=args.compile,
        seed=args.seed,
        log_every=args.log_every,
        save_every=args.save_every,
        rewarm=args.rewarm,
        freeze_embeddings=args.freeze_embeddings,
    )


def _finetune(args: argparse.Namespace) -> None:
    from . import finetune
    from .trainer import TrainSettings

    settings = _train_settings(args, TrainSettings)
    task = {
        "qa": finetune.finetune_qa,
        "langid": finetune.finetune_langid,
        "ner": finetune.finetune_ner,
        "pos": finetune.finetune_pos,
    }[args.task]
    print(json.dumps(task(args.base, args.out, settings, data=args.data), indent=2))


def _export(args: argparse.Namespace) -> None:
    from .head_cards import export_heads

    print(json.dumps(export_heads(args.runs, args.assets, args.data), indent=2))


def _argv(command: str) -> list[str]:
    return shlex.split(command.removeprefix("python -m xlm.train "))


def _recipe(args: argparse.Namespace) -> None:
    """Run the commands of a recipe (``cards.RECIPE`` or ``cards.HEADS_RECIPE``) one after another; with
    ``--jobs N`` the fine-tuning runs before the export go N at a time, each in its own process."""
    commands = list(args.recipe)
    if getattr(args, "jobs", 1) > 1:
        from .parallel import CommandFailed, run_parallel

        *runs, export = commands
        try:
            run_parallel([_without_threads(_argv(c)) for c in runs], args.jobs, Path("runs") / "logs")
        except CommandFailed as err:
            raise SystemExit(f"xlm.train heads: {err}") from None
        commands = [export]
    for command in commands:
        print(f"$ {command}", flush=True)
        main(_argv(command))


def _without_threads(argv: list[str]) -> list[str]:
    """A recipe command without its ``--threads N`` (a parallel run gives each process its share)."""
    if "--threads" not in argv:
        return argv
    at = argv.index("--threads")
    return argv[:at] + argv[at + 2 :]


def _add_train_options(p: argparse.ArgumentParser, steps: int | None, lr: float, warmup: int) -> None:
    if steps is not None:
        p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--max-minutes", type=float, default=None, help="time budget (ends the LR decay in time)")
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--accum", type=int, default=1, help="gradient accumulation steps")
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (dynamic shapes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument(
        "--rewarm", type=int, default=200, help="warm-up steps after a restart from exported weights"
    )
    p.add_argument(
        "--freeze-embeddings",
        action="store_true",
        help="keep the word embeddings as they are (fine-tunes then share them with their base on disk)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xlm.train", description=__doc__)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "corpus", help="build the training corpus (shared corpus + Debian), held-out parts cut"
    )
    p.add_argument("--out", type=Path, default=Path("runs/corpus"))
    p.add_argument("--shared", type=Path, default=SHARED_DATA, help="the shared data folder (corpus/ inside)")
    p.add_argument(
        "--debian", type=Path, default=Path("runs/debian"), help="LibreOffice help packages go here"
    )
    p.add_argument("--no-debian", action="store_true", help="leave the gettext and LibreOffice data out")
    p.add_argument("--install", action="store_true", help="apt-get install the gettext packages first (root)")
    p.add_argument("--no-help-pages", action="store_true", help="leave the LibreOffice help out")
    p.add_argument("--workers", type=int, default=2, help="preprocessing processes")
    p.set_defaults(func=_corpus)

    p = sub.add_parser("bpe", help="learn BPE codes and the vocabulary")
    p.add_argument("--corpus", type=Path, default=Path("runs/corpus"))
    p.add_argument("--out", type=Path, default=Path("runs/vocab"))
    p.add_argument("--merges", type=int, default=30000)
    p.add_argument("--min-count", type=int, default=3, help="rarer pieces stay out of the vocabulary")
    p.add_argument("--min-word-count", type=int, default=2, help="rarer words are not learned from")
    p.add_argument("--alpha", type=float, default=0.5, help="language smoothing of the word counts")
    p.set_defaults(func=_bpe)

    p = sub.add_parser("pretrain", help="MLM / MLM+TLM / CLM pre-training (works under torchrun)")
    p.add_argument(
        "--run", default="base", help="the run's name: its home is ~/.cache/xlm-explorer/train/RUN"
    )
    p.add_argument(
        "--corpus", type=Path, default=None, help="default: RUN's home/corpus (built when missing)"
    )
    p.add_argument(
        "--vocab", type=Path, default=None, help="default: RUN's home/vocab (learned when missing)"
    )
    p.add_argument("--out", type=Path, default=None, help="the run state; default: RUN's home/state")
    p.add_argument(
        "--debian", type=Path, default=None, help="build a missing corpus with Debian's data (here)"
    )
    p.add_argument("--minutes", type=float, default=None, help="a chunk: stop after this much wall clock")
    p.add_argument(
        "--reserve-minutes", type=float, default=3.0, help="of --minutes, for evaluation and export"
    )
    p.add_argument("--chunk-steps", type=int, default=None, help="a chunk of this many steps")
    p.add_argument(
        "--export", type=Path, default=None, help="fp16 Hub folder + training_state.json (resumes)"
    )
    p.add_argument("--objectives", default="mlm,tlm", help="comma-separated: mlm, tlm; or clm alone")
    p.add_argument(
        "--tokens", type=int, default=60_000_000, help="token budget (sets the steps and LR decay)"
    )
    p.add_argument("--batch-tokens", type=int, default=8192, help="padded tokens a batch")
    p.add_argument("--tlm-share", type=float, default=0.3, help="share of TLM batches")
    p.add_argument("--max-len", type=int, default=256, help="longest example in tokens")
    p.add_argument("--alpha", type=float, default=0.5, help="language sampling smoothing")
    p.add_argument(
        "--mix", type=int, default=1, help="languages a batch (1: one a batch, equal lengths in corpus order)"
    )
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--init", type=Path, default=None, help="start from this model's weights")
    p.add_argument("--emb-dim", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--dropout", type=float, default=0.1, help="dropout and attention dropout")
    p.add_argument("--sinusoidal", action="store_true", help="fixed sinusoidal position embeddings")
    _add_train_options(p, steps=None, lr=5e-4, warmup=300)
    p.set_defaults(func=_pretrain)

    p = sub.add_parser(
        "chunk", help="a time-boxed chunk of the base model's run (resumes; what `make train-chunk` runs)"
    )
    p.add_argument("--minutes", type=float, required=True, help="wall clock, evaluation and export included")
    p.add_argument("--export", type=Path, default=Path("assets/xlm-explorer-mini"), help="the exported model")
    p.set_defaults(func=_chunk)

    p = sub.add_parser(
        "card", help="measure an exported base model on the held-out sets; metrics.json + card"
    )
    p.add_argument("--model", type=Path, default=Path("assets/xlm-explorer-mini"))
    p.add_argument("--run", default=RUN, help="the run whose corpus counts the card lists")
    p.add_argument("--run-corpus", type=Path, default=None, help="default: RUN's home/corpus")
    p.add_argument("--shared", type=Path, default=SHARED_DATA, help="the shared data folder (held-out sets)")
    p.add_argument(
        "--baseline", type=Path, default=None, help="also measure the model this one would replace"
    )
    p.add_argument("--compare", nargs="*", default=[], help="NAME=STATE_DIR of recipe-comparison runs")
    p.add_argument("--retrieval", action="store_true", help="also FLORES xx -> en retrieval (minutes of CPU)")
    p.set_defaults(func=_card)

    p = sub.add_parser("speed", help="training tokens/s of a few model sizes on the real batches")
    p.add_argument("--corpus", type=Path, default=Path("runs/corpus"))
    p.add_argument("--vocab", type=Path, default=Path("runs/vocab"))
    p.add_argument("--sizes", default="4x256,6x384,8x512", help="LAYERSxWIDTH, comma-separated")
    p.add_argument("--batch-tokens", type=int, default=8192)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--compile", action="store_true", help="torch.compile the training step's model")
    p.add_argument("--fp32", action="store_true")
    p.add_argument("--out", type=Path, default=None, help="write the results here (JSON)")
    p.set_defaults(func=_speed)

    p = sub.add_parser("finetune", help="fine-tune a head: qa (XQuAD-en), langid, pos (UD), ner (GermEval)")
    p.add_argument("task", choices=["qa", "langid", "pos", "ner"])
    p.add_argument("--base", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data", type=Path, default=None, help="data folder (XQuAD / shared corpus / NER file)")
    _add_train_options(p, steps=600, lr=1e-4, warmup=60)
    p.set_defaults(func=_finetune)

    p = sub.add_parser(
        "examples", help="choose a model's fill-mask examples from held-out sentences it guesses"
    )
    p.add_argument("--model", type=Path, default=Path("assets/xlm-explorer-mini"))
    p.add_argument("--shared", type=Path, default=SHARED_DATA, help="the shared data folder (corpus/ inside)")
    p.set_defaults(func=_examples)

    p = sub.add_parser(
        "export", help="runs/{qa,langid,pos,clm} -> assets/ (fp16, shared embeddings, metrics.json, cards)"
    )
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--assets", type=Path, default=Path("assets"))
    p.add_argument("--data", type=Path, default=DEFAULT_XQUAD.parent, help="the shared data folder (xquad/)")
    p.set_defaults(func=_export)

    p = sub.add_parser("all", help="the whole recipe of the shipped models (what `make train` runs)")
    p.set_defaults(func=_recipe, recipe=RECIPE)
    p = sub.add_parser(
        "heads", help="fine-tune and export the heads from the shipped base (what `make train-heads` runs)"
    )
    p.add_argument(
        "--jobs", type=int, default=1, help="fine-tuning runs side by side (each with cores/jobs threads)"
    )
    p.set_defaults(func=_recipe, recipe=HEADS_RECIPE)

    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args.func(args)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
