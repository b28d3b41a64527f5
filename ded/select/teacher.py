"""Teacher selection: the smoke test's decision.

Each candidate teacher writes one verified chain of thought per seed
question (`smoke_corpus`); the student is quickly distilled on it and
evaluated; the evaluated model is named ``smoke/{student}/{teacher}`` in the
long-form scores table (docs/layout.md). The teacher whose smoke student
scores best on the configured metrics is chosen: the paper's point is that
the teacher strongest on benchmarks is not necessarily the best teacher.

Rules:

- ``mean``: the plain mean of the configured metrics (weights ignored);
- ``weighted``: sum(weight * value) / sum(weight).

Ties: teachers whose scores differ by at most ``TIE_EPS`` are tied, and the
alphabetically first teacher name wins, so the choice never depends on the
order of rows or teachers.

A pinned teacher (``teacher_selection.pinned``) skips the smoke test: it is
returned as is, with ``pinned: true`` and no scores.
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Iterable, Mapping, Sequence

from ..io import RecordError, decode_text, open_input
from ..records import SCORE_COLUMNS
from .common import SelectionError, kept_ids_by_question
from ..sample.prompts import user_message

RULES = ("mean", "weighted")
#: The metric ranked on every benchmark when teacher_selection.metrics is empty.
DEFAULT_METRIC = "pass@1"
TIE_EPS = 1e-9
SMOKE_PREFIX = "smoke"


def smoke_model(student: str, teacher: str) -> str:
    """The evaluated-model name of a smoke student (a path fragment)."""
    return f"{SMOKE_PREFIX}/{student}/{teacher}"


def parse_smoke_model(model: str) -> tuple[str, str] | None:
    """(student, teacher) of a smoke model name, None for any other model."""
    parts = model.split("/")
    if len(parts) == 3 and parts[0] == SMOKE_PREFIX and parts[1] and parts[2]:
        return parts[1], parts[2]
    return None


# --------------------------------------------------------------------------
# the scores table


def read_scores(path: str | os.PathLike) -> list[dict]:
    """Rows of a long-form scores TSV (columns SCORE_COLUMNS); value as float, n as int."""
    with open_input(path, "scores TSV") as fh:
        text = decode_text(fh.read(), str(path))
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    missing = [c for c in SCORE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RecordError(path, 1, missing[0], f"missing column (header must include {' '.join(SCORE_COLUMNS)})")
    rows = []
    for lineno, row in enumerate(reader, start=2):
        out = {c: row[c] for c in SCORE_COLUMNS}
        for col, cast in (("value", float), ("n", int)):
            try:
                out[col] = cast(row[col])
            except (TypeError, ValueError):
                raise RecordError(path, lineno, col, f"expected {cast.__name__}, got {row[col]!r}") from None
        rows.append(out)
    return rows


def normalise_metrics(metrics: Sequence[dict], rule: str = "mean") -> list[dict]:
    """[{benchmark, metric, weight}] with weight defaulting to 1; errors name `teacher_selection.metrics[i]`."""
    if rule not in RULES:
        raise SelectionError(f"teacher_selection.rule must be one of {list(RULES)}, got {rule!r}")
    if not metrics:
        raise SelectionError("teacher_selection.metrics is empty: name at least one {benchmark, metric}")
    out, seen = [], set()
    for i, m in enumerate(metrics):
        where = f"teacher_selection.metrics[{i}]"
        for key in ("benchmark", "metric"):
            if not isinstance(m.get(key), str) or not m[key]:
                raise SelectionError(f"{where}.{key} must be a non-empty string, got {m.get(key)!r}")
        weight = m.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise SelectionError(f"{where}.weight must be a number >= 0, got {weight!r}")
        key = (m["benchmark"], m["metric"])
        if key in seen:
            raise SelectionError(f"{where}: {key[0]}/{key[1]} is listed twice")
        seen.add(key)
        out.append({"benchmark": m["benchmark"], "metric": m["metric"], "weight": float(weight)})
    if rule == "weighted" and not sum(m["weight"] for m in out) > 0:
        raise SelectionError("teacher_selection.metrics: the weights sum to 0 under rule 'weighted'")
    return out


def metrics_from_config(config: dict) -> list[dict]:
    """teacher_selection.metrics, or DEFAULT_METRIC on every configured benchmark when it is empty.
    `config` is resolved (ded.settings.resolve_config)."""
    section = config["teacher_selection"]
    known = config["benchmarks"]
    metrics = section["metrics"] or [{"benchmark": b, "metric": DEFAULT_METRIC} for b in known]
    for i, m in enumerate(metrics):
        if m.get("benchmark") not in known:
            raise SelectionError(f"teacher_selection.metrics[{i}].benchmark = {m.get('benchmark')!r} is not a key of "
                                 f"`benchmarks` (known: {', '.join(sorted(known))})")
    return normalise_metrics(metrics, section["rule"])


def metric_column(m: dict) -> str:
    return f"{m['benchmark']}/{m['metric']}"


def aggregate(values: Sequence[float], weights: Sequence[float], rule: str) -> float:
    if rule == "mean":
        return sum(values) / len(values)
    return sum(w * v for w, v in zip(weights, values)) / sum(weights)


def teacher_scores(scores: Iterable[dict], metrics: Sequence[dict], student: str,
                   teachers: Sequence[str] | None = None, rule: str = "mean") -> list[dict]:
    """One row per teacher, best first: {rank, teacher, score, <benchmark>/<metric>: value ...}.

    Only the rows of models ``smoke/{student}/{teacher}`` count. `teachers`
    (the configured candidates) must each have every metric; without it the
    teachers are the ones found in the table.
    """
    metrics = normalise_metrics(metrics, rule)
    values: dict[tuple[str, str, str], float] = {}
    for row in scores:
        parsed = parse_smoke_model(row["model"])
        if parsed is None or parsed[0] != student:
            continue
        key = (parsed[1], row["benchmark"], row["metric"])
        if key in values:
            raise SelectionError(f"scores: two rows for model {row['model']!r}, benchmark {key[1]!r}, "
                                 f"metric {key[2]!r}")
        values[key] = float(row["value"])
    found = sorted({t for t, _, _ in values})
    candidates = sorted(teachers) if teachers is not None else found
    if not candidates:
        raise SelectionError(f"scores: no rows for any smoke model of student {student!r} "
                             f"(expected models named {smoke_model(student, '<teacher>')})")
    rows = []
    for t in candidates:
        vals = []
        for m in metrics:
            v = values.get((t, m["benchmark"], m["metric"]))
            if v is None or math.isnan(v):
                what = "no row" if v is None else "a NaN value"
                raise SelectionError(f"scores: {what} for model {smoke_model(student, t)!r}, benchmark "
                                     f"{m['benchmark']!r}, metric {m['metric']!r} (named in teacher_selection.metrics)")
            vals.append(v)
        row = {"teacher": t, "score": aggregate(vals, [m["weight"] for m in metrics], rule)}
        row.update({metric_column(m): v for m, v in zip(metrics, vals)})
        rows.append(row)
    rows = rank(rows)
    return rows


def rank(rows: list[dict]) -> list[dict]:
    """Best score first; scores within TIE_EPS tie and go alphabetically."""
    remaining = sorted(rows, key=lambda r: r["teacher"])
    ordered = []
    while remaining:
        best = max(r["score"] for r in remaining)
        pick = next(r for r in remaining if r["score"] >= best - TIE_EPS)
        remaining.remove(pick)
        ordered.append({"rank": len(ordered) + 1, **pick})
    return ordered


def choice_margin(table: Sequence[dict], metrics: Sequence[dict], student: str, rule: str,
                  rates: Mapping[tuple[str, str], Mapping[str, float]]) -> dict | None:
    """How far the chosen teacher's score is ahead of the runner-up's, and whether that is beyond noise.

    `table` is `teacher_scores`' ranking; `rates` maps (smoke model, benchmark) to its per-problem fraction
    correct (`ded.evaluate.metrics.problem_pass_rates`). The score is a (weighted) mean of one value per
    metric, so its difference has the standard error sqrt(sum((w_i / sum w)^2 se_i^2)), se_i the paired
    standard error of the two smoke students' pass@1 difference on benchmark i (benchmarks hold different
    problems, so their errors add as independent ones). Beyond noise: the difference is at least two of
    those standard errors (and not 0). With a metric other than pass@1 there are no per-problem outcomes to
    pair, and `se` is None with the reason. None with fewer than two candidates.
    """
    from ..evaluate.metrics import paired_gain_se

    if len(table) < 2:
        return None
    first, second = table[0]["teacher"], table[1]["teacher"]
    out = {"runner_up": second, "difference": table[0]["score"] - table[1]["score"], "se": None,
           "beyond_noise": None, "why": None}
    metrics = normalise_metrics(metrics, rule)
    weights = [m["weight"] if rule == "weighted" else 1.0 for m in metrics]
    variance = 0.0
    for m, w in zip(metrics, weights):
        a, b = (rates.get((smoke_model(student, t), m["benchmark"])) for t in (first, second))
        if m["metric"] != "pass@1" or a is None or b is None:
            out["why"] = (f"{m['benchmark']} {m['metric']} has no per-problem outcomes to pair"
                          if m["metric"] != "pass@1" else f"no verdicts of {m['benchmark']} for both candidates")
            return out
        _, se, n = paired_gain_se(a, b)
        if math.isnan(se):
            out["why"] = f"{m['benchmark']} has {n} problem(s) scored for both: no spread to measure"
            return out
        variance += (w / sum(weights)) ** 2 * se ** 2
    out["se"] = math.sqrt(variance)
    out["beyond_noise"] = out["difference"] != 0 and abs(out["difference"]) >= 2 * out["se"]
    return out


def select_teacher(scores: Iterable[dict], metrics: Sequence[dict], student: str, rule: str = "mean",
                   teachers: Sequence[str] | None = None, pinned: str | None = None,
                   rates: Mapping[tuple[str, str], Mapping[str, float]] | None = None) -> dict:
    """The selection record: {teacher, student, rule, metrics, scores: {teacher: score}, pinned, margin}
    (`margin`: `choice_margin` given the smoke students' per-problem `rates`; None without them)."""
    if pinned is not None:
        # A pinned teacher needs no metrics; record them when given, for provenance.
        metrics = normalise_metrics(metrics, rule) if metrics else []
        if teachers is not None and pinned not in teachers:
            raise SelectionError(f"teacher_selection.pinned = {pinned!r} is not a configured teacher "
                                 f"(known: {', '.join(sorted(teachers))})")
        return {"teacher": pinned, "student": student, "rule": rule, "metrics": metrics, "scores": {},
                "pinned": True, "margin": None}
    metrics = normalise_metrics(metrics, rule)
    table = teacher_scores(scores, metrics, student, teachers, rule)
    margin = choice_margin(table, metrics, student, rule, rates) if rates is not None else None
    return {"teacher": table[0]["teacher"], "student": student, "rule": rule, "metrics": metrics,
            "scores": {r["teacher"]: r["score"] for r in table}, "pinned": False, "margin": margin}


def score_table_tsv(table: Sequence[dict]) -> str:
    """The per-teacher table as TSV text (columns in the rows' order)."""
    if not table:
        return ""
    cols = list(table[0])
    lines = ["\t".join(cols)]
    for r in table:
        lines.append("\t".join(f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]) for c in cols))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# the smoke corpus


def smoke_corpus(verdicts: Iterable[dict], samples: Iterable[dict], problems: Sequence[dict],
                 teacher: str, domain: str) -> list[dict]:
    """CORPUS_ROW records: one verified sample per seed question (the lowest kept sample_id).

    Questions with no kept sample are left out. Rows follow the order of
    `problems`.
    """
    kept = kept_ids_by_question(verdicts)
    by_key = {(s["question_id"], s["sample_id"]): s for s in samples}
    rows = []
    for problem in problems:
        ids = kept.get(problem["id"])
        if not ids:
            continue
        sample = by_key.get((problem["id"], ids[0]))
        if sample is None:
            raise SelectionError(f"verdict keeps question {problem['id']!r} sample {ids[0]} but no such sample exists")
        rows.append(corpus_row(sample, problem, teacher, domain))
    return rows


def corpus_row(sample: dict, problem: dict, teacher: str, domain: str) -> dict:
    return {"question_id": sample["question_id"], "sample_id": sample["sample_id"], "teacher": teacher,
            "domain": domain, "prompt": user_message(problem), "response": sample["text"]}
