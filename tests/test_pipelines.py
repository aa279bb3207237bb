"""Pipelines against transformers on the same weights and inputs, plus the behaviour transformers does not have."""

import itertools
import threading

import pytest
import torch
import transformers
from _tolerance import approx_scores, assert_rounding_equal

import xlm
from xlm.pipelines import ModelCache, build_qa_features, pipeline
from xlm.pipelines.precision import answers_agree, reduce_precision

TEXTS = [
    "The capital of France is <special1> .",
    "Berlin is a <special1> city with many <special1> .",
    "I would like a cup of <special1> please",
]


@pytest.fixture(scope="module")
def lm_dir(make_model):
    return make_model("XLMWithLMHeadModel", seed=3)


@pytest.fixture(scope="module")
def hf_fill(lm_dir):
    return transformers.pipeline("fill-mask", model=str(lm_dir), dtype=torch.float32, device="cpu")


def _close(ours, theirs):
    """Same tokens in the same order, scores equal up to rounding, same decoded sequences."""
    assert [p["token"] for p in ours] == [p["token"] for p in theirs]
    assert [p["token_str"] for p in ours] == [p["token_str"] for p in theirs]
    assert [p["sequence"] for p in ours] == [p["sequence"] for p in theirs]
    assert ours[0]["score"] == approx_scores(theirs[0]["score"])
    assert [p["score"] for p in ours] == approx_scores([p["score"] for p in theirs])


@pytest.mark.parametrize("text", TEXTS)
def test_fill_mask_matches_transformers(text, lm_dir, hf_fill):
    ours = pipeline("fill-mask", lm_dir, device="cpu")(text, top_k=5)
    theirs = hf_fill(text, top_k=5)
    if text.count("<special1>") == 1:
        _close(ours, theirs)
    else:
        assert len(ours) == len(theirs) == text.count("<special1>")
        for a, b in zip(ours, theirs, strict=True):
            _close(a, b)


def test_fill_mask_targets_and_batches_match(lm_dir, hf_fill):
    fill = pipeline("fill-mask", lm_dir, device="cpu")
    targets = ["paris</w>", "london</w>", "berlin</w>"]
    _close(fill(TEXTS[0], targets=targets), hf_fill(TEXTS[0], targets=targets))
    batch = fill([TEXTS[0], TEXTS[2]], top_k=3)  # padded together, answered as if alone
    _close(batch[1], hf_fill(TEXTS[2], top_k=3))
    assert fill("The capital of France is <mask> .")[0]["token"] == fill(TEXTS[0])[0]["token"]


def test_fill_mask_language_reaches_the_model(lm_dir):
    fill = pipeline("fill-mask", lm_dir, device="cpu")
    text = "Das ist ein <mask> Haus ."
    de, en = fill(text, lang="de"), fill(text, lang="en")
    model = transformers.XLMWithLMHeadModel.from_pretrained(lm_dir).eval()
    enc = pipeline("fill-mask", lm_dir, device="cpu").encode(
        [text.replace("<mask>", "<special1>")], lang="de"
    )
    with torch.no_grad():
        logits = model(input_ids=enc["input_ids"], langs=enc["langs"]).logits
    position = int((enc["input_ids"][0] == 5).nonzero())
    assert de[0]["token"] == int(logits[0, position].argmax())
    assert [p["token"] for p in de] != [p["token"] for p in en]


@pytest.mark.parametrize(
    ("text", "kwargs", "error", "message"),
    [
        ("no mask here", {}, xlm.InputError, "No mask token"),
        ("   ", {}, xlm.InputError, "empty"),
        ("<mask> " + "word " * 400, {}, xlm.InputError, "Text too long"),
        ("x" * 30_000, {}, xlm.InputError, "too long"),
        ("a <mask>", {"lang": "xx"}, xlm.UnknownLanguageError, "Unknown language 'xx'.*de, en"),
    ],
)
def test_fill_mask_bad_input(text, kwargs, error, message, lm_dir):
    with pytest.raises(error, match=message):
        pipeline("fill-mask", lm_dir, device="cpu")(text, **kwargs)


def test_text_classification_matches_transformers(make_model):
    folder = make_model("XLMForSequenceClassification", seed=4)
    theirs = transformers.pipeline(
        "text-classification", model=str(folder), dtype=torch.float32, device="cpu"
    )
    ours = pipeline("text-classification", folder, device="cpu")
    for text in ["A wonderful little film .", "Das war nichts ."]:
        expected = theirs(text, top_k=None)
        got = ours(text, top_k=None)
        assert [x["label"] for x in got] == [x["label"] for x in expected]
        assert [x["score"] for x in got] == approx_scores([x["score"] for x in expected])


