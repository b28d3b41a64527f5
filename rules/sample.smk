# Teacher sampling (paper, stage 2): M samples per seed question from each
# candidate teacher. A warm-started teacher samples from its trained folder,
# a local model from resources/models/, an API or corpus teacher from no folder
# (teacher_model_dir in common.smk). vLLM's tensor parallelism spans the GPUs of
# the job's `gpu` resource (the script reads it; see profiles/slurm).
#
# Two rules, one recipe: sample_teacher runs the teacher inside the job (hf,
# vllm) and gets the profile's GPUs; sample_teacher_api only talks to an
# OpenAI-compatible endpoint or replays a corpus, so it is a rule of its own
# that the profile gives no GPU and little memory. Resources are set per rule
# name, so this split is what lets the profile stay the one place that sizes
# the GPU teachers' jobs.

import re


def api_teacher(teacher):
    """Whether the teacher is served from outside the job (ded.jobs.sampled_without_gpu)."""
    return ded_jobs.sampled_without_gpu(config, teacher)


def teacher_pattern(teachers):
    """A wildcard constraint matching exactly these teacher names (nothing when there are none)."""
    return "|".join(re.escape(t) for t in teachers) or "(?!)"


def sample_targets():
    return expand(PATHS["samples"], teacher=config["teachers"], domain=config["seeds"])


rule sample_teacher:
    input:
        problems=PATHS["seeds"],
        model=lambda w: teacher_model_dir(w.teacher),
    output:
        PATHS["samples"],
    wildcard_constraints:
        teacher=teacher_pattern(t for t in config["teachers"] if not api_teacher(t)),
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


# The same job for teachers behind an endpoint (backend openai) or replayed from
# a corpus: no model folder, and a profile entry of its own without GPUs.
use rule sample_teacher as sample_teacher_api with:
    input:
        problems=PATHS["seeds"],
    wildcard_constraints:
        teacher=teacher_pattern(t for t in config["teachers"] if api_teacher(t)),
    log:
        "logs/sample_teacher_api/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/sample_teacher_api/{teacher}/{domain}.tsv"
