"""Problems the sampling tests share."""

from __future__ import annotations


def math_problem(i=0, **kw):
    rec = {"id": f"m{i}", "domain": "math", "source": "t", "prompt": f"What is {i} + {i}?", "gold": str(2 * i),
           "gold_kind": "math"}
    rec.update(kw)
    return rec

CODE = {"id": "c0", "domain": "code", "source": "t", "prompt": "Read n and print n squared.", "gold": None,
        "gold_kind": "tests", "tests": [{"input": "3\n", "output": "9\n"}]}
