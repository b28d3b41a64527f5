"""lm-eval's code suites (MBPP, HumanEval): lm-eval only generates, every program runs in the sandbox.

The fast tests score samples laid out as lm-eval 0.4.13's `--log_samples` writes them
(lm_eval/evaluator.py builds each row, loggers/evaluation_tracker.py sanitises and writes it)
with the task definitions lm-eval ships; the slow one runs lm-eval itself on a local MBPP.
"""


from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from support.mbpp import (
    LM_EVAL_TASKS,
    SQUARE,
    needs_confinement,
)

from ded.evaluate.lm_eval_code import (
    CodeTaskError,
    SandboxCodeEval,
    code_tasks,
    score_samples,
)
from ded.evaluate.lm_eval_suite import (
    UNSAFE_TASK_PREFIXES,
    LmEvalCall,
    lm_eval_commands,
    ood_settings,
    run_suite,
    score_code_call,
)
from ded.filter import sandbox as S
from ded.settings import section_schema

ROOT = Path(__file__).resolve().parents[2]


FAST = S.Limits(time_limit_s=1.0, memory_mb=1024)  # the loop below costs 1 s of CPU, not 3


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def logged_sample(doc_id: int, doc: dict, target: str, prompt: str, generations: list[str]) -> dict:
    """One row of lm-eval's samples JSONL for a predict-only generate_until task (bypass metric,
    default take_first filter): one request per doc, its repeats in resps[0]."""
    return {"doc_id": doc_id, "doc": doc, "target": target,
            "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {"until": ["[DONE]"], "do_sample": False}}},
            "resps": [generations], "filtered_resps": [generations[0]], "filter": "none", "metrics": ["bypass"],
            "doc_hash": _hash(json.dumps(doc, indent=2, ensure_ascii=False)), "prompt_hash": _hash(prompt),
            "target_hash": _hash(target), "bypass": None}


RIGHT = "def square(x):\n    return x * x\n"


def hostile_generations(outside: Path, marker: str) -> dict[str, tuple[str, bool]]:
    """Generations for SQUARE, each with whether code_eval would pass it."""
    return {
        "right": (RIGHT, True),
        "wrong": ("def square(x):\n    return x + x\n", False),
        "syntax": ("def square(x)\n    return x * x\n", False),
        # Writes where the workflow's user could, then solves: the write must fail the program.
        "writes_outside": (f"open({str(outside / 'pwned')!r}, 'w').write('pwned')\n" + RIGHT, False),
        # Reads a secret of the workflow's environment (an API key, say) and leaves it on disk.
        "reads_secret": ("import os\nkey = os.environ['DED_TEST_SECRET']\n"
                         f"open({str(outside / 'secret')!r}, 'w').write(key)\n" + RIGHT, False),
        "loops": ("while True:\n    pass\n" + RIGHT, False),
        # Skipping the asserts by exiting "successfully" is no pass.
        "exits_early": (RIGHT + "import os\nos._exit(0)\n", False),
        "sys_exit": (RIGHT + "import sys\nsys.exit(0)\n", False),
        # Right, and leaves a process behind: it passes, the process does not survive it.
        "daemon": ("import subprocess, sys\n"
                   f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', {marker!r}],"
                   " start_new_session=True)\n" + RIGHT, True),
    }


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_predict_only_copies_keep_the_task_and_import_nothing(tasks, tmp_path):
    from lm_eval.tasks import TaskManager

    mbpp = tasks["mbpp"].predict_only_config()
    assert "unsafe_code" not in mbpp and "filter_list" not in mbpp
    assert mbpp["metric_list"] == [{"metric": "bypass", "aggregation": "bypass", "higher_is_better": True}]
    # Prompt, target and generation settings are lm-eval's own; the few-shot examples written out.
    assert mbpp["doc_to_text"] == tasks["mbpp"].config["doc_to_text"]
    assert mbpp["generation_kwargs"]["until"] == ["[DONE]"]
    assert [d["task_id"] for d in mbpp["fewshot_config"]["samples"]] == [2, 3, 4]
    # What lm-eval reads back from the YAML written for it: the same, with no function to import.
    for name, task in tasks.items():
        (tmp_path / f"{name}.yaml").write_text(task.predict_only_yaml())
    index = TaskManager(include_defaults=False, include_path=str(tmp_path)).task_index
    assert {n: index[n].cfg for n in tasks} == {n: t.predict_only_config() for n, t in tasks.items()}
    assert not re.search(r"utils|!function|unsafe", "".join(p.read_text() for p in tmp_path.glob("*.yaml")))


