"""Aider's Polyglot benchmark (the paper's Table 6) through Aider's own harness, every test run confined.

    python -m ded.evaluate.aider --harness DIR --exercises DIR --run-dir DIR --out FILE \\
        --model NAME --api-base URL [--languages python,rust] [--tries 2] [--edit-format whole]

Runs with the interpreter of the Aider environment (`requirements/aider.txt`, `envs/aider.yaml`):
aider-chat pins each of its dependencies exactly (numpy 1.26 among them), so it cannot share the
workflow's environment. The model is any OpenAI-compatible server (vLLM at paper scale, `python -m ded
serve` on a CPU); litellm reaches it as `openai/NAME` at `--api-base`.

What is Aider's, unchanged: the exercise set (Exercism's, as Aider curated it: 225 exercises in six
languages), the instructions and prompts, the edit format, the attempts (`--tries`, 2 as Aider
reports) with the test output fed back after a failed one, the results file each exercise leaves
(`.aider.results.json`) and pass_rate_1 / pass_rate_2 (`run_test` and `summarize_results` of
`benchmark/benchmark.py`, imported from `--harness`).

What is the workflow's:

- **Where the tests run.** Aider's `run_unit_tests` runs the language's test command (`pytest`,
  `cargo test`, `go test`, gradle, npm, cmake) with `subprocess.run` on the machine running the
  harness, and asks for a Docker container around all of it. Here that one call runs the same
  command in `ded.filter.sandbox` (`confined_run`): a root of its own with the system read-only, no
  network, an unprivileged user, a PID namespace, CPU, memory, process and disk limits. The exercise
  folder is copied in without `.meta` and `.docs` (`.meta` holds the reference solution, which
  Aider's container leaves in reach of the code under test); the interpreter's installed packages
  are importable (read-only: pytest), and `--toolchain` folders (a Rust or Go installation, a JDK
  with its Gradle cache, node with jest) are bound read-only and put first on PATH. A test run that
  exceeds its time is Aider's time-out ("Tests timed out!").
- **Order and resumption.** Aider's `main` shuffles the exercises with an unseeded random; here
  they start in sorted order, one at a time or `--threads` at once (Aider's --threads: each
  exercise is a conversation of its own, so only the server's batching can move an outcome). An
  exercise whose `.aider.results.json` exists is not run again (Aider's own `run_test` returns it),
  so a killed job resumes.
- **Edits stay in the exercise.** Aider writes any file a reply names (absolute paths and ../
  included) and answers yes to creating it; an edit outside the exercise's folder is skipped here
  (`confine_edits`), since the harness runs on the node, not in Aider's container.
- **Model settings.** `--max-tokens` (the reply budget: a reasoning student's chain of thought comes
  before its edit) and `reasoning_tag: think` (Aider removes `<think>...</think>` before applying the
  edit) reach aider as a model-settings file, as `--read-model-settings` would.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import types
from dataclasses import dataclass
from pathlib import Path

from ..errors import DedError
from ..filter import sandbox
from ..io import write_json

#: Aider's own time-out of one test run (run_unit_tests: `timeout = 60 * 3`).
TEST_TIMEOUT_S = 180.0
#: Aider's folders of an exercise that the tests never read: `.meta` holds the reference solution.
HIDDEN_FROM_TESTS = (".meta", ".docs")


class AiderError(DedError):
    """The harness or the exercise set cannot be used as given."""


@dataclass(frozen=True)
class TestLimits:
    """Limits of one exercise's test run (Aider: 180 s, no other limit inside its container)."""

    timeout_s: float = TEST_TIMEOUT_S
    memory_mb: int = 4096
    nproc: int = 256
    disk_mb: int = 1024
    output_mb: float = 8.0

    def sandbox_limits(self) -> sandbox.Limits:
        # CPU time and wall time both end at Aider's time-out: a build may sleep on I/O, a test may spin.
        return sandbox.Limits(time_limit_s=self.timeout_s, memory_mb=self.memory_mb, output_mb=self.output_mb,
                              nproc=self.nproc, nofile=1024, disk_mb=self.disk_mb, wall_factor=1.0,
                              wall_extra_s=0.0)


