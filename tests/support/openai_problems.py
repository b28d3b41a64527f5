"""Problems the OpenAI-backend tests send."""

from __future__ import annotations


def numbered_problem(i):
    return {"id": f"q{i}", "domain": "math", "source": "t", "prompt": f"Question number {i}?", "gold": "1",
            "gold_kind": "math"}
