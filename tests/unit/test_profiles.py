"""profiles/slurm: resources reach rules by name and become the intended sbatch flags.

Snakemake itself resolves the profile (a dry run of stand-in rules that bear
the real rules' names, at attempt 1 and 2); the executor plugin's own
functions turn the resolved resources into the sbatch command line.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROFILE = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
GPU_RULES = ["sample_teacher", "sample_student", "generate_eval", "ood_eval", "aider_eval", "train_student", "train_smoke",
             "train_warmstart", "pca_shift", "token_entropy"]


def _stand_in_snakefile(rules, threads=None) -> str:
    threads = threads or {}
    body = []
    for name in rules:
        extra = f"    threads: {threads[name]}\n" if name in threads else ""
        body.append(f'rule {name}:\n    output: "out/{name}.txt"\n{extra}    shell: "touch {{output}}"\n')
    targets = ", ".join(f'"out/{n}.txt"' for n in rules)
    return f"rule all:\n    input: {targets}\n\n" + "\n".join(body)


def _parse_resources(stdout: str) -> dict[str, dict[str, str]]:
    """rule name -> resources printed by a dry run."""
    out, rule = {}, None
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("rule ") and line.endswith(":"):
            rule = line[5:-1]
        elif line.startswith("resources:") and rule:
            pairs = (p.partition("=") for p in line[len("resources:"):].split(", "))
            out[rule] = {k.strip(): v.strip() for k, _, v in pairs}
    return out


def write_profile_without_conda(wd: Path) -> None:
    """profiles/slurm into a test workflow, without its software deployment: there is no conda on the test
    machine, and Snakemake asks conda even in a dry run once the profile sets it (as --use-conda does)."""
    profile = dict(PROFILE)
    assert profile.pop("software-deployment-method") == "conda"
    (wd / "profiles/slurm").mkdir(parents=True, exist_ok=True)
    (wd / "profiles/slurm/config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    """Resources Snakemake resolves from the profile, per attempt."""
    rules = sorted(PROFILE["set-resources"]) + ["some_cpu_rule", "threaded_cpu_rule"]
    wd = tmp_path_factory.mktemp("profile")
    (wd / "Snakefile").write_text(_stand_in_snakefile(rules, threads={"threaded_cpu_rule": 12}))
    write_profile_without_conda(wd)
    result = {}
    for attempt in (1, 2):
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--workflow-profile", "profiles/slurm",
                               "--executor", "dryrun", "--cores", "64", "--attempt", str(attempt)],
                              cwd=wd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        result[attempt] = _parse_resources(proc.stdout)
    return result


def test_every_gpu_rule_asks_for_gpus_by_resource(resolved):
    for rule in GPU_RULES:
        res = resolved[1][rule]
        assert int(res["gpu"]) >= 1, rule
        assert res["cpus_per_task"] == "0" and int(res["cpus_per_gpu"]) >= 1, rule
        assert res["tasks_per_gpu"] == "0", rule
    for rule, res in PROFILE["set-resources"].items():
        assert "--gres" not in str(res.get("slurm_extra", "")), rule


def test_runtime_grows_with_the_attempt(resolved):
    for rule in PROFILE["set-resources"]:
        first, second = int(resolved[1][rule]["runtime"]), int(resolved[2][rule]["runtime"])
        assert second == 2 * first, (rule, first, second)
    assert resolved[1]["sample_teacher"]["runtime"] == str(24 * 60)
    assert resolved[1]["some_cpu_rule"]["runtime"] == "120"
    assert resolved[2]["some_cpu_rule"]["runtime"] == "240"


def test_rules_without_an_entry_get_the_defaults(resolved):
    res = resolved[1]["some_cpu_rule"]
    assert res["mem_mb"] == "8000" and res["cpus_per_task"] == "2"
    assert "gpu" not in res
    assert resolved[1]["threaded_cpu_rule"]["cpus_per_task"] == "12"


class _Resources(dict):
    """Attribute access over resolved resources, as the plugin reads them from a job."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class _Job:
    def __init__(self, resources):
        self.resources = _Resources(resources)
        self.threads = 1


def _as_ints(res: dict) -> dict:
    return {k: int(v) if v.isdigit() else v for k, v in res.items()}


def _sbatch(res: dict) -> str:
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    job = _Job(_as_ints(res))
    params = dict(run_uuid="run", slurm_logfile="log", comment_str="c", account="", partition="", workdir="")
    return get_submit_command(job, params) + set_gres_string(job)


def test_gpu_rules_submit_with_gpus_and_cpus_per_gpu(resolved):
    call = _sbatch(resolved[1]["sample_teacher"])
    assert "--gpus=4" in call and "--cpus-per-gpu=8" in call
    assert "--cpus-per-task" not in call and "--ntasks-per-gpu" not in call and "--gres" not in call
    assert "-t 1440" in call and "--mem 256000" in call
    call = _sbatch(resolved[1]["train_student"])
    assert "--gpus=8" in call and "-t 2880" in call


