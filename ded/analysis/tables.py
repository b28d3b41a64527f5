"""The paper's Tables 1-7 from the long-form scores table and the corpus-stats table.

Inputs
------
Scores (`results/scores.tsv`, columns `model benchmark metric value n`):
`model` is an evaluation path fragment, `base/{student}`,
`teacher/{teacher}`, `smoke/{student}/{teacher}` or
`trained/{student}/{teacher}/{corpus}`. `pass@1` is a fraction in [0, 1]
(also `pass@1_std`); `mean_tokens` is the mean response length in tokens;
lm-eval tasks may report `acc`, `acc_norm` or `exact_match`, also fractions.

Corpus stats (`results/corpus_stats.tsv`, `CORPUS_STATS_COLUMNS`): one row per
training corpus, `student teacher corpus rows questions characters`: rows =
training examples, questions = distinct question ids, characters = total
characters of the responses (prompts excluded). See `corpus_stats_row`.

Outputs
-------
Every table function is pure: DataFrames in, one DataFrame out. Accuracies are
shown in percent (one decimal by default), deltas in percentage points.
A cell whose model or benchmark was not evaluated holds `NOT_RUN`; a table
with no input at all is one row of `NOT_RUN`, never an error, so the report
shows what is missing. Literature values (config `analysis.methods`) are
percentages as papers print them and are marked `reported`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from ..errors import DedError
from ..markdown import markdown_table
from ..records import SCORE_COLUMNS

NOT_RUN = "not run"
#: A cell of a corpus the run was not asked to build and train: its variant is not in corpora.variants
#: (settings["trained_variants"]), so the row says why instead of "not run".
NOT_TRAINED = "not trained: variant not in corpora.variants"
CORPUS_STATS_COLUMNS = ("student", "teacher", "corpus", "rows", "questions", "characters")
MODEL_KINDS = {"base": ("student",), "teacher": ("teacher",), "smoke": ("student", "teacher"),
               "trained": ("student", "teacher", "corpus")}
#: The corpus stages of Tables 3 and 4, in pipeline order, with the label shown.
STAGES = (("full", "unfiltered, one sample per question"), ("right", "+ correctness"),
          ("right_hard", "+ question compression"), ("right_hard_diverse", "+ diversity (DED)"))
#: Metric shown for a benchmark, first present wins. The workflow's benchmarks report pass@1; lm-eval
#: tasks report acc (MMLU, C-Eval, CMMLU), exact_match with a filter (GSM8K, BBH, MATH) or pass_at_1 (MBPP).
#: pass_rate_2 first: Aider's Polyglot benchmark (ded/evaluate/aider.py) is reported at its second attempt, as the
#: paper's Table 6 and Aider's leaderboard do, though its pass_rate_1 sits beside it.
PRIMARY_METRICS = ("pass_rate_2", "pass@1", "acc", "exact_match", "exact_match:strict-match", "exact_match:flexible-extract",
                   "exact_match:get-answer", "math_verify", "pass_at_1", "acc_norm")
#: Never an accuracy, even when nothing in PRIMARY_METRICS is present.
NOT_ACCURACY = ("stderr", "_std", "delta_", "mean_tokens", "undecided")
#: Difficulties first in this order in per-difficulty columns; others follow alphabetically.
DIFFICULTY_ORDER = ("easy", "medium", "hard")


class TableInputError(DedError, ValueError):
    pass


# ---------------------------------------------------------------- inputs


def parse_model(fragment: str) -> dict:
    """{kind, student, teacher, corpus} of an evaluation path fragment (absent parts are None)."""
    kind, *parts = str(fragment).split("/")
    names = MODEL_KINDS.get(kind)
    if names is None or len(parts) != len(names) or not all(parts):
        raise TableInputError(f"model {fragment!r} is not one of base/{{student}}, teacher/{{teacher}}, "
                              f"smoke/{{student}}/{{teacher}}, trained/{{student}}/{{teacher}}/{{corpus}}")
    out = {"kind": kind, "student": None, "teacher": None, "corpus": None}
    out.update(zip(names, parts))
    return out


def empty_scores() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "n") else object) for c in SCORE_COLUMNS})


def read_scores(path: str | Path | None) -> pd.DataFrame:
    """The long-form scores table; a missing or empty file gives an empty table."""
    if path is None or not Path(path).exists() or Path(path).stat().st_size == 0:
        return empty_scores()
    df = pd.read_csv(path, sep="\t", dtype={"model": str, "benchmark": str, "metric": str})
    return check_scores(df, str(path))


def check_scores(df: pd.DataFrame, where: str = "<scores>") -> pd.DataFrame:
    missing = [c for c in SCORE_COLUMNS if c not in df.columns]
    if missing:
        raise TableInputError(f"{where}: missing column(s) {missing}; expected {list(SCORE_COLUMNS)}")
    df = df.copy()
    for col in ("value", "n"):
        converted = pd.to_numeric(df[col], errors="coerce")
        bad = converted.isna() & df[col].notna()
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise TableInputError(f"{where}, line {i + 2}: field '{col}': {df[col].iloc[i]!r} is not a number")
        df[col] = converted
    for i, m in enumerate(df["model"]):
        try:
            parse_model(m)
        except TableInputError as exc:
            raise TableInputError(f"{where}, line {i + 2}: field 'model': {exc}") from None
    return df


def read_corpus_stats(path: str | Path | None) -> pd.DataFrame:
    if path is None or not Path(path).exists() or Path(path).stat().st_size == 0:
        return pd.DataFrame(columns=list(CORPUS_STATS_COLUMNS))
    df = pd.read_csv(path, sep="\t", dtype={"student": str, "teacher": str, "corpus": str})
    missing = [c for c in CORPUS_STATS_COLUMNS if c not in df.columns]
    if missing:
        raise TableInputError(f"{path}: missing column(s) {missing}; expected {list(CORPUS_STATS_COLUMNS)}")
    return df


def corpus_stats_row(records: Iterable[Mapping], student: str, teacher: str, corpus: str) -> dict:
    """One corpus-stats row from a corpus's corpus_row records."""
    records = list(records)
    return {"student": student, "teacher": teacher, "corpus": corpus, "rows": len(records),
            "questions": len({r["question_id"] for r in records}),
            "characters": sum(len(r["response"]) for r in records)}


