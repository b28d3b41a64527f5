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
    from .benchmarks import load_benchmark

    require_path(args, not args.loader.startswith("procedural"), f"--loader {args.loader}")
    spec = {"loader": args.loader, "n": args.n, "seed": args.seed, "subset": args.subset, "split": args.split}
    if args.path:
        spec["path"] = args.path
    for r in load_benchmark(args.name, spec):
        print(dumps(r))


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
    p = sub.add_parser("data", help="seeds, benchmarks, decontamination")
    dsub = p.add_subparsers(dest="data_cmd", required=True)

    s = dsub.add_parser("seeds", help="load seeds and print PROBLEM JSONL")
    s.add_argument("--domain", choices=["math", "code"], required=True)
    s.add_argument("--source", choices=["procedural", "s1k", "codeforces"], required=True)
    s.add_argument("--path")
    s.add_argument("--n", type=at_least(1))
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_load_seeds)

    b = dsub.add_parser("benchmark", help="load a benchmark and print PROBLEM JSONL")
    b.add_argument("--name", required=True)
    b.add_argument("--loader", required=True,
                   choices=["procedural_math", "procedural_code", "aime", "math500", "gpqa", "livecodebench"])
    b.add_argument("--path")
    b.add_argument("--subset")
    b.add_argument("--split", default="test")
    b.add_argument("--n", type=at_least(1))
    b.add_argument("--seed", type=int, default=0)
    b.set_defaults(func=_load_benchmark)

    d = dsub.add_parser("decontaminate", help="count seeds matching each benchmark")
    d.add_argument("--seeds", required=True)
    d.add_argument("--benchmarks", nargs="+", required=True)
    d.add_argument("--ngram", type=at_least(1), default=8)
    d.add_argument("--fuzzy", type=float, help="decontamination.fuzzy_threshold")
    d.add_argument("--min-shared", type=at_least(1), default=3)
    d.add_argument("--min-coverage", type=float, default=0.25)
    d.add_argument("--boilerplate-min-problems", type=at_least(0), default=3, help="0 keeps every n-gram")
    d.set_defaults(func=_decontaminate)
