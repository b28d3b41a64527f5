# Teacher sampling: M samples per seed question from each candidate teacher.

PATHS.setdefault("teacher_model", "results/teachers/{teacher}/model")
PATHS.setdefault("samples", "results/samples/{teacher}/{domain}.jsonl")
PATHS.setdefault("samples_progress", "results/.progress/samples/{teacher}/{domain}.jsonl")


wildcard_constraints:
    teacher="|".join(config["teachers"]),


def teacher_model_dir(wildcards):
    """The teacher's local model folder, or nothing for API and corpus teachers."""
    teacher = config["teachers"][wildcards.teacher]
    if teacher.get("warm_start"):
        return PATHS["teacher_model"].format(teacher=wildcards.teacher)
    if config["models"][teacher["model"]].get("materialize", True):
        return PATHS["model"].format(model=teacher["model"])
    return []


def sample_targets():
    return expand(PATHS["samples"], teacher=config["teachers"], domain=config["seeds"])


rule sample_teacher:
    input:
        problems=PATHS["seeds"],
        model=teacher_model_dir,
    output:
        PATHS["samples"],
    params:
        teacher=lambda w: config["teachers"][w.teacher],
        sampling=config["sampling"],
        progress=lambda w: PATHS["samples_progress"].format(teacher=w.teacher, domain=w.domain),
        # vLLM's tensor parallelism spans the GPUs the profile gives the job.
        tensor_parallel_size=lambda w, resources: max(1, int(resources.get("gpu", 0) or 0)),
    threads: 2
    log:
        "logs/sample_teacher/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/sample_teacher/{teacher}/{domain}.tsv"
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/sample_teacher.py"
