"""CLM / MLM / TLM batches: layout, masking statistics and language sampling."""

import numpy as np
import pytest
import torch

from xlm.train.batches import (
    EOS,
    IGNORE,
    MASK,
    N_SPECIAL,
    BatchSampler,
    LengthSorted,
    mask_tokens,
    sampling_probs,
    tlm_example,
)


def test_tlm_example_layout():
    ids, langs, pos = tlm_example([20, 21, 22], [30, 31], src_lang=1, tgt_lang=4)
    assert ids == [EOS, 20, 21, 22, EOS, EOS, 30, 31, EOS]
    assert langs == [1, 1, 1, 1, 1, 4, 4, 4, 4]
    assert pos == [0, 1, 2, 3, 4, 0, 1, 2, 3]  # positions restart at 0 for the translation


def _pools(seed: int = 0):
    rng = np.random.default_rng(seed)
    sentences = [rng.integers(N_SPECIAL, 100, size=rng.integers(1, 40)).tolist() for _ in range(300)]
    pairs = [(s, rng.integers(N_SPECIAL, 100, size=rng.integers(1, 30)).tolist()) for s in sentences[:120]]
    return sentences, pairs


def test_length_sorted_pools_keep_every_example_and_sort_them():
    sentences, pairs = _pools()
    mono = LengthSorted(sentences, max_len=32)
    assert len(mono) == 300 and (np.diff(mono.sizes) >= 0).all()
    got = sorted(tuple(mono.example(i)[0]) for i in range(len(mono)))
    assert got == sorted(tuple(s[:30]) for s in sentences)  # cut to max_len - 2 (room for the two </s>)
    both = LengthSorted(pairs, max_len=32, pairs=True)
    got = sorted(tuple(map(tuple, both.example(i))) for i in range(len(both)))
    assert got == sorted((tuple(a[:14]), tuple(b[:14])) for a, b in pairs)


def test_length_sorted_window_fits_the_token_budget():
    mono = LengthSorted(_pools()[0])
    for start in (0, 50, 299):
        rows = mono.window(start, max_tokens=256)
        assert len(rows) >= 1 and rows.stop <= len(mono)
        assert len(rows) * mono.sizes[rows.stop - 1] <= 256 or len(rows) == 1


def test_sampler_batches_are_a_function_of_the_step():
    sentences, pairs = _pools()
    mono = {0: LengthSorted(sentences), 3: LengthSorted(sentences[:50])}
    sampler = BatchSampler(mono, {3: LengthSorted(pairs, pairs=True)}, en_id=0, vocab_size=100, max_tokens=512,
                           tlm_share=0.5, seed=7)  # fmt: skip
    again = BatchSampler(mono, {3: LengthSorted(pairs, pairs=True)}, en_id=0, vocab_size=100, max_tokens=512,
                         tlm_share=0.5, seed=7)  # fmt: skip
    for k in (0, 5, 1000):  # a resumed run (a new sampler) draws the same batch k, in any order
        a, b = sampler(k), again(k)
        assert a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)
    tlm = mlm = 0
    for k in range(40):
        batch = sampler(k)
        n = batch["attention_mask"].sum(1)
        assert batch["input_ids"].numel() <= 512 or len(n) == 1
        padding = 1 - n.sum().item() / batch["attention_mask"].numel()
        assert padding < 0.35  # neighbours in a length-sorted pool are nearly as long
        if batch["langs"][batch["attention_mask"] == 1].unique().numel() == 2:  # TLM: two languages
            tlm += 1
            row = batch["position_ids"][0, : n[0]].tolist()
            assert row.count(0) == 2
        else:
            mlm += 1
            assert (batch["position_ids"][:, 0] == 0).all() and (batch["input_ids"][:, 0] == EOS).all()
        assert ((batch["labels"] != IGNORE) <= (batch["attention_mask"] == 1)).all()
    assert tlm > 5 and mlm > 5


def test_causal_batches_label_every_real_token():
    sampler = BatchSampler({0: LengthSorted(_pools()[0])}, {}, en_id=0, vocab_size=100, causal=True)
    batch = sampler(3)
    real = batch["attention_mask"] == 1
    assert (batch["labels"][real] == batch["input_ids"][real]).all() and (
        batch["labels"][~real] == IGNORE
    ).all()


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


def test_shuffled_ties_keep_every_example_sorted_by_length_in_another_order():
    sentences = [[N_SPECIAL + i % 50] * (1 + i % 3) for i in range(300)]  # many examples of each length
    plain, shuffled = LengthSorted(sentences), LengthSorted(sentences, shuffle_seed=1)
    assert (np.diff(shuffled.sizes) >= 0).all() and (shuffled.sizes == plain.sizes).all()
    as_list = [shuffled.example(i)[0] for i in range(len(shuffled))]
    assert sorted(map(tuple, as_list)) == sorted(map(tuple, sentences))
    assert as_list != [plain.example(i)[0] for i in range(len(plain))]
    assert as_list == [LengthSorted(sentences, shuffle_seed=1).example(i)[0] for i in range(len(plain))]


def test_mixed_batches_hold_several_languages_of_similar_length():
    mono = {lang: LengthSorted(_pools(lang)[0], shuffle_seed=0) for lang in range(6)}
    sampler = BatchSampler(mono, {}, en_id=0, vocab_size=100, max_tokens=1024, mix=4)
    n_langs, spreads = [], []
    for k in range(20):
        batch = sampler(k)
        assert torch.equal(batch["input_ids"], sampler(k)["input_ids"])  # still a function of the step
        assert batch["attention_mask"].sum() <= 1024 and batch["input_ids"].numel() <= 1.25 * 1024
        first = batch["langs"][:, 0]
        n_langs.append(len(set(first.tolist())))
        lengths = batch["attention_mask"].sum(1).float()
        spreads.append(float(lengths.max() - lengths.min()))
    assert max(n_langs) >= 3 and np.mean(n_langs) > 2
    assert np.median(spreads) <= 4  # one row length for the batch: similar rows, little padding
