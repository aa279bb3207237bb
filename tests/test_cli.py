"""The command line, run as a user runs it: a subprocess, JSON lines out, one-line errors, exit codes."""

import json
import os
import subprocess
import sys

import pytest


def xlm_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "xlm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def lm_dir(make_model):
    return make_model("XLMWithLMHeadModel", seed=3)


def test_fill_mask_lines_in_json_lines_out(lm_dir, tmp_path):
    inputs = tmp_path / "in.txt"
    inputs.write_text('Das ist ein <mask> .\n{"inputs": "Ein <mask> Haus .", "top_k": 2}\n', encoding="utf-8")
    done = xlm_cli(
        "run",
        "--task",
        "fill-mask",
        "--model",
        str(lm_dir),
        "--top-k",
        "3",
        "--lang",
        "de",
        "--input",
        str(inputs),
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert len(first) == 3 and len(second) == 2
    assert {"score", "token", "token_str", "sequence"} <= set(first[0])


def test_bad_lines_fail_alone(lm_dir):
    done = xlm_cli(
        "run", "--task", "fill-mask", "--model", str(lm_dir), stdin="no mask here\n\nEin <mask> .\n"
    )
    assert done.returncode == 1
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert out[0] == {"error": out[0]["error"], "line": 1} and "No mask token" in out[0]["error"]
    assert "empty" in out[1]["error"]
    assert isinstance(out[2], list) and out[2][0]["token_str"]
    errors = done.stderr.strip().splitlines()
    assert errors[0].startswith("xlm: line 1: No mask token") and len(errors) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--task", "summarise", "--model", "{model}"], "Unknown task 'summarise'"),
        (["run", "--task", "fill-mask", "--model", "./missing-model"], "No such model folder"),
        (
            ["run", "--task", "fill-mask", "--model", "FacebookAI/not-cached-here"],
            "not in the local Hub cache",
        ),
        (["run", "--task", "fill-mask", "--model", "{bert}"], "model_type='bert' is not supported"),
        (["info", "./missing-model"], "No such model folder"),
    ],
)
def test_fatal_errors_are_one_line(args, message, lm_dir, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    args = [a.format(model=lm_dir, bert=tmp_path) for a in args]
    done = xlm_cli(*args, stdin="x <mask>\n")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xlm: error: ") and message in lines[0]


def test_info_lists_languages_size_and_heads(make_model):
    folder = make_model("XLMForQuestionAnsweringSimple", seed=6)
    done = xlm_cli("info", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["languages"] == ["de", "en"]
    assert info["architectures"] == ["XLMForQuestionAnsweringSimple"]
    assert info["trained_heads"] == ["question-answering head (qa_outputs)"]
    text = xlm_cli("info", str(folder)).stdout
    assert "languages     de, en" in text and "M parameters" in text


def test_auto_dtype_fallback_is_reported(precision_trap):
    done = xlm_cli(
        "run",
        "--task",
        "fill-mask",
        "--model",
        str(precision_trap),
        "--dtype",
        "auto",
        "--lang",
        "en",
        stdin="Paris is the capital of <mask> .\n",
    )
    assert done.returncode == 0, done.stderr
    assert "xlm: warning: " in done.stderr and "using float32 instead" in done.stderr
    assert len(json.loads(done.stdout)) == 5
