"""Evaluation: metric arithmetic, scoring of every benchmark format, score
tables, lm-eval command lines and results conversion, and one real lm-eval run."""


import os
import shutil
import time

import pytest
from support.evaluation import FIXTURES

from ded.evaluate.lm_eval_suite import (
    find_results_json,
    run_suite,
)


@pytest.mark.slow
def test_real_lm_eval_run_on_local_tasks(tiny_llama_dir, tmp_path):
    """lm-eval 0.4.13 itself, on task YAMLs that read JSONL files shipped in tests/fixtures (no hub)."""
    tasks_dir = tmp_path / "tasks"
    shutil.copytree(FIXTURES / "lm_eval_tiny", tasks_dir)
    # One lm-eval call (one few-shot setting) keeps this to one model load; the
    # split into calls per few-shot setting is checked on the command lines above.
    settings = {"tasks": [{"name": "ded_tiny_choice"}, {"name": "ded_tiny_gen"}],
                "batch_size": 4, "device": "cpu", "include_path": str(tasks_dir),
                "model_args": {"dtype": "float32"}}
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_DATASETS_CACHE=str(tmp_path / "hf_datasets"), HF_HOME=str(tmp_path / "hf_home"))
    start = time.time()
    # The task YAMLs name their data files relative to the working folder.
    rows, raw = run_suite(settings, tiny_llama_dir, "base/tiny", tmp_path / "work", cwd=tasks_dir, env=env,
                          log_path=tmp_path / "lm_eval.log")
    elapsed = time.time() - start
    got = {(r["benchmark"], r["metric"]): (r["value"], r["n"]) for r in rows}
    assert got[("ded_tiny_choice", "acc")][1] == 7 and 0.0 <= got[("ded_tiny_choice", "acc")][0] <= 1.0
    assert got[("ded_tiny_gen", "exact_match:first-number")][1] == 3
    assert set(raw) == {"fewshot-default"}
    assert raw["fewshot-default"]["lm_eval_version"] == "0.4.13"
    assert raw["fewshot-default"]["n-samples"]["ded_tiny_choice_a"]["effective"] == 4
    # resumable: a second call reuses the results instead of rerunning lm-eval
    again, _ = run_suite(settings, tiny_llama_dir, "base/tiny", tmp_path / "work", cwd=tasks_dir, env=env)
    assert again == rows
    assert find_results_json(tmp_path / "work" / "fewshot-default") is not None
    print(f"real lm-eval run: {elapsed:.1f}s")


@pytest.mark.slow
def test_real_lm_eval_on_the_generated_suite_and_no_stale_results(tiny_llama_dir, tmp_path):
    """The default's Table 6 suite through lm-eval itself; a retrained model in the same folder is scored anew."""
    from ded.evaluate.ood_tasks import TASKS, write_suite

    work = tmp_path / "wf"
    write_suite(work / "results/data/ood_tasks", 4, 0, data_dir="results/data/ood_tasks")
    model = tmp_path / "model"
    shutil.copytree(tiny_llama_dir, model)
    settings = {"tasks": [{"name": t} for t in TASKS], "batch_size": 4, "device": "cpu",
                "include_path": "results/data/ood_tasks", "model_args": {"dtype": "float32"}}
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_DATASETS_CACHE=str(tmp_path / "hf_datasets"), HF_HOME=str(tmp_path / "hf_home"))
    log_path = tmp_path / "lm_eval.log"
    rows, _ = run_suite(settings, model, "base/tiny", tmp_path / "progress", cwd=work, env=env, log_path=log_path)
    got = {(r["benchmark"], r["metric"]): r["n"] for r in rows}
    assert got[("ded_ood_wordmath", "exact_match:first-number")] == 4 and got[("ded_ood_choice", "acc")] == 4
    # the same model again: reused; a retrained one (other weights, same folder): run again
    assert run_suite(settings, model, "base/tiny", tmp_path / "progress", cwd=work, env=env) == (rows, _)
    stamp = tmp_path / "progress/fewshot-default/call.json"
    before = stamp.read_text()
    from safetensors.torch import load_file, save_file

    weights = next(model.glob("*.safetensors"))
    tensors = load_file(weights)
    save_file({k: v + 0.01 if v.is_floating_point() else v for k, v in tensors.items()}, weights,
              metadata={"format": "pt"})
    run_suite(settings, model, "base/tiny", tmp_path / "progress", cwd=work, env=env, log_path=log_path)
    assert stamp.read_text() != before
