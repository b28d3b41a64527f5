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

import json
import sys
from typing import IO, Iterator

from ..io import RecordError, dumps, iter_stream
from ..records import INT, STR, Field, Schema

#: What `select diverse` reads: any sample record has these fields.
DIVERSE_INPUT = Schema("diverse input", {"question_id": Field(STR), "sample_id": Field(INT), "text": Field(STR)})


def iter_jsonl(fh: IO[str], schema: Schema, where: str = "<stdin>") -> Iterator[tuple[int, dict]]:
    return iter_stream(fh, schema, where)


def read_groups(fh: IO[str], where: str = "<stdin>") -> dict[str, list[tuple[int, str]]]:
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

    groups = read_groups(sys.stdin)
    chosen = select_diverse_many(groups, args.p, args.unit, args.exact_limit, args.tokenizer, args.workers)
    for qid, ids in chosen.items():
        print(dumps({"question_id": qid, "sample_ids": ids}))
    return 0


def _pass_rates(args) -> int:
    from ..records import VERDICT
    from .compression import pass_rates

    verdicts = [r for _, r in iter_jsonl(sys.stdin, VERDICT)]
    for r in pass_rates(verdicts):
        print(dumps(r))
    return 0


def _teacher(args) -> int:
    from .teacher import read_scores, select_teacher, teacher_scores, score_table_tsv

    metrics = []
    for m in args.metric:
        bench, sep, metric = m.rpartition("/")
        if not sep:
            raise SystemExit(f"--metric {m!r}: expected BENCHMARK/METRIC")
        weight = 1.0
        if "=" in metric:
            metric, _, w = metric.partition("=")
            weight = float(w)
        metrics.append({"benchmark": bench, "metric": metric, "weight": weight})
    scores = read_scores(args.scores) if args.scores else []
    selection = select_teacher(scores, metrics, args.student, args.rule, pinned=args.pinned)
    if not selection["pinned"]:
        sys.stderr.write(score_table_tsv(teacher_scores(scores, metrics, args.student, rule=args.rule)))
    print(json.dumps(selection, indent=2))
    return 0


def _clean_errors(func):
    """Report a bad record or setting as one line naming it, not a traceback."""

    def run(args) -> int:
        try:
            return func(args)
        except (RecordError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run


def add_parser(sub) -> None:
    from .diversity import DEFAULT_EXACT_LIMIT, UNITS
    from .teacher import RULES

    stage = sub.add_parser("select", help="teacher selection, question compression, diversity")
    ssub = stage.add_subparsers(dest="command", required=True)

    p = ssub.add_parser("diverse", help="keep the P most diverse trajectories of each question (JSONL in/out)")
    p.add_argument("--p", type=int, required=True, help="trajectories to keep per question")
    p.add_argument("--unit", choices=UNITS, default="token", help="Levenshtein over characters or tokens")
    p.add_argument("--tokenizer", default=None,
                   help="Hugging Face tokenizer folder or id for --unit token (default: word/punctuation tokens)")
    p.add_argument("--exact-limit", type=int, default=DEFAULT_EXACT_LIMIT,
                   help="enumerate every subset when C(n, P) is at most this; greedy farthest-point above")
    p.add_argument("--workers", type=int, default=None, help="processes (default: the usable CPUs)")
    p.set_defaults(func=_clean_errors(_diverse))

    p = ssub.add_parser("pass-rates", help="PASS_RATE records from a student's verdict JSONL on stdin")
    p.set_defaults(func=_clean_errors(_pass_rates))

    p = ssub.add_parser("teacher", help="choose a teacher from smoke-test scores")
    p.add_argument("--scores", help="long-form scores TSV (model benchmark metric value n)")
    p.add_argument("--student", required=True)
    p.add_argument("--metric", action="append", default=[],
                   help="BENCHMARK/METRIC[=WEIGHT]; repeat for several")
    p.add_argument("--rule", choices=RULES, default="mean")
    p.add_argument("--pinned", default=None, help="skip the smoke test and choose this teacher")
    p.set_defaults(func=_clean_errors(_teacher))