# ---------------------------------------------------------------- lookups


class Scores:
    """Index over the scores table: value(model, benchmark, metric) or None."""

    def __init__(self, scores: pd.DataFrame, corpus_stats: pd.DataFrame | None = None):
        self.df = check_scores(scores) if len(scores) else empty_scores()
        self._v = {(m, b, k): float(v) for m, b, k, v in
                   zip(self.df["model"], self.df["benchmark"], self.df["metric"], self.df["value"])}
        self.models = [parse_model(m) | {"model": m} for m in dict.fromkeys(self.df["model"])]
        self._primary: dict[str, str | None] = {}
        self.stats = {}
        if corpus_stats is not None:
            for rec in corpus_stats.to_dict("records"):
                self.stats[(rec["student"], rec["teacher"], rec["corpus"])] = rec

    def value(self, model: str, benchmark: str, metric: str) -> float | None:
        return self._v.get((model, benchmark, metric))

    def accuracy(self, model: str, benchmark: str) -> float | None:
        """The benchmark's primary metric (`primary_metric`), in percent."""
        metric = self.primary_metric(benchmark)
        v = self.value(model, benchmark, metric) if metric else None
        return 100.0 * v if v is not None else None

    def primary_metric(self, benchmark: str) -> str | None:
        """One metric per benchmark for every model, so a column never mixes metrics."""
        if benchmark not in self._primary:
            present = set(self.df.loc[self.df["benchmark"] == benchmark, "metric"])
            chosen = next((m for m in PRIMARY_METRICS if m in present), None)
            if chosen is None:
                chosen = next((m for m in sorted(present) if not any(w in m for w in NOT_ACCURACY)), None)
            self._primary[benchmark] = chosen
        return self._primary[benchmark]

    def benchmarks(self) -> list[str]:
        return list(dict.fromkeys(self.df["benchmark"]))

    def of_kind(self, kind: str, **match) -> list[dict]:
        return [m for m in self.models if m["kind"] == kind and all(m[k] == v for k, v in match.items())]

    def students(self) -> list[str]:
        return list(dict.fromkeys(m["student"] for m in self.models if m["student"]))

    def corpus(self, student, teacher, corpus) -> dict:
        return self.stats.get((student, teacher, corpus), {})


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present and len(present) == len(values) else None


