"""Benchmark metrics from verdict and sample records.

One call of `score_benchmark` turns the samples of one model on one benchmark,
their verdicts and the benchmark's problems into long-form score rows
(`SCORE_COLUMNS`: model, benchmark, metric, value, n):

| metric | value | n |
| --- | --- | --- |
| `pass@1` | mean over problems of the fraction of correct samples | problems |
| `pass@1_std` | standard deviation (ddof=1) of the pass@1 of each run; absent with one run | runs |
| `pass@1_se` | standard error of pass@1 with problems as the unit: sd (ddof=1) of the per-problem fractions / sqrt(problems); absent with one problem | problems |
| `pass@k` (each k > 1 asked for, k <= samples per problem) | unbiased estimator of Chen et al. (2021) | problems |
| `mean_tokens` | mean `completion_tokens` over samples that report it; absent if none does | samples counted |
| `undecided` | number of samples whose verdict is undecided | samples |

Run r is the set of samples with `sample_id` r across problems, so with n
samples per problem there are n runs; pass@1 is the mean of the runs' pass@1
when every problem has all n samples.

Undecided verdicts (`ded.filter.UNDECIDED`, the same set question compression
uses: the checker itself failed or timed out, the gold is missing or cannot be
parsed) count as incorrect in pass@1 and pass@k, the conservative choice that
keeps every benchmark's denominator fixed; how many there were is reported in
`undecided`, so a score dragged down by infrastructure failures is visible. A
program that times out and a response with no answer in it are wrong answers,
not undecided ones. Samples are verified leniently (`score_samples`).

`collect_scores` adds, per model with a base student and benchmark, `delta_pass@1`
(model - base) and `delta_pass@1_se`, the paired standard error of that gain
with problems as the unit: sd (ddof=1) of the per-problem differences of the
fraction correct / sqrt(problems both were scored on), from the two models'
verdicts (`paired_gain_se`). Pairing removes what the problems share (an easy
problem is easy for both), so the gain is resolved with fewer problems than two
independent standard errors would need.

When problems carry `difficulty` (LiveCodeBench easy/medium/hard, MATH-500
levels), the same metrics are repeated per difficulty with benchmark
`<benchmark>:<difficulty>`.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from ..errors import DedError
from ..records import SCORE_COLUMNS
from ..filter import UNDECIDED

#: Verdict strings meaning the checker could not decide (the one definition, in ded.filter).
UNDECIDED_VERDICTS = UNDECIDED

#: Metrics that `delta_vs_base` compares by default.
DELTA_METRICS = ("pass@1", "mean_tokens")


class ScoringError(DedError, ValueError):
    """Samples, verdicts and problems do not fit together; the message says where."""


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with n samples, c of them correct.

    1 - C(n-c, k) / C(n, k), computed as a product so large n never
    overflows: C(n-c, k)/C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i).
    """
    if not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@k needs 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


@dataclass
class Outcome:
    """What one sample came to."""

    sample_id: int
    correct: bool
    undecided: bool
    tokens: int | None


@dataclass
class ProblemOutcomes:
    question_id: str
    difficulty: str | None
    samples: list[Outcome] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def c(self) -> int:
        return sum(s.correct for s in self.samples)


def is_undecided(verdict: Mapping, undecided: frozenset[str] = UNDECIDED_VERDICTS) -> bool:
    return verdict["verdict"] in undecided


def difficulty_label(value) -> str | None:
    """`Level 3` -> `level_3`: a label safe inside a benchmark name."""
    if value is None or str(value).strip() == "":
        return None
    return "_".join(str(value).strip().lower().split())


