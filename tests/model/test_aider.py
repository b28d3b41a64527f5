"""Aider's Polyglot benchmark end to end on the shipped exercises: Aider's own harness (third_party/
aider_benchmark, run by the Aider environment's interpreter) against the project's OpenAI-compatible
server (`ded.sample.serve`), every test run in the sandbox.

The server answers from a scripted backend whose replies are known, so the attempts, the test output fed back
and pass@2 can be asserted exactly; tests/workflow/test_aider_rule.py serves a real (tiny) model through the
same server, by the rule."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support.workflow import ROOT

from ded.filter import sandbox as S
from ded.sample.base import Backend, Completion, Outcome
from ded.sample.serve import serve

EXERCISES = ROOT / "tests/fixtures/aider_exercises"
HARNESS = ROOT / "third_party/aider_benchmark"
AIDER_PYTHON = ROOT / ".venv-aider/bin/python"
PRACTICE = "python/exercises/practice"

pytestmark = [
    pytest.mark.skipif(not S.setup().fs, reason="no mount namespace here: " + "; ".join(S.setup().notes)),
]


@pytest.fixture(scope="module")
def aider_python() -> str:
    assert AIDER_PYTHON.exists(), "the Aider environment is missing: `make install-aider` (make test installs it)"
    return str(AIDER_PYTHON)


def whole_file(name: str, code: str) -> str:
    """A reply in Aider's `whole` edit format: the file's name, then all of it in a fence."""
    return f"Here is the file.\n\n{name}\n```python\n{code}```\n"


RIGHT = {"leap": ("leap.py", "def leap_year(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n"),
         "reverse": ("reverse_string.py", "def reverse(text):\n    return text[::-1]\n"),
         "multiples": ("sum_of_multiples.py",
                       "def sum_of_multiples(limit, multiples):\n    return sum({n for f in multiples if f "
                       "for n in range(f, limit, f)})\n")}
WRONG = {"leap": ("leap.py", "def leap_year(year):\n    return year % 4 == 0\n"),
         "multiples": ("sum_of_multiples.py",
                       "def sum_of_multiples(limit, multiples):\n    return sum(n for f in multiples "
                       "for n in range(f, limit, f))\n")}


class ScriptedBackend(Backend):
    """The model of these tests: leap is wrong, then right once the test output comes back; reverse-string
    right at once; sum-of-multiples wrong both times (a factor of 0 loops range(0, ...): an error)."""

    name = "scripted"

    def __init__(self):
        self.conversations: list[list[dict]] = []

    def stream(self, requests):
        for i, req in enumerate(requests):
            messages = list(req.messages)
            self.conversations.append(messages)
            text = "\n".join(str(m.get("content", "")) for m in messages)
            retry = "See the testing errors above" in text
            key = next(k for k, word in (("leap", "leap year"), ("reverse", "Reverse a string"),
                                         ("multiples", "sum of every distinct number")) if word in text)
            wrong = key == "multiples" or (key == "leap" and not retry)
            name, code = (WRONG if wrong else RIGHT)[key]
            yield Outcome(i, req, [Completion(raw_text=whole_file(name, code), prompt_tokens=1,
                                              completion_tokens=1, finish_reason="stop")])


def run_aider(python: str, api_base: str, run_dir: Path, *extra: str, timeout: int = 600):
    out = run_dir.parent / f"{run_dir.name}.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(run_dir.parent))  # aider keeps caches in HOME
    proc = subprocess.run([python, "-m", "ded.evaluate.aider", "--harness", str(HARNESS), "--exercises",
                           str(EXERCISES), "--run-dir", str(run_dir), "--out", str(out), "--model", "tested",
                           "--api-base", api_base, "--timeout", "30", *extra],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=run_dir.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return json.loads(out.read_text()), proc


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory, aider_python):
    """One run of the shipped exercises against the scripted model; yields (summary, backend, run folder,
    api_base, the server still up for a second run)."""
    backend = ScriptedBackend()
    server = serve(backend, "tested")
    run_dir = tmp_path_factory.mktemp("aider") / "run"
    try:
        api_base = "http://127.0.0.1:%d/v1" % server.server_address[1]
        summary, proc = run_aider(aider_python, api_base, run_dir)
        yield summary, backend, run_dir, api_base, proc
    finally:
        server.shutdown()


def test_two_attempts_with_the_test_output_fed_back_give_aiders_pass_at_2(scripted_run):
    summary, backend, run_dir, _, proc = scripted_run
    outcomes = {p["exercise"].rsplit("/", 1)[1]: p["tests_outcomes"] for p in summary["per_exercise"]}
    assert outcomes == {"leap": [False, True], "reverse-string": [True], "sum-of-multiples": [False, False]}
    # Aider's own summarize_results: 1 of 3 on the first attempt, 2 of 3 by the second
    assert (summary["pass_rate_1"], summary["pass_rate_2"]) == (33.3, 66.7), summary
    assert (summary["pass_num_1"], summary["pass_num_2"]) == (1, 2)
    assert summary["by_language"] == {"python": {"exercises": 3, "pass_rate_1": 33.3, "pass_rate_2": 66.7}}
    # The second request for leap carried pytest's report of the first attempt's failure
    leap = [c for c in backend.conversations if "leap year" in json.dumps(c)]
    assert len(leap) == 2 and "test_year_divisible_by_100_not_by_400" in json.dumps(leap[1])
    assert "See the testing errors above" in json.dumps(leap[1])
    # What Aider left per exercise: its results file and the chat with the tests' output
    history = (run_dir / PRACTICE / "leap/.aider.chat.history.md").read_text()
    assert "1 failed, 3 passed" in history and "4 passed" in history
    # the model's metadata is known: Aider looked nothing up on the network and knew the context window
    assert "raw.githubusercontent.com" not in proc.stderr and "of 0 --" not in proc.stderr


def test_a_killed_run_resumes_without_asking_again(scripted_run, aider_python):
    first, backend, run_dir, api_base, _ = scripted_run
    asked = len(backend.conversations)
    # as if killed during sum-of-multiples: its results file is gone, the others stay
    (run_dir / PRACTICE / "sum-of-multiples/.aider.results.json").unlink()
    second, _ = run_aider(aider_python, api_base, run_dir)
    assert len(backend.conversations) == asked + 2  # only sum-of-multiples' two attempts again
    assert first["per_exercise"] == second["per_exercise"]


class EscapingBackend(Backend):
    """A model whose one reply edits the solution and also names files outside the exercise: a relative path
    climbing out of it and an absolute one."""

    name = "escaping"

    def __init__(self, outside: Path):
        self.outside = outside

    def stream(self, requests):
        for i, req in enumerate(requests):
            name, code = RIGHT["leap"]
            text = (whole_file(name, code) + whole_file("../../../../../escaped_relative.py", "x = 1\n")
                    + whole_file(str(self.outside / "escaped_absolute.py"), "x = 2\n"))
            yield Outcome(i, req, [Completion(raw_text=text, prompt_tokens=1, completion_tokens=1,
                                              finish_reason="stop")])


def test_edits_outside_the_exercise_are_skipped(tmp_path, aider_python):
    outside = tmp_path / "outside"
    outside.mkdir()
    server = serve(EscapingBackend(outside), "tested")
    try:
        api_base = "http://127.0.0.1:%d/v1" % server.server_address[1]
        summary, proc = run_aider(aider_python, api_base, tmp_path / "run", "--keywords", "leap")
    finally:
        server.shutdown()
    assert summary["per_exercise"][0]["tests_outcomes"] == [True]  # the solution's own edit was applied
    assert not (outside / "escaped_absolute.py").exists()
    assert not list(tmp_path.rglob("escaped_relative.py")), list(tmp_path.rglob("escaped_*"))
    assert "outside the exercise's folder" in proc.stderr
