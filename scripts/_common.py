"""Shared start of every script: route logging and stderr to the rule's log."""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
from pathlib import Path


def setup(snakemake) -> logging.Logger:
    log_path = snakemake.log[0] if len(snakemake.log) else None
    if log_path:
        stream = open(log_path, "a", buffering=1, encoding="utf-8")
        sys.stderr = stream
    else:
        stream = sys.stderr
    logging.basicConfig(level=logging.INFO, stream=stream, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.path.insert(0, snakemake.scriptdir + "/..")
    log = logging.getLogger(f"ded.rule.{snakemake.rule}")
    sys.excepthook = _named_failure(log, sys.excepthook)
    _claim_gpus(snakemake, log)
    if log_path:
        atexit.register(_write_provenance, snakemake, Path(log_path).with_suffix(".provenance.json"), log)
    return log


def _claim_gpus(snakemake, log: logging.Logger) -> None:
    """On one machine without SLURM, the distinct devices of the job's `gpu` resource (ded/gpus.py),
    before anything imports torch; a job that cannot get them stops with one line in its log (GpuClaimError,
    reported by the excepthook above)."""
    gpus = int(snakemake.resources.get("gpu", 0) or 0)
    if gpus > 0:
        from ded.gpus import claim_for_job

        claim_for_job(gpus, log)


def _write_provenance(snakemake, path: Path, log: logging.Logger) -> None:
    """The job's provenance (ded/provenance.py) beside its log, at exit, so it lists every model and
    dataset the job read; a failed job keeps one too."""
    try:
        from ded.io import atomic_path
        from ded.provenance import job_allocation, job_provenance

        allocation = job_allocation(os.environ, dict(snakemake.resources.items()))
        record = job_provenance(snakemake.rule, dict(snakemake.wildcards.items()), dict(snakemake.params.items()),
                                allocation)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - provenance must never turn a finished job into a failed one
        log.warning("could not write %s: %s", path, exc)


def _named_failure(log: logging.Logger, fallback):
    """An excepthook that reports an expected failure (a bad record, a refused sandbox) as one line
    in the log, as `python -m ded` does; anything else is a bug and keeps its traceback."""

    def hook(kind, exc, tb):
        from ded.errors import describe

        message = describe(exc)
        if message is None:
            fallback(kind, exc, tb)
        else:
            log.error("%s", message)  # the interpreter still exits with status 1

    return hook


def write_timings(snakemake, timings: list[dict], log: logging.Logger) -> None:
    """Measured times beside the rule's log (`<log>.timing.jsonl`), never in a declared output, so that
    outputs stay byte-identical between runs; nothing is written when the rule has no log."""
    if not timings or not len(snakemake.log):
        return
    from ded.io import write_records

    path = Path(snakemake.log[0]).with_suffix(".timing.jsonl")
    write_records(path, timings)
    log.info("per-program times in %s", path)
