"""The pipelines on XLM-RoBERTa checkpoints (random weights, a SentencePiece vocabulary trained here), against
transformers' pipelines and models on the same folders, and the Auto classes that pick the family."""

from __future__ import annotations

import pytest
import torch
import transformers
from _tolerance import approx_scores, assert_rounding_equal

import xlm
from xlm.pipelines import build_qa_features, pipeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXTS = [
    "The capital of France is <mask>.",
    "Die Hauptstadt von Deutschland ist <mask>.",
    "Москва — <mask> России.",
    "东京是日本的<mask>。",
    "<mask> and <mask> went to the market.",
]


@pytest.fixture(scope="module")
def mlm_dir(make_xlmr):
    return make_xlmr("XLMRobertaForMaskedLM", seed=3)


def _same_guesses(ours: list[dict], theirs: list[dict]) -> None:
    assert [p["token"] for p in ours] == [p["token"] for p in theirs]
    assert [p["token_str"] for p in ours] == [p["token_str"] for p in theirs]
    assert [p["sequence"] for p in ours] == [p["sequence"] for p in theirs]
    assert [p["score"] for p in ours] == approx_scores([p["score"] for p in theirs])


@pytest.mark.parametrize("xl", [False, True])
def test_fill_mask_matches_transformers(xl, make_xlmr):
    folder = make_xlmr("XLMRobertaXLForMaskedLM" if xl else "XLMRobertaForMaskedLM", seed=3)
    theirs = transformers.pipeline(
        "fill-mask",
        model=str(folder),
        tokenizer=transformers.XLMRobertaTokenizer.from_pretrained(folder),
        dtype=torch.float32,
        device="cpu",
    )
    ours = pipeline("fill-mask", folder, device="cpu")
    for text in TEXTS:
        got, expected = ours(text, top_k=5), theirs(text, top_k=5)
        if text.count("<mask>") == 1:
            _same_guesses(got, expected)
        else:
            assert len(got) == len(expected) == text.count("<mask>")
            for a, b in zip(got, expected, strict=True):
                _same_guesses(a, b)
    targets = ["▁Paris", "▁London", "▁Berlin"]
    _same_guesses(ours(TEXTS[0], targets=targets), theirs(TEXTS[0], targets=targets))
    batch = ours(TEXTS[:3], top_k=3)  # padded together, answered as if alone
    _same_guesses(batch[2], theirs(TEXTS[2], top_k=3))


def test_lang_is_for_tokenisation_only_and_says_so(mlm_dir):
    fill = pipeline("fill-mask", mlm_dir, device="cpu")
    with pytest.warns(UserWarning, match="no language embeddings"):
        with_lang = fill(TEXTS[1], lang="de")
    assert with_lang == fill(TEXTS[1])


