"""This run against the paper's published values: how close did the reproduction come?

Inputs
------
Scores: `results/scores.tsv` (`model benchmark metric value n`, accuracies as
fractions; see `ded.analysis.tables`).

Published values: the config's `paper_values`, one entry per number the paper
prints (config/schema.yaml): `table` and `row` as printed, `model` (this
workflow's evaluation path fragment the row corresponds to, e.g.
`trained/r1-distill-qwen-32b/qwq-32b/math-right_hard_diverse`), `benchmark`,
`metric`, `value` as printed, `unit` (`percent`: the run's fraction is shown
x 100; `raw`: compared as it is, e.g. a length in tokens) and `source`
("Table N, row '<label>'"). config/paper.yaml holds them; the embedded
default has none, and then the comparison does not apply.

Settings: `decisive_settings(config)` flattens the few settings that decide a
published number (`DECISIVE` below) into `{config path: value}`, for the run's
config and for config/paper.yaml's. A row's `differs` names those of them, in
its scope (`in_scope`), whose values differ.

Output
------
`compare` is pure: one row per published value, columns `COLUMNS`: `this run`
and `paper` in the entry's unit, `difference` = this run - paper (percentage
points for `percent`), `NOT_RUN` where this run has no such score. With no
published values it returns one row saying the comparison does not apply.
`run_paper_comparison` reads the scores and writes the CSV and the Markdown.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from ..config import ConfigError
from ..io import atomic_path
from ..markdown import markdown_table
from .tables import NOT_RUN, TableInputError, parse_model, read_scores

NOT_APPLICABLE = "does not apply"
COLUMNS = ("table", "row", "model", "benchmark", "metric", "this run", "paper", "difference", "differs", "source")
UNITS = ("percent", "raw")
#: Where the reference settings come from (the workflow's own copy of the paper's setup).
PAPER_CONFIGFILE = "config/paper.yaml"

#: The settings that decide a published number. Per student, teacher, benchmark, out-of-domain task and
#: seed domain of the config, these keys of its entry; then single config paths. A model is compared by
#: its source (hub id, path or GGUF package, with the revision when set), not by the key a config gives
#: it. Everything else (worker counts, batch sizes, engine options, endpoints, the analyses) is left out:
#: it changes no score, or not by design.
STUDENT_KEYS = ("model",)
TEACHER_KEYS = ("model", "temperature", "top_p", "max_tokens")
BENCHMARK_KEYS = ("loader", "path", "subset", "split", "start_date", "end_date", "n", "samples", "temperature",
                  "top_p", "max_tokens")
OOD_TASK_KEYS = ("num_fewshot",)
SEED_KEYS = ("source", "path", "n")
GLOBAL_KEYS = (
    # the corpus: M samples per question, the filter, question compression, P kept by diversity
    "sampling.samples_per_question",
    "filter.max_response_tokens",
    "compression.samples",
    "compression.threshold",
    "diversity.trajectories_per_question",
    "diversity.unit",
    # training: the final students', and the smoke test's quick distillation
    "train.finetuning_type",
    "train.cutoff_len",
    "train.learning_rate",
    "train.num_train_epochs",
    "train.max_steps",
    "train.global_batch_size",
    "train.lr_scheduler_type",
    "train.smoke.cutoff_len",
    "train.smoke.learning_rate",
    "train.smoke.num_train_epochs",
    "train.smoke.max_steps",
    "train.smoke.global_batch_size",
)
#: All of them as config paths, for the documentation and the report.
DECISIVE = (tuple(f"students.{{student}}.{k}" for k in STUDENT_KEYS)
            + tuple(f"teachers.{{teacher}}.{k}" for k in TEACHER_KEYS)
            + tuple(f"benchmarks.{{benchmark}}.{k}" for k in BENCHMARK_KEYS)
            + tuple(f"evaluation.out_of_domain.tasks.{{benchmark}}.{k}" for k in OOD_TASK_KEYS)
            + tuple(f"seeds.{{domain}}.{k}" for k in SEED_KEYS) + GLOBAL_KEYS)

#: Which groups of GLOBAL_KEYS and seeds bear on a row, by the kind of model it is about (besides the row's
#: own student, teacher and benchmark): a base student's or a teacher's score depends on no corpus or
#: training; the smoke test trains on the filtered samples with train.smoke.
_SCOPES = {
    "base": (),
    "teacher": (),
    "smoke": ("seeds", "sampling", "filter", "train.smoke"),
    "trained": ("seeds", "sampling", "filter", "compression", "diversity", "train"),
}


class PaperValuesError(ConfigError):
    pass


# ---------------------------------------------------------------- settings


def _model_source(config: Mapping, model_key) -> object:
    """A model's source (hub id, local path or GGUF package), the identity two configs can share."""
    spec = (config.get("models") or {}).get(model_key)
    source = spec.get("source") if isinstance(spec, Mapping) else None
    for key in ("hub", "path", "gguf_package"):
        if isinstance(source, Mapping) and source.get(key):
            revision = source.get("revision")
            return f"{source[key]}@{revision}" if revision else str(source[key])
    return model_key


