"""The sample_teacher rule: a real run on a tiny model, and where each kind of teacher gets its model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from support.workflow import copy_workflow, snakemake

from ded.io import read_records


def _config(model_dir: Path) -> dict:
    return {
        "models": {"tiny": {"source": {"path": str(model_dir)}},
                   "remote": {"source": {"hub": "org/remote"}, "materialize": False}},
        "students": {"s": {"model": "tiny"}},
        "teachers": {"t": {"model": "tiny", "max_tokens": 6, "top_p": 1.0},
                     "api": {"model": "remote", "backend": "openai", "api_base": "http://127.0.0.1:9/v1"},
                     "warm": {"model": "tiny", "warm_start": {"style": "terse"}}},
        "seeds": {"math": {"source": "procedural", "n": 3, "seed": 1},
                  "code": {"source": "procedural", "n": 2, "seed": 2}},
        "benchmarks": {"arith": {"loader": "procedural_math", "n": 3, "seed": 101}},
        "sampling": {"samples_per_question": 2, "batch_size": 4, "seed": 0},
        "diversity": {"trajectories_per_question": 1},  # below M, as config validation requires
    }


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return snakemake(workdir, *args, configfile="cfg.yaml")


@pytest.fixture(scope="module")
def sample_wf(tmp_path_factory, tiny_llama_dir) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("wf_sample"), config=_config(tiny_llama_dir))


def test_sample_teacher_rule_runs(sample_wf):
    proc = snakemake(sample_wf, "results/samples/t/math.jsonl", "results/samples/t/code.jsonl", cores=2,
                     configfile="cfg.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    seeds = read_records(sample_wf / "results/data/seeds/math.jsonl", "problem")
    samples = read_records(sample_wf / "results/samples/t/math.jsonl", "sample")
    assert [(r["question_id"], r["sample_id"]) for r in samples] == [(p["id"], s) for p in seeds for s in range(2)]
    assert all(r["model"] == "t" and r["backend"] == "hf" and r["completion_tokens"] <= 6 for r in samples)
    assert len(read_records(sample_wf / "results/samples/t/code.jsonl", "sample")) == 4
    assert (sample_wf / "results/.progress/samples/t/math.jsonl").exists()
    assert (sample_wf / "logs/sample_teacher/t/math.log").read_text().count("samples written") == 1
    assert (sample_wf / "benchmarks/sample_teacher/t/math.tsv").exists()
    # a changed sampling setting reruns the job (params trigger), and the old progress is not mixed in
    cfg = yaml.safe_load((sample_wf / "cfg.yaml").read_text())
    cfg["teachers"]["t"]["temperature"] = 0.0
    (sample_wf / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    proc = _snakemake(sample_wf, "-n", "results/samples/t/math.jsonl")
    assert proc.returncode == 0 and "sample_teacher" in proc.stdout, proc.stdout[-2000:]


def test_teacher_model_inputs(sample_wf):
    # an API teacher needs no model folder, a warm-started one its trained folder
    proc = _snakemake(sample_wf, "-n", "results/samples/api/math.jsonl", "results/samples/warm/math.jsonl")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "resources/models/remote" not in proc.stdout
    assert "results/teachers/warm/model" in proc.stdout


def test_schema_types_and_closes_teacher_keys(sample_wf):
    from ded.config import ConfigError
    from ded.settings import resolve_config

    cfg = yaml.safe_load((sample_wf / "cfg.yaml").read_text())
    resolve_config(cfg)
    assert cfg["teachers"]["api"]["max_retries"] == 6 and cfg["sampling"]["seed"] == 0  # defaults filled
    for key, value in (("temprature", 0.5), ("backend", "tgi"), ("top_p", 0)):
        bad = yaml.safe_load((sample_wf / "cfg.yaml").read_text())
        bad["teachers"]["t"][key] = value
        with pytest.raises(ConfigError, match=key):
            resolve_config(bad)