def _accuracy_cells(idx: Scores, model: str | None, benchmarks: Sequence[str], tokens: bool = False) -> dict:
    acc = [idx.accuracy(model, b) if model else None for b in benchmarks]
    cells = {f"{b} pass@1 (%)": a for b, a in zip(benchmarks, acc)}
    cells["avg pass@1 (%)"] = _mean(acc) if benchmarks else None
    if tokens:
        toks = [idx.value(model, b, "mean_tokens") if model else None for b in benchmarks]
        cells.update({f"{b} tokens": t for b, t in zip(benchmarks, toks)})
        cells["avg tokens"] = _mean(toks) if benchmarks else None
    return cells


def _difficulty_cells(idx: Scores, model: str | None, benchmarks: Sequence[str]) -> dict:
    """`<b>:<difficulty> pass@1 (%)` for each per-difficulty row (`<b>:<difficulty>`, ded/evaluate/metrics.py)
    of each benchmark b in `benchmarks` that the scores table has; not part of any average."""
    scored = idx.benchmarks()
    rank = {d: i for i, d in enumerate(DIFFICULTY_ORDER)}
    cells = {}
    for b in benchmarks:
        slices = [x for x in scored if x.startswith(f"{b}:")]
        for x in sorted(slices, key=lambda x: (rank.get(x.split(":", 1)[1], len(rank)), x)):
            cells[f"{x} pass@1 (%)"] = idx.accuracy(model, x) if model else None
    return cells


def _corpus_cells(idx: Scores, student, teacher, corpus) -> dict:
    st = idx.corpus(student, teacher, corpus)
    return {"corpus rows": st.get("rows"), "corpus questions": st.get("questions")}


#: Columns that name a row rather than measure it.
_ROW_NAMES = ("student", "teacher", "stage", "selection", "corpus")


def _unless_trained(row: dict, corpus: str, settings: Mapping) -> dict:
    """`row` with its empty cells saying NOT_TRAINED when the corpus's variant is not one the config trains."""
    from ..select.corpora import parse_corpus_name

    variants = settings.get("trained_variants")
    try:
        variant = parse_corpus_name(corpus)[0]
    except ValueError:
        return row
    if variants is None or variant in variants:
        return row
    return {k: NOT_TRAINED if v is None and k not in _ROW_NAMES else v for k, v in row.items()}


