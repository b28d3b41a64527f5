"""Throughput of the filter: verdicts per second, and the ratio of N workers to 1 worker.

Math: synthetic teacher samples of about `--chars` characters each
('<think>' long reasoning '</think>' an answer section ending in \\boxed{...}),
half right and half wrong, on a few hundred distinct questions (gold parsed
once per question and worker). Code: small stdin/stdout programs with three
tests each, run in the sandbox.

    python bench/verify_bench.py --n 8000 --chars 40000 --workers 2 [--tokenizer DIR --max-tokens 16384]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ded.filter import verify_samples  # noqa: E402

WORDS = ("let", "us", "compute", "the", "sum", "of", "so", "therefore", "we", "get", "x", "y", "=", "+", "-",
         "\\frac{1}{2}", "2^k", "integer", "prime", "factor", "check", "again", "wait,", "hmm,", "modulo", "7")


def gold_for(q: int) -> tuple[str, str, str]:
    """(gold, an equivalent form, a wrong form) for question q."""
    a, b = q % 17 + 2, q % 5 + 3
    kind = q % 3
    if kind == 0:
        return str(a * 11), f"{a * 11}.0", str(a * 11 + 1)
    if kind == 1:
        return f"\\frac{{{a}}}{{{b}}}", f"\\dfrac{{{2 * a}}}{{{2 * b}}}", f"\\frac{{{a + 1}}}{{{b}}}"
    return f"x^2+{a}", f"{a} + x^{{2}}", f"x^2-{a}"


def make_math(n: int, chars: int, questions: int, seed: int = 0):
    rng = random.Random(seed)
    chunk = " ".join(rng.choice(WORDS) for _ in range(4000))
    problems = {f"q{q}": {"id": f"q{q}", "gold": gold_for(q)[0], "gold_kind": "math"} for q in range(questions)}
    samples = []
    for i in range(n):
        q = i % questions
        _, right, wrong = gold_for(q)
        reasoning = (chunk * (chars // len(chunk) + 1))[: int(chars * 0.9)]
        start = rng.randrange(0, max(1, len(chunk) - 2000))
        answer = chunk[start:start + int(chars * 0.1) - 40] + f"\n\nThe final answer is $\\boxed{{{right if i % 2 == 0 else wrong}}}$."
        text = f"<think>{reasoning}</think>{answer}"
        samples.append({"question_id": f"q{q}", "sample_id": i // questions, "model": "bench", "text": text,
                        "raw_text": text, "finish_reason": "stop"})
    return samples, problems


def make_code(n: int):
    problems = {"sum": {"id": "sum", "gold_kind": "tests", "time_limit_s": 2, "memory_mb": 256,
                        "tests": [{"input": f"{a} {a + 1}\n", "output": f"{2 * a + 1}\n"} for a in (1, 20, 300)]}}
    right = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    wrong = "```python\na, b = map(int, input().split())\nprint(a - b)\n```"
    samples = [{"question_id": "sum", "sample_id": i, "model": "bench",
                "text": f"<think>easy</think>{right if i % 2 == 0 else wrong}"} for i in range(n)]
    return samples, problems


def timed(samples, problems, **kw):
    import os

    t0, c0 = time.perf_counter(), os.times()
    v = verify_samples(samples, problems, **kw)
    dt, c1 = time.perf_counter() - t0, os.times()
    cpu = (c1.user + c1.system + c1.children_user + c1.children_system) - (c0.user + c0.system + c0.children_user
                                                                          + c0.children_system)
    print(f"    (load average {os.getloadavg()[0]:.1f}; CPU used by this process and reaped children {cpu:.1f} s)")
    return len(v) / dt, dt, Counter(x["verdict"] for x in v)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--chars", type=int, default=40000)
    ap.add_argument("--questions", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--code-n", type=int, default=200)
    ap.add_argument("--tokenizer", default=None)
    ap.add_argument("--max-tokens", type=int, default=16384)
    args = ap.parse_args()

    samples, problems = make_math(args.n, args.chars, args.questions)
    print(f"math: {len(samples)} samples, {sum(len(s['text']) for s in samples) / len(samples):.0f} chars each")
    base = None
    for w in (1, args.workers):
        rate, dt, counts = timed(samples, problems, workers=w)
        base = base or rate
        print(f"  workers={w}: {rate:7.1f} verdicts/s ({dt:.1f} s)  x{rate / base:.2f} vs 1 worker  {dict(counts)}")
    if args.tokenizer:
        rate, dt, counts = timed(samples, problems, workers=args.workers, tokenizer=args.tokenizer,
                                 max_tokens=args.max_tokens)
        print(f"  workers={args.workers} + length check ({args.max_tokens} tokens): {rate:7.1f} verdicts/s "
              f"({dt:.1f} s)  {dict(counts)}")

    if not args.code_n:
        return
    samples, problems = make_code(args.code_n)
    print(f"code: {len(samples)} programs x 3 tests")
    base = None
    for w in (1, args.workers):
        rate, dt, counts = timed(samples, problems, workers=w)
        base = base or rate
        print(f"  workers={w}: {rate:7.1f} verdicts/s ({dt:.1f} s)  x{rate / base:.2f} vs 1 worker  {dict(counts)}")


if __name__ == "__main__":
    main()
