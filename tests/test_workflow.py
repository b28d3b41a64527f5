"""The workflow as a whole: config validation, and dry runs of both configs."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _copy_workflow(dst: Path) -> Path:
    for name in ("Snakefile", "rules", "scripts", "ded", "config", "profiles", "envs", "report"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy(src, dst / name)
    return dst


def _dry_run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "-n", "--cores", "1", *args], cwd=workdir, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    return _copy_workflow(tmp_path_factory.mktemp("wf"))


@pytest.mark.parametrize("configfile", [None, "config/paper.yaml"])
def test_dry_run_builds_dag_without_network(workflow_copy, configfile):
    args = ["--configfile", configfile] if configfile else []
    start = time.time()
    proc = _dry_run(workflow_copy, *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "total" in proc.stdout
    print(f"dry run of {configfile or 'default'}: {time.time() - start:.1f}s")


def test_paper_config_has_the_papers_models(workflow_copy):
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    assert set(paper["teachers"]) == {"deepseek-r1", "qwq-32b", "qwen3-32b", "qwen3-235b-a22b"}
    assert set(paper["students"]) == {"r1-distill-qwen-32b", "qwen2.5-32b-instruct", "phi-4"}
    assert paper["seeds"]["math"]["path"] == "simplescaling/s1K"
    assert paper["seeds"]["code"]["n"] == 1000


def _with_config(workflow_copy: Path, tmp_path: Path, mutate) -> subprocess.CompletedProcess:
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    mutate(cfg)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return _dry_run(workflow_copy, "--configfile", str(path))


def test_unknown_key_is_named(workflow_copy, tmp_path):
    proc = _with_config(workflow_copy, tmp_path, lambda c: c["decontamination"].update(ngrams=8))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "ngrams" in out and "decontamination" in out


def test_unknown_student_key_is_named(workflow_copy, tmp_path):
    proc = _with_config(workflow_copy, tmp_path, lambda c: c["students"]["smol"].update(modle="smollm2-135m"))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "modle" in out and "students" in out


def test_mistyped_key_is_named(workflow_copy, tmp_path):
    proc = _with_config(workflow_copy, tmp_path, lambda c: c["seeds"]["math"].update(n="many"))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "'many' is not of type" in out and "seeds" in out


def test_dangling_reference_is_named(workflow_copy, tmp_path):
    proc = _with_config(workflow_copy, tmp_path, lambda c: c["teachers"]["terse"].update(model="gpt-9"))
    assert proc.returncode != 0
    assert "teachers.terse.model = 'gpt-9' is not a key of `models`" in proc.stdout + proc.stderr
