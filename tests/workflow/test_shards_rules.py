"""Sharded sampling (ded/sample/shards.py): the split, the merge, and a sharded run byte for byte an unsharded one.

sampling.shards, compression.shards and evaluation.shards split each sampling job into that many jobs of
the same rule (the {shard} wildcard), which a gather rule merges into the declared output.
"""


from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from support.workflow import copy_workflow, snakemake, succeeded

from ded.io import read_records


def _config(model_dir: Path, shards: int) -> dict:
    return {
        "models": {"tiny": {"source": {"path": str(model_dir)}}},
        "students": {"s": {"model": "tiny"}},
        "teachers": {"t": {"model": "tiny", "max_tokens": 6, "top_p": 1.0}},
        "seeds": {"math": {"source": "procedural", "n": 5, "seed": 1}},
        "benchmarks": {"arith": {"loader": "procedural_math", "n": 3, "seed": 101, "samples": 2,
                                 "max_tokens": 6}},
        # One row per batch: a shard's batches hold other rows than the whole job's, and on a CPU a row
        # left-padded to another width can come out different in the last bits, which a random tiny
        # model's flat distribution turns into another token (found with the seeds of the new math
        # families). What is checked here is the split and the merge.
        "sampling": {"samples_per_question": 2, "batch_size": 1, "seed": 0, "shards": shards},
        "compression": {"samples": 2, "max_tokens": 6, "batch_size": 1, "shards": shards},
        "evaluation": {"shards": shards, "batch_size": 1},
        "diversity": {"trajectories_per_question": 1},
    }


TARGETS = ("results/samples/t/math.jsonl", "results/passrate/s/math/samples.jsonl",
           "results/eval/base/s/arith/samples.jsonl")


def _snakemake(wf: Path, *targets: str) -> subprocess.CompletedProcess:
    return succeeded(snakemake(wf, *targets, cores=2, configfile="cfg.yaml"))


@pytest.mark.slow
def test_sharded_rules_write_what_unsharded_rules_write(tmp_path, tiny_llama_dir):
    """The three sampling rules unsharded, then in 2 shards (the 5 seed questions split 3 + 2) in the same
    folder (the data and model stay; the shards sample afresh, into progress files of their own): the same
    bytes. Then a shard killed part-way resumes from its own progress."""
    wf = copy_workflow(tmp_path)
    outputs = {}
    for n in (1, 2):
        (wf / "cfg.yaml").write_text(yaml.safe_dump(_config(tiny_llama_dir, n)))
        proc = _snakemake(wf, *TARGETS)
        outputs[n] = {t: (wf / t).read_bytes() for t in TARGETS}
        if n == 1:
            assert "gather_" not in proc.stdout + proc.stderr
            for t in TARGETS:
                (wf / t).unlink()
    for target in TARGETS:
        assert outputs[1][target] and outputs[2][target] == outputs[1][target], target
    assert not (wf / "results/samples/t/math.shards/1-of-2.jsonl").exists()  # temp(): gone once merged
    seeds = [p["id"] for p in read_records(wf / "results/data/seeds/math.jsonl", "problem")]
    samples = read_records(wf / "results/samples/t/math.jsonl", "sample")
    assert [(r["question_id"], r["sample_id"]) for r in samples] == [(q, s) for q in seeds for s in range(2)]

    # shard 2 (questions 2 and 4, 4 pairs) killed part-way: two pairs lost, the last line torn
    progress = wf / "results/.progress/samples/t/math.shards/2-of-2.jsonl"
    lines = progress.read_text().splitlines(keepends=True)
    assert len(lines) == 4
    progress.write_text("".join(lines[:2]) + lines[2][:20])
    (wf / TARGETS[0]).unlink()
    _snakemake(wf, TARGETS[0])
    assert (wf / TARGETS[0]).read_bytes() == outputs[1][TARGETS[0]]
    logs = wf / "logs/sample_teacher/t/math.shards"
    assert "2 of 4 (question, sample) pairs to sample" in (logs / "2-of-2.log").read_text()
    assert "0 of 6 (question, sample) pairs to sample" in (logs / "1-of-2.log").read_text()