#: Runs inside the sandbox, standard library only: the exercise arrives on stdin (a JSON line, then a tar
#: archive), is unpacked in the sandbox's home and its test command runs there, output and errors together.
_TEST_PROGRAM = r'''
import io, json, os, subprocess, sys, tarfile
spec = json.loads(sys.stdin.buffer.readline())
work = os.path.join(os.getcwd(), spec["name"])
os.mkdir(work)
with tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read())) as tar:
    tar.extractall(work, filter="data")
path = spec["path"] + [os.path.dirname(sys.executable), os.environ["PATH"]]
env = dict(os.environ, PATH=os.pathsep.join(path))
sys.stdout.flush()
try:
    code = subprocess.run(spec["command"], cwd=work, env=env, stdin=subprocess.DEVNULL,
                          stdout=sys.stdout.fileno(), stderr=subprocess.STDOUT).returncode
except OSError as exc:
    print(f"{spec['command'][0]}: {exc.strerror}", flush=True)
    code = 127
sys.exit(code)
'''


def exercise_archive(testdir: Path) -> bytes:
    """The exercise folder as a tar archive, without the folders its tests never read; sorted, so the
    same folder gives the same bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(testdir.rglob("*")):
            rel = path.relative_to(testdir)
            if rel.parts[0] in HIDDEN_FROM_TESTS or path.is_symlink():
                continue
            if path.is_file() or path.is_dir():
                tar.add(path, arcname=str(rel), recursive=False)
    return buf.getvalue()


def confined_run(command: list[str], testdir: Path, limits: TestLimits = TestLimits(),
                 toolchains: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Aider's test command for the exercise in `testdir`, run in the sandbox: a CompletedProcess with the
    output and errors together (as Aider's `stdout=PIPE, stderr=STDOUT`), paths shown as if it ran in
    `testdir`. Raises subprocess.TimeoutExpired past the limit, as Aider's call does."""
    testdir = Path(testdir)
    inner = f"{sandbox.HOME}/{testdir.name}"
    spec = {"name": testdir.name, "command": list(command),
            "path": [os.path.join(t, "bin") if os.path.isdir(os.path.join(t, "bin")) else t for t in toolchains]}
    stdin = json.dumps(spec).encode() + b"\n" + exercise_archive(testdir)
    res = sandbox.run_program(_TEST_PROGRAM, stdin, limits.sandbox_limits(), packages=True, binds=tuple(toolchains))
    output = res.stdout.decode("utf-8", "replace").replace(inner, str(testdir))
    if res.status == "time_limit":
        raise subprocess.TimeoutExpired(command, limits.timeout_s, output=output)
    if res.status != "ok" and not output.strip():
        output = f"{res.reason}\n{res.stderr_tail}"
    code = res.exit_code if res.exit_code is not None else 128 + (res.signal or 0)
    if res.status in ("memory_limit", "output_limit") and code == 0:
        code = 1
    return subprocess.CompletedProcess(command, code, stdout=output)


def confined_subprocess(limits: TestLimits, toolchains: tuple[str, ...]) -> types.ModuleType:
    """A stand-in for the `subprocess` module inside Aider's benchmark.py: the same module, but `run`
    with a `cwd` (only run_unit_tests calls it) runs confined."""
    shim = types.ModuleType("subprocess")
    shim.__dict__.update({k: v for k, v in vars(subprocess).items() if not k.startswith("__")})

    def run(command, *args, cwd=None, **kwargs):
        if cwd is None:
            return subprocess.run(command, *args, **kwargs)
        return confined_run(command, Path(cwd), limits, toolchains)

    shim.run = run
    return shim


#: The exercise folder the current thread's run_test works in (confine_edits reads it).
_EXERCISE = threading.local()


