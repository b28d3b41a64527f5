"""`python -m ded evaluate ...`: scoring and collecting outside Snakemake.

    python -m ded evaluate score --samples S.jsonl --verdicts V.jsonl --problems P.jsonl \\
        --model base/smol --benchmark arith --pass-k 1 4 --out scores.tsv
    python -m ded evaluate collect results/eval/*/*/scores.tsv --out results/scores.tsv \\
        --summary-md results/scores.md --summary-csv results/scores_summary.csv
    python -m ded evaluate lm-eval-rows results_2026-01-01T00-00-00.json --model base/smol --out ood.tsv
"""

from __future__ import annotations

import argparse

from ..errors import at_least


def _score(args: argparse.Namespace) -> int:
    from ..io import read_index, read_records
    from .metrics import score_benchmark
    from .tables import write_scores

    # Keyed by id, so one question with two different golds is named by its lines rather than scored twice.
    problems = list(read_index(args.problems, "problem", allow_empty=False).values())
    rows = score_benchmark(read_records(args.samples, "sample", allow_empty=False),
                           read_records(args.verdicts, "verdict"), problems,
                           args.model, args.benchmark, pass_k=args.pass_k)
    write_scores(args.out, rows)
    for r in rows:
        print(f"{r['benchmark']}\t{r['metric']}\t{r['value']:.4f}\t(n={r['n']})")
    return 0


def _collect(args: argparse.Namespace) -> int:
    import pandas as pd

    from .metrics import delta_vs_base
    from .tables import collect_scores, scores_frame, write_scores, write_summary

    scores = collect_scores(args.scores)
    if not args.no_deltas:
        deltas = delta_vs_base(scores)
        if deltas:
            scores = pd.concat([scores, scores_frame(deltas)], ignore_index=True)
            scores = scores.sort_values(["model", "benchmark", "metric"], kind="stable").reset_index(drop=True)
    write_scores(args.out, scores)
    if args.summary_md or args.summary_csv:
        write_summary(scores, args.summary_md, args.summary_csv)
    print(f"{len(scores)} score rows from {len(args.scores)} file(s) -> {args.out}")
    return 0


def _lm_eval_rows(args: argparse.Namespace) -> int:
    from .lm_eval_suite import results_file_to_rows
    from .tables import write_scores

    rows = results_file_to_rows(args.results, args.model, args.tasks, args.include_subtasks)
    write_scores(args.out, rows)
    print(f"{len(rows)} score rows -> {args.out}")
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser("evaluate", help="benchmark scores, score tables, lm-eval results")
    stage = parser.add_subparsers(dest="command", required=True)

    p = stage.add_parser("score", help="samples + verdicts + problems -> scores TSV of one model and benchmark")
    p.add_argument("--samples", required=True, help="JSONL of sample records")
    p.add_argument("--verdicts", required=True, help="JSONL of verdict records (keep = correct)")
    p.add_argument("--problems", required=True, help="JSONL of the benchmark's problem records")
    p.add_argument("--model", required=True, help="evaluated model, e.g. base/smol")
    p.add_argument("--benchmark", required=True, help="benchmark name")
    p.add_argument("--pass-k", type=at_least(1), nargs="*", default=[1], help="k values of pass@k (default: 1)")
    p.add_argument("--out", required=True, help="scores TSV to write")
    p.set_defaults(func=_score)

    p = stage.add_parser("collect", help="score TSVs -> long-form table (+ deltas vs base, summaries)")
    p.add_argument("scores", nargs="+", help="score TSVs")
    p.add_argument("--out", required=True, help="long-form scores TSV to write")
    p.add_argument("--summary-md", help="Markdown summary, one table per model")
    p.add_argument("--summary-csv", help="CSV summary, wide: model, benchmark, metrics")
    p.add_argument("--no-deltas", action="store_true", help="leave out delta rows against the base student")
    p.set_defaults(func=_collect)

    p = stage.add_parser("lm-eval-rows", help="an lm-eval results JSON -> score rows")
    p.add_argument("results", help="results_*.json written by lm-eval")
    p.add_argument("--model", required=True, help="evaluated model, e.g. base/smol")
    p.add_argument("--tasks", nargs="*", help="task or group names to keep (default: top-level entries)")
    p.add_argument("--include-subtasks", action="store_true", help="also emit every subtask")
    p.add_argument("--out", required=True, help="scores TSV to write")
    p.set_defaults(func=_lm_eval_rows)
