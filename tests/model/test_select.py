"""Selection stage: teacher choice, compression, diversity, corpus variants, the CLI."""


from __future__ import annotations

import itertools
import random

import pytest
from rapidfuzz.distance import Levenshtein

from ded.select.diversity import select_diverse


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


@pytest.mark.slow
def test_tokenizer_unit_equals_brute_force_on_token_ids(smollm2_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    rng = random.Random(3)
    words = ["Let", " me", " compute", " 2+3", "=5", ".", " Wait", ",", " check", " again"]
    for _ in range(20):
        items = [(sid, "".join(rng.choice(words) for _ in range(rng.randint(2, 12)))) for sid in range(6)]
        got = select_diverse(items, 3, unit="token", tokenizer=str(smollm2_dir))
        want, _ = brute_force(items, 3, lambda t: tok.encode(t, add_special_tokens=False))
        assert got == want


def ids(rows):
    return [(r["question_id"], r["sample_id"]) for r in rows]
