"""Quality and correctness filter: one entry point for the filter, question compression and evaluation.

`verify_samples` judges each sample, in this order (the first failure decides):

1. truncated  finish_reason == "length" (strict only)
2. format     strict: exactly one <think>...</think> pair and a non-empty answer after it;
              lenient: the answer after one </think>, or the whole response without tags
              (`ded.think.lenient_answer`); malformed tags are a `format` failure in both
3. length     completion tokens (under the student's tokenizer) <= max_tokens
4. correctness, by the problem's gold_kind, on the answer only (never the reasoning):
   - math:   math-verify in worker processes -> correct | wrong | unparseable | timeout
   - choice: option letter                   -> correct | wrong | unparseable
   - tests:  the sandbox on the last ```python block -> accepted | wrong_answer | time_limit |
             memory_limit | runtime_error | compile_error | output_limit | no_code | infra_error
   - none:   undecided (no rule can check it)
5. the LLM judge, when given, on the answers its `decides` hands it (`ded.filter.judge`): no checkable
   gold, an answer the rules could not read (unparseable, timeout), and optionally a math or choice
   answer the rules found `wrong` (a second opinion). Its YES makes the sample correct, its NO wrong;
   a reply with neither leaves the rules' verdict. The record's `checks.judge` keeps the trigger,
   the rules' verdict and reason, the judge's model, its prompt, its reply and its decision.

An answer with nothing to compare (no final expression, no option letter) is
`wrong`; `unparseable` is kept for what the verifier itself cannot read (a
missing or unparseable gold, an answer math-verify raises on, finds nested too
deeply, or keeps only as text).

The training-corpus filter is strict; evaluation and the student's pass rates
are lenient, so models that do not write <think> are scored on their answers.

`keep` is True only for "correct" and "accepted".

Verdict records hold no measured value, so the same samples give the same
bytes: a program's CPU and wall time go to the log (and to `timings` when
the caller asks for them), not into `checks`.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from .checks import check_format, length_checks

log = logging.getLogger(__name__)

KEEP = ("correct", "accepted")
#: What the sandbox measured of a code check: reported by `verify_samples(timings=...)` and the log,
#: never in the verdict record.
MEASURED = ("cpu_s", "wall_s")
#: The one definition of "the verifier could not judge this answer" (not the model's fault),
#: used by question compression (left out of pass rates) and evaluation (the `undecided` count):
#: undecided (no judge, or the judge gave no verdict), timeout (math-verify ran out of time or
#: was killed), unparseable (the gold is missing or unparseable, or math-verify failed on the
#: answer), infra_error (the sandbox failed, or a problem has no tests). A program over its time
#: limit (`time_limit`) and an answer with no answer in it (`wrong`, `no_code`) are failures.
UNDECIDED = frozenset({"undecided", "timeout", "unparseable", "infra_error"})


def _record(sample: dict, verdict: str, reason: str, checks: dict) -> dict:
    return {"question_id": sample["question_id"], "sample_id": sample["sample_id"], "model": sample["model"],
            "verdict": verdict, "reason": reason, "keep": verdict in KEEP, "checks": checks}


def verify_samples(samples: list[dict], problems: dict[str, dict], *, workers: int, tokenizer: str | None = None,
                   max_tokens: int | None = None, judge=None, float_tolerance: float | None = 1e-6,
                   math_timeout_s: int = 5, task_timeout_s: float = 60.0, python: str | None = None,
                   lenient: bool = False, timings: list | None = None) -> list[dict]:
    """One verdict record per sample, in input order (see the module doc for the checks).

    problems: question id -> problem record. tokenizer: a Hugging Face tokenizer folder for the
    length check (without one, the sample's completion_tokens is used). judge: None, a
    `ded.filter.judge.Judge` (its `decides` says which answers it decides), or a generate(prompts) ->
    texts callable (a Judge with the default `decides`).
    float_tolerance: default absolute/relative tolerance on real-number tokens of program output
    (a problem's meta.float_tolerance overrides it; None compares tokens exactly).
    lenient: read answers with `ded.think.lenient_answer` and do not reject cut responses
    (evaluation and pass rates); False is the training-corpus format filter.
    timings: a list that receives {question_id, sample_id, model, verdict, cpu_s, wall_s} per program
    run, in input order (a caller's sidecar; the verdicts leave them out).
    """
    from .judge import as_judge

    judge = as_judge(judge)
    for s in samples:
        if s.get("question_id") not in problems:
            raise KeyError(f"sample {s.get('question_id')}#{s.get('sample_id')} of model {s.get('model')}: "
                           f"question id not among the {len(problems)} problems given")
    out: list[dict | None] = [None] * len(samples)
    answers: dict[int, str] = {}
    checks: list[dict] = [{} for _ in samples]
    for i, s in enumerate(samples):
        verdict, reason, answer = check_format(s, lenient)
        checks[i]["format"] = {"ok": verdict is None, "reason": reason}
        if verdict:
            out[i] = _record(s, verdict, reason, checks[i])
        else:
            answers[i] = answer
    live = sorted(answers)
    lengths = length_checks([samples[i] for i in live], tokenizer, max_tokens)
    for i, ln in zip(live, lengths):
        if ln is None:
            continue
        checks[i]["length"] = ln
        if not ln["ok"]:
            out[i] = _record(samples[i], "length", f"{ln['tokens']} tokens > {ln['limit']}", checks[i])
            del answers[i]

    by_kind: dict[str, list[int]] = {}
    for i in answers:
        by_kind.setdefault(problems[samples[i]["question_id"]]["gold_kind"], []).append(i)

    def finish(i: int, verdict: str, reason: str, detail: dict) -> None:
        checks[i]["answer"] = detail
        out[i] = _record(samples[i], verdict, reason, checks[i])

    # tqdm is imported here, not with the package: ded.filter.sandbox must import with the standard
    # library alone (the unprivileged-user test runs it from a bare interpreter).
    from ..progress import progress

    bar = progress(total=len(answers), desc="verifying", unit="answer", logger=log)
    rule_based = by_kind.get("math", []) + by_kind.get("choice", [])
    if rule_based:
        _verify_math(rule_based, samples, problems, answers, workers, math_timeout_s, task_timeout_s, finish, bar)
    if by_kind.get("tests"):
        _verify_code(by_kind["tests"], samples, problems, answers, workers, float_tolerance, python, finish,
                     timings, bar)
    for i in by_kind.get("none", []):
        finish(i, "undecided", "no rule can check this answer" + ("" if judge else " and no judge is configured"),
               {"kind": "none"})
    bar.update(len(by_kind.get("none", [])))
    bar.close()
    unknown = [i for i, r in enumerate(out) if r is None]
    for i in unknown:
        kind = problems[samples[i]["question_id"]].get("gold_kind")
        raise ValueError(f"problem {samples[i]['question_id']}: unknown gold_kind {kind!r}")
    if judge is not None:
        _judge(judge, sorted(answers), samples, problems, answers, out)
    return out  # type: ignore[return-value]


def _judge(judge, idx, samples, problems, answers, out) -> None:
    """The judge decides the answers its `decides` routes to it; their records take its verdict
    (the rules' stands when it gives none) and keep what it was asked and said under checks.judge."""
    routed = [(i, t) for i in idx
              if (t := judge.trigger(problems[samples[i]["question_id"]], out[i]["verdict"])) is not None]
    if not routed:
        return
    log.info("the judge (%s) decides %d answer(s): %s", judge.model or "a generate callable", len(routed),
             ", ".join(f"{n} {t}" for t, n in sorted(Counter(t for _, t in routed).items())))
    results = judge.judge([(problems[samples[i]["question_id"]], answers[i]) for i, _ in routed])
    for (i, trigger), r in zip(routed, results):
        rules = out[i]
        checks = dict(rules["checks"])
        checks["judge"] = {"trigger": trigger, "rules": {"verdict": rules["verdict"], "reason": rules["reason"]},
                           "model": judge.model, "prompt": r["prompt"], "output": r["output"],
                           "decision": r["decision"], "verdict": r["verdict"]}
        if r["decision"] is None:
            verdict, reason = rules["verdict"], f"{rules['reason']}; judge ({trigger}): {r['reason']}"
        else:
            verdict, reason = r["verdict"], f"judge ({trigger}) said {r['decision']}; rules: {rules['reason']}"
        out[i] = _record(samples[i], verdict, reason, checks)


def _verify_math(idx, samples, problems, answers, workers, math_timeout_s, task_timeout_s, finish, bar) -> None:
    from .pool import KillablePool

    tasks = []
    for i in idx:
        p = problems[samples[i]["question_id"]]
        tasks.append({"kind": p["gold_kind"], "gold": p.get("gold") or "", "answer": _math_answer(answers[i]),
                      "n_options": len(p["options"]) if p.get("options") else None,
                      "parse_timeout_s": math_timeout_s, "verify_timeout_s": math_timeout_s})
    need_pool = any(t["kind"] == "math" for t in tasks)
    from .mathcheck import run_task, task_limits

    if need_pool:
        cpu_s, wall_s = task_limits(math_timeout_s, task_timeout_s)
        # One reason for both limits: which one a stuck call reaches first can depend on the load.
        killed = f"verifier killed after {cpu_s:g} s of CPU time or {wall_s:g} s"
        n_workers = min(workers, len(tasks))
        # The pool answers a whole map at once: parts of about one log step each let the bar move, and
        # many tasks per worker in each part keep the wait for a part's slowest task small.
        from ..progress import STEP

        part = len(tasks) if bar.disable else max(16 * n_workers, math.ceil(len(tasks) * STEP))
        results = []
        with KillablePool(n_workers, "ded.filter.mathcheck:run_task", wall_s, cpu_s) as pool:
            for start in range(0, len(tasks), part):
                chunk = tasks[start:start + part]
                results += pool.map(
                    chunk,
                    on_timeout=lambda t: {"verdict": "timeout", "reason": killed, "extracted": None},
                    on_crash=lambda t, msg: {"verdict": "unparseable", "reason": f"verifier failed: {msg}"[:300],
                                             "extracted": None})
                bar.update(len(chunk))
    else:
        results = [run_task(t) for t in tasks]  # choice only: plain regexes, no math-verify
        bar.update(len(tasks))
    for i, t, r in zip(idx, tasks, results):
        if t["kind"] == "math" and not t["gold"]:
            r = {"verdict": "unparseable", "reason": "the problem has no gold answer", "extracted": None}
        finish(i, r["verdict"], r["reason"], {"kind": t["kind"], "extracted": r.get("extracted")})


_BOXED = re.compile(r"\\boxed\s*\{")


def _math_answer(answer: str) -> str:
    """What the math check parses: with exactly one \\boxed{...}, just that (math-verify would pick it
    anyway, and parsing a few characters instead of a long answer section is much cheaper); with
    several (math-verify may read them together as a set) or none, the whole answer."""
    if len(_BOXED.findall(answer)) == 1:
        from ..think import last_boxed

        inner = last_boxed(answer)
        if inner is not None:
            return f"$\\boxed{{{inner}}}$"
    return answer


def _verify_code(idx, samples, problems, answers, workers, float_tolerance, python, finish, timings, bar) -> None:
    from .programs import extract_code
    from .sandbox import cpu_count
    from .functional import check_tests

    def one(i: int) -> dict:
        p = problems[samples[i]["question_id"]]
        meta = p.get("meta") or {}
        tol = meta.get("float_tolerance", float_tolerance)
        # LeetCode-style tests (testtype "functional") call meta.func_name; the rest are stdin/stdout.
        return check_tests(extract_code(answers[i]), p.get("tests") or [], func_name=meta.get("func_name"),
                           time_limit_s=p.get("time_limit_s") or 2.0, memory_mb=p.get("memory_mb") or 256,
                           float_tolerance=tol, python=python)

    # Threads only wait on sandboxed processes; the sandbox bounds concurrent runs to the core count.
    measured = []
    with ThreadPoolExecutor(max(1, min(workers, cpu_count(), len(idx)))) as ex:
        for i, r in zip(idx, ex.map(one, idx)):
            detail = {"kind": "tests"} | {k: r[k] for k in ("tests_passed", "n_tests", "test")}
            if r.get("isolation"):
                detail["isolation"] = r["isolation"]
            finish(i, r["verdict"], r["reason"], detail)
            s = samples[i]
            measured.append({"question_id": s["question_id"], "sample_id": s["sample_id"], "model": s["model"],
                             "verdict": r["verdict"]} | {k: r.get(k) for k in MEASURED})
            bar.update(1)
    if timings is not None:
        timings.extend(measured)
    slowest = max(measured, key=lambda t: t["cpu_s"] or 0.0)
    log.info("%d program(s) checked: %.1f s of wall time in all; most CPU %.2f s (%s sample %s)", len(measured),
             sum(t["wall_s"] or 0.0 for t in measured), slowest["cpu_s"] or 0.0, slowest["question_id"],
             slowest["sample_id"])


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d+(\.\d+)?")


def reason_class(reason: str) -> str:
    """A reason with numbers and quoted values blanked, so counts group by kind of failure."""
    return _NUMBER.sub("N", _QUOTED.sub("'…'", reason or ""))[:100]


def summarize_verdicts(verdicts: list[dict]) -> list[dict]:
    """Counts by verdict and reason class, most frequent first, then one 'all' row:
    [{verdict, reason, n, fraction, keep}]."""
    total = len(verdicts)
    counts = Counter((v["verdict"], reason_class(v["reason"]), v["keep"]) for v in verdicts)
    rows = [{"verdict": verdict, "reason": reason, "n": n, "fraction": round(n / total, 4) if total else 0.0,
             "keep": keep}
            for (verdict, reason, keep), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))]
    kept = sum(v["keep"] for v in verdicts)
    rows.append({"verdict": "all", "reason": f"{kept} kept of {total}", "n": total, "fraction": 1.0 if total else 0.0,
                 "keep": kept})
    return rows


def write_summary_tsv(path, rows: list[dict]) -> None:
    from ..io import atomic_path

    cols = ("verdict", "reason", "n", "fraction", "keep")
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\t".join(cols) + "\n")
        for r in rows:
            fh.write("\t".join(str(r[c]).replace("\t", " ").replace("\n", " ") for c in cols) + "\n")
