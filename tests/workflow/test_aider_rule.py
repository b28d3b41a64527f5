"""Rule aider_eval: Aider's Polyglot benchmark on an evaluated model, for real, through the workflow: the model
served by the hf backend's server for the job, Aider's harness run by the Aider environment, the scores in
scores.tsv and in Table 6's column (tests/model/test_aider.py checks the harness's outcomes exactly)."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
import yaml
from support.workflow import ROOT, copy_workflow, snakemake

from ded.filter import sandbox as S

AIDER_PYTHON = ROOT / ".venv-aider/bin/python"

pytestmark = pytest.mark.skipif(not S.setup().fs, reason="no mount namespace here: " + "; ".join(S.setup().notes))


def _config(model_dir: Path, python: Path) -> dict:
    return {
        "models": {"tiny": {"source": {"path": str(model_dir)}}},
        "students": {"s": {"model": "tiny"}},
        "teachers": {"t": {"model": "tiny", "max_tokens": 6}},
        "seeds": {"math": {"source": "procedural", "n": 2, "seed": 1}},
        "benchmarks": {"arith": {"loader": "procedural_math", "n": 2, "seed": 101}},
        "sampling": {"samples_per_question": 2},
        "diversity": {"trajectories_per_question": 1},
        "evaluation": {"aider": {"enabled": True, "exercises": str(ROOT / "tests/fixtures/aider_exercises"),
                                 "max_tokens": 16, "context_tokens": 2048, "test_timeout_s": 30,
                                 "python": str(python)}},
    }


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return snakemake(workdir, *args, cores=2, configfile="cfg.yaml", timeout=900)


@pytest.fixture(scope="module")
def aider_wf(tmp_path_factory, tiny_llama_dir) -> Path:
    assert AIDER_PYTHON.exists(), "the Aider environment is missing: `make install-aider` (make test installs it)"
    return copy_workflow(tmp_path_factory.mktemp("wf_aider"), config=_config(tiny_llama_dir, AIDER_PYTHON))


def test_aider_eval_scores_a_served_model_and_fills_table_6s_column(aider_wf):
    proc = _snakemake(aider_wf, "results/eval/base/s/aider/scores.tsv")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with (aider_wf / "results/eval/base/s/aider/scores.tsv").open() as fh:
        rows = {r["metric"]: r for r in csv.DictReader(fh, delimiter="\t")}
    assert set(rows) == {"pass_rate_1", "pass_rate_2"}
    assert all(r["benchmark"] == "aider_polyglot" and r["n"] == "3" for r in rows.values())
    assert float(rows["pass_rate_2"]["value"]) == 0.0  # a random tiny model solves nothing
    # Aider's own records of each exercise, kept where a killed job resumes
    progress = aider_wf / "results/.progress/aider/base/s/python/exercises/practice"
    assert sorted(p.parent.name for p in progress.glob("*/.aider.results.json")) == [
        "leap", "reverse-string", "sum-of-multiples"]
    log = (aider_wf / "logs/aider_eval/base/s.log").read_text()
    assert "ded.evaluate.aider" in log and "pass_rate_2" in log
    harness = (aider_wf / "resources/aider/harness.json").read_text()
    assert str(AIDER_PYTHON) in harness and '"aider": "0.86.2"' in harness
    # Table 6 reads it as an out-of-domain benchmark, at Aider's second attempt
    from ded.analysis.tables import table6_out_of_domain
    from ded.evaluate.tables import read_scores

    table = table6_out_of_domain(read_scores(aider_wf / "results/eval/base/s/aider/scores.tsv"),
                                 in_domain=["arith"])
    assert "aider_polyglot pass_rate_2 (%)" in table.columns, table.columns


def test_without_the_aider_environment_the_job_says_what_to_install(aider_wf):
    cfg = yaml.safe_load((aider_wf / "cfg.yaml").read_text())
    cfg["evaluation"]["aider"]["python"] = str(aider_wf / "no-such-venv/bin/python")
    (aider_wf / "missing.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(aider_wf, "results/eval/base/s/aider/scores.tsv", "--forcerun", "aider_harness", cores=1,
                     configfile="missing.yaml", timeout=600)
    assert proc.returncode != 0
    log = (aider_wf / "logs/aider_harness.log").read_text()
    assert "make install-aider" in log and "Traceback" not in log, log[-2000:]
    assert "aider_eval" not in proc.stdout.split("Error in rule", 1)[-1].split("\n", 1)[0]  # it stopped before


def test_enabled_without_exercises_is_a_config_error(aider_wf):
    cfg = yaml.safe_load((aider_wf / "cfg.yaml").read_text())
    cfg["evaluation"]["aider"]["exercises"] = None
    (aider_wf / "noex.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(aider_wf, "-n", cores=1, configfile="noex.yaml")
    assert proc.returncode != 0 and "evaluation.aider.exercises" in proc.stdout + proc.stderr
