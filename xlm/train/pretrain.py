"""Pre-training an XLM language model (MLM, MLM+TLM or CLM) on the prepared corpus, saved in Hub format."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm import tqdm

from xlm import XLMConfig, XLMTokenizer, XLMWithLMHeadModel

from .batches import BatchSampler, LengthSorted
from .corpus import LANGS
from .data import Encoder
from .evaluate import causal_batches, masked_batches
from .trainer import MaskedLMLoss, Trainer, TrainSettings, autocast, evaluate_lm, make_optimizer


@dataclass
class ModelSize:
    emb_dim: int = 256
    n_layers: int = 4
    n_heads: int = 8
    max_position_embeddings: int = 256
    dropout: float = 0.1
    attention_dropout: float = 0.1
    sinusoidal_embeddings: bool = False  # fixed (not trained) sinusoidal positions


@dataclass
class PretrainSettings:
    """What to train on and how (the CLI's options)."""

    corpus: Path = Path("runs/corpus")
    vocab: Path = Path("runs/vocab")
    out: Path = Path("runs/mlm")
    objectives: tuple[str, ...] = ("mlm", "tlm")  # mlm and/or tlm; or clm alone (a causal model)
    langs: tuple[str, ...] = LANGS
    tokens: int = 60_000_000  # the budget: steps = tokens / batch_tokens (the LR schedule ends there)
    batch_tokens: int = 8192  # padded tokens a batch
    tlm_share: float = 0.3  # share of TLM batches when "tlm" is an objective
    max_len: int = 256
    alpha: float = 0.5
    mix: int = 1  # languages a batch (1: one language a batch, rows of equal length in corpus order)
    eval_every: int = 500
    init: Path | None = None  # start from this model's weights (e.g. the causal LM from the MLM)
    minutes: float | None = None  # a chunk: stop after this much wall clock, evaluation and export included
    reserve_minutes: float = 3.0  # of ``minutes``, kept for the final evaluation, saving and export
    chunk_steps: int | None = None  # a chunk of this many steps (tests; ``minutes`` is the wall-clock cap)
    export: Path | None = None  # the fp16 Hub folder (with training_state.json) written at the end of a chunk
    size: ModelSize = field(default_factory=ModelSize)
    train: TrainSettings = field(default_factory=TrainSettings)

    @property
    def steps(self) -> int:
        return -(-self.tokens // (self.batch_tokens * self.train.accum))


def build_config(settings: PretrainSettings, vocab_size: int) -> XLMConfig:
    lang2id = {lang: i for i, lang in enumerate(sorted(settings.langs))}
    causal = settings.objectives == ("clm",)
    return XLMConfig(
        vocab_size=vocab_size,
        n_langs=len(lang2id),
        lang2id=lang2id,
        id2lang={i: lang for lang, i in lang2id.items()},
        causal=causal,
        use_lang_emb=True,
        gelu_activation=True,
        embed_init_std=settings.size.emb_dim**-0.5,
        **asdict(settings.size),
    )


def make_tokenizer(vocab_dir: Path, config: XLMConfig) -> XLMTokenizer:
    return XLMTokenizer(
        Path(vocab_dir) / "vocab.json",
        Path(vocab_dir) / "merges.txt",
        do_lowercase_and_remove_accent=False,  # Hindi and Thai vowel signs are combining marks: keep them
        # Sentences start with </s> in training, as in the original XLM; saying so in the tokenizer config makes
        # every pipeline (and transformers' XLMTokenizer) build the same `</s> text </s>` layout.
        bos_token="</s>",
        lang2id=config.lang2id,
        id2lang=config.id2lang,
        model_max_length=config.max_position_embeddings,
    )


def load_pools(
    tok_dir: Path,
    encoder: Encoder,
    lang2id: dict[str, int],
    max_len: int,
    with_pairs: bool,
    shuffle_seed: int | None = None,
) -> tuple[dict[int, LengthSorted], dict[int, LengthSorted]]:
    """The length-sorted sentence pools (and pair pools with English) of every language; ``shuffle_seed``: equal
    lengths in a random order (see :class:`LengthSorted`)."""
    mono, pairs = {}, {}
    for lang in tqdm(sorted(lang2id), desc="encoding", unit="lang"):
        mono[lang2id[lang]] = LengthSorted(
            encoder.lines(Path(tok_dir) / f"mono.{lang}.train.txt"), max_len, shuffle_seed=shuffle_seed
        )
        path = Path(tok_dir) / f"para.{lang}.train.tsv"
        if with_pairs and path.is_file():
            pairs[lang2id[lang]] = LengthSorted(
                encoder.pairs(path), max_len, pairs=True, shuffle_seed=shuffle_seed
            )
    return mono, pairs


def pretrain(settings: PretrainSettings) -> Path:
    """Train and write ``out/model`` (config, weights, tokenizer, ``training.json``); return that folder.

    ``out`` holds the run state (``checkpoint.pt``: fp32 weights, optimizer, RNG, step = data cursor); a run
    continues from it, or, when it is gone, from ``export``'s weights and ``training_state.json`` (optimizer
    moments restarted, with ``rewarm`` warm-up steps). With ``minutes`` or ``chunk_steps`` only a chunk of the
    run is trained; the learning-rate schedule always spans the whole token budget."""
    started = time.monotonic()
    stop = _chunk_stop(settings, started)
    torch.manual_seed(settings.train.seed)
    encoder = Encoder(settings.vocab)
    config = build_config(settings, len(encoder.vocab))
    tok_dir = Path(settings.corpus) / "tok"
    mono, pairs = load_pools(
        tok_dir, encoder, config.lang2id, settings.max_len, "tlm" in settings.objectives,
        shuffle_seed=settings.train.seed if settings.mix > 1 else None,
    )  # fmt: skip
    model = (  # trained in float32, also when the init is an fp16 export
        XLMWithLMHeadModel.from_pretrained(settings.init, config=config, dtype=torch.float32)
        if settings.init
        else XLMWithLMHeadModel(config)
    )
    if config.sinusoidal_embeddings:
        model.base_model.position_embeddings.weight.requires_grad_(False)
    train = replace(settings.train, steps=settings.steps)
    trainer = Trainer(model, train, settings.out)
    if trainer.step == 0 and settings.export and (Path(settings.export) / STATE_FILE).is_file():
        resume_from_export(trainer, Path(settings.export))
    record_interrupted_chunk(trainer)
    if stop is not None and trainer.progress >= 1.0:
        print(
            f"the run's token budget is spent ({trainer.step:,} of {train.steps:,} steps): nothing to train "
            "(a larger --tokens continues it)"
        )
        return Path(settings.out) / "model"
    sampler = BatchSampler(
        mono, pairs, config.lang2id["en"], config.vocab_size, settings.batch_tokens,
        tlm_share=settings.tlm_share if "tlm" in settings.objectives else 0.0,
        alpha=settings.alpha, causal=config.causal, seed=train.seed * 1000 + trainer.rank, mix=settings.mix,
    )  # fmt: skip
    fixed = valid_batches(tok_dir, encoder, config, train.seed)

    def on_eval(_: int) -> dict:
        return {name: evaluate_lm(model, iter(b), train.bf16) for name, b in fixed.items()}

    first_step, first_tokens, first_elapsed = trainer.step, trainer.tokens, trainer.elapsed
    history = trainer.train(sampler, on_eval if trainer.rank == 0 else None, settings.eval_every, stop)
    chunk = {
        "started": time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime(time.time() - (time.monotonic() - started))
        ),
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "wall_minutes": (time.monotonic() - started) / 60,
        "train_minutes": (trainer.elapsed - first_elapsed) / 60,
        "steps": [first_step, trainer.step],
        "tokens": [first_tokens, trainer.tokens],
        "restarted_from_export": trainer.rewarm_from == first_step and first_step > 0,
    }
    chunk["tokens_per_s"] = (trainer.tokens - first_tokens) / max(trainer.elapsed - first_elapsed, 1e-9)
    trainer.meta["chunks"] = [*trainer.meta.get("chunks", []), chunk]
    trainer.save_checkpoint()
    folder = Path(settings.out) / "model"
    if trainer.rank == 0:
        model.save_pretrained(folder)
        make_tokenizer(settings.vocab, config).save_pretrained(folder)
        record = {
            "settings": _jsonable(asdict(settings)),
            "steps": train.steps,
            "corpus_tokens": {config.id2lang[k]: p.tokens for k, p in mono.items()},
            "pair_tokens": {config.id2lang[k]: p.tokens for k, p in pairs.items()},
            "history": history,
            "base": base_snapshot(settings.init),
        }
        (folder / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if settings.export:
            export_chunk(folder, Path(settings.export), training_state(trainer, settings))
    return folder


STATE_FILE = "training_state.json"


def base_snapshot(base: Path | None) -> dict:
    """Where a model started from: an exported base's name, steps and tokens seen (empty when ``base`` is not
    one), so a fine-tuned head's card can say which point of the base's run it was trained on."""
    if base is None or not (Path(base) / STATE_FILE).is_file():
        return {}
    state = json.loads((Path(base) / STATE_FILE).read_text(encoding="utf-8"))
    return {"name": Path(base).name, "steps": state["steps"], "tokens_seen": state["tokens_seen"]}


def record_interrupted_chunk(trainer: Trainer) -> None:
    """A chunk ended before its export (killed: a session stopped, a machine lost) still trained the steps since
    the last chunk up to its last saved state; they join the list of chunks from what that state knows (no wall
    clock, the training minutes instead)."""
    chunks = trainer.meta.get("chunks", [])
    if not chunks or chunks[-1]["steps"][1] >= trainer.step:
        return
    last = chunks[-1]
    minutes = next(h["minutes"] for h in trainer.history if h["step"] == last["steps"][1])
    train_minutes = trainer.elapsed / 60 - minutes
    chunks.append(
        {
            "started": "unknown",
            "cpu": cpu_name(),  # the killed chunk wrote the state on this machine's disk: it ran here
            "threads": None,
            "wall_minutes": train_minutes,
            "train_minutes": train_minutes,
            "steps": [last["steps"][1], trainer.step],
            "tokens": [last["tokens"][1], trainer.tokens],
            "restarted_from_export": False,
            "interrupted": True,
            "tokens_per_s": (trainer.tokens - last["tokens"][1]) / max(60 * train_minutes, 1e-9),
        }
    )


def _chunk_stop(settings: PretrainSettings, started: float):
    """The ``stop()`` of a chunk: after ``chunk_steps`` steps of this process or when the wall clock leaves only
    ``reserve_minutes`` of ``minutes``; None for a whole run."""
    if settings.minutes is None and settings.chunk_steps is None:
        return None
    deadline = started + 60 * (settings.minutes - settings.reserve_minutes) if settings.minutes else None
    steps = {"done": 0}

    def stop() -> bool:
        steps["done"] += 1
        by_steps = settings.chunk_steps is not None and steps["done"] >= settings.chunk_steps
        return by_steps or (deadline is not None and time.monotonic() >= deadline)

    return stop


def training_state(trainer: Trainer, settings: PretrainSettings) -> dict:
    """What the next chunk needs to continue the run from the exported weights alone, and the curve so far."""
    s = trainer.settings
    return {
        "steps": trainer.step,
        "tokens_seen": trainer.tokens,
        "train_minutes": trainer.elapsed / 60,
        "schedule": {
            "token_budget": settings.tokens,
            "total_steps": s.steps,
            "batch_tokens": settings.batch_tokens,
            "accum": s.accum,
            "lr": s.lr,
            "warmup": s.warmup,
            "decay": "linear to 10% of the peak at the last step",
            "decay_from": (
                {"step": trainer.decay_from[0], "factor": trainer.decay_from[1]}
                if trainer.decay_from
                else None
            ),
            "rewarm": s.rewarm,
            "rewarm_from": trainer.rewarm_from,
            "position": trainer.step / s.steps,
        },
        "data_cursor": {"next_batch": trainer.step * s.accum * trainer.world, "seed": s.seed},
        "recipe": _jsonable(asdict(replace(settings, minutes=None, chunk_steps=None, export=None))),
        "chunks": trainer.meta.get("chunks", []),
        "curve": [
            {k: h[k] for k in ("step", "tokens", "loss", "lr", "eval") if k in h}
            for h in trainer.history
            if "eval" in h
        ],
        "history": trainer.history,
    }


def export_chunk(model_dir: Path, export: Path, state: dict) -> None:
    """The run's model in fp16 Hub format plus ``training_state.json``."""
    from .cards import export_weights

    export_weights(model_dir, export)
    (export / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def resume_from_export(trainer: Trainer, folder: Path) -> None:
    """Continue a run whose state is gone from its exported weights: same step, tokens, curve and schedule;
    fresh optimizer moments, so the learning rate warms up again over ``rewarm`` steps."""
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    weights = XLMWithLMHeadModel.from_pretrained(folder).state_dict()
    trainer.model.load_state_dict({k: v.float() for k, v in weights.items()})
    trainer.step, trainer.tokens = state["steps"], state["tokens_seen"]
    trainer.elapsed = 60 * state["train_minutes"]
    trainer.history = state["history"]
    trainer.meta["chunks"] = state["chunks"]
    trainer.rewarm_from = trainer.step
    decay_from = state["schedule"].get("decay_from")
    trainer.decay_from = (decay_from["step"], decay_from["factor"]) if decay_from else None
    trainer.continue_schedule(state["schedule"]["total_steps"])
    torch.manual_seed(trainer.settings.seed + trainer.step)


def cpu_name() -> str:
    """The CPU's model name (for the curve: tokens/s depend on it)."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def valid_batches(tok_dir: Path, encoder: Encoder, config: XLMConfig, seed: int) -> dict[str, list]:
    """Fixed validation batches from the NTREX validation block: each language's sentences alone (MLM, or CLM for
    a causal model) and, for MLM models, with the English in front (TLM)."""
    out = {}
    en_id = config.lang2id["en"]
    for lang in sorted(config.lang2id):
        path = Path(tok_dir) / f"para.{lang}.valid.tsv"
        if not path.is_file():
            continue
        rows = [(e[:126], x[:126]) for e, x in encoder.pairs(path) if e and x]
        lang_id = config.lang2id[lang]
        if config.causal:
            out[lang] = causal_batches([x for _, x in rows], lang_id)
            continue
        out[lang] = masked_batches(rows, en_id, lang_id, seed, with_source=False)
        out[f"{lang}+en"] = masked_batches(rows, en_id, lang_id, seed, with_source=True)
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def measure_speed(
    settings: PretrainSettings, sizes: list[ModelSize], steps: int = 12, compile_model: bool = False
) -> list[dict]:
    """Training tokens/s of each model size on the real batches (the first two steps are warm-up, not timed)."""
    encoder = Encoder(settings.vocab)
    config = build_config(settings, len(encoder.vocab))
    tok_dir = Path(settings.corpus) / "tok"
    mono, pairs = load_pools(tok_dir, encoder, config.lang2id, settings.max_len, True)
    sampler = BatchSampler(
        mono, pairs, config.lang2id["en"], config.vocab_size, settings.batch_tokens, settings.tlm_share
    )
    results = []
    for size in sizes:
        settings = replace(settings, size=size)
        model = XLMWithLMHeadModel(build_config(settings, len(encoder.vocab)))
        loss_module = MaskedLMLoss(model)
        if compile_model:
            loss_module = torch.compile(loss_module, dynamic=True)
        optimizer = make_optimizer(model, settings.train)
        tokens, seconds = 0, 0.0
        for k in range(steps):
            batch = sampler(k)
            started = time.perf_counter()
            with autocast(torch.device("cpu"), settings.train.bf16):
                loss, _, _ = loss_module(**batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if k >= 2:
                seconds += time.perf_counter() - started
                tokens += int(batch["attention_mask"].sum())
        n_params = sum(p.numel() for p in model.parameters())
        n_embed = model.get_input_embeddings().weight.numel()
        results.append(
            {
                **asdict(size),
                "params": n_params,
                "non_embedding_params": n_params - n_embed,
                "tokens_per_s": tokens / seconds,
                "compiled": compile_model,
                "bf16": settings.train.bf16,
                "threads": torch.get_num_threads(),
            }
        )
        tqdm.write(str(results[-1]))
    return results
