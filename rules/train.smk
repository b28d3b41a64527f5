# Training stage: LlamaFactory SFT of the students on the built corpora, and
# (embedded default only) the warm start that teaches small teachers the
# <think> format. Progress lives under results/.progress/; a job killed at its
# time limit resumes from its last checkpoint when Snakemake retries it.
#
# GPUs come from the `gpu` resource (profiles/slurm sets it per rule; 0, the
# default, trains on the CPU); the global batch holds on any count.

import re

TRAIN_STAGES = ("warm_start", "smoke")


def train_section(stage=None):
    """config["train"] without the other stages' overrides, so the params trigger
    reruns a rule only when settings it uses change."""
    section = {k: v for k, v in config["train"].items() if k not in TRAIN_STAGES}
    if stage is not None:
        section[stage] = config["train"].get(stage, {})
    return section


def model_template(model):
    return config["models"][model].get("template", "chatml")


def _alternatives(names):
    return "|".join(re.escape(n) for n in names) or "(?!x)x"


WARMSTART_TEACHERS = [t for t, spec in config["teachers"].items() if spec.get("warm_start")]


rule train_student:
    input:
        corpus="results/corpus/{student}/{teacher}/{corpus}.jsonl",
        base_model=lambda w: f"resources/models/{config['students'][w.student]['model']}",
    output:
        protected(directory("results/train/{student}/{teacher}/{corpus}/model")),
    wildcard_constraints:
        student=_alternatives(config["students"]),
        teacher=_alternatives(config["teachers"]),
        corpus="[A-Za-z0-9_.-]+",
    params:
        train=train_section(),
        stage=None,
        template=lambda w: model_template(config["students"][w.student]["model"]),
        work_dir="results/.progress/train/{student}/{teacher}/{corpus}",
    resources:
        gpu=0,
    log:
        "logs/train_student/{student}/{teacher}/{corpus}.log",
    benchmark:
        "benchmarks/train_student/{student}/{teacher}/{corpus}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train_student.py"


rule train_warmstart:
    input:
        corpus="results/teachers/{teacher}/warmstart.jsonl",
        base_model=lambda w: f"resources/models/{config['teachers'][w.teacher]['model']}",
    output:
        directory("results/teachers/{teacher}/model"),
    wildcard_constraints:
        teacher=_alternatives(WARMSTART_TEACHERS),
    params:
        train=train_section("warm_start"),
        stage="warm_start",
        template=lambda w: model_template(config["teachers"][w.teacher]["model"]),
        work_dir="results/.progress/warmstart/{teacher}",
    resources:
        gpu=0,
    log:
        "logs/train_warmstart/{teacher}.log",
    benchmark:
        "benchmarks/train_warmstart/{teacher}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train_student.py"
