"""Out-of-domain suites (the paper's Table 6) through lm-evaluation-harness.

The suites (MMLU, CMMLU, C-Eval, BBH, MBPP, GSM8K, MATH) are lm-eval's own
task definitions, never re-implemented here. This module only

- builds the `lm_eval run` command lines from `evaluation.out_of_domain`
  (lm-eval takes one `--num_fewshot` per call, so tasks are grouped into
  one call per few-shot setting),
- runs them, keeping each call's output under a work folder so a restarted
  job skips the calls that finished,
- turns lm-eval's results JSON into long-form score rows
  (model, benchmark=task, metric, value, n).

Metric names follow lm-eval's `metric,filter` keys: `acc,none` becomes
`acc`, `exact_match,strict-match` becomes `exact_match:strict-match`, and the
`_stderr` variants are kept as their own metrics.

lm-eval (0.4.13) is imported by nothing here: it runs as `python -m lm_eval`
in its own process, so this module loads without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from ..records import SCORE_COLUMNS

log = logging.getLogger(__name__)

#: `evaluation.out_of_domain` keys when the config leaves them out (schema defaults).
OOD_DEFAULTS = {
    "enabled": False,
    "tasks": [],
    "batch_size": 8,
    "model_type": "hf",
    "model_args": {},
    "apply_chat_template": False,
    "limit": None,
    "include_path": None,
    "procedural": None,
    "device": None,
    "seed": 0,
    "confirm_run_unsafe_code": False,
}

#: lm-eval tasks that execute model-written code (lm-eval refuses them without a flag).
UNSAFE_TASK_PREFIXES = ("mbpp", "humaneval")

#: Keys of a task entry in lm-eval's results that are not metrics.
NON_METRIC_KEYS = {"name", "alias", "sample_len", "sample_count", "samples"}


@dataclass(frozen=True)
class LmEvalCall:
    """One `lm_eval run` invocation: its tasks, few-shot setting, argv and output folder."""

    tasks: tuple[str, ...]
    num_fewshot: int | None
    argv: tuple[str, ...]
    output_dir: Path


def ood_settings(evaluation: Mapping | None) -> dict:
    """`evaluation.out_of_domain` with defaults filled in."""
    given = dict((evaluation or {}).get("out_of_domain") or {})
    unknown = set(given) - set(OOD_DEFAULTS)
    if unknown:
        raise ValueError(f"config: evaluation.out_of_domain: unknown key(s) {sorted(unknown)}")
    return {**OOD_DEFAULTS, **given}


def with_allocation(settings: Mapping, gpus: int | None) -> dict:
    """Settings for one job: lm-eval's vLLM model spans every GPU the job got (the `gpu` resource).

    The hf model type takes no tensor-parallel size; its settings are returned unchanged.
    """
    settings = {**OOD_DEFAULTS, **settings}
    if settings["model_type"] == "vllm":
        settings["model_args"] = {**(settings["model_args"] or {}), "tensor_parallel_size": max(1, int(gpus or 0))}
    return settings


def _group_by_fewshot(tasks: Iterable[Mapping]) -> list[tuple[int | None, list[str]]]:
    groups: dict[int | None, list[str]] = {}
    for i, task in enumerate(tasks):
        name = task.get("name") if isinstance(task, Mapping) else None
        if not name:
            raise ValueError(f"config: evaluation.out_of_domain.tasks[{i}]: `name` is required")
        groups.setdefault(task.get("num_fewshot"), [])
        if name in groups[task.get("num_fewshot")]:
            raise ValueError(f"config: evaluation.out_of_domain.tasks[{i}]: task '{name}' listed twice")
        groups[task.get("num_fewshot")].append(name)
    return list(groups.items())


def _fewshot_dir(num_fewshot: int | None) -> str:
    return "fewshot-default" if num_fewshot is None else f"fewshot-{num_fewshot}"


def lm_eval_commands(settings: Mapping, model_dir: str | os.PathLike, work_dir: str | os.PathLike,
                     python: str = sys.executable) -> list[LmEvalCall]:
    """The lm-eval calls for one model: one per distinct `num_fewshot` (null: the task's own)."""
    settings = {**OOD_DEFAULTS, **settings}
    if not settings["tasks"]:
        raise ValueError("config: evaluation.out_of_domain.tasks is empty")
    if settings["model_type"] not in ("hf", "vllm"):
        raise ValueError(f"config: evaluation.out_of_domain.model_type = {settings['model_type']!r}: "
                         "expected hf or vllm")
    groups = _group_by_fewshot(settings["tasks"])
    unsafe = [t for _, names in groups for t in names if t.startswith(UNSAFE_TASK_PREFIXES)]
    if unsafe and not settings["confirm_run_unsafe_code"]:
        raise ValueError(
            f"lm-eval task(s) {unsafe} execute model-written code; set "
            "evaluation.out_of_domain.confirm_run_unsafe_code: true to allow it, or drop them")
    model_args = {"pretrained": str(model_dir), **(settings["model_args"] or {})}
    calls = []
    for num_fewshot, names in groups:
        out = Path(work_dir) / _fewshot_dir(num_fewshot)
        argv = [python, "-m", "lm_eval", "run",
                "--model", settings["model_type"],
                "--model_args", json.dumps(model_args, sort_keys=True),
                "--tasks", *names,
                "--batch_size", str(settings["batch_size"]),
                "--seed", str(settings["seed"]),
                "--output_path", str(out)]
        if num_fewshot is not None:
            argv += ["--num_fewshot", str(num_fewshot)]
        if settings["limit"] is not None:
            argv += ["--limit", str(settings["limit"])]
        if settings["include_path"]:
            argv += ["--include_path", str(settings["include_path"])]
        if settings["device"]:
            argv += ["--device", str(settings["device"])]
        if settings["apply_chat_template"]:
            argv += ["--apply_chat_template"]
        if unsafe:
            argv += ["--confirm_run_unsafe_code"]
        calls.append(LmEvalCall(tuple(names), num_fewshot, tuple(argv), out))
    return calls


def find_results_json(output_dir: str | os.PathLike) -> Path | None:
    """The newest `results_*.json` lm-eval wrote under `output_dir` (it adds a model subfolder)."""
    found = sorted(Path(output_dir).rglob("results_*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    return found[-1] if found else None


def _metric_name(key: str) -> str:
    metric, _, filt = key.partition(",")
    return metric if filt in ("", "none") else f"{metric}:{filt}"


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # lm-eval writes "N/A" where a stderr cannot be computed
    return float(value)


def _leaf_tasks(name: str, subtasks: Mapping[str, list[str]]) -> list[str]:
    if name not in subtasks:
        return [name]
    return [leaf for child in subtasks[name] for leaf in _leaf_tasks(child, subtasks)]


def _task_size(name: str, results: Mapping) -> int:
    counts = results.get("n-samples", {}).get(name)
    if counts:
        return int(counts.get("effective", counts.get("original", 0)))
    return int(results["results"].get(name, {}).get("sample_len", 0))


def _entry_rows(name: str, results: Mapping, model: str) -> list[dict]:
    entry = results["results"].get(name) or results.get("groups", {}).get(name)
    if entry is None:
        raise KeyError(name)
    metrics = {k: v for k, v in entry.items() if k not in NON_METRIC_KEYS and _number(v) is not None}
    subtasks = results.get("group_subtasks", {})
    if not metrics and name in subtasks:
        return _pooled_group_rows(name, results, model)
    counts = entry.get("sample_count") or {}
    default_n = _task_size(name, results) if name not in subtasks else int(entry.get("sample_len", 0))
    rows = []
    for key, value in metrics.items():
        base_key = key.replace("_stderr,", ",", 1)
        n = counts.get(base_key, default_n)
        rows.append(dict(zip(SCORE_COLUMNS, (model, name, _metric_name(key), _number(value), int(n)))))
    return rows


def _pooled_group_rows(name: str, results: Mapping, model: str) -> list[dict]:
    """A group lm-eval did not aggregate (no `aggregate_metric_list`): size-weighted mean of its leaves.

    Standard errors are not pooled: they are left out rather than guessed.
    """
    leaves = [t for t in _leaf_tasks(name, results.get("group_subtasks", {})) if t in results["results"]]
    sums: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for leaf in leaves:
        size = _task_size(leaf, results)
        for key, value in results["results"][leaf].items():
            if key in NON_METRIC_KEYS or "_stderr," in key or _number(value) is None:
                continue
            sums[key] = sums.get(key, 0.0) + _number(value) * size
            sizes[key] = sizes.get(key, 0) + size
    return [dict(zip(SCORE_COLUMNS, (model, name, _metric_name(k), sums[k] / sizes[k], sizes[k])))
            for k in sums if sizes[k] > 0]


def results_to_rows(results: Mapping, model: str, tasks: Iterable[str] | None = None,
                    include_subtasks: bool = False) -> list[dict]:
    """Score rows from an lm-eval results JSON (as loaded).

    `tasks`: the task or group names asked for (rows for those only); None
    takes the top-level entries (those no group lists as a subtask).
    `include_subtasks` adds a row block for every subtask as well.
    """
    if "results" not in results:
        raise ValueError("not an lm-eval results JSON: no `results` key")
    subtasks = results.get("group_subtasks", {})
    children = {c for kids in subtasks.values() for c in kids}
    names = list(tasks) if tasks is not None else [t for t in results["results"] if t not in children]
    if include_subtasks:
        names += [t for t in results["results"] if t not in names]
    rows = []
    for name in names:
        try:
            rows += _entry_rows(name, results, model)
        except KeyError:
            raise ValueError(f"lm-eval results have no entry for task '{name}' "
                             f"(entries: {', '.join(sorted(results['results']))})") from None
    return rows


def results_file_to_rows(path: str | os.PathLike, model: str, tasks: Iterable[str] | None = None,
                         include_subtasks: bool = False) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        results = json.load(fh)
    try:
        return results_to_rows(results, model, tasks, include_subtasks)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def call_signature(call: LmEvalCall, model_dir: str | os.PathLike, include_path: str | None = None) -> dict:
    """What decides one lm-eval call's results: its command line, the model's weights and local task files."""
    from ..generate.base import model_fingerprint

    tasks = {}
    if include_path and Path(include_path).is_dir():
        h = hashlib.sha256()
        for f in sorted(Path(include_path).rglob("*")):
            if f.is_file():
                h.update(f.relative_to(include_path).as_posix().encode() + f.read_bytes())
        tasks = {"include_path": h.hexdigest()[:16]}
    return {"argv": list(call.argv[1:]), "model": model_fingerprint(model_dir), **tasks}


def run_suite(settings: Mapping, model_dir: str | os.PathLike, model: str, work_dir: str | os.PathLike, *,
              cwd: str | os.PathLike | None = None, env: Mapping[str, str] | None = None,
              log_path: str | os.PathLike | None = None) -> tuple[list[dict], dict]:
    """Run every lm-eval call for one model; return its score rows and the raw results by call.

    A call whose output folder already holds a results JSON is not rerun, so
    a killed job resumes where it stopped. lm-eval's output goes to
    `log_path` (or this process's stderr).
    """
    rows, raw = [], {}
    for call in lm_eval_commands(settings, model_dir, work_dir):
        signature = call_signature(call, model_dir, settings.get("include_path"))
        found = find_results_json(call.output_dir)
        stamp = call.output_dir / "call.json"
        if found is not None and (not stamp.exists() or json.loads(stamp.read_text()) != signature):
            # Results of another model (a retrained one in the same folder) or other settings.
            log.info("lm-eval: discarding %s, made by another call", call.output_dir)
            shutil.rmtree(call.output_dir)
            found = None
        if found is None:
            call.output_dir.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps(signature, sort_keys=True))
            log.info("lm-eval: %s", " ".join(call.argv))
            with (open(log_path, "a", encoding="utf-8") if log_path else _stderr()) as sink:
                proc = subprocess.run(call.argv, cwd=cwd, env=dict(env) if env is not None else None,
                                      stdout=sink, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                raise RuntimeError(f"lm-eval exited with status {proc.returncode} on tasks {list(call.tasks)}"
                                   + (f"; see {log_path}" if log_path else ""))
            found = find_results_json(call.output_dir)
            if found is None:
                raise RuntimeError(f"lm-eval finished but wrote no results_*.json under {call.output_dir}")
        else:
            log.info("lm-eval: reusing %s", found)
        rows += results_file_to_rows(found, model, call.tasks)
        with open(found, encoding="utf-8") as fh:
            raw[_fewshot_dir(call.num_fewshot)] = json.load(fh)
    return rows, raw


class _stderr:
    def __enter__(self):
        return sys.stderr

    def __exit__(self, *exc):
        return False
