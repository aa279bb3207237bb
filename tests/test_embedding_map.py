"""The cross-lingual embedding map: parsing, mean pooling against transformers' hidden states on the same weights
(XLM and XLM-R), PCA against numpy's SVD, identical sentences on one point, retrieval across languages."""

import numpy as np
import pytest
import torch
import transformers
from _tolerance import assert_rounding_equal

from xlm.errors import InputError, XLMError
from xlm.pipelines.embedding_map import (
    MAX_SENTENCE_CHARS,
    MAX_SENTENCES,
    EmbeddingMapPipeline,
    Sentence,
    nearest_across_languages,
    parse_blocks,
    pca_2d,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PAIRS = [
    ("en", "The cat sleeps on the sofa ."),
    ("de", "Die Katze schläft auf dem Sofa ."),
    ("en", "I would like a cup of tea , please ."),
    ("de", "Ich hätte gern eine Tasse Tee ."),
]
TEXT = "en | The cat sleeps on the sofa .\nde\tDie Katze schläft auf dem Sofa .\n\n\nen | I would like a cup of tea , please .\nde | Ich hätte gern eine Tasse Tee .\n"


def test_blocks_are_meanings_and_lines_their_translations():
    sentences = parse_blocks(TEXT)
    assert sentences == [Sentence(lang, text, n // 2) for n, (lang, text) in enumerate(PAIRS)]
    assert parse_blocks("en | a | b") == [Sentence("en", "a | b", 0)]  # only the first separator splits


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("en The cat", "Line 1: write `lang | sentence`"),
        ("en | a\n | b", "Line 2: write"),
        ("en | a\nen | b", "'en' appears twice in one block"),
        (["en | a"], "must be a string"),
    ],
)
def test_malformed_text_is_refused_with_the_line(text, message):
    with pytest.raises(InputError, match=message):
        parse_blocks(text)


@pytest.fixture(scope="module")
def xlm_dir(make_model):
    return make_model("XLMWithLMHeadModel", seed=5)


def _oracle_xlm(folder, layer: int, special: bool) -> torch.Tensor:
    """transformers' XLM on the same weights: hidden_states[layer] averaged over each sentence's tokens."""
    tok = transformers.XLMTokenizer.from_pretrained(folder)
    model = transformers.XLMModel.from_pretrained(folder).eval()
    rows = []
    for lang, text in PAIRS:
        ids = tok.build_inputs_with_special_tokens(tok.convert_tokens_to_ids(tok._tokenize(text, lang=lang)))
        ids_t = torch.tensor([ids])
        with torch.no_grad():
            hidden = model(ids_t, langs=torch.full_like(ids_t, tok.lang2id[lang]), output_hidden_states=True)
        states = hidden.hidden_states[layer][0]
        keep = torch.tensor([special or i not in tok.all_special_ids for i in ids])
        rows.append(states[keep].mean(0))
    return torch.stack(rows)


@pytest.mark.parametrize(("layer", "special"), [(0, False), (1, False), (2, False), (2, True)])
def test_xlm_mean_pooling_equals_transformers_hidden_states(xlm_dir, layer, special):
    pipe = EmbeddingMapPipeline(xlm_dir, device="cpu", batch_size=2)  # padded in batches of one language
    ours = pipe.embed(parse_blocks(TEXT), layer, special_tokens=special)
    assert_rounding_equal(ours, _oracle_xlm(xlm_dir, layer, special))


@pytest.mark.parametrize("layer", [0, 2])
def test_xlmr_mean_pooling_equals_transformers_hidden_states(make_xlmr, layer):
    folder = make_xlmr("XLMRobertaForMaskedLM", seed=2)
    tok = transformers.XLMRobertaTokenizer.from_pretrained(folder)
    model = transformers.XLMRobertaModel.from_pretrained(folder).eval()
    expected = []
    for _, text in PAIRS:
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            states = model(**enc, output_hidden_states=True).hidden_states[layer][0]
        expected.append(states[1:-1].mean(0))  # <s> ... </s>: the special tokens left out
    pipe = EmbeddingMapPipeline(folder, device="cpu")
    assert_rounding_equal(pipe.embed(parse_blocks(TEXT), layer), torch.stack(expected))


def _numpy_pca(points: np.ndarray) -> np.ndarray:
    """PCA by numpy's SVD of the centred points, with the same sign rule (farthest point positive)."""
    centred = points - points.mean(0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    coords = u[:, :2] * s[:2]
    for k in range(2):
        coords[:, k] *= np.sign(coords[np.abs(coords[:, k]).argmax(), k])
    return coords


def test_pca_equals_numpy_svd_and_its_signs_are_fixed():
    points = torch.randn(12, 40, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3 + 1
    coords, explained = pca_2d(points)
    expected = _numpy_pca(points.numpy())
    np.testing.assert_allclose(coords.numpy(), expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    s = np.linalg.svd(points.numpy() - points.numpy().mean(0), compute_uv=False)
    np.testing.assert_allclose(explained, (s[:2] ** 2) / (s**2).sum(), rtol=1e-10)
    flipped, _ = pca_2d(-points)  # the mirror image lands on the same coordinates
    np.testing.assert_allclose(flipped.numpy(), expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    two, explained_two = pca_2d(points[:2])  # two points: one component; the second is rounding noise
    assert two[:, 1].abs().max() < 1e-12 * two[:, 0].abs().max() and explained_two[1] < 1e-24


def test_identical_sentences_land_on_one_point(xlm_dir, make_xlmr):
    text = (
        "en | The cat sleeps .\nde | Die Katze schläft .\n\nen | The cat sleeps .\nde | Ich hätte gern Tee ."
    )
    result = EmbeddingMapPipeline(xlm_dir, device="cpu")(text, layer=1)
    points = torch.tensor(result["points"])
    assert_rounding_equal(points[2], points[0])
    assert result["neighbours"][0]["nearest"] in (1, 3)  # never a sentence in its own language
    # XLM-R has no language embeddings: the same words under two language labels are the same input
    same = "en | Guten Morgen .\nde | Guten Morgen .\n\nen | Good night .\nde | Gute Nacht ."
    xlmr = EmbeddingMapPipeline(make_xlmr("XLMRobertaForMaskedLM", seed=2), device="cpu")(same)
    points = torch.tensor(xlmr["points"])
    assert_rounding_equal(points[1], points[0])
    assert xlmr["neighbours"][0]["cosine"] == pytest.approx(1.0, rel=1e-6)


def test_retrieval_finds_translations_and_scores_top1():
    sentences = [
        Sentence("en", "a", 0),
        Sentence("fr", "a'", 0),
        Sentence("en", "b", 1),
        Sentence("fr", "b'", 1),
    ]
    sentences.append(Sentence("de", "c", 2))  # no translation given: listed, not scored
    vectors = torch.tensor([[1.0, 0.1], [0.9, 0.2], [0.1, 1.0], [0.2, 0.9], [1.0, 1.0]])
    rows, accuracy, cos = nearest_across_languages(vectors, sentences)
    assert [r["nearest"] for r in rows[:4]] == [1, 0, 3, 2] and accuracy == 1.0
    assert rows[4]["correct"] is None
    assert rows[0]["cosine"] == pytest.approx(
        float(np.dot([1, 0.1], [0.9, 0.2]) / np.hypot(1, 0.1) / np.hypot(0.9, 0.2))
    )
    assert torch.allclose(cos.diagonal(), torch.ones(5, dtype=cos.dtype))
    swapped = vectors[[0, 3, 2, 1, 4]]  # the French sentences exchanged: every pair retrieves the wrong one
    _, accuracy, _ = nearest_across_languages(swapped, sentences)
    assert accuracy == 0.0


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("en | a\n\nen | b", {}, "All sentences are in one language"),
        ("en | a", {}, "at least two sentences"),
        ("", {}, "at least two sentences"),
        (
            "\n\n".join(f"en | s{i}\nde | t{i}" for i in range(MAX_SENTENCES // 2 + 1)),
            {},
            "Too many sentences",
        ),
        ("en | " + "a" * (MAX_SENTENCE_CHARS + 1) + "\nde | b", {}, "too long"),
        (TEXT, {"layer": 3}, "There is no layer 3: this model has layers 0 \\(embeddings\\) to 2"),
        (TEXT, {"layer": -1}, "There is no layer -1"),
        (TEXT, {"layer": "2"}, "whole number"),
        ("en | a\nxx | b", {}, "Unknown language 'xx'"),
    ],
)
def test_bad_requests_get_one_clear_message(xlm_dir, text, kwargs, message):
    with pytest.raises(XLMError, match=message):
        EmbeddingMapPipeline(xlm_dir, device="cpu")(text, **kwargs)


def test_the_map_says_what_it_computed(xlm_dir):
    result = EmbeddingMapPipeline(xlm_dir, device="cpu")(TEXT)
    assert result["layer"] == result["layers"] == 2  # the last layer by default
    assert len(result["points"]) == len(result["neighbours"]) == len(result["similarity"]) == 4
    assert result["sentences"][1] == {"lang": "de", "text": PAIRS[1][1], "group": 0}
    assert 0 <= sum(result["explained"]) <= 1 + 1e-9
    assert result["accuracy"] in (0.0, 0.25, 0.5, 0.75, 1.0)
