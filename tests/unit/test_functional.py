"""LeetCode-style ("functional") tests: the driver in the sandbox, the JSON comparison in the
parent, and a LiveCodeBench record in its published layout scored end to end."""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from support.sandbox import strays

from ded.data.benchmarks import load_benchmark
from ded.filter import sandbox as S
from ded.filter import verify_samples
from ded.filter.functional import (
    check_functional,
    check_tests,
    compare_functional,
    driver_source,
    read_result,
)
from ded.io import validate_records

ROOT = Path(__file__).resolve().parents[2]
TL = 1.0


def ftests(*pairs) -> list[dict]:
    """[(args as a list of values, expected value)] -> functional tests in LiveCodeBench's encoding."""
    return [{"input": "\n".join(json.dumps(a) for a in args), "output": json.dumps(out), "testtype": "functional"}
            for args, out in pairs]


def judged(code: str, func_name: str, tests: list[dict], **kw) -> dict:
    kw.setdefault("time_limit_s", TL)
    return check_functional(code, func_name, tests, **kw)


TWO_SUM = ftests(([[2, 7, 11, 15], 9], [0, 1]), ([[3, 2, 4], 6], [1, 2]), ([[3, 3], 6], [0, 1]))

GOOD = """\
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
"""


# --------------------------------------------------------------------------- comparison (pure)


def test_compare_functional_rules():
    eq = lambda e, a, tol=1e-6: compare_functional(json.dumps(e), json.dumps(a), tol)[0]  # noqa: E731
    assert eq([1, 2, 3], [1, 2, 3]) and not eq([1, 2, 3], [1, 3, 2]) and not eq([1, 2], [1, 2, 3])
    assert eq([[1, [2]], []], [[1, [2]], []]) and not eq([[1, [2]], []], [[1, [3]], []])
    assert eq("abc", "abc") and not eq("abc", "abd") and not eq("1", 1) and not eq([], "")
    assert eq(True, True) and not eq(True, False) and not eq(True, "true") and not eq(None, False)
    assert eq(True, 1)  # LiveCodeBench compares with Python's ==
    assert eq(3, 3.0) and not eq(3, 3.0000001)  # an integer answer: exact value
    assert eq(0.3333333, 0.33333334) and eq(1e6, 1e6 + 0.5) and not eq(0.3333, 0.34)
    assert not eq(0.5, 0.5000001, None)  # tolerance off
    assert eq([1.5, [2.0000000001]], [1.5, [2]]) and not eq(2.5, True)
    assert eq({"a": [1]}, {"a": [1]}) and not eq({"a": 1}, {"b": 1}) and not eq({"a": 1}, {"a": 2})
    assert not eq(None, 0) and eq(None, None)
    assert not compare_functional("1", "not json")[0]
    ok, why = compare_functional("[[1, 2], [3, 4]]", "[[1, 2], [3, 5]]")
    assert not ok and why == "result[1][1]: expected 4, got 5"
    deep = "[" * 900 + "]" * 900
    assert compare_functional(deep, deep)[0]
    with pytest.raises(ValueError):
        compare_functional("not json", "1")


def test_read_result_takes_the_last_sentinel_line():
    assert read_result(b"noise\n@@s@@ ok [1]\n", "@@s@@ ") == ("ok", "[1]")
    assert read_result(b"@@s@@ ok 1\nmore\n@@s@@ ok 2\n", "@@s@@ ") == ("ok", "2")
    assert read_result(b"nothing", "@@s@@ ") is None


# --------------------------------------------------------------------------- the driver in the sandbox


def test_correct_solution_passes_with_the_import_header():
    v = judged(GOOD, "twoSum", TWO_SUM)
    assert v["verdict"] == "accepted" and v["tests_passed"] == 3, v


def test_wrong_solution_is_wrong_answer():
    bad = GOOD.replace("return [seen[target - x], i]", "return [i, seen[target - x]]")
    v = judged(bad, "twoSum", TWO_SUM)
    assert v["verdict"] == "wrong_answer" and v["test"] == 0 and "result[0]: expected 0, got 1" in v["reason"], v


def test_top_level_function_and_return_types():
    code = ("def f(n):\n    if n == 0: return (1, [2.0000000001, 'x'])\n    if n == 1: return n == 1\n"
            "    if n == 2: return 'a\"b\\u00e9'\n    return 1 / 3\n")
    tests = ftests(([0], [1, [2.0, "x"]]), ([1], True), ([2], 'a"b\u00e9'), ([3], 0.3333333))
    assert judged(code, "f", tests)["verdict"] == "accepted"
    assert judged(code, "f", ftests(([1], False)))["verdict"] == "wrong_answer"
    assert judged(code, "f", ftests(([3], 0.34)))["verdict"] == "wrong_answer"


def test_several_arguments_of_every_json_kind():
    code = ("class Solution:\n    def g(self, grid: List[List[int]], word: str, flag: bool, opt: Optional[int]):\n"
            "        return [sum(map(sum, grid)), word[::-1], not flag, opt]\n")
    tests = ftests(([[[1, 2], [3]], "abc", True, None], [6, "cba", False, None]))
    assert judged(code, "g", tests)["verdict"] == "accepted"


def test_stray_prints_and_demo_blocks_do_not_break_parsing():
    code = ("from __future__ import annotations; import sys, atexit\n"
            "print('loading', end='')\natexit.register(print, '[5, 5]')\n"
            "class Solution:\n    def twoSum(self, nums: list[int], target: int) -> list[int]:\n"
            "        print('[9, 9]')\n        print('debug', end='')\n        sys.stderr.write('x\\n')\n"
            + "".join(GOOD.splitlines(keepends=True)[2:])
            + "if __name__ == '__main__':\n    print(Solution().twoSum(list(map(int, input().split())), 1))\n")
    v = judged(code, "twoSum", TWO_SUM)
    assert v["verdict"] == "accepted", v


