"""`python -m ded select ...`: the selection stage outside Snakemake.

- `select diverse --p P [--unit char|token]`: sample JSONL
  {"question_id", "sample_id", "text"} on stdin; one line
  {"question_id", "sample_ids": [...]} per question on stdout, questions in
  order of first appearance.
- `select pass-rates`: verdict JSONL on stdin; PASS_RATE JSONL on stdout.
- `select teacher --scores scores.tsv --student S --metric BENCH/METRIC ...`:
  the selection record as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Iterator

from ..errors import at_least
from ..io import RecordError, dumps, iter_stream
from ..records import INT, STR, Field, Schema

#: What `select diverse` reads: any sample record has these fields.
DIVERSE_INPUT = Schema("diverse input", {"question_id": Field(STR), "sample_id": Field(INT), "text": Field(STR)})


def iter_jsonl(fh: IO[str] | IO[bytes], schema: Schema, where: str = "<stdin>") -> Iterator[tuple[int, dict]]:
    return iter_stream(fh, schema, where)


def read_groups(fh: IO[str] | IO[bytes], where: str = "<stdin>") -> dict[str, list[tuple[int, str]]]:
    groups: dict[str, list[tuple[int, str]]] = {}
    seen: set[tuple[str, int]] = set()
    for lineno, r in iter_jsonl(fh, DIVERSE_INPUT, where):
        key = (r["question_id"], r["sample_id"])
        if key in seen:
            raise RecordError(where, lineno, "sample_id", f"question {key[0]!r} sample {key[1]} appears twice")
        seen.add(key)
        groups.setdefault(r["question_id"], []).append((r["sample_id"], r["text"]))
    return groups


def _diverse(args) -> int:
    from .diversity import select_diverse_many

    groups = read_groups(sys.stdin.buffer)
    chosen = select_diverse_many(groups, args.p, args.unit, args.exact_limit, args.tokenizer, args.workers)
    for qid, ids in chosen.items():
        print(dumps({"question_id": qid, "sample_ids": ids}))
    return 0


def _pass_rates(args) -> int:
    from ..records import VERDICT
    from .compression import pass_rates

    verdicts = [r for _, r in iter_jsonl(sys.stdin.buffer, VERDICT)]
    for r in pass_rates(verdicts):
        print(dumps(r))
    return 0


def _teacher(args) -> int:
    from .teacher import read_scores, select_teacher, teacher_scores, score_table_tsv

    metrics = args.metric  # parsed by parse_metric
    scores = read_scores(args.scores) if args.scores else []
    selection = select_teacher(scores, metrics, args.student, args.rule, pinned=args.pinned)
    if not selection["pinned"]:
        sys.stderr.write(score_table_tsv(teacher_scores(scores, metrics, args.student, rule=args.rule)))
    print(json.dumps(selection, indent=2))
    return 0


def parse_metric(text: str) -> dict:
    """--metric BENCHMARK/METRIC[=WEIGHT] as {benchmark, metric, weight}."""
    bench, sep, metric = text.rpartition("/")
    if not sep or not bench:
        raise argparse.ArgumentTypeError(f"{text!r}: expected BENCHMARK/METRIC[=WEIGHT]")
    metric, eq, weight = metric.partition("=")
    try:
        return {"benchmark": bench, "metric": metric, "weight": float(weight) if eq else 1.0}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: WEIGHT {weight!r} is not a number") from None


def add_parser(sub) -> None:
    from .diversity import DEFAULT_EXACT_LIMIT, UNITS
    from .teacher import RULES

    stage = sub.add_parser("select", help="choose the teacher, the hard questions and the diverse trajectories")
    ssub = stage.add_subparsers(dest="command", required=True)

    p = ssub.add_parser("diverse", help="keep the P most diverse trajectories of each question (JSONL in/out)")
    p.add_argument("--p", type=at_least(1), required=True, help="trajectories to keep per question")
    p.add_argument("--unit", choices=UNITS, default="token",
                   help="Levenshtein distance over characters or tokens (default: %(default)s)")
    p.add_argument("--tokenizer", default=None,
                   help="Hugging Face tokenizer folder or id for --unit token (default: word/punctuation tokens)")
    p.add_argument("--exact-limit", type=at_least(0), default=DEFAULT_EXACT_LIMIT,
                   help="enumerate every subset when C(n, P) is at most this; greedy farthest-point above "
                        "(default: %(default)s)")
    p.add_argument("--workers", type=at_least(1), default=None,
                   help="processes comparing trajectories (default: the usable CPUs)")
    p.set_defaults(func=_diverse)

    p = ssub.add_parser("pass-rates", help="PASS_RATE records from a student's verdict JSONL on stdin")
    p.set_defaults(func=_pass_rates)

    p = ssub.add_parser("teacher", help="choose a teacher from smoke-test scores")
    p.add_argument("--scores", help="long-form scores TSV (model benchmark metric value n); needed unless --pinned")
    p.add_argument("--student", required=True,
                   help="student whose smoke-test models (smoke/STUDENT/TEACHER in the scores) are compared")
    p.add_argument("--metric", action="append", default=[], type=parse_metric,
                   help="score that ranks the teachers, e.g. aime24/pass@1, as BENCHMARK/METRIC[=WEIGHT]; "
                        "repeat for several (at least one unless --pinned)")
    p.add_argument("--rule", choices=RULES, default="mean",
                   help="how metrics combine into one score: mean, or weighted by each metric's WEIGHT "
                        "(default: %(default)s)")
    p.add_argument("--pinned", default=None, help="skip the smoke test and choose this teacher")
    p.set_defaults(func=_teacher)