def test_token_classification_matches_transformers(make_model):
    folder = make_model("XLMForTokenClassification", seed=5, id2label={0: "O", 1: "B-PER", 2: "I-PER"})
    theirs = transformers.pipeline(
        "token-classification", model=str(folder), dtype=torch.float32, device="cpu"
    )
    ours = pipeline("token-classification", folder, device="cpu")
    text = "Angela Merkel visited Paris yesterday ."
    expected = theirs(text, ignore_labels=[])
    got = ours(text, aggregation_strategy="none", ignore_labels=())
    assert [x["entity"] for x in got] == [x["entity"] for x in expected]
    assert [x["index"] for x in got] == [x["index"] for x in expected]
    assert [x["score"] for x in got] == approx_scores([x["score"] for x in expected])
    for entity in got:  # every span is a piece of the original text
        assert entity["word"] == text[entity["start"] : entity["end"]] and entity["word"].strip()
    words = ours(text, aggregation_strategy="first", ignore_labels=())
    assert " ".join(w["word"] for w in words) == text  # one group per word boundary at most, spans in order


def _brute_force_answer(start_logits, end_logits, context, max_len):
    """Independent oracle for the transformers QA scoring: softmax over the context tokens and the first token
    (which stands for "no answer"), then the (i, j) with the largest p_start[i] * p_end[j] over context tokens
    i <= j < i + max_len."""
    allowed = context.clone()
    allowed[0] = True
    start = start_logits.masked_fill(~allowed, -10_000.0).softmax(-1)
    end = end_logits.masked_fill(~allowed, -10_000.0).softmax(-1)
    n = len(start)
    return max(
        (float(start[i] * end[j]), i, j)
        for i in range(n)
        for j in range(n)
        if context[i] and context[j] and i <= j < i + max_len
    )


def test_question_answering_simple_head_matches_an_oracle(make_model):
    folder = make_model("XLMForQuestionAnsweringSimple", seed=6)
    qa = pipeline("question-answering", folder, device="cpu")
    context = "Der Rhein fließt durch Köln und Düsseldorf, bevor er in die Nordsee mündet."
    question = "Wohin fließt der Rhein?"
    answer = qa({"question": question, "context": context}, lang="de", max_answer_len=5, align_to_words=False)
    assert answer["answer"] == context[answer["start"] : answer["end"]] and answer["answer"]
    tok = xlm.XLMTokenizer.from_pretrained(folder)
    q = tok(question, lang="de", add_special_tokens=False)["input_ids"]
    c = tok(context, lang="de", add_special_tokens=False, return_offsets_mapping=True)
    ids = tok.build_inputs_with_special_tokens(q, c["input_ids"])
    langs = torch.zeros(1, len(ids), dtype=torch.long)
    model = transformers.XLMForQuestionAnsweringSimple.from_pretrained(folder).eval()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), langs=langs)
    allowed = torch.zeros(len(ids), dtype=torch.bool)
    allowed[len(q) + 2 : len(q) + 2 + len(c["input_ids"])] = True
    score, i, j = _brute_force_answer(out.start_logits[0], out.end_logits[0], allowed, 5)
    offsets = c["offset_mapping"]
    assert (answer["start"], answer["end"]) == (offsets[i - len(q) - 2][0], offsets[j - len(q) - 2][1])
    assert answer["score"] == pytest.approx(score, rel=1e-4)
    top = qa(
        {"question": question, "context": context}, lang="de", top_k=3, max_answer_len=5, align_to_words=False
    )
    assert top[0] == answer and len(top) == 3 and top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    for a in qa({"question": question, "context": context}, lang="de", top_k=20):  # whole words by default
        assert a["start"] == 0 or not context[a["start"] - 1].isalnum()
        assert a["end"] == len(context) or not context[a["end"]].isalnum()


