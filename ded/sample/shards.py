"""Sharded sampling: which questions a shard answers, where it writes, and the merge of the shards.

A sampling job (teacher sampling, the student's pass-rate sampling, an evaluation's generations) split
into `n` shards runs as `n` jobs of the same rule, told apart by the `{shard}` wildcard, `k-of-n` with
k counted from 1 (as Snakemake's own scatter items are). Shard k answers the questions whose 0-based
index in the problems file is congruent to k-1 modulo n (round robin: seed and benchmark files are often
grouped by source or difficulty, so contiguous ranges would give one shard the long answers). Each shard
is a resumable job of its own, with its own progress file (`shard_path` of the unsharded one), and
writes its records in question order, then sample order, like an unsharded job.

The merge (`merge_lines`) walks the problems in file order and takes each question's records from its
shard, so it writes every record, in the unsharded order, as the very bytes the shard wrote. Since a
(question, sample) pair's seed depends only on the base seed, the question id and the sample id
(ded.sample.base.sample_seed), a pair draws the same whichever questions share its job, and the merged
file is byte-identical to an unsharded run's, up to the rounding of batched kernels that a resumed job
already accepts: a GPU's, and a CPU's when a prompt is left-padded to another width than in the unsharded
batch (the last bits can change a sampled token; with batch_size 1 the bytes match on a CPU).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Iterator, Sequence, TypeVar

from ..errors import DedError

T = TypeVar("T")

#: The `{shard}` wildcard's values: "k-of-n", 1 <= k <= n.
SHARD_PATTERN = r"[1-9][0-9]*-of-[1-9][0-9]*"


class ShardError(DedError, ValueError):
    """A shard name out of range, or shard files that do not merge into the problems' order."""


def shard_name(k: int, n: int) -> str:
    """'k-of-n'."""
    if not 1 <= k <= n:
        raise ShardError(f"shard {k} of {n}: k must be between 1 and {n}")
    return f"{k}-of-{n}"


def shard_names(n: int) -> list[str]:
    """Every shard of an n-way split, in merge order: ['1-of-n', ..., 'n-of-n']."""
    if n < 1:
        raise ShardError(f"shards must be at least 1, not {n}")
    return [shard_name(k, n) for k in range(1, n + 1)]


def parse_shard(name: str) -> tuple[int, int]:
    """(k, n) of 'k-of-n'."""
    m = re.fullmatch(r"(\d+)-of-(\d+)", str(name))
    if not m:
        raise ShardError(f"shard {name!r} is not of the form k-of-n")
    k, n = int(m.group(1)), int(m.group(2))
    shard_name(k, n)  # range check
    return k, n


def shard_of(index: int, n: int) -> int:
    """The shard k (from 1) that answers the question at 0-based `index` of an n-way split."""
    return index % n + 1


def take_shard(items: Sequence[T], shard: str | None) -> list[T]:
    """The items shard `shard` ('k-of-n') answers, in their order; all of them when `shard` is None."""
    if shard is None:
        return list(items)
    k, n = parse_shard(shard)
    return [item for i, item in enumerate(items) if shard_of(i, n) == k]


def shard_path(pattern: str) -> str:
    """The per-shard file of an output, log or progress path: 'a/{x}.jsonl' -> 'a/{x}.shards/{shard}.jsonl'."""
    path = Path(pattern)
    if not path.suffix:
        raise ShardError(f"{pattern}: a sharded path needs an extension")
    return str(path.with_name(f"{path.stem}.shards") / f"{{shard}}{path.suffix}")


def _question_id(line: str, where: str) -> str:
    try:
        return json.loads(line)["question_id"]
    except (ValueError, KeyError, TypeError) as e:
        raise ShardError(f"{where}: not a sample record ({e})") from None


def merge_lines(question_ids: Sequence[str], shards: Sequence[Iterable[str]],
                names: Sequence[str] | None = None) -> Iterator[str]:
    """The records (JSONL lines) of the n shards of `question_ids`, in the unsharded order.

    `shards[k-1]` holds shard k's lines: its questions in order, each question's records together (none
    for a question whose every pair was left out). Lines pass through unchanged. Streams: one line per
    shard is held at a time. Raises ShardError when a shard holds a record of a question that is not
    its own, or not in order.
    """
    n = len(shards)
    if n < 1:
        raise ShardError("nothing to merge: no shards")
    names = list(names or shard_names(n))
    iters = [iter(s) for s in shards]
    heads: list[tuple[str, str] | None] = [None] * n
    lineno = [0] * n

    def head(k: int) -> tuple[str, str] | None:
        if heads[k] is None:
            line = next(iters[k], None)
            if line is not None:
                lineno[k] += 1
                heads[k] = (_question_id(line, f"{names[k]}, line {lineno[k]}"), line)
        return heads[k]

    for i, qid in enumerate(question_ids):
        k = shard_of(i, n) - 1
        while (h := head(k)) is not None and h[0] == qid:
            heads[k] = None
            yield h[1] if h[1].endswith("\n") else h[1] + "\n"
    for k in range(n):
        if (h := head(k)) is not None:
            raise ShardError(f"{names[k]}, line {lineno[k]}: a record of question {h[0]!r}, which is not this "
                             f"shard's next question (shards are merged in the order of the problems file)")


def merge_shard_files(question_ids: Sequence[str], shard_files: Sequence[str | Path], out_path: str | Path) -> int:
    """Merge the shard files (in shard order, 1..n) of `question_ids` into `out_path`, atomically.

    Returns the number of records written.
    """
    from ..io import atomic_path

    handles = [open(p, encoding="utf-8") for p in shard_files]
    written = 0
    try:
        with atomic_path(out_path) as tmp, open(tmp, "w", encoding="utf-8") as out:
            for line in merge_lines(question_ids, handles, [str(p) for p in shard_files]):
                out.write(line)
                written += 1
    finally:
        for h in handles:
            h.close()
    return written