def _at(config: Mapping, path: str):
    node = config
    for name in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(name)
    return node


def decisive_settings(config: Mapping) -> dict[str, object]:
    """{config path: value} of every decisive setting the config sets (a model as its source)."""
    out: dict[str, object] = {}

    def put(key: str, value) -> None:
        if value is not None:
            out[key] = value

    for section, keys in (("students", STUDENT_KEYS), ("teachers", TEACHER_KEYS)):
        for name, spec in (config.get(section) or {}).items():
            for k in keys:
                value = spec.get(k)
                put(f"{section}.{name}.{k}", _model_source(config, value) if k == "model" and value else value)
    for name, spec in (config.get("benchmarks") or {}).items():
        for k in BENCHMARK_KEYS:
            put(f"benchmarks.{name}.{k}", spec.get(k))
    for task in _at(config, "evaluation.out_of_domain.tasks") or []:
        for k in OOD_TASK_KEYS:
            put(f"evaluation.out_of_domain.tasks.{task.get('name')}.{k}", task.get(k))
    for name, spec in (config.get("seeds") or {}).items():
        for k in SEED_KEYS:
            put(f"seeds.{name}.{k}", spec.get(k))
    for path in GLOBAL_KEYS:
        put(path, _at(config, path))
    return out


def _text(value) -> str:
    return "unset" if value is None else str(value)


def setting_differences(run: Mapping[str, object], paper: Mapping[str, object], keys: Iterable[str] | None = None
                        ) -> list[str]:
    """'key: run value (paper: paper value)' for each key whose values differ (run's keys first)."""
    keys = list(dict.fromkeys([*run, *paper])) if keys is None else list(keys)
    return [f"{k}: {_text(run.get(k))} (paper: {_text(paper.get(k))})" for k in keys if run.get(k) != paper.get(k)]


def in_scope(key: str, model: str, benchmark: str) -> bool:
    """Whether the setting `key` bears on the published value of `model` on `benchmark`."""
    parts = parse_model(model)
    if key.startswith("students."):
        return key == f"students.{parts['student']}.model"
    if key.startswith("teachers."):
        return parts["teacher"] is not None and key.startswith(f"teachers.{parts['teacher']}.")
    if key.startswith("benchmarks.") or key.startswith("evaluation.out_of_domain.tasks."):
        return key.startswith(f"benchmarks.{benchmark}.") or key.startswith(
            f"evaluation.out_of_domain.tasks.{benchmark}.")
    groups = _SCOPES[parts["kind"]]
    if key.startswith("train.smoke."):
        return "train.smoke" in groups
    return any(key.startswith(g + ".") for g in groups if g != "train.smoke")


# ---------------------------------------------------------------- the entries


def _key(entry: Mapping) -> tuple:
    return (entry.get("table"), entry.get("row"), entry.get("model"), entry.get("benchmark"), entry.get("metric"))


def check_paper_values(entries: Sequence[Mapping] | None) -> list[Mapping]:
    """The entries, each with a model fragment this workflow evaluates and a known unit, none twice."""
    entries = list(entries or [])
    seen = set()
    for i, entry in enumerate(entries):
        where = f"config: paper_values[{i}] ({entry.get('source', 'no source')})"
        try:
            parse_model(entry.get("model", ""))
        except TableInputError as exc:
            raise PaperValuesError(f"{where}: {exc}") from None
        if entry.get("unit", "percent") not in UNITS:
            raise PaperValuesError(f"{where}: unit {entry.get('unit')!r} is not one of {', '.join(UNITS)}")
        if _key(entry) in seen:
            raise PaperValuesError(f"{where}: the same table, row, model, benchmark and metric appear twice")
        seen.add(_key(entry))
    return entries


def unknown_benchmarks(entries: Sequence[Mapping] | None, config: Mapping) -> list[str]:
    """Benchmarks named by `entries` that the config neither evaluates nor runs as an out-of-domain task."""
    tasks = ((config.get("evaluation") or {}).get("out_of_domain") or {}).get("tasks") or []
    known = set(config.get("benchmarks") or {}) | {t.get("name") for t in tasks if isinstance(t, Mapping)}
    return sorted({e["benchmark"] for e in entries or [] if e.get("benchmark") not in known})


# ---------------------------------------------------------------- the comparison


