"""`python -m xlm.train heads --jobs N`: the fine-tuning runs go side by side in their own processes, each writes
what it writes alone, its output goes to a log, and a failure names its command and log and exits non-zero."""

from pathlib import Path

import pytest

from xlm.train import cli
from xlm.train.parallel import CommandFailed, log_name, run_parallel

WORDS = "the cat sleeps on the mat and the dog runs in the park\n" * 5


def _corpus(root: Path) -> Path:
    (root / "tok").mkdir(parents=True)
    (root / "tok" / "mono.en.train.txt").write_text(WORDS, encoding="utf-8")
    return root


def test_commands_run_side_by_side_with_their_own_logs(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    commands = [
        ["bpe", "--corpus", str(corpus), "--out", str(tmp_path / f"vocab{k}"), "--merges", str(5 + k)]
        for k in range(3)
    ]
    minutes = run_parallel(commands, jobs=2, logs=tmp_path / "logs")
    assert len(minutes) == 3 and all(m > 0 for m in minutes)
    for k in range(3):
        assert (tmp_path / f"vocab{k}" / "vocab.json").is_file()
        assert f"{5 + k} merges" in (tmp_path / "logs" / f"vocab{k}.log").read_text()


def test_a_failure_names_its_command_and_log_after_the_others_finish(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    good = ["bpe", "--corpus", str(corpus), "--out", str(tmp_path / "vocab"), "--merges", "5"]
    bad = ["finetune", "pos", "--base", str(tmp_path / "missing"), "--out", str(tmp_path / "pos")]
    with pytest.raises(CommandFailed, match=r"exit \d+: finetune pos .*pos\.log"):
        run_parallel([bad, good], jobs=2, logs=tmp_path / "logs")
    assert (tmp_path / "vocab" / "vocab.json").is_file()
    assert "No such model folder" in (tmp_path / "logs" / "pos.log").read_text()


def test_log_names():
    assert log_name(["finetune", "qa", "--out", "runs/qa", "--steps", "3"]) == "qa.log"
    assert log_name(["bpe", "--merges", "5"]) == "bpe.log"


def test_recipe_commands_lose_their_threads_option():
    argv = cli._without_threads(cli._argv("python -m xlm.train --threads 2 finetune qa --out runs/qa"))
    assert argv == ["finetune", "qa", "--out", "runs/qa"]
