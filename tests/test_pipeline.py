"""The whole workflow, for real, on a tiny version of the embedded default.

One run through every stage (warm start, sampling, filter, smoke test,
compression, diversity, training, evaluation, analysis), then the rebuild
rules: a rerun does nothing, a changed threshold reruns only what reads it,
an edited comment retrains nothing.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

pytestmark = pytest.mark.slow


def tiny_config() -> dict:
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["seeds"]["math"].update(n=8)
    cfg["seeds"]["code"].update(n=4)
    for teacher in cfg["teachers"].values():
        teacher["max_tokens"] = 128
        teacher["warm_start"]["n"] = 32
    cfg["sampling"].update(samples_per_question=3)
    cfg["compression"].update(samples=2, max_tokens=64)
    for bench, n in (("arith", 6), ("stdio", 3)):
        cfg["benchmarks"][bench].update(n=n, samples=1, pass_k=[1], max_tokens=64)
    cfg["corpora"]["variants"] = ["full", "right_hard_diverse", "mixed"]
    cfg["train"].update(max_steps=2, save_steps=2)
    cfg["train"]["warm_start"].update(max_steps=20)
    cfg["train"]["smoke"].update(max_steps=2, save_steps=2)
    cfg["analysis"]["entropy"].update(max_tokens=64)
    cfg["analysis"]["pca"].update(max_prompts=4, max_tokens=128)
    return cfg


def _snakemake(workdir: Path, *args: str, timeout: int = 3000) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--cores", "2", "--configfile", "tiny.yaml", *args], cwd=workdir,
                          capture_output=True, text=True, timeout=timeout)


def _planned_jobs(workdir: Path) -> list[str]:
    """(rule wildcards) of every job a dry run would run."""
    proc = _snakemake(workdir, "-n", timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs, rule = [], None
    for line in proc.stdout.splitlines():
        m = re.match(r"^(?:rule|checkpoint|localrule) (\w+):", line)
        if m:
            rule = m.group(1)
            jobs.append(rule)
        m = re.match(r"^\s+wildcards: (.*)$", line)
        if m and rule:
            jobs[-1] = f"{rule} {m.group(1)}"
    return jobs


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("run")
    for name in ("Snakefile", "rules", "scripts", "ded", "config", "profiles", "envs", "report"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, work / name)
    (work / "tiny.yaml").write_text(yaml.safe_dump(tiny_config()))
    start = time.time()
    proc = _snakemake(work)
    print(f"tiny end-to-end run: {time.time() - start:.0f} s")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return work


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_every_stage_made_non_empty_outputs(finished_run):
    r = finished_run / "results"
    for domain in ("math", "code"):
        assert _lines(r / f"data/seeds/{domain}.jsonl")
        for teacher in ("terse", "verbose"):
            samples = _lines(r / f"samples/{teacher}/{domain}.jsonl")
            verdicts = _lines(r / f"filter/{teacher}/{domain}/verdicts.jsonl")
            assert len(samples) == len(verdicts) > 0
            assert all(v["reason"] for v in verdicts)  # nothing rejected without a reason
        assert _lines(r / f"passrate/smol/{domain}.jsonl")
    selection = json.loads((r / "selection/smol/teacher.json").read_text())
    assert selection["teacher"] in ("terse", "verbose") and set(selection["scores"]) == {"terse", "verbose"}
    chosen = selection["teacher"]
    for corpus in ("math-full", "code-full", "math-right_hard_diverse", "code-right_hard_diverse", "mixed"):
        assert _lines(r / f"corpus/smol/{chosen}/{corpus}.jsonl"), corpus
        assert (r / f"train/smol/{chosen}/{corpus}/model/config.json").exists()
    with (r / "scores.tsv").open() as fh:
        models = {row["model"] for row in csv.DictReader(fh, delimiter="\t")}
    assert {"base/smol", f"smoke/smol/{chosen}", f"trained/smol/{chosen}/mixed"} <= models
    for table in range(1, 8):
        assert (r / f"analysis/tables/table{table}.md").stat().st_size > 0
    figures = list((r / "analysis").rglob("*.png"))
    assert len(figures) >= 3 and all(f.stat().st_size > 10_000 for f in figures)


def test_rerun_does_nothing(finished_run):
    assert _planned_jobs(finished_run) == []


def test_changed_threshold_reruns_only_what_reads_it(finished_run):
    cfg = yaml.safe_load((finished_run / "tiny.yaml").read_text())
    cfg["compression"]["threshold"] = 0.25
    (finished_run / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    try:
        jobs = _planned_jobs(finished_run)
    finally:
        cfg["compression"]["threshold"] = 0.5
        (finished_run / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    rules = {j.split()[0] for j in jobs}
    corpora = sorted(re.search(r"corpus=([\w-]+)", j).group(1) for j in jobs if j.startswith("build_corpus"))
    # mixed is drawn from the DED corpora, so it follows them.
    assert corpora == ["code-right_hard_diverse", "math-right_hard_diverse", "mixed"]
    assert not rules & {"sample_teacher", "filter_samples", "train_warmstart", "train_smoke", "select_teacher",
                        "sample_student", "pass_rates", "load_seeds", "prepare_model"}
    assert "train_student" in rules  # the corpora it changed are retrained


def test_comment_in_a_script_retrains_nothing(finished_run):
    script = finished_run / "scripts/train_student.py"
    original = script.read_text()
    script.write_text(original + "\n# an edited comment\n")
    try:
        assert _planned_jobs(finished_run) == []
    finally:
        script.write_text(original)
