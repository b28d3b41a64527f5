"""Invariants between stages, checked at the end of a run (rule validate_run).

Each stage's output must follow from its inputs and the config: M samples per seed question and teacher, one
verdict per sample, only correct samples kept, and each corpus the rows its variant implies (one per question
from full to right_hard, min(P, verified) per question from the DED corpus on, the question sets the filter
and compression leave, rows that are kept samples). A broken invariant fails the run; two corpora that
came out identical although their rules differ are reported as a warning, since small data can make them
coincide (a question with no more than P verified samples leaves diversity and length no choice).

The expectations are re-derived here from the records, not by calling the stages' own code, so a bug in a
stage shows up as a broken invariant rather than being repeated.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Sequence

from .select.corpora import DED_VARIANT, corpus_name, parse_corpus_name
from .filter import KEEP

OK, WARN, FAIL = "ok", "warning", "FAILED"


@dataclass(frozen=True)
class Finding:
    check: str
    scope: str
    status: str
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def _ids(records: Iterable[Mapping]) -> list[tuple[str, int]]:
    return [(r["question_id"], r["sample_id"]) for r in records]


def _examples(items: Iterable, n: int = 3) -> str:
    items = list(items)
    shown = ", ".join(f"{q}#{s}" if isinstance(q, str) and isinstance(s, int) else str((q, s)) for q, s in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def check_samples(scope: str, questions: Sequence[str], sample_ids: Sequence[tuple[str, int]], m: int,
                  exact: bool = True) -> list[Finding]:
    """M samples per seed question (ids 0..M-1), or at most that for a teacher that may skip questions."""
    counts = Counter(sample_ids)
    dup = [k for k, n in counts.items() if n > 1]
    strangers = [k for k in counts if k[0] not in set(questions) or not 0 <= k[1] < m]
    expected = len(questions) * m
    found = len(sample_ids)
    problems = []
    if dup:
        problems.append(f"{len(dup)} (question, sample) pairs twice: {_examples(dup)}")
    if strangers:
        problems.append(f"{len(strangers)} samples of no seed question or with a sample id outside 0..{m - 1}: "
                        f"{_examples(strangers)}")
    if exact and found != expected:
        problems.append(f"{found} samples, expected {len(questions)} questions × M = {m} = {expected}")
    if problems:
        return [Finding("samples = questions × M", scope, FAIL, "; ".join(problems))]
    what = f"{found} samples = {len(questions)} questions × {m}" if exact else \
        f"{found} samples of at most {expected} (the teacher may skip questions)"
    return [Finding("samples = questions × M", scope, OK, what)]


def check_verdicts(scope: str, sample_ids: Sequence[tuple[str, int]], verdicts: Sequence[Mapping]) -> list[Finding]:
    """One verdict per sample, and a sample kept only when its verdict is correct (accepted, for programs)."""
    samples, judged = Counter(sample_ids), Counter(_ids(verdicts))
    missing = [k for k in samples if k not in judged]
    extra = [k for k in judged if k not in samples]
    twice = [k for k, n in judged.items() if n > 1]
    out = []
    if missing or extra or twice:
        detail = "; ".join(p for p in (
            f"{len(missing)} samples without a verdict: {_examples(missing)}" if missing else "",
            f"{len(extra)} verdicts of no sample: {_examples(extra)}" if extra else "",
            f"{len(twice)} samples with two verdicts: {_examples(twice)}" if twice else "") if p)
        out.append(Finding("a verdict for every sample", scope, FAIL, detail))
    else:
        out.append(Finding("a verdict for every sample", scope, OK, f"{len(judged)} verdicts"))
    wrongly_kept = [(v["question_id"], v["sample_id"]) for v in verdicts if v.get("keep") and v["verdict"] not in KEEP]
    kept = sum(1 for v in verdicts if v.get("keep"))
    if wrongly_kept:
        out.append(Finding("kept samples are correct ones", scope, FAIL,
                           f"{len(wrongly_kept)} kept with another verdict: {_examples(wrongly_kept)}"))
    else:
        out.append(Finding("kept samples are correct ones", scope, OK, f"{kept} of {len(verdicts)} kept"))
    return out


def kept_by_question(verdicts: Iterable[Mapping]) -> dict[str, set[int]]:
    kept: dict[str, set[int]] = defaultdict(set)
    for v in verdicts:
        if v.get("keep"):
            kept[v["question_id"]].add(v["sample_id"])
    return kept


def hard_questions(questions: Sequence[str], pass_rates: Iterable[Mapping], threshold: float) -> set[str]:
    """Questions compression keeps: pass rate at most the threshold, or undecided (null)."""
    rates = {r["question_id"]: r["pass_rate"] for r in pass_rates}
    return {q for q in questions if rates.get(q) is None or rates[q] <= threshold}


def expected_rows(variant: str, questions: Sequence[str], sampled: Mapping[str, set[int]],
                  kept: Mapping[str, set[int]], hard: set[str] | None, per_question: int) -> dict[str, int]:
    """{question: rows} a per-domain corpus variant must hold."""
    if variant == "full":
        return {q: 1 for q in questions if sampled.get(q)}
    verified = [q for q in questions if kept.get(q)]
    if variant == "right":
        return {q: 1 for q in verified}
    verified = [q for q in verified if hard is None or q in hard]
    if variant == "right_hard":
        return {q: 1 for q in verified}
    return {q: min(per_question, len(kept[q])) for q in verified}  # right_hard_diverse, longest, shortest


def check_corpus(scope: str, variant: str, rows: Sequence[Mapping], questions: Sequence[str],
                 sampled: Mapping[str, set[int]], kept: Mapping[str, set[int]], hard: set[str] | None,
                 per_question: int) -> list[Finding]:
    """A per-domain corpus: its rows are samples (kept ones from `right` on), one row per sample, and as
    many per question as the variant implies."""
    ids = _ids(rows)
    pool = sampled if variant == "full" else kept
    foreign = [(q, s) for q, s in ids if s not in pool.get(q, ())]
    twice = [k for k, n in Counter(ids).items() if n > 1]
    want = expected_rows(variant, questions, sampled, kept, hard, per_question)
    have = Counter(q for q, _ in ids)
    off = sorted(q for q in set(want) | set(have) if want.get(q, 0) != have.get(q, 0))
    problems = []
    if foreign:
        problems.append(f"{len(foreign)} rows that are not {'samples' if variant == 'full' else 'kept samples'}: "
                        f"{_examples(foreign)}")
    if twice:
        problems.append(f"{len(twice)} samples twice: {_examples(twice)}")
    if off:
        shown = ", ".join(f"{q} {have.get(q, 0)} (expected {want.get(q, 0)})" for q in off[:3])
        problems.append(f"{len(off)} questions with other row counts than the variant implies: {shown}"
                        + (f" and {len(off) - 3} more" if len(off) > 3 else ""))
    if problems:
        return [Finding("corpus rows as the stages imply", scope, FAIL, "; ".join(problems))]
    return [Finding("corpus rows as the stages imply", scope, OK,
                    f"{len(ids)} rows over {len(have)} questions")]


def check_mixed(scope: str, rows: Sequence[Mapping], ded: Mapping[str, Sequence[Mapping]]) -> list[Finding]:
    """mixed: rows of the domains' DED corpora, whole questions, ceil(n/2) of each domain's n questions."""
    problems = []
    for domain, corpus in sorted(ded.items()):
        own = {(r["question_id"], r["sample_id"]) for r in corpus}
        mine = [(r["question_id"], r["sample_id"]) for r in rows if r["domain"] == domain]
        foreign = [k for k in mine if k not in own]
        taken = {q for q, _ in mine}
        partial = sorted(q for q in taken if sum(1 for k in own if k[0] == q) != sum(1 for k in mine if k[0] == q))
        n = len({q for q, _ in own})
        if foreign:
            problems.append(f"{domain}: {len(foreign)} rows not in its DED corpus: {_examples(foreign)}")
        if partial:
            problems.append(f"{domain}: questions with only some of their rows: {', '.join(partial[:3])}")
        if len(taken) != math.ceil(n / 2):
            problems.append(f"{domain}: {len(taken)} questions, expected ceil({n}/2) = {math.ceil(n / 2)}")
    others = sorted({r["domain"] for r in rows} - set(ded))
    if others:
        problems.append(f"rows of domains without a DED corpus: {', '.join(others)}")
    if problems:
        return [Finding("corpus rows as the stages imply", scope, FAIL, "; ".join(problems))]
    return [Finding("corpus rows as the stages imply", scope, OK, f"{len(rows)} rows, half of each domain's questions")]


def check_distinct(scope: str, corpora: Mapping[str, Sequence[Mapping]]) -> list[Finding]:
    """Corpora of one domain that came out identical although their variants' rules differ (a warning)."""
    by_rows: dict[frozenset, list[str]] = defaultdict(list)
    for name, rows in corpora.items():
        by_rows[frozenset(_ids(rows))].append(name)
    same = [names for names in by_rows.values() if len(names) > 1]
    if not same:
        return [Finding("no two corpora identical", scope, OK, f"{len(corpora)} corpora, all different")]
    return [Finding("no two corpora identical", scope, WARN,
                    "; ".join(" = ".join(sorted(n)) for n in same)
                    + ": their rules differ, so the data gave them no choice (e.g. no question with more "
                      "than P verified samples, or no question compressed)")]