def confine_edits(coder_class: type) -> None:
    """Aider applies an edit to any path a reply names, creating the file when needed (the harness answers
    yes to every question), absolute paths and ../ included: in Aider's container that stays inside the
    container, but here the harness runs on the node with the user's rights. Edits to a path outside the
    exercise being worked on are skipped, as Aider skips a file the user declines."""
    original = coder_class.allowed_to_edit
    if getattr(original, "confined", False):
        return

    def allowed_to_edit(self, path):
        folder = getattr(_EXERCISE, "folder", None)
        full = Path(self.abs_root_path(path))  # resolved: ../ and symlinks followed
        if folder is None or not full.is_relative_to(folder):
            self.io.tool_warning(f"Skipping edits to {path}: outside the exercise's folder")
            return None
        return original(self, path)

    allowed_to_edit.confined = True
    coder_class.allowed_to_edit = allowed_to_edit


def load_harness(harness: Path) -> types.ModuleType:
    """Aider's benchmark.py imported from `harness` (with the prompts.py and plots.py beside it)."""
    harness = Path(harness).resolve()
    if not (harness / "benchmark.py").is_file():
        raise AiderError(f"{harness}: no benchmark.py (evaluation.aider.harness names Aider's benchmark/ folder)")
    sys.path.insert(0, str(harness))
    try:
        import aider  # noqa: F401 - the harness needs the package; say so before its import fails deep down
    except ImportError as exc:
        raise AiderError(f"aider-chat is not importable by {sys.executable} ({exc}); run Aider's benchmark "
                         "with the Aider environment (requirements/aider.txt, envs/aider.yaml)") from exc
    return importlib.import_module("benchmark")


def exercise_dirs(exercises: Path, languages: list[str] | None) -> list[str]:
    """`<language>/exercises/practice/<name>` of every exercise (Aider's layout), sorted."""
    exercises = Path(exercises)
    if not exercises.is_dir():
        raise AiderError(f"{exercises}: no such folder (evaluation.aider.exercises)")
    found = sorted(str(d.relative_to(exercises)) for d in exercises.glob("*/exercises/practice/*") if d.is_dir())
    if languages:
        wanted = {lang.lower() for lang in languages}
        found = [d for d in found if d.split("/", 1)[0].lower() in wanted]
    if not found:
        raise AiderError(f"{exercises}: no exercise in <language>/exercises/practice/<name>"
                         + (f" for {', '.join(languages)}" if languages else ""))
    for d in found:
        if not (exercises / d / ".meta/config.json").is_file():
            raise AiderError(f"{exercises / d}: no .meta/config.json (Aider reads the exercise's files from it)")
    return found


def copy_exercises(exercises: Path, run_dir: Path, names: list[str]) -> None:
    """Aider's main(): the practice folders copied into the run's folder, once (a resumed run keeps its own)."""
    for name in names:
        dst = run_dir / name
        if not dst.exists():
            shutil.copytree(Path(exercises) / name, dst)


def model_settings(model: str, max_tokens: int | None, reasoning_tag: str | None) -> list[dict]:
    """Aider's model settings (its .aider.model.settings.yml format) for the served model."""
    entry: dict = {"name": model}
    if max_tokens:
        entry["extra_params"] = {"max_tokens": int(max_tokens)}
    if reasoning_tag:
        entry["reasoning_tag"] = reasoning_tag
    return [entry]


def model_metadata(model: str, context_tokens: int, max_tokens: int | None) -> dict:
    """litellm's metadata of the served model (Aider's --model-metadata-file format): its context window, so
    Aider neither reports a window of 0 nor downloads litellm's price list to look the model up."""
    return {model: {"max_input_tokens": int(context_tokens), "max_tokens": int(max_tokens or context_tokens),
                    "max_output_tokens": int(max_tokens or context_tokens), "input_cost_per_token": 0.0,
                    "output_cost_per_token": 0.0, "litellm_provider": "openai", "mode": "chat"}}


