"""question-answering: answer spans in a context, mapped back to characters of the original context.

Two kinds of QA head are served: span heads (``XLMForQuestionAnsweringSimple``, ``XLMRobertaForQuestionAnswering``:
start/end logits, scored like the transformers 4.x QA pipeline: softmax per window, best start×end product with
``end - start < max_answer_len``) and XLM's beam-search SQuAD head (``XLMForQuestionAnswering``: start_n_top ×
end_n_top candidates, answerability from ``cls_logits``). Long contexts are cut into windows of ``max_seq_len`` tokens that overlap by ``doc_stride``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..errors import InputError
from .base import Pipeline

NULL_LOGIT = -10_000.0


@dataclass
class QAFeature:
    """One window: question and part of the context in the tokenizer's pair layout (``</s> question </s> context
    </s>`` for XLM, ``<s> question </s></s> context </s>`` for XLM-R), with where the context tokens sit."""

    item: int  # which input it belongs to
    input_ids: list[int]
    langs: list[int] | None
    ctx_start: int  # index of the first context token in input_ids
    offsets: list[tuple[int, int]]  # character span in the context of each context token of this window
    words: list[tuple[int, int]]  # character span of the whole word each context token belongs to


def build_qa_features(
    tokenizer: Any,
    question: str,
    context: str,
    *,
    lang: str | None = None,
    question_lang: str | None = None,
    max_seq_len: int = 384,
    doc_stride: int = 128,
    max_question_len: int = 64,
    lang2id: dict[str, int] | None = None,
    item: int = 0,
) -> list[QAFeature]:
    """Cut (question, context) into overlapping windows; the same layout is used to fine-tune the QA heads."""
    q_ids = tokenizer(question, lang=question_lang or lang, add_special_tokens=False)["input_ids"][
        :max_question_len
    ]
    ctx = tokenizer(context, lang=lang, add_special_tokens=False, return_offsets_mapping=True)
    c_ids, c_offsets = ctx["input_ids"], [tuple(o) for o in ctx["offset_mapping"]]
    c_words = _word_spans(tokenizer.word_ends(tokenizer.convert_ids_to_tokens(c_ids)), c_offsets)
    layout = tokenizer.build_inputs_with_special_tokens(q_ids, [-1])  # where a context token lands
    ctx_start = layout.index(-1)
    room = max_seq_len - (len(layout) - 1)
    if room < 8:
        raise InputError(f"The question is too long for max_seq_len={max_seq_len}.")
    step = max(1, room - min(doc_stride, room - 1))
    features, start = [], 0
    while True:
        window = slice(start, start + room)
        ids = tokenizer.build_inputs_with_special_tokens(q_ids, c_ids[window])
        langs = None
        if lang2id:
            q_lang, c_lang = lang2id[question_lang or lang], lang2id[lang]
            langs = [q_lang] * ctx_start + [c_lang] * (len(ids) - ctx_start)
        features.append(QAFeature(item, ids, langs, ctx_start, c_offsets[window], c_words[window]))
        if start + room >= len(c_ids):
            return features
        start += step


def _word_spans(ends: list[bool], offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """For each piece, the character span of its whole word (``ends``: whether a word ends with each piece)."""
    spans: list[tuple[int, int]] = []
    first = 0
    for i, word_end in enumerate(ends):
        if word_end:
            spans += [(offsets[first][0], offsets[i][1])] * (i - first + 1)
            first = i + 1
    return spans


class QuestionAnsweringPipeline(Pipeline):
    """``qa({"question": ..., "context": ...})`` → ``{"score", "start", "end", "answer"}`` (a list when top_k > 1)."""

    task = "question-answering"
    heads: ClassVar[dict[str, str]] = {"simple": "question-answering", "beam": "question-answering-beam"}

    def __init__(self, model: Any, *, head: str | None = None, **kwargs: Any) -> None:
        """``head``: "simple" or "beam" (XLM only); by default the checkpoint's own QA head, else the span one."""
        super().__init__(model, **kwargs)
        if head is not None and head not in self.heads:
            raise InputError(f"head must be 'simple' or 'beam', not {head!r}.")
        qa_classes = [self.family.heads[r] for r in self.heads.values() if r in self.family.heads]
        if head is not None:
            self.head_class = self.family.head(self.heads[head], self.config)
        elif self.head_class not in qa_classes:
            self.head_class = self.family.head(self.heads["simple"], self.config)

    def run(
        self,
        items: list[dict[str, str]],
        top_k: int = 1,
        lang: str | None = None,
        question_lang: str | None = None,
        doc_stride: int = 128,
        max_answer_len: int = 30,
        max_seq_len: int = 384,
        max_question_len: int = 64,
        handle_impossible_answer: bool = False,
        align_to_words: bool = True,
    ) -> list[Any]:
        """``align_to_words``: widen each answer to whole words (as transformers does), not BPE pieces."""
        if top_k < 1:
            raise InputError("top_k must be at least 1.")
        self.lang_id(lang), self.lang_id(question_lang)  # validate both languages early
        max_seq_len = min(max_seq_len, self.max_tokens)
        lang2id = self.tokenizer.lang2id if (lang and self.uses_langs()) else None
        features: list[QAFeature] = []
        contexts = []
        for n, item in enumerate(items):
            if not isinstance(item, dict) or "question" not in item or "context" not in item:
                raise InputError('Each QA input is a dict with "question" and "context".')
            question = self.check_text(item["question"], "question")
            contexts.append(self.check_text(item["context"], "context"))
            features += build_qa_features(
                self.tokenizer,
                question,
                contexts[-1],
                lang=lang,
                question_lang=question_lang,
                max_seq_len=max_seq_len,
                doc_stride=doc_stride,
                max_question_len=max_question_len,
                lang2id=lang2id,
                item=n,
            )
        beam = self.head_class is self.family.heads.get("question-answering-beam")
        spans = self._beam_spans if beam else self._simple_spans
        candidates: list[list[tuple[float, int, int]]] = [[] for _ in items]
        null = [1.0] * len(items)  # the lowest no-answer score over an input's windows
        table = "words" if align_to_words else "offsets"
        for feat, (cands, null_score) in zip(features, spans(features, max_answer_len, table), strict=True):
            candidates[feat.item] += cands
            null[feat.item] = min(null[feat.item], null_score)
        return [
            _answers(context, cands, null_score if handle_impossible_answer else None, top_k)
            for context, cands, null_score in zip(contexts, candidates, null, strict=True)
        ]

    def _forward(self, features: list[QAFeature], **extra: Any) -> tuple[Any, torch.Tensor]:
        length = max(len(f.input_ids) for f in features)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([f.input_ids + [pad] * (length - len(f.input_ids)) for f in features])
        mask = torch.tensor([[1] * len(f.input_ids) + [0] * (length - len(f.input_ids)) for f in features])
        context = torch.zeros_like(ids, dtype=torch.bool)  # where an answer may start or end
        for row, f in enumerate(features):
            context[row, f.ctx_start : f.ctx_start + len(f.offsets)] = True
        inputs = {"input_ids": ids, "attention_mask": mask}
        if features[0].langs is not None:
            inputs["langs"] = torch.tensor(
                [f.langs + [f.langs[-1]] * (length - len(f.langs)) for f in features]
            )
        device = self.loaded.device
        inputs = {k: v.to(device) for k, v in inputs.items()}
        return self.model(**inputs, **{k: v.to(device) for k, v in extra.items()}), context

    def _simple_spans(self, features: list[QAFeature], max_len: int, table: str):
        out, context = self._forward(features)
        allowed = context.clone()
        allowed[:, 0] = True  # the first token stands for "no answer"
        start = out.start_logits.float().cpu().masked_fill(~allowed, NULL_LOGIT).softmax(-1)
        end = out.end_logits.float().cpu().masked_fill(~allowed, NULL_LOGIT).softmax(-1)
        for row, f in enumerate(features):
            null_score = float(start[row, 0] * end[row, 0])
            s, e = start[row].clone(), end[row].clone()
            s[0] = e[0] = 0.0
            scores = torch.triu(torch.outer(s, e)).tril(max_len - 1)
            flat = scores.flatten()
            k = min(20, int((flat > 0).sum()))
            values, index = flat.topk(k) if k else (flat[:0], flat[:0].long())
            cands = []
            for value, idx in zip(values.tolist(), index.tolist(), strict=True):
                i, j = divmod(idx, scores.shape[1])
                if context[row, i] and context[row, j]:
                    spans = getattr(f, table)
                    cands.append((value, spans[i - f.ctx_start][0], spans[j - f.ctx_start][1]))
            yield cands, null_score

    def _beam_spans(self, features: list[QAFeature], max_len: int, table: str):
        length = max(len(f.input_ids) for f in features)
        p_mask = torch.ones(len(features), length)
        for row, f in enumerate(features):
            p_mask[row, f.ctx_start : f.ctx_start + len(f.offsets)] = 0.0
        out, context = self._forward(features, p_mask=p_mask)
        n_start, n_end = self.model.config.start_n_top, self.model.config.end_n_top
        start_p, start_i = out.start_top_log_probs.float().cpu(), out.start_top_index.cpu()
        end_p, end_i = out.end_top_log_probs.float().cpu(), out.end_top_index.cpu()
        answerable = torch.sigmoid(-out.cls_logits.float().cpu())  # cls_logits score "impossible"
        for row, f in enumerate(features):
            cands = []
            for a in range(n_start):
                i = int(start_i[row, a])
                for b in range(n_end):
                    j = int(end_i[row, b * n_start + a])  # end_top_* are laid out (end rank, start rank)
                    if context[row, i] and context[row, j] and i <= j < i + max_len:
                        score = float(start_p[row, a] * end_p[row, b * n_start + a])
                        spans = getattr(f, table)
                        cands.append((score, spans[i - f.ctx_start][0], spans[j - f.ctx_start][1]))
            yield cands, 1.0 - float(answerable[row])


def _answers(context: str, cands: list[tuple[float, int, int]], null_score: float | None, top_k: int) -> Any:
    best: dict[tuple[int, int], float] = {}
    for score, start, end in cands:
        if score > best.get((start, end), -1.0):
            best[(start, end)] = score
    answers = [{"score": s, "start": a, "end": b, "answer": context[a:b]} for (a, b), s in best.items()]
    if null_score is not None:
        answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
    answers = sorted(answers, key=lambda x: -x["score"])[:top_k]
    if not answers:
        answers = [{"score": 0.0, "start": 0, "end": 0, "answer": ""}]
    return answers[0] if top_k == 1 else answers
