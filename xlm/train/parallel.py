"""Independent training commands side by side: each in its own process with its share of the cores, its output in
a log file (two tqdm bars in one terminal are unreadable), the first failure reported with its log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


class CommandFailed(RuntimeError):
    """A command of a parallel batch exited non-zero."""


def log_name(argv: list[str]) -> str:
    """A log file name for a command: its ``--out`` folder's name, else its subcommand's."""
    name = Path(argv[argv.index("--out") + 1]).name if "--out" in argv else argv[0]
    return name + ".log"


def run_parallel(commands: list[list[str]], jobs: int, logs: Path) -> list[float]:
    """Run ``python -m xlm.train`` with each argv in ``commands``, at most ``jobs`` at a time and in the order
    given (put the longest first); return each command's minutes. Raises :class:`CommandFailed` naming the first
    command that failed and its log, after the others have finished."""
    logs.mkdir(parents=True, exist_ok=True)
    threads = str(max(1, (os.cpu_count() or 1) // jobs))

    def run(argv: list[str]) -> tuple[int, float]:
        log = logs / log_name(argv)
        print(f"started: {' '.join(argv)} (log: {log})", flush=True)
        started = time.monotonic()
        with log.open("w", encoding="utf-8") as out:
            code = subprocess.run(
                [sys.executable, "-m", "xlm.train", "--threads", threads, *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
        minutes = (time.monotonic() - started) / 60
        print(f"{'done' if code == 0 else 'FAILED'} in {minutes:.1f} min: {' '.join(argv)}", flush=True)
        return code, minutes

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(run, commands))
    for argv, (code, _) in zip(commands, results, strict=True):
        if code != 0:
            raise CommandFailed(f"exit {code}: {' '.join(argv)} (see {logs / log_name(argv)})")
    return [minutes for _, minutes in results]
