"""Training in chunks: a run split by a restart equals one uninterrupted run, a run whose state is gone resumes
from its exported folder alone, and a chunk keeps to its wall-clock cap."""

import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from xlm import XLMWithLMHeadModel
from xlm.train.bpe import BPE, count_words
from xlm.train.cli import main
from xlm.train.corpus import LANGS
from xlm.train.pretrain import STATE_FILE, ModelSize, PretrainSettings, pretrain
from xlm.train.trainer import TrainSettings, lr_factor

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EN = ["the cat sleeps on the mat", "a dog runs in the park", "the sun is warm today", "we read a good book"]
DE = [
    "die Katze schläft auf der Matte",
    "ein Hund läuft im Park",
    "die Sonne ist heute warm",
    "wir lesen ein Buch",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """A two-language corpus in the layout ``xlm.train corpus`` writes, and its BPE vocabulary."""
    root = tmp_path_factory.mktemp("corpus")
    tok = root / "tok"
    tok.mkdir()
    (tok / "mono.en.train.txt").write_text("\n".join(EN * 6) + "\n", encoding="utf-8")
    (tok / "mono.de.train.txt").write_text("\n".join(DE * 6) + "\n", encoding="utf-8")
    rows = "".join(f"{e}\t{d}\n" for e, d in zip(EN, DE, strict=True))
    (tok / "para.de.train.tsv").write_text(rows, encoding="utf-8")
    (tok / "para.de.valid.tsv").write_text(rows, encoding="utf-8")
    counts = count_words(EN + DE)
    BPE.learn(counts, 20, progress=False).save(root / "vocab", Counter(counts))
    return root, root / "vocab"


def settings(corpus: tuple[Path, Path], out: Path, dropout: float = 0.1, **kw) -> PretrainSettings:
    """A 2 x 8-step run of a tiny model (with dropout by default: the restart must carry the random state)."""
    root, vocab = corpus
    return PretrainSettings(
        corpus=root,
        vocab=vocab,
        out=out,
        langs=("de", "en"),
        tokens=16 * 96,
        batch_tokens=96,
        tlm_share=0.3,
        eval_every=4,
        size=ModelSize(16, 1, 2, max_position_embeddings=64, dropout=dropout, attention_dropout=dropout),
        train=TrainSettings(lr=1e-2, warmup=3, rewarm=3, bf16=False, log_every=1, save_every=1000),
        **kw,
    )


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return XLMWithLMHeadModel.from_pretrained(folder).state_dict()


def test_two_chunks_equal_one_run(corpus, tmp_path):
    straight = pretrain(settings(corpus, tmp_path / "a"))
    chunked = settings(corpus, tmp_path / "b", chunk_steps=8)
    pretrain(chunked)
    state = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 8
    torch.manual_seed(1234)  # whatever the next process starts with
    pretrain(chunked)
    for (name, a), b in zip(
        weights(straight).items(), weights(tmp_path / "b" / "model").values(), strict=True
    ):
        assert torch.equal(a, b), name
    chunks = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["meta"]["chunks"]
    assert [c["steps"] for c in chunks] == [[0, 8], [8, 16]]


def test_resumes_from_the_exported_folder_alone(corpus, tmp_path):
    """The state folder is deleted after the first chunk: the second chunk starts from the fp16 export and its
    ``training_state.json`` and continues the schedule (re-warmed over ``rewarm`` steps). On the same batches as
    the uninterrupted run (no dropout, so that only the restart differs) its first loss is within 0.01 nats (the
    fp16 rounding of the weights) and its mean loss over the chunk within 0.1 nats (fresh optimizer moments)."""
    straight = pretrain(settings(corpus, tmp_path / "straight", dropout=0.0))
    uninterrupted = json.loads((straight / "training.json").read_text())["history"]
    export = tmp_path / "assets"
    first = settings(corpus, tmp_path / "state1", dropout=0.0, chunk_steps=8, export=export)
    pretrain(first)
    assert {t.dtype for t in load_file(export / "model.safetensors").values()} == {torch.float16}
    state = json.loads((export / STATE_FILE).read_text())
    assert state["steps"] == 8 and state["data_cursor"]["next_batch"] == 8
    assert state["schedule"]["total_steps"] == 16 and [c["steps"] for c in state["chunks"]] == [[0, 8]]
    assert [p["step"] for p in state["curve"]] == [4, 8]

    pretrain(replace(first, out=tmp_path / "state2"))  # state1 is "gone": nothing of it is read
    resumed = json.loads((export / STATE_FILE).read_text())
    assert resumed["steps"] == 16 and resumed["schedule"]["rewarm_from"] == 8
    assert [c["steps"] for c in resumed["chunks"]] == [[0, 8], [8, 16]]
    assert resumed["chunks"][1]["restarted_from_export"]
    after = resumed["history"][8:]
    train = first.train
    for record in after:
        progress = record["step"] / 16 - 1 / 16  # the lr is set before the step counter moves
        assert record["lr"] == pytest.approx(train.lr * lr_factor(train, record["step"] - 1, progress, 8))
    jump = [a["loss"] - b["loss"] for a, b in zip(after, uninterrupted[8:], strict=True)]
    assert abs(jump[0]) < 0.01 and sum(jump) / len(jump) < 0.1, jump


def test_a_chunk_keeps_to_its_minutes(corpus, tmp_path):
    """A run far longer than the cap stops by itself (training ends ``reserve_minutes`` before the cap), and
    evaluation, saving and export fit in the rest."""
    long_run = settings(
        corpus, tmp_path / "state", minutes=0.1, reserve_minutes=0.05, export=tmp_path / "out"
    )
    long_run = replace(long_run, tokens=10**9)
    started = time.monotonic()
    pretrain(long_run)
    assert time.monotonic() - started < 6.0
    state = json.loads((tmp_path / "out" / STATE_FILE).read_text())
    assert 0 < state["steps"] < state["schedule"]["total_steps"]
    assert state["chunks"][0]["wall_minutes"] < 0.1


def test_cli_continues_from_the_export_when_the_run_home_is_gone(tmp_path, monkeypatch):
    """``python -m xlm.train pretrain --export``: a second chunk on a machine without the run's home takes the
    vocabulary and the weights from the exported folder and continues the run."""
    root = tmp_path / "corpus"
    (root / "tok").mkdir(parents=True)
    for lang in LANGS:
        (root / "tok" / f"mono.{lang}.train.txt").write_text("\n".join(EN + DE) + "\n", encoding="utf-8")
    (root / "tok" / "counts.json").write_text("{}\n", encoding="utf-8")  # a built corpus: not rebuilt
    counts = count_words(EN + DE)
    BPE.learn(counts, 20, progress=False).save(tmp_path / "vocab", Counter(counts))
    export = tmp_path / "assets"
    chunk = ["pretrain", "--corpus", str(root), "--export", str(export), "--objectives", "mlm", "--tokens", "960",
             "--batch-tokens", "96", "--emb-dim", "16", "--layers", "1", "--heads", "2", "--chunk-steps", "4", "--fp32"]  # fmt: skip
    monkeypatch.setenv("XLM_TRAIN_HOME", str(tmp_path / "home1"))
    main([*chunk, "--vocab", str(tmp_path / "vocab")])
    monkeypatch.setenv("XLM_TRAIN_HOME", str(tmp_path / "home2"))  # a new machine: no state, no vocabulary
    main(chunk)
    assert (tmp_path / "home2" / "vocab" / "vocab.json").read_bytes() == (
        tmp_path / "vocab" / "vocab.json"
    ).read_bytes()
    state = json.loads((export / STATE_FILE).read_text())
    assert state["steps"] == 8 and [c["steps"] for c in state["chunks"]] == [[0, 4], [4, 8]]
    assert state["chunks"][1]["restarted_from_export"]


def test_a_causal_run_starts_from_the_fp16_export_with_frozen_embeddings(corpus, tmp_path):
    """The causal LM's recipe: it starts from the exported masked LM (float16 on disk), trains in float32 (under
    bf16 autocast where the CPU has it) and, with ``freeze_embeddings``, keeps the base's word embeddings."""
    export = tmp_path / "export"
    pretrain(replace(settings(corpus, tmp_path / "mlm"), chunk_steps=4, export=export))
    base = settings(corpus, tmp_path / "clm")
    causal = replace(
        base,
        objectives=("clm",),
        init=export,
        tokens=4 * 96,
        train=replace(base.train, bf16=True, freeze_embeddings=True),
    )
    start, end = load_file(export / "model.safetensors"), load_file(pretrain(causal) / "model.safetensors")
    assert {t.dtype for t in end.values()} == {torch.float32}
    key = "transformer.embeddings.weight"
    assert torch.equal(end[key].half(), start[key])
    moved = [k for k in start if k != key and not torch.equal(end[k].half(), start[k])]
    assert "transformer.layer_norm_emb.weight" in moved, moved


def _lrs(history: list[dict]) -> dict[int, float]:
    """The learning rate each step trained with (a record's lr was set before its step counter moved)."""
    return {record["step"] - 1: record["lr"] for record in history}


@pytest.mark.parametrize("state_gone", [False, True], ids=["from the run state", "from the export"])
def test_a_raised_budget_continues_the_learning_rate_without_a_jump(corpus, tmp_path, state_gone):
    """A run planned for 16 steps is given 24 after 8: the learning rate goes on from its value at step 8 of the
    old schedule (1 - 0.9 * 8/16 = 55% of the peak) and decays linearly to 10% at step 24, where the run ends."""
    export = tmp_path / "assets"
    first = settings(corpus, tmp_path / "state", dropout=0.0, chunk_steps=8, export=export)
    pretrain(first)
    raised = replace(first, tokens=24 * 96, chunk_steps=None)
    if state_gone:
        raised = replace(raised, out=tmp_path / "state2")
    pretrain(raised)
    state = json.loads((export / STATE_FILE).read_text())
    assert state["steps"] == 24 and state["schedule"]["total_steps"] == 24
    assert state["schedule"]["decay_from"] == {"step": 8, "factor": pytest.approx(0.55)}
    peak, lrs = first.train.lr, _lrs(state["history"])
    rewarm = (lambda step: min(1.0, (step - 8 + 1) / 3)) if state_gone else (lambda step: 1.0)
    for step in range(8, 24):
        assert lrs[step] == pytest.approx(peak * (0.55 - 0.45 * (step - 8) / 16) * rewarm(step)), step
    assert lrs[7] == pytest.approx(peak * (1 - 0.9 * 7 / 16))  # the old schedule up to the change


def test_a_chunk_killed_before_its_export_is_kept_in_the_chunk_list(corpus, tmp_path):
    """The second chunk saved its state at step 12 and was killed before it recorded itself (the checkpoint a
    stopped session leaves behind); the third chunk lists it from the run state, with its training minutes."""
    run = settings(corpus, tmp_path / "state", chunk_steps=8, export=tmp_path / "assets")
    pretrain(run)
    pretrain(replace(run, chunk_steps=4))
    path = tmp_path / "state" / "checkpoint.pt"
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["meta"]["chunks"].pop()  # what the killed process never got to write
    torch.save(checkpoint, path)
    pretrain(replace(run, chunk_steps=4))
    state = json.loads((tmp_path / "assets" / STATE_FILE).read_text())
    chunks, minutes = state["chunks"], {h["step"]: h["minutes"] for h in state["history"]}
    assert [c["steps"] for c in chunks] == [[0, 8], [8, 12], [12, 16]]
    assert [bool(c.get("interrupted")) for c in chunks] == [False, True, False]
    killed = chunks[1]
    assert killed["tokens"] == [chunks[0]["tokens"][1], chunks[2]["tokens"][0]]
    assert killed["train_minutes"] == pytest.approx(minutes[12] - minutes[8])
    assert killed["wall_minutes"] == killed["train_minutes"] and killed["threads"] is None


def test_a_chunk_after_the_budget_trains_nothing_and_keeps_the_export(corpus, tmp_path, capsys):
    run = settings(corpus, tmp_path / "state", chunk_steps=16, export=tmp_path / "assets")
    pretrain(run)
    before = (tmp_path / "assets" / STATE_FILE).read_bytes()
    pretrain(run)
    assert "token budget is spent (16 of 16 steps)" in capsys.readouterr().out
    assert (tmp_path / "assets" / STATE_FILE).read_bytes() == before
