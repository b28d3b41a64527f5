"""The reasoning format: '<think>reasoning</think>answer'.

Teachers write reasoning in different ways: some templates prefill `<think>`
so the model emits only the closing tag (QwQ-32B, R1-Distill), reasoning APIs
return it apart (`reasoning_content`). Everything is normalised to one text;
the format filter then judges that text.

Two readings of a text: `split` (strict) is the training corpus's format
filter; `lenient_answer` is for scoring a model's answers (evaluation, the
student's pass rates), where models that never write <think> must be judged on
their answers, not on a format they were not asked for.
"""

from __future__ import annotations

import re
from typing import NamedTuple

OPEN, CLOSE = "<think>", "</think>"


class Split(NamedTuple):
    reasoning: str | None  # inside the single <think>...</think> pair
    answer: str | None  # text after </think>, stripped
    problem: str | None  # why the text is not well-formed, or None


def normalise(raw_text: str, reasoning_content: str | None = None, prefilled_think: bool = False) -> str:
    """One canonical text from whatever the backend returned."""
    text = raw_text or ""
    if reasoning_content is not None:
        return f"{OPEN}{reasoning_content.strip()}{CLOSE}\n{text.lstrip()}"
    if prefilled_think and OPEN not in text and CLOSE in text:
        return OPEN + text
    return text


def split(text: str) -> Split:
    """Split a normalised text; exactly one well-ordered pair and a non-empty answer are required."""
    n_open, n_close = text.count(OPEN), text.count(CLOSE)
    if n_open == 0 and n_close == 0:
        return Split(None, None, "no <think> block")
    if n_open != 1 or n_close != 1:
        return Split(None, None, f"expected one <think>...</think> pair, found {n_open} open and {n_close} close tags")
    start, end = text.index(OPEN), text.index(CLOSE)
    if end < start:
        return Split(None, None, "</think> comes before <think>")
    if text[:start].strip():
        return Split(None, None, "text before <think>")
    reasoning = text[start + len(OPEN):end].strip()
    answer = text[end + len(CLOSE):].strip()
    if not reasoning:
        return Split("", answer or None, "empty reasoning")
    if not answer:
        return Split(reasoning, None, "no answer after </think>")
    return Split(reasoning, answer, None)


def lenient_answer(text: str) -> tuple[str | None, str | None]:
    """(answer, None), or (None, why the text is malformed), for a response with or without <think>.

    One complete <think>...</think> pair: the answer is the text after </think>
    (never anything inside the reasoning, which may try several answers). No tag
    at all: the whole response is the answer. Anything else (an unclosed <think>,
    several pairs, a </think> with no <think> before it, which a normalised text
    has only when the template did not prefill one) is malformed, as is an empty
    answer. Text before <think> and an empty reasoning are accepted.
    """
    n_open, n_close = text.count(OPEN), text.count(CLOSE)
    if n_open == 0 and n_close == 0:
        answer = text.strip()
        return (answer, None) if answer else (None, "empty response")
    if n_open == 1 and n_close == 0:
        return None, "<think> is never closed"
    if n_open == 0:
        return None, f"{n_close} </think> without a <think>"
    if n_open != 1 or n_close != 1:
        return None, f"expected one <think>...</think> pair, found {n_open} open and {n_close} close tags"
    start, end = text.index(OPEN), text.index(CLOSE)
    if end < start:
        return None, "</think> comes before <think>"
    answer = text[end + len(CLOSE):].strip()
    return (answer, None) if answer else (None, "no answer after </think>")


_BOXED = re.compile(r"\\boxed\s*\{")


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} in `text`, braces balanced; None if absent."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    i = starts[-1]
    depth = 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j].strip()
    return None
