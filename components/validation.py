"""One validation layer for every endpoint: each argument is checked before any work, and a bad one is answered
with a ``gr.Error`` naming the input and what is wrong (no traceback in the server log: bad input is expected).

Two levels:

- :func:`harden` (called once on the app) checks every event's raw values before Gradio's own preprocessing, which
  would otherwise fail with a generic error: too few values, a wrong JSON type for a component (text for a slider, a
  number for a text box), NaN or infinite numbers, lone surrogates in any string.
- :func:`endpoint` decorates a handler with one spec per argument (:class:`Text`, :class:`Integer`, ...): missing
  values, lengths (limits from :mod:`components.limits`), ranges, choices. It also applies
  :func:`components.common.friendly`, so the library's own errors become messages.

Usage in a tab::

    @endpoint(text=Text("Text", MAX_TEXT_CHARS), lang=Language(), top_k=Integer("Top-k", 1, MAX_TOP_K), model=Model())
    def _run(text, lang, top_k, model): ...
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from . import limits
from .common import friendly, refuse


def at_most_masks(texts: Sequence[str], mask_token: str) -> None:
    """Refuse more than :data:`limits.MAX_MASKS` masks (``<mask>``, ``[MASK]`` or the model's own) in ``texts``."""
    from xlm.pipelines.inputs import MASK_ALIASES

    found = sum(text.count(m) for text in texts for m in {*MASK_ALIASES, mask_token})
    if found > limits.MAX_MASKS:
        raise refuse(f"Too many masks: {found} (at most {limits.MAX_MASKS} at once).")


def at_most_words(texts: Sequence[str], max_words: int, what: str) -> None:
    """Refuse more than ``max_words`` words (runs of non-space) in ``texts`` together."""
    found = sum(len(text.split()) for text in texts)
    if found > max_words:
        raise refuse(f"Too many words for {what}: {found} (at most {max_words} at once).")


def at_most_tokens(
    tokenizer: Any, texts: Sequence[tuple[str, str | None]], max_tokens: int, what: str
) -> None:
    """Refuse more than ``max_tokens`` tokens in ``texts`` ((text, language) pairs) together: the real cost of an
    attention-like request, also for scripts written without spaces, counted before the model runs."""
    found = sum(len(tokenizer.tokenize(text, lang=lang)) for text, lang in texts if text.strip())
    if found > max_tokens:
        raise refuse(f"Too many tokens for {what}: {found} (at most {max_tokens} at once).")


def _kind(value: Any) -> str:
    """How a wrong value is named in a message (never the value itself: it may be huge)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    return {str: "text", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def first_surrogate(text: str) -> int | None:
    """The position of the first lone UTF-16 surrogate in ``text`` (which no UTF-8 file or page can hold)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return err.start
    return None


def check_string(label: str, value: str) -> str:
    """A string without lone surrogates."""
    at = first_surrogate(value)
    if at is not None:
        raise refuse(
            f"{label} holds an invalid character at position {at} (a lone surrogate, not Unicode text): remove it."
        )
    return value


def check_number(label: str, value: Any) -> float | int:
    """A finite int or float (true/false, text, NaN and infinity are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(f"{label} must be a number, not {_kind(value)}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise refuse(f"{label} must be a finite number, not {value}.")
    return value


@dataclass(frozen=True)
class Text:
    """A text input: a string of at most ``max_chars`` characters; ``None`` is missing unless not ``required``."""

    label: str
    max_chars: int = limits.MAX_TEXT_CHARS
    required: bool = True

    def __call__(self, value: Any) -> str:
        if value is None:
            if self.required:
                raise refuse(f"{self.label} is missing.")
            return ""
        if not isinstance(value, str):
            raise refuse(f"{self.label} must be text, not {_kind(value)}.")
        if len(value) > self.max_chars:
            raise refuse(
                f"{self.label} is too long: {len(value):,} characters (at most {self.max_chars:,} here)."
            )
        return check_string(self.label, value)


@dataclass(frozen=True)
class Name:
    """A short name typed or picked (a language, a layer, a head...): ``None`` or ``""`` is no choice."""

    label: str
    max_chars: int = limits.MAX_CHOICE_CHARS

    def __call__(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(check_number(self.label, value))
        if not isinstance(value, str):
            raise refuse(f"{self.label} must be text, not {_kind(value)}.")
        if len(value) > self.max_chars:
            raise refuse(f"{self.label} is too long ({len(value):,} characters; at most {self.max_chars}).")
        return check_string(self.label, value)


@dataclass(frozen=True)
class Language(Name):
    """A language code as typed in a picker (the model says whether it knows it)."""

    label: str = "Language"
    max_chars: int = limits.MAX_LANGUAGE_CHARS


@dataclass(frozen=True)
class Model:
    """The model picked or typed: a non-empty name, never echoed whole when it is too long."""

    label: str = "Model"

    def __call__(self, value: Any) -> str:
        if value is not None and not isinstance(value, str):
            raise refuse(f"{self.label} must be a name or a path, not {_kind(value)}.")
        name = Name(self.label, limits.MAX_MODEL_CHARS)(value)
        if not name or not name.strip():
            raise refuse("No model: pick one at the top, or load one in the Model tab.")
        return name.strip()


@dataclass(frozen=True)
class Integer:
    """A whole number within [low, high] (a float such as 5.0 counts; NaN, 2.5 or 10**30 do not)."""

    label: str
    low: int
    high: int
    allow_none: bool = False

    def __call__(self, value: Any) -> int | None:
        if value is None and self.allow_none:
            return None
        number = check_number(self.label, value)
        if number != int(number):
            raise refuse(f"{self.label} must be a whole number, not {number}.")
        if not self.low <= number <= self.high:
            shown = f"{number:.3g}" if abs(number) >= 1e6 else str(int(number))
            raise refuse(f"{self.label} must be between {self.low} and {self.high:,}, not {shown}.")
        return int(number)


@dataclass(frozen=True)
class Number:
    """A finite number within [low, high]."""

    label: str
    low: float
    high: float

    def __call__(self, value: Any) -> float:
        number = float(check_number(self.label, value))
        if not self.low <= number <= self.high:
            raise refuse(f"{self.label} must be between {self.low} and {self.high}, not {number:.6g}.")
        return number


@dataclass(frozen=True)
class Flag:
    """A checkbox: true or false (nothing counts as false)."""

    label: str

    def __call__(self, value: Any) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise refuse(f"{self.label} must be true or false, not {_kind(value)}.")
        return value


@dataclass(frozen=True)
class Choice:
    """One of fixed values."""

    label: str
    choices: Sequence[str]

    def __call__(self, value: Any) -> str:
        if value not in self.choices:
            raise refuse(f"{self.label} must be one of {', '.join(self.choices)}.")
        return value


def endpoint(**specs: Callable[[Any], Any]) -> Callable[[Callable], Callable]:
    """Check (and normalise) a handler's arguments by name before it runs, then run it under ``friendly``.
    Arguments without a spec (state, progress) pass unchecked."""

    def decorate(fn: Callable) -> Callable:
        signature = inspect.signature(fn)
        unknown = set(specs) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{fn.__name__} has no argument {', '.join(sorted(unknown))}")
        required = [name for name, p in signature.parameters.items() if p.default is inspect.Parameter.empty]

        def check(args: tuple, kwargs: dict) -> inspect.BoundArguments:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                raise refuse(
                    f"This request sent {len(args) + len(kwargs)} values; it takes {len(required)} "
                    f"({', '.join(required)})."
                ) from None
            for name, spec in specs.items():
                if name in bound.arguments:
                    bound.arguments[name] = spec(bound.arguments[name])
            return bound

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any):
                bound = check(args, kwargs)
                yield from fn(*bound.args, **bound.kwargs)

            return friendly(gen_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any):
            bound = check(args, kwargs)
            return fn(*bound.args, **bound.kwargs)

        return friendly(wrapper)

    return decorate


# -- raw values, before Gradio's preprocessing --------------------------------------------------------------------
def _label(block: Any) -> str:
    """A component's label without its explanation in parentheses ("Seed (-1 = random)" → "Seed")."""
    return (getattr(block, "label", None) or type(block).__name__).split(" (")[0]


def check_payload(block: Any, value: Any) -> None:
    """Refuse a raw value that Gradio's preprocessing of ``block`` would choke on (with a generic error)."""
    label = _label(block)
    if isinstance(value, str):
        check_string(label, value)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                check_string(label, item)
    if isinstance(block, gr.Slider | gr.Number):
        if value is None and isinstance(block, gr.Number):
            return
        check_number(label, value)
        low, high = getattr(block, "minimum", None), getattr(block, "maximum", None)
        if (low is not None and value < low) or (high is not None and value > high):
            shown = f"{value:.3g}" if abs(value) >= 1e6 else str(value)
            raise refuse(f"{label} must be between {low} and {high}, not {shown}.")
    elif isinstance(block, gr.Textbox):
        if value is not None and not isinstance(value, str):
            raise refuse(f"{label} must be text, not {_kind(value)}.")
    elif isinstance(block, gr.Checkbox):
        if value is not None and not isinstance(value, bool):
            raise refuse(f"{label} must be true or false, not {_kind(value)}.")
    elif isinstance(block, gr.Dropdown | gr.Radio):
        if isinstance(value, float):
            check_number(label, value)
        elif value is not None and not isinstance(value, str | int | list):
            raise refuse(f"{label} must be one of its choices, not {_kind(value)}.")


def harden(demo: gr.Blocks) -> gr.Blocks:
    """Check every event's raw values before Gradio preprocesses them (see :func:`check_payload`), and answer a
    request with too few values with a message naming the inputs. Gradio's own refusals while preprocessing (a
    value not among a dropdown's choices) keep their message and leave no traceback in the log."""
    original = demo.validate_inputs
    preprocess = demo.preprocess_data

    async def preprocess_data(*args: Any, **kwargs: Any) -> Any:
        try:
            return await preprocess(*args, **kwargs)
        except gr.Error as err:
            err.print_exception = False
            raise

    def validate_inputs(block_fn: Any, inputs: list[Any]) -> None:
        expected = block_fn.inputs
        if len(inputs) < len(expected):
            names = ", ".join(_label(b) for b in expected)
            raise refuse(
                f"This request sent {len(inputs)} value(s); /{block_fn.api_name or block_fn.name} takes "
                f"{len(expected)} ({names})."
            )
        props = set(getattr(block_fn, "component_prop_inputs", ()) or ())
        for i, (block, value) in enumerate(zip(expected, inputs, strict=False)):
            if i not in props and not getattr(block, "stateful", False):
                check_payload(block, value)
        original(block_fn, inputs)

    demo.validate_inputs = validate_inputs
    demo.preprocess_data = preprocess_data
    return demo
