"""The workflow on a real single-node SLURM, through the SLURM profile.

scripts/slurm/install.sh installs Debian's SLURM packages and start.sh brings
up munged, slurmctld and slurmd; the test skips only when apt cannot reach a
repository (install.sh's exit code 75). The whole workflow (every stage, on a
config shrunk to one teacher and one domain) runs from a copy in a temporary
folder through profiles/slurm shrunk to this node.
A test-only Snakefile adds two rules to the workflow's own: one that fails
on its first attempt (retries, runtime growing with the attempt) and one that
sleeps until the test cancels it (no partial output may survive).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from support.workflow import copy_workflow

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "slurm"
APT_UNREACHABLE = 75  # install.sh's exit code when no repository offers SLURM

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

# What the SLURM run must make: one output of every stage, from the data to
# the analyses (the whole default DAG, on a config shrunk to one teacher and
# one domain so that it runs in minutes).
STAGE_OUTPUTS = {
    "data": ["results/data/seeds/math.jsonl", "results/data/decontamination/math.md"],
    "models": ["resources/models/smollm2-135m/config.json"],
    "warm start": ["results/teachers/terse/model/config.json"],
    "sampling": ["results/samples/terse/math.jsonl"],
    "filter": ["results/filter/terse/math/verdicts.jsonl", "results/filter/terse/math/summary.tsv"],
    "smoke test": ["results/smoke/smol/terse/model/config.json", "results/selection/smol/teacher.json"],
    "compression": ["results/passrate/smol/math.jsonl"],
    "diversity": ["results/corpus/smol/terse/math-right_hard_diverse.jsonl"],
    "training": ["results/train/smol/terse/math-right_hard_diverse/model/config.json"],
    "evaluation": ["results/eval/trained/smol/terse/math-right_hard_diverse/arith/scores.tsv", "results/scores.tsv"],
    "analysis": ["results/analysis/tables/table1.md", "results/analysis/figure3_entropy.png",
                 "results/analysis/figure1_corpus_size.png"],
}
# Rules whose SLURM job logs must exist: the GPU-side rules of the paper's setup among them.
SLURM_RULES = ["prepare_model", "train_warmstart", "sample_teacher", "filter_samples", "train_smoke",
               "sample_student", "build_corpus", "train_student", "generate_eval", "score_eval", "ood_eval",
               "token_entropy", "pca_shift"]
# Bookkeeping rules marked `localrule: True`: they run on the submitting host, never as SLURM jobs.
# Rules the SLURM profile gives GPUs (sampling in the job, training, evaluation, analyses); the rest,
# API-served sampling among them, ask for none.
GPU_RULES = sorted(rule for rule, res in yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())[
    "set-resources"].items() if res.get("gpu"))
#: Seconds between the test's snakemake's checks of its SLURM jobs (fit_profile_to_node, SNAKEMAKE_POLLING).
POLL_S = 2
LOCAL_RULES = ["warmstart_corpus", "smoke_corpus", "select_teacher", "pass_rates", "collect_scores",
               "corpus_stats", "paper_tables", "figure1", "front_page"]


def slice_config() -> dict:
    """The embedded default narrowed to one teacher, math only and one corpus, and shrunk until every stage
    runs in seconds: what it checks is where each job runs, not what the models learn."""
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["seeds"] = {"math": dict(cfg["seeds"]["math"], n=6)}
    cfg["teachers"] = {"terse": dict(cfg["teachers"]["terse"], max_tokens=64)}
    cfg["teachers"]["terse"]["warm_start"]["n"] = 24
    cfg["sampling"].update(samples_per_question=3)
    cfg["compression"].update(samples=2, max_tokens=32)
    cfg["benchmarks"] = {"arith": dict(cfg["benchmarks"]["arith"], n=4, max_tokens=48)}
    cfg["teacher_selection"]["metrics"] = [{"benchmark": "arith", "metric": "pass@1"}]
    cfg["corpora"]["variants"] = ["right_hard_diverse"]
    # the smoke student evaluated like the others: with the base and trained students, several evaluation
    # jobs are ready at once and go to SLURM as one array job, which the test looks for
    cfg["evaluation"]["models"]["smoke"] = True
    cfg["train"].update(max_steps=2, save_steps=2)
    cfg["train"]["smoke"].update(max_steps=2, save_steps=2)
    cfg["analysis"]["entropy"].update(max_tokens=48)
    cfg["analysis"]["pca"].update(max_prompts=4, max_tokens=128)
    cfg["evaluation"]["out_of_domain"]["procedural"]["n"] = 4
    return cfg


TEST_SNAKEFILE = '''
# Test-only rules on top of the workflow (tests/workflow/test_slurm.py).
include: "Snakefile"
include: "rules/resources.smk"


def _attempt(wildcards, attempt):
    return attempt


rule flaky:
    input:
        "results/data/seeds/math.jsonl",
    output:
        "results/slurm_test/flaky.txt",
    resources:
        runtime=runtime_for(5),
        try_no=_attempt,
    log:
        "logs/slurm_test/flaky.log",
    shell:
        # The job records the time limit SLURM gave it: a finished job leaves squeue after MinJobAge.
        'echo "{resources.try_no} $SLURM_JOB_ID {resources.runtime}'
        ' $(scontrol show job $SLURM_JOB_ID | grep -o "TimeLimit=[^ ]*")" >> results/slurm_test/attempts.txt; '
        'if [ {resources.try_no} -lt 2 ]; then echo partial > {output}; echo "failing on purpose" > {log}; exit 1; fi; '
        'wc -l < {input} > {output}; echo "attempt {resources.try_no} done" > {log}'


rule slow_writer:
    output:
        "results/slurm_test/slow.txt",
    log:
        "logs/slurm_test/slow.log",
    shell:
        'echo "$SLURM_JOB_ID" > results/slurm_test/slow.jobid; echo partial > {output}; sleep 600'
'''


def fit_profile_to_node(profile: dict, cpus: int = 1, mem: str = "1G", gpus: int = 1) -> dict:
    """The SLURM profile with every rule shrunk to `cpus` CPUs, `mem` and at most `gpus` GPUs.

    GPU requests stay in: the test node declares count-only GPUs (scripts/slurm/start.sh), so SLURM
    schedules them as on a GPU cluster. Runtimes (and their growth with `attempt`) are kept: they are
    what the test checks reach SLURM.
    """
    out = dict(profile)
    defaults = dict(profile.get("default-resources", {}))
    defaults.pop("mem_mb", None)
    defaults.update(cpus_per_task=cpus, mem=mem)
    out["default-resources"] = defaults
    shrunk = {}
    for rule, res in profile.get("set-resources", {}).items():
        res = {k: v for k, v in res.items() if k not in {"gpu_model", "cpus_per_gpu", "mem", "mem_mb"}}
        res.update(cpus_per_task=cpus, mem=mem)
        if res.get("gpu"):
            res["gpu"] = min(int(res["gpu"]), gpus)
        shrunk[rule] = res
    out["set-resources"] = shrunk
    # No conda on the test node: the jobs run in the test's own environment.
    out.pop("software-deployment-method", None)
    # The first status check after POLL_S instead of 40 s (the later ones: SNAKEMAKE_POLLING).
    out["slurm-init-seconds-before-status-checks"] = POLL_S
    return out


def _slurm_usable() -> bool:
    if shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, timeout=30)
    return proc.returncode == 0 and proc.stdout.split()[:1] in (["idle"], ["mix"], ["alloc"])


@pytest.fixture(scope="module")
def slurm():
    """A running single-node SLURM; stopped afterwards if this fixture started it."""
    was_up = _slurm_usable()
    if not was_up:
        if os.geteuid() != 0:
            pytest.skip("SLURM is not running and installing/starting it needs root")
        start = time.time()
        proc = subprocess.run(["bash", str(SCRIPTS / "install.sh")], capture_output=True, text=True, timeout=900)
        if proc.returncode == APT_UNREACHABLE:
            pytest.skip(f"apt cannot reach a repository with SLURM: {proc.stderr.strip()[-500:]}")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        proc = subprocess.run(["bash", str(SCRIPTS / "start.sh")], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        print(f"SLURM install + start: {time.time() - start:.1f}s")
    yield
    if not was_up:
        subprocess.run(["bash", str(SCRIPTS / "stop.sh")], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, slurm) -> Path:
    dst = copy_workflow(tmp_path_factory.mktemp("slurm_wf"), ("Snakefile", "rules", "scripts", "ded", "config", "envs"))
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    (dst / "profiles/slurm").mkdir(parents=True)
    (dst / "profiles/slurm/config.yaml").write_text(yaml.safe_dump(fit_profile_to_node(profile)))
    (dst / "Snakefile.slurm_test").write_text(TEST_SNAKEFILE)
    (dst / "tiny.yaml").write_text(yaml.safe_dump(slice_config()))
    return dst


#: `python -m snakemake` whose SLURM executor checks job states every POLL_S seconds. The plugin waits 10 s
#: longer after each check that finds no job finished (up to 3 min; only the first wait is a setting): on a
#: one-node test cluster whose jobs take seconds that cost ~80 s of this test's ~490 s (measured alone). What
#: the test checks is where each job runs, not how often the plugin polls.
SNAKEMAKE_POLLING = (
    "import snakemake_executor_plugin_slurm as slurm; "
    f"slurm.Executor.next_seconds_between_status_checks = property(lambda self: {POLL_S}, lambda self, value: None); "
    "from snakemake.cli import main; main()"
)


def _snakemake(workdir: Path, *args: str, timeout: int = 2400, wait: bool = True):
    cmd = [sys.executable, "-c", SNAKEMAKE_POLLING, "-s", "Snakefile.slurm_test", "--configfile", "tiny.yaml",
           "--workflow-profile", "profiles/slurm", "--executor", "slurm",
           "--slurm-no-account", "--slurm-status-command", "squeue", *args]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if not wait:
        return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


def _time_limit_minutes(field: str) -> int:
    """Minutes of a `TimeLimit=[days-]hours:minutes:seconds` field of `scontrol show job`."""
    limit = field.split("=", 1)[1]
    days, _, clock = limit.rpartition("-")
    hours, minutes, _ = clock.split(":")
    return int(days or 0) * 24 * 60 + int(hours) * 60 + int(minutes)


def test_start_is_idempotent(slurm):
    proc = subprocess.run(["bash", str(SCRIPTS / "start.sh")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do" in proc.stdout


def test_every_stage_runs_on_slurm_and_a_failed_job_is_retried(workdir):
    start = time.time()
    proc = _snakemake(workdir, "all", "results/slurm_test/flaky.txt")
    out = proc.stdout + proc.stderr
    print(f"whole workflow (one teacher, math) on SLURM: {time.time() - start:.1f}s")
    assert proc.returncode == 0, out[-6000:]
    assert "has been submitted with SLURM jobid" in out
    for stage, targets in STAGE_OUTPUTS.items():
        for target in targets:
            path = workdir / target
            assert path.exists() and path.stat().st_size > 0, (stage, target)
    rerun = _snakemake(workdir, "-n", "all")
    assert "Nothing to be done" in rerun.stdout + rerun.stderr, (rerun.stdout + rerun.stderr)[-3000:]

    # The flaky rule failed once and was resubmitted with a longer time limit.
    attempts = [line.split() for line in (workdir / "results/slurm_test/attempts.txt").read_text().splitlines()]
    assert [a[0] for a in attempts] == ["1", "2"], attempts
    (_, job1, runtime1, limit1), (_, job2, runtime2, limit2) = attempts
    assert job1 != job2
    assert (int(runtime1), int(runtime2)) == (5, 10)
    assert (_time_limit_minutes(limit1), _time_limit_minutes(limit2)) == (5, 10)
    assert int((workdir / "results/slurm_test/flaky.txt").read_text()) == len(
        (workdir / "results/data/seeds/math.jsonl").read_text().splitlines())

    # Rule logs and SLURM's job logs are kept.
    assert (workdir / "logs/slurm_test/flaky.log").read_text().strip() == "attempt 2 done"
    assert (workdir / "logs/decontaminate/math.log").exists()
    slurm_logs = [str(p) for p in (workdir / "logs/slurm").rglob("*.log")]
    for rule in SLURM_RULES:  # every stage ran as SLURM jobs, not on the submitting host
        assert any(f"rule_{rule}" in p for p in slurm_logs), (rule, slurm_logs[:20])
    for rule in LOCAL_RULES:
        assert not any(f"rule_{rule}" in p for p in slurm_logs), (rule, "ran as a SLURM job")
        # Snakemake logs a local job as "localrule NAME:" or, for a checkpoint, "localcheckpoint NAME:".
        assert re.search(rf"\blocal(rule|checkpoint) {rule}:", out), rule
    # Every job asked for the GPUs its rule's profile entry gives (shrunk to the node's one) and SLURM
    # granted them; the rest asked for none (each job's provenance records both, scripts/_common.py).
    allocations = _allocations_by_rule(workdir / "logs")
    for rule in SLURM_RULES:
        assert allocations.get(rule), (rule, sorted(allocations))
        for allocation in allocations[rule]:
            assert allocation["granted"].get("slurm_job_id"), (rule, allocation)
            # SLURM binds the granted GPUs to CUDA_VISIBLE_DEVICES (SLURM_GPUS_ON_NODE is not set for the
            # tasks of an array job)
            devices = allocation["granted"].get("cuda_visible_devices")
            if rule in GPU_RULES:
                assert allocation["asked"].get("gpu") == 1, (rule, allocation)
                assert devices is not None and len(devices.split(",")) == 1, (rule, allocation)
            else:
                assert not allocation["asked"].get("gpu"), (rule, allocation)
                assert devices is None, (rule, allocation)
    assert {"sample_teacher", "train_student", "generate_eval"} <= set(GPU_RULES) & set(allocations)
    # the evaluation jobs went as job arrays (profiles/slurm: slurm-array-jobs)
    assert re.search(r"Submitted array job with Snakemake IDs \S+ and SLURM job ID", out), out[-3000:]


def _allocations_by_rule(logs: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for path in logs.rglob("*.provenance.json"):
        record = json.loads(path.read_text())
        found.setdefault(record["rule"], []).append(record.get("allocation") or {})
    return found


def test_cancelled_job_leaves_no_partial_output(workdir):
    output = workdir / "results/slurm_test/slow.txt"
    jobid_file = workdir / "results/slurm_test/slow.jobid"
    proc = _snakemake(workdir, "--retries", "0", "results/slurm_test/slow.txt", wait=False)
    try:
        deadline = time.time() + 300
        while not (jobid_file.exists() and jobid_file.read_text().strip() and output.exists()):
            assert proc.poll() is None, proc.stdout.read()[-4000:]
            assert time.time() < deadline, "the slow job never started"
            time.sleep(0.5)
        assert output.read_text().strip() == "partial"
        subprocess.run(["scancel", jobid_file.read_text().strip()], check=True)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, out[-4000:]
    assert "CANCELLED" in out, out[-4000:]
    assert not output.exists(), "a cancelled job left its partial output behind"
