# Training stage: LlamaFactory SFT (ded/train). Three uses of one library call:
# - train_student: each student on each final corpus (the paper's training);
# - train_smoke: the teacher smoke test's quick distillation of the student;
# - train_warmstart: (embedded default only) teaching small teachers the <think> format.
# Progress lives under results/.progress/; a job killed at its time limit resumes
# from its last checkpoint when Snakemake (or SLURM) retries it.
#
# GPUs per node come from the `gpu` resource (the SLURM profile sets it per rule; 0, the
# default, trains on the CPU); the global batch holds on any GPU count that divides it.

import re

WARMSTART_TEACHERS = [t for t, spec in config["teachers"].items() if spec.get("warm_start")]


rule train_student:
    input:
        corpus=PATHS["corpus"],
        base_model=lambda w: trainable_model_dir(config["students"][w.student]["model"]),
    output:
        protected(directory(PATHS["trained_model"])),
    log:
        "logs/train_student/{student}/{teacher}/{corpus}.log",
    benchmark:
        "benchmarks/train_student/{student}/{teacher}/{corpus}.tsv"
    # the longest jobs after the teacher choice: started before the evaluations that wait for them
    priority: CHAIN_PRIORITY + 1
    conda:
        "../envs/train.yaml"
    resources:
        gpu=0,
        # several nodes: one torchrun per node (train.nodes, train.node_launcher)
        nodes=train_settings()["nodes"],
    params:
        train=train_settings(),
        stage=None,
        template=lambda w: model_template(config["students"][w.student]["model"]),
        work_dir="results/.progress/train/{student}/{teacher}/{corpus}",
    script:
        "../scripts/train_student.py"


rule train_smoke:
    input:
        corpus=PATHS["smoke_corpus"],
        base_model=lambda w: trainable_model_dir(config["students"][w.student]["model"]),
    output:
        smoke_model_output(),  # temp() under teacher_selection.keep_smoke_models: false
    log:
        "logs/train_smoke/{student}/{teacher}.log",
    benchmark:
        "benchmarks/train_smoke/{student}/{teacher}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/train.yaml"
    resources:
        gpu=0,
        # several nodes: one torchrun per node (train.nodes, train.node_launcher)
        nodes=train_settings("smoke")["nodes"],
    params:
        train=train_settings("smoke"),
        stage="smoke",
        template=lambda w: model_template(config["students"][w.student]["model"]),
        work_dir="results/.progress/smoke/{student}/{teacher}",
    script:
        "../scripts/train_student.py"


rule train_warmstart:
    input:
        corpus=PATHS["warmstart_corpus"],
        base_model=lambda w: trainable_model_dir(config["teachers"][w.teacher]["model"]),
    output:
        directory(PATHS["teacher_model"]),
    log:
        "logs/train_warmstart/{teacher}.log",
    benchmark:
        "benchmarks/train_warmstart/{teacher}.tsv"
    wildcard_constraints:
        teacher="|".join(re.escape(t) for t in WARMSTART_TEACHERS) or "(?!x)x",
    priority: CHAIN_PRIORITY
    conda:
        "../envs/train.yaml"
    resources:
        gpu=0,
        # several nodes: one torchrun per node (train.nodes, train.node_launcher)
        nodes=train_settings("warm_start")["nodes"],
    params:
        train=train_settings("warm_start"),
        stage="warm_start",
        template=lambda w: model_template(config["teachers"][w.teacher]["model"]),
        work_dir="results/.progress/warmstart/{teacher}",
    script:
        "../scripts/train_student.py"
