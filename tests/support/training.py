"""Corpus rows and paths the training tests share."""

from __future__ import annotations

from support.workflow import ROOT  # noqa: F401 (shared)


def train_row(i: int, prompt: str | None = None, response: str | None = None) -> dict:
    a, b = 3 * i + 1, 7 * i + 2
    return {"question_id": f"q{i}", "sample_id": 0, "teacher": "t", "domain": "math",
            "prompt": prompt or f"What is {a} + {b}?",
            "response": response or f"<think>{a} plus {b} makes {a + b}.</think>The answer is \\boxed{{{a + b}}}."}
