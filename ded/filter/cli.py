"""`python -m ded filter math|code|samples`: JSONL in, one JSON verdict per line out."""

from __future__ import annotations

import json
import sys

from ..errors import at_least
from ..io import RecordError, index_by, iter_stream
from ..records import LIST, OPT_INT, OPT_NUM, OPT_STR, STR, Field, NoneType, Schema

MATH_VERDICTS = ("correct", "wrong", "format", "unparseable", "timeout")

#: Where stdin records are said to come from in error messages.
STDIN = "stdin"
ID = Field((str, int))
#: What `verify math` reads: an id, the gold answer and the full response text.
MATH_INPUT = Schema("verify math input", {
    "id": ID, "response": Field(STR), "gold": Field((str, int, float, NoneType)),
    "gold_kind": Field(STR, required=False, choices=("math", "choice")), "options": Field(LIST, required=False),
    "finish_reason": Field(OPT_STR, required=False)})
#: What `verify code` reads: an id, the tests and the full response text.
CODE_INPUT = Schema("verify code input", {
    "id": ID, "response": Field(STR), "tests": Field(LIST), "fn_name": Field(OPT_STR, required=False),
    "time_limit_s": Field(OPT_NUM, required=False), "memory_mb": Field(OPT_INT, required=False),
    "finish_reason": Field(OPT_STR, required=False)})


def _read_stdin(schema: Schema) -> list[tuple[int, dict]]:
    # Bytes, so that a line that is not UTF-8 is named rather than failing inside the read.
    return list(iter_stream(sys.stdin.buffer, schema, STDIN))


def _problems(numbered: list[tuple[int, dict]], problem_of) -> dict[str, dict]:
    """{id: problem} of stdin records; one id with two different problems (a second gold) names both lines."""
    return index_by(((lineno, problem_of(rec, lineno)) for lineno, rec in numbered), "id", STDIN)


def _as_sample(rec: dict) -> dict:
    return {"question_id": str(rec["id"]), "sample_id": 0, "model": "cli", "raw_text": rec["response"],
            "text": rec["response"], "reasoning": None, "answer": None,
            "finish_reason": rec.get("finish_reason")}


def _math_problem(rec: dict, lineno: int) -> dict:
    gold = rec["gold"] if rec["gold"] is None or isinstance(rec["gold"], str) else str(rec["gold"])
    return {"id": str(rec["id"]), "gold": gold, "gold_kind": rec.get("gold_kind", "math"),
            "options": rec.get("options")}


def run_math(args) -> int:
    numbered = _read_stdin(MATH_INPUT)
    problems = _problems(numbered, _math_problem)
    recs = [rec for _, rec in numbered]
    from . import verify_samples

    verdicts = verify_samples([_as_sample(r) for r in recs], problems, workers=args.workers,
                              math_timeout_s=args.timeout)
    for rec, v in zip(recs, verdicts):
        verdict = "format" if v["verdict"] == "truncated" else v["verdict"]
        print(json.dumps({"id": rec["id"], "verdict": verdict, "reason": v["reason"],
                          "extracted": v["checks"].get("answer", {}).get("extracted")}, ensure_ascii=False))
    return 0


def _code_tests(rec: dict, lineno: int) -> list[dict]:
    """The record's tests; with "fn_name" (LeetCode-style, as in LiveCodeBench's input_output),
    a test without a "testtype" is functional."""
    tests = rec["tests"]
    if not all(isinstance(t, dict) and isinstance(t.get("input"), str) and isinstance(t.get("output"), str)
               for t in tests):
        raise RecordError(STDIN, lineno, "tests", "must be a list of {input, output} strings")
    fn = rec.get("fn_name")
    if fn is not None and not fn.isidentifier():
        raise RecordError(STDIN, lineno, "fn_name", f"{fn!r} is not a Python identifier")
    tests = [t if t.get("testtype") or fn is None else {**t, "testtype": "functional"} for t in tests]
    if fn is None and any(t.get("testtype") == "functional" for t in tests):
        raise RecordError(STDIN, lineno, "fn_name", "missing: functional tests need the field 'fn_name'")
    return tests


def _code_problem(rec: dict, lineno: int) -> dict:
    return {"id": str(rec["id"]), "gold_kind": "tests", "tests": _code_tests(rec, lineno),
            "time_limit_s": rec.get("time_limit_s"), "memory_mb": rec.get("memory_mb"),
            "meta": {"func_name": rec.get("fn_name")}}


