"""`python -m ded analysis ...`: the analyses on files, outside Snakemake."""

from __future__ import annotations

import json
import sys


def _entropy(args):
    from .jobs import run_token_entropy

    summary = run_token_entropy(args.corpus, args.model, args.values_out, args.summary_out, args.problems,
                                args.max_tokens, args.batch_size, args.dtype, args.bins)
    print(json.dumps(summary))


def _entropy_topk(args):
    from ..io import RecordError, iter_numbered
    from .entropy import summarize, topk_entropy

    values = []
    for lineno, rec in iter_numbered(args.samples, "sample"):
        steps = rec.get(args.field)
        if steps is None:
            raise RecordError(args.samples, lineno, args.field,
                              "missing (per generated token, its top-k [token, logprob] pairs; "
                              "the sampler writes it when the teacher's `logprobs` is set)")
        values.append(topk_entropy(steps, args.tail))
    print(json.dumps(summarize(values) | {"method": f"top-k ({args.tail})"}))


def _pca(args):
    from pathlib import Path

    from .jobs import run_pca_shift

    problems = {Path(p).stem: p for p in args.problems}
    layers = "all" if args.layers == "all" else [int(x) for x in args.layers.split(",")]
    table = run_pca_shift(args.base, args.trained, problems, args.distances_out, args.projections_out,
                          args.png, args.pdf, layers, args.max_prompts, args.max_tokens, args.batch_size, args.dtype,
                          method=args.method, seed=args.seed, pool_padding=not args.no_pool_padding)
    print(table.to_string(index=False))


def _tables(args):
    from pathlib import Path

    from ..io import read_json
    from .jobs import run_paper_tables

    out = Path(args.out_dir)
    paths = {f"table{i}": tuple(out / f"table{i}.{ext}" for ext in ("csv", "md", "tex")) for i in range(1, 8)}
    methods = read_json(args.methods) if args.methods else []
    settings = {"benchmarks": args.benchmarks, "ded_corpus": args.ded_corpus}
    for name, df in run_paper_tables(args.scores, args.corpus_stats, paths, methods, settings,
                                     args.benchmarks or ()).items():
        print(f"{name}: {len(df)} rows -> {out / name}.{{csv,md,tex}}", file=sys.stderr)


def _figure1(args):
    from ..io import read_json
    from .jobs import run_figure1

    literature = read_json(args.literature) if args.literature else []
    points = run_figure1(args.scores, args.corpus_stats, args.benchmarks, literature, args.png, args.pdf)
    print(points.to_string(index=False))


def _corpus_stats(args):
    from pathlib import Path

    from .jobs import run_corpus_stats

    runs = [f"{args.student}/{args.teacher}/{Path(p).stem}" for p in args.corpora]
    print(run_corpus_stats(args.corpora, runs, args.out).to_string(index=False))


