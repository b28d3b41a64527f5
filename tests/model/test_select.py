"""Selection stage: teacher choice, compression, diversity, corpus variants, the CLI."""


from __future__ import annotations

import random

import pytest
from support.diversity import brute_force

from ded.select.diversity import select_diverse


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


