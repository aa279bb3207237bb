"""Heads fine-tuned with frozen word embeddings, and their checkpoints sharing those embeddings through a link:
the embeddings do not move, the linked two-shard folder loads (ours and transformers) to the very weights that
were saved, equal embeddings are stored once, and files nobody links to any more are pruned."""

import os

import pytest
import torch
from safetensors import safe_open

from xlm.loading import load_model
from xlm.models.xlm.configuration import XLMConfig
from xlm.models.xlm.modeling import XLMForSequenceClassification, XLMForTokenClassification
from xlm.train.finetune import HeadLoss, _collate_labelled
from xlm.train.sharing import OWN_SHARD, SHARED_SHARD, prune_shared, save_sharing_embeddings
from xlm.train.trainer import Trainer, TrainSettings

KEY = "transformer.embeddings.weight"


def tiny_config(**kwargs) -> XLMConfig:
    return XLMConfig(
        vocab_size=30, emb_dim=16, n_layers=1, n_heads=2, max_position_embeddings=16, n_langs=1,
        dropout=0.0, attention_dropout=0.0, **kwargs,
    )  # fmt: skip


def test_frozen_embeddings_stay_while_the_rest_learns(tmp_path):
    torch.manual_seed(0)
    model = XLMForSequenceClassification(tiny_config(id2label={0: "a", 1: "b"}))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = _collate_labelled([([0, 14, 15, 1], 0), ([0, 20, 21, 1], 1)])
    settings = TrainSettings(
        steps=20, lr=1e-2, warmup=2, bf16=False, log_every=1000, save_every=1000, freeze_embeddings=True
    )
    Trainer(model, settings, tmp_path, loss_module=HeadLoss(model), progress=False).train(lambda _: batch)
    after = model.state_dict()
    assert torch.equal(after[KEY], before[KEY])
    moved = [k for k in after if k != KEY and not torch.equal(after[k], before[k])]
    assert "transformer.position_embeddings.weight" in moved and "sequence_summary.summary.weight" in moved


def _saved_head(cls, folder, shared, seed: int, embeddings: torch.Tensor, **config):
    torch.manual_seed(seed)
    model = cls(tiny_config(**config)).eval()
    model.get_input_embeddings().weight.data.copy_(embeddings)
    model.save_pretrained(folder)  # config.json; the weights are replaced below
    (folder / "model.safetensors").unlink()
    state = {k: v.half() for k, v in model.state_dict().items()}
    return state, save_sharing_embeddings(state, folder, shared)


def test_linked_checkpoints_load_to_the_saved_weights_and_share_one_file(tmp_path):
    import transformers

    shared = tmp_path / "shared"
    embeddings = torch.randn(30, 16)
    tagger, first = _saved_head(
        XLMForTokenClassification, tmp_path / "tagger", shared, 1, embeddings, num_labels=3
    )
    classifier, second = _saved_head(
        XLMForSequenceClassification, tmp_path / "classifier", shared, 2, embeddings, num_labels=2
    )
    assert first == second and sorted(shared.iterdir()) == [first]  # equal embeddings: one file
    for name, cls, state in (
        ("tagger", XLMForTokenClassification, tagger),
        ("classifier", XLMForSequenceClassification, classifier),
    ):
        folder = tmp_path / name
        assert (folder / SHARED_SHARD).is_symlink() and not os.path.isabs(os.readlink(folder / SHARED_SHARD))
        with safe_open(folder / OWN_SHARD, "pt") as f:
            assert sorted(f.keys()) == sorted(k for k in state if k != KEY)
        ours = load_model(cls, folder).state_dict()
        theirs = getattr(transformers, cls.__name__).from_pretrained(folder, dtype=torch.float16).state_dict()
        for key, value in state.items():
            assert torch.equal(ours[key], value.float()), key
            assert torch.equal(theirs[key], value), key

    other = torch.randn(30, 16)
    _, third = _saved_head(XLMForTokenClassification, tmp_path / "tagger", shared, 3, other, num_labels=3)
    assert third != first and sorted(shared.iterdir()) == sorted([first, third])
    assert prune_shared(tmp_path, shared) == []  # the classifier still links the first
    (tmp_path / "classifier" / SHARED_SHARD).unlink()
    assert prune_shared(tmp_path, shared) == [first] and sorted(shared.iterdir()) == [third]


def test_refuses_a_state_without_the_embeddings(tmp_path):
    with pytest.raises(KeyError):
        save_sharing_embeddings({"other.weight": torch.zeros(2)}, tmp_path / "m", tmp_path / "shared")
