"""lm-eval's code suites (MBPP, HumanEval): lm-eval only generates, every program runs in the sandbox.

The fast tests score samples laid out as lm-eval 0.4.13's `--log_samples` writes them
(lm_eval/evaluator.py builds each row, loggers/evaluation_tracker.py sanitises and writes it)
with the task definitions lm-eval ships; the slow one runs lm-eval itself on a local MBPP.
"""


from __future__ import annotations

import json
import os

import pytest
import yaml
from support.mbpp import (
    LM_EVAL_TASKS,
    SQUARE,
    mbpp_doc,
    needs_confinement,
)

from ded.evaluate.lm_eval_suite import (
    find_results_json,
    run_suite,
)

MBPP_TINY = [
    mbpp_doc(11, "Write a function to square a number.", SQUARE["test_list"]),
    mbpp_doc(12, "Write a function to add two numbers.",
             ["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(-1, 1) == 0"]),
    mbpp_doc(13, "Write a function that returns the first element of a list.",
             ["assert first([1, 2]) == 1", "assert first(['a']) == 'a'", "assert first([0, 1]) == 0"]),
]


@pytest.mark.slow
@needs_confinement
def test_real_lm_eval_mbpp_is_generated_only_and_scored_in_the_sandbox(tiny_llama_dir, tmp_path):
    """lm-eval 0.4.13 on its own mbpp definition (data from a local file instead of the hub)."""
    from lm_eval.tasks import TaskManager

    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "mbpp_tiny.jsonl").write_text("".join(json.dumps(d) + "\n" for d in MBPP_TINY))
    (suite / "mbpp.yaml").write_text(yaml.safe_dump({
        "include": str(LM_EVAL_TASKS / "mbpp" / "mbpp.yaml"), "task": "mbpp", "dataset_path": "json",
        "dataset_name": None, "dataset_kwargs": {"data_files": {"test": "suite/mbpp_tiny.jsonl"}},
        "generation_kwargs": {"until": ["[DONE]"], "do_sample": False, "max_gen_toks": 48}}))
    settings = {"tasks": [{"name": "mbpp"}], "batch_size": 4, "device": "cpu", "include_path": "suite",
                "model_args": {"dtype": "float32"}}
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_DATASETS_CACHE=str(tmp_path / "hf_datasets"), HF_HOME=str(tmp_path / "hf_home"),
               HF_ALLOW_CODE_EVAL="1")  # what a user may have set: lm-eval gets 0 all the same
    tm = TaskManager(include_defaults=False, include_path=str(suite))
    log_path = tmp_path / "lm_eval.log"
    rows, raw = run_suite(settings, tiny_llama_dir, "base/tiny", tmp_path / "work", cwd=tmp_path, env=env,
                          log_path=log_path, task_manager=tm)
    got = {r["metric"]: (r["value"], r["n"]) for r in rows if r["benchmark"] == "mbpp"}
    assert got["pass_at_1"][1] == 3 and 0.0 <= got["pass_at_1"][0] <= 1.0, log_path.read_text()[-3000:]
    code = raw["fewshot-default-code"]
    assert code["results"]["mbpp"]["bypass,none"] == 999  # lm-eval computed nothing
    assert sum(code["sandbox"]["verdicts"]["mbpp"].values()) == 3
    # Restarted: lm-eval's generations are reused (no second run), the sandbox scores them again.
    results = find_results_json(tmp_path / "work/fewshot-default-code")
    again, _ = run_suite(settings, tiny_llama_dir, "base/tiny", tmp_path / "work", cwd=tmp_path, env=env,
                         log_path=log_path, task_manager=tm)
    assert again == rows and find_results_json(tmp_path / "work/fewshot-default-code") == results
