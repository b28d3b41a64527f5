"""The filter's LLM judge: which answers it decides, what the verdicts keep, and the filter_samples rule
with a judge served by `python -m ded serve` (the local OpenAI-compatible server)."""


from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from support.judge import VERDICTS, judge_config, set_judge
from support.servers import served_model
from support.workflow import copy_workflow, snakemake

from ded.filter.judge import parse_verdict
from ded.io import read_records, write_records

PROBLEMS = [
    {"id": "proof", "domain": "math", "source": "test", "prompt": "Prove that the sum of two even numbers is even.",
     "gold": None, "gold_kind": "none"},
    {"id": "sum", "domain": "math", "source": "test", "prompt": "What is 2 + 2?", "gold": "4", "gold_kind": "math"},
]


ANSWERS = [  # (question, answer after </think>)
    ("proof", "Let a = 2m and b = 2n. Then a + b = 2(m + n), which is even."),
    ("sum", "The answer is \\boxed{4}."),
    ("sum", "The answer is \\boxed{5}."),
]


def _teacher_sample(i: int, qid: str, answer: str) -> dict:
    text = f"<think>Work it out.</think>{answer}"
    return {"question_id": qid, "sample_id": i, "model": "t", "raw_text": text, "text": text,
            "reasoning": "Work it out.", "answer": answer, "completion_tokens": 20, "finish_reason": "stop"}


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Only filter_samples may run: the seeds and samples the test wrote stand in for their rules."""
    return snakemake(workdir, *args, "--allowed-rules", "filter_samples", configfile="cfg.yaml")


@pytest.fixture
def served_judge(smollm2_dir):
    """SmolLM2-135M-Instruct behind `python -m ded serve`, as an OpenAI-compatible endpoint on 127.0.0.1."""
    with served_model("ded", "serve", "--model-path", str(smollm2_dir), "--model-name", "smol-judge",
                      "--batch-size", "4") as api_base:
        yield api_base


@pytest.mark.slow
def test_filter_rule_with_a_served_judge(tmp_path, served_judge):
    judge = {"model": "judge", "backend": "openai", "api_base": served_judge, "api_model": "smol-judge",
             "max_new_tokens": 24, "decides": ["no_gold", "unparseable", "wrong"], "concurrency": 2}
    wf = copy_workflow(tmp_path, config=judge_config(judge))
    write_records(wf / "results/data/seeds/math.jsonl", PROBLEMS, "problem")
    write_records(wf / "results/samples/t/math.jsonl",
                  [_teacher_sample(i, q, a) for i, (q, a) in enumerate(ANSWERS)], "sample")
    started = time.monotonic()
    proc = _snakemake(wf, VERDICTS)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"filter_samples with a served judge: {time.monotonic() - started:.1f} s")
    verdicts = read_records(wf / VERDICTS, "verdict")
    by_id = {v["sample_id"]: v for v in verdicts}
    # the proof (no gold) and the wrong sum (a second opinion) went to the judge; the right sum did not
    assert by_id[1]["verdict"] == "correct" and "judge" not in by_id[1]["checks"]
    assert by_id[0]["checks"]["judge"]["trigger"] == "no_gold"
    assert by_id[2]["checks"]["judge"]["trigger"] == "wrong"
    assert by_id[2]["checks"]["judge"]["rules"]["verdict"] == "wrong"
    for i in (0, 2):
        j, v = by_id[i]["checks"]["judge"], by_id[i]
        assert j["model"] == "judge" and PROBLEMS[0 if i == 0 else 1]["prompt"] in j["prompt"]
        assert ANSWERS[i][1] in j["prompt"] and isinstance(j["output"], str) and j["output"].strip()
        assert j["decision"] == parse_verdict(j["output"]) and j["decision"] in ("YES", "NO", None)
        expected = {"YES": "correct", "NO": "wrong"}.get(j["decision"], j["rules"]["verdict"])
        assert v["verdict"] == expected and v["keep"] == (expected == "correct")
    kept = read_records(wf / "results/filter/t/math/kept.jsonl", "sample")
    assert [s["sample_id"] for s in kept] == [i for i in range(3) if by_id[i]["keep"]]
    log = (wf / "logs/filter_samples/t/math.log").read_text()
    assert "the judge (judge) decides 2 answer(s): 1 no_gold, 1 wrong" in log

    # the judge is part of the filter's inputs: what it decides reruns the filter, how calls are made does not
    set_judge(wf, concurrency=1, timeout_s=30)
    proc = _snakemake(wf, "-n", VERDICTS)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-2000:]
    set_judge(wf, decides=["no_gold"])
    proc = _snakemake(wf, "-n", VERDICTS)
    assert proc.returncode == 0 and "filter_samples" in proc.stdout, proc.stdout[-2000:]
    set_judge(wf, decides=["no_gold", "unparseable", "wrong"], api_model="another-judge")
    proc = _snakemake(wf, "-n", VERDICTS)
    assert proc.returncode == 0 and "filter_samples" in proc.stdout, proc.stdout[-2000:]
