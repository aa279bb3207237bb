"""What the pipelines accept, in a module free of torch: the mask token's friendly spellings and the bounds some
pipelines put on their input. The app reads them to lay out its page before any model (or torch) is loaded."""

from __future__ import annotations

from typing import Any

from ..errors import InputError

MASK_ALIASES = ("<mask>", "[MASK]")  # friendly spellings, replaced by the tokenizer's own mask token
NO_LANGUAGE = "none"  # language swap's ``other`` value: run without a language embedding
MAX_SENTENCES = 64  # embedding map: bounds the work of one map
MAX_SENTENCE_CHARS = 400  # embedding map: one sentence
# saliency: the longest text (or context) explained, a backward pass and an n × n rollout per request
MAX_SALIENCY_CHARS = 2_000


def with_mask_token(text: str, tokenizer: Any) -> str:
    """``text`` with the friendly mask spellings (``<mask>``, ``[MASK]``) written as ``tokenizer``'s own mask token."""
    for alias in MASK_ALIASES:
        text = text.replace(alias, tokenizer.mask_token)
    return text


def check_swappable(config: Any, family: Any) -> None:
    """Refuse, saying why, a model without language embeddings: language swap has nothing to swap."""
    if not family.language_embeddings:
        raise InputError(
            f"{family.name} models have no language embeddings: one set of weights reads every language "
            "and no language id goes in, so there is nothing to swap (the Compare languages tab shows how it "
            "reads each language)."
        )
    if not config.uses_language_embeddings:
        why = "use_lang_emb=false" if config.n_langs > 1 else "a single language"
        raise InputError(
            f"This checkpoint has no language embeddings ({why}): no language id goes in, so there is nothing "
            "to swap."
        )
