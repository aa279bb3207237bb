"""Saliency: gradient × input against transformers' gradient on the same weights (fill-mask, QA span and class, XLM
and XLM-R), attention rollout against a numpy computation from transformers' attentions, shapes and sums."""

import numpy as np
import pytest
import torch
import transformers
from _tolerance import assert_rounding_equal

from xlm.errors import InputError
from xlm.pipelines.inputs import MAX_SALIENCY_CHARS as MAX_CHARS
from xlm.pipelines.saliency import SaliencyPipeline, attention_rollout

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QA = {
    "question": "Who built the tower ?",
    "context": "The tower was built by Gustave Eiffel for the fair of 1889 in Paris .",
}


def _rollout(attentions: list[np.ndarray]) -> np.ndarray:
    """Abnar & Zuidema's rollout, written out in numpy: heads averaged, identity added, rows renormalised."""
    n = attentions[0].shape[-1]
    result = np.eye(n)
    for layer in attentions:
        mixed = 0.5 * layer.mean(0) + 0.5 * np.eye(n)
        result = (mixed / mixed.sum(-1, keepdims=True)) @ result
    return result


def _gradient_x_input(embed: torch.nn.Module, ids: torch.Tensor, score) -> tuple[torch.Tensor, float, list]:
    """transformers' side: the score's gradient on the word embeddings × the embeddings, summed over dim."""
    embeds = embed(ids).detach().requires_grad_(True)
    value, attentions = score(embeds)
    value.backward()
    per_token = (embeds.grad * embeds.detach()).sum(-1)[0]
    return per_token, float(value.detach()), [a[0].detach().double().numpy() for a in attentions]


def _check(result: dict, theirs: tuple[torch.Tensor, float, list]) -> None:
    gxi, objective, attentions = theirs
    n = len(result["tokens"])
    assert len(result["token_ids"]) == len(result["gradient_x_input"]) == len(result["rollout"]) == n
    assert_rounding_equal(torch.tensor(result["gradient_x_input"]), gxi)
    assert result["objective"] == pytest.approx(objective, rel=1e-5, abs=1e-5 * abs(objective))
    matrix = np.array(result["rollout_matrix"])
    expected = _rollout(attentions)
    assert matrix.shape == (n, n)
    np.testing.assert_allclose(matrix, expected, atol=1e-5)  # the matrix is stored to 5 decimals
    np.testing.assert_allclose(matrix.sum(-1), 1.0, atol=n * 1e-5)
    np.testing.assert_allclose(result["rollout"], expected[result["positions"]].mean(0), rtol=1e-5, atol=1e-7)
    assert sum(result["rollout"]) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("choice", [0, 2])
def test_xlm_fill_mask_guess_matches_transformers(make_model, choice):
    folder = make_model("XLMWithLMHeadModel", seed=3)
    result = SaliencyPipeline(folder, device="cpu")(
        "The capital of France is <mask> .", lang="en", choice=choice
    )
    model = transformers.XLMWithLMHeadModel.from_pretrained(folder).eval()
    ids = torch.tensor([result["token_ids"]])
    mask = result["tokens"].index("<special1>")
    assert result["positions"] == [mask]

    def score(embeds):
        out = model(inputs_embeds=embeds, langs=torch.ones_like(ids), output_attentions=True)  # en = 1
        logp = out.logits[0, mask].log_softmax(-1)
        ranked = logp.detach().topk(5).indices.tolist()
        assert [c["token_id"] for c in result["choices"]] == ranked
        return logp[ranked[choice]], out.attentions

    _check(result, _gradient_x_input(model.transformer.embeddings, ids, score))
    assert result["explained"] == result["choices"][choice]["label"]


def test_xlmr_fill_mask_guess_matches_transformers(make_xlmr):
    folder = make_xlmr("XLMRobertaForMaskedLM", seed=4)
    result = SaliencyPipeline(folder, device="cpu")("Der Rhein fließt durch <mask> .")
    model = transformers.XLMRobertaForMaskedLM.from_pretrained(folder, attn_implementation="eager").eval()
    ids = torch.tensor([result["token_ids"]])
    mask = result["tokens"].index("<mask>")

    def score(embeds):
        out = model(inputs_embeds=embeds, output_attentions=True)
        logp = out.logits[0, mask].log_softmax(-1)
        assert result["choices"][0]["token_id"] == int(logp.argmax())
        return logp.max(), out.attentions

    _check(result, _gradient_x_input(model.roberta.embeddings.word_embeddings, ids, score))


