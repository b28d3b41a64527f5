"""Helpers shared by the selection modules."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from ..errors import DedError


class SelectionError(DedError, ValueError):
    """The selection stage's inputs or settings do not fit together; the message names them."""


def kept_ids_by_question(verdicts: Iterable[dict]) -> dict[str, list[int]]:
    """{question_id: sorted sample ids whose verdict keeps them}; one verdict per sample."""
    kept: dict[str, list[int]] = defaultdict(list)
    seen: set[tuple[str, int]] = set()
    for v in verdicts:
        key = (v["question_id"], v["sample_id"])
        if key in seen:
            raise SelectionError(f"two verdicts for question {key[0]!r} sample {key[1]}")
        seen.add(key)
        if v["keep"]:
            kept[v["question_id"]].append(v["sample_id"])
    return {q: sorted(ids) for q, ids in kept.items()}
