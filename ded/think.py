"""The reasoning format: '<think>reasoning</think>answer'.

Teachers write reasoning in different ways: some templates prefill `<think>`
so the model emits only the closing tag (QwQ-32B, R1-Distill), reasoning APIs
return it apart (`reasoning_content`). Everything is normalised to one text;
the format filter then judges that text.
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
