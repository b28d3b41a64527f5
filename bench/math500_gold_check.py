"""Agreement of MATH-500's own solutions with its answers under our math check.

The last \\boxed{} of each solution is checked against the `answer` field with
the same path the filter uses (verify_samples, math-verify in worker
processes). Disagreements are printed: they are math-verify's blind spots (or
dataset quirks), worth knowing before trusting the filter's "wrong".

    python bench/math500_gold_check.py [path/to/math500.jsonl] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ded.think import last_boxed  # noqa: E402
from ded.filter import verify_samples  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    # The MATH-500 test split as JSONL (problem, solution, answer, ...); the
    # development checkout keeps a copy at ../shared/data/math500.jsonl.
    ap.add_argument("path", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared/data/math500.jsonl"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.path, encoding="utf-8") if line.strip()]
    problems, samples = {}, []
    for i, r in enumerate(rows):
        qid = str(r.get("unique_id", i))
        problems[qid] = {"id": qid, "gold": r["answer"], "gold_kind": "math"}
        boxed = last_boxed(r["solution"])
        answer = f"\\boxed{{{boxed}}}" if boxed is not None else r["solution"][-300:]
        text = f"<think>solution</think>{answer}"
        samples.append({"question_id": qid, "sample_id": 0, "model": "gold", "text": text})
    t0 = time.time()
    verdicts = verify_samples(samples, problems, workers=args.workers)
    dt = time.time() - t0
    counts = Counter(v["verdict"] for v in verdicts)
    n = len(verdicts)
    print(f"{n} solutions in {dt:.1f} s ({n / dt:.0f}/s): " + ", ".join(f"{k} {c}" for k, c in counts.most_common()))
    print(f"agreement: {counts['correct'] / n:.1%}")
    for v, s in zip(verdicts, samples):
        if v["verdict"] != "correct":
            gold = problems[v["question_id"]]["gold"]
            print(f"  {v['verdict']:<12} gold={gold!r:<40} solution={s['text'][24:][:70]!r}  ({v['reason']})")


if __name__ == "__main__":
    main()
