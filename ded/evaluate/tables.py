"""Score tables: per-(model, benchmark) TSVs, the long-form `results/scores.tsv`,
and wide summaries per model (benchmark x metric) as Markdown and CSV.
"""

from __future__ import annotations

import io
import math
import os
from typing import Iterable

import pandas as pd

from ..errors import one_line
from ..io import RecordError, atomic_path, decode_text, open_input
from ..markdown import markdown_table
from ..records import SCORE_COLUMNS
from .metrics import ScoringError

#: Summary column order after pass@1, pass@1_std and pass@k; other metrics follow alphabetically.
HEADER = "\t".join(SCORE_COLUMNS)
METRIC_ORDER = ("delta_pass@1", "delta_pass@1_se", "mean_tokens", "delta_mean_tokens", "undecided")


def scores_frame(rows: Iterable[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(SCORE_COLUMNS))
    frame["value"] = frame["value"].astype(float)
    frame["n"] = frame["n"].astype(int)
    return frame


def write_scores(path: str | os.PathLike, rows) -> int:
    """Write score rows (a DataFrame or dicts) as a TSV with `SCORE_COLUMNS`, atomically."""
    frame = rows if isinstance(rows, pd.DataFrame) else scores_frame(rows)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, columns=list(SCORE_COLUMNS), float_format="%.10g")
    return len(frame)


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """Read one scores TSV; fail naming the file and the column or line at fault."""
    with open_input(path, "scores TSV") as fh:
        text = decode_text(fh.read(), str(path))
    try:
        frame = pd.read_csv(io.StringIO(text), sep="\t", dtype={"model": str, "benchmark": str, "metric": str},
                            keep_default_na=False, na_values={"value": ["nan", "NaN", ""]})
    except pd.errors.ParserError as exc:
        raise RecordError(path, None, None, f"not a valid TSV ({one_line(str(exc))})") from None
    except pd.errors.EmptyDataError:
        raise RecordError(path, None, None, f"is empty: expected a header {HEADER}") from None
    if tuple(frame.columns) != SCORE_COLUMNS:
        raise RecordError(path, 1, None, f"columns are {list(frame.columns)}, expected {list(SCORE_COLUMNS)}")
    for column, kind in (("value", float), ("n", int)):
        try:
            frame[column] = frame[column].astype(kind)
        except (TypeError, ValueError):
            bad = next(i for i, x in enumerate(frame[column]) if not _parses(x, kind))
            raise RecordError(path, bad + 2, column, f"{frame[column].iloc[bad]!r} is not a {kind.__name__}") from None
    return frame


def _parses(x, kind) -> bool:
    try:
        kind(x)
        return True
    except (TypeError, ValueError):
        return False


