"""Math verdicts rest on CPU time, not on how busy the machine is; what math-verify cannot read is `unparseable`."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest
from support.records import problem, sample

from ded.filter import UNDECIDED, verify_samples
from ded.filter.mathcheck import task_limits
from ded.filter.pool import KillablePool, process_cpu_s

# (gold, answer after </think>, verdict); each takes well under its CPU budget when the node is idle,
# some long enough that a wall-clock limit of the same size runs out on a loaded one.
LOAD_CASES = [
    ("x^2+5x+6=0, x^2-4=0", "\\boxed{x^2-4=0, x^2+5x+6=0}", "correct"),
    ("x^2+5x+6=0, x^2-4=0", "\\boxed{x^2+5x+6=0, x^2-9=0}", "wrong"),
    ("\\sum_{k=1}^{n} F_k F_{k+1}", "\\boxed{\\sum_{k=1}^{n} F_{k+1} F_k}", "correct"),
    ("\\sum_{k=1}^{n} F_k F_{k+1}", "\\boxed{\\sum_{k=1}^{n} F_k^2}", "wrong"),
    ("F_1F_2+F_2F_3+F_3F_4+F_4F_5", "\\boxed{F_4F_5+F_3F_4+F_2F_3+F_1F_2}", "correct"),
    ("\\frac{3}{4}", "\\boxed{0.75}", "correct"),
    ("7", "I give up.", "wrong"),
    ("\\frac{", "\\boxed{1}", "unparseable"),
]


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds  # ends by itself should the test die before killing it
    while time.monotonic() < end:
        pass


def _verdicts(cores, math_timeout_s, busy: int) -> list[tuple[str, str]]:
    """Verdicts of LOAD_CASES with the workers (and `busy` spinning processes) on `cores`."""
    problems = {f"q{i}": problem(f"q{i}", gold=g) for i, (g, _, _) in enumerate(LOAD_CASES)}
    samples = [sample(f"q{i}", i, answer=a) for i, (_, a, _) in enumerate(LOAD_CASES)]
    mine = os.sched_getaffinity(0)
    spinners = []
    try:
        # Children inherit the mask: workers and spinners share the same cores whatever the machine's size.
        os.sched_setaffinity(0, cores)
        ctx = multiprocessing.get_context("fork")
        spinners = [ctx.Process(target=_spin, args=(120.0,), daemon=True) for _ in range(busy)]
        for p in spinners:
            p.start()
        out = verify_samples(samples, problems, workers=2, math_timeout_s=math_timeout_s)
        assert all(p.is_alive() for p in spinners)
    finally:
        os.sched_setaffinity(0, mine)
        for p in spinners:
            p.kill()
        for p in spinners:
            p.join(10)
    return [(v["verdict"], v["reason"]) for v in out]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_verdicts_do_not_depend_on_machine_load():
    cores = sorted(os.sched_getaffinity(0))[:2]
    idle = _verdicts(cores, 2, busy=0)
    loaded = _verdicts(cores, 2, busy=4)  # two busy loops per core: each process gets a third of one
    assert [v for v, _ in idle] == [want for _, _, want in LOAD_CASES]
    assert loaded == idle


def test_expensive_comparison_runs_out_of_cpu_time():
    # sympy spends many CPU seconds on this product of cosines (idle or not); budgets are CPU seconds.
    gold = "\\sin(x)" + "".join(f"\\cos({2 ** k}x)" for k in range(1, 7))
    problems = {"t": problem("t", gold=gold), "ok": problem("ok", gold="42")}
    samples = [sample("t", answer="\\boxed{\\frac{\\sin(128x)}{64}}"), sample("ok", answer="\\boxed{42}")]
    v = verify_samples(samples, problems, workers=1, math_timeout_s=1)
    assert [(x["verdict"], x["reason"]) for x in v] == [("timeout", "comparison took over 1 s of CPU time"),
                                                        ("correct", "matches the gold answer")]


def _continued_fraction(depth: int) -> str:
    s = "1"
    for _ in range(depth):
        s = f"1+\\frac{{1}}{{{s}}}"
    return s


def test_what_the_parser_gives_up_on_is_unparseable_not_wrong():
    deep = _continued_fraction(60)
    fib = [1, 1]
    while len(fib) < 62:
        fib.append(fib[-1] + fib[-2])
    value = f"\\frac{{{fib[61]}}}{{{fib[60]}}}"  # the continued fraction's value, written plainly
    problems = {
        "deep": problem("deep", gold=deep),
        "value": problem("value", gold=value),
        "one": problem("one", gold="1"),
    }
    samples = [sample("deep", answer=f"\\boxed{{{deep}}}"),
               sample("value", answer=f"\\boxed{{{deep}}}"),
               # math-verify falls back from the whole fraction to the last `1` in it: not an answer of 1
               sample("one", answer=f"The answer is ${deep}$."),
               sample("one", answer="\\boxed{\\frac{1}{}}"),  # malformed: the answer's failure, not the parser's
               sample("value", answer=f"\\boxed{{{value}}}"),
               sample("one", answer="No idea.")]
    v = verify_samples(samples, problems, workers=2)
    assert [(x["verdict"], x["reason"]) for x in v[1:]] == [
        ("unparseable", "the answer is nested too deeply to parse"),
        ("unparseable", "the answer is nested too deeply to parse"),
        ("wrong", "the answer could not be read as math"),
        ("correct", "matches the gold answer"),
        ("wrong", "no answer found")]  # nothing to read is the model's failure
    assert v[0]["verdict"] == "unparseable" and v[0]["reason"].endswith("is nested too deeply to parse")
    assert v[0]["reason"].startswith("gold answer")
    assert "unparseable" in UNDECIDED


@pytest.mark.skipif(process_cpu_s(os.getpid()) is None, reason="needs /proc")
def test_pool_kills_on_cpu_time_a_call_stuck_in_c():
    # factorial(10**6) takes seconds inside C, where no Python signal handler runs.
    start = time.monotonic()
    with KillablePool(1, "math:factorial", task_timeout_s=120.0, task_cpu_s=0.5) as pool:
        out = pool.map([10, 10 ** 6, 5], on_timeout=lambda t: "timeout", on_crash=lambda t, m: f"crash {m}")
    assert out == [3628800, "timeout", 120]
    assert time.monotonic() - start < 60  # the CPU allowance, not the wall-clock deadline, stopped it


def test_wall_backstop_leaves_room_for_a_loaded_node():
    cpu, wall = task_limits(5, 60)
    assert cpu >= 3 * 5 and wall >= 4 * cpu
    assert task_limits(5, 1000)[1] == 1000
