"""Shared benchmark plumbing: machine description, random checkpoints shaped like the released ones, running a
worker in a fresh process, and writing a section of RESULTS.md."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
WORK = Path(os.environ.get("XLM_BENCH_DIR", ROOT / "benchmarks" / "_work"))
DATA = Path(os.environ.get("XLM_TEST_DATA", ROOT.parent / "shared" / "data"))


def machine() -> str:
    """CPU, cores, memory, whether the CPU has bf16 matrix instructions (they decide what ``dtype="auto"`` runs),
    library versions and the date."""
    cpu, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    bf16 = [
        name for flag, name in (("avx512_bf16", "AVX512-BF16"), ("amx_bf16", "AMX-BF16")) if flag in flags
    ]
    import transformers

    return (
        f"{cpu} ({', '.join(bf16) or 'no bf16 instructions'}), {os.cpu_count()} cores, "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB; "
        f"Python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"torch threads {torch.get_num_threads()}; {dt.date.today().isoformat()}"
    )


def random_checkpoint(name: str, tokenizer: str, **overrides: Any) -> Path:
    """Random weights with the config of a released checkpoint (``hf-configs/<name>.json``) and real tokenizer
    files from ``../shared/data/<tokenizer>``, saved once as safetensors under benchmarks/_work/."""
    folder = WORK / (name + "".join(f"-{k}{v}" for k, v in sorted(overrides.items())))
    if (folder / "model.safetensors").is_file():
        return folder
    from xlm import XLMConfig, XLMWithLMHeadModel

    config = json.loads((DATA / "hf-configs" / f"{name}.json").read_text())
    config.update(overrides)
    torch.manual_seed(0)
    model = XLMWithLMHeadModel(XLMConfig.from_dict(config)).eval()
    model.save_pretrained(folder)
    for file in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        if (DATA / tokenizer / file).is_file():
            shutil.copy(DATA / tokenizer / file, folder / file)
    return folder


def isolated(job: str, impl: str, timeout: int = 1200, **spec: Any) -> dict[str, Any]:
    """Run one worker job in a fresh Python process and return its JSON result."""
    payload = json.dumps(
        {"job": job, "impl": impl, **{k: str(v) if isinstance(v, Path) else v for k, v in spec.items()}}
    )
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker"],
        input=payload,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_VERBOSITY": "error",
            "PYTHONWARNINGS": "ignore",
        },
    )
    if done.returncode != 0:
        raise RuntimeError(f"{job}/{impl} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_section(title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of RESULTS.md."""
    text = (
        RESULTS.read_text()
        if RESULTS.is_file()
        else "# Benchmark results\n\nRatios are ours / transformers, measured in the same run on the same inputs and weights.\n"
    )
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _: section + "\n", text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section
    )
    RESULTS.write_text(text.rstrip() + "\n")


def table(rows: list[list[Any]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
