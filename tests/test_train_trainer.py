"""The trainer: it can overfit a batch, resumes exactly, and a 2-process gloo DDP run matches accumulation."""

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from xlm.models.xlm.configuration import XLMConfig
from xlm.models.xlm.modeling import XLMWithLMHeadModel
from xlm.train.batches import BatchSampler, LengthSorted
from xlm.train.trainer import Trainer, TrainSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_model(seed: int = 0, causal: bool = False, dropout: float = 0.0) -> XLMWithLMHeadModel:
    torch.manual_seed(seed)
    config = XLMConfig(
        vocab_size=40,
        emb_dim=16,
        n_layers=1,
        n_heads=2,
        max_position_embeddings=32,
        n_langs=2,
        lang2id={"de": 0, "en": 1},
        id2lang={0: "de", 1: "en"},
        dropout=dropout,
        attention_dropout=dropout,
        causal=causal,
    )
    return XLMWithLMHeadModel(config)


_SENTENCES = [list(range(14, 14 + n)) for n in range(3, 15)] * 3


def batches(i: int, causal: bool = False) -> dict[str, torch.Tensor]:
    """Deterministic batch number ``i`` (the trainer asks by micro-step index)."""
    pools = {0: LengthSorted(_SENTENCES), 1: LengthSorted([s[::-1] for s in _SENTENCES])}
    sampler = BatchSampler(pools, {}, en_id=1, vocab_size=40, max_tokens=64, causal=causal)
    return sampler(i)


def settings(**kw) -> TrainSettings:
    return TrainSettings(
        **{"lr": 1e-2, "warmup": 2, "bf16": False, "log_every": 1000, "save_every": 1000, **kw}
    )


@pytest.mark.parametrize("causal", [False, True])
def test_overfits_one_batch(tmp_path, causal):
    model = tiny_model(causal=causal)
    batch = batches(0, causal)
    trainer = Trainer(model, settings(steps=150), tmp_path, progress=False)
    trainer.train(lambda _: batch)
    loss, _, _ = trainer.module(**batch)
    assert loss.item() < 0.3  # from about ln(40) = 3.7 at the start


def test_bf16_setting_trains(tmp_path):
    """bf16 autocast where the CPU computes bf16 natively, the fp32 fallback elsewhere: both train."""
    model = tiny_model()
    history = Trainer(model, settings(steps=2, bf16=True, log_every=1), tmp_path, progress=False).train(
        batches
    )
    assert [h["step"] for h in history] == [1, 2] and all(np.isfinite(h["loss"]) for h in history)


class Crash(Exception):
    pass


def test_resume_continues_exactly(tmp_path):
    """With dropout on: the checkpoint carries the random state too."""
    straight = tiny_model(dropout=0.1)
    Trainer(straight, settings(steps=8), tmp_path / "a", progress=False).train(batches)

    def crash_after_five(i: int) -> dict[str, torch.Tensor]:
        if i == 5:
            raise Crash
        return batches(i)

    with pytest.raises(Crash):
        Trainer(
            tiny_model(dropout=0.1), settings(steps=8, save_every=5), tmp_path / "b", progress=False
        ).train(crash_after_five)
    # A fresh process rebuilds the model from scratch: the checkpoint must restore everything.
    torch.manual_seed(99)  # whatever state the new process starts in
    resumed = tiny_model(seed=123, dropout=0.1)
    trainer = Trainer(resumed, settings(steps=8), tmp_path / "b", progress=False)
    assert trainer.step == 5
    trainer.train(batches)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    model = tiny_model()
    trainer = Trainer(model, settings(steps=4), os.path.join(out, "ckpt"), progress=False)
    trainer.train(batches)
    torch.save(model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


def test_two_process_gloo_ddp_keeps_replicas_identical(tmp_path):
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for name in r0:
        assert torch.equal(r0[name], r1[name]), name
    # DDP averages the ranks' gradients: the same as one process accumulating the two ranks' batches.
    single = tiny_model()
    Trainer(single, settings(steps=4, accum=2), tmp_path / "single", progress=False).train(batches)
    for name, value in single.state_dict().items():
        torch.testing.assert_close(r0[name], value, rtol=1e-4, atol=1e-5, msg=name)
    assert not torch.equal(
        r0["transformer.embeddings.weight"], tiny_model().state_dict()["transformer.embeddings.weight"]
    )