def run_code(args) -> int:
    numbered = _read_stdin(CODE_INPUT)
    problems = _problems(numbered, _code_problem)
    recs = [rec for _, rec in numbered]
    from . import verify_samples

    tol = None if args.exact else args.float_tolerance
    timings: list[dict] = []
    verdicts = verify_samples([_as_sample(r) for r in recs], problems, workers=args.workers, float_tolerance=tol,
                              timings=timings)
    # A stream for a person, not a record: the measured times are shown here.
    measured = {t["question_id"]: {k: t[k] for k in ("cpu_s", "wall_s")} for t in timings}
    for rec, v in zip(recs, verdicts):
        out = {"id": rec["id"], "verdict": v["verdict"], "reason": v["reason"]}
        if v["verdict"] in ("format", "truncated"):
            out["verdict"] = "no_code"
            out["reason"] = f"format: {v['reason']}"
        out.update({k: val for k, val in v["checks"].get("answer", {}).items() if k != "kind"})
        out.update(measured.get(str(rec["id"]), {}))
        print(json.dumps(out, ensure_ascii=False))
    return 0


def check_questions(numbered: list[tuple[int, dict]], problems: dict, where: str, problems_path: str) -> None:
    """Every sample's question is among the problems; the first that is not is named by its line."""
    for lineno, sample in numbered:
        if sample["question_id"] not in problems:
            raise RecordError(where, lineno, "question_id", f"{sample['question_id']!r} is not in {problems_path}")


def run_samples(args) -> int:
    from ..io import iter_numbered, read_index
    from . import verify_samples

    numbered = list(iter_numbered(args.samples, "sample"))
    problems = read_index(args.problems, "problem")
    check_questions(numbered, problems, args.samples, args.problems)
    verdicts = verify_samples([s for _, s in numbered], problems, workers=args.workers, tokenizer=args.tokenizer,
                              max_tokens=args.max_tokens, lenient=args.lenient)
    for v in verdicts:
        print(json.dumps(v, ensure_ascii=False))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("filter", help="check answers: math (math-verify), code (sandboxed tests), sample files")
    vs = p.add_subparsers(dest="what", required=True)
    workers = "processes checking answers in parallel (default: %(default)s)"
    m = vs.add_parser("math", help='stdin {"id","gold","response"} -> {"id","verdict","reason"}')
    m.add_argument("--workers", type=at_least(1), default=2, help=workers)
    m.add_argument("--timeout", type=at_least(1), default=5,
                   help="math-verify parse/compare timeout, in seconds (default: %(default)s)")
    m.set_defaults(func=run_math)
    c = vs.add_parser("code", help='stdin {"id","tests","time_limit_s","memory_mb","response"} -> verdict; '
                      'with "fn_name" (or tests with "testtype": "functional") the tests call Solution().fn_name')
    c.add_argument("--workers", type=at_least(1), default=2, help=workers)
    c.add_argument("--float-tolerance", type=float, default=1e-6,
                   help="absolute/relative tolerance on real-number output tokens (default: %(default)s)")
    c.add_argument("--exact", action="store_true", help="compare output tokens exactly")
    c.set_defaults(func=run_code)
    s = vs.add_parser("samples", help="SAMPLE + PROBLEM JSONL -> one VERDICT JSON line per sample")
    s.add_argument("--samples", required=True, help="SAMPLE JSONL to verify")
    s.add_argument("--problems", required=True, help="PROBLEM JSONL with every sample's question")
    s.add_argument("--tokenizer", default=None,
                   help="Hugging Face tokenizer folder that counts tokens for --max-tokens "
                        "(default: each sample's completion_tokens)")
    s.add_argument("--max-tokens", type=at_least(1), default=None,
                   help="reject completions longer than this many tokens (default: no length check)")
    s.add_argument("--workers", type=at_least(1), default=2, help=workers)
    s.add_argument("--lenient", action="store_true",
                   help="read answers as evaluation does: the whole response when it has no <think> tags")
    s.set_defaults(func=run_samples)


def main(argv=None) -> int:
    """`filter ...` through the one error path of `python -m ded`."""
    from ..__main__ import main as ded_main

    return ded_main(["filter", *(argv if argv is not None else sys.argv[1:])])
