"""Diversity: keep the P most diverse verified trajectories of each question.

Distance: rapidfuzz's normalised Levenshtein distance (edit distance divided
by the longer length, so 0 for identical and 1 for nothing in common), over
one of two units:

- ``char``: the texts as they are (the paper's wording, "Levenshtein
  distance"). About 40 ms a pair for 40,000-character traces on one core.
- ``token``: token sequences, either a tokenizer's ids (``tokenizer`` names
  a Hugging Face tokenizer folder or hub id) or, with no tokenizer, word and
  punctuation tokens from ``WORD_PATTERN``. Several times faster (an
  edit-distance row is a token, not a character), and one edit of a word
  counts once whatever its length, so long texts that reword the same steps
  are not pushed apart by spelling alone. The default.

Objective: the chosen set S maximises the sum of pairwise distances
sum_{i<j in S} d(i, j) (a max-sum dispersion problem).

- Exact when C(n, P) <= ``exact_limit``: every P-subset is scored, in
  lexicographic order of sorted sample ids, and the first best wins; a later
  subset replaces the best only if it beats it by more than ``TIE_EPS``, so
  float noise never decides a tie and ties go to the smallest sample ids.
- Otherwise greedy farthest-point: start from the pair with the largest
  distance (ties: the smallest pair of sample ids), then repeatedly add the
  item whose sum of distances to the chosen set is largest (ties: the
  smallest sample id). Max-sum dispersion is NP-hard in general; this is
  the standard 2-approximation-style heuristic and what the exact search is
  compared against in the tests.

P = 1 has objective 0 for every choice: the smallest sample id is kept (the
same trajectory the `right` corpus keeps). With n <= P every trajectory is
kept.

Work is spread over processes by question (a chunked map), because one
question's distances are independent of every other's.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Hashable, Iterable, Mapping, Sequence

from rapidfuzz.distance import Levenshtein

from ..progress import progress
from ..settings import schema_default
from .common import SelectionError

log = logging.getLogger(__name__)

UNITS = ("char", "token")
#: diversity.exact_limit's default (config/schema.yaml), for callers outside the workflow.
DEFAULT_EXACT_LIMIT = schema_default("diversity.exact_limit")
#: Word tokens when no tokenizer is given: runs of word characters, and every
#: other non-space character on its own (operators, brackets, punctuation).
WORD_PATTERN = r"\w+|[^\w\s]"
#: Objectives closer than this are ties (sums of up to C(P, 2) floats in [0, 1]).
TIE_EPS = 1e-9

Item = tuple[int, str]  # (sample_id, text)


# --------------------------------------------------------------------------
# units


def word_tokens(text: str, pattern: str = WORD_PATTERN) -> list[str]:
    return re.findall(pattern, text)


def _as_code_points(seqs: Sequence[Sequence[Hashable]]) -> list[str]:
    """Map tokens to code points, one private alphabet per question.

    Levenshtein only compares tokens for equality, so any injective map keeps
    every distance; strings are rapidfuzz's fastest input (no per-call
    hashing of a Python list). Surrogate code points are skipped so the
    strings stay valid.
    """
    vocab: dict[Hashable, int] = {}
    add = vocab.setdefault
    out = []
    for seq in seqs:
        # setdefault(tok, len(vocab)): an existing id, or the next one.
        ids = [add(tok, len(vocab)) for tok in seq]
        if len(vocab) > 0xD800:  # rare: step over the surrogate block
            if len(vocab) + 0x800 > 0x10FFFF:
                raise SelectionError(f"more than {0x10FFFF - 0x800} distinct tokens in one question")
            ids = [i if i < 0xD800 else i + 0x800 for i in ids]
        out.append("".join(map(chr, ids)))
    return out


_TOKENIZERS: dict[str, Callable[[str], list[int]]] = {}


def load_tokenizer(name: str) -> Callable[[str], list[int]]:
    """A Hugging Face tokenizer's encode (no special tokens), cached per process."""
    if name not in _TOKENIZERS:
        from transformers import AutoTokenizer  # heavy: only when a tokenizer is asked for

        tok = AutoTokenizer.from_pretrained(name)
        _TOKENIZERS[name] = lambda text: tok.encode(text, add_special_tokens=False)
    return _TOKENIZERS[name]


def unit_sequences(texts: Sequence[str], unit: str = "token", tokenizer: str | None = None) -> list[str]:
    """The sequences distances are measured on, as strings (see `_as_code_points`)."""
    if unit == "char":
        return list(texts)
    if unit != "token":
        raise SelectionError(f"diversity.unit must be one of {list(UNITS)}, got {unit!r}")
    encode = load_tokenizer(tokenizer) if tokenizer else word_tokens
    return _as_code_points([encode(t) for t in texts])


# --------------------------------------------------------------------------
# one question


def distance_matrix(seqs: Sequence[str]) -> list[list[float]]:
    n = len(seqs)
    d = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            d[i][j] = d[j][i] = Levenshtein.normalized_distance(seqs[i], seqs[j])
    return d


