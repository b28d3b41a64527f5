"""`python -m ded data ...`: load seeds or benchmarks, decontaminate, outside Snakemake."""

from __future__ import annotations

import json
import sys

from ..errors import DedError, at_least


def require_path(args, needed: bool, what: str) -> None:
    if needed and not args.path:
        raise DedError(f"{what} reads a file or dataset: give it with --path")


def _load_seeds(args):
    from ..io import dumps
    from .seeds import load_seeds

    require_path(args, args.source != "procedural", f"--source {args.source}")
    spec = {"source": args.source, "n": args.n, "seed": args.seed}
    if args.path:
        spec["path"] = args.path
    records, excluded = load_seeds(args.domain, spec)
    for r in records:
        print(dumps(r))
    for e in excluded:
        print(f"excluded {e['id']}: {e['reason']}", file=sys.stderr)


def _load_benchmark(args):
    from ..io import dumps
    from .benchmarks import load_benchmark_excluded

    require_path(args, not args.loader.startswith("procedural"), f"--loader {args.loader}")
    spec = {"loader": args.loader, "n": args.n, "seed": args.seed, "subset": args.subset, "split": args.split,
            "start_date": args.start_date, "end_date": args.end_date}
    if args.path:
        spec["path"] = args.path
    records, excluded = load_benchmark_excluded(args.name, spec)
    for r in records:
        print(dumps(r))
    for e in excluded:
        print(f"excluded {e['id']}: {e['reason']}", file=sys.stderr)


def _problems(path: str) -> list[dict]:
    """A problem file's records, one per id: matches are reported by id, so an id must name one question."""
    from ..io import read_index

    return list(read_index(path, "problem").values())


def _decontaminate(args):
    from .decontaminate import find_contamination

    seeds = _problems(args.seeds)
    total = set()
    for path in args.benchmarks:
        bench = _problems(path)
        matches = find_contamination(seeds, bench, path, ngram=args.ngram, fuzzy_threshold=args.fuzzy,
                                     boilerplate_min_problems=args.boilerplate_min_problems or None,
                                     min_shared=args.min_shared, min_coverage=args.min_coverage)
        hit = {m["seed_id"] for m in matches}
        total |= hit
        print(json.dumps({"benchmark": path, "contaminated_seeds": len(hit), "matches": len(matches),
                          "by_method": {k: sum(m["method"] == k for m in matches) for k in ("ngram", "exact", "fuzzy")}}))
    print(json.dumps({"seeds": len(seeds), "contaminated": len(total)}))


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="load seed questions and benchmarks, check seeds for benchmark overlap")
    dsub = p.add_subparsers(dest="data_cmd", required=True)

    s = dsub.add_parser("seeds", help="load seed questions and print them as PROBLEM JSONL on stdout")
    s.add_argument("--domain", choices=["math", "code"], required=True, help="domain of the seed questions")
    s.add_argument("--source", choices=["procedural", "s1k", "codeforces"], required=True,
                   help="procedural: generated questions (no file); s1k: s1K-style math; "
                        "codeforces: open-r1/codeforces-style problems")
    s.add_argument("--path", help="local .json/.jsonl/.parquet file or Hugging Face dataset id "
                                  "(required unless --source procedural)")
    s.add_argument("--n", type=at_least(1),
                   help="keep a random N of the questions (default: all; 32 for procedural)")
    s.add_argument("--seed", type=int, default=0,
                   help="random seed of the subsample and of procedural questions (default: %(default)s)")
    s.set_defaults(func=_load_seeds)

    b = dsub.add_parser("benchmark", help="load a benchmark and print it as PROBLEM JSONL on stdout")
    b.add_argument("--name", required=True, help="benchmark name, written into each problem (e.g. aime24)")
    b.add_argument("--loader", required=True,
                   choices=["procedural_math", "procedural_code", "aime", "math500", "gpqa", "livecodebench"],
                   help="reader of the dataset's layout; procedural_* generate held-out problems (no file)")
    b.add_argument("--path", help="local .json/.jsonl/.parquet file or Hugging Face dataset id "
                                  "(required unless the loader is procedural_*)")
    b.add_argument("--subset", help="dataset configuration, when --path is a hub id (livecodebench: the "
                                    "release, e.g. release_v6)")
    b.add_argument("--split", default="test", help="dataset split, when --path is a hub id (default: %(default)s)")
    b.add_argument("--start-date", help="livecodebench: keep contests on or after this day (YYYY-MM-DD)")
    b.add_argument("--end-date", help="livecodebench: keep contests on or before this day (YYYY-MM-DD)")
    b.add_argument("--n", type=at_least(1),
                   help="keep a random N of the problems (default: all; 16 for procedural)")
    b.add_argument("--seed", type=int, default=0,
                   help="random seed of the subsample, of GPQA's option order and of procedural problems "
                        "(default: %(default)s)")
    b.set_defaults(func=_load_benchmark)

    d = dsub.add_parser("decontaminate",
                        help="count seeds that overlap each benchmark; one JSON line per benchmark, then a total")
    d.add_argument("--seeds", required=True, help="PROBLEM JSONL of the seed questions")
    d.add_argument("--benchmarks", nargs="+", required=True, metavar="FILE",
                   help="PROBLEM JSONL of one or more benchmarks")
    d.add_argument("--ngram", type=at_least(1), default=8,
                   help="word n-gram size of the overlap test; shorter questions need an exact match "
                        "(default: %(default)s)")
    d.add_argument("--fuzzy", type=float,
                   help="also count pairs whose rapidfuzz ratio (0-100) reaches this (default: no fuzzy pass)")
    d.add_argument("--min-shared", type=at_least(1), default=3,
                   help="shared n-grams needed for a match (default: %(default)s)")
    d.add_argument("--min-coverage", type=float, default=0.25,
                   help="fraction (0-1) of the shorter question's n-grams that must be shared (default: %(default)s)")
    d.add_argument("--boilerplate-min-problems", type=at_least(0), default=3,
                   help="ignore as boilerplate an n-gram in this many or more benchmark problems or seeds; "
                        "0 keeps every n-gram "
                        "(default: %(default)s)")
    d.set_defaults(func=_decontaminate)
