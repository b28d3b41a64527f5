"""Training stage: YAML plan, export with cutoff dropping, real CPU training through LlamaFactory, resume."""


from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ded.io import write_records

ROOT = Path(__file__).resolve().parents[2]


def _row(i: int, prompt: str | None = None, response: str | None = None) -> dict:
    a, b = 3 * i + 1, 7 * i + 2
    return {"question_id": f"q{i}", "sample_id": 0, "teacher": "t", "domain": "math",
            "prompt": prompt or f"What is {a} + {b}?",
            "response": response or f"<think>{a} plus {b} makes {a + b}.</think>The answer is \\boxed{{{a + b}}}."}


@pytest.mark.slow
def test_snakemake_rules(tmp_path, tiny_llama_dir):
    """rules/train.smk: the three rules resolve; train_warmstart runs through its script."""
    (tmp_path / "resources/models").mkdir(parents=True)
    os.symlink(tiny_llama_dir, tmp_path / "resources/models/smollm2-135m")
    rows = [_row(i) for i in range(4)]
    for path in ("results/teachers/terse/warmstart.jsonl", "results/corpus/smol/terse/math-right.jsonl",
                 "results/smoke/smol/verbose/corpus.jsonl"):
        write_records(tmp_path / path, rows, "corpus_row")
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["train"]["warm_start"] = {"max_steps": 2, "save_steps": 1, "cutoff_len": 256, "learning_rate": 1e-4}
    config["corpora"]["variants"] = ["right"]  # the target below, whatever the default trains
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(
        f'configfile: "{ROOT}/config/config.yaml"\n'
        f'from ded.settings import resolve_config\nresolve_config(config, "{ROOT}/config/schema.yaml")\n'
        + "".join(f'include: "{ROOT}/rules/{name}.smk"\n'
                  for name in ("common", "resources", "data", "filter", "select", "evaluate", "train")))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    targets = ["results/teachers/terse/model", "results/train/smol/terse/math-right/model",
               "results/smoke/smol/verbose/model"]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(tmp_path), "--cores", "1",
           "--configfile", str(tmp_path / "config.yaml"), "--"]
    dry = subprocess.run(cmd[:-1] + ["-n", "--"] + targets, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    for rule in ("train_warmstart", "train_student", "train_smoke"):
        assert f"rule {rule}:" in dry.stdout
    proc = subprocess.run(cmd + targets[:1], env=env, capture_output=True, text=True, cwd=tmp_path)
    log_text = (tmp_path / "logs/train_warmstart/terse.log").read_text()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + log_text[-3000:]
    summary = json.loads((tmp_path / "results/teachers/terse/model/training_summary.json").read_text())
    assert summary["steps"] == 2 and summary["stage"] == "warm_start" and summary["gpus"] == 0
    assert summary["settings"]["learning_rate"] == 1e-4  # the stage's own, not the final training's
    assert (tmp_path / "results/.progress/warmstart/terse/train.yaml").exists()
    assert "trained results/teachers/terse/model" in log_text