def summary(bench: types.ModuleType, run_dir: Path, names: list[str], tries: int) -> dict:
    """Aider's pass rates (summarize_results) with each exercise's outcome, overall and per language."""
    res = bench.summarize_results(run_dir)
    per = []
    for name in names:
        path = run_dir / name / ".aider.results.json"
        results = json.loads(path.read_text()) if path.is_file() else {}
        outcomes = results.get("tests_outcomes", [])
        per.append({"exercise": name, "language": name.split("/", 1)[0], "tests_outcomes": outcomes,
                    "passed": bool(outcomes and outcomes[-1]), "error": results.get("exception"),
                    "test_timeouts": results.get("test_timeouts", 0),
                    "malformed_responses": results.get("num_malformed_responses", 0)})
    out = {"exercises": len(names), "completed": getattr(res, "completed_tests", 0) if res else 0,
           "tries": tries, "per_exercise": per, "by_language": {}}
    for i in range(1, tries + 1):  # Aider's percentages (one decimal) and the counts behind them
        out[f"pass_rate_{i}"] = float(getattr(res, f"pass_rate_{i}", 0.0)) if res else 0.0
        out[f"pass_num_{i}"] = int(getattr(res, f"pass_num_{i}", 0)) if res else 0
    for lang in sorted({p["language"] for p in per}):
        rows = [p for p in per if p["language"] == lang]
        out["by_language"][lang] = {"exercises": len(rows), **{
            f"pass_rate_{i}": round(100.0 * sum(_passed_by(p, i) for p in rows) / len(rows), 1)
            for i in range(1, tries + 1)}}
    return out


def _passed_by(exercise: dict, attempt: int) -> bool:
    """Passed at or before `attempt` (Aider: the last outcome is True, and there are no more of them)."""
    return exercise["passed"] and len(exercise["tests_outcomes"]) <= attempt


def run_benchmark(harness: Path, exercises: Path, run_dir: Path, model: str, api_base: str, *,
                  languages: list[str] | None = None, tries: int = 2, edit_format: str = "whole",
                  max_tokens: int | None = None, reasoning_tag: str | None = "think", context_tokens: int = 32768,
                  limits: TestLimits = TestLimits(), toolchains: tuple[str, ...] = (),
                  retry_timeout_s: float = 600.0, keywords: list[str] | None = None, threads: int = 1) -> dict:
    """Every exercise through Aider's run_test against the model at `api_base`; the summary (see `summary`).
    `keywords`: only the exercises whose folder contains one of them (Aider's --keywords); `threads`: exercises
    worked on at once (Aider's --threads)."""
    names = exercise_dirs(exercises, languages)
    if keywords:
        names = [n for n in names if any(k in n for k in keywords)]
        if not names:
            raise AiderError(f"{exercises}: no exercise matches {', '.join(keywords)}")
    os.environ.setdefault("OPENAI_API_KEY", "unused")  # litellm's openai client insists on a key
    os.environ["OPENAI_API_BASE"] = api_base
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download of litellm's price list
    bench = load_harness(harness)
    bench.subprocess = confined_subprocess(limits, tuple(toolchains))
    from aider import models, sendchat
    from aider.coders import base_coder

    confine_edits(base_coder.Coder)

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    copy_exercises(exercises, run_dir, names)
    litellm_model = f"openai/{model}"
    settings = run_dir / "model-settings.json"  # JSON is YAML: aider reads it with yaml.safe_load
    settings.write_text(json.dumps(model_settings(litellm_model, max_tokens, reasoning_tag), indent=1))
    models.register_models([str(settings)])
    metadata = run_dir / "model-metadata.json"
    metadata.write_text(json.dumps(model_metadata(litellm_model, context_tokens, max_tokens), indent=1))
    models.register_litellm_models([str(metadata)])
    # Aider's main() waits 24 h for an unreachable model; a local server that is gone will not come back.
    sendchat.RETRY_TIMEOUT = base_coder.RETRY_TIMEOUT = models.RETRY_TIMEOUT = retry_timeout_s

    def work(item: tuple[int, str]) -> None:
        i, name = item
        print(f"[aider] exercise {i}/{len(names)}: {name}", file=sys.stderr, flush=True)
        _EXERCISE.folder = (run_dir / name).resolve()
        bench.run_test(Path(exercises).resolve(), run_dir / name, litellm_model, edit_format, tries,
                       False, False, False, "", None, None, None)

    with contextlib.redirect_stdout(sys.stderr):  # Aider's progress; stdout stays for the summary
        if threads > 1:  # Aider's --threads: each exercise is a conversation of its own
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(work, enumerate(names, 1)))
        else:
            for item in enumerate(names, 1):
                work(item)
        return summary(bench, run_dir, names, tries)


