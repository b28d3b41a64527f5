"""lm-eval's code suites (MBPP, HumanEval) with every model-written program run in `ded.filter.sandbox`.

lm-eval scores these tasks with HF evaluate's `code_eval`, which exec's each
generated program inside lm-eval's own process tree, with the user's files and
network in reach (hence lm-eval's confirm-run-unsafe-code flag, which the
workflow never passes). Here lm-eval only generates and logs:

1. `code_tasks` takes each task's own configuration from lm-eval's task index
   (includes merged, `!function` references left unimported) and
   `CodeTask.predict_only_config` derives the copy that lm-eval runs with
   `--predict_only --log_samples`: no `unsafe_code` mark, lm-eval's `bypass`
   metric, no filters (the raw generations are logged), and the few-shot
   examples written out. Nothing of the task's utils.py is imported by lm-eval:
   importing it loads code_eval and runs its self-test.
2. `score_samples` replays lm-eval's scoring on the logged samples with the
   task's own filters (lm-eval's filter classes, the task's filter functions)
   and the task's own metric functions, whose `code_eval` is replaced by
   `SandboxCodeEval`: the same arguments and result, but each program
   (`candidate + "\\n" + test`, as code_eval builds it: for MBPP the
   generation followed by the `test_list` asserts, for HumanEval prompt +
   completion followed by the tests and `check(entry_point)`) runs through
   `ded.filter.programs.check_program`. An assertion failure, an exception, an exit
   (even with status 0), a time-out or a sandbox limit is a fail, as in
   code_eval.

The task functions come from the task's utils.py without its module-level
code: only its imports (not `evaluate`) and definitions run, and every name
bound to `evaluate.load("code_eval")` is bound to a `SandboxCodeEval`. A metric
function that does not go through such a name is refused, since it might
execute the generation by other means in this process.

What differs from code_eval: its 3 s are wall time, here they are CPU time of
the program (so a loaded node does not fail correct programs; the sandbox's
wall-clock backstop still ends programs that sleep), and code_eval's
`reliability_guard` (which sets os.remove, subprocess.Popen and the like to
None) is replaced by the sandbox's isolation, so a program calling those
functions can pass here where code_eval would fail it.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable, Mapping

from ..filter import programs, sandbox
from ..errors import DedError
from .metrics import pass_at_k

#: Limits of one program. code_eval gives each program 3 s (its `timeout`) and
#: no memory cap; 1 GiB of address space is far more than the standard-library
#: programs these suites test need, and stops a runaway allocation.
LIMITS = sandbox.Limits(time_limit_s=3.0, memory_mb=1024)

#: The metric of the predict-only copies: lm-eval computes nothing from the generations.
BYPASS_METRIC = {"metric": "bypass", "aggregation": "bypass", "higher_is_better": True}

#: Keys of a metric_list entry that are not passed to the metric function (as in lm-eval's ConfigurableTask).
_NOT_METRIC_KWARGS = {"metric", "aggregation", "higher_is_better", "hf_evaluate"}

# Runs the program as code_eval does: exec'd in a fresh namespace (so `__name__ == "__main__"`
# blocks stay off), its output discarded, any exception including SystemExit a fail. Success is a
# random sentinel printed after exec returns, so exiting early (os._exit(0) before the asserts)
# cannot pass; exiting right after it keeps threads the program left behind from deciding.
_DRIVER = """
import os as _os
import sys as _sys
import traceback as _traceback

_out, _err = _sys.stdout, _sys.stderr
_sys.stdout = _sys.stderr = open(_os.devnull, "w")
try:
    exec(compile(_PROGRAM, "<program>", "exec"), {})
except BaseException:
    _traceback.print_exc(file=_err)
    _err.flush()
    _os._exit(1)
