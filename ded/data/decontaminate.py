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

Boilerplate n-grams are ignored: contest templates ("m and n are relatively
prime positive integers. find m+n.") and instruction lines are not evidence
of a copied question; on s1K against AIME 2024 they alone flag about 70 seeds
under open-r1's rule. Document frequency is counted on each side separately,
and seeds that are near-copies of one another (sharing `NEAR_COPY` of the
shorter one's n-grams, directly or through other copies) count once, so a
question repeated in the seeds looks like one seed, not like a template.
Benchmark problems count as they are (a benchmark holds each question once).
With k = `boilerplate_min_problems`, an n-gram is boilerplate when it occurs in
- k or more benchmark problems (a template of the benchmark), or
- k or more distinct seeds (a template of the seeds), or
- 2 or more benchmark problems and, with the distinct seeds, k in all (a
  template both sides share).
An n-gram of a single benchmark question copied (exactly or lightly edited)
into several seeds is thus kept, and every copy is flagged.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from ..markdown import markdown_table
from ..progress import progress
from .sources import tokens

log = logging.getLogger(__name__)

#: Two problems sharing this fraction of the shorter one's n-grams are copies of one
#: question (re-cased, re-spaced, lightly edited) and count once in document frequency.
NEAR_COPY = 0.5


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
        index = _drop_boilerplate(index, seed_grams, boilerplate_min_problems)

    matches: list[dict] = []
    for s in progress(seeds, desc=f"decontamination against {benchmark_name}", unit="seed", logger=log):
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


def _distinct(ids: list[str], grams: dict[str, set], near: dict[tuple[str, str], bool]) -> int:
    """How many of `ids` remain when near-copies are merged (connected components); `near` caches pairs."""
    parent = {i: i for i in ids}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    count = len(ids)
    for a_pos, a in enumerate(ids):
        for b in ids[a_pos + 1:]:
            ra, rb = root(a), root(b)
            if ra == rb:
                continue
            key = (a, b) if a < b else (b, a)
            if key not in near:
                ga, gb = grams[a], grams[b]
                near[key] = len(ga & gb) >= NEAR_COPY * min(len(ga), len(gb))
            if near[key]:
                parent[ra] = rb
                count -= 1
    return count


def _drop_boilerplate(index: dict[tuple[str, ...], set[str]], seed_grams: dict[str, set],
                      k: int) -> dict[tuple[str, ...], set[str]]:
    """`index` (benchmark n-gram -> benchmark ids) without the boilerplate n-grams (see the module doc)."""
    in_seeds: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for sid, grams in seed_grams.items():
        for g in grams:
            if g in index:
                in_seeds[g].append(sid)
    near: dict[tuple[str, str], bool] = {}
    kept = {}
    for g, ids in index.items():
        sids = in_seeds.get(g, [])
        if not sids:
            kept[g] = ids  # no seed holds it: it can flag nothing, boilerplate or not
            continue
        n_b = len(ids)
        n_s = _distinct(sids, seed_grams, near) if len(sids) > 1 else 1
        if n_b >= k or n_s >= k or (n_b >= 2 and n_b + n_s >= k):
            continue
        kept[g] = ids
    return kept


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
    import pandas as pd

    methods = ("ngram", "exact", "fuzzy")
    counts = pd.DataFrame(
        [{"benchmark": name, "contaminated seeds": len({m["seed_id"] for m in ms}),
          **{k: len({m["seed_id"] for m in ms if m["method"] == k}) for k in methods}}
         for name, ms in sorted(matches_by_benchmark.items())],
        columns=["benchmark", "contaminated seeds", *methods])
    lines = [f"# Decontamination of {domain} seeds", "",
             f"{len(seeds)} seeds; {len(all_bad)} removed; {len(seeds) - len(all_bad)} kept.", "",
             markdown_table(counts, right=["contaminated seeds", *methods])]
    for name, ms in sorted(matches_by_benchmark.items()):
        if not ms:
            continue
        lines += ["", f"## {name}", ""]
        for m in ms:
            seed_text = " ".join(prompts.get(m["seed_id"], "").split())[:160]
            lines.append(f"- `{m['seed_id']}` ~ `{m['benchmark_id']}` ({m['method']}: {m['detail'][:120]}): {seed_text}")
    return "\n".join(lines) + "\n"
