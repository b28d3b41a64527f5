"""The whole workflow, for real: the embedded default itself, as `make run` runs it.

One run through every stage (warm start, sampling, filter, smoke test,
compression, diversity, training, evaluation, analysis) that must show
distillation working (the DED student beats the base student on a held-out
benchmark by two standard errors or more), then the rebuild rules, each as
the exact list of jobs a dry run plans: a rerun does nothing,
a changed setting reruns only what reads it (and what depends on that),
worker counts and batch sizes rerun nothing, a new teacher adds only its own
jobs and the rules that read every teacher, an edited comment retrains nothing.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from support.workflow import ROOT, copy_workflow, planned_jobs, snakemake

from ded import jobs as ded_jobs

pytestmark = pytest.mark.slow


#: The run's config: config/config.yaml copied to a file the rebuild tests can change and restore.
CONFIG = "default.yaml"


def _snakemake(workdir: Path, *args: str, timeout: int = 3000) -> subprocess.CompletedProcess:
    return snakemake(workdir, *args, cores=2, configfile=CONFIG, timeout=timeout)


def _planned_jobs(workdir: Path) -> list[tuple[str, tuple]]:
    """(rule, sorted wildcard items) of every job a dry run would run, sorted."""
    proc = _snakemake(workdir, "-n", timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return sorted((rule, tuple(sorted(w.items()))) for rule, w in planned_jobs(proc.stdout))


def job(rule: str, **wildcards: str) -> tuple[str, tuple]:
    return rule, tuple(sorted(wildcards.items()))


@contextlib.contextmanager
def changed_config(workdir: Path, mutate):
    """The run's config with `mutate` applied, restored afterwards."""
    path = workdir / CONFIG
    original = path.read_text()
    cfg = yaml.safe_load(original)
    mutate(cfg)
    path.write_text(yaml.safe_dump(cfg))
    try:
        yield cfg
    finally:
        path.write_text(original)


@contextlib.contextmanager
def writable_trained_models(workdir: Path):
    """What README.md tells a user to do before retraining: trained models are protected(), and for a user
    other than root Snakemake refuses to plan replacing them (ProtectedOutputException, -n included)."""
    subprocess.run(["chmod", "-R", "u+w", "results/train"], cwd=workdir, check=True)
    try:
        yield
    finally:
        for model in (workdir / "results/train").glob("*/*/*/model"):
            subprocess.run(["chmod", "-R", "a-w", str(model)], check=True)


def chosen_teacher(run: Path) -> str:
    return json.loads((run / "results/selection/smol/teacher.json").read_text())["teacher"]


BENCHMARKS = ("arith", "stdio")
DOMAINS = ("math", "code")


#: config/config.yaml, read once: the fixture runs a copy of it, the rebuild tests change that copy.
DEFAULT = yaml.safe_load((ROOT / "config/config.yaml").read_text())
#: The benchmarks the smoke test scores each candidate's student on (teacher_selection.metrics).
SMOKE_BENCHMARKS = ded_jobs.smoke_eval_benchmarks(DEFAULT)
#: Every corpus the default trains a student on (corpora.variants: per domain, and mixed when listed).
TRAINED_CORPORA = ded_jobs.corpora(DEFAULT)


