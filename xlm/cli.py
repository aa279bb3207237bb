"""Command line: ``xlm run`` answers JSON lines with a pipeline, ``xlm info`` describes a checkpoint.

Errors are one line on stderr. Exit codes: 0 all answered, 1 some inputs failed (the others were answered),
2 nothing could run (bad task, model or arguments).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from .errors import XLMError

TASK_OPTIONS = ("top_k", "lang", "max_new_tokens", "do_sample", "temperature", "seed", "aggregation_strategy")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlm", description="Run XLM pipelines and inspect checkpoints.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="answer inputs (plain lines or JSON lines) with a task pipeline")
    run.add_argument("--task", required=True, help="fill-mask, question-answering, text-generation, ...")
    run.add_argument("--model", required=True, help="local folder or Hub id")
    run.add_argument("--revision", default=None, help="Hub branch, tag or commit (default: main)")
    run.add_argument(
        "--device",
        default="auto",
        help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps, or an index as in transformers (0 = the "
        "first GPU, -1 = the CPU)",
    )
    run.add_argument(
        "--dtype",
        default=None,
        help="float32 (default, exact), bfloat16, float16, int8 (CPU) or auto (bf16/int8 when it agrees with fp32)",
    )
    run.add_argument("--input", default="-", help="file of inputs, one per line (default: stdin)")
    run.add_argument("--top-k", dest="top_k", type=int, default=None)
    run.add_argument("--lang", default=None, help="language code for tokenisation and language embeddings")
    run.add_argument("--max-new-tokens", dest="max_new_tokens", type=int, default=None)
    run.add_argument("--temperature", type=float, default=None)
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--sample", dest="do_sample", action="store_true", default=None)
    run.add_argument("--aggregation-strategy", dest="aggregation_strategy", default=None)

    info = sub.add_parser("info", help="config, languages, size and trained heads of a checkpoint")
    info.add_argument("model", help="local folder or Hub id")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


class BadLine(ValueError):
    """An input line that starts like JSON but does not parse."""


def _inputs(stream: TextIO) -> Iterator[tuple[int, Any]]:
    """(line number, input): a line starting with ``{`` or ``[`` must be JSON (an object or an array; a text that
    starts so is sent as a JSON string), anything else is plain text. A line that does not parse comes as a
    :class:`BadLine`, answered by an error line."""
    for number, line in enumerate(stream, start=1):
        text = line.rstrip("\n")
        if text.lstrip().startswith(("{", "[")):
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as err:
                yield (
                    number,
                    BadLine(
                        f"invalid JSON ({err.msg}, column {err.colno}); plain text must not start with {{ or ["
                    ),
                )
            continue
        yield number, text


def _run(args: argparse.Namespace) -> int:
    from .pipelines import pipeline

    options = {k: getattr(args, k) for k in TASK_OPTIONS if getattr(args, k) is not None}
    pipe = pipeline(args.task, args.model, device=args.device, dtype=args.dtype, revision=args.revision)
    loaded = pipe.loaded  # load before reading input: a model that cannot load is a fatal error
    for note in [*loaded.report.warnings, *loaded.notes]:
        print(f"xlm: warning: {note}", file=sys.stderr)
    failures = 0
    with sys.stdin if args.input == "-" else open(args.input, encoding="utf-8") as stream:
        for number, item in _inputs(stream):
            try:
                if isinstance(item, BadLine):
                    raise item
                kwargs = dict(options)
                if isinstance(item, dict) and "inputs" in item:  # {"inputs": ..., plus per-line options}
                    item = dict(item)
                    kwargs.update({k: v for k, v in item.items() if k != "inputs"})
                    item = item["inputs"]
                result = pipe(item, **kwargs)
                print(json.dumps(result, ensure_ascii=False), flush=True)
            except (XLMError, ValueError, TypeError) as err:
                failures += 1
                print(json.dumps({"error": str(err), "line": number}, ensure_ascii=False), flush=True)
                print(f"xlm: line {number}: {err}", file=sys.stderr)
    return 1 if failures else 0


def describe(model: str) -> dict[str, Any]:
    """What ``xlm info`` shows, as data: family, shape, languages, parameter count, trained heads, config."""
    from .files import resolve_model_dir
    from .registry import family_of, read_config
    from .weights import tensor_shapes

    folder = resolve_model_dir(model)
    config = read_config(folder)
    fam = family_of(config)
    state = tensor_shapes(folder)
    prefixes = {key.split(".", 1)[0] for key in state}
    head_names = next(iter(fam.heads.values())).head_names
    lang2id = getattr(config, "lang2id", None) or {}
    return {
        "model": model,
        "folder": str(folder),
        "family": fam.name,
        "architectures": config.architectures,
        "shape": {
            "layers": config.num_hidden_layers,
            "hidden_size": config.hidden_size,
            "heads": config.num_attention_heads,
            "vocab_size": config.vocab_size,
            "max_tokens": config.max_tokens,
            "causal": config.is_causal,
        },
        "languages": sorted(lang2id, key=lambda lang: lang2id[lang]),
        "parameters": sum(math.prod(shape) for shape, _ in state.values()),
        "dtype": next(iter(state.values()))[1],
        "trained_heads": [name for prefix, name in head_names.items() if prefix in prefixes],
        "config": config.to_dict(),
    }


def _info(args: argparse.Namespace) -> int:
    info = describe(args.model)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    shape = info["shape"]
    print(f"model         {info['model']}  ({info['folder']})")
    print(f"architecture  {', '.join(info['architectures'] or ['unknown'])} ({info['family']})")
    print(f"size          {info['parameters'] / 1e6:.1f} M parameters ({info['dtype']})")
    print(
        f"shape         {shape['layers']} layers, dim {shape['hidden_size']}, {shape['heads']} heads, "
        f"vocab {shape['vocab_size']}, {'causal (CLM)' if shape['causal'] else 'bidirectional (MLM)'}"
    )
    print(f"languages     {', '.join(info['languages']) or 'none (no language embeddings)'}")
    print(f"trained heads {', '.join(info['trained_heads']) or 'none (base model only)'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args) if args.command == "run" else _info(args)
    except (XLMError, ValueError, OSError) as err:
        print(f"xlm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
