"""Checks between stages (ded/validate.py) on a run built by the stages' own code, then broken on purpose."""

from __future__ import annotations

import random

import pytest

from ded.select.corpora import CorpusSettings, build_corpus, corpus_name
from ded.validate import FAIL, OK, WARN, failures, markdown, validate_run

M, P, THRESHOLD = 6, 2, 0.5
DOMAINS = ("math", "code")
VARIANTS = ("full", "right", "right_hard", "right_hard_diverse", "longest", "shortest")


def _run(seed: int = 0) -> dict:
    """A small run: per domain 8 questions × M samples with verdicts and pass rates, and every corpus built."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    settings = CorpusSettings(threshold=THRESHOLD, per_question=P, unit="char", workers=1)
    run = {"questions": {}, "samples": {}, "verdicts": {}, "pass_rates": {}, "corpora": {}}
    for domain in DOMAINS:
        qs = [f"{domain}{i}" for i in range(8)]
        problems = [{"id": q, "domain": domain, "source": "t", "prompt": f"p {q}", "gold": "1", "gold_kind": "math"}
                    for q in qs]
        samples, verdicts = [], []
        for q in qs:
            for s in range(M):
                text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 30)))
                samples.append({"question_id": q, "sample_id": s, "model": "T", "raw_text": text, "text": text,
                                "reasoning": "r", "answer": "a", "completion_tokens": len(text.split())})
                verdict = "correct" if rng.random() < 0.6 else "wrong"
                verdicts.append({"question_id": q, "sample_id": s, "verdict": verdict, "keep": verdict == "correct"})
        rates = [{"question_id": q, "n": 4, "n_pass": k, "n_fail": 4 - k, "n_undecided": 0, "pass_rate": k / 4}
                 for q, k in zip(qs, (0, 1, 2, 3, 4, 0, 1, 2))]
        run["questions"][domain] = qs
        run["samples"][("T", domain)] = [(s["question_id"], s["sample_id"]) for s in samples]
        run["verdicts"][("T", domain)] = verdicts
        run["pass_rates"][("S", domain)] = rates
        for variant in VARIANTS:
            rows, _ = build_corpus(variant, teacher="T", domain=domain, samples=samples, verdicts=verdicts,
                                   problems=problems, pass_rates=rates, settings=settings)
            run["corpora"][("S", "T", corpus_name(variant, domain))] = rows
    ded = {d: run["corpora"][("S", "T", corpus_name("right_hard_diverse", d))] for d in DOMAINS}
    run["corpora"][("S", "T", "mixed")], _ = build_corpus("mixed", teacher="T", ded_corpora=ded, settings=settings)
    return run


def _validate(run: dict) -> list:
    return validate_run(m=M, per_question=P, threshold=THRESHOLD, teachers={"T": True}, **run)


def _statuses(findings, check: str) -> set[str]:
    return {f.status for f in findings if f.check == check}


def test_a_run_built_by_the_stages_holds_every_invariant():
    findings = _validate(_run())
    assert failures(findings) == []
    checks = {f.check for f in findings}
    assert {"samples = questions × M", "a verdict for every sample", "kept samples are correct ones",
            "corpus rows as the stages imply", "no two corpora identical"} <= checks
    assert sum(f.check == "corpus rows as the stages imply" for f in findings) == 2 * len(VARIANTS) + 1
    assert "checks between stages hold" in markdown(findings)


@pytest.mark.parametrize("breakage, check", [
    (lambda r: r["samples"][("T", "math")].pop(), "samples = questions × M"),
    (lambda r: r["verdicts"][("T", "code")].pop(0), "a verdict for every sample"),
    (lambda r: r["verdicts"][("T", "math")].append(dict(r["verdicts"][("T", "math")][0])), "a verdict for every sample"),
    (lambda r: r["verdicts"][("T", "math")][0].update(verdict="wrong", keep=True), "kept samples are correct ones"),
    (lambda r: r["verdicts"][("T", "code")][0].update(verdict="time_limit", keep=True), "kept samples are correct ones"),
    (lambda r: r["corpora"][("S", "T", "math-right")].append(dict(r["corpora"][("S", "T", "math-right")][0])),
     "corpus rows as the stages imply"),
    (lambda r: r["corpora"][("S", "T", "code-right_hard_diverse")].pop(), "corpus rows as the stages imply"),
    (lambda r: r["corpora"][("S", "T", "mixed")].pop(), "corpus rows as the stages imply"),
])
def test_a_broken_invariant_fails_naming_it(breakage, check):
    run = _run()
    breakage(run)
    findings = _validate(run)
    assert FAIL in _statuses(findings, check)
    assert "FAILED" in markdown(findings)


def test_a_corpus_of_rows_that_are_not_kept_samples_fails():
    run = _run()
    rows = run["corpora"][("S", "T", "math-right_hard")]
    kept = {(v["question_id"], v["sample_id"]) for v in run["verdicts"][("T", "math")] if v["keep"]}
    wrong = next((v["question_id"], v["sample_id"]) for v in run["verdicts"][("T", "math")] if not v["keep"]
                 and v["question_id"] == rows[0]["question_id"])
    assert wrong not in kept
    rows[0] = dict(rows[0], sample_id=wrong[1])
    failed = failures(_validate(run))
    assert failed and "not kept samples" in failed[0].detail


def test_identical_corpora_are_a_warning_not_a_failure():
    run = _run()
    run["corpora"][("S", "T", "math-longest")] = list(run["corpora"][("S", "T", "math-right_hard_diverse")])
    findings = _validate(run)
    warned = [f for f in findings if f.status == WARN]
    assert not failures(findings) and "math-longest = math-right_hard_diverse" in warned[0].detail
    assert OK in _statuses(findings, "no two corpora identical")  # the code corpora still differ


def test_a_teacher_that_may_skip_questions_is_held_to_at_most_m():
    run = _run()
    run["samples"][("T", "math")] = [k for k in run["samples"][("T", "math")] if k[0] != "math0"]
    run["verdicts"][("T", "math")] = [v for v in run["verdicts"][("T", "math")] if v["question_id"] != "math0"]
    for name in ("full", "right", "right_hard", "right_hard_diverse", "longest", "shortest"):
        key = ("S", "T", corpus_name(name, "math"))
        run["corpora"][key] = [r for r in run["corpora"][key] if r["question_id"] != "math0"]
    findings = validate_run(m=M, per_question=P, threshold=THRESHOLD, teachers={"T": False}, **run)
    assert OK in _statuses(findings, "samples = questions × M")
