"""Where Aider's exercise tests run: `confined_run`, the stand-in for the `subprocess.run` of Aider's
run_unit_tests, on the shipped exercises with hand-written solutions (the model-free half of the Aider
path; tests/model/test_aider.py runs Aider's harness itself). Each runs pytest in the sandbox."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from support.workflow import ROOT

from ded.evaluate import aider as A
from ded.filter import sandbox as S

EXERCISES = ROOT / "tests/fixtures/aider_exercises"
LEAP = "python/exercises/practice/leap"
LIMITS = A.TestLimits(timeout_s=20, memory_mb=2048)

needs_confinement = pytest.mark.skipif(not S.setup(packages=True).fs, reason="no mount namespace here: "
                                       + "; ".join(S.setup(packages=True).notes))


def exercise(tmp_path: Path, solution: str, name: str = LEAP) -> Path:
    """A copy of a shipped exercise with `solution` as its solution file (what the model wrote)."""
    dst = tmp_path / "run" / name
    shutil.copytree(EXERCISES / name, dst)
    config = json.loads((dst / ".meta/config.json").read_text())
    (dst / config["files"]["solution"][0]).write_text(solution)
    return dst


def test_the_shipped_exercises_have_aiders_layout():
    names = A.exercise_dirs(EXERCISES, None)
    assert names == [f"python/exercises/practice/{n}" for n in ("leap", "reverse-string", "sum-of-multiples")]
    for name in names:
        config = json.loads((EXERCISES / name / ".meta/config.json").read_text())
        for kind in ("solution", "test", "example"):
            assert all((EXERCISES / name / f).is_file() for f in config["files"][kind]), (name, kind)


@needs_confinement
def test_a_right_solution_passes_and_a_wrong_one_fails_with_pytests_output(tmp_path):
    right = (EXERCISES / LEAP / ".meta/example.py").read_text()
    ok = A.confined_run(["pytest"], exercise(tmp_path / "a", right), LIMITS)
    assert ok.returncode == 0 and "4 passed" in ok.stdout, ok.stdout
    testdir = exercise(tmp_path / "b", "def leap_year(year):\n    return year % 4 == 0\n")
    bad = A.confined_run(["pytest"], testdir, LIMITS)
    assert bad.returncode != 0 and "1 failed, 3 passed" in bad.stdout, bad.stdout
    # pytest's paths read as the exercise folder's, which Aider's cleanup_test_output shortens to its name
    assert "/sandbox/" not in bad.stdout and "leap_test.py" in bad.stdout


@needs_confinement
def test_the_reference_solution_is_out_of_reach(tmp_path):
    # .meta holds Aider's reference solution: code under test that loads it must not pass.
    cheat = "exec(open('.meta/example.py').read())\n"
    res = A.confined_run(["pytest"], exercise(tmp_path, cheat), LIMITS)
    assert res.returncode != 0 and "FileNotFoundError" in res.stdout, res.stdout


@needs_confinement
def test_hostile_code_under_test_is_confined(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the-user's-secret")
    escaped = tmp_path / "escaped.txt"
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    hostile = f"""import os, socket
found = []
for attempt in (lambda: open({str(secret)!r}).read(), lambda: open({str(escaped)!r}, 'w').write('x'),
                lambda: socket.create_connection(('127.0.0.1', {port}), timeout=2),
                lambda: os.listdir({str(ROOT)!r})):
    try:
        found.append(repr(attempt()))
    except Exception as exc:
        found.append(type(exc).__name__)
print('ATTEMPTS', found)

