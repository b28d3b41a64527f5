"""Brute-force diversity selection the select tests compare against."""

from __future__ import annotations

import itertools

from rapidfuzz.distance import Levenshtein


def brute_force(items, p, measure):
    """Reference: score every subset of sample ids (sorted), return the best set's ids and value.

    `measure` maps a text to what Levenshtein compares (the text, or a token list).
    """
    items = sorted(items)
    seqs = {sid: measure(t) for sid, t in items}
    ids = [sid for sid, _ in items]
    if len(ids) <= p:
        return ids, None
    best, best_value = None, -1.0
    for subset in itertools.combinations(ids, p):
        value = sum(Levenshtein.normalized_distance(seqs[a], seqs[b]) for a, b in itertools.combinations(subset, 2))
        if value > best_value + 1e-9:
            best, best_value = list(subset), value
    return best, best_value

def ids(rows):
    return [(r["question_id"], r["sample_id"]) for r in rows]