def dispersion(d: Sequence[Sequence[float]], chosen: Iterable[int]) -> float:
    """Sum of pairwise distances of the chosen indices (the objective)."""
    chosen = list(chosen)
    return sum(d[i][j] for a, i in enumerate(chosen) for j in chosen[a + 1:])


def exact_choice(d: Sequence[Sequence[float]], p: int) -> list[int]:
    """Indices of the best P-subset; ties go to the lexicographically first subset."""
    best, best_value = None, -math.inf
    for subset in itertools.combinations(range(len(d)), p):
        value = dispersion(d, subset)
        if value > best_value + TIE_EPS:
            best, best_value = subset, value
    return list(best)


def greedy_choice(d: Sequence[Sequence[float]], p: int) -> list[int]:
    """Farthest-point heuristic: the farthest pair, then the item farthest (in sum) from the chosen set.

    Indices follow sample-id order, so "smallest index" is "smallest sample
    id"; values within TIE_EPS of the best are ties (sums gathered in
    different orders differ by float noise).
    """
    n = len(d)
    if p == 1:
        return [0]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    far = max(d[i][j] for i, j in pairs)
    chosen = list(min(ij for ij in pairs if d[ij[0]][ij[1]] >= far - TIE_EPS))
    total = [d[k][chosen[0]] + d[k][chosen[1]] for k in range(n)]
    while len(chosen) < p:
        candidates = [k for k in range(n) if k not in chosen]
        best = max(total[k] for k in candidates)
        k = min(k for k in candidates if total[k] >= best - TIE_EPS)
        chosen.append(k)
        for m in range(n):
            total[m] += d[m][k]
    return sorted(chosen)


def use_exact(n: int, p: int, exact_limit: int = DEFAULT_EXACT_LIMIT) -> bool:
    return math.comb(n, p) <= exact_limit


def select_diverse(items: Sequence[Item], p: int, unit: str = "token", exact_limit: int = DEFAULT_EXACT_LIMIT,
                   tokenizer: str | None = None) -> list[int]:
    """Sample ids of the P most diverse of one question's trajectories, in increasing order.

    `items` are (sample_id, text) pairs; sample ids must be distinct.
    """
    if p < 1:
        raise SelectionError(f"diversity.trajectories_per_question (P) must be at least 1, got {p}")
    items = sorted(items, key=lambda it: it[0])
    ids = [sid for sid, _ in items]
    if len(set(ids)) != len(ids):
        dup = sorted({s for s in ids if ids.count(s) > 1})
        raise SelectionError(f"duplicate sample_id(s) {dup} among one question's trajectories")
    if len(items) <= p:
        return ids
    if p == 1:
        return ids[:1]
    d = distance_matrix(unit_sequences([t for _, t in items], unit, tokenizer))
    pick = exact_choice(d, p) if use_exact(len(items), p, exact_limit) else greedy_choice(d, p)
    return [ids[i] for i in pick]


# --------------------------------------------------------------------------
# many questions, over processes


def _select_chunk(args) -> list[tuple[str, list[int]]]:
    chunk, p, unit, exact_limit, tokenizer = args
    return [(qid, select_diverse(items, p, unit, exact_limit, tokenizer)) for qid, items in chunk]


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def chunked(seq: Sequence, size: int) -> list[Sequence]:
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def select_diverse_many(groups: Mapping[str, Sequence[Item]], p: int, unit: str = "token",
                        exact_limit: int = DEFAULT_EXACT_LIMIT, tokenizer: str | None = None,
                        workers: int | None = None, chunksize: int | None = None) -> dict[str, list[int]]:
    """{question_id: chosen sample ids} for every question in `groups`, in the order of `groups`.

    `workers` processes (default: the CPUs this process may use); 1 runs in
    this process. Questions go to workers in chunks of `chunksize` (default:
    about four chunks per worker, so a slow chunk does not leave a core idle
    at the end while keeping the per-task overhead small).
    """
    if unit not in UNITS:
        raise SelectionError(f"diversity.unit must be one of {list(UNITS)}, got {unit!r}")
    work = list(groups.items())
    workers = default_workers() if workers is None else max(1, workers)
    workers = min(workers, max(1, len(work)))
    if chunksize is None:
        chunksize = max(1, math.ceil(len(work) / (workers * 4)))
    tasks = [(chunk, p, unit, exact_limit, tokenizer) for chunk in chunked(work, chunksize)]

    def collect(results: Iterable[list[tuple[str, list[int]]]]) -> dict[str, list[int]]:
        chosen: dict[str, list[int]] = {}
        with progress(total=len(work), desc="diversity", unit="question", logger=log) as bar:
            for chunk in results:
                chosen.update(chunk)
                bar.update(len(chunk))
        return chosen

    if workers == 1:
        return collect(map(_select_chunk, tasks))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return collect(pool.map(_select_chunk, tasks))
