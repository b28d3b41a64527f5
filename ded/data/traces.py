"""Programmatic <think> traces for the embedded default's teacher warm start.

A 135M model does not write `<think>` on its own. Each default teacher is the
same small model fine-tuned briefly (through the training stage) on traces
written here from worked procedural problems, in one of two styles, so the two
candidates differ and the smoke test has something to choose. The problems
come from a seed stream disjoint from the seeds and benchmarks.
"""

from __future__ import annotations

from ..sample.prompts import user_message
from .procedural import Worked, to_problem, worked_problems

WARMSTART_SEED_OFFSET = 20_000


def math_trace(w: Worked, style: str) -> str:
    if style == "terse":
        reasoning = "; ".join(w.steps) + "."
        return f"<think>{reasoning}</think>\nThe answer is $\\boxed{{{w.answer}}}$."
    steps = "\n".join(f"Step {i}: {s}." for i, s in enumerate(w.steps, 1))
    reasoning = (f"Let me work through this carefully.\n{steps}\n"
                 f"Let me double-check: the result is {w.answer}.")
    return f"<think>\n{reasoning}\n</think>\nSo the final answer is $\\boxed{{{w.answer}}}$."


def code_trace(w: Worked, style: str) -> str:
    program = w.answer.rstrip("\n")
    if style == "terse":
        return f"<think>{'; '.join(w.steps)}.</think>\n```python\n{program}\n```"
    steps = "\n".join(f"Step {i}: {s}." for i, s in enumerate(w.steps, 1))
    reasoning = f"I need a program that reads standard input.\n{steps}\nThis handles every case in the statement."
    return f"<think>\n{reasoning}\n</think>\nHere is the program:\n```python\n{program}\n```"


def warmstart_rows(teacher: str, style: str, n: int, domains: list[str], seed: int = 0) -> list[dict]:
    """CORPUS_ROW records: `n` traces split evenly over `domains`."""
    rows = []
    per = max(1, n // max(1, len(domains)))
    for domain in domains:
        for w in worked_problems(domain, per, WARMSTART_SEED_OFFSET + seed):
            problem = to_problem(w, domain, source=f"warmstart-{domain}")
            trace = math_trace(w, style) if domain == "math" else code_trace(w, style)
            rows.append({"question_id": problem["id"], "sample_id": 0, "teacher": teacher, "domain": domain,
                         "prompt": user_message(problem), "response": trace})
    return rows