def _lookup(scores: pd.DataFrame, model: str, benchmark: str, metric: str) -> float | None:
    hit = scores[(scores["model"] == model) & (scores["benchmark"] == benchmark) & (scores["metric"] == metric)]
    hit = hit[hit["value"].notna()]
    return None if hit.empty else float(hit.iloc[0]["value"])


def not_applicable(reason: str) -> pd.DataFrame:
    row = dict.fromkeys(COLUMNS, "")
    row.update(table=NOT_APPLICABLE, row=reason)
    return pd.DataFrame([row], columns=list(COLUMNS))


NO_VALUES = ("this run's config lists no published values (paper_values), so there is no number of the paper to "
             "set this run's scores beside")


def compare(scores: pd.DataFrame, paper_values: Sequence[Mapping] | None,
            run_settings: Mapping[str, object] | None = None,
            paper_settings: Mapping[str, object] | None = None) -> pd.DataFrame:
    """One row per published value: this run's score beside it, the difference, the settings that differ."""
    entries = check_paper_values(paper_values)
    if not entries:
        return not_applicable(NO_VALUES)
    run_settings, paper_settings = dict(run_settings or {}), dict(paper_settings or {})
    differing = setting_differences(run_settings, paper_settings)
    differing_keys = [d.split(": ", 1)[0] for d in differing]
    rows = []
    for entry in entries:
        model, benchmark, metric = entry["model"], entry["benchmark"], entry["metric"]
        unit = entry.get("unit", "percent")
        value = _lookup(scores, model, benchmark, metric)
        ours = NOT_RUN if value is None else (value * 100.0 if unit == "percent" else value)
        paper = float(entry["value"])
        keys = [k for k in differing_keys if in_scope(k, model, benchmark)]
        rows.append({
            "table": entry["table"], "row": entry["row"], "model": model, "benchmark": benchmark,
            "metric": metric, "this run": ours, "paper": paper,
            "difference": NOT_RUN if value is None else ours - paper,
            "differs": "; ".join(setting_differences(run_settings, paper_settings, keys)) or "none",
            "source": entry["source"],
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def applies(frame: pd.DataFrame) -> bool:
    return not (len(frame) == 1 and frame.iloc[0]["table"] == NOT_APPLICABLE)


def _number(value, decimals: int, signed: bool = False) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def comparison_markdown(frame: pd.DataFrame, run_settings: Mapping[str, object] | None = None,
                        paper_settings: Mapping[str, object] | None = None, decimals: int = 2) -> str:
    """The Markdown page: the table, or why there is none, and every decisive setting that differs."""
    lines = ["# This run against the paper", ""]
    if not applies(frame):
        lines += [f"The comparison {NOT_APPLICABLE}: {frame.iloc[0]['row']}.", ""]
        return "\n".join(lines)
    lines += ["Published values of arXiv 2508.09883 (config `paper_values`, each with its table and row) beside "
              "this run's scores (`results/scores.tsv`). `this run` and `paper` in the unit the paper prints "
              "(accuracies in percent), `difference` = this run - paper (percentage points for accuracies); "
              f"`{NOT_RUN}` where this run has no such score. `differs` names the settings bearing on the row "
              f"that differ from `{PAPER_CONFIGFILE}` (ded/analysis/paper_compare.py, DECISIVE).", ""]
    shown = frame.copy()
    for column, signed in (("this run", False), ("paper", False), ("difference", True)):
        shown[column] = [_number(v, decimals, signed) for v in shown[column]]
    lines += [markdown_table(shown, right=("table", "this run", "paper", "difference")), ""]
    differing = setting_differences(run_settings or {}, paper_settings or {})
    lines += [f"## Settings of this run that differ from `{PAPER_CONFIGFILE}`", ""]
    lines += [f"- {d}" for d in differing] if differing else ["None of the decisive settings differ."]
    lines.append("")
    return "\n".join(lines)


def run_paper_comparison(scores_path: str | Path | None, paper_values: Sequence[Mapping] | None,
                         settings: Mapping[str, Mapping] | None, csv_out: str | Path, md_out: str | Path,
                         decimals: int = 2) -> pd.DataFrame:
    """Read the scores, compare, write the CSV (full precision) and the Markdown; return the frame.

    `settings`: {"run": decisive_settings(run config), "paper": decisive_settings(paper config)}.
    """
    settings = settings or {}
    run_settings, paper_settings = settings.get("run") or {}, settings.get("paper") or {}
    frame = compare(read_scores(scores_path), paper_values, run_settings, paper_settings)
    with atomic_path(csv_out) as tmp:
        frame.to_csv(tmp, index=False)
    with atomic_path(md_out) as tmp:
        Path(tmp).write_text(comparison_markdown(frame, run_settings, paper_settings, decimals) + "\n",
                             encoding="utf-8")
    return frame
