"""Pre-training an XLM language model (MLM, MLM+TLM or CLM) on the prepared corpus, saved in Hub format."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from xlm import XLMConfig, XLMTokenizer, XLMWithLMHeadModel

from .batches import BatchMaker
from .data import Encoder, load_pairs, load_streams
from .evaluate import mlm_batches, stream_batches
from .trainer import Trainer, TrainSettings, evaluate_lm


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
    objectives: tuple[str, ...] = ("mlm", "tlm")  # any of mlm, tlm, clm (clm alone makes a causal model)
    langs: tuple[str, ...] = ("de", "en", "es", "fr", "it", "pt", "ru", "tr", "zh")
    batch_size: int = 16  # streams of seq_len tokens (MLM/CLM)
    tlm_batch_size: int = 48  # sentence pairs
    seq_len: int = 256
    alpha: float = 0.5
    max_lines: int | None = None  # per language, for MLM/CLM streams
    max_pairs: int | None = None  # per language pair, for TLM
    eval_every: int = 500
    size: ModelSize = field(default_factory=ModelSize)
    train: TrainSettings = field(default_factory=TrainSettings)


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
        do_lowercase_and_remove_accent=True,
        # Sentences start with </s> in training, as in the original XLM; saying so in the tokenizer config makes
        # every pipeline (and transformers' XLMTokenizer) build the same `</s> text </s>` layout.
        bos_token="</s>",
        lang2id=config.lang2id,
        id2lang=config.id2lang,
        model_max_length=config.max_position_embeddings,
    )


def pretrain(settings: PretrainSettings) -> Path:
    """Train and write ``out/model`` (config, weights, tokenizer, ``training.json``); return that folder."""
    torch.manual_seed(settings.train.seed)
    encoder = Encoder(settings.vocab)
    config = build_config(settings, len(encoder.vocab))
    tok_dir = Path(settings.corpus) / "tok"
    streams = load_streams(tok_dir, encoder, config.lang2id, settings.max_lines)
    pairs = (
        load_pairs(tok_dir, encoder, config.lang2id, "train", settings.max_pairs)
        if "tlm" in settings.objectives
        else {}
    )
    valid = load_pairs(tok_dir, encoder, config.lang2id, "valid")
    model = XLMWithLMHeadModel(config)
    if config.sinusoidal_embeddings:
        model.transformer.position_embeddings.weight.requires_grad_(False)
    trainer = Trainer(model, settings.train, settings.out)
    maker = BatchMaker(streams, pairs, config.vocab_size, settings.seq_len, settings.alpha, seed=0)
    maker.reseed(settings.train.seed * 1000 + trainer.rank + 7919 * trainer.step)  # fresh stream on resume
    objectives = itertools.cycle(settings.objectives)

    def next_batch(_: int) -> dict[str, torch.Tensor]:
        objective = next(objectives)
        if objective == "tlm":
            return maker.tlm_batch(settings.tlm_batch_size)
        make = maker.clm_batch if objective == "clm" else maker.mlm_batch
        return make(settings.batch_size)

    fixed = valid_batches(valid, config, settings.train.seed)

    def on_eval(_: int) -> dict:
        return {lang: evaluate_lm(model, iter(b), settings.train.bf16) for lang, b in sorted(fixed.items())}

    start = time.time()
    history = trainer.train(next_batch, on_eval if trainer.rank == 0 else None, settings.eval_every)
    minutes = (time.time() - start) / 60
    folder = Path(settings.out) / "model"
    if trainer.rank == 0:
        model.save_pretrained(folder)
        make_tokenizer(settings.vocab, config).save_pretrained(folder)
        record = {"settings": _jsonable(asdict(settings)), "minutes_this_run": minutes, "history": history}
        (folder / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return folder


def valid_batches(valid: dict, config: XLMConfig, seed: int) -> dict[str, list[dict[str, torch.Tensor]]]:
    """Fixed validation batches per language from the valid pairs (English: every distinct English side)."""
    sentences: dict[int, dict[tuple[int, ...], None]] = {}
    for (en, xx), rows in sorted(valid.items()):
        sentences[xx] = dict.fromkeys(tuple(r[1]) for r in rows)
        sentences.setdefault(en, {}).update(dict.fromkeys(tuple(r[0]) for r in rows))
    out = {}
    for lang, sents in sentences.items():
        ids = [list(s) for s in sents]
        if config.causal:
            out[config.id2lang[lang]] = stream_batches(ids, lang, causal=True)
        else:
            out[config.id2lang[lang]] = mlm_batches(ids, lang, config.vocab_size, seed)
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value) if isinstance(value, Path) else value