def retrained(teacher: str, corpora, corpus_stats: bool) -> list[tuple[str, tuple]]:
    """Jobs that follow retraining `corpora` of smol on `teacher`'s corpora: their evaluation, the scores,
    the tables and figures that read the scores, the comparison with the paper (in the default it only says
    it does not apply, but it reads the scores too), the report's front page (it is written after the scores),
    Figure 4 when the DED corpus is among them."""
    jobs = [job("train_student", student="smol", teacher=teacher, corpus=c) for c in corpora]
    for c in corpora:
        for b in BENCHMARKS:
            model = f"trained/smol/{teacher}/{c}"
            jobs += [job("generate_eval", model=model, benchmark=b), job("score_eval", model=model, benchmark=b)]
        jobs.append(job("ood_eval", model=f"trained/smol/{teacher}/{c}"))  # Table 6's generated suite
    jobs += [job("collect_scores"), job("paper_tables"), job("figure1"), job("paper_comparison"),
             job("front_page"), job("all")]
    if corpus_stats:  # the corpora were rebuilt: their statistics and the checks between stages follow
        jobs += [job("corpus_stats"), job("validate_run")]
    if "math-right_hard_diverse" in corpora:  # analysis.tables.ded_corpus: the run Figure 4 analyses
        jobs.append(job("pca_shift", student="smol", teacher=teacher, corpus="math-right_hard_diverse"))
    return jobs


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("run"), config=DEFAULT, configfile=CONFIG)
    start = time.time()
    proc = _snakemake(work)
    print(f"the embedded default, end to end: {time.time() - start:.0f} s")
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
            # The warm start's training changed the model's outputs: SmolLM2 itself never writes <think>.
            assert sum("<think>" in s["text"] for s in samples) >= 0.8 * len(samples), (teacher, domain)
        assert _lines(r / f"passrate/smol/{domain}.jsonl")
    selection = json.loads((r / "selection/smol/teacher.json").read_text())
    assert selection["teacher"] in ("terse", "verbose") and set(selection["scores"]) == {"terse", "verbose"}
    chosen = selection["teacher"]
    for corpus in TRAINED_CORPORA:
        assert _lines(r / f"corpus/smol/{chosen}/{corpus}.jsonl"), corpus
        assert (r / f"train/smol/{chosen}/{corpus}/model/config.json").exists()
    with (r / "scores.tsv").open() as fh:
        models = {row["model"] for row in csv.DictReader(fh, delimiter="\t")}
    assert {"base/smol"} | {f"trained/smol/{chosen}/{c}" for c in TRAINED_CORPORA} <= models
    base_samples = _lines(r / "eval/base/smol/arith/samples.jsonl")
    assert not any("<think>" in s["text"] for s in base_samples)  # the untrained student, for contrast
    for table in range(1, 8):
        assert (r / f"analysis/tables/table{table}.md").stat().st_size > 0
    # Table 6 from lm-eval on the generated offline suite, for the base student and the trained ones
    table6 = (r / "analysis/tables/table6.csv").read_text()
    assert "ded_ood_wordmath" in table6 and "ded_ood_choice" in table6 and "not run" not in table6
    figures = list((r / "analysis").rglob("*.png"))
    assert len(figures) >= 3 and all(f.stat().st_size > 10_000 for f in figures)
    # the report's front page names the chosen teacher and why
    front = (r / "report/front_page.rst").read_text()
    assert f"``smol`` ← ``{chosen}`` (by the smoke test)" in front and f"``{chosen}`` (chosen)" in front
    # every job's provenance beside its log; the models' package versions reach the front page
    records = [json.loads(p.read_text()) for p in (finished_run / "logs/prepare_model").glob("*.provenance.json")]
    assert records and all(s["package_version"] and s["sha256"] for r in records for s in r["sources"])
    assert all(r["workflow"]["commit"] for r in records) or not (finished_run / ".git").exists()  # a copy: no git
    assert "Provenance" in front and records[0]["sources"][0]["package"] in front


def _scores(run: Path) -> dict[tuple[str, str, str], float]:
    with (run / "results/scores.tsv").open() as fh:
        return {(r["model"], r["benchmark"], r["metric"]): float(r["value"])
                for r in csv.DictReader(fh, delimiter="\t") if r["value"] not in ("", "nan")}


def test_the_ded_student_beats_the_base_student(finished_run):
    """Distillation shows in the default's numbers: the student trained on the chosen teacher's DED code
    corpus scores above the untrained student on the held-out programming benchmark (its problems drawn
    with another seed than the seeds) by two paired standard errors or more, and the report says so."""
    teacher = chosen_teacher(finished_run)
    model = f"trained/smol/{teacher}/code-right_hard_diverse"
    scores = _scores(finished_run)
    gain, se = scores[(model, "stdio", "delta_pass@1")], scores[(model, "stdio", "delta_pass@1_se")]
    base = scores[("base/smol", "stdio", "pass@1")]
    print(f"{model} on stdio: pass@1 {base:.3f} -> {base + gain:.3f}, gain {gain:+.3f} (SE {se:.3f})")
    assert gain > 0 and gain >= 2 * se, (gain, se)
    # the gain and its standard error are printed where a user reads the scores
    table = (finished_run / "results/scores.md").read_text()
    assert model in table and f"{gain:+.4f}" in table, table[:3000]


def test_rerun_does_nothing(finished_run):
    assert _planned_jobs(finished_run) == []


def test_changed_threshold_reruns_only_what_reads_it(finished_run):
    teacher = chosen_teacher(finished_run)
    with changed_config(finished_run, lambda c: c["compression"].update(threshold=0.25)), \
            writable_trained_models(finished_run):
        jobs = _planned_jobs(finished_run)
    # The DED corpora filter by pass rate against the threshold; mixed (when trained) is drawn from them.
    corpora = [c for c in TRAINED_CORPORA if c.endswith("right_hard_diverse") or c == "mixed"]
    expected = [job("build_corpus", student="smol", teacher=teacher, corpus=c) for c in corpora]
    expected += retrained(teacher, corpora, corpus_stats=True)
    assert jobs == sorted(expected)


