"""The app's examples chosen from what a model can know: held-out parallel sentences (FLORES-200 as in SIB-200,
never trained on) in which the model's own top guess for a masked word is that word. Written next to the model as
``examples.json``; the app prefers them to its built-in examples (components/examples.py).

Fill-mask: one sentence of the parallel set is chosen for as many of the model's languages as possible (the same
meaning across languages); a language where it has no word the model guesses gets the first sentence where one
exists. Cross-lingual (TLM): an English sentence with a word masked beside its translation, where the model guesses
the word from the pair, preferably where it misses it from the English alone. Among the words guessed right in a
sentence the longest is masked (content words over function words).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from xlm import pipeline

from .corpus import EVAL_PARALLEL, parallel_lines

SOURCE = "flores200_sib200"
EXAMPLES_FILE = "examples.json"
UNSPACED = ("zh", "ja", "th")  # written without spaces between words
MAX_WORDS = 14  # a sentence that fits on one line of the tab
CANDIDATES = 120  # the shortest sentences tried in every language, for one sentence shared by most languages
FALLBACK = 600  # the shortest sentences tried in a language none of those served
PAIR_CANDIDATES = 60  # the shortest sentences tried for a language's translation pair
MARGIN = 0.002  # the right guess leads the next by this much probability: the same on every CPU's arithmetic


def masked_versions(tokens: Sequence[str], lang: str) -> Iterator[tuple[str, str]]:
    """``(text with <mask>, the masked word)`` for every word of ``tokens`` (the tokenizer's BPE tokens, word ends
    marked ``</w>``) that is one token of letters: the text is the words joined as the language writes them."""
    words, current = [], ""
    for token in tokens:
        current += token.removesuffix("</w>")
        if token.endswith("</w>"):
            words.append((current, current == token.removesuffix("</w>")))
            current = ""
    glue = "" if lang in UNSPACED else " "
    for i, (word, single) in enumerate(words):
        if single and all(unicodedata.category(c)[0] in "LM" for c in word):
            yield glue.join([w for w, _ in words[:i]] + ["<mask>"] + [w for w, _ in words[i + 1 :]]), word


def right(guesses: Sequence[dict], word: str) -> bool:
    """Whether ``word`` is the top guess, ahead of the next by ``MARGIN``."""
    return guesses[0]["token_str"] == word and guesses[0]["score"] - guesses[1]["score"] >= MARGIN


def guessed(fill: Any, lang: str, sentence: str) -> list[tuple[str, str]]:
    """The masked versions of ``sentence`` whose top-1 guess is the masked word (by ``MARGIN``), longest first."""
    versions = list(masked_versions(fill.tokenizer.tokenize(sentence, lang=lang), lang))
    if not versions:
        return []
    results = fill([text for text, _ in versions], lang=lang, top_k=2)
    found = [(text, word) for (text, word), top in zip(versions, results, strict=True) if right(top, word)]
    return sorted(found, key=lambda pair: -len(pair[1]))


def guessed_from_translation(
    fill: Any, english: str, lang: str, translation: str
) -> list[tuple[str, str, bool]]:
    """``(text, word, alone)`` for each masked version of the English sentence whose top guess is the word with the
    translation beside it; ``alone``: whether the English alone gets it too. Helped ones first, then longest."""
    versions = list(masked_versions(fill.tokenizer.tokenize(english, lang="en"), "en"))
    if not versions:
        return []
    alone = fill([text for text, _ in versions], lang="en", top_k=2)
    found = [
        (text, word, right(solo, word))
        for (text, word), solo in zip(versions, alone, strict=True)
        if right(fill(text, lang="en", text_pair=translation, lang_pair=lang, top_k=2), word)
    ]
    return sorted(found, key=lambda f: (f[2], -len(f[1])))


def choose_pairs(fill: Any, lines: dict[str, list[str]], english: list[str], candidates: list[int]) -> dict:
    """The cross-lingual example of each non-English language: the first candidate line where the translation
    helps, else the first where the pair is guessed right."""
    chosen = {}
    for lang in tqdm([g for g in lines if g != "en"], desc="pairs", unit="lang"):
        hits = []
        for i in candidates:
            found = guessed_from_translation(fill, english[i], lang, lines[lang][i])
            if found:
                hits.append((i, *found[0]))
                if not found[0][2]:  # the translation helps here
                    break
        if hits:
            line, text, word, alone = min(hits, key=lambda hit: hit[3])
            chosen[lang] = {"text": text, "pair": lines[lang][line], "answer": word, "alone": alone}
            chosen[lang] |= {"source": SOURCE, "line": line}
    return chosen


def choose(model: Path, corpus: Path, langs: Sequence[str] | None = None) -> dict[str, Any]:
    """The fill-mask example of each language of ``model`` and its cross-lingual pairs (see the module's
    docstring), each with the held-out line it comes from."""
    if SOURCE not in EVAL_PARALLEL:
        raise ValueError(f"{SOURCE} is trained on: examples come from held-out data only")
    fill = pipeline("fill-mask", model, device="cpu")
    langs = list(langs or fill.model.config.lang2id)
    lines = {lang: parallel_lines(corpus, SOURCE, lang) for lang in langs}
    english = lines.get("en") or parallel_lines(corpus, SOURCE, "en")
    usable = [
        i
        for i in range(len(english))
        if 4 <= len(english[i].split()) <= MAX_WORDS and all(i < len(lines[g]) and lines[g][i] for g in langs)
    ]
    by_length = sorted(usable, key=lambda i: len(english[i]))
    candidates = by_length[:CANDIDATES]
    found: dict[int, dict[str, tuple[str, str]]] = {}
    for i in tqdm(candidates, desc="shared sentence", unit="sentence"):
        found[i] = {g: hits[0] for g in langs if (hits := guessed(fill, g, lines[g][i]))}
    best = max(candidates, key=lambda i: (len(found[i]), -len(english[i])))
    chosen = {}
    for lang in tqdm(langs, desc="languages", unit="lang"):
        line = best if lang in found[best] else next((i for i in candidates if lang in found[i]), None)
        if line is not None:
            text, word = found[line][lang]
        else:  # a longer search in this language alone
            line, text, word = next(
                (
                    (i, *hits[0])
                    for i in by_length[:FALLBACK]
                    if (hits := guessed(fill, lang, lines[lang][i]))
                ),
                (None, "", ""),
            )
        if line is not None:
            chosen[lang] = {"text": text, "answer": word, "source": SOURCE, "line": line}
    pairs = choose_pairs(fill, lines, english, by_length[:PAIR_CANDIDATES])
    return {"fill-mask": chosen, "shared_line": best, "cross-lingual": pairs}


def write(model: Path, corpus: Path) -> Path:
    """Choose the examples of ``model`` and write them to its ``examples.json``."""
    path = Path(model) / EXAMPLES_FILE
    path.write_text(json.dumps(choose(model, corpus), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