def failures(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.status == FAIL]


def markdown(findings: Sequence[Finding]) -> str:
    from .markdown import markdown_table

    failed = failures(findings)
    head = (f"**{len(failed)} of {len(findings)} checks FAILED.**" if failed else
            f"All {len(findings)} checks between stages hold"
            + (f" ({sum(f.status == WARN for f in findings)} warnings)." if any(f.status == WARN for f in findings)
               else "."))
    import pandas as pd

    table = pd.DataFrame([f.as_dict() for f in findings], columns=["check", "scope", "status", "detail"])
    return f"# Checks between stages\n\n{head}\n\n" + markdown_table(table) + "\n"


def validate_run(*, m: int, per_question: int, threshold: float, teachers: Mapping[str, bool],
                 questions: Mapping[str, Sequence[str]], samples: Mapping[tuple[str, str], Sequence[tuple[str, int]]],
                 verdicts: Mapping[tuple[str, str], Sequence[Mapping]],
                 pass_rates: Mapping[tuple[str, str], Sequence[Mapping]],
                 corpora: Mapping[tuple[str, str, str], Sequence[Mapping]]) -> list[Finding]:
    """Every invariant of a finished run.

    teachers: {teacher: whether it samples exactly M per question}. questions: {domain: seed question ids}.
    samples / verdicts: {(teacher, domain): ...}. pass_rates: {(student, domain): records}. corpora:
    {(student, teacher, corpus): rows} of every built corpus.
    """
    findings: list[Finding] = []
    sampled: dict[tuple[str, str], dict[str, set[int]]] = {}
    kept: dict[tuple[str, str], dict[str, set[int]]] = {}
    for (teacher, domain), ids in samples.items():
        scope = f"{teacher} / {domain}"
        findings += check_samples(scope, questions[domain], ids, m, exact=teachers.get(teacher, True))
        findings += check_verdicts(scope, ids, verdicts[(teacher, domain)])
        by_q: dict[str, set[int]] = defaultdict(set)
        for q, s in ids:
            by_q[q].add(s)
        sampled[(teacher, domain)] = by_q
        kept[(teacher, domain)] = kept_by_question(verdicts[(teacher, domain)])
    per_domain: dict[tuple[str, str, str], dict[str, Sequence[Mapping]]] = defaultdict(dict)
    for (student, teacher, corpus), rows in sorted(corpora.items()):
        variant, domain = parse_corpus_name(corpus)
        scope = f"{student} / {teacher} / {corpus}"
        if variant == "mixed":
            ded = {d: corpora[(student, teacher, corpus_name(DED_VARIANT, d))] for d in questions
                   if (student, teacher, corpus_name(DED_VARIANT, d)) in corpora}
            findings += check_mixed(scope, rows, ded)
            continue
        rates = pass_rates.get((student, domain))
        hard = None if variant in ("full", "right") else hard_questions(questions[domain], rates or [], threshold)
        findings += check_corpus(scope, variant, rows, questions[domain], sampled[(teacher, domain)],
                                 kept[(teacher, domain)], hard, per_question)
        per_domain[(student, teacher, domain)][corpus] = rows
    for (student, teacher, domain), group in sorted(per_domain.items()):
        if len(group) > 1:
            findings += check_distinct(f"{student} / {teacher} / {domain}", group)
    return findings
