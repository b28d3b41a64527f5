"""`python -m ded verify math|code|samples`: JSONL in, one JSON verdict per line out."""

from __future__ import annotations

import argparse
import json
import sys

from ..io import RecordError, iter_stream
from ..records import Field, Schema

MATH_VERDICTS = ("correct", "wrong", "format", "unparseable", "timeout")


#: What `verify math|code` reads: at least an id and the full response text.
CLI_INPUT = Schema("verify input", {"id": Field((str, int)), "response": Field((str,))})


def _read_jsonl(stream) -> list[dict]:
    try:
        return [rec for _, rec in iter_stream(stream, CLI_INPUT, "stdin")]
    except RecordError as err:
        raise SystemExit(str(err)) from None


def _as_sample(rec: dict) -> dict:
    return {"question_id": str(rec["id"]), "sample_id": 0, "model": "cli", "raw_text": rec["response"],
            "text": rec["response"], "reasoning": None, "answer": None,
            "finish_reason": rec.get("finish_reason")}


def run_math(args) -> int:
    recs = _read_jsonl(sys.stdin)
    problems = {}
    for n, rec in enumerate(recs, start=1):
        if "gold" not in rec:
            raise SystemExit(f"stdin, record {n} (id {rec['id']}): missing field 'gold'")
        problems[str(rec["id"])] = {"id": str(rec["id"]), "gold": rec["gold"],
                                    "gold_kind": rec.get("gold_kind", "math"), "options": rec.get("options")}
    from . import verify_samples

    verdicts = verify_samples([_as_sample(r) for r in recs], problems, workers=args.workers,
                              math_timeout_s=args.timeout)
    for rec, v in zip(recs, verdicts):
        verdict = "format" if v["verdict"] == "truncated" else v["verdict"]
        print(json.dumps({"id": rec["id"], "verdict": verdict, "reason": v["reason"],
                          "extracted": v["checks"].get("answer", {}).get("extracted")}, ensure_ascii=False))
    return 0


def _code_tests(rec: dict, n: int) -> list[dict]:
    """The record's tests; with "fn_name" (LeetCode-style, as in LiveCodeBench's input_output),
    a test without a "testtype" is functional."""
    fn = rec.get("fn_name")
    if fn is not None and (not isinstance(fn, str) or not fn.isidentifier()):
        raise SystemExit(f"stdin, record {n} (id {rec['id']}): field 'fn_name' must be a Python identifier")
    tests = [t if t.get("testtype") or fn is None else {**t, "testtype": "functional"} for t in rec["tests"]]
    if fn is None and any(t.get("testtype") == "functional" for t in tests):
        raise SystemExit(f"stdin, record {n} (id {rec['id']}): functional tests need the field 'fn_name'")
    return tests


def run_code(args) -> int:
    recs = _read_jsonl(sys.stdin)
    problems = {}
    for n, rec in enumerate(recs, start=1):
        if not isinstance(rec.get("tests"), list) or not all(isinstance(t, dict) for t in rec["tests"]):
            raise SystemExit(f"stdin, record {n} (id {rec['id']}): field 'tests' must be a list of {{input, output}}")
        problems[str(rec["id"])] = {"id": str(rec["id"]), "gold_kind": "tests", "tests": _code_tests(rec, n),
                                    "time_limit_s": rec.get("time_limit_s"), "memory_mb": rec.get("memory_mb"),
                                    "meta": {"func_name": rec.get("fn_name")}}
    from . import verify_samples

    tol = None if args.exact else args.float_tolerance
    verdicts = verify_samples([_as_sample(r) for r in recs], problems, workers=args.workers, float_tolerance=tol)
    for rec, v in zip(recs, verdicts):
        out = {"id": rec["id"], "verdict": v["verdict"], "reason": v["reason"]}
        if v["verdict"] in ("format", "truncated"):
            out["verdict"] = "no_code"
            out["reason"] = f"format: {v['reason']}"
        out.update({k: val for k, val in v["checks"].get("answer", {}).items() if k != "kind"})
        print(json.dumps(out, ensure_ascii=False))
    return 0


def run_samples(args) -> int:
    from ..io import read_records
    from . import verify_samples

    samples = read_records(args.samples, "sample")
    problems = {p["id"]: p for p in read_records(args.problems, "problem")}
    verdicts = verify_samples(samples, problems, workers=args.workers, tokenizer=args.tokenizer,
                              max_tokens=args.max_tokens, lenient=args.lenient)
    for v in verdicts:
        print(json.dumps(v, ensure_ascii=False))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("verify", help="quality and correctness checks (math-verify, code sandbox)")
    vs = p.add_subparsers(dest="what", required=True)
    m = vs.add_parser("math", help='stdin {"id","gold","response"} -> {"id","verdict","reason"}')
    m.add_argument("--workers", type=int, default=2)
    m.add_argument("--timeout", type=int, default=5, help="math-verify parse/compare timeout (s)")
    m.set_defaults(func=run_math)
    c = vs.add_parser("code", help='stdin {"id","tests","time_limit_s","memory_mb","response"} -> verdict; '
                      'with "fn_name" (or tests with "testtype": "functional") the tests call Solution().fn_name')
    c.add_argument("--workers", type=int, default=2)
    c.add_argument("--float-tolerance", type=float, default=1e-6,
                   help="absolute/relative tolerance on real-number output tokens")
    c.add_argument("--exact", action="store_true", help="compare output tokens exactly")
    c.set_defaults(func=run_code)
    s = vs.add_parser("samples", help="sample + problem files -> verdict records")
    s.add_argument("--samples", required=True)
    s.add_argument("--problems", required=True)
    s.add_argument("--tokenizer", default=None, help="Hugging Face tokenizer folder for the length check")
    s.add_argument("--max-tokens", type=int, default=None)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--lenient", action="store_true",
                   help="read answers as evaluation does: the whole response when it has no <think> tags")
    s.set_defaults(func=run_samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ded.verify.cli")
    add_parser(parser.add_subparsers(dest="stage", required=True))
    args = parser.parse_args(["verify", *(argv if argv is not None else sys.argv[1:])])
    return int(args.func(args) or 0)