# --------------------------------------------------------------------------- the workflow's side (rule aider_eval)
# Runs in the evaluation env (torch, the model's backend); the harness above runs in the Aider environment.

#: The env rule aider_eval serves its model in, by evaluation.backend (the server's packages, and pandas).
SERVING_ENVS = {"hf": "envs/evaluate.yaml", "vllm": "envs/evaluate_vllm.yaml"}


def serving_env(backend: str) -> str:
    if backend not in SERVING_ENVS:
        raise AiderError(f"config: evaluation.backend {backend!r}: Aider's benchmark serves a local model folder "
                         f"with the hf or the vllm backend")
    return SERVING_ENVS[backend]


#: Where `make install-aider` puts the Aider environment, relative to the workflow's folder.
AIDER_VENV_PYTHON = ".venv-aider/bin/python"
#: The benchmark's name in scores.tsv; its metrics are Aider's pass_rate_<attempt>, as fractions.
BENCHMARK = "aider_polyglot"


def harness_python(configured: str | None, workflow_dir: str | os.PathLike) -> tuple[str, str]:
    """(interpreter, aider-chat version) of Aider's harness: `configured` (evaluation.aider.python), else this
    job's own when it imports aider (envs/aider.yaml under --use-conda), else the workflow's .venv-aider.
    Checked by importing aider with it; AiderError says what to install otherwise."""
    import importlib.util

    if configured:
        python = configured if os.path.isabs(configured) else os.path.join(workflow_dir, configured)
    elif importlib.util.find_spec("aider") is not None:
        python = sys.executable
    else:
        python = os.path.join(workflow_dir, AIDER_VENV_PYTHON)
    try:
        probe = subprocess.run([python, "-c", "import aider, sys; print(aider.__version__)"], capture_output=True,
                               text=True, timeout=120)
    except OSError as exc:
        probe = subprocess.CompletedProcess([python], 127, "", str(exc))
    if probe.returncode != 0:
        raise AiderError(f"{python} cannot run Aider's harness ({(probe.stderr.strip().splitlines() or ['?'])[-1]}): "
                         "install the Aider environment with `make install-aider`, or name its interpreter in "
                         "evaluation.aider.python")
    return python, probe.stdout.strip()


def harness_command(python: str, settings: dict, harness: str, exercises: str, run_dir: str, out: str,
                    model: str, api_base: str) -> list[str]:
    """The command line of `python -m ded.evaluate.aider` for evaluation.aider's `settings`."""
    cmd = [python, "-m", "ded.evaluate.aider", "--harness", harness, "--exercises", exercises, "--run-dir", run_dir,
           "--out", out, "--model", model, "--api-base", api_base, "--tries", str(settings["tries"]),
           "--edit-format", settings["edit_format"], "--context-tokens", str(settings["context_tokens"]),
           "--reasoning-tag", settings["reasoning_tag"] or "", "--timeout", str(settings["test_timeout_s"]),
           "--memory-mb", str(settings["memory_mb"]), "--threads", str(settings["threads"])]
    if settings.get("max_tokens"):
        cmd += ["--max-tokens", str(settings["max_tokens"])]
    if settings.get("languages"):
        cmd += ["--languages", ",".join(settings["languages"])]
    for toolchain in settings.get("toolchains") or ():
        cmd += ["--toolchain", toolchain]
    return cmd