def join_outcomes(samples: Iterable[Mapping], verdicts: Iterable[Mapping], problems: Iterable[Mapping],
                  undecided: frozenset[str] = UNDECIDED_VERDICTS) -> list[ProblemOutcomes]:
    """Pair every sample with its verdict and group by problem, in problem order.

    Every problem must have at least one sample and every sample exactly one
    verdict: a gap means generation or verification did not finish, and a
    score over a partial benchmark would not be comparable.
    """
    by_problem: dict[str, ProblemOutcomes] = {}
    for p in problems:
        if p["id"] in by_problem:
            raise ScoringError(f"problem '{p['id']}' appears twice in the benchmark")
        by_problem[p["id"]] = ProblemOutcomes(p["id"], difficulty_label(p.get("difficulty")))
    verdict_of: dict[tuple[str, int], Mapping] = {}
    for v in verdicts:
        key = (v["question_id"], v["sample_id"])
        if key in verdict_of:
            raise ScoringError(f"two verdicts for question '{key[0]}' sample {key[1]}")
        verdict_of[key] = v
    seen: set[tuple[str, int]] = set()
    models: set[str] = set()
    for s in samples:
        key = (s["question_id"], s["sample_id"])
        if key in seen:
            raise ScoringError(f"two samples for question '{key[0]}' sample {key[1]}")
        seen.add(key)
        models.add(s["model"])
        if s["question_id"] not in by_problem:
            raise ScoringError(f"sample of question '{key[0]}' whose problem is not in the benchmark")
        v = verdict_of.get(key)
        if v is None:
            raise ScoringError(f"no verdict for question '{key[0]}' sample {key[1]}")
        by_problem[key[0]].samples.append(
            Outcome(key[1], bool(v["keep"]), is_undecided(v, undecided), s.get("completion_tokens")))
    if len(models) > 1:
        raise ScoringError(f"samples of several models in one benchmark file: {sorted(models)}")
    extra = set(verdict_of) - seen
    if extra:
        q, i = sorted(extra)[0]
        raise ScoringError(f"{len(extra)} verdict(s) without a sample, e.g. question '{q}' sample {i}")
    missing = [pid for pid, po in by_problem.items() if not po.samples]
    if missing:
        raise ScoringError(f"{len(missing)} problem(s) have no sample, e.g. '{missing[0]}'")
    for po in by_problem.values():
        po.samples.sort(key=lambda o: o.sample_id)
    return list(by_problem.values())


def pass_at_1(outcomes: list[ProblemOutcomes]) -> float:
    return statistics.fmean(po.c / po.n for po in outcomes)


def standard_error(values: list[float]) -> float:
    """Standard error of a mean: sd (ddof=1) / sqrt(n); NaN below two values."""
    if len(values) < 2:
        return math.nan
    return statistics.stdev(values) / math.sqrt(len(values))


