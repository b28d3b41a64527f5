"""Procedural seeds and benchmarks for the embedded default.

Math questions with exact integer answers at three difficulty levels, and small
stdin/stdout programming tasks with tests and a reference solution. Everything
is a pure function of (kind, n, seed): the same config gives the same files.
Each generator also returns the worked solution, which the teacher warm start
turns into <think> traces (ded/data/traces.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .sources import DataSourceError, stable_id


@dataclass
class Worked:
    """A problem plus the steps and final answer (math) or program (code) that solve it."""

    prompt: str
    answer: str  # math: the exact answer; code: the reference program
    steps: list[str]
    difficulty: str
    tests: list[dict] = field(default_factory=list)
    kind: str = ""


# ---------------------------------------------------------------- math
#
# Families a 135M model can learn from a few dozen traces: each step is a fact it already knows (a one-digit
# sum or product, appending a zero), so a warm-started teacher gets many answers right and a distilled
# student can learn to write them down. Medium families chain a fact with a place value, hard ones chain
# two facts or invert one (the two-digit sums and differences a 135M model gets wrong are left out).

def _add(r: random.Random) -> Worked:
    a, b = r.randint(2, 9), r.randint(2, 9)
    return Worked(f"What is {a} + {b}?", str(a + b), [f"{a} + {b} = {a + b}"], "easy", kind="add")


def _mul(r: random.Random) -> Worked:
    a, b = r.randint(2, 9), r.randint(2, 9)
    return Worked(f"What is {a} * {b}?", str(a * b), [f"{a} * {b} = {a * b}"], "easy", kind="mul")


def _add_tens(r: random.Random) -> Worked:
    a, b = r.randint(1, 9), r.randint(1, 9)
    return Worked(f"What is {10 * a} + {10 * b}?", str(10 * (a + b)),
                  [f"{a} + {b} = {a + b}", f"{10 * a} + {10 * b} = {10 * (a + b)}"], "medium", kind="add_tens")


def _times_ten(r: random.Random) -> Worked:
    a = r.randint(11, 99)
    return Worked(f"What is {a} * 10?", str(10 * a), [f"{a} * 10 = {a}0 = {10 * a}"], "medium", kind="times_ten")


def _mul_ten(r: random.Random) -> Worked:
    a, b = r.randint(2, 9), r.randint(2, 9)
    return Worked(f"Compute {a} * {b} * 10.", str(10 * a * b),
                  [f"{a} * {b} = {a * b}", f"{a * b} * 10 = {10 * a * b}"], "hard", kind="mul_ten")


def _divide(r: random.Random) -> Worked:
    a, x = r.randint(2, 9), r.randint(2, 9)
    return Worked(f"Solve for x: {a}x = {a * x}.", str(x),
                  [f"x = {a * x} / {a}", f"{a} * {x} = {a * x}, so x = {x}"], "hard", kind="divide")


MATH_GENERATORS = (_add, _mul, _add_tens, _times_ten, _mul_ten, _divide)


# ---------------------------------------------------------------- code

def _io_tests(r: random.Random, make_input, solve, k: int = 4) -> list[dict]:
    tests = []
    for _ in range(k):
        data = make_input(r)
        tests.append({"input": data, "output": solve(data)})
    return tests


def _code_sum(r):
    prog = "a, b = map(int, input().split())\nprint(a + b)\n"
    tests = _io_tests(r, lambda r: f"{r.randint(-1000, 1000)} {r.randint(-1000, 1000)}\n",
                      lambda s: f"{sum(map(int, s.split()))}\n")
    return Worked("Read two integers a and b on one line and print a + b.", prog,
                  ["Read the two integers from one line", "Print their sum"], "easy", tests, "sum")


def _code_max(r):
    prog = "n = int(input())\nxs = list(map(int, input().split()))\nprint(max(xs))\n"

    def mk(r):
        xs = [r.randint(-100, 100) for _ in range(r.randint(1, 8))]
        return f"{len(xs)}\n{' '.join(map(str, xs))}\n"

    tests = _io_tests(r, mk, lambda s: f"{max(map(int, s.split()[1:]))}\n")
    return Worked("The first line holds n; the second holds n integers. Print the largest of them.", prog,
                  ["Read n, then the n integers", "Print the maximum"], "easy", tests, "max")


def _code_reverse(r):
    prog = "s = input().strip()\nprint(s[::-1])\n"
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    tests = _io_tests(r, lambda r: "".join(r.choice(alphabet) for _ in range(r.randint(1, 12))) + "\n",
                      lambda s: s.strip()[::-1] + "\n")
    return Worked("Read a word and print it reversed.", prog,
                  ["Read the word", "Reverse it with slicing and print it"], "easy", tests, "reverse")


def _code_vowels(r):
    prog = "s = input().strip()\nprint(sum(c in 'aeiou' for c in s))\n"
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    tests = _io_tests(r, lambda r: "".join(r.choice(alphabet) for _ in range(r.randint(1, 15))) + "\n",
                      lambda s: f"{sum(c in 'aeiou' for c in s.strip())}\n")
    return Worked("Read a lowercase word and print how many vowels (a, e, i, o, u) it contains.", prog,
                  ["Read the word", "Count the characters that are vowels", "Print the count"],
                  "medium", tests, "vowels")


def _code_triangle(r):
    prog = "n = int(input())\nprint(n * (n + 1) // 2)\n"
    tests = _io_tests(r, lambda r: f"{r.randint(1, 10 ** 6)}\n", lambda s: f"{int(s) * (int(s) + 1) // 2}\n")
    return Worked("Read n and print 1 + 2 + ... + n.", prog,
                  ["Read n", "Use the formula n(n+1)/2", "Print the result"], "medium", tests, "triangle")


def _code_evens(r):
    prog = ("n = int(input())\nxs = list(map(int, input().split()))\n"
            "print(sum(x for x in xs if x % 2 == 0))\n")

    def mk(r):
        xs = [r.randint(0, 50) for _ in range(r.randint(1, 8))]
        return f"{len(xs)}\n{' '.join(map(str, xs))}\n"

    tests = _io_tests(r, mk, lambda s: f"{sum(x for x in map(int, s.split()[1:]) if x % 2 == 0)}\n")
    return Worked("The first line holds n; the second holds n integers. Print the sum of the even ones.", prog,
                  ["Read n, then the n integers", "Keep the even integers", "Print their sum"],
                  "hard", tests, "evens")


CODE_GENERATORS = (_code_sum, _code_max, _code_reverse, _code_vowels, _code_triangle, _code_evens)

# The held-out benchmark states the same tasks in other words, as a real benchmark does: worded like the
# seeds, every benchmark task would be a copy of a training question, and decontamination (rightly)
# removes every code seed. Each phrasing shares no 8-word run with its seed wording.
BENCHMARK_PHRASING = {
    "sum": "Two integers are given on a single line. Output their sum.",
    "max": "You are given a count n followed by a line with n integers. Output the maximum value.",
    "reverse": "Given one word, output that word written backwards.",
    "vowels": "Given a word in lowercase letters, output the number of its letters that are vowels "
              "(a, e, i, o, u).",
    "triangle": "Given a positive integer n, output the sum of all integers from 1 to n.",
    "evens": "You are given a count n followed by a line with n integers. Output the total of those that "
             "are even.",
}


def worked_problems(domain: str, n: int, seed: int) -> list[Worked]:
    """`n` distinct worked problems of `domain`, cycling through the generators in a seeded order."""
    gens = MATH_GENERATORS if domain == "math" else CODE_GENERATORS
    r = random.Random(f"{domain}:{seed}")
    out, seen = [], set()
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 100:
            raise DataSourceError(f"cannot make {n} distinct procedural {domain} problems")
        w = gens[len(out) % len(gens)](r)
        key = (w.prompt, tuple(t["input"] for t in w.tests))
        if key in seen:
            continue
        seen.add(key)
        out.append(w)
    return out


def to_problem(w: Worked, domain: str, source: str, phrasing: str = "seed") -> dict:
    """The problem record of a worked problem; `phrasing="benchmark"` words code tasks as the held-out benchmark."""
    if phrasing == "benchmark" and domain == "code":
        w = Worked(BENCHMARK_PHRASING[w.kind], w.answer, w.steps, w.difficulty, w.tests, w.kind)
    if domain == "math":
        return {"id": stable_id(source, w.prompt), "domain": "math", "source": source, "prompt": w.prompt,
                "gold": w.answer, "gold_kind": "math", "difficulty": w.difficulty,
                "meta": {"generator": w.kind}}
    statement = (f"{w.prompt}\n\nInput is read from standard input and output is written to standard output.\n\n"
                 f"Example input:\n{w.tests[0]['input']}\nExample output:\n{w.tests[0]['output']}")
    return {"id": stable_id(source, statement + "".join(t["input"] for t in w.tests)), "domain": "code",
            "source": source, "prompt": statement, "gold": None, "gold_kind": "tests", "tests": w.tests,
            "time_limit_s": 2.0, "memory_mb": 256, "difficulty": w.difficulty,
            "meta": {"generator": w.kind}}


def procedural_problems(domain: str, n: int, seed: int, source: str, phrasing: str = "seed") -> list[dict]:
    return [to_problem(w, domain, source, phrasing) for w in worked_problems(domain, n, seed)]
