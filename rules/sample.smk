# Teacher sampling (paper, stage 2): M samples per seed question from each
# candidate teacher. A warm-started teacher samples from its trained folder,
# a local model from resources/models/, an API or corpus teacher from no folder
# (teacher_model_dir in common.smk). vLLM's tensor parallelism spans the GPUs of
# the job's `gpu` resource (the script reads it; see profiles/slurm).


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
        samples_per_question=config["sampling"]["samples_per_question"],
        seed=config["sampling"]["seed"],
        # Every (question, sample) pair draws from its own seed (a per-row generator in the hf backend, a
        # per-request seed in vLLM), so which pairs share a batch does not change what is drawn: a resumed
        # job, whose batches hold only the missing pairs, relies on it (tests/test_generate_resume.py). On
        # a GPU, batched kernels may still round differently, the same tolerance a resume already accepts;
        # so changing the batch size resamples nothing.
        batch_size=run_only(config["sampling"]["batch_size"]),
        progress="results/.progress/samples/{teacher}/{domain}.jsonl",
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
