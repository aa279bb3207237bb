"""The pre-training loop: AdamW with warm-up, gradient accumulation, bf16 autocast, checkpoint/resume, DDP.

Runs unchanged as one process or under ``torchrun`` (DistributedDataParallel: gloo on CPU, nccl on GPU); each
rank samples its own batches (seed + rank) and gradients are averaged by DDP.

The LM head is applied only where a token is predicted (the ~15% masked positions for MLM/TLM): at these model
sizes the vocabulary projection costs more than all the layers, so this is the main speed-up over computing the
full ``[batch, length, vocab]`` logits.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .batches import IGNORE

Batch = dict[str, torch.Tensor]


@dataclass
class TrainSettings:
    """Optimisation settings; saved inside the checkpoint and in the model card."""

    steps: int = 1000
    max_minutes: float | None = None  # stop (and finish the LR decay) after this much training time
    lr: float = 5e-4
    warmup: int = 200
    weight_decay: float = 0.01
    accum: int = 1
    clip: float = 1.0
    bf16: bool = True
    compile: bool = False  # torch.compile the training step (dynamic shapes)
    seed: int = 0
    log_every: int = 50
    save_every: int = 500
    rewarm: int = 200  # warm-up steps after a restart from exported weights (optimizer moments start at zero)
    freeze_embeddings: bool = False  # keep the word embeddings (and an output layer tied to them) as they are


def setup_distributed() -> tuple[int, int, torch.device]:
    """Join the torchrun process group when there is one; return (rank, world size, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = (
        torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if torch.cuda.is_available() else None
    )
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device is not None else "gloo")
    if device is not None:
        torch.cuda.set_device(device)
    rank = dist.get_rank() if dist.is_initialized() else 0
    return rank, world, device or torch.device("cpu")


class MaskedLMLoss(nn.Module):
    """Wraps an ``XLMWithLMHeadModel``: cross-entropy at the labelled positions only (shifted if causal).

    ``forward`` returns ``(loss, n_correct, n_predicted)`` so that DDP sees one module doing the whole step.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, langs, position_ids, attention_mask, labels) -> tuple[torch.Tensor, ...]:
        hidden = self.model.base_model(
            input_ids=input_ids, langs=langs, position_ids=position_ids, attention_mask=attention_mask
        ).last_hidden_state
        if self.model.config.is_causal:  # position t predicts token t + 1
            hidden, labels = hidden[:, :-1], labels[:, 1:].masked_fill(attention_mask[:, 1:] == 0, IGNORE)
        where = labels != IGNORE
        logits = self.model.lm_scores(hidden[where]).float()  # log-probabilities with an adaptive softmax
        target = labels[where]
        loss = F.cross_entropy(logits, target, reduction="sum") / max(int(target.numel()), 1)
        return loss, (logits.argmax(-1) == target).sum(), torch.tensor(target.numel())


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); without it bf16 autocast is emulated and
    ran about 15x slower than fp32 on the 2-core AVX2 development machine."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast where asked for and fast on this device, else a no-op (fp32)."""
    if bf16 and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if bf16 and device.type == "cpu" and cpu_has_fast_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def lr_factor(
    settings: TrainSettings,
    step: int,
    progress: float,
    rewarm_from: int | None = None,
    decay_from: tuple[int, float] | None = None,
) -> float:
    """Linear warm-up over ``warmup`` steps, then linear decay to 10% of the peak as ``progress`` goes 0 -> 1.

    ``rewarm_from``: the step a run restarted at without its optimizer moments; the schedule is then scaled by a
    second linear warm-up over ``rewarm`` steps from there. ``decay_from``: (step, factor) where the run's budget
    changed; from there the factor decays linearly from ``factor`` to 10% at the new last step, so the learning
    rate goes on from where it was instead of jumping."""
    if step < settings.warmup:
        factor = (step + 1) / settings.warmup
    elif decay_from is not None and step >= decay_from[0]:
        start = decay_from[0] / settings.steps
        share = (progress - start) / (1.0 - start) if start < 1.0 else 1.0
        factor = max(0.1, decay_from[1] - (decay_from[1] - 0.1) * share)
    else:
        factor = max(0.1, 1.0 - 0.9 * progress)
    if rewarm_from is not None and settings.rewarm > 0:
        factor *= min(1.0, (step - rewarm_from + 1) / settings.rewarm)
    return factor