def test_changed_length_limit_refilters_and_reruns_the_smoke_test(finished_run):
    """filter.max_response_tokens: every teacher's filter reruns, then what reads its verdicts before the
    selection checkpoint. Not verify_student (the student's correctness check has no length limit).

    The checkpoint (select_teacher) reruns too, so a dry run cannot plan what follows its choice: the corpora,
    training, evaluation and tables appear once it has run.
    """
    with changed_config(finished_run, lambda c: c["filter"].update(max_response_tokens=96)):
        jobs = _planned_jobs(finished_run)
    expected = [job("select_teacher", student="smol"), job("entropy_figure"), job("all")]
    for t in ("terse", "verbose"):
        expected += [job("filter_samples", teacher=t, domain=d) for d in DOMAINS]
        expected += [job("token_entropy", teacher=t, domain=d) for d in DOMAINS]  # Figure 3 reads kept samples
        expected += [job("smoke_corpus", student="smol", teacher=t), job("train_smoke", student="smol", teacher=t)]
        for b in SMOKE_BENCHMARKS:
            model = f"smoke/smol/{t}"
            expected += [job("generate_eval", model=model, benchmark=b), job("score_eval", model=model, benchmark=b)]
        # Figure 4's teacher comparison reads the smoke students (analysis.pca.compare)
        expected.append(job("pca_shift", student="smol", teacher=t, corpus="smoke"))
    expected.append(job("pca_comparison", student="smol"))
    assert jobs == sorted(expected)


def test_changed_learning_rate_retrains_only_the_students(finished_run):
    """train.learning_rate is the final training's: the warm start and the smoke test have their own."""
    teacher = chosen_teacher(finished_run)
    with changed_config(finished_run, lambda c: c["train"].update(learning_rate=3e-5)), \
            writable_trained_models(finished_run):
        jobs = _planned_jobs(finished_run)
    assert jobs == sorted(retrained(teacher, TRAINED_CORPORA, corpus_stats=False))


def test_run_only_settings_rerun_nothing(finished_run):
    """Worker counts and the batch sizes of the (seeded, batch-invariant) samplers change no result."""
    def mutate(c):
        c["filter"]["workers"] = 1
        c["evaluation"].update(workers=1, batch_size=3)
        c["sampling"]["batch_size"] = 3
        c["compression"]["batch_size"] = 3

    with changed_config(finished_run, mutate):
        assert _planned_jobs(finished_run) == []


def test_adding_a_teacher_adds_only_its_jobs(finished_run):
    """A third candidate teacher: its own chain up to its smoke-test scores, plus the rules that read every
    teacher: select_teacher (ranks all smoke-test scores; its params list the teachers), entropy_figure
    (Figure 3 draws every teacher's corpus) and pca_comparison (Figure 4 sets every candidate's smoke student
    side by side). Behind the checkpoint, which reruns, wait collect_scores
    (scores.tsv holds every smoke model's scores), paper_tables, figure1 and paper_comparison (they read
    scores.tsv) and, should the new teacher win, its corpora, training and evaluation, and the smoke model's
    out-of-domain run (asked for by collect_scores): a dry run cannot plan those yet."""
    def add_teacher(c):
        c["teachers"]["third"] = copy.deepcopy(c["teachers"]["terse"])

    with changed_config(finished_run, add_teacher):
        jobs = _planned_jobs(finished_run)
    expected = [job("warmstart_corpus", teacher="third"), job("train_warmstart", teacher="third"),
                job("smoke_corpus", student="smol", teacher="third"),
                job("train_smoke", student="smol", teacher="third")]
    for d in DOMAINS:
        expected += [job("sample_teacher", teacher="third", domain=d), job("filter_samples", teacher="third", domain=d),
                     job("token_entropy", teacher="third", domain=d)]
    for b in SMOKE_BENCHMARKS:
        expected += [job("generate_eval", model="smoke/smol/third", benchmark=b),
                     job("score_eval", model="smoke/smol/third", benchmark=b)]
    expected += [job("select_teacher", student="smol"), job("entropy_figure"), job("all")]
    # Figure 4's teacher comparison takes in every candidate's smoke student (analysis.pca.compare)
    expected += [job("pca_shift", student="smol", teacher="third", corpus="smoke"),
                 job("pca_comparison", student="smol")]
    assert jobs == sorted(expected)
    assert _planned_jobs(finished_run) == []  # the config is back as it was


def test_comment_in_a_script_retrains_nothing(finished_run):
    script = finished_run / "scripts/train_student.py"
    original = script.read_text()
    script.write_text(original + "\n# an edited comment\n")
    try:
        assert _planned_jobs(finished_run) == []
    finally:
        script.write_text(original)