def add_parser(sub) -> None:
    p = sub.add_parser("analysis", help="token entropy, PCA shift, corpus statistics, the paper's tables and figures")
    a = p.add_subparsers(dest="command", required=True)

    e = a.add_parser("entropy", help="token entropy of a corpus under a scoring model (Figure 3)")
    e.add_argument("--corpus", required=True, help="JSONL of corpus_row records, or sample records with --problems")
    e.add_argument("--problems", help="problem records giving the prompts of sample records")
    e.add_argument("--model", required=True, help="Hugging Face model folder that scores")
    e.add_argument("--values-out", required=True, help=".npz of token-level entropies")
    e.add_argument("--summary-out", required=True, help=".json summary (mean, median, histogram)")
    e.add_argument("--max-tokens", type=int, default=2048, help="response tokens scored per row (default: %(default)s)")
    e.add_argument("--batch-size", type=int, default=4, help="rows per forward pass (default: %(default)s)")
    e.add_argument("--dtype", default="auto",
                   help="model weights' dtype: auto (float32 on CPU, bfloat16 on GPU), float32, bfloat16 or float16 "
                        "(default: %(default)s)")
    e.add_argument("--bins", type=int, default=50, help="bins of the summary's histogram (default: %(default)s)")
    e.set_defaults(func=_entropy)

    k = a.add_parser("entropy-topk", help="approximate entropy from generation-time top-k logprobs")
    k.add_argument("--samples", required=True,
                   help="sample records with top_logprobs (per generated token, [[token, logprob], ...])")
    k.add_argument("--field", default="top_logprobs",
                   help="sample field with the per-token top-k logprobs (default: %(default)s)")
    k.add_argument("--tail", choices=["lumped", "renormalized"], default="lumped",
                   help="mass outside the top k: lumped counts it as one outcome (a lower bound), renormalized "
                        "drops it and rescales the top k (default: %(default)s)")
    k.set_defaults(func=_entropy_topk)

    from ..settings import schema_default
    from .pca import METHODS

    def pca_default(key):  # the workflow's defaults, from the one place they live
        return schema_default(f"analysis.pca.{key}")

    c = a.add_parser("pca", help="PCA centroid shift, base vs trained (Figure 4)")
    c.add_argument("--base", required=True, help="Hugging Face folder of the base model")
    c.add_argument("--trained", required=True, help="Hugging Face folder of the trained model")
    c.add_argument("--problems", nargs="+", required=True, help="benchmark problem files (named by file stem)")
    c.add_argument("--method", choices=METHODS, default=pca_default("method"),
                   help="huan2025: the published method of Huan et al. 2025 (raw text, K random items, the first "
                        "max-tokens tokens, embedding output + every layer, norm of the layer-averaged shift); "
                        "chat_template_decoder_layers: this workflow's earlier variant (default: %(default)s)")
    c.add_argument("--seed", type=int, default=pca_default("seed"),
                   help="seed of huan2025's random draw of items (default: %(default)s)")
    c.add_argument("--no-pool-padding", action="store_true",
                   help="huan2025: average over the text's own tokens, not every padded position")
    c.add_argument("--layers", default="all",
                   help="'all' or comma-separated layers: huan2025 hidden-state indices (0 = embedding output), "
                        "otherwise decoder layers (default: %(default)s)")
    c.add_argument("--max-prompts", type=int, default=pca_default("max_prompts"),
                   help="K items per benchmark: huan2025 draws them at random, the other method takes the first "
                        "(default: %(default)s)")
    c.add_argument("--max-tokens", type=int, default=pca_default("max_tokens"),
                   help="tokens kept of each text: huan2025 its first, the other method its last "
                        "(default: %(default)s)")
    c.add_argument("--batch-size", type=int, default=4, help="prompts per forward pass (default: %(default)s)")
    c.add_argument("--dtype", default="auto",
                   help="model weights' dtype: auto (float32 on CPU, bfloat16 on GPU), float32, bfloat16 or float16 "
                        "(default: %(default)s)")
    c.add_argument("--distances-out", required=True,
                   help="TSV of centroid distances per benchmark and layer to write")
    c.add_argument("--projections-out", required=True,
                   help=".npz of PCA projections and centroids to write")
    c.add_argument("--png", help="Figure 4 as PNG (default: none)")
    c.add_argument("--pdf", help="Figure 4 as PDF (default: none)")
    c.set_defaults(func=_pca)

    t = a.add_parser("tables", help="Tables 1-7 from a scores table")
    t.add_argument("--scores", required=True, help="long-form scores TSV (from `evaluate collect`)")
    t.add_argument("--corpus-stats", help="corpus-stats TSV (from `analysis corpus-stats`)")
    t.add_argument("--methods", help="JSON list of literature rows for Table 2")
    t.add_argument("--benchmarks", nargs="*", help="in-domain benchmark columns, in order")
    t.add_argument("--ded-corpus", default="math-right_hard_diverse",
                   help="corpus whose trained models are the DED rows of Table 2 (default: %(default)s)")
    t.add_argument("--out-dir", required=True, help="folder for table1..table7 as .csv, .md and .tex")
    t.set_defaults(func=_tables)

    f = a.add_parser("figure1", help="accuracy against corpus size (Figure 1)")
    f.add_argument("--scores", required=True, help="long-form scores TSV (from `evaluate collect`)")
    f.add_argument("--corpus-stats", required=True, help="corpus-stats TSV (from `analysis corpus-stats`)")
    f.add_argument("--benchmarks", nargs="+", required=True, help="benchmarks to plot, one panel each")
    f.add_argument("--literature", help="JSON list of {name, corpus_size, aime24, aime25, source}")
    f.add_argument("--png", help="Figure 1 as PNG (default: none)")
    f.add_argument("--pdf", help="Figure 1 as PDF (default: none)")
    f.set_defaults(func=_figure1)

    s = a.add_parser("corpus-stats", help="corpus-stats rows of one student/teacher's corpora (named by file stem)")
    s.add_argument("--student", required=True, help="student name written into each row")
    s.add_argument("--teacher", required=True, help="teacher name written into each row")
    s.add_argument("corpora", nargs="+", help="corpus_row JSONL files, each named by its file stem")
    s.add_argument("--out", required=True, help="corpus-stats TSV to write")
    s.set_defaults(func=_corpus_stats)