def _wait_listening(api_base: str, proc: subprocess.Popen, timeout_s: float) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AiderError(f"the model server exited with status {proc.returncode} before it listened")
        try:
            with urllib.request.urlopen(api_base + "/models", timeout=5):
                return
        except OSError:
            time.sleep(2)
    raise AiderError(f"the model server did not answer at {api_base} within {timeout_s:.0f} s")


def vllm_server_command(model_dir: str, name: str, port: int, options: dict, context_tokens: int) -> list[str]:
    """vLLM's OpenAI-compatible server for `model_dir` on this machine only, its context the one Aider is told
    (evaluation.aider.context_tokens); `options` (evaluation.backend_options, the job's tensor-parallel size
    among them) become its --flags."""
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir,
           "--served-model-name", name, "--host", "127.0.0.1", "--port", str(port)]
    options = {"max_model_len": context_tokens, **options}
    for key, value in sorted(options.items()):
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        cmd += [flag] if value is True else [flag, str(value)]
    return cmd


@contextlib.contextmanager
def served(model_dir: str, name: str, backend: str, options: dict, context_tokens: int = 32768,
           timeout_s: float = 1800.0):
    """The model at `model_dir` behind an OpenAI-compatible API on 127.0.0.1 for the block; yields its base URL.
    hf: the project's server (ded.sample.serve) in this process; vllm: vLLM's, started and stopped here."""
    if backend == "hf":
        from ..sample.hf import HFBackend
        from ..sample.serve import serve

        hf_options = {k: v for k, v in options.items() if k in ("device", "dtype", "threads", "chat_template")}
        server = serve(HFBackend(model_dir, batch_size=1, **hf_options), name)
        try:
            yield "http://127.0.0.1:%d/v1" % server.server_address[1]
        finally:
            server.shutdown()
        return
    if backend != "vllm":
        raise AiderError(f"evaluation.backend {backend!r}: Aider's benchmark serves a local model folder with the "
                         "hf or the vllm backend")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api_base = f"http://127.0.0.1:{port}/v1"
    proc = subprocess.Popen(vllm_server_command(model_dir, name, port, options, context_tokens), stdout=sys.stderr,
                            stderr=subprocess.STDOUT)
    try:
        _wait_listening(api_base, proc, timeout_s)
        yield api_base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def score_rows(model: str, summary_: dict) -> list[dict]:
    """scores.tsv rows: Aider's pass rates as fractions of the exercises that ran, from the counts (Aider
    rounds its percentages to one decimal)."""
    n = summary_["completed"]
    return [{"model": model, "benchmark": BENCHMARK, "metric": f"pass_rate_{i}",
             "value": summary_[f"pass_num_{i}"] / n if n else 0.0, "n": n}
            for i in range(1, summary_["tries"] + 1)]


#: Settings of evaluation.aider that do not change an exercise's outcome: a run resumed with another value
#: keeps the exercises it finished.
AIDER_BOOKKEEPING = ("enabled", "threads", "python")


