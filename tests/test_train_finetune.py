"""Fine-tuning helpers: QA windows and scores, tagged-sentence encoding, and a head that learns via the trainer."""

import pytest
import torch

from xlm.models.xlm.configuration import XLMConfig
from xlm.models.xlm.modeling import XLMForSequenceClassification
from xlm.models.xlm.tokenization import XLMTokenizer
from xlm.train.batches import IGNORE
from xlm.train.finetune import (
    HeadLoss,
    _collate_labelled,
    encode_tagged,
    qa_features,
    qa_scores,
    read_conll,
)
from xlm.train.trainer import Trainer, TrainSettings


@pytest.fixture(scope="module")
def tokenizer(shared_data):
    folder = shared_data / "xlm-mlm-ende-1024"
    return XLMTokenizer.from_pretrained(folder)


def test_qa_scores_by_hand():
    assert qa_scores("the Eiffel Tower", ["Eiffel tower"], "en") == (1.0, 1.0)  # article and case ignored
    # [in, paris, france] vs [paris]: precision 1/3, recall 1 -> F1 = 2 * (1/3) / (4/3) = 0.5
    assert qa_scores("in Paris, France", ["Paris"], "en") == (0.0, pytest.approx(0.5))
    # Chinese is scored by characters: 北京市 vs 北京 -> precision 2/3, recall 1 -> F1 0.8
    assert qa_scores("北京市", ["北京"], "zh") == (0.0, pytest.approx(0.8))
    assert qa_scores("nothing", ["else", "Nothing"], "en") == (1.0, 1.0)  # best of the gold answers


def test_qa_windows_hold_the_answer(tokenizer):
    context = " ".join(f"Sentence number {i} talks about something." for i in range(40))
    context += " The treaty was signed in Lisbon in 2007. " + context
    answer = "Lisbon"
    start = context.index(answer)
    features = qa_features(
        tokenizer, "Where was it signed?", context, "en", (start, start + len(answer)), max_len=64
    )
    assert features  # some windows hold the answer; the others are left out for training
    all_windows = qa_features(tokenizer, "Where was it signed?", context, "en", max_len=64)
    assert len(all_windows) > len(features)
    for f in features:
        ids, offsets = f.window.input_ids, f.window.offsets
        assert len(ids) <= 64 and ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.sep_token_id
        s, e = offsets[f.start - f.window.ctx_start], offsets[f.end - f.window.ctx_start]
        assert context[s[0] : e[1]] == answer
    # Windows overlap by half, so together they cover every context token.
    covered = {span for f in all_windows for span in f.window.offsets}
    assert len(covered) == len(tokenizer(context, lang="en", add_special_tokens=False)["input_ids"])


def test_read_conll_and_tag_alignment(tmp_path, tokenizer):
    path = tmp_path / "ner.tsv"
    path.write_text(
        "# comment\n1\tAngela\tB-PER\tO\n2\tMerkels\tB-PERderiv\tO\n3\tRegierung\tO\tO\n\n1\tBerlin\tB-LOC\tO\t\n"
    )
    sentences = read_conll(path)
    assert sentences == [
        (["Angela", "Merkels", "Regierung"], ["B-PER", "B-PERderiv", "O"]),
        (["Berlin"], ["B-LOC"]),
    ]
    label2id = {"B-LOC": 0, "B-PER": 1, "B-PERderiv": 2, "O": 3}
    ids, langs, labels = encode_tagged(tokenizer, sentences[0], label2id, "de")
    assert len(ids) == len(langs) == len(labels) and labels[0] == labels[-1] == IGNORE
    tagged = [label for label in labels if label != IGNORE]
    assert tagged == [1, 2, 3]  # one label per word, on its first piece
    pieces = [len(tokenizer.encode(w, lang="de", add_special_tokens=False)) for w in sentences[0][0]]
    assert len(ids) == 2 + sum(pieces)


def test_sequence_classifier_learns_through_the_trainer(tmp_path):
    torch.manual_seed(0)
    config = XLMConfig(
        vocab_size=30,
        emb_dim=16,
        n_layers=1,
        n_heads=2,
        max_position_embeddings=16,
        n_langs=1,
        dropout=0.0,
        attention_dropout=0.0,
        id2label={0: "a", 1: "b"},
    )
    model = XLMForSequenceClassification(config)
    examples = [([0, 14, 15, 16, 1], 0), ([0, 20, 21, 1], 1), ([0, 14, 16, 1], 0), ([0, 21, 22, 23, 1], 1)]
    batch = _collate_labelled(examples)
    settings = TrainSettings(steps=60, lr=1e-2, warmup=5, bf16=False, log_every=1000, save_every=1000)
    Trainer(model, settings, tmp_path, loss_module=HeadLoss(model), progress=False).train(lambda _: batch)
    model.eval()
    with torch.no_grad():
        predicted = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.argmax(
            -1
        )
    assert predicted.tolist() == [0, 1, 0, 1]
