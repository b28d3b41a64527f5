"""Decontamination of seeds against benchmarks.

A seed is contaminated by a benchmark problem when, after normalisation
(NFKC, lower case, LaTeX spacing commands and `$` dropped, word and symbol
tokens so spacing inside formulas does not matter):
- they share `min_shared` word n-grams or more (n = `ngram`, 8 by default,
  as in open-r1's decontamination; `min_shared` 1 is open-r1's rule, and is
  capped by the n-gram count of the shorter text) and they cover at least
  `min_coverage` of the shorter text's n-grams (one long boilerplate
  sentence shares several overlapping n-grams but covers little), or
- either has fewer than n tokens and the normalised texts are equal, or
- `fuzzy_threshold` is set and rapidfuzz's ratio reaches it.

N-grams that occur in `boilerplate_min_problems` or more distinct problems,
seeds and benchmark counted together, are contest boilerplate ("m and n are
relatively prime positive integers. find m+n."), not evidence of a copied
question, and are ignored: on s1K against AIME 2024 they alone flag about 70
seeds. A copied question still shares n-grams of its own.
"""

from __future__ import annotations

from collections import defaultdict

from .sources import tokens


def ngrams(toks: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def find_contamination(seeds: list[dict], benchmark: list[dict], benchmark_name: str, ngram: int = 8,
                       fuzzy_threshold: float | None = None, boilerplate_min_problems: int | None = 3,
                       min_shared: int = 3, min_coverage: float = 0.25) -> list[dict]:
    """CONTAMINATION records: one per (seed, benchmark problem, method) match."""
    index: dict[tuple[str, ...], set[str]] = defaultdict(set)
    short: dict[str, list[str]] = defaultdict(list)
    bench_tokens = {}
    for b in benchmark:
        toks = tokens(b["prompt"])
        bench_tokens[b["id"]] = toks
        for g in ngrams(toks, ngram):
            index[g].add(b["id"])
        short[" ".join(toks)].append(b["id"])
    seed_grams = {s["id"]: ngrams(tokens(s["prompt"]), ngram) for s in seeds}
    if boilerplate_min_problems:
        df: dict[tuple[str, ...], int] = defaultdict(int)
        for grams in seed_grams.values():
            for g in grams:
                if g in index:
                    df[g] += 1
        index = {g: ids for g, ids in index.items() if len(ids) + df[g] < boilerplate_min_problems}

    matches: list[dict] = []
    for s in seeds:
        toks = tokens(s["prompt"])
        shared: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for g in seed_grams[s["id"]]:
            for bid in index.get(g, ()):
                shared[bid].append(g)
        hits = set()
        for bid, grams in sorted(shared.items()):
            shorter = min(len(seed_grams[s["id"]]), len(ngrams(bench_tokens[bid], ngram)))
            need = max(1, min(min_shared, shorter))
            if len(grams) >= need and len(grams) >= min_coverage * shorter:
                hits.add(bid)
                matches.append({"seed_id": s["id"], "benchmark": benchmark_name, "benchmark_id": bid,
                                "method": "ngram",
                                "detail": f"{len(grams)} of {shorter} {ngram}-grams shared, e.g. {' '.join(min(grams))}"})
        key = " ".join(toks)
        for bid in short.get(key, ()):
            if bid not in hits and (len(toks) < ngram or len(bench_tokens[bid]) < ngram):
                matches.append({"seed_id": s["id"], "benchmark": benchmark_name, "benchmark_id": bid,
                                "method": "exact", "detail": "normalised texts are equal"})
    if fuzzy_threshold is not None:
        matches += _fuzzy(seeds, benchmark, benchmark_name, fuzzy_threshold,
                          {(m["seed_id"], m["benchmark_id"]) for m in matches})
    return matches


def _fuzzy(seeds, benchmark, name, threshold, already) -> list[dict]:
    from rapidfuzz import fuzz, process

    seed_texts = [" ".join(tokens(s["prompt"])) for s in seeds]
    bench_texts = [" ".join(tokens(b["prompt"])) for b in benchmark]
    scores = process.cdist(seed_texts, bench_texts, scorer=fuzz.ratio, score_cutoff=threshold, workers=-1)
    out = []
    for i, j in zip(*scores.nonzero()):
        pair = (seeds[i]["id"], benchmark[j]["id"])
        if pair not in already:
            out.append({"seed_id": pair[0], "benchmark": name, "benchmark_id": pair[1], "method": "fuzzy",
                        "detail": f"ratio {scores[i, j]:.1f} >= {threshold}"})
    return out


def remove_contaminated(seeds: list[dict], matches: list[dict]) -> list[dict]:
    bad = {m["seed_id"] for m in matches}
    return [s for s in seeds if s["id"] not in bad]


def report_markdown(domain: str, seeds: list[dict], matches_by_benchmark: dict[str, list[dict]]) -> str:
    """Counts per benchmark and every matched pair, for people to audit."""
    prompts = {s["id"]: s["prompt"] for s in seeds}
    all_bad = {m["seed_id"] for ms in matches_by_benchmark.values() for m in ms}
    lines = [f"# Decontamination of {domain} seeds", "",
             f"{len(seeds)} seeds; {len(all_bad)} removed; {len(seeds) - len(all_bad)} kept.", "",
             "| benchmark | contaminated seeds | ngram | exact | fuzzy |", "| --- | --- | --- | --- | --- |"]
    for name, ms in sorted(matches_by_benchmark.items()):
        by = {k: len({m['seed_id'] for m in ms if m['method'] == k}) for k in ("ngram", "exact", "fuzzy")}
        lines.append(f"| {name} | {len({m['seed_id'] for m in ms})} | {by['ngram']} | {by['exact']} | {by['fuzzy']} |")
    for name, ms in sorted(matches_by_benchmark.items()):
        if not ms:
            continue
        lines += ["", f"## {name}", ""]
        for m in ms:
            seed_text = " ".join(prompts.get(m["seed_id"], "").split())[:160]
            lines.append(f"- `{m['seed_id']}` ~ `{m['benchmark_id']}` ({m['method']}: {m['detail'][:120]}): {seed_text}")
    return "\n".join(lines) + "\n"