def problem_pass_rates(verdicts: Iterable[Mapping], undecided: frozenset[str] = UNDECIDED_VERDICTS) -> dict[str, float]:
    """Per question, the fraction of its samples judged correct (undecided counts as wrong, as in pass@1)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for v in verdicts:
        c = counts[v["question_id"]]
        c[0] += bool(v["keep"]) and not is_undecided(v, undecided)
        c[1] += 1
    return {q: c / n for q, (c, n) in counts.items()}


def paired_gain_se(model_rates: Mapping[str, float], base_rates: Mapping[str, float]) -> tuple[float, float, int]:
    """(gain, its standard error, problems) of a model over its base on the problems both were scored on:
    the mean and the standard error of the per-problem differences of the fraction correct."""
    common = sorted(set(model_rates) & set(base_rates))
    diffs = [model_rates[q] - base_rates[q] for q in common]
    gain = statistics.fmean(diffs) if diffs else math.nan
    return gain, standard_error(diffs), len(common)


def run_pass_at_1(outcomes: list[ProblemOutcomes]) -> dict[int, float]:
    """pass@1 of each run r (the samples with sample_id r), over the problems that have it."""
    runs: dict[int, list[bool]] = defaultdict(list)
    for po in outcomes:
        for o in po.samples:
            runs[o.sample_id].append(o.correct)
    return {r: statistics.fmean(v) for r, v in sorted(runs.items())}


def mean_pass_at_k(outcomes: list[ProblemOutcomes], k: int) -> float:
    return statistics.fmean(pass_at_k(po.n, po.c, k) for po in outcomes)


def _row(model: str, benchmark: str, metric: str, value: float, n: int) -> dict:
    return dict(zip(SCORE_COLUMNS, (model, benchmark, metric, float(value), int(n))))


def metric_rows(outcomes: list[ProblemOutcomes], model: str, benchmark: str,
                pass_k: Iterable[int] = ()) -> list[dict]:
    """The metric rows of one (model, benchmark) or one difficulty slice of it."""
    rows = [_row(model, benchmark, "pass@1", pass_at_1(outcomes), len(outcomes))]
    if len(outcomes) > 1:
        rows.append(_row(model, benchmark, "pass@1_se", standard_error([po.c / po.n for po in outcomes]),
                         len(outcomes)))
    runs = run_pass_at_1(outcomes)
    if len(runs) > 1:
        rows.append(_row(model, benchmark, "pass@1_std", statistics.stdev(runs.values()), len(runs)))
    min_n = min(po.n for po in outcomes)
    for k in sorted(set(pass_k)):
        if 1 < k <= min_n:
            rows.append(_row(model, benchmark, f"pass@{k}", mean_pass_at_k(outcomes, k), len(outcomes)))
    tokens = [o.tokens for po in outcomes for o in po.samples if o.tokens is not None]
    if tokens:
        rows.append(_row(model, benchmark, "mean_tokens", statistics.fmean(tokens), len(tokens)))
    n_samples = sum(po.n for po in outcomes)
    rows.append(_row(model, benchmark, "undecided", sum(o.undecided for po in outcomes for o in po.samples),
                     n_samples))
    return rows


def score_benchmark(samples: Iterable[Mapping], verdicts: Iterable[Mapping], problems: Iterable[Mapping],
                    model: str, benchmark: str, *, pass_k: Iterable[int] = (),
                    undecided: frozenset[str] = UNDECIDED_VERDICTS) -> list[dict]:
    """Score rows of one model on one benchmark, then one block per difficulty.

    pass@k is reported for each k in `pass_k` with 1 < k <= the smallest
    number of samples any problem has (pass@1 is always reported).
    """
    outcomes = join_outcomes(samples, verdicts, problems, undecided)
    pass_k = list(pass_k)
    rows = metric_rows(outcomes, model, benchmark, pass_k)
    by_difficulty: dict[str, list[ProblemOutcomes]] = defaultdict(list)
    for po in outcomes:
        if po.difficulty is not None:
            by_difficulty[po.difficulty].append(po)
    for difficulty in sorted(by_difficulty, key=_difficulty_order):
        rows += metric_rows(by_difficulty[difficulty], model, f"{benchmark}:{difficulty}", pass_k)
    return rows


def score_samples(samples: list[dict], problems: list[dict], model: str, benchmark: str, *, workers: int,
                  pass_k: Iterable[int] = ()) -> tuple[list[dict], list[dict]]:
    """(verdicts, score rows) of one model on one benchmark: what rule score_eval writes.

    Always lenient (no config key): a benchmark score measures answers, and the
    base students (instruct models, the default's SmolLM2) do not write <think>;
    a strict format check would score them near 0 and inflate every delta.
    Malformed tags still fail.
    """
    from ..filter import verify_samples

    verdicts = verify_samples(samples, {p["id"]: p for p in problems}, workers=workers, lenient=True)
    return verdicts, score_benchmark(samples, verdicts, problems, model, benchmark, pass_k=pass_k)


def _difficulty_order(label: str) -> tuple:
    known = {"easy": 0, "medium": 1, "hard": 2}
    return (known.get(label, 3), label)


def base_model_of(model: str) -> str | None:
    """The base student behind an evaluated model fragment (docs/layout.md), or None.

    `smoke/<student>/<teacher>` and `trained/<student>/<teacher>/<corpus>`
    compare against `base/<student>`; base models and teachers have no base.
    """
    kind, *parts = model.split("/")
    if kind in ("smoke", "trained") and parts:
        return f"base/{parts[0]}"
    return None


def delta_vs_base(scores, base_model_for: Callable[[str], str | None] | Mapping[str, str] = base_model_of,
                  metrics: Iterable[str] = DELTA_METRICS) -> list[dict]:
    """Rows `delta_<metric>` = model's value - its base model's value, per benchmark.

    `scores` is the long-form table (a DataFrame or rows); `base_model_for`
    maps a model to its base (a function or a mapping; None or absent means
    no base). A pair is skipped when the base has no row for that benchmark
    and metric. `n` is the model's own n.
    """
    rows = scores.to_dict("records") if hasattr(scores, "to_dict") else list(scores)
    lookup = base_model_for.get if isinstance(base_model_for, Mapping) else base_model_for
    metrics = set(metrics)
    value_of = {(r["model"], r["benchmark"], r["metric"]): r["value"] for r in rows}
    out = []
    for r in rows:
        if r["metric"] not in metrics:
            continue
        base = lookup(r["model"])
        if base is None or base == r["model"]:
            continue
        base_value = value_of.get((base, r["benchmark"], r["metric"]))
        if base_value is None or _is_nan(base_value) or _is_nan(r["value"]):
            continue
        out.append(_row(r["model"], r["benchmark"], f"delta_{r['metric']}", r["value"] - base_value, r["n"]))
    return out


def _is_nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def gain_se_rows(rates: Mapping[tuple[str, str], Mapping[str, float]],
                 base_model_for: Callable[[str], str | None] = base_model_of) -> list[dict]:
    """`delta_pass@1_se` rows: for each (model, benchmark) in `rates` whose base model was scored on the same
    benchmark, the paired standard error of its gain (`paired_gain_se`); n is the problems paired."""
    out = []
    for (model, benchmark), model_rates in sorted(rates.items()):
        base = base_model_for(model)
        if base is None or base == model or (base, benchmark) not in rates:
            continue
        _, se, n = paired_gain_se(model_rates, rates[(base, benchmark)])
        if n and not _is_nan(se):
            out.append(_row(model, benchmark, "delta_pass@1_se", se, n))
    return out