def test_cpu_rules_submit_with_cpus_per_task(resolved):
    call = _sbatch(resolved[1]["filter_samples"])
    assert "--cpus-per-task=16" in call and "--ntasks=1" in call and "--gpus" not in call
    call = _sbatch(resolved[1]["some_cpu_rule"])
    assert "--cpus-per-task=2" in call and "--mem 8000" in call and "-t 120" in call


# --- resources follow the teacher's backend: the paper's DAG through the profile ---------------

def _planned_resources(stdout: str) -> list[tuple[str, dict, dict]]:
    """(rule, wildcards, resources) of every job a dry run lists."""
    jobs = []
    for line in stdout.splitlines():
        m = re.match(r"^(?:rule|checkpoint|localrule) (\w+):", line)
        if m:
            jobs.append((m.group(1), {}, {}))
        elif jobs and line.startswith("    wildcards: "):
            jobs[-1][1].update(kv.split("=", 1) for kv in line[len("    wildcards: "):].split(", "))
        elif jobs and line.startswith("    resources: "):
            jobs[-1][2].update(kv.split("=", 1) for kv in line[len("    resources: "):].split(", "))
    return jobs


@pytest.fixture(scope="module")
def paper_jobs(tmp_path_factory):
    """Every job of the paper's dry run through profiles/slurm, a teacher pinned so that the whole DAG is
    planned: the command docs/cluster.md gives, with the resources Snakemake resolves for each job."""
    from support.workflow import copy_workflow, offline_env

    wd = copy_workflow(tmp_path_factory.mktemp("paper-slurm"))
    write_profile_without_conda(wd)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "config/paper.yaml",
                           "--config", 'teacher_selection={"pinned": "qwq-32b"}', "--workflow-profile",
                           "profiles/slurm"], cwd=wd, capture_output=True, text=True, timeout=300,
                          env=offline_env(tmp_path_factory.mktemp("offline")))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return _planned_resources(proc.stdout)


def test_api_teachers_sample_without_gpus(paper_jobs):
    """An openai (or corpus) teacher's job only waits on its endpoint: no GPU, little memory. A teacher
    the job runs itself (vllm) keeps the GPUs the profile gives sample_teacher."""
    config = _paper_config()
    backends = {t: spec["backend"] for t, spec in config["teachers"].items()}
    assert {"openai", "vllm"} <= set(backends.values())
    sampled = {}
    for rule, wildcards, res in paper_jobs:
        if rule not in ("sample_teacher", "sample_teacher_api"):
            continue
        teacher = wildcards["teacher"]
        sampled[teacher, wildcards["domain"]] = rule
        call = _sbatch({k: v for k, v in res.items() if k in ("mem_mb", "runtime", "cpus_per_task", "gpu",
                                                              "cpus_per_gpu", "tasks_per_gpu")})
        if backends[teacher] in ("openai", "corpus"):
            assert rule == "sample_teacher_api", teacher
            assert int(res.get("gpu", 0)) == 0 and "--gpus" not in call and "--gres" not in call, (teacher, call)
            assert int(res["mem_mb"]) <= 16000 and int(res["cpus_per_task"]) <= 4, (teacher, res)
            assert int(res["runtime"]) >= 24 * 60, (teacher, res)  # long replies arrive slowly
        else:
            assert rule == "sample_teacher", teacher
            assert int(res["gpu"]) == PROFILE["set-resources"]["sample_teacher"]["gpu"], (teacher, res)
            assert f"--gpus={res['gpu']}" in call and "--mem 256000" in call, (teacher, call)
    # every teacher on every seed domain, each by exactly one of the two rules
    assert set(sampled) == {(t, d) for t in config["teachers"] for d in config["seeds"]}


def test_sample_teacher_api_profile_entry_asks_for_no_gpu(resolved):
    res = resolved[1]["sample_teacher_api"]
    assert "gpu" not in res and int(res["mem_mb"]) <= 16000, res
    assert "--gpus" not in _sbatch(res)


def test_filter_asks_for_no_gpu_with_an_api_judge(paper_jobs):
    """The filter's judge, where the config has one, is reached through an endpoint in the paper's setup:
    the filter jobs hold no GPU."""
    config = _paper_config()
    judge = config["filter"].get("judge")
    if judge:
        assert judge.get("backend") == "openai" or not config["models"][judge["model"]].get("materialize", True)
    jobs = [res for rule, _, res in paper_jobs if rule == "filter_samples"]
    assert len(jobs) == len(config["teachers"]) * len(config["seeds"])
    assert all(int(res.get("gpu", 0)) == 0 for res in jobs), jobs[0]


def test_api_teachers_timeout_covers_their_replies():
    """The paper's API teachers set no fixed timeout, so a call may last long enough for max_tokens at a
    slow 10 tokens/s, not the 600 s that cut 16k-token replies short."""
    from ded.sample.openai_backend import call_timeout_s
    from ded.sample.prompts import teacher_settings

    config = _paper_config()
    api = {t: teacher_settings(spec) for t, spec in config["teachers"].items() if spec["backend"] == "openai"}
    assert api
    for teacher, settings in api.items():
        timeout = call_timeout_s(settings["max_tokens"], settings["timeout_s"])
        assert timeout >= settings["max_tokens"] / 10 and timeout > 600, (teacher, timeout)
    assert call_timeout_s(32768) > call_timeout_s(16384) > call_timeout_s(512)