def test_groups_and_metrics_outside_code_eval_are_refused(tmp_path):
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_defaults=False, include_path=str(LM_EVAL_TASKS / "humaneval_infilling"))
    with pytest.raises(CodeTaskError, match="one by one"):
        code_tasks(["humaneval_infilling"], task_manager=tm)
    # A task whose metric would run the generation some other way than code_eval.
    (tmp_path / "utils.py").write_text("def run_it(references, predictions):\n"
                                       "    exec(predictions[0])\n    return 1.0\n")
    (tmp_path / "mbpp_mine.yaml").write_text(yaml.safe_dump({
        "task": "mbpp_mine", "dataset_path": "json", "output_type": "generate_until", "test_split": "test",
        "doc_to_text": "{{text}}", "doc_to_target": "{{code}}"}) + "metric_list:\n  - metric: !function utils.run_it\n")
    tm = TaskManager(include_defaults=False, include_path=str(tmp_path))
    with pytest.raises(CodeTaskError, match="does not score through code_eval"):
        code_tasks(["mbpp_mine"], task_manager=tm)


@needs_confinement
def test_mbpp_scores_are_lm_evals_and_hostile_programs_fail_without_a_trace(tasks, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.chmod(outside, 0o777)  # writable by anyone: only the sandbox stands in the way
    for parent in outside.parents:
        if parent != Path("/"):
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    monkeypatch.setenv("DED_TEST_SECRET", "sk-do-not-leak")
    marker = "ded-daemon-" + os.urandom(6).hex()
    gens = hostile_generations(outside, marker)
    target = "\n".join(SQUARE["test_list"])
    samples = [logged_sample(i, SQUARE, target, "You are an expert Python programmer ... [BEGIN]\n", [g])
               for i, (g, _) in enumerate(gens.values())]
    start = time.monotonic()
    entry, records = score_samples(tasks["mbpp"], samples, workers=2, code_eval=SandboxCodeEval(FAST))
    elapsed = time.monotonic() - start
    expected = [ok for _, ok in gens.values()]
    assert [r["metrics"]["pass_at_1"] for r in records] == [float(ok) for ok in expected], \
        {name: r["programs"][0]["verdict"] for name, r in zip(gens, records)}
    # lm-eval's own key for the mbpp task: pass_at_1 under the default filter, with its stderr.
    assert entry["pass_at_1,none"] == pytest.approx(sum(expected) / len(expected))
    mean = entry["pass_at_1,none"]
    assert entry["pass_at_1_stderr,none"] == pytest.approx(
        (sum((e - mean) ** 2 for e in expected) / (len(expected) - 1) / len(expected)) ** 0.5)
    assert entry["sample_len"] == len(gens)
    verdicts = {name: r["programs"][0]["verdict"] for name, r in zip(gens, records)}
    assert verdicts["loops"] == "time_limit" and verdicts["syntax"] == "compile_error"
    assert verdicts["exits_early"] == "wrong_answer" and verdicts["sys_exit"] == "runtime_error"
    assert all(r["programs"][0]["isolation"]["fs"] for r in records if r["programs"][0].get("isolation"))
    assert list(outside.iterdir()) == []
    assert _processes_with(marker) == []
    assert elapsed < 60


def test_humaneval_runs_prompt_completion_tests_and_check(tasks):
    doc = {"task_id": "HumanEval/0", "entry_point": "add",
           "prompt": 'def add(a, b):\n    """Sum of a and b."""\n',
           "canonical_solution": "    return a + b\n",
           "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"}
    target = doc["test"] + "\ncheck(add)"  # humaneval.yaml's doc_to_target, rendered
    samples = [logged_sample(0, doc, target, doc["prompt"], ["    return a + b\n"]),
               logged_sample(1, doc, target, doc["prompt"], ["    return a * b\n"]),
               # A completion that never defines the function body correctly but exits before check().
               logged_sample(2, doc, target, doc["prompt"], ["    return 0\nimport os\nos._exit(0)\n"])]
    entry, records = score_samples(tasks["humaneval"], samples, workers=2, code_eval=SandboxCodeEval(FAST))
    # humaneval's metric returns code_eval's dict: lm-eval reports pass@1 under its create_test filter.
    assert [r["metrics"] for r in records] == [{"pass@1": 1.0}, {"pass@1": 0.0}, {"pass@1": 0.0}]
    assert entry["pass@1,create_test"] == pytest.approx(1 / 3) and {r["filter"] for r in records} == {"create_test"}


def test_mbpp_instruct_extracts_the_code_block_as_its_filter_does(tasks):
    target = "\n".join(SQUARE["test_list"])
    # The generation continues lm-eval's gen_prefix "\n```python\n"; the filter puts "```" before it and
    # cuts at the next fence. Its pattern takes a first word right after "```" for a language tag, so
    # a generation starting with "def" loses it (lm-eval 0.4.13 scores it so too).
    gens = ["\n" + RIGHT + "```\nThis squares x.", "Here you go:\n```python\ndef square(x):\n    return 2 * x\n```",
            RIGHT + "```"]
    samples = [logged_sample(i, SQUARE, target, "...", [g]) for i, g in enumerate(gens)]
    entry, records = score_samples(tasks["mbpp_instruct"], samples, workers=2, code_eval=SandboxCodeEval(FAST))
    assert [r["metrics"]["pass_at_1"] for r in records] == [1.0, 0.0, 0.0]
    assert records[2]["programs"][0]["verdict"] == "compile_error"  # " square(x):" after the lost "def"
    assert entry["pass_at_1,extract_code"] == pytest.approx(1 / 3)


def test_code_call_rows_merge_like_lm_evals(tasks, tmp_path):
    """A code call's rows come from its samples file next to lm-eval's results JSON."""
    out = tmp_path / "fewshot-default-code" / "models__m"
    out.mkdir(parents=True)
    results = out / "results_2026-01-01T00-00-00.000000.json"
    target = "\n".join(SQUARE["test_list"])
    gens = [RIGHT, "def square(x):\n    return x\n", RIGHT, RIGHT]
    results.write_text(json.dumps({"results": {"mbpp": {"alias": "mbpp", "bypass,none": 999}},
                                   "n-samples": {"mbpp": {"original": 500, "effective": len(gens)}}}))
    (out / "samples_mbpp_2026-01-01T00-00-00.000000.jsonl").write_text(
        "".join(json.dumps(logged_sample(i, SQUARE, target, "p", [g])) + "\n" for i, g in enumerate(gens)))
    call = LmEvalCall(("mbpp",), None, ("python",), tmp_path / "fewshot-default-code", True)
    rows, sandboxed = score_code_call(call, results, tasks, "trained/a/b/c", workers=2)
    got = {r["metric"]: (r["value"], r["n"]) for r in rows}
    assert got["pass_at_1"] == (0.75, 4) and set(got) == {"pass_at_1", "pass_at_1_stderr"}
    assert {r["benchmark"] for r in rows} == {"mbpp"} and {r["model"] for r in rows} == {"trained/a/b/c"}
    assert sandboxed["verdicts"]["mbpp"] == {"accepted": 3, "runtime_error": 1}
    assert json.loads((out / "sandbox_results.json").read_text())["results"]["mbpp"]["pass_at_1,none"] == 0.75
    assert len((out / "sandbox_mbpp.jsonl").read_text().splitlines()) == 4


class FakeLmEval:
    """Stands in for `python -m lm_eval run --predict_only`: writes what lm-eval writes, records the call."""

    def __init__(self, generations: list[str]):
        self.generations = generations
        self.calls: list[tuple[list[str], dict]] = []

    def __call__(self, argv, cwd=None, env=None, stdout=None, stderr=None):
        self.calls.append((list(argv), dict(env)))
        out = Path(argv[argv.index("--output_path") + 1]) / "models__m"
        out.mkdir(parents=True, exist_ok=True)
        date = f"2026-01-01T00-00-{len(self.calls):02d}.000000"
        task = argv[argv.index("--tasks") + 1]
        (out / f"results_{date}.json").write_text(json.dumps({
            "results": {task: {"alias": task, "bypass,none": 999}},
            "n-samples": {task: {"original": 500, "effective": len(self.generations)}}}))
        target = "\n".join(SQUARE["test_list"])
        (out / f"samples_{task}_{date}.jsonl").write_text("".join(
            json.dumps(logged_sample(i, SQUARE, target, "p", [g])) + "\n" for i, g in enumerate(self.generations)))
        return subprocess.CompletedProcess(argv, 0)


def test_code_calls_resume_and_never_allow_code_eval(tasks, tmp_path, monkeypatch):
    from ded.evaluate import lm_eval_suite

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    fake = FakeLmEval([RIGHT, "def square(x):\n    return -x\n"])
    monkeypatch.setattr(lm_eval_suite.subprocess, "run", fake)
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    settings = {"tasks": [{"name": "mbpp"}]}
    rows, raw = run_suite(settings, model, "base/m", tmp_path / "work", task_manager=_Index(tasks))
    assert {r["metric"]: r["value"] for r in rows}["pass_at_1"] == 0.5
    assert len(fake.calls) == 1 and fake.calls[0][1]["HF_ALLOW_CODE_EVAL"] == "0"
    written = tmp_path / "work/fewshot-default-code/tasks/mbpp.yaml"
    assert yaml.safe_load(written.read_text()) == tasks["mbpp"].predict_only_config()
    assert raw["fewshot-default-code"]["sandbox"]["verdicts"]["mbpp"] == {"accepted": 1, "runtime_error": 1}
    # Restarted: reused, scored again.
    assert run_suite(settings, model, "base/m", tmp_path / "work", task_manager=_Index(tasks))[0] == rows
    assert len(fake.calls) == 1
    # A samples file cut short by a killed job: generated again.
    samples = next((tmp_path / "work/fewshot-default-code").rglob("samples_mbpp_*.jsonl"))
    samples.write_text(samples.read_text().splitlines(keepends=True)[0])
    assert run_suite(settings, model, "base/m", tmp_path / "work", task_manager=_Index(tasks))[0] == rows
    assert len(fake.calls) == 2
    # Other generation settings (or another lm-eval's task definition): generated again.
    run_suite({**settings, "limit": 2}, model, "base/m", tmp_path / "work", task_manager=_Index(tasks))
    assert len(fake.calls) == 3


class _Index:
    """A TaskManager stand-in holding only the given tasks' entries."""

    def __init__(self, tasks):
        from lm_eval.tasks._index import Entry, Kind

        self.task_index = {n: Entry(name=n, kind=Kind.TASK, yaml_path=None, cfg=dict(t.config))
                           for n, t in tasks.items()}


def test_code_tasks_are_generated_only_and_in_calls_of_their_own(tmp_path):
    from lm_eval._cli.harness import HarnessCLI

    settings = ood_settings({"out_of_domain": {"tasks": [
        {"name": "gsm8k"}, {"name": "mbpp"}, {"name": "humaneval"}, {"name": "mmlu", "num_fewshot": 5},
        {"name": "mbpp_instruct", "num_fewshot": 5}], "include_path": "suite"}})
    calls = lm_eval_commands(settings, "m", tmp_path, python="python")
    assert [(c.tasks, c.sandboxed) for c in calls] == [
        (("gsm8k",), False), (("mbpp", "humaneval"), True), (("mmlu",), False), (("mbpp_instruct",), True)]
    for call in calls:
        argv = list(call.argv)
        assert "--confirm_run_unsafe_code" not in argv
        assert ("--predict_only" in argv and "--log_samples" in argv) == call.sandboxed
        args = HarnessCLI()._parser.parse_args(argv[3:])
        assert not getattr(args, "confirm_run_unsafe_code", False)
        if call.sandboxed:
            assert args.predict_only and args.include_path == str(call.output_dir / "tasks")
            assert call.output_dir.name.endswith("-code")
        else:
            assert args.include_path == "suite"
    assert len({c.output_dir for c in calls}) == len(calls)


def test_nothing_passes_confirm_run_unsafe_code_and_old_configs_say_so():
    """No code path or configuration asks lm-eval to execute model output (grep level)."""
    offenders = []
    for folder, pattern in (("ded", "*.py"), ("scripts", "*.py"), ("rules", "*.smk"), ("config", "*.yaml"),
                            ("profiles", "*"), ("envs", "*")):
        for path in (ROOT / folder).rglob(pattern):
            if path.is_file() and "--confirm_run_unsafe_code" in path.read_text(errors="replace"):
                offenders.append(str(path.relative_to(ROOT)))
    for path in (ROOT / "config").glob("*.yaml"):
        if "confirm_run_unsafe_code" in path.read_text():
            offenders.append(str(path.relative_to(ROOT)))
    for path in [ROOT / "Snakefile", *(ROOT / "rules").glob("*.smk")]:
        if "HF_ALLOW_CODE_EVAL" in path.read_text():
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    assert "confirm_run_unsafe_code" not in section_schema("evaluation.out_of_domain")["properties"]
    assert UNSAFE_TASK_PREFIXES == ("mbpp", "humaneval")
    # An old config that still carries the key is rejected by name, not silently ignored.
    from ded.settings import resolve_config

    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    paper["evaluation"]["out_of_domain"]["confirm_run_unsafe_code"] = True
    with pytest.raises(Exception, match="confirm_run_unsafe_code"):
        resolve_config(paper)
    with pytest.raises(ValueError, match="confirm_run_unsafe_code"):
        ood_settings(paper["evaluation"])
