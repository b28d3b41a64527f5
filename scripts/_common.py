"""Shared start of every script: route logging and stderr to the rule's log."""

from __future__ import annotations

import logging
import sys


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
    return logging.getLogger(f"ded.rule.{snakemake.rule}")