def test_xlm_qa_span_matches_transformers(make_model):
    folder = make_model("XLMForQuestionAnsweringSimple", seed=1)
    result = SaliencyPipeline(folder, target="question-answering", device="cpu")(QA, lang="en", choice=1)
    model = transformers.XLMForQuestionAnsweringSimple.from_pretrained(folder).eval()
    ids = torch.tensor([result["token_ids"]])
    start, end = result["positions"]
    assert start <= end and result["tokens"].index("</s>", 1) < start  # the span lies in the context
    chosen = result["choices"][1]
    assert QA["context"][chosen["start"] : chosen["end"]] == chosen["label"] == result["explained"]
    assert [c["score"] for c in result["choices"]] == sorted(
        (c["score"] for c in result["choices"]), reverse=True
    )

    def score(embeds):
        out = model(inputs_embeds=embeds, langs=torch.ones_like(ids), output_attentions=True)
        return out.start_logits[0, start] + out.end_logits[0, end], out.attentions

    _check(result, _gradient_x_input(model.transformer.embeddings, ids, score))


def test_xlmr_class_logit_matches_transformers(make_xlmr):
    folder = make_xlmr("XLMRobertaForSequenceClassification", seed=1, num_labels=3)
    result = SaliencyPipeline(folder, target="text-classification", device="cpu")(
        "Ein schöner Tag .", choice=1
    )
    model = transformers.XLMRobertaForSequenceClassification.from_pretrained(
        folder, attn_implementation="eager"
    ).eval()
    ids = torch.tensor([result["token_ids"]])
    assert result["positions"] == [0]

    def score(embeds):
        out = model(inputs_embeds=embeds, output_attentions=True)
        ranked = out.logits[0].detach().argsort(descending=True).tolist()
        assert [c["index"] for c in result["choices"]] == ranked
        return out.logits[0, ranked[1]], out.attentions

    _check(result, _gradient_x_input(model.roberta.embeddings.word_embeddings, ids, score))


def test_rollout_of_uniform_attention_spreads_evenly():
    n = 4
    uniform = [torch.full((2, n, n), 1.0 / n)] * 3
    rollout = attention_rollout(uniform)
    assert torch.allclose(rollout.sum(-1), torch.ones(n, dtype=rollout.dtype))
    # each layer keeps half on the token itself and spreads half evenly: after L layers 1/2^L stays put
    expected = torch.full((n, n), (1 - 0.5**3) / n, dtype=torch.float64) + torch.eye(n) * 0.5**3
    assert torch.allclose(rollout, expected)


@pytest.mark.parametrize(
    ("target", "item", "kwargs", "message"),
    [
        ("fill-mask", "No mask here .", {}, "found 0"),
        ("fill-mask", "<mask> and <mask> .", {}, "found 2"),
        ("fill-mask", "A <mask> .", {"choice": 5}, "There is no choice 5"),
        ("fill-mask", "A <mask> .", {"choice": -1}, "choice must be a rank"),
        ("fill-mask", "", {}, "empty"),
        ("fill-mask", "<mask> " + "a" * MAX_CHARS, {}, "too long for saliency"),
        ("fill-mask", "A <mask> .", {"lang": "xx"}, "Unknown language"),
        ("question-answering", "not a dict", {}, '"question" and "context"'),
        ("question-answering", {**QA, "context": "word " * 400}, {}, "too long for one window"),
    ],
)
def test_bad_requests_get_one_clear_message(make_model, target, item, kwargs, message):
    head = "XLMWithLMHeadModel" if target == "fill-mask" else "XLMForQuestionAnsweringSimple"
    with pytest.raises(ValueError, match=message):
        SaliencyPipeline(make_model(head, seed=1), target=target, device="cpu")(item, **kwargs)


def test_a_beam_qa_head_and_an_unknown_target_are_refused(make_model):
    with pytest.raises(InputError, match="beam-search QA head"):
        SaliencyPipeline(make_model("XLMForQuestionAnswering"), target="question-answering", device="cpu")
    with pytest.raises(InputError, match="target must be one of"):
        SaliencyPipeline(make_model(), target="ner", device="cpu")
