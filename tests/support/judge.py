"""The filter stage with an LLM judge: the config and the edits its dry-run and real-run tests share."""

from __future__ import annotations

from pathlib import Path

import yaml


def judge_config(judge: dict) -> dict:
    # The teacher and the student are never run: the samples are written by the test.
    return {
        "models": {"student": {"source": {"hub": "org/student"}, "materialize": False},
                   "judge": {"source": {"hub": "org/judge"}, "materialize": False},
                   "local-judge": {"source": {"hub": "org/local-judge"}}},
        "students": {"s": {"model": "student"}},
        "teachers": {"t": {"model": "student", "backend": "openai", "api_base": "http://127.0.0.1:9/v1"}},
        "seeds": {"math": {"source": "procedural", "n": 2, "seed": 1}},
        "benchmarks": {"arith": {"loader": "procedural_math", "n": 2, "seed": 101}},
        "teacher_selection": {"pinned": "t"},
        "filter": {"workers": 1, "judge": judge},
    }


VERDICTS = "results/filter/t/math/verdicts.jsonl"


def set_judge(workdir: Path, **changes) -> None:
    cfg = yaml.safe_load((workdir / "cfg.yaml").read_text())
    cfg["filter"]["judge"] = changes.pop("judge") if "judge" in changes else {**cfg["filter"]["judge"], **changes}
    (workdir / "cfg.yaml").write_text(yaml.safe_dump(cfg))