def test_features_and_attentions_match_transformers(mlm_dir):
    text = "Der Rhein fließt durch Köln."
    model = transformers.XLMRobertaModel.from_pretrained(mlm_dir, attn_implementation="eager").eval()
    enc = xlm.XLMRobertaTokenizer.from_pretrained(mlm_dir)(text, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    features = pipeline("feature-extraction", mlm_dir, device="cpu")(text)
    assert_rounding_equal(torch.tensor(features[0]), out.last_hidden_state[0])
    view = pipeline("attention", mlm_dir, device="cpu")(text, decimals=7)
    assert view["tokens"][0] == "<s>" and view["tokens"][-1] == "</s>"
    assert_rounding_equal(torch.tensor(view["attentions"]), torch.stack(out.attentions)[:, 0])


def test_token_classification_matches_transformers(make_xlmr):
    labels = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
    folder = make_xlmr("XLMRobertaForTokenClassification", seed=5, id2label=labels)
    theirs = transformers.pipeline(
        "token-classification", model=str(folder), dtype=torch.float32, device="cpu"
    )
    ours = pipeline("token-classification", folder, device="cpu")
    text = "Angela Merkel besuchte gestern Paris und Marseille."
    expected = theirs(text, ignore_labels=[])
    got = ours(text, aggregation_strategy="none", ignore_labels=())
    assert [x["entity"] for x in got] == [x["entity"] for x in expected]
    assert [x["index"] for x in got] == [x["index"] for x in expected]
    assert [x["score"] for x in got] == approx_scores([x["score"] for x in expected])
    for strategy in ("first", "average", "max"):
        expected = theirs(text, aggregation_strategy=strategy, ignore_labels=[])
        got = ours(text, aggregation_strategy=strategy, ignore_labels=())
        assert [(x["entity_group"], x["start"], x["end"]) for x in got] == [
            (x["entity_group"], x["start"], x["end"]) for x in expected
        ], strategy
        assert [x["word"] for x in got] == [text[x["start"] : x["end"]] for x in expected]
        assert [x["score"] for x in got] == approx_scores([x["score"] for x in expected])


def test_text_classification_and_multiple_choice_match_transformers(make_xlmr):
    folder = make_xlmr("XLMRobertaForSequenceClassification", seed=4, num_labels=3)
    theirs = transformers.pipeline(
        "text-classification", model=str(folder), dtype=torch.float32, device="cpu"
    )
    ours = pipeline("text-classification", folder, device="cpu")
    for text in ["A wonderful little film.", "Das war nichts."]:
        expected, got = theirs(text, top_k=None), ours(text, top_k=None)
        assert [x["label"] for x in got] == [x["label"] for x in expected]
        assert [x["score"] for x in got] == approx_scores([x["score"] for x in expected])
    folder = make_xlmr("XLMRobertaForMultipleChoice", seed=8)
    model = transformers.XLMRobertaForMultipleChoice.from_pretrained(folder).eval()
    tok = xlm.XLMRobertaTokenizer.from_pretrained(folder)
    question, choices = "Where does the Rhine end?", ["In the North Sea.", "In the Alps.", "In Paris."]
    enc = tok([question] * 3, choices, padding=True, return_tensors="pt")
    with torch.no_grad():
        probs = model(**{k: v[None] for k, v in enc.items()}).logits[0].softmax(-1)
    got = pipeline("multiple-choice", folder, device="cpu")({"question": question, "choices": choices})
    assert [c["index"] for c in got] == probs.argsort(descending=True).tolist()
    assert [c["score"] for c in got] == approx_scores(probs.sort(descending=True).values.tolist())


def test_question_answering_spans_match_an_oracle(make_xlmr):
    folder = make_xlmr("XLMRobertaForQuestionAnswering", seed=6)
    qa = pipeline("question-answering", folder, device="cpu")
    context = "Der Rhein fließt durch Köln und Düsseldorf, bevor er in die Nordsee mündet."
    question = "Wohin fließt der Rhein?"
    answer = qa({"question": question, "context": context}, max_answer_len=5, align_to_words=False)
    assert answer["answer"] == context[answer["start"] : answer["end"]] and answer["answer"]
    tok = xlm.XLMRobertaTokenizer.from_pretrained(folder)
    q = tok(question, add_special_tokens=False)["input_ids"]
    c = tok(context, add_special_tokens=False, return_offsets_mapping=True)
    ids = [0, *q, 2, 2, *c["input_ids"], 2]  # <s> question </s></s> context </s>
    (feature,) = build_qa_features(tok, question, context)
    assert feature.input_ids == ids and feature.ctx_start == len(q) + 3
    model = transformers.XLMRobertaForQuestionAnswering.from_pretrained(folder).eval()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]))
    # transformers' scoring: softmax over the context and the first token, best p_start * p_end with j - i < 5
    allowed = torch.zeros(len(ids), dtype=torch.bool)
    allowed[len(q) + 3 : len(q) + 3 + len(c["input_ids"])] = True
    start = out.start_logits[0].masked_fill(~allowed.clone().index_fill_(0, torch.tensor([0]), True), -1e4)
    end = out.end_logits[0].masked_fill(~allowed.clone().index_fill_(0, torch.tensor([0]), True), -1e4)
    p_start, p_end = start.softmax(-1), end.softmax(-1)
    score, i, j = max(
        (float(p_start[i] * p_end[j]), i, j)
        for i in range(len(ids))
        for j in range(len(ids))
        if allowed[i] and allowed[j] and i <= j < i + 5
    )
    offsets = c["offset_mapping"]
    assert (answer["start"], answer["end"]) == (offsets[i - len(q) - 3][0], offsets[j - len(q) - 3][1])
    assert answer["score"] == pytest.approx(score, rel=1e-4)
    with pytest.raises(xlm.InvalidConfigError, match="no question-answering-beam head"):
        pipeline("question-answering", folder, device="cpu", head="beam")


def _greedy(model, prompt: list[int], steps: int, zero_based_positions: bool = False) -> list[int]:
    """Greedy decoding by full forward passes of a transformers model."""
    seq = list(prompt)
    for _ in range(steps):
        ids = torch.tensor([seq])
        positions = {"position_ids": torch.arange(len(seq))[None]} if zero_based_positions else {}
        with torch.no_grad():
            seq.append(int(model(ids, **positions).logits[0, -1].argmax()))
    return seq[len(prompt) :]


def test_causal_generation_matches_transformers(make_xlmr):
    """Each step equals transformers' forward pass (fairseq positions from pad + 1). transformers' ``generate``
    differs: it passes 0-based position ids (from the attention mask), which its own forward never uses, so its
    continuation is that of shifted positions; the last assertion shows that this is the only difference."""
    folder = make_xlmr("XLMRobertaForCausalLM", seed=9)
    gen = pipeline("text-generation", folder, device="cpu")
    prompt = xlm.XLMRobertaTokenizer.from_pretrained(folder)("Der Rhein fließt")["input_ids"][:-1]
    ours = list(gen.generate_ids(prompt, max_new_tokens=6))
    model = transformers.XLMRobertaForCausalLM.from_pretrained(folder).eval()
    assert ours == _greedy(model, prompt, 6)
    generated = model.generate(torch.tensor([prompt]), max_new_tokens=6, do_sample=False, eos_token_id=None)
    assert generated[0, len(prompt) :].tolist() == _greedy(model, prompt, 6, zero_based_positions=True)
    text = gen("Der Rhein fließt", max_new_tokens=4)[0]["generated_text"]
    assert text.startswith("Der Rhein fließt")


