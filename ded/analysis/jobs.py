"""Path-level entry points of the analysis rules and of `python -m ded analysis`.

Each reads its inputs, calls the pure functions of the package and writes
its outputs atomically. No Snakemake here: scripts/ unpack `snakemake.*`
and call these.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from ..io import RecordError, atomic_path, read_json, read_records, write_json

log = logging.getLogger(__name__)


def _write_tsv(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False)


def corpus_kind(path: str | Path) -> str:
    """'corpus_row' or 'sample', from the first record of a JSONL file (an empty file counts as corpus_row)."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RecordError(path, lineno, None, f"not valid JSON ({exc.msg})") from None
                return "corpus_row" if isinstance(first, dict) and "response" in first else "sample"
    return "corpus_row"


def run_token_entropy(corpus, model, values_out, summary_out, problems=None, max_tokens: int = 2048,
                      batch_size: int = 4, dtype: str | None = None, bins: int = 50,
                      meta: Mapping | None = None) -> dict:
    """Score one corpus (corpus_row records, or sample records with their problems file); write .npz and .json."""
    from .entropy import corpus_entropy, save_values, scoring_rows, summarize

    kind = corpus_kind(corpus)
    records = read_records(corpus, kind)
    probs = read_records(problems, "problem") if kind == "sample" and problems else None
    rows = scoring_rows(records, probs, where=str(corpus))
    if rows:
        result = corpus_entropy(model, rows, max_tokens, batch_size, dtype=dtype, bins=bins)
    else:  # an empty corpus is a finding (the filter kept nothing), not a reason to load a model
        log.warning("%s holds no records; writing an empty entropy summary", corpus)
        result = {"summary": summarize([]) | {"truncated_rows": 0}, "values": [], "histogram": None}
    save_values(values_out, rows, result["values"])
    write_json(summary_out, {**(meta or {}), "corpus": str(corpus), "scoring_model_dir": str(model),
                             "max_tokens": max_tokens, "unit": "nats", **result["summary"],
                             "histogram": result["histogram"]})
    return result["summary"]


def run_entropy_figure(values: Sequence, summaries: Sequence, labels: Sequence[str], table_out, png, pdf,
                       title: str | None = None) -> pd.DataFrame:
    """Figure 3 and the summary table from per-corpus entropy files (labels 'domain: teacher', same order)."""
    from .entropy import load_values
    from .figures import plot_entropy

    if not len(values) == len(summaries) == len(labels):
        raise ValueError(f"{len(values)} value files, {len(summaries)} summaries and {len(labels)} labels differ")
    rows, corpora = [], {}
    for v, s, label in zip(values, summaries, labels):
        summary = read_json(s)
        domain, _, teacher = label.partition(": ")
        rows.append({"domain": domain, "teacher": teacher,
                     **{k: summary.get(k) for k in ("rows", "tokens", "mean", "median", "p10", "p90",
                                                    "truncated_rows", "max_tokens", "scoring_model")}})
        corpora[label] = load_values(v)
    table = pd.DataFrame(rows)
    _write_tsv(table, table_out)
    plot_entropy(corpora, png, pdf, title=title)
    return table


def _prompts(path, max_prompts: int | None) -> list[str]:
    prompts = [r["prompt"] for r in read_records(path, "problem", allow_empty=False)]
    return prompts[:max_prompts] if max_prompts else prompts


def run_pca_shift(base, trained, problems: Mapping[str, str], distances_out, projections_out, png=None, pdf=None,
                  layers="all", max_prompts: int | None = 100, max_tokens: int = 128, batch_size: int = 4,
                  dtype: str | None = None, plot_layer: int = -1, title: str | None = None,
                  trained_label: str = "trained", method: str = "huan2025", seed: int = 42,
                  pool_padding: bool = True) -> pd.DataFrame:
    """Figure 4 for one trained model: features of both models on each benchmark's prompts, shifts, plots.

    method huan2025 (ded.analysis.pca's docstring): `max_prompts` items drawn at random with `seed`, raw
    text, the first `max_tokens` tokens, every hidden state (embedding output first); otherwise
    (chat_template_decoder_layers) the first `max_prompts` prompts in the chat template, their last
    `max_tokens` tokens, the decoder layers.
    """
    from .figures import plot_pca_shift
    from .pca import (HUAN2025, METHODS, centroid_shift, hidden_features_many, huan_encode, huan_features_many,
                      huan_shift, sample_texts, save_shifts, shift_table)

    if method not in METHODS:
        raise ValueError(f"analysis.pca.method must be one of {list(METHODS)}, got {method!r}")
    if method == HUAN2025:
        prompt_sets = {bench: sample_texts(_prompts(path, None), max_prompts, seed) for bench, path in problems.items()}
    else:
        prompt_sets = {bench: _prompts(path, max_prompts) for bench, path in problems.items()}
    for bench, prompts in prompt_sets.items():
        if len(prompts) < 2:
            raise ValueError(f"benchmark {bench} ({problems[bench]}): {len(prompts)} prompt(s); PCA needs at least 2 "
                             f"(config: analysis.pca.max_prompts)")
    if method == HUAN2025:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(base))  # their L147: the base model's tokenizer for both
        encoded = {bench: huan_encode(tok, texts, max_tokens) for bench, texts in prompt_sets.items()}
        base_f, chosen = huan_features_many(base, encoded, layers, batch_size, pool_padding, dtype=dtype)
        trained_f, chosen_t = huan_features_many(trained, encoded, layers, batch_size, pool_padding, dtype=dtype)
        shift = huan_shift
    else:
        base_f, chosen = hidden_features_many(base, prompt_sets, layers, batch_size, max_tokens, dtype=dtype)
        trained_f, chosen_t = hidden_features_many(trained, prompt_sets, layers, batch_size, max_tokens, dtype=dtype)
        shift = centroid_shift
    if chosen != chosen_t:
        raise ValueError(f"{base} and {trained} have different layer counts ({chosen} vs {chosen_t})")
    shifts = {bench: shift(base_f[bench], trained_f[bench]) for bench in prompt_sets}
    save_shifts(projections_out, shifts, chosen)
    table = shift_table(shifts, chosen)
    _write_tsv(table, distances_out)
    if png or pdf:
        plot_pca_shift(shifts, chosen, plot_layer, png, pdf, title=title, trained_label=trained_label)
    return table