def _finish(rows: list[dict], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """DataFrame with every missing cell marked NOT_RUN."""
    df = pd.DataFrame(rows, columns=list(columns) if columns else None)
    df = df.astype(object).where(df.notna(), NOT_RUN)
    return df.reset_index(drop=True)


def _settings(settings: Mapping | None) -> dict:
    """`analysis.tables` over its defaults (config/schema.yaml); a null keeps the default, except the benchmark
    lists, where null means every benchmark scored."""
    from ..settings import resolve_section

    out = resolve_section({}, "analysis.tables", check=False)
    out.update({k: v for k, v in (settings or {}).items() if v is not None or k in ("benchmarks", "ood_benchmarks")})
    return out


def _benchmarks(idx: Scores, settings: Mapping) -> list[str]:
    return list(settings.get("benchmarks") or idx.benchmarks())


# ---------------------------------------------------------------- tables


def table1_teacher_student(scores: pd.DataFrame, settings: Mapping | None = None) -> pd.DataFrame:
    """Teacher selection: each smoke-test student (one teacher each) beside its base, with deltas and the teacher's own accuracy."""
    s = _settings(settings)
    idx = Scores(scores)
    bench = _benchmarks(idx, s)
    rows = []
    students = [st for st in idx.students() if idx.of_kind("smoke", student=st) or idx.of_kind("base", student=st)]
    for student in students or [NOT_RUN]:
        base = f"base/{student}" if idx.of_kind("base", student=student) else None
        rows.append({"student": student, "teacher": "(base, no distillation)",
                     **_accuracy_cells(idx, base, bench, tokens=True)})
        if not idx.of_kind("smoke", student=student):
            rows.append({"student": student, "teacher": NOT_RUN})
        for m in idx.of_kind("smoke", student=student):
            row = {"student": student, "teacher": m["teacher"], **_accuracy_cells(idx, m["model"], bench, tokens=True)}
            base_row = next(r for r in rows if r["student"] == student and r["teacher"].startswith("(base"))
            for b in bench + ["avg"]:
                key = f"{b} pass@1 (%)"
                mine, ref = row[key], base_row[key]
                row[f"{b} Δ vs base (pp)"] = mine - ref if mine is not None and ref is not None else None
            teacher_model = f"teacher/{m['teacher']}"
            row["teacher's own avg pass@1 (%)"] = _accuracy_cells(idx, teacher_model, bench)["avg pass@1 (%)"]
            rows.append(row)
    cols = ["student", "teacher"]
    for b in bench + ["avg"]:
        cols += [f"{b} pass@1 (%)", f"{b} Δ vs base (pp)", f"{b} tokens"]
    cols.append("teacher's own avg pass@1 (%)")
    df = _finish(rows, cols)
    # The base row has no delta and no teacher: an empty cell there is not a missing run.
    base_rows = df["teacher"].str.startswith("(base")
    for c in cols:
        if "Δ" in c or c.startswith("teacher's"):
            df.loc[base_rows, c] = ""
    return df


def table2_methods(scores: pd.DataFrame, corpus_stats: pd.DataFrame | None = None,
                   methods: Sequence[Mapping] = (), settings: Mapping | None = None) -> pd.DataFrame:
    """Method comparison: this run's base, teachers and DED students beside literature rows marked reported."""
    s = _settings(settings)
    idx = Scores(scores, corpus_stats)
    bench = _benchmarks(idx, s)
    for m in methods:
        bench += [b for b in (m.get("scores") or {}) if b not in bench]
    rows = []
    for m in idx.of_kind("teacher"):
        rows.append({"method": f"teacher {m['teacher']}", "student": "", "corpus rows": "", "source": "this run",
                     **_accuracy_cells(idx, m["model"], bench)})
    for student in idx.students():
        if idx.of_kind("base", student=student):
            rows.append({"method": "base", "student": student, "corpus rows": 0, "source": "this run",
                         **_accuracy_cells(idx, f"base/{student}", bench)})
        for m in idx.of_kind("trained", student=student, corpus=s["ded_corpus"]):
            rows.append({"method": f"DED ({m['teacher']}, {m['corpus']})", "student": student,
                         "corpus rows": idx.corpus(student, m["teacher"], m["corpus"]).get("rows"),
                         "source": "this run", **_accuracy_cells(idx, m["model"], bench)})
    if not any(r["method"].startswith("DED") for r in rows):
        rows.append({"method": f"DED ({s['ded_corpus']})", "source": "this run"})
    for m in methods:
        reported = m.get("scores") or {}
        acc = [reported.get(b) for b in bench]
        rows.append({"method": m["name"], "student": m.get("student", ""), "corpus rows": m.get("corpus_size"),
                     "source": f"reported ({m.get('source', 'literature')})",
                     **{f"{b} pass@1 (%)": a for b, a in zip(bench, acc)},
                     "avg pass@1 (%)": _mean(acc)})
    cols = ["method", "student", "corpus rows", "source"] + [f"{b} pass@1 (%)" for b in bench] + ["avg pass@1 (%)"]
    df = _finish(rows, cols)
    # A literature row that does not report a benchmark was not run by us either; say so plainly.
    lit = df["source"].str.startswith("reported")
    df.loc[lit] = df.loc[lit].replace(NOT_RUN, "not reported")
    return df


def _pairs(idx: Scores, corpora: Sequence[str]) -> list[tuple[str, str]]:
    pairs = [(m["student"], m["teacher"]) for m in idx.models if m["kind"] == "trained" and m["corpus"] in corpora]
    return list(dict.fromkeys(pairs)) or [(NOT_RUN, NOT_RUN)]


def table_stage_ablation(scores: pd.DataFrame, corpus_stats: pd.DataFrame | None, domain: str,
                         settings: Mapping | None = None) -> pd.DataFrame:
    """Tables 3 (math) and 4 (code): one row per corpus stage, full -> right -> right_hard -> right_hard_diverse.
    Table 4 adds the per-difficulty pass@1 of the benchmarks of `settings["by_difficulty"]`."""
    s = _settings(settings)
    idx = Scores(scores, corpus_stats)
    bench = _benchmarks(idx, s)
    split = list(s.get("by_difficulty") or []) if domain == "code" else []
    corpora = [f"{domain}-{stage}" for stage, _ in STAGES]
    rows = []
    for student, teacher in _pairs(idx, corpora):
        for (stage, label), corpus in zip(STAGES, corpora):
            model = f"trained/{student}/{teacher}/{corpus}"
            present = bool(idx.of_kind("trained", student=student, teacher=teacher, corpus=corpus))
            rows.append(_unless_trained({"student": student, "teacher": teacher, "stage": label, "corpus": corpus,
                                         **_corpus_cells(idx, student, teacher, corpus),
                                         **_accuracy_cells(idx, model if present else None, bench, tokens=True),
                                         **_difficulty_cells(idx, model if present else None, split)}, corpus, s))
    return _finish(rows)


def table3_math_stages(scores, corpus_stats=None, settings=None) -> pd.DataFrame:
    return table_stage_ablation(scores, corpus_stats, "math", settings)


def table4_code_stages(scores, corpus_stats=None, settings=None) -> pd.DataFrame:
    return table_stage_ablation(scores, corpus_stats, "code", settings)


def table5_domains(scores: pd.DataFrame, corpus_stats: pd.DataFrame | None = None,
                   settings: Mapping | None = None) -> pd.DataFrame:
    """Math-only, code-only and mixed training corpora, beside the base student; then the per-difficulty
    pass@1 of the benchmarks of `settings["by_difficulty"]`."""
    s = _settings(settings)
    idx = Scores(scores, corpus_stats)
    bench = _benchmarks(idx, s)
    split = list(s.get("by_difficulty") or [])
    domain_corpora = s["domain_corpora"]
    rows = []
    pairs = _pairs(idx, list(domain_corpora.values()))
    for student in dict.fromkeys(p[0] for p in pairs):
        base = f"base/{student}" if idx.of_kind("base", student=student) else None
        rows.append({"student": student, "teacher": "", "training data": "none (base)", "corpus": "",
                     "corpus rows": 0, **_accuracy_cells(idx, base, bench), **_difficulty_cells(idx, base, split)})
        for st, teacher in pairs:
            if st != student:
                continue
            for label, corpus in domain_corpora.items():
                present = bool(idx.of_kind("trained", student=student, teacher=teacher, corpus=corpus))
                rows.append({"student": student, "teacher": teacher, "training data": label, "corpus": corpus,
                             "corpus rows": idx.corpus(student, teacher, corpus).get("rows"),
                             **_accuracy_cells(idx, f"trained/{student}/{teacher}/{corpus}" if present else None,
                                               bench),
                             **_difficulty_cells(idx, f"trained/{student}/{teacher}/{corpus}" if present else None,
                                                 split)})
    return _finish(rows)


def table6_out_of_domain(scores: pd.DataFrame, settings: Mapping | None = None,
                         in_domain: Sequence[str] = ()) -> pd.DataFrame:
    """Out-of-domain suites (lm-eval tasks): base and trained students on benchmarks outside `in_domain`.

    `settings["ood_benchmarks"]` names them; when None, every benchmark of the
    scores table outside `in_domain` (the workflow's own benchmarks, and their
    per-difficulty rows `<benchmark>:<difficulty>`) is one. Each column shows
    one metric (see `Scores.primary_metric`), named in its header.
    """
    s = _settings(settings)
    idx = Scores(scores)
    own = set(in_domain)
    ood = list(s.get("ood_benchmarks") or [b for b in idx.benchmarks() if b.split(":")[0] not in own])
    header = {b: f"{b} {idx.primary_metric(b) or ''} (%)".replace("  ", " ") for b in ood}
    rows = []
    for student in idx.students():
        models = idx.of_kind("base", student=student) + idx.of_kind("trained", student=student)
        for m in models:
            label = "base" if m["kind"] == "base" else f"{m['teacher']} / {m['corpus']}"
            acc = [idx.accuracy(m["model"], b) for b in ood]
            # Only models evaluated on some out-of-domain suite belong here; the rest would be rows of markers.
            if any(a is not None for a in acc):
                rows.append({"student": student, "model": label, **{header[b]: a for b, a in zip(ood, acc)},
                             "avg (%)": _mean(acc)})
    cols = ["student", "model"] + [header[b] for b in ood] + ["avg (%)"]
    return _finish(rows or [{"student": NOT_RUN, "model": NOT_RUN}], cols)


def table7_length(scores: pd.DataFrame, corpus_stats: pd.DataFrame | None = None,
                  settings: Mapping | None = None) -> pd.DataFrame:
    """Length ablation: the longest or the shortest verified response per question against DED's diverse choice."""
    s = _settings(settings)
    idx = Scores(scores, corpus_stats)
    bench = _benchmarks(idx, s)
    choices = [("longest", s["length_corpora"]["longest"]), ("shortest", s["length_corpora"]["shortest"]),
               ("DED (diverse)", s["ded_corpus"])]
    rows = []
    for student, teacher in _pairs(idx, [c for _, c in choices]):
        for label, corpus in choices:
            st = idx.corpus(student, teacher, corpus)
            present = bool(idx.of_kind("trained", student=student, teacher=teacher, corpus=corpus))
            mean_chars = st["characters"] / st["rows"] if st.get("rows") else None
            rows.append(_unless_trained({"student": student, "teacher": teacher, "selection": label, "corpus": corpus,
                                         "corpus rows": st.get("rows"), "mean response chars": mean_chars,
                                         **_accuracy_cells(idx, f"trained/{student}/{teacher}/{corpus}"
                                                           if present else None, bench, tokens=True)}, corpus, s))
    return _finish(rows)


def paper_tables(scores: pd.DataFrame, corpus_stats: pd.DataFrame | None = None,
                 methods: Sequence[Mapping] = (), settings: Mapping | None = None,
                 in_domain: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """All seven tables by file stem (table1 ... table7)."""
    return {
        "table1": table1_teacher_student(scores, settings),
        "table2": table2_methods(scores, corpus_stats, methods, settings),
        "table3": table3_math_stages(scores, corpus_stats, settings),
        "table4": table4_code_stages(scores, corpus_stats, settings),
        "table5": table5_domains(scores, corpus_stats, settings),
        "table6": table6_out_of_domain(scores, settings, in_domain),
        "table7": table7_length(scores, corpus_stats, settings),
    }


# ---------------------------------------------------------------- writers


def _cell(value, decimals: int) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{decimals}f}"
    return str(value)


#: Columns holding counts (tokens, rows, characters): shown without decimals.
COUNT_WORDS = ("tokens", "rows", "questions", "chars")


def formatted(df: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """Every cell as text; floats rounded to `decimals` (counts to whole numbers), markers unchanged."""
    out = {}
    for name in df.columns:
        places = 0 if any(w in str(name) for w in COUNT_WORDS) else decimals
        out[name] = df[name].map(lambda v: _cell(v, places))
    return pd.DataFrame(out, columns=df.columns).astype(str)


def to_markdown(df: pd.DataFrame, decimals: int = 1) -> str:
    return markdown_table(formatted(df, decimals)) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "Δ": r"$\Delta$"}


def _tex(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(s))


def to_latex(df: pd.DataFrame, decimals: int = 1, caption: str | None = None, label: str | None = None) -> str:
    text = formatted(df, decimals)
    lines = [r"\begin{table}[t]", r"\centering", r"\small"]
    if caption:
        lines.append(rf"\caption{{{_tex(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [r"\begin{tabular}{" + "l" * len(text.columns) + "}", r"\toprule",
              " & ".join(_tex(c) for c in text.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_tex(v) for v in row) + r" \\" for row in text.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, csv: str | Path | None = None, md: str | Path | None = None,
                tex: str | Path | None = None, decimals: int = 1, caption: str | None = None) -> None:
    """Write a table as CSV (full precision), Markdown and LaTeX (rounded), each atomically."""
    from ..io import atomic_path

    for path, render in ((csv, lambda: df.to_csv(index=False)), (md, lambda: to_markdown(df, decimals)),
                         (tex, lambda: to_latex(df, decimals, caption, label=f"tab:{Path(tex).stem}" if tex else None))):
        if path is None:
            continue
        with atomic_path(path) as tmp:
            Path(tmp).write_text(render(), encoding="utf-8")