_out.write(_SENTINEL)
_out.flush()
_os._exit(0)
"""


class CodeTaskError(DedError, ValueError):
    """A code task cannot be run or scored without executing model output outside the sandbox."""


# --------------------------------------------------------------------------
# The task's functions, without its module-level code


def _function_ref(value: Any) -> tuple[Path, str] | None:
    """(module file, function name) of a `!function` reference as lm-eval's unresolving loader
    leaves it (`<yaml folder>/<module>.<function>`), or None."""
    if not isinstance(value, str) or not os.path.isabs(value):
        return None
    module, _, name = value.rpartition(".")
    if not name.isidentifier():
        return None
    for path in (Path(module + ".py"), Path(module).parent / (Path(module).name.replace(".", "/") + ".py")):
        if path.is_file():
            return path, name
    return None


def _loads_code_eval(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
            and bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "code_eval")


def _imports_evaluate(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] == "evaluate" for a in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "evaluate"


def load_task_module(path: str | os.PathLike, code_eval: Any) -> tuple[dict, set[str]]:
    """A task's utils.py as a namespace: its imports and definitions only, every name it binds to
    `evaluate.load("code_eval")` bound to `code_eval` instead. Returns (namespace, those names)."""
    path = Path(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and _loads_code_eval(node.value)
             for t in node.targets if isinstance(t, ast.Name)}
    keep = [node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            or (isinstance(node, (ast.Import, ast.ImportFrom)) and not _imports_evaluate(node))]
    namespace = {"__name__": f"ded_lm_eval_task_{path.parent.name}_{path.stem}", "__file__": str(path)}
    namespace.update({name: code_eval for name in names})
    # lm-eval's own task code (trusted as lm-eval itself is); model output never reaches this exec.
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace, names


class _Functions:
    """Resolves `!function` references of one task, each module loaded once."""

    def __init__(self, code_eval: Any):
        self.code_eval = code_eval
        self.modules: dict[Path, tuple[dict, set[str]]] = {}

    def get(self, ref: tuple[Path, str]):
        path, name = ref
        if path not in self.modules:
            self.modules[path] = load_task_module(path, self.code_eval)
        namespace, _ = self.modules[path]
        if name not in namespace:
            raise CodeTaskError(f"{path}: no function '{name}'")
        return namespace[name]

    def metric(self, task: str, ref: tuple[Path, str]):
        fn = self.get(ref)
        code_eval_names = self.modules[ref[0]][1]
        if not code_eval_names & set(getattr(getattr(fn, "__code__", None), "co_names", ())):
            raise CodeTaskError(
                f"lm-eval task '{task}': metric {ref[1]} ({ref[0]}) does not score through code_eval, "
                "so it cannot be moved into the sandbox; drop the task")
        return fn


# --------------------------------------------------------------------------
# Tasks


@dataclass(frozen=True)
class CodeTask:
    """One lm-eval code task: its name and lm-eval's own configuration (functions as references)."""

    name: str
    config: Mapping

    def metrics(self, functions: _Functions) -> list[tuple[Any, dict, str]]:
        """(metric function, its keyword arguments, aggregation) of each metric_list entry."""
        out = []
        for entry in self.config.get("metric_list") or []:
            ref = _function_ref(entry.get("metric"))
            if ref is None:
                raise CodeTaskError(f"lm-eval task '{self.name}': metric {entry.get('metric')!r} is not a "
                                    "function of the task's utils.py through code_eval")
            aggregation = entry.get("aggregation", "mean")
            if aggregation != "mean":
                raise CodeTaskError(f"lm-eval task '{self.name}': aggregation {aggregation!r}; only mean is replayed")
            kwargs = {k: v for k, v in entry.items() if k not in _NOT_METRIC_KWARGS}
            out.append((functions.metric(self.name, ref), kwargs, aggregation))
        if not out:
            raise CodeTaskError(f"lm-eval task '{self.name}' has no metric_list")
        return out

    def filters(self, functions: _Functions) -> list:
        """The task's filter pipelines as lm-eval builds them (`take_first` alone when it has none)."""
        from lm_eval.filters import build_filter_ensemble

        if not self.config.get("filter_list"):
            return [build_filter_ensemble("none", [["take_first", None]])]
        ensembles = []
        for entry in self.config["filter_list"]:
            components = []
            for step in entry["filter"]:
                kwargs = {k: functions.get(r) if (r := _function_ref(v)) else v
                          for k, v in step.items() if k != "function"}
                components.append([step["function"], kwargs])
            ensembles.append(build_filter_ensemble(entry["name"], components))
        return ensembles

    def predict_only_config(self) -> dict:
        """The configuration lm-eval runs: generations only, nothing of the task's utils.py imported."""
        cfg = copy.deepcopy(dict(self.config))
        for key in ("unsafe_code", "tag", "filter_list", "metric_list"):
            cfg.pop(key, None)
        cfg["metric_list"] = [dict(BYPASS_METRIC)]
        fewshot = cfg.get("fewshot_config") or {}
        if (ref := _function_ref(fewshot.get("samples"))) is not None:
            fewshot["samples"] = _Functions(None).get(ref)()
        left = [key for key, value in _walk(cfg) if _function_ref(value) is not None]
        if left:
            raise CodeTaskError(f"lm-eval task '{self.name}': {', '.join(left)} would import the task's "
                                "utils.py (and with it code_eval) into lm-eval")
        return cfg

    def predict_only_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.predict_only_config(), sort_keys=False, allow_unicode=True)