def make_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases, LayerNorms and embeddings' positions/languages."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "layer_norm" in name else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": settings.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=settings.lr, betas=(0.9, 0.98), eps=1e-6)


class Trainer:
    """Trains ``model`` (an LM model, or any module taking a batch) on batches from ``next_batch(step)``.

    ``loss_module`` maps a batch (as keyword arguments) to ``(loss, n_correct, n)``; it defaults to
    :class:`MaskedLMLoss` around ``model``. ``out`` receives ``checkpoint.pt`` (resumed from when present).
    """

    def __init__(
        self,
        model: nn.Module,
        settings: TrainSettings,
        out: Path,
        loss_module: nn.Module | None = None,
        progress: bool = True,
    ):
        torch.set_flush_denormal(True)  # MKL's backward matmuls crawl on denormals (27x slower fp32 steps)
        self.rank, self.world, self.device = setup_distributed()
        self.model = model.to(self.device)
        self.settings = settings
        self.out = Path(out)
        module = (loss_module or MaskedLMLoss(model)).to(self.device)
        self.ddp = self.world > 1
        self.module = nn.parallel.DistributedDataParallel(module) if self.ddp else module
        if settings.compile:
            self.module = torch.compile(self.module, dynamic=True)
        if settings.freeze_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        self.optimizer = make_optimizer(model, settings)
        self.step = 0
        self.elapsed = 0.0  # seconds of training so far (kept across resumes)
        self.tokens = 0  # input tokens (not padding) trained on so far
        self.history: list[dict] = []
        self.rewarm_from: int | None = None  # the step of a restart without optimizer moments
        self.decay_from: tuple[int, float] | None = None  # (step, lr factor) where the budget last changed
        self.meta: dict = {}  # the caller's own record, kept in the checkpoint (e.g. the chunks of a run)
        self.show = progress and self.rank == 0
        self._resume()

    # ---------------------------------------------------------------- checkpoints
    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        if self.rank != 0:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "elapsed": self.elapsed,
            "tokens": self.tokens,
            "history": self.history,
            "rng": torch.get_rng_state(),  # dropout: with it a resumed run continues exactly
            "settings": asdict(self.settings),
            "rewarm_from": self.rewarm_from,
            "decay_from": self.decay_from,
            "meta": self.meta,
        }
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(self.checkpoint_path)

    def _resume(self) -> None:
        if not self.checkpoint_path.is_file():
            return
        state = torch.load(self.checkpoint_path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = state["step"]
        self.elapsed = state["elapsed"]
        self.tokens = state.get("tokens", 0)
        self.history = state["history"]
        self.rewarm_from = state.get("rewarm_from")
        self.decay_from = tuple(state["decay_from"]) if state.get("decay_from") else None
        self.meta = state.get("meta", {})
        if "rng" in state:
            torch.set_rng_state(state["rng"].cpu())
        self.continue_schedule(state["settings"]["steps"])

    def continue_schedule(self, old_steps: int) -> None:
        """The run resumes with another step budget than it was trained under (its token budget changed): the
        learning rate decays on from its value at this step to the floor at the new last step."""
        if old_steps == self.settings.steps or self.step == 0:
            return
        old = replace(self.settings, steps=old_steps, max_minutes=None)
        factor = lr_factor(old, self.step, min(self.step / old_steps, 1.0), None, self.decay_from)
        self.decay_from = (self.step, factor)

    # ---------------------------------------------------------------- training
    @property
    def progress(self) -> float:
        """Fraction of the run done: by steps, or by time when ``max_minutes`` is set and comes first."""
        done = self.step / self.settings.steps
        if self.settings.max_minutes:
            done = max(done, self.elapsed / (60 * self.settings.max_minutes))
        return min(done, 1.0)

    def _agreed(self, seconds: float) -> float:
        """The slowest rank's step time, so that every rank stops at the same step under a time budget."""
        if not self.ddp:
            return seconds
        t = torch.tensor([seconds], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t)

    def _any_rank(self, flag: bool) -> bool:
        """True on every rank when any rank says so (a chunk's ranks stop at the same step)."""
        if not self.ddp:
            return flag
        t = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t)

    def _to_device(self, batch: Batch) -> Batch:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def train(
        self,
        next_batch: Callable[[int], Batch],
        on_eval: Callable[[int], dict] | None = None,
        eval_every: int = 0,
        stop: Callable[[], bool] | None = None,
    ) -> list[dict]:
        """Run ``settings.steps`` optimiser steps (or ``max_minutes``); ``next_batch(micro_step)`` gives the batches.

        ``stop()`` is asked after every step: when it says so, the run evaluates, saves its checkpoint and returns
        early (a chunk of a longer run; the next ``train`` resumes exactly there)."""
        s = self.settings
        self.module.train()
        bar = tqdm(total=s.steps, initial=self.step, desc="training", disable=not self.show, unit="step")
        running, seen = 0.0, 0
        while self.progress < 1.0:
            started = time.perf_counter()
            lr = s.lr * lr_factor(s, self.step, self.progress, self.rewarm_from, self.decay_from)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            for micro in range(s.accum):
                batch = self._to_device(next_batch((self.step * s.accum + micro) * self.world + self.rank))
                if "attention_mask" in batch:
                    self.tokens += int(batch["attention_mask"].sum()) * self.world
                sync = (
                    contextlib.nullcontext()
                    if not self.ddp or micro == s.accum - 1
                    else self.module.no_sync()
                )
                with sync:
                    with autocast(self.device, s.bf16):
                        loss, _, _ = self.module(**batch)
                    (loss / s.accum).backward()
                running += loss.item()
                seen += 1
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.clip)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            self.elapsed += self._agreed(time.perf_counter() - started)
            bar.update()
            last = self.progress >= 1.0 or (stop is not None and self._any_rank(stop()))
            if self.step % s.log_every == 0 or last:
                record = {
                    "step": self.step,
                    "loss": running / seen,
                    "lr": lr,
                    "minutes": self.elapsed / 60,
                    "tokens": self.tokens,
                }
                bar.set_postfix(loss=f"{record['loss']:.3f}")
                running, seen = 0.0, 0
                if on_eval is not None and eval_every and (self.step % eval_every == 0 or last):
                    self.module.eval()
                    record["eval"] = on_eval(self.step)
                    self.module.train()
                self.history.append(record)
                if self.rank == 0:
                    tqdm.write(str(record))
            if self.step % s.save_every == 0 or last:
                self.save_checkpoint()
            if last:
                break
        bar.close()
        self.model.eval()
        return self.history


@torch.no_grad()
def evaluate_lm(model: nn.Module, batches: Iterator[Batch], bf16: bool = False) -> dict[str, float]:
    """Accuracy and perplexity of the predicted (labelled) tokens over ``batches``."""
    module = MaskedLMLoss(model).eval()
    device = next(model.parameters()).device
    total_loss, correct, count = 0.0, 0, 0
    for batch in batches:
        with autocast(device, bf16):
            loss, n_correct, n = module(**{k: v.to(device) for k, v in batch.items()})
        total_loss += float(loss) * int(n)
        correct += int(n_correct)
        count += int(n)
    if count == 0:
        return {"accuracy": float("nan"), "perplexity": float("nan"), "tokens": 0}
    return {"accuracy": correct / count, "perplexity": math.exp(total_loss / count), "tokens": count}
