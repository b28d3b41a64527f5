"""Question compression: drop the questions the student already solves.

The student answers each seed question K times; its pass rate on a question
is n_pass / (n_pass + n_fail) over the *decided* verdicts:

- pass: the verdict keeps the sample (``keep`` true);
- undecided: the verifier could not judge (``ded.filter.UNDECIDED``: a
  math-verify time-out, a missing or unparseable gold, a sandbox failure...):
  neither a pass nor a fail, like a NaN left out of a mean;
- fail: every other verdict (a wrong answer, an answer with no final answer
  in it, a failed test, malformed <think> tags, a program over its time
  limit...): the student did not deliver a right answer, which is a decided
  outcome.

The student's answers are verified leniently (``verify_samples(lenient=True)``):
a student that does not write <think> is judged on its answer, as in evaluation.

``pass_rate`` is null when nothing was decided.

A question is dropped when its pass rate is strictly above the threshold
(the student finds it easy, so distilling it teaches little); a pass rate
equal to the threshold is kept. A null pass rate is kept: there is no
evidence that the question is easy, and dropping it would remove exactly the
questions the rules cannot check (proofs, answers without a gold), which are
among the hardest of s1K.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from ..filter import UNDECIDED
from .common import SelectionError

#: Verdicts that mean "the verifier could not decide" (the one definition, in ded.filter).
UNDECIDED_VERDICTS = UNDECIDED
#: Verdict names a verifier uses for a pass (informative: `keep` decides).
PASS_VERDICTS = frozenset({"correct", "accepted"})


def outcome(verdict: dict) -> str:
    """'pass', 'fail' or 'undecided' for one verdict record."""
    name = verdict["verdict"]
    if verdict["keep"]:
        if name in UNDECIDED_VERDICTS:
            raise SelectionError(f"verdict of question {verdict['question_id']!r} sample {verdict['sample_id']}: "
                                 f"keep is true but verdict {name!r} means undecided")
        return "pass"
    return "undecided" if name in UNDECIDED_VERDICTS else "fail"


def pass_rates(verdicts: Iterable[dict]) -> list[dict]:
    """PASS_RATE records, one per question, in order of first appearance.

    One verdict per (question_id, sample_id); a repeat is an error (a
    verifier that ran twice over the same samples would double count).
    """
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"pass": 0, "fail": 0, "undecided": 0})
    seen: set[tuple[str, int]] = set()
    for v in verdicts:
        key = (v["question_id"], v["sample_id"])
        if key in seen:
            raise SelectionError(f"two verdicts for question {key[0]!r} sample {key[1]}")
        seen.add(key)
        counts[v["question_id"]][outcome(v)] += 1
    out = []
    for qid, c in counts.items():
        decided = c["pass"] + c["fail"]
        out.append({
            "question_id": qid,
            "n": decided + c["undecided"],
            "n_pass": c["pass"],
            "n_fail": c["fail"],
            "n_undecided": c["undecided"],
            "pass_rate": c["pass"] / decided if decided else None,
        })
    return out


def check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise SelectionError(f"compression.threshold must be a number in [0, 1], got {threshold!r}")
    return float(threshold)


def compress(question_ids: Sequence[str], rates: Iterable[dict], threshold: float
             ) -> tuple[list[str], list[dict]]:
    """(kept question ids in input order, dropped [{question_id, pass_rate, reason}]).

    Every question needs a pass-rate record: a missing one means the
    student's files do not cover the seeds (an error, not a silent keep).
    """
    threshold = check_threshold(threshold)
    by_id = {r["question_id"]: r for r in rates}
    missing = [q for q in question_ids if q not in by_id]
    if missing:
        raise SelectionError(f"no pass rate for {len(missing)} question(s), e.g. {missing[:3]}: "
                             "the student's pass rates do not cover these seed questions")
    kept, dropped = [], []
    for qid in question_ids:
        rate = by_id[qid]["pass_rate"]
        if rate is not None and rate > threshold:
            dropped.append({"question_id": qid, "pass_rate": rate,
                            "reason": f"student pass rate {rate:.3g} > threshold {threshold:g}"})
        else:
            kept.append(qid)
    return kept, dropped
