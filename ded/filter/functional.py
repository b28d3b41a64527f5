"""LeetCode-style ("functional") tests, judged as LiveCodeBench's own evaluator does.

A functional test's `input` is one JSON value per line, one per argument, and its `output` is one
JSON value. The answer defines `class Solution` with a method named by the problem's
`meta.func_name` (or, without such a class, a top-level function of that name); the test calls
`Solution().func_name(*args)` and compares the returned value with the expected one.

The call happens only inside the sandbox: `driver_source` wraps the answer in a program that reads
the arguments from stdin, calls the method and prints the result as JSON after a per-check random
sentinel (so stray prints by the answer cannot be mistaken for the result), and `check_functional`
runs that program through `ded.filter.programs.check_program`, one process per test, with the usual
limits and verdicts. The parent compares only parsed JSON (`compare_functional`), never an object
from the answer, so a returned object whose `__eq__` always says True cannot pass.

Equality follows LiveCodeBench's `grade_call_based` (`prediction == expected` after JSON
parsing, tuples read as lists): numbers compare by value, so 3 == 3.0 and, as in Python,
True == 1. On top of that, a real-valued expected number accepts an absolute or relative error up
to `float_tolerance`, like the stdin checker's real tokens.
"""

from __future__ import annotations

import ast
import json
import os
from typing import Sequence

from .programs import check_program, compile_error
from .sandbox import Limits

#: LiveCodeBench's import header (testing_util.import_string): LeetCode starter code uses
#: `List`, `Optional`, `deque`, `heappush`, ... without importing them.
IMPORT_HEADER = "\n".join([
    *(f"from {m} import *" for m in (
        "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random", "statistics",
        "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing")),
    *(f"import {m}" for m in (
        "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random", "statistics",
        "itertools", "functools", "operator", "io", "sys", "json")),
    "sys.setrecursionlimit(50000)",
]) + "\n"

# Runs before the answer: it takes the arguments before the answer could read stdin, keeps the
# real stdout, and renames the module as LiveCodeBench (which imports the answer as a module)
# does, so an `if __name__ == "__main__":` demo block does not run.
_PRELUDE = """\
import sys as _ded_sys
import json as _ded_json
_ded_stdin = _ded_sys.stdin.read()
_ded_stdout = _ded_sys.stdout
if hasattr(_ded_sys, "set_int_max_str_digits"):
    _ded_sys.set_int_max_str_digits(0)
__name__ = "solution"
_ded_sys.modules[__name__] = _ded_sys.modules["__main__"]
"""

_FOOTER = """

def _ded_plain(value):
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return tolist()
    raise TypeError(type(value).__name__ + " is not a JSON value")


def _ded_main(name, sentinel):
    args = [_ded_json.loads(line) for line in _ded_stdin.split("\\n") if line.strip()]
    target = None
    solution = globals().get("Solution")
    if isinstance(solution, type) and hasattr(solution, name):
        target = getattr(solution(), name)
    elif callable(globals().get(name)):
        target = globals()[name]
    if not callable(target):
        _ded_sys.stderr.write("DED: no method Solution.%s and no function %s to call\\n" % (name, name))
        _ded_sys.exit(1)
    result = target(*args)
    try:
        text = "ok " + _ded_json.dumps(result, default=_ded_plain)
    except (TypeError, ValueError, OverflowError, RecursionError):
        text = "not-json " + type(result).__name__
    _ded_stdout.write("\\n" + sentinel + text + "\\n")
    _ded_stdout.flush()


_ded_main(__DED_NAME__, __DED_SENTINEL__)
"""


def _hoist_future(code: str) -> tuple[str, list[str]]:
    """(code without its `from __future__` imports, their feature names): they must stay the
    first statement of the file, so they move above the prelude. Each is replaced by `pass`
    (line numbers kept), so `from __future__ import x; y = 1` stays valid."""
    tree = ast.parse(code)
    spans, names = [], []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            spans.append(node)
            names.extend(a.name for a in node.names)
    if not spans:
        return code, []
    lines = code.splitlines(keepends=True)
    for node in reversed(spans):  # col offsets are UTF-8 byte offsets within their line
        first = lines[node.lineno - 1].encode("utf-8")
        last = lines[node.end_lineno - 1].encode("utf-8")
        head = first[:node.col_offset].decode("utf-8")
        tail = last[node.end_col_offset:].decode("utf-8")
        joined = head + "pass" + "\\\n" * (node.end_lineno - node.lineno) + tail
        lines[node.lineno - 1:node.end_lineno] = [joined]
    return "".join(lines), names


def driver_source(code: str, func_name: str, sentinel: str) -> str:
    """The program the sandbox runs for one functional test: the answer between a prelude (the
    import header, stdin read into a variable) and a footer that calls `func_name` on the JSON
    arguments from stdin and prints `sentinel + "ok " + json` (or `"not-json " + type name`)."""
    body, future = _hoist_future(code)
    head = f"from __future__ import {', '.join(future)}\n" if future else ""
    footer = _FOOTER.replace("__DED_NAME__", repr(func_name)).replace("__DED_SENTINEL__", repr(sentinel))
    return head + _PRELUDE + IMPORT_HEADER + "\n" + body + "\n" + footer


def read_result(stdout: bytes | str, sentinel: str) -> tuple[str, str] | None:
    """(kind, payload) of the last result line the driver printed: ("ok", json text) or
    ("not-json", type name); None when there is none (the program exited before printing)."""
    text = stdout.decode("utf-8", "replace") if isinstance(stdout, bytes) else stdout
    k = text.rfind(sentinel)
    if k < 0:
        return None
    line = text[k + len(sentinel):].split("\n", 1)[0]
    kind, _, payload = line.partition(" ")
    return kind, payload