def test_object_equal_to_everything_does_not_pass():
    always = "class A:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
    v = judged(always + "def f(x):\n    return A()\n", "f", ftests(([1], 42)))
    assert v["verdict"] == "wrong_answer" and "not a JSON value" in v["reason"], v
    sub = always.replace("class A:", "class A(list):") + "def f(x):\n    return A([0])\n"
    assert judged(sub, "f", ftests(([1], [42])))["verdict"] == "wrong_answer"


def test_infinite_loop_is_time_limit_and_leaves_nothing():
    code = "import os\nclass Solution:\n    def f(self, x):\n        os.fork()\n        while True:\n            pass\n"
    limits = S.Limits(time_limit_s=0.5)
    t0 = time.monotonic()
    res = S.run_program(driver_source(code, "f", "@@s@@ "), "1", limits)
    assert res.status == "time_limit" and time.monotonic() - t0 < limits.wall_s + 3.0
    assert strays(res) == []
    assert judged(code, "f", ftests(([1], 1)), time_limit_s=0.5)["verdict"] == "time_limit"


def test_failures_and_data_problems_get_their_verdicts():
    t = ftests(([1], 1))
    assert judged("def f(x):\n    raise ValueError('boom')\n", "f", t)["verdict"] == "runtime_error"
    v = judged("def g(x):\n    return x\n", "f", t)
    assert v["verdict"] == "runtime_error" and "no method Solution.f" in v["reason"]
    v = judged("x = 1\ndef f(x:\n", "f", t)
    assert v["verdict"] == "compile_error" and "line 2" in v["reason"]
    assert judged(None, "f", t)["verdict"] == "no_code"
    assert judged("def f(x):\n    return x\n", None, t)["verdict"] == "infra_error"
    bad = [{"input": "[1,", "output": "1", "testtype": "functional"}]
    assert "input line 1 is not JSON" in judged("def f(x):\n    return x\n", "f", bad)["reason"]
    mixed = t + [{"input": "1\n", "output": "1\n", "testtype": "stdin"}]
    assert check_tests("print(1)", mixed, func_name="f")["verdict"] == "infra_error"
    assert check_tests("print(int(input()) * 2)", [{"input": "3\n", "output": "6\n"}])["verdict"] == "accepted"


# --------------------------------------------------------------------------- LiveCodeBench end to end


def _lcb_blob(tests):
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def test_livecodebench_functional_record_scored_end_to_end(tmp_path):
    public = ftests(([[2, 7, 11, 15], 9], [0, 1]))
    private = ftests(([[3, 2, 4], 6], [1, 2]), ([[3, 3], 6], [0, 1]))
    row = {"question_title": "two-sum", "question_content": "Return indices of the two numbers adding to target.",
           "platform": "leetcode", "question_id": "1", "contest_id": "weekly-contest-1",
           "contest_date": "2024-01-01T00:00:00", "difficulty": "easy",
           "starter_code": ("class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
                            "        "),
           "public_test_cases": json.dumps(public), "private_test_cases": _lcb_blob(private),
           "metadata": json.dumps({"func_name": "twoSum"})}
    path = tmp_path / "lcb.jsonl"
    path.write_text(json.dumps(row) + "\n")
    problems = load_benchmark("lcb", {"loader": "livecodebench", "path": str(path)})
    validate_records(problems, "problem")
    p = problems[0]
    assert p["meta"]["func_name"] == "twoSum" and {t["testtype"] for t in p["tests"]} == {"functional"}
    answers = [GOOD, GOOD.replace("[seen[target - x], i]", "[i, i]"),
               "import sys\nnums = list(map(int, sys.stdin.read().split()))\nprint(nums)\n"]
    samples = [{"question_id": p["id"], "sample_id": k, "model": "m", "raw_text": "", "answer": None,
                "reasoning": None, "text": f"<think>r</think>```python\n{a}```"} for k, a in enumerate(answers)]
    verdicts = verify_samples(samples, {p["id"]: p}, workers=2)
    validate_records(verdicts, "verdict")
    assert [v["verdict"] for v in verdicts] == ["accepted", "wrong_answer", "runtime_error"], verdicts
    assert verdicts[0]["keep"] and verdicts[0]["checks"]["answer"]["tests_passed"] == 3


def test_cli_code_with_fn_name():
    lines = [{"id": "a", "fn_name": "twoSum", "tests": [{k: t[k] for k in ("input", "output")} for t in TWO_SUM],
              "time_limit_s": 1, "response": f"<think>r</think>```python\n{GOOD}```"},
             {"id": "b", "tests": TWO_SUM[:1], "fn_name": "twoSum",
              "response": "<think>r</think>```python\ndef twoSum(nums, target):\n    return [0, 0]\n```"}]
    proc = subprocess.run([sys.executable, "-m", "ded", "filter", "code"], cwd=ROOT, capture_output=True, text=True,
                          input="".join(json.dumps(x) + "\n" for x in lines), timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(o["id"], o["verdict"]) for o in out] == [("a", "accepted"), ("b", "wrong_answer")], out
    proc = subprocess.run([sys.executable, "-m", "ded", "filter", "code"], cwd=ROOT, capture_output=True, text=True,
                          input=json.dumps({"id": "c", "tests": TWO_SUM, "response": "x"}) + "\n", timeout=120)
    assert proc.returncode != 0 and "need the field 'fn_name'" in proc.stderr