def progress_fingerprint(model_dir: str, settings: dict, harness: str, exercises: str) -> str:
    """What Aider's saved outcomes in a run's folder were made with: the model's weights, the harness and the
    exercise set, and every setting but AIDER_BOOKKEEPING."""
    import hashlib

    from ..sample.base import model_fingerprint

    kept = {k: v for k, v in settings.items() if k not in AIDER_BOOKKEEPING}
    blob = json.dumps({"model": model_fingerprint(model_dir), "settings": kept, "harness": os.path.abspath(harness),
                       "exercises": os.path.abspath(exercises)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def fresh_or_resumed(run_dir: str | os.PathLike, fingerprint: str, log) -> None:
    """Keep `run_dir` (Aider's finished exercises: a killed job resumes) only when it was made with
    `fingerprint`; otherwise empty it, so no outcome of another model or setting is reported again."""
    run_dir = Path(run_dir)
    stamp = run_dir / "fingerprint.txt"
    if run_dir.exists() and (not stamp.is_file() or stamp.read_text().strip() != fingerprint):
        log.info("%s was made with another model or settings: starting over", run_dir)
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint + "\n")


def run_job(model_dir: str, model: str, settings: dict, *, python: str, harness: str, exercises: str,
            run_dir: str, summary_path: str, workflow_dir: str, backend: str, backend_options: dict, log) -> dict:
    """Rule aider_eval: serve the model, run Aider's harness on it with the Aider environment's interpreter
    `python` (its output into the job's log), return the summary it wrote to `summary_path`. `run_dir` resumes
    only what the same model and settings left there."""
    fresh_or_resumed(run_dir, progress_fingerprint(model_dir, settings, harness, exercises), log)
    exercise_dirs(Path(exercises), settings.get("languages") or None)  # a bad folder fails before the model loads
    log.info("Aider's harness %s with %s on %s", harness, python, exercises)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(workflow_dir)] + [p for p in [os.environ.get(
        "PYTHONPATH")] if p]))
    with served(model_dir, "evaluated", backend, backend_options, settings["context_tokens"]) as api_base:
        cmd = harness_command(python, settings, harness, exercises, run_dir, summary_path, "evaluated", api_base)
        log.info("%s", " ".join(cmd))
        proc = subprocess.run(cmd, env=env, stdout=sys.stderr, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise AiderError(f"Aider's harness failed (exit status {proc.returncode}); its output is above in this log")
    return json.loads(Path(summary_path).read_text())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ded.evaluate.aider", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--harness", required=True, type=Path, help="Aider's benchmark/ folder")
    p.add_argument("--exercises", required=True, type=Path, help="the exercise set (Aider's polyglot-benchmark)")
    p.add_argument("--run-dir", required=True, type=Path, help="where each exercise is worked on (resumable)")
    p.add_argument("--out", required=True, type=Path, help="the summary (JSON)")
    p.add_argument("--model", required=True, help="the served model's name")
    p.add_argument("--api-base", required=True, help="the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--languages", default="", help="comma-separated languages (default: all)")
    p.add_argument("--tries", type=int, default=2)
    p.add_argument("--edit-format", default="whole")
    p.add_argument("--max-tokens", type=int, default=None)
    p.add_argument("--reasoning-tag", default="think", help="'' to keep the reasoning in the reply")
    p.add_argument("--context-tokens", type=int, default=32768, help="the served model's context window")
    p.add_argument("--keywords", default="", help="only exercises whose folder contains one of these (comma-separated)")
    p.add_argument("--threads", type=int, default=1, help="exercises worked on at once (Aider's --threads)")
    p.add_argument("--timeout", type=float, default=TEST_TIMEOUT_S, help="seconds of one test run")
    p.add_argument("--memory-mb", type=int, default=TestLimits.memory_mb)
    p.add_argument("--toolchain", action="append", default=[], help="a folder the tests see read-only (repeat)")
    args = p.parse_args(argv)
    try:
        out = run_benchmark(args.harness, args.exercises, args.run_dir, args.model, args.api_base,
                            languages=[x for x in args.languages.split(",") if x] or None, tries=args.tries,
                            edit_format=args.edit_format, max_tokens=args.max_tokens,
                            reasoning_tag=args.reasoning_tag or None, context_tokens=args.context_tokens,
                            keywords=[x for x in args.keywords.split(",") if x] or None, threads=args.threads,
                            limits=TestLimits(timeout_s=args.timeout, memory_mb=args.memory_mb),
                            toolchains=tuple(args.toolchain))
    except (DedError, sandbox.Unconfined) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, out)
    print(json.dumps({k: out[k] for k in ("exercises", "completed", "pass_rate_1", f"pass_rate_{args.tries}")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