def _walk(value: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{key}[{i}]")
    else:
        yield key, value


def code_tasks(names: Iterable[str], include_path: str | os.PathLike | None = None,
               task_manager: Any = None) -> dict[str, CodeTask]:
    """The code tasks `names` as lm-eval defines them (its task index, with `include_path`), each
    checked to be runnable and scorable with no model output executed outside the sandbox."""
    if task_manager is None:
        from lm_eval.tasks import TaskManager

        task_manager = TaskManager(include_path=str(include_path) if include_path else None)
    index = task_manager.task_index
    tasks = {}
    for name in names:
        entry = index.get(name)
        if entry is None:
            raise CodeTaskError(f"lm-eval has no task '{name}'")
        if entry.kind.name != "TASK" or not entry.cfg:
            raise CodeTaskError(f"lm-eval '{name}' is a {entry.kind.name.lower()}, not a task: list its code "
                                "tasks one by one in evaluation.out_of_domain.tasks")
        task = CodeTask(name, copy.deepcopy(entry.cfg))
        task.predict_only_config()
        functions = _Functions(SandboxCodeEval())
        task.metrics(functions)
        task.filters(functions)
        tasks[name] = task
    return tasks


# --------------------------------------------------------------------------
# Scoring


class SandboxCodeEval:
    """Stands in for HF evaluate's code_eval metric: `compute` takes and returns what code_eval's
    does, but every program runs through `ded.filter.programs.check_program`. The programs each thread ran
    since `begin()` are returned by `take()` (for the per-sample record)."""

    def __init__(self, limits: sandbox.Limits = LIMITS, python: str | None = None):
        self.limits = limits
        self.python = python
        self._local = threading.local()

    def begin(self) -> None:
        self._local.runs = []

    def take(self) -> list[dict]:
        runs, self._local.runs = getattr(self._local, "runs", []), []
        return runs

    def run(self, program: str, timeout: float | None = None) -> dict:
        limits = self.limits if timeout is None else dataclasses.replace(self.limits, time_limit_s=float(timeout))
        error = programs.compile_error(program)
        if error:
            return {"verdict": "compile_error", "reason": error}
        token = os.urandom(16).hex()
        driver = f"_PROGRAM = {program!r}\n_SENTINEL = {token!r}\n{_DRIVER}"
        out = programs.check_program(
            driver, [{"input": "", "output": token}], limits=limits, python=self.python,
            compare=lambda expected, stdout: (stdout.rstrip().endswith(expected.encode()), "no success sentinel"))
        if out["verdict"] == "infra_error":
            # The sandbox failed, not the program: never counted as a fail.
            raise sandbox.InfraError(out["reason"])
        return {k: out.get(k) for k in ("verdict", "reason", "cpu_s", "isolation")}

    def compute(self, references, predictions, k=(1, 10, 100), num_workers=4, timeout=None):
        ks = [k] if isinstance(k, int) else list(k)
        total, correct, results = [], [], {}
        for task_id, (candidates, test) in enumerate(zip(predictions, references)):
            runs = [self.run(candidate + "\n" + test, timeout) for candidate in candidates]
            if hasattr(self._local, "runs"):
                self._local.runs.extend(runs)
            passed = [r["verdict"] == "accepted" for r in runs]
            results[task_id] = [(i, {"task_id": task_id, "completion_id": i, "passed": p,
                                     "result": "passed" if p else f"failed: {r['verdict']}"})
                                for i, (p, r) in enumerate(zip(passed, runs))]
            total.append(len(passed))
            correct.append(sum(passed))
        scores = {f"pass@{kk}": sum(pass_at_k(n, c, kk) for n, c in zip(total, correct)) / len(total)
                  for kk in ks if total and all(n >= kk for n in total)}
        return scores, results


def preflight(code_eval: SandboxCodeEval | None = None) -> None:
    """Run one trivial program the way the code tasks' programs run, so a machine where the sandbox
    refuses to run anything (`ded.filter.sandbox.Unconfined`) stops the job before lm-eval's long generation."""
    run = (code_eval or SandboxCodeEval()).run("pass")
    if run["verdict"] != "accepted":
        raise sandbox.InfraError(f"the sandbox cannot run a trivial program: {run['verdict']}: {run['reason']}")


def _mean_stderr(values: list[float]) -> float | str:
    """lm-eval's standard error of a mean (`mean_stderr`), "N/A" below two values as lm-eval writes."""
    n = len(values)
    if n < 2:
        return "N/A"
    mu = sum(values) / n
    return (sum((v - mu) ** 2 for v in values) / (n - 1)) ** 0.5 / n ** 0.5


def read_samples(path: str | os.PathLike) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        samples = [json.loads(line) for line in fh if line.strip()]
    for s in samples:
        if len(s.get("resps") or []) != 1:
            raise CodeTaskError(f"{path}: doc {s.get('doc_id')}: expected one generation request, "
                                f"found {len(s.get('resps') or [])}")
    return sorted(samples, key=lambda s: s["doc_id"])


def score_samples(task: CodeTask, samples: list[dict], *, workers: int | None = None,
                  code_eval: SandboxCodeEval | None = None) -> tuple[dict, list[dict]]:
    """lm-eval's scores of one code task from its logged samples (`--log_samples` JSONL rows).

    Returns the task's entry as lm-eval's results JSON would hold it (`"<metric>,<filter>"` and
    `"<metric>_stderr,<filter>"` keys, plus `alias` and `sample_len`) and one record per sample and
    filter (doc_id, filter, metric values, each program's verdict).
    """
    code_eval = code_eval or SandboxCodeEval()
    functions = _Functions(code_eval)
    metrics = task.metrics(functions)
    instances = [SimpleNamespace(resps=s["resps"][0], doc=s["doc"], filtered_resps={}) for s in samples]
    filter_names = []
    for ensemble in task.filters(functions):
        if instances:
            ensemble.apply(instances)
        filter_names.append(ensemble.name)

    def score(i: int) -> list[dict]:
        sample, inst = samples[i], instances[i]
        records = []
        for filter_name in filter_names:
            result, gold = inst.filtered_resps[filter_name], sample["target"]
            if not isinstance(result, list) and type(gold) is not type(result):
                gold = type(result)(gold)  # as lm-eval's process_results casts the target
            values = {}
            code_eval.begin()
            for fn, kwargs, _ in metrics:
                value = fn(references=[gold], predictions=[result], **kwargs)
                values.update(value if isinstance(value, dict) else {fn.__name__: value})
            records.append({"doc_id": sample["doc_id"], "filter": filter_name,
                            "metrics": {k: float(v) for k, v in values.items()}, "programs": code_eval.take()})
        return records

    with ThreadPoolExecutor(max_workers=workers or sandbox.cpu_count()) as pool:
        records = [r for rs in pool.map(score, range(len(samples))) for r in rs]
    per_key: dict[str, list[float]] = {}
    for r in records:
        for metric, value in r["metrics"].items():
            per_key.setdefault(f"{metric},{r['filter']}", []).append(value)
    entry: dict[str, Any] = {"alias": task.name}
    for key, values in per_key.items():
        metric, _, filt = key.partition(",")
        entry[key] = sum(values) / len(values)
        entry[f"{metric}_stderr,{filt}"] = _mean_stderr(values)
    entry["sample_len"] = len(samples)
    return entry, records