def leap_year(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
"""
    try:
        srv.settimeout(0.1)
        res = A.confined_run(["pytest", "-s"], exercise(tmp_path, hostile), LIMITS)
        with pytest.raises(socket.timeout):
            srv.accept()
    finally:
        srv.close()
    assert "ATTEMPTS" in res.stdout, res.stdout
    assert "the-user's-secret" not in res.stdout and not escaped.exists()
    attempts = next(x for x in res.stdout.splitlines() if "ATTEMPTS" in x).split("[", 1)[1]
    # the secret not found, the host path not writable, no network
    assert attempts.startswith("'FileNotFoundError', 'FileNotFoundError', 'OSError',"), attempts
    # the workflow's folder shows at most the interpreter's virtual environment (bound read-only for pytest)
    assert "Snakefile" not in attempts and "ded" not in attempts.split("OSError", 1)[1], attempts


@needs_confinement
def test_a_test_run_past_its_time_is_aiders_time_out(tmp_path):
    spin = "while True:\n    pass\n"
    with pytest.raises(subprocess.TimeoutExpired):
        A.confined_run(["pytest"], exercise(tmp_path, spin), A.TestLimits(timeout_s=3, memory_mb=2048))


@needs_confinement
def test_a_missing_test_command_is_a_failed_run_not_a_crash(tmp_path):
    res = A.confined_run(["cargo", "test"], exercise(tmp_path, "x = 1\n"), LIMITS)
    assert res.returncode == 127 and "cargo" in res.stdout, res.stdout


def test_the_archive_leaves_out_what_the_tests_never_read(tmp_path):
    import io
    import tarfile

    testdir = exercise(tmp_path, "def leap_year(year):\n    pass\n")
    data = A.exercise_archive(testdir)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = sorted(tar.getnames())
    assert names == ["leap.py", "leap_test.py"]
    assert A.exercise_archive(testdir) == data  # the same folder, the same bytes


def test_exercise_errors_name_the_folder(tmp_path):
    with pytest.raises(A.AiderError, match="no such folder"):
        A.exercise_dirs(tmp_path / "absent", None)
    (tmp_path / "python/exercises/practice/x").mkdir(parents=True)
    with pytest.raises(A.AiderError, match=r"x: no .meta/config.json"):
        A.exercise_dirs(tmp_path, None)
    with pytest.raises(A.AiderError, match="for rust"):
        A.exercise_dirs(tmp_path, ["rust"])


# --------------------------------------------------------------------------- the job's side, without a model


def test_the_harness_command_carries_every_setting():
    from ded.settings import resolve_section

    settings = resolve_section({"enabled": True, "exercises": "x", "languages": ["python", "rust"], "max_tokens": 512,
                                "toolchains": ["/opt/go", "/opt/rust"], "threads": 4}, "evaluation.aider")
    cmd = A.harness_command("/venv/bin/python", settings, "H", "E", "R", "O.json", "m", "http://h/v1")
    assert cmd[:3] == ["/venv/bin/python", "-m", "ded.evaluate.aider"]
    flags = dict(zip(cmd[3::2], cmd[4::2]))
    assert flags["--tries"] == "2" and flags["--edit-format"] == "whole" and flags["--max-tokens"] == "512"
    assert flags["--languages"] == "python,rust" and flags["--threads"] == "4" and flags["--timeout"] == "180"
    assert cmd.count("--toolchain") == 2 and flags["--reasoning-tag"] == "think"


def test_vllm_serves_on_loopback_with_the_context_aider_is_told():
    cmd = A.vllm_server_command("/m", "evaluated", 8001, {"tensor_parallel_size": 2, "enforce_eager": True,
                                                          "quantization": None}, 40960)
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--max-model-len") + 1] == "40960"
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "2" and "--enforce-eager" in cmd
    assert "--quantization" not in cmd


def test_scores_are_aiders_pass_rates_as_fractions():
    # Aider prints 12.4 and 25.8; the scores keep the counts' exact fractions
    rows = A.score_rows("base/s", {"pass_rate_1": 12.4, "pass_num_1": 28, "pass_rate_2": 25.8, "pass_num_2": 58,
                                   "tries": 2, "completed": 225})
    assert rows == [{"model": "base/s", "benchmark": "aider_polyglot", "metric": "pass_rate_1", "value": 28 / 225,
                     "n": 225},
                    {"model": "base/s", "benchmark": "aider_polyglot", "metric": "pass_rate_2", "value": 58 / 225,
                     "n": 225}]
    assert A.score_rows("base/s", {"pass_rate_1": 0.0, "pass_num_1": 0, "tries": 1, "completed": 0})[0]["value"] == 0


def test_a_model_settings_and_metadata_entry_per_served_model():
    assert A.model_settings("openai/m", 64, "think") == [
        {"name": "openai/m", "extra_params": {"max_tokens": 64}, "reasoning_tag": "think"}]
    assert A.model_settings("openai/m", None, None) == [{"name": "openai/m"}]
    meta = A.model_metadata("openai/m", 8192, None)["openai/m"]
    assert meta["max_input_tokens"] == 8192 and meta["litellm_provider"] == "openai"


def test_the_serving_env_follows_the_backend():
    assert A.serving_env("hf") == "envs/evaluate.yaml" and A.serving_env("vllm") == "envs/evaluate_vllm.yaml"
    with pytest.raises(A.AiderError, match="hf or the vllm backend"):
        A.serving_env("openai")


def test_saved_outcomes_are_resumed_only_for_the_same_model_and_settings(tmp_path):
    import logging

    from ded.settings import resolve_section

    settings = resolve_section({"enabled": True, "exercises": "x"}, "evaluation.aider")
    model = tmp_path / "model"  # what model_fingerprint reads: the config and the weights' ends
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"w" * 64)
    run = tmp_path / "run"
    fp = A.progress_fingerprint(str(model), settings, "H", "E")
    A.fresh_or_resumed(run, fp, logging.getLogger("t"))
    (run / "done.json").write_text("{}")
    A.fresh_or_resumed(run, A.progress_fingerprint(str(model), dict(settings, threads=8), "H", "E"),
                       logging.getLogger("t"))
    assert (run / "done.json").exists()  # threads do not change an outcome: resumed
    A.fresh_or_resumed(run, A.progress_fingerprint(str(model), dict(settings, max_tokens=64), "H", "E"),
                       logging.getLogger("t"))
    assert not (run / "done.json").exists()  # another reply budget: started over
    (model / "model.safetensors").write_bytes(b"v" * 64)  # retrained: started over too
    (run / "done.json").write_text("{}")
    A.fresh_or_resumed(run, A.progress_fingerprint(str(model), dict(settings, max_tokens=64), "H", "E"),
                       logging.getLogger("t"))
    assert not (run / "done.json").exists()