@pytest.mark.parametrize("dtype", ["bfloat16", "int8", "auto"])
def test_reduced_precisions_run(dtype, mlm_dir):
    exact = pipeline("fill-mask", mlm_dir, device="cpu")(TEXTS[0], top_k=20)
    reduced = pipeline("fill-mask", mlm_dir, device="cpu", dtype=dtype)
    got = reduced(TEXTS[0], top_k=5)
    assert reduced.loaded.precision in ("float32", "bfloat16", "int8")
    # the top-5 of a reduced model lies within the exact model's top-20 (random weights have near-ties)
    assert {p["token"] for p in got} <= {p["token"] for p in exact}


def test_auto_classes_pick_the_family(mlm_dir, make_model, tmp_path):
    assert type(xlm.AutoConfig.from_pretrained(mlm_dir)) is xlm.XLMRobertaConfig
    assert type(xlm.AutoTokenizer.from_pretrained(mlm_dir)) is xlm.XLMRobertaTokenizer
    assert type(xlm.AutoModelForMaskedLM.from_pretrained(mlm_dir)) is xlm.XLMRobertaForMaskedLM
    qa = xlm.AutoModelForQuestionAnswering.from_pretrained(mlm_dir)
    assert type(qa) is xlm.XLMRobertaForQuestionAnswering and qa.load_report.untrained_heads
    tagger = xlm.AutoModelForTokenClassification.from_pretrained(mlm_dir, num_labels=7)
    assert tagger.classifier.out_features == 7
    xlm_dir = make_model("XLMWithLMHeadModel", seed=3)
    assert type(xlm.AutoModelForMaskedLM.from_pretrained(xlm_dir)) is xlm.XLMWithLMHeadModel
    assert (
        type(xlm.AutoModelForQuestionAnswering.from_pretrained(xlm_dir)) is xlm.XLMForQuestionAnsweringSimple
    )
    assert type(xlm.AutoTokenizer.from_pretrained(xlm_dir)) is xlm.XLMTokenizer
    xl = xlm.AutoModel.from_config(
        xlm.AutoConfig.for_model(
            "xlm-roberta-xl",
            hidden_size=16,
            num_attention_heads=2,
            num_hidden_layers=1,
            intermediate_size=32,
            vocab_size=50,
        )
    )
    assert type(xl) is xlm.XLMRobertaXLModel
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(xlm.ModelTypeError, match=r"'bert' is not supported.*'xlm-roberta'"):
        xlm.AutoModel.from_pretrained(tmp_path)
    with pytest.raises(xlm.ModelTypeError, match="XLMConfig loads 'xlm' checkpoints only"):
        xlm.XLMWithLMHeadModel.from_pretrained(mlm_dir)


def test_a_translation_pair_uses_the_tokenizers_pair_layout(mlm_dir):
    """XLM-R was not trained on TLM pairs: a text and its translation are read in its own pair layout with its
    own positions, as transformers' model reads ``tokenizer(text, pair)``."""
    text, pair = "The house is <mask>.", "Das Haus ist klein."
    view = pipeline("attention", mlm_dir, device="cpu")(
        {"text": text.replace("<mask>", "small"), "text_pair": pair}, decimals=7
    )
    tok = xlm.XLMRobertaTokenizer.from_pretrained(mlm_dir)
    enc = tok(text.replace("<mask>", "small"), pair, return_tensors="pt")
    assert view["tokens"] == tok.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    model = transformers.XLMRobertaForMaskedLM.from_pretrained(mlm_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    assert_rounding_equal(torch.tensor(view["attentions"]), torch.stack(out.attentions)[:, 0])
    guesses = pipeline("fill-mask", mlm_dir, device="cpu")(text, text_pair=pair, top_k=3)
    enc = tok(text, pair, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits[0, enc["input_ids"][0].tolist().index(tok.mask_token_id)]
    assert [g["token"] for g in guesses] == logits.topk(3).indices.tolist()


def test_auto_classes_pass_loading_options_to_the_loader(mlm_dir):
    """Loading options are not config overrides: they reach the loader, as with the class's own from_pretrained."""
    model, info = xlm.AutoModelForTokenClassification.from_pretrained(
        mlm_dir, output_loading_info=True, torch_dtype=torch.float16, num_labels=3
    )
    direct, direct_info = xlm.XLMRobertaForTokenClassification.from_pretrained(
        mlm_dir, output_loading_info=True, torch_dtype=torch.float16, num_labels=3
    )
    assert model.dtype == direct.dtype == torch.float16 and info == direct_info
    assert not hasattr(model.config, "output_loading_info") and model.config.num_labels == 3
    with pytest.raises(TypeError, match="no_such_option"):
        xlm.AutoModelForMaskedLM.from_pretrained(mlm_dir, no_such_option=1)