def run_pca_comparison(tables: Sequence, runs: Sequence[str], table_out, png=None, pdf=None,
                       labels: Sequence[str] | None = None, title: str | None = None) -> pd.DataFrame:
    """Figure 4 as the paper draws it: several runs' shift.tsv (`runs` 'student/teacher/corpus', same order)
    in one table and one figure, per benchmark one bar per run (labelled by `labels`, default the teacher)."""
    from .figures import plot_pca_comparison
    from .pca import SHIFT_COLUMNS

    if len(tables) != len(runs):
        raise ValueError(f"{len(tables)} shift tables but {len(runs)} run names")
    labels = list(labels) if labels is not None else [r.split("/")[1] for r in runs]
    if len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels but {len(runs)} runs")
    frames = []
    for path, run, label in zip(tables, runs, labels):
        student, teacher, corpus = run.split("/")
        df = pd.read_csv(path, sep="\t", dtype={"layer": str})
        missing = [c for c in SHIFT_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"{path}: not a shift table of this workflow (no column(s) {missing})")
        frames.append(df[SHIFT_COLUMNS].assign(student=student, teacher=teacher, corpus=corpus, label=label))
    columns = ["student", "teacher", "corpus", "label", *SHIFT_COLUMNS]
    table = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    methods = set(table["method"])
    if len(methods) > 1:
        raise ValueError(f"the shift tables were made by different methods ({sorted(methods)}); rerun them with one "
                         f"analysis.pca.method")
    _write_tsv(table, table_out)
    if png or pdf:
        plot_pca_comparison(table, png, pdf, title=title)
    return table


def run_corpus_stats(corpora: Sequence, runs: Sequence[str], out) -> pd.DataFrame:
    """The corpus-stats table (see ded.analysis.tables) from corpus files and their 'student/teacher/corpus' names."""
    from .tables import CORPUS_STATS_COLUMNS, corpus_stats_row

    if len(corpora) != len(runs):
        raise ValueError(f"{len(corpora)} corpus files but {len(runs)} run names")
    rows = []
    for path, run in zip(corpora, runs):
        student, teacher, corpus = run.split("/")
        rows.append(corpus_stats_row(read_records(path, "corpus_row"), student, teacher, corpus))
    table = pd.DataFrame(rows, columns=list(CORPUS_STATS_COLUMNS))
    _write_tsv(table, out)
    return table


def run_paper_tables(scores, corpus_stats, paths: Mapping[str, Sequence], methods: Sequence[Mapping] = (),
                     settings: Mapping | None = None, in_domain: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """Tables 1-7; `paths` maps table1..table7 to (csv, md, tex) paths (any may be None)."""
    from .tables import paper_tables, read_corpus_stats, read_scores, write_table

    tables = paper_tables(read_scores(scores), read_corpus_stats(corpus_stats), methods, settings, in_domain)
    decimals = (settings or {}).get("decimals", 1)
    for name, df in tables.items():
        if name in paths:
            csv, md, tex = paths[name]
            write_table(df, csv, md, tex, decimals=decimals, caption=CAPTIONS.get(name))
    return tables


CAPTIONS = {
    "table1": "Teacher selection: students distilled on each teacher's smoke-test corpus.",
    "table2": "Comparison with other methods (reported rows are quoted from their papers).",
    "table3": "Math corpus stages: correctness, question compression and diversity.",
    "table4": "Code corpus stages: correctness, question compression and diversity.",
    "table5": "Math-only, code-only and mixed training corpora.",
    "table6": "Out-of-domain benchmarks.",
    "table7": "Length ablation: longest, shortest and diverse (DED) responses.",
}


def run_figure1(scores, corpus_stats, benchmarks: Sequence[str], literature: Sequence[Mapping], png=None, pdf=None,
                points_out=None) -> pd.DataFrame:
    """Figure 1 (one panel per benchmark) and the plotted points as TSV."""
    from .figures import figure1_points, literature_points, plot_figure1
    from .tables import read_corpus_stats, read_scores

    sc, st = read_scores(scores), read_corpus_stats(corpus_stats)
    panels = {b: (figure1_points(sc, st, b), literature_points(literature, b)) for b in benchmarks}
    plot_figure1(panels, png, pdf)
    frames = [df.assign(benchmark=b, origin=origin) for b, (ours, lit) in panels.items()
              for df, origin in ((ours, "this workflow"), (lit, "reported")) if not df.empty]
    points = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["label", "corpus_size", "accuracy", "benchmark", "origin"])
    if points_out:
        _write_tsv(points, points_out)
    return points
