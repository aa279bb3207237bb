"""CLM / MLM / TLM batches: layout, masking statistics and language sampling."""

import numpy as np
import pytest
import torch

from xlm.train.batches import (
    EOS,
    IGNORE,
    MASK,
    N_SPECIAL,
    PAD,
    BatchMaker,
    make_stream,
    mask_tokens,
    sampling_probs,
    tlm_example,
)


def test_tlm_example_layout():
    ids, langs, pos = tlm_example([20, 21, 22], [30, 31], src_lang=1, tgt_lang=4)
    assert ids == [EOS, 20, 21, 22, EOS, EOS, 30, 31, EOS]
    assert langs == [1, 1, 1, 1, 1, 4, 4, 4, 4]
    assert pos == [0, 1, 2, 3, 4, 0, 1, 2, 3]  # positions restart at 0 for the translation


def test_tlm_batch_positions_langs_and_padding():
    pairs = {(0, 3): [([20, 21, 22], [30, 31]), ([40], [50, 51, 52, 53])]}
    maker = BatchMaker(streams={0: np.arange(20, 60)}, pairs=pairs, vocab_size=100, seed=1)
    batch = maker.tlm_batch(16)
    for row in range(16):
        n = int(batch["attention_mask"][row].sum())
        assert (batch["input_ids"][row, n:] == PAD).all()
        langs, pos = batch["langs"][row, :n].tolist(), batch["position_ids"][row, :n].tolist()
        first = langs[0]
        split = langs.index(3 if first == 0 else 0)  # where the second side starts
        assert set(langs[:split]) == {first} and len(set(langs[split:])) == 1
        assert pos[:split] == list(range(split)) and pos[split:] == list(range(n - split))
    assert {batch["langs"][r, 0].item() for r in range(16)} == {0, 3}  # both orders occur


def test_masking_statistics():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(N_SPECIAL, 1000, (400, 256), generator=gen)
    ids[:, ::16] = EOS  # special tokens are never chosen
    masked, labels = mask_tokens(ids, 1000, gen)
    chosen = labels != IGNORE
    maskable = ids >= N_SPECIAL
    assert not chosen[~maskable].any()
    assert chosen.sum() / maskable.sum() == pytest.approx(0.15, abs=0.005)
    assert (labels[chosen] == ids[chosen]).all()
    n = chosen.sum().item()
    as_mask = (masked[chosen] == MASK).sum().item() / n
    kept = (masked[chosen] == ids[chosen]).sum().item() / n
    randomised = 1 - as_mask - kept
    assert as_mask == pytest.approx(0.8, abs=0.01)
    # A random replacement equals the original 1 time in 986: "kept" is 10% plus that sliver.
    assert kept == pytest.approx(0.1, abs=0.01) and randomised == pytest.approx(0.1, abs=0.01)
    assert (masked[~chosen] == ids[~chosen]).all()


def test_sampling_probabilities():
    # Worked by hand: counts 90/10 -> p = 0.9/0.1; alpha 0.5 -> sqrt: 0.9487/0.3162 -> 0.75/0.25.
    assert sampling_probs([90, 10], 0.5) == pytest.approx([0.75, 0.25], abs=1e-4)
    assert sampling_probs([90, 10], 1.0) == pytest.approx([0.9, 0.1])


def test_streams_and_clm_mlm_batches():
    stream = make_stream([[20, 21], [22], [23, 24, 25]])
    assert stream.tolist() == [20, 21, EOS, 22, EOS, 23, 24, 25, EOS]
    maker = BatchMaker(streams={2: np.arange(14, 1014)}, pairs={}, vocab_size=2000, seq_len=64, seed=0)
    clm = maker.clm_batch(4)
    assert clm["input_ids"].shape == (4, 64) and (clm["labels"] == clm["input_ids"]).all()
    assert (clm["langs"] == 2).all() and (clm["position_ids"][1] == torch.arange(64)).all()
    # Windows are contiguous slices of the stream.
    assert (clm["input_ids"].diff(dim=1) == 1).all()
    mlm = maker.mlm_batch(4)
    assert (mlm["labels"] != IGNORE).any() and mlm["input_ids"].shape == (4, 64)


def test_same_seed_same_batches():
    def make():
        return BatchMaker(
            streams={0: np.arange(14, 500), 1: np.arange(14, 300)}, pairs={}, vocab_size=600, seed=5
        )

    a, b = make().mlm_batch(3), make().mlm_batch(3)
    assert all(torch.equal(a[k], b[k]) for k in a)
