"""Every request limit of the app in one place: what one request may ask for, so that one visitor's request stays
cheap in time and memory for everyone else. The UI states them next to the inputs (:func:`text_info`)."""

from __future__ import annotations

MAX_TEXT_CHARS = 1000  # a sentence or a short paragraph (fill-mask, generation prompt, classification)
MAX_CONTEXT_CHARS = 5000  # a QA context
MAX_TOKENIZE_CHARS = 5000  # the tokenizer inspector (one row per token in the table)
MAX_MASKS = 12  # masks in one text (one chart per mask)
MAX_ATTENTION_CHARS = 600  # attention: the text and its translation together
MAX_ATTENTION_WORDS = 64  # attention: words of both together (the cost grows with the square of the tokens)
MAX_ATTENTION_TOKENS = (
    128  # attention: tokens of both together (scripts written without spaces have few "words")
)
MAX_LINES = 6  # compare languages: sentences at once
MAX_TOP_K = 20  # fill-mask guesses per mask
MAX_ANSWERS = 10  # QA answer spans
MAX_NEW_TOKENS = 128  # generation
MAX_SEED = 2**32 - 1  # generation seeds (-1 = random)
MAX_TEMPERATURE = 10.0
MAX_LANGUAGE_CHARS = 32  # a language code as typed in a picker
MAX_MODEL_CHARS = 200  # a model name, Hub id or folder as typed
MAX_CHOICE_CHARS = 200  # any other picker value
GRID_SIDE = 48  # attention grid: a small panel shows at most this many cells a side (block means beyond)
EXPORT_CELLS = 100_000  # attention exports: beyond this many weights, the CSV holds the mean over heads
SESSION_TTL_S = 600  # per-visitor state (the last attention) is dropped after this long


def text_info(max_chars: int, extra: str = "") -> str:
    """The line shown under a text input: its limit (and any other)."""
    return f"Up to {max_chars:,} characters{f'; {extra}' if extra else ''}."