def _is_number(x) -> bool:
    return isinstance(x, (int, float))


def _numbers_equal(e, a, tol: float | None) -> bool:
    if e == a:
        return True
    if tol is None or not isinstance(e, float) or isinstance(a, bool):
        return False
    try:
        diff = abs(e - a)
    except OverflowError:  # a huge integer
        return False
    return diff <= tol or diff <= tol * abs(e)


def _show(x) -> str:
    s = json.dumps(x)
    return s if len(s) <= 60 else s[:57] + "..."


def _mismatch(expected, actual, tol: float | None) -> str | None:
    """Where and how two JSON values differ, or None when equal. Iterative: nesting as deep as
    the JSON parser allows cannot overflow the stack here."""
    stack = [("", expected, actual)]
    while stack:
        path, e, a = stack.pop()
        where = f"result{path}"
        if isinstance(e, list) and isinstance(a, list):
            if len(e) != len(a):
                return f"{where}: expected a list of {len(e)}, got {len(a)}"
            stack.extend((f"{path}[{i}]", e[i], a[i]) for i in range(len(e) - 1, -1, -1))
        elif isinstance(e, dict) and isinstance(a, dict):
            if e.keys() != a.keys():
                return f"{where}: expected keys {_show(sorted(e))}, got {_show(sorted(a))}"
            stack.extend((f"{path}[{json.dumps(k)}]", e[k], a[k]) for k in reversed(list(e)))
        elif isinstance(e, (list, dict)) or isinstance(a, (list, dict)):
            return f"{where}: expected {_show(e)}, got {_show(a)}"
        elif _is_number(e) and _is_number(a):
            if not _numbers_equal(e, a, tol):
                return f"{where}: expected {_show(e)}, got {_show(a)}"
        elif e != a:  # str and null; a str never equals a number
            return f"{where}: expected {_show(e)}, got {_show(a)}"
    return None


def compare_functional(expected_json: str, actual_json: str, float_tolerance: float | None = 1e-6) -> tuple[bool, str]:
    """(equal, reason) for an expected and a returned value, both JSON text (see the module doc
    for the rules). A malformed `expected_json` raises ValueError; a malformed result is wrong."""
    expected = json.loads(expected_json)
    try:
        actual = json.loads(actual_json)
    except (ValueError, RecursionError) as exc:
        return False, f"the result is not JSON: {str(exc)[:100]}"
    why = _mismatch(expected, actual, float_tolerance)
    return (True, "ok") if why is None else (False, why)


def _result_checker(sentinel: str, float_tolerance: float | None):
    def compare(expected: str, stdout: bytes) -> tuple[bool, str]:
        got = read_result(stdout, sentinel)
        if got is None:
            return False, "no result printed (the program exited before the call returned)"
        kind, payload = got
        if kind != "ok":
            return False, f"returned a {payload[:40]}, which is not a JSON value"
        return compare_functional(expected, payload, float_tolerance)

    return compare


def bad_test(tests: Sequence[dict]) -> str | None:
    """Why the functional tests cannot be run (not the answer's fault), or None."""
    for i, t in enumerate(tests, 1):
        inp, out = t.get("input"), t.get("output")
        if not isinstance(inp, str) or not isinstance(out, str):
            return f"test {i}: input and output must be strings of JSON"
        for k, line in enumerate(inp.split("\n"), 1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError as exc:
                    return f"test {i}: input line {k} is not JSON: {exc}"
        try:
            json.loads(out)
        except ValueError as exc:
            return f"test {i}: output is not JSON: {exc}"
    return None


def check_functional(code: str | None, func_name: str | None, tests: Sequence[dict], *, time_limit_s: float = 2.0,
                     memory_mb: int = 256, float_tolerance: float | None = 1e-6, limits: Limits | None = None,
                     python: str | None = None, stop_at_first_failure: bool = True) -> dict:
    """Judge an answer on functional tests; the same result record and verdicts as
    `ded.filter.programs.check_program`. Limits apply per test, each test in its own process."""
    out = {"verdict": "accepted", "reason": "", "tests_passed": 0, "n_tests": len(tests), "cpu_s": 0.0,
           "wall_s": 0.0, "test": None}
    if code is None or not code.strip():
        return out | {"verdict": "no_code", "reason": "no ```python block after </think>"}
    err = compile_error(code)
    if err:
        return out | {"verdict": "compile_error", "reason": err}
    if not isinstance(func_name, str) or not func_name.isidentifier():
        return out | {"verdict": "infra_error", "reason": f"functional tests need meta.func_name, got {func_name!r}"}
    why = bad_test(tests)
    if why:
        return out | {"verdict": "infra_error", "reason": why}
    sentinel = f"@@ded-result-{os.urandom(8).hex()}@@ "
    return check_program(driver_source(code, func_name, sentinel), tests, time_limit_s=time_limit_s,
                         memory_mb=memory_mb, limits=limits, python=python,
                         stop_at_first_failure=stop_at_first_failure,
                         compare=_result_checker(sentinel, float_tolerance))


def check_tests(code: str | None, tests: Sequence[dict], *, func_name: str | None = None, **kw) -> dict:
    """`check_functional` when every test is functional, `check_program` (stdin/stdout) when none
    is; a mix is an infra_error (LiveCodeBench never mixes them within a problem)."""
    kinds = {t.get("testtype") or "stdin" for t in tests}
    if kinds <= {"stdin"}:
        return check_program(code, tests, **kw)
    if kinds == {"functional"}:
        return check_functional(code, func_name, tests, **kw)
    return {"verdict": "infra_error", "reason": f"tests of types {sorted(kinds)}: expected all stdin or all functional",
            "tests_passed": 0, "n_tests": len(tests), "cpu_s": 0.0, "wall_s": 0.0, "test": None}
