# Config access, wildcard constraints, path patterns and input functions.
# No rules here.

import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from ded.config import check_references

check_references(config)

PATHS = dict(
    model="resources/models/{model}",
    seeds_raw="results/data/seeds_raw/{domain}.jsonl",
    benchmark="results/data/benchmarks/{benchmark}.jsonl",
    contamination="results/data/decontamination/{domain}/{benchmark}.jsonl",
    seeds="results/data/seeds/{domain}.jsonl",
    decontamination_report="results/data/decontamination/{domain}.md",
)


wildcard_constraints:
    model="[A-Za-z0-9_.-]+",
    domain="|".join(config["seeds"]),
    benchmark="|".join(config["benchmarks"]),


def materialized_models():
    return [m for m, spec in config["models"].items() if spec.get("materialize", True)]


def data_targets():
    return expand(PATHS["seeds"], domain=config["seeds"]) + expand(
        PATHS["decontamination_report"], domain=config["seeds"]
    ) + expand(PATHS["model"], model=materialized_models())


def all_targets(wildcards):
    return data_targets()
