"""Judging model-written programs: the code block of an answer, its syntax, and its output on
stdin/stdout tests compared as CodeForces checkers compare. Every run goes through the sandbox
(ded/filter/sandbox.py), which is about confinement only."""

from __future__ import annotations

import re
from typing import Callable, Sequence

from .sandbox import InfraError, Limits, run_program

#: Verdicts of `check_program`. Only "accepted" passes.
VERDICTS = ("accepted", "wrong_answer", "time_limit", "memory_limit", "runtime_error",
            "compile_error", "output_limit", "no_code", "infra_error")

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)


def extract_code(answer: str | None) -> str | None:
    """The last ```python fenced block of an answer (``` blocks tagged py/python3 or untagged count
    too, but a tagged python block wins); None if there is none."""
    if not answer:
        return None
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(answer)]
    py = [b for tag, b in blocks if tag in ("python", "py", "python3")]
    if py:
        return py[-1]
    untagged = [b for tag, b in blocks if tag == ""]
    return untagged[-1] if untagged else None


def compile_error(source: str) -> str | None:
    """The syntax error of `source`, or None. compile() only parses: nothing of the program runs."""
    try:
        compile(source, "main.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_NUM = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_REAL = re.compile(r"[.eE]")


def _token_equal(expected: str, actual: str, tol: float | None) -> bool:
    if expected == actual:
        return True
    # Like testlib's real-number checkers, only where the expected token is a real (has '.' or
    # an exponent): an integer answer must match exactly.
    if tol is None or not _REAL.search(expected) or not _NUM.fullmatch(expected) or not _NUM.fullmatch(actual):
        return False
    e, a = float(expected), float(actual)
    diff = abs(e - a)
    return diff <= tol or diff <= tol * abs(e)


def compare_output(expected: str | bytes, actual: str | bytes, float_tolerance: float | None = 1e-6) -> tuple[bool, str]:
    """Token-wise comparison as CodeForces checkers do: whitespace and line ends do not matter."""
    if isinstance(expected, bytes):
        expected = expected.decode("utf-8", "replace")
    if isinstance(actual, bytes):
        actual = actual.decode("utf-8", "replace")
    exp, act = expected.split(), actual.split()
    for i, (e, a) in enumerate(zip(exp, act)):
        if not _token_equal(e, a, float_tolerance):
            return False, f"token {i + 1}: expected {e[:40]!r}, got {a[:40]!r}"
    if len(exp) != len(act):
        return False, f"expected {len(exp)} tokens, got {len(act)}"
    return True, "ok"


def check_program(source: str | None, tests: Sequence[dict], *, time_limit_s: float = 2.0,
                  memory_mb: int = 256, float_tolerance: float | None = 1e-6,
                  limits: Limits | None = None, python: str | None = None,
                  stop_at_first_failure: bool = True,
                  compare: Callable[[str, bytes], tuple[bool, str]] | None = None) -> dict:
    """Judge a program on [{input, output}] tests. Returns {verdict, reason, tests_passed, n_tests,
    cpu_s (max over tests), wall_s, test (index of the deciding test), isolation (of the last run)}.

    compare(expected output, program stdout) -> (ok, reason) replaces the token-wise comparison
    (`ded.filter.functional` reads a call's result from stdout this way)."""
    out = {"verdict": "accepted", "reason": "", "tests_passed": 0, "n_tests": len(tests), "cpu_s": 0.0,
           "wall_s": 0.0, "test": None}
    if source is None or not source.strip():
        return out | {"verdict": "no_code", "reason": "no ```python block after </think>"}
    err = compile_error(source)
    if err:
        return out | {"verdict": "compile_error", "reason": err}
    if not tests:
        return out | {"verdict": "infra_error", "reason": "the problem has no tests"}
    lim = limits or Limits(time_limit_s=float(time_limit_s), memory_mb=int(memory_mb))
    first_fail = None
    for i, test in enumerate(tests):
        try:
            res = run_program(source, test.get("input", ""), lim, python=python)
        except InfraError as exc:
            return out | {"verdict": "infra_error", "reason": str(exc)[:500], "test": i}
        out["wall_s"] = round(out["wall_s"] + res.wall_s, 3)
        out["cpu_s"] = max(out["cpu_s"], res.cpu_s or 0.0)
        # What protected the run, so a verdict shows where isolation was weaker (docs/cluster.md).
        out["isolation"] = {k: res.isolation.get(k) for k in ("fs", "net", "pid", "user", "uid_dropped")}
        if res.status == "ok":
            if compare is None:
                ok, why = compare_output(test.get("output", ""), res.stdout, float_tolerance)
            else:
                ok, why = compare(test.get("output", ""), res.stdout)
            if ok:
                out["tests_passed"] += 1
                continue
            verdict, reason = "wrong_answer", why
        else:
            verdict, reason = res.status, res.reason
        if first_fail is None:
            first_fail = (verdict, f"test {i + 1}: {reason}", i)
        if stop_at_first_failure:
            break
    if first_fail:
        out["verdict"], out["reason"], out["test"] = first_fail
    else:
        out["reason"] = f"passed {len(tests)} tests"
    return out