def test_question_answering_long_context_uses_windows(make_model):
    folder = make_model("XLMForQuestionAnsweringSimple", seed=6)
    qa = pipeline("question-answering", folder, device="cpu")
    context = " ".join(f"Satz {n} erzählt von Köln und dem Rhein." for n in range(60))
    features = build_qa_features(qa.tokenizer, "Wo?", context, lang="de", max_seq_len=64, doc_stride=16)
    assert len(features) > 5 and all(len(f.input_ids) <= 64 for f in features)
    for left, right in itertools.pairwise(features):  # neighbours overlap by doc_stride tokens
        assert left.offsets[-16:] == right.offsets[:16]
    assert features[-1].offsets[-1][1] == len(context)  # the last window reaches the end of the context
    answers = qa(
        {"question": "Wo?", "context": context},
        lang="de",
        max_seq_len=64,
        doc_stride=16,
        top_k=10_000,
        handle_impossible_answer=True,
    )
    assert all(a["answer"] == context[a["start"] : a["end"]] for a in answers)
    assert sum(a["answer"] == "" for a in answers) == 1  # the no-answer entry, scored by its best window
    late = [a for a in answers if a["start"] > len(context) // 2]
    assert late, "answers come from the later windows too"


def test_question_answering_beam_head_uses_transformers_candidates(make_model):
    folder = make_model("XLMForQuestionAnswering", seed=7)
    qa = pipeline("question-answering", folder, device="cpu")
    context = "Marie Curie erhielt 1903 und 1911 den Nobelpreis."
    answers = qa({"question": "Wann?", "context": context}, lang="de", top_k=3)
    assert len(answers) >= 1
    for a in answers:
        assert a["answer"] == context[a["start"] : a["end"]] and 0 < a["score"] <= 1


def test_features_and_attentions_match_transformers(lm_dir):
    text = "Das Haus ist klein ."
    feats = pipeline("feature-extraction", lm_dir, device="cpu")(text, lang="de")
    attn = pipeline("attention", lm_dir, device="cpu")(text, lang="de")
    enc = pipeline("fill-mask", lm_dir, device="cpu").encode([text], lang="de")
    model = transformers.XLMModel.from_pretrained(lm_dir).eval()
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"], langs=enc["langs"], output_attentions=True)
    assert_rounding_equal(torch.tensor(feats[0]), out.last_hidden_state[0])
    torch.testing.assert_close(
        torch.tensor(attn["attentions"]), torch.stack(out.attentions)[:, 0], atol=1e-4, rtol=0
    )
    assert attn["langs"] == ["de"] * len(attn["tokens"]) and attn["tokens"][0] == "<s>"


def test_attention_on_a_translation_pair_uses_the_tlm_layout(lm_dir):
    view = pipeline("attention", lm_dir, device="cpu")(
        {"text": "the house", "lang": "en", "text_pair": "das Haus", "lang_pair": "de"}
    )
    split = view["side"].index(1)
    assert view["langs"][:split] == ["en"] * split and set(view["langs"][split:]) == {"de"}
    assert len(view["attentions"][0][0]) == len(view["tokens"])


def test_greedy_generation_matches_transformers(lm_dir):
    gen = pipeline("text-generation", lm_dir, device="cpu")
    prompt = [1, 417, 2210, 63]
    ours = list(gen.generate_ids(prompt, max_new_tokens=6))
    model = transformers.XLMWithLMHeadModel.from_pretrained(lm_dir).eval()
    theirs = model.generate(torch.tensor([prompt]), max_new_tokens=6, do_sample=False)[0, len(prompt) :]
    assert ours == theirs.tolist()[: len(ours)]


def test_causal_generation_with_cache_equals_full_recomputation(make_model):
    folder = make_model("XLMWithLMHeadModel", seed=8, causal=True)
    gen = pipeline("text-generation", folder, device="cpu")
    prompt = [1, 417, 2210, 63]
    ours = list(gen.generate_ids(prompt, max_new_tokens=8, lang="en"))
    model = transformers.XLMWithLMHeadModel.from_pretrained(folder).eval()
    ids = list(prompt)
    with torch.no_grad():
        for _ in ours:
            x = torch.tensor([ids])
            ids.append(int(model(input_ids=x, langs=torch.ones_like(x)).logits[0, -1].argmax()))
    assert ours == ids[len(prompt) :][: len(ours)]
    sampled = [
        list(gen.generate_ids(prompt, max_new_tokens=5, do_sample=True, top_k=50, seed=s)) for s in (1, 1, 2)
    ]
    assert sampled[0] == sampled[1]
    text = "".join(gen.stream("Das Haus", max_new_tokens=5, lang="de"))
    assert isinstance(text, str)


def test_cached_layer_loads_once_under_concurrency(lm_dir):
    cache = ModelCache()
    fill = pipeline("fill-mask", lm_dir, device="cpu", cache=cache)
    expected = pipeline("fill-mask", lm_dir, device="cpu", cache=ModelCache())(TEXTS[0])
    results, errors = [], []

    def call():
        try:
            results.append(fill(TEXTS[0]))
        except Exception as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 16
    assert cache.loads == 1
    assert all([p["token"] for p in r] == [p["token"] for p in expected] for r in results)
    assert all(r[0]["score"] == pytest.approx(expected[0]["score"], abs=1e-6) for r in results)


def test_cache_evicts_least_recently_used(make_model):
    first, second = make_model(seed=11), make_model(seed=12)
    one_model = ModelCache().get(first, device="cpu").nbytes
    cache = ModelCache(budget_bytes=int(one_model * 1.5))
    cache.get(first, device="cpu")
    cache.get(second, device="cpu")
    assert len(cache) == 1 and str(second.resolve()) in cache.keys()[0][0]


def test_unknown_task_and_device_auto(lm_dir):
    with pytest.raises(xlm.InputError, match="Unknown task 'summarise'"):
        pipeline("summarise", lm_dir)
    assert pipeline("fill-mask", lm_dir).loaded.device.type in {"cpu", "cuda", "mps"}


def test_answers_agree_up_to_near_ties():
    reference = torch.tensor([[0.0, -0.02, -3.0, -9.0]])
    assert answers_agree(reference, reference.clone(), k=1)
    # rounding swapped two candidates that fp32 itself scores 0.02 nats apart: still the same answers
    assert answers_agree(reference, torch.tensor([[-0.02, 0.0, -3.0, -9.0]]), k=1)
    # the reduced model's best is 3 nats below fp32's best: a changed answer, whichever side is asked
    assert not answers_agree(reference, torch.tensor([[-3.0, -0.02, 0.0, -9.0]]), k=1)
    assert answers_agree(reference, torch.tensor([[-3.0, -0.02, 0.0, -9.0]]), k=3)  # the same top-3 set
    assert not answers_agree(reference, torch.tensor([[0.0, float("nan"), -3.0, -9.0]]), k=2)


def test_auto_precision_keeps_a_reduction_only_when_answers_agree(mini_dir, precision_trap):
    texts = ["Paris is the capital of <special1> .", "Die Katze schläft auf dem <special1> ."]
    langs = ["en", "de"]
    exact = pipeline("fill-mask", mini_dir, device="cpu", dtype="float32", cache=ModelCache())
    best = [exact(t, lang=lang, top_k=1)[0]["token"] for t, lang in zip(texts, langs, strict=True)]

    auto = pipeline("fill-mask", mini_dir, device="cpu", dtype="auto", cache=ModelCache())
    assert auto.loaded.precision in {"bfloat16", "int8"} and auto.loaded.notes == []  # a trained model agrees
    assert [auto(t, lang=lang, top_k=1)[0]["token"] for t, lang in zip(texts, langs, strict=True)] == best

    trapped = pipeline("fill-mask", precision_trap, device="cpu", dtype="auto", cache=ModelCache())
    assert trapped.loaded.precision == "float32"
    assert "changed the model's answers on a probe input; using float32 instead" in trapped.loaded.notes[0]
    assert [trapped(t, lang=lang, top_k=1)[0]["token"] for t, lang in zip(texts, langs, strict=True)] == best


def test_reduce_precision_converts_in_place_and_keeps_every_weight(lm_dir):
    """Tensor by tensor, each fp32 copy's pages handed back as it goes: the result must equal ``model.to`` on a
    separate load (so no released page belonged to a neighbouring tensor of the memory-mapped file), ties kept."""
    reduced = xlm.XLMWithLMHeadModel.from_pretrained(lm_dir, dtype=torch.float32)
    reference = xlm.XLMWithLMHeadModel.from_pretrained(lm_dir, dtype=torch.float32).to(torch.bfloat16)
    reduce_precision(reduced, "bfloat16")
    assert reduced.pred_layer.proj.weight is reduced.transformer.embeddings.weight
    got, expected = reduced.state_dict(), reference.state_dict()
    assert got.keys() == expected.keys()
    for key, tensor in got.items():
        assert tensor.dtype == expected[key].dtype and torch.equal(tensor, expected[key]), key


def test_int8_quantises_the_encoder_only(lm_dir):
    exact = ModelCache().get(lm_dir, device="cpu", dtype="float32")
    forced = ModelCache().get(lm_dir, device="cpu", dtype="int8")
    assert forced.precision == "int8" and forced.nbytes < exact.nbytes
    assert isinstance(forced.model.transformer.ffns[0].lin1, torch.ao.nn.quantized.dynamic.Linear)
    assert isinstance(forced.model.pred_layer.proj, torch.nn.Linear)  # the vocabulary projection stays fp32
    result = pipeline("fill-mask", lm_dir, device="cpu", dtype="int8")(TEXTS[0], top_k=50)
    assert len(result) == 50 and all(0 <= p["score"] <= 1 for p in result)


def test_pair_classification_gives_each_side_its_language(make_model):
    folder = make_model("XLMForSequenceClassification", seed=4)
    clf = pipeline("text-classification", folder, device="cpu", dtype="float32")
    item = {"text": "Das Haus ist klein .", "text_pair": "The house is small ."}
    mixed = clf(item, lang="de", lang_pair="en", top_k=None)
    enc = clf.encode([item["text"]], lang="de", pairs=[item["text_pair"]], pair_lang="en")
    first_end = enc["input_ids"][0].tolist().index(1) + 1  # the first </s> closes the German side
    assert enc["langs"][0, :first_end].unique().tolist() == [0] and enc["langs"][
        0, first_end:
    ].unique().tolist() == [1]
    model = transformers.XLMForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        probs = model(input_ids=enc["input_ids"], langs=enc["langs"]).logits.softmax(-1)[0]
    assert sorted(probs.tolist(), reverse=True) == approx_scores([x["score"] for x in mixed])


def test_generation_stream_can_be_resumed_in_other_threads(make_model):
    """Gradio advances a streaming generator from a thread pool, so each step may run in a different thread, outside
    any inference mode entered by an earlier step; the model itself was loaded lazily inside another pipeline's
    call (in inference mode)."""
    from concurrent.futures import ThreadPoolExecutor

    folder = make_model("XLMWithLMHeadModel", seed=8, causal=True)
    cache = ModelCache()
    pipeline("fill-mask", folder, device="cpu", dtype="float32", cache=cache)(
        "Ein <mask> ."
    )  # loads the model
    gen = pipeline("text-generation", folder, device="cpu", dtype="float32", cache=cache)
    assert cache.loads == 1
    prompt = [1, 417, 2210, 63]
    expected = list(gen.generate_ids(prompt, max_new_tokens=6, lang="en"))
    steps = gen.generate_ids(prompt, max_new_tokens=6, lang="en")
    got = []
    for _ in expected:
        with ThreadPoolExecutor(max_workers=1) as pool:  # a fresh thread for every step
            got.append(pool.submit(next, steps).result())
    assert got == expected


def test_the_views_are_tasks_like_the_others(lm_dir):
    from xlm.pipelines import (
        EmbeddingMapPipeline,
        LanguageSwapPipeline,
        LogitLensPipeline,
        SaliencyPipeline,
    )

    for task, cls in [
        ("logit-lens", LogitLensPipeline),
        ("language-swap", LanguageSwapPipeline),
        ("embedding-map", EmbeddingMapPipeline),
        ("saliency", SaliencyPipeline),
    ]:
        assert type(pipeline(task, lm_dir, device="cpu")) is cls
    lens = pipeline("logit-lens", lm_dir, device="cpu")("Das ist ein <special1> .", lang="de")
    fill = pipeline("fill-mask", lm_dir, device="cpu")("Das ist ein <special1> .", lang="de", top_k=1)
    assert lens["answer"]["token"] == fill[0]["token"]


def test_a_differentiable_copy_is_an_entry_of_its_own(lm_dir):
    """Gradients need plain torch layers in a float dtype: the saliency view gets its own cache entry (counted in
    the budget like the others), the inference copy keeps its fast kernels and its precision."""
    cache = ModelCache()
    fill = pipeline("fill-mask", lm_dir, device="cpu", dtype="int8", cache=cache)
    sal = pipeline("saliency", lm_dir, device="cpu", dtype="int8", cache=cache)
    assert fill.loaded is not sal.loaded and len(cache) == 2
    assert fill.loaded.precision == "int8" and sal.loaded.precision == "float32"
    linears = [m for m in sal.model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(type(m) is torch.nn.Linear for m in linears)
    assert sal("Das ist ein <special1> .", lang="de")["gradient_x_input"]
