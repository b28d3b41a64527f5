"""lm-eval's MBPP task as the code-evaluation tests load it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ded.evaluate.lm_eval_code import (
    code_tasks,
)
from ded.filter import sandbox as S

lm_eval = pytest.importorskip("lm_eval")

LM_EVAL_TASKS = Path(lm_eval.__file__).parent / "tasks"

needs_confinement = pytest.mark.skipif(not S.setup().fs, reason="no mount namespace here: "
                                       + "; ".join(S.setup().notes))

def load_code_tasks():
    """lm-eval's own mbpp and humaneval definitions, indexed from their folders only (seconds, not a minute)."""
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_defaults=False, include_path=[str(LM_EVAL_TASKS / "mbpp"),
                                                           str(LM_EVAL_TASKS / "humaneval")])
    return code_tasks(["mbpp", "mbpp_instruct", "humaneval"], task_manager=tm)


def mbpp_doc(task_id: int, text: str, tests: list[str]) -> dict:
    return {"task_id": task_id, "text": text, "code": "", "test_list": tests, "test_setup_code": "",
            "challenge_test_list": []}

SQUARE = mbpp_doc(11, "Write a function to square a number.",
                  ["assert square(2) == 4", "assert square(-3) == 9", "assert square(0) == 0"])
