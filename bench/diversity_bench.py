"""Diversity selection at paper scale: characters versus tokens.

A generated corpus shaped like the paper's: 1,000 questions x 8 verified
trajectories x about 40,000 characters. Text is generated cheaply and
deterministically: each question has its own pool of sentences and a base
plan (a sequence of sentences); each trajectory follows the plan with
sentence substitutions, deletions and insertions at a rate that grows with
its index (10% to 60%), so trajectories of one question share much of their
text and differ by different amounts, as sampled chains of thought do.

Prints, for each unit, the wall time of `select_diverse_many` over the whole
corpus on --workers processes (default 2), the per-pair time on one core
measured in this process, and the ratio token/char.

    python bench/diversity_bench.py                 # paper scale
    python bench/diversity_bench.py --questions 50  # a quick version
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ded.select.diversity import select_diverse_many, unit_sequences  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "si", "po", "de", "ga", "vu", "zo", "he", "bi", "fa", "ly"]
MATH = ["=", "+", "-", "*", "/", "(", ")", "x", "y", "n", "2", "3", "10", "\\frac{1}{2}", "^2", ","]
CONNECTIVES = ["So", "Wait,", "Hmm,", "Then", "Let me check:", "Therefore", "But", "Alternatively,", "Now"]


def vocabulary(rng: np.random.Generator, size: int = 6000) -> np.ndarray:
    words = {"".join(rng.choice(SYLLABLES, size=rng.integers(1, 4))) for _ in range(size * 2)}
    return np.array(sorted(words)[:size] + MATH)


def question_texts(q: int, vocab: np.ndarray, trajectories: int, chars: int, seed: int) -> list[str]:
    rng = np.random.default_rng([seed, q])
    # Zipf-like word frequencies, as in natural text.
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    weights /= weights.sum()
    n_pool = 700
    lengths = rng.integers(6, 26, size=n_pool)
    words = rng.choice(vocab, size=int(lengths.sum()), p=weights)
    cuts = np.cumsum(lengths)[:-1]
    pool = [f"{rng.choice(CONNECTIVES)} {' '.join(ws)}." for ws in np.split(words, cuts)]
    mean_len = statistics.fmean(len(s) + 1 for s in pool)
    plan = rng.integers(0, n_pool, size=int(chars / mean_len))
    texts = []
    for t in range(trajectories):
        rate = 0.1 + 0.5 * t / max(1, trajectories - 1)
        draw = rng.random(len(plan))
        repl = rng.integers(0, n_pool, size=len(plan))
        out = []
        for i, s in enumerate(plan):
            if draw[i] < rate * 0.6:  # substitute
                out.append(pool[repl[i]])
            elif draw[i] < rate * 0.8:  # delete
                continue
            elif draw[i] < rate:  # insert before
                out.append(pool[repl[i]])
                out.append(pool[s])
            else:
                out.append(pool[s])
        texts.append("<think>\n" + " ".join(out) + "\n</think>\nThe answer is $\\boxed{" + str(q) + "}$.")
    return texts


def generate(questions: int, trajectories: int, chars: int, seed: int) -> dict[str, list[tuple[int, str]]]:
    vocab = vocabulary(np.random.default_rng(seed))
    return {f"q{q:04d}": list(enumerate(question_texts(q, vocab, trajectories, chars, seed)))
            for q in range(questions)}


def per_pair_ms(groups, unit: str, n_questions: int = 5) -> tuple[float, float]:
    """(ms per pair, ms per text of unit conversion) on one core, over the first questions."""
    pair_times, conv_times = [], []
    for items in list(groups.values())[:n_questions]:
        texts = [t for _, t in items]
        t0 = time.perf_counter()
        seqs = unit_sequences(texts, unit)
        conv_times.append((time.perf_counter() - t0) / len(texts))
        for a, b in itertools.combinations(seqs, 2):
            t0 = time.perf_counter()
            Levenshtein.normalized_distance(a, b)
            pair_times.append(time.perf_counter() - t0)
    return 1000 * statistics.fmean(pair_times), 1000 * statistics.fmean(conv_times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--trajectories", type=int, default=8)
    ap.add_argument("--chars", type=int, default=40_000, help="approximate characters per trajectory")
    ap.add_argument("--p", type=int, default=4, help="trajectories kept per question")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--units", default="token,char", help="comma-separated units to time")
    args = ap.parse_args(argv)

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs visible, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t0 = time.perf_counter()
    groups = generate(args.questions, args.trajectories, args.chars, args.seed)
    n_texts = sum(len(v) for v in groups.values())
    total_chars = sum(len(t) for v in groups.values() for _, t in v)
    print(f"corpus: {args.questions} questions x {args.trajectories} trajectories, "
          f"{total_chars / n_texts:,.0f} characters each on average ({total_chars / 1e6:,.0f} MB), "
          f"generated in {time.perf_counter() - t0:.1f} s")
    pairs = args.questions * args.trajectories * (args.trajectories - 1) // 2

    walls, picks = {}, {}
    for unit in args.units.split(","):
        pair_ms, conv_ms = per_pair_ms(groups, unit)
        t0 = time.perf_counter()
        picks[unit] = select_diverse_many(groups, args.p, unit=unit, workers=args.workers)
        walls[unit] = time.perf_counter() - t0
        print(f"{unit:>5}: wall {walls[unit]:7.1f} s on {args.workers} workers for {pairs:,} pairs "
              f"({1000 * walls[unit] * args.workers / pairs:.2f} ms per pair per worker, all included); "
              f"one core: {pair_ms:.2f} ms per pair, {conv_ms:.2f} ms per text to convert")
    if "token" in walls and "char" in walls:
        same = sum(picks["token"][q] == picks["char"][q] for q in groups)
        print(f"ratio token/char wall time: {walls['token'] / walls['char']:.3f} "
              f"(char/token speed-up {walls['char'] / walls['token']:.1f}x); "
              f"same choice in {same}/{len(groups)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
