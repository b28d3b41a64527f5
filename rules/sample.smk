# Teacher sampling (paper, stage 2): M samples per seed question from each
# candidate teacher. A warm-started teacher samples from its trained folder,
# a local model from resources/models/, an API or corpus teacher from no folder
# (teacher_model_dir in common.smk).


def sample_targets():
    return expand(PATHS["samples"], teacher=config["teachers"], domain=config["seeds"])


rule sample_teacher:
    input:
        problems=PATHS["seeds"],
        model=lambda w: teacher_model_dir(w.teacher),
    output:
        PATHS["samples"],
    params:
        teacher=lambda w: config["teachers"][w.teacher],
        sampling=config["sampling"],
        progress="results/.progress/samples/{teacher}/{domain}.jsonl",
        # vLLM's tensor parallelism spans the GPUs the profile gives the job.
        tensor_parallel_size=lambda w, resources: max(1, int(resources.get("gpu", 0) or 0)),
    threads: 2
    resources:
        runtime=runtime_for(120),
    conda:
        "../envs/vllm.yaml"
    log:
        "logs/sample_teacher/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/sample_teacher/{teacher}/{domain}.tsv"
    script:
        "../scripts/sample_teacher.py"