def _resources_smk() -> dict:
    namespace: dict = {}
    exec((ROOT / "rules/resources.smk").read_text(), namespace)
    return namespace


def test_runtime_for_grows_linearly_with_attempts():
    runtime_for = _resources_smk()["runtime_for"]
    f = runtime_for(90)
    assert [f({}, a) for a in (1, 2, 3)] == [90, 180, 270]
    assert [runtime_for(60, growth=0.5)({}, a) for a in (1, 2, 3)] == [60, 90, 120]
    with pytest.raises(ValueError, match="base_minutes must be positive"):
        runtime_for(0)


def test_mem_mb_for_grows_with_attempts():
    mem_mb_for = _resources_smk()["mem_mb_for"]
    assert [mem_mb_for(1000)({}, a) for a in (1, 2, 3)] == [1000, 1500, 2000]


# --- tensor parallelism follows the GPUs a job asks for -------------------------------------------

#: Rules that run vLLM, and the script that hands it the job's GPUs.
TENSOR_PARALLEL_RULES = {"sample_teacher": "sample_teacher.py", "sample_student": "sample_student.py",
                         "generate_eval": "generate_eval.py", "ood_eval": "ood_eval.py"}


def _paper_config() -> dict:
    from ded.settings import resolve_config

    config = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    resolve_config(config)  # fills the defaults, as the Snakefile does
    return config


def test_tensor_parallel_size_is_the_gpus_the_profile_asks_for(resolved):
    """With config/paper.yaml, every vLLM engine spans exactly the GPUs profiles/slurm gives its rule."""
    from ded.config import check_references
    from ded.evaluate.lm_eval_suite import lm_eval_commands, with_allocation
    from ded.evaluate.models import eval_generation_spec
    from ded.sample import allocation_options
    from ded.sample.vllm_backend import engine_kwargs

    config = _paper_config()
    check_references(config)  # no tensor-parallel size anywhere in the config
    gpus = {rule: int(resolved[1][rule]["gpu"]) for rule in TENSOR_PARALLEL_RULES}

    def vllm_tp(rule, options, engine_args=None):
        opts = allocation_options(options, gpus[rule], threads=2)
        return engine_kwargs("/m", opts["tensor_parallel_size"], 0, engine_args)["tensor_parallel_size"]

    vllm_teachers = [t for t, spec in config["teachers"].items() if spec.get("backend") == "vllm"]
    assert vllm_teachers
    for teacher in vllm_teachers:
        tp = vllm_tp("sample_teacher", {}, config["teachers"][teacher].get("engine_args"))
        assert tp == gpus["sample_teacher"], teacher
    assert vllm_tp("sample_student", config["evaluation"]["backend_options"]) == gpus["sample_student"]
    for model in [f"base/{s}" for s in config["students"]] + [f"teacher/{t}" for t in vllm_teachers]:
        spec = eval_generation_spec(model, "aime24", config)
        tp = vllm_tp("generate_eval", config["evaluation"]["backend_options"], spec.get("engine_args"))
        assert tp == gpus["generate_eval"], model
    ood = with_allocation(config["evaluation"]["out_of_domain"], gpus["ood_eval"])
    for call in lm_eval_commands(ood, "/m", "/w"):
        args = json.loads(call.argv[call.argv.index("--model_args") + 1])
        assert args["tensor_parallel_size"] == gpus["ood_eval"]


def test_scripts_take_the_tensor_parallel_size_from_the_job():
    for rule, script in TENSOR_PARALLEL_RULES.items():
        text = (ROOT / "scripts" / script).read_text()
        assert 'snakemake.resources.get("gpu", 0)' in text, script
        assert "allocation_options(" in text or "with_allocation(" in text, script
    for smk in (ROOT / "rules").glob("*.smk"):
        code = "\n".join(line.split("#", 1)[0] for line in smk.read_text().splitlines())
        assert "tensor_parallel_size" not in code, f"{smk.name}: a tensor-parallel size in params"


def test_a_tensor_parallel_size_in_the_config_is_refused():
    from ded.config import ConfigError, check_references

    for mutate, where in (
            (lambda c: c["evaluation"]["backend_options"].update(tensor_parallel_size=4),
             "evaluation.backend_options.tensor_parallel_size"),
            (lambda c: c["evaluation"]["out_of_domain"]["model_args"].update(tensor_parallel_size=4),
             "evaluation.out_of_domain.model_args.tensor_parallel_size"),
            (lambda c: c["teachers"]["qwq-32b"].setdefault("engine_args", {}).update(tensor_parallel_size=4),
             "teachers.qwq-32b.engine_args.tensor_parallel_size")):
        config = _paper_config()
        mutate(config)
        with pytest.raises(ConfigError, match=re.escape(where)):
            check_references(config)
