"""The workflow as a whole: config validation, and dry runs of both configs."""

import subprocess
import time
from pathlib import Path

import pytest
import yaml
from support.workflow import ROOT, dry_run, job_counts, offline_env, planned_jobs


@pytest.mark.parametrize("configfile", [None, "config/paper.yaml"])
def test_dry_run_builds_dag_without_network(workflow_copy, tmp_path, configfile):
    args = ["--configfile", configfile] if configfile else []
    start = time.time()
    proc = dry_run(workflow_copy, *args, env=offline_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = job_counts(proc.stdout)
    print(f"dry run of {configfile or 'default'}: {counts['total']} jobs in {time.time() - start:.1f}s "
          f"(up to the select_teacher checkpoint): {counts}")
    # The smoke test is planned in full; what follows the checkpoint waits for its choice.
    assert counts["select_teacher"] == (1 if configfile is None else 3)
    assert counts["train_smoke"] > 0 and "train_student" not in counts


def test_paper_dry_run_with_a_pinned_teacher_plans_every_stage(workflow_copy, tmp_path):
    """A pinned teacher needs no smoke test, so the whole paper DAG is known before anything runs."""
    from ded.select.corpora import corpus_names

    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    paper["teacher_selection"]["pinned"] = "qwq-32b"
    path = tmp_path / "paper-pinned.yaml"
    path.write_text(yaml.safe_dump(paper))
    start = time.time()
    proc = dry_run(workflow_copy, "--configfile", str(path), env=offline_env(tmp_path))
    seconds = time.time() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts, jobs = job_counts(proc.stdout), planned_jobs(proc.stdout)
    print(f"dry run of config/paper.yaml, teacher pinned: {counts['total']} jobs in {seconds:.1f}s: {counts}")

    students, benchmarks, teachers = list(paper["students"]), list(paper["benchmarks"]), list(paper["teachers"])
    corpora = corpus_names(list(paper["seeds"]), paper["corpora"]["variants"])
    assert len(corpora) == 13  # six per-domain variants x math, code, and the mixed corpus

    def wildcards(rule):
        return [w for r, w in jobs if r == rule]

    built = {(w["student"], w["teacher"], w["corpus"]) for w in wildcards("build_corpus")}
    # every variant of the pinned teacher; and DeepSeek-R1's DED corpus for Figure 4's comparison of the two
    assert built == {(s, "qwq-32b", c) for s in students for c in corpora} | {
        (s, "deepseek-r1", "math-right_hard_diverse") for s in students}
    trained = {(w["student"], w["teacher"], w["corpus"]) for w in wildcards("train_student")}
    assert trained == built
    evaluated = {(w["model"], w["benchmark"]) for w in wildcards("generate_eval")}
    assert evaluated == {(f"trained/{s}/{t}/{c}", b) for s, t, c in trained if t == "qwq-32b" for b in benchmarks} | {
        (f"base/{s}", b) for s in students for b in benchmarks}
    assert {(w["model"], w["benchmark"]) for w in wildcards("score_eval")} == evaluated
    assert {w["model"] for w in wildcards("ood_eval")} == {m for m, _ in evaluated}
    assert {w["domain"] for w in wildcards("pass_rates")} == set(paper["seeds"])
    # Teachers behind an endpoint sample in sample_teacher_api (no GPU), the others in sample_teacher.
    api = [t for t in teachers if paper["teachers"][t]["backend"] in ("openai", "corpus")]
    assert {w["teacher"] for w in wildcards("sample_teacher_api")} == set(api)
    assert {w["teacher"] for w in wildcards("sample_teacher")} == set(teachers) - set(api)
    assert (counts["sample_teacher"] + counts["sample_teacher_api"] == counts["filter_samples"]
            == len(teachers) * len(paper["seeds"]))
    assert counts["token_entropy"] == len(teachers) * len(paper["seeds"])
    assert counts["pca_shift"] == 2 * len(students) and counts["select_teacher"] == len(students)
    assert counts["pca_comparison"] == len(students)
    assert {(w["teacher"], w["corpus"]) for w in wildcards("pca_shift")} == {
        ("qwq-32b", "math-right_hard_diverse"), ("deepseek-r1", "math-right_hard_diverse")}
    for rule in ("collect_scores", "corpus_stats", "paper_tables", "figure1", "paper_comparison", "entropy_figure",
                 "front_page", "validate_run", "all"):
        assert counts[rule] == 1, rule
    # Pinned: no smoke test, and the checkpoint no longer hides the rest of the DAG.
    assert "train_smoke" not in counts and "smoke_corpus" not in counts


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
    return dry_run(workflow_copy, "--configfile", str(path))


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
