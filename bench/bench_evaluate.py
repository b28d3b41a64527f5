"""Scoring cost at paper scale, against a baseline measured in the same process.

LiveCodeBench-sized input (880 problems x 16 samples, three difficulties):
time `score_benchmark` (join, pass@1, run spread, pass@{4,16}, lengths,
per-difficulty rows) and compare the product-form pass@k with the exact
closed form 1 - C(n-c,k)/C(n,k) on big integers (Python's int division
is correctly rounded, so the closed form is the exact reference; the product
form is Chen et al.'s, needs no big integers, and agrees to 1e-15).

    python bench/bench_evaluate.py
"""

import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ded.evaluate.metrics import pass_at_k, score_benchmark  # noqa: E402


def closed_form(n, c, k):
    return 1.0 if n - c < k else 1.0 - math.comb(n - c, k) / math.comb(n, k)


def timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    rng = random.Random(0)
    problems = [{"id": f"q{i}", "difficulty": ("easy", "medium", "hard")[i % 3]} for i in range(880)]
    samples, verdicts = [], []
    for p in problems:
        for s in range(16):
            samples.append({"question_id": p["id"], "sample_id": s, "model": "m", "completion_tokens": rng.randint(100, 30000)})
            ok = rng.random() < 0.4
            verdicts.append({"question_id": p["id"], "sample_id": s, "verdict": "correct" if ok else "wrong", "keep": ok})
    t_score = timed(lambda: score_benchmark(samples, verdicts, problems, "m", "livecodebench", pass_k=[1, 4, 16]))
    print(f"score_benchmark, 880 problems x 16 samples: {t_score * 1000:.1f} ms")

    cases = [(n, c, k) for n in (16, 64, 256) for c in range(0, n + 1, max(1, n // 16)) for k in (1, 4, n // 2)]
    t_prod = timed(lambda: [pass_at_k(*x) for x in cases])
    t_comb = timed(lambda: [closed_form(*x) for x in cases])
    err = max(abs(pass_at_k(*x) - closed_form(*x)) for x in cases)
    print(f"pass@k product form vs exact big-integer closed form on {len(cases)} cases: "
          f"{t_prod * 1e3:.2f} ms vs {t_comb * 1e3:.2f} ms (ratio {t_prod / t_comb:.2f}), max abs diff {err:.1e}")
    big = (2000, 5, 1000)
    print(f"n=2000, c=5, k=1000: product form {pass_at_k(*big):.12f}, closed form {closed_form(*big):.12f}")

if __name__ == "__main__":
    main()
