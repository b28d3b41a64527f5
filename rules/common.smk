# Config access, wildcard constraints, path patterns and input functions.
# No rules here.

import json
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
    warmstart_corpus="results/teachers/{teacher}/warmstart.jsonl",
    teacher_model="results/teachers/{teacher}/model",
    samples="results/samples/{teacher}/{domain}.jsonl",
    verdicts="results/filter/{teacher}/{domain}/verdicts.jsonl",
    filter_summary="results/filter/{teacher}/{domain}/summary.tsv",
    kept="results/filter/{teacher}/{domain}/kept.jsonl",
    smoke_corpus="results/smoke/{student}/{teacher}/corpus.jsonl",
    smoke_model="results/smoke/{student}/{teacher}/model",
    selection="results/selection/{student}/teacher.json",
    student_samples="results/passrate/{student}/{domain}/samples.jsonl",
    student_verdicts="results/passrate/{student}/{domain}/verdicts.jsonl",
    pass_rates="results/passrate/{student}/{domain}.jsonl",
    corpus="results/corpus/{student}/{teacher}/{corpus}.jsonl",
    trained_model="results/train/{student}/{teacher}/{corpus}/model",
    eval_samples="results/eval/{model}/{benchmark}/samples.jsonl",
    eval_verdicts="results/eval/{model}/{benchmark}/verdicts.jsonl",
    eval_scores="results/eval/{model}/{benchmark}/scores.tsv",
    scores="results/scores.tsv",
)


wildcard_constraints:
    domain="|".join(config["seeds"]),
    benchmark="|".join(config["benchmarks"]),
    teacher="|".join(config["teachers"]),
    student="|".join(config["students"]),


def materialized_models():
    return [m for m, spec in config["models"].items() if spec.get("materialize", True)]


def base_model_dir(model):
    """Folder of a base model, or [] for a model reached only through an API."""
    if not config["models"][model].get("materialize", True):
        return []
    return PATHS["model"].format(model=model)


def teacher_model_dir(teacher):
    spec = config["teachers"][teacher]
    if spec.get("warm_start"):
        return PATHS["teacher_model"].format(teacher=teacher)
    return base_model_dir(spec["model"])


def student_model_dir(student):
    return base_model_dir(config["students"][student]["model"])


def eval_model_dir(model):
    """Model folder behind an evaluation path fragment (see docs/layout.md)."""
    kind, *parts = model.split("/")
    if kind == "base":
        return student_model_dir(parts[0])
    if kind == "teacher":
        return teacher_model_dir(parts[0])
    if kind == "smoke":
        return PATHS["smoke_model"].format(student=parts[0], teacher=parts[1])
    if kind == "trained":
        return PATHS["trained_model"].format(student=parts[0], teacher=parts[1], corpus=parts[2])
    raise ValueError(f"unknown evaluated model '{model}'")


BENCHMARK_SOURCE_KEYS = ("loader", "path", "subset", "split", "n", "seed")


def benchmark_source(benchmark):
    spec = config["benchmarks"][benchmark]
    return {k: v for k, v in spec.items() if k in BENCHMARK_SOURCE_KEYS}


def data_targets():
    return (
        expand(PATHS["seeds"], domain=config["seeds"])
        + expand(PATHS["decontamination_report"], domain=config["seeds"])
        + expand(PATHS["model"], model=materialized_models())
    )


def eval_targets():
    """Scores of every evaluated model on every benchmark (and its out-of-domain suite)."""
    from ded.evaluate.plan import evaluated_models

    models = evaluated_models(config)
    paths = expand(PATHS["eval_scores"], model=models, benchmark=config["benchmarks"])
    if config["evaluation"]["out_of_domain"]["enabled"]:
        paths += [f"results/eval/{m}/ood/scores.tsv" for m in models if eval_model_dir(m)]
    return paths


def all_targets(wildcards):
    return data_targets()