def collect_scores(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate score TSVs into the long-form table, sorted; duplicate keys are an error."""
    frames = [read_scores(p) for p in paths]
    frame = pd.concat(frames, ignore_index=True) if frames else scores_frame([])
    key = ["model", "benchmark", "metric"]
    dup = frame[frame.duplicated(key, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        times = int((dup[key] == first[key]).all(axis=1).sum())
        raise ScoringError(f"score ({first['model']}, {first['benchmark']}, {first['metric']}) appears in "
                           f"{times} input rows: two score files cover the same model and benchmark")
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def problem_rates_by_score_file(verdict_paths: Iterable[str | os.PathLike]) -> dict[tuple[str, str], dict[str, float]]:
    """(model, benchmark) -> per-problem fraction correct, from verdict files written by score_eval beside
    their scores.tsv (whose first row names the model and the whole benchmark)."""
    from pathlib import Path

    from ..io import read_records
    from .metrics import problem_pass_rates

    out = {}
    for path in verdict_paths:
        first = read_scores(Path(path).with_name("scores.tsv")).iloc[0]
        out[(first["model"], first["benchmark"])] = problem_pass_rates(read_records(path, "verdict"))
    return out


def _metric_key(metric: str) -> tuple:
    """pass@1, its standard error and spread, pass@k by k, then the other known metrics, then the rest
    alphabetically."""
    if metric in ("pass@1", "pass@1_se", "pass@1_std"):
        return (0, metric != "pass@1", 0, metric)
    if metric.startswith("pass@") and metric[5:].isdigit():
        return (1, 0, int(metric[5:]), metric)
    if metric in METRIC_ORDER:
        return (2, METRIC_ORDER.index(metric), 0, metric)
    return (3, 0, 0, metric)


def _benchmark_key(benchmark: str) -> tuple:
    """A benchmark, then its difficulty rows easy, medium, hard, then others alphabetically."""
    base, _, difficulty = benchmark.partition(":")
    known = {"": 0, "easy": 1, "medium": 2, "hard": 3}
    return (base, known.get(difficulty, 4), difficulty)


def summary_tables(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per model: a wide table, one row per benchmark, one column per metric."""
    out = {}
    for model, part in scores.groupby("model", sort=True):
        wide = part.pivot(index="benchmark", columns="metric", values="value")
        wide = wide[sorted(wide.columns, key=_metric_key)]
        wide.columns.name = None
        out[model] = wide.loc[sorted(wide.index, key=_benchmark_key)]
    return out


#: Metrics shown as counts or token lengths rather than rates in Markdown.
COUNT_METRICS = {"undecided"}
LENGTH_METRICS = {"mean_tokens", "delta_mean_tokens"}


def _fmt(x, metric: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if metric in COUNT_METRICS:
        return str(int(round(x)))
    if metric in LENGTH_METRICS:
        return f"{x:.1f}"
    return f"{x:.4f}"


def _formatted(wide: pd.DataFrame) -> pd.DataFrame:
    """A wide summary as text: its index as the first column, each metric's values in the metric's format."""
    text = pd.DataFrame({str(m): [_fmt(v, str(m)) for v in wide[m]] for m in wide.columns})
    text.insert(0, "benchmark", [str(i) for i in wide.index])
    return text


def gains_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, benchmark) with a paired gain over its base student: pass@1 of both, the gain,
    its standard error and their ratio (whole benchmarks; difficulty slices have no paired error)."""
    from .metrics import base_model_of

    value = {(r.model, r.benchmark, r.metric): r.value for r in scores.itertuples(index=False)}
    rows = []
    for r in scores[scores["metric"] == "delta_pass@1_se"].itertuples(index=False):
        gain = value.get((r.model, r.benchmark, "delta_pass@1"))
        if gain is None:
            continue
        base = base_model_of(r.model)
        rows.append({"model": r.model, "benchmark": r.benchmark, "problems": int(r.n),
                     "pass@1": value.get((r.model, r.benchmark, "pass@1")),
                     "base pass@1": value.get((base, r.benchmark, "pass@1")), "gain": gain, "se": r.value,
                     "gain/se": gain / r.value if r.value > 0 else math.nan})
    columns = ["model", "benchmark", "problems", "pass@1", "base pass@1", "gain", "se", "gain/se"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["model", "benchmark"], key=lambda c: c.map(_benchmark_key) if c.name == "benchmark"
                             else c, kind="stable").reset_index(drop=True)


def gains_markdown(gains: pd.DataFrame) -> str:
    """The gains as a Markdown table; a ratio of 2 or more (either sign) is marked as beyond noise."""
    def ratio(x):
        if math.isnan(x):
            return "no spread"
        return f"{x:+.1f}" + (" **beyond noise**" if abs(x) >= 2 else "")

    text = pd.DataFrame({
        "model": gains["model"], "benchmark": gains["benchmark"], "problems": gains["problems"].map(str),
        "pass@1": gains["pass@1"].map(lambda x: _fmt(x, "pass@1")),
        "base pass@1": gains["base pass@1"].map(lambda x: _fmt(x, "pass@1")),
        "gain": gains["gain"].map(lambda x: f"{x:+.4f}"), "SE": gains["se"].map(lambda x: f"{x:.4f}"),
        "gain / SE": gains["gain/se"].map(ratio)})
    return markdown_table(text, right=["problems", "pass@1", "base pass@1", "gain", "SE", "gain / SE"])


def summary_markdown(scores: pd.DataFrame) -> str:
    parts = ["# Scores", "", "One table per evaluated model: benchmarks by metric (see ded/evaluate/metrics.py).", ""]
    gains = gains_frame(scores)
    if len(gains):
        parts += ["## Gains over the base student", "",
                  "pass@1 of each model minus its base student's on the same problems, with the paired standard "
                  "error of that difference (problems as the unit: sd of the per-problem differences / "
                  "sqrt(problems)). A gain of two standard errors or more, either way, is beyond noise at about "
                  "the 95% level.", "", gains_markdown(gains), ""]
    for model, wide in summary_tables(scores).items():
        parts += [f"## {model}", "", markdown_table(_formatted(wide), right=map(str, wide.columns)), ""]
    return "\n".join(parts)


def summary_csv_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """All models' wide tables stacked, with `model` and `benchmark` columns first."""
    frames = []
    for model, wide in summary_tables(scores).items():
        frames.append(wide.reset_index().assign(model=model))
    if not frames:
        return pd.DataFrame(columns=["model", "benchmark"])
    frame = pd.concat(frames, ignore_index=True)
    metrics = sorted((c for c in frame.columns if c not in ("model", "benchmark")), key=_metric_key)
    return frame[["model", "benchmark", *metrics]]


def write_summary(scores: pd.DataFrame, markdown_path: str | os.PathLike | None,
                  csv_path: str | os.PathLike | None) -> None:
    """Write the Markdown and/or CSV summary (a None path is skipped)."""
    if markdown_path:
        with atomic_path(markdown_path) as tmp:
            tmp.write_text(summary_markdown(scores), encoding="utf-8")
    if csv_path:
        with atomic_path(csv_path) as tmp:
            summary_csv_frame(scores).to_csv(tmp, index=False, float_format="%.10g")
