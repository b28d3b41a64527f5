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
#
# sampling.shards above 1 splits each (teacher, domain) into that many jobs of
# the same rule (the {shard} wildcard, k-of-n: shard k answers the questions at
# index k-1 modulo n), each resumable on its own, and gather_samples merges them
# into the declared output, byte-identical to one job's (ded/sample/shards.py).


#: sampling.shards: jobs per (teacher, domain); above 1, each job is one {shard} of the questions and
#: gather_samples merges them into the declared output (ded/sample/shards.py, docs/cluster.md).
SAMPLING_SHARDS = ded_jobs.shards(config, "sampling")


rule sample_teacher:
    input:
        problems=PATHS["seeds"],
        model=lambda w: teacher_model_dir(w.teacher),
    output:
        PATHS["samples"] if SAMPLING_SHARDS == 1 else temp(shard_path(PATHS["samples"])),
    log:
        sharded("logs/sample_teacher/{teacher}/{domain}.log", SAMPLING_SHARDS),
    benchmark:
        sharded("benchmarks/sample_teacher/{teacher}/{domain}.tsv", SAMPLING_SHARDS)
    wildcard_constraints:
        teacher=teacher_pattern(t for t in config["teachers"] if not api_teacher(t)),
    priority: CHAIN_PRIORITY
    conda:
        "../envs/vllm.yaml"
    # One thread: on a CPU the hf backend decodes a batch in steps bound by reading the weights, so a
    # second job beside it gains more than a second thread, and a 2-thread job would wait for both cores
    # while one-thread jobs hold one. A GPU job needs none; --set-threads gives a big CPU machine more.
    threads: 1
    resources:
        runtime=runtime_for(120),
    params:
        teacher=lambda w: config["teachers"][w.teacher],
        samples_per_question=config["sampling"]["samples_per_question"],
        seed=config["sampling"]["seed"],
        # Every (question, sample) pair draws from its own seed (a per-row generator in the hf backend, a
        # per-request seed in vLLM), so which pairs share a batch does not change what is drawn: a resumed
        # job, whose batches hold only the missing pairs, relies on it (tests/model/test_sample_resume.py). On
        # a GPU, batched kernels may still round differently, the same tolerance a resume already accepts;
        # so changing the batch size resamples nothing.
        batch_size=run_only(config["sampling"]["batch_size"]),
        progress=sharded("results/.progress/samples/{teacher}/{domain}.jsonl", SAMPLING_SHARDS),
    script:
        "../scripts/sample_teacher.py"


# The same job for teachers behind an endpoint (backend openai) or replayed from
# a corpus: no model folder, and a profile entry of its own without GPUs.
use rule sample_teacher as sample_teacher_api with:
    input:
        problems=PATHS["seeds"],
    log:
        sharded("logs/sample_teacher_api/{teacher}/{domain}.log", SAMPLING_SHARDS),
    benchmark:
        sharded("benchmarks/sample_teacher_api/{teacher}/{domain}.tsv", SAMPLING_SHARDS)
    wildcard_constraints:
        teacher=teacher_pattern(t for t in config["teachers"] if api_teacher(t)),


if SAMPLING_SHARDS > 1:

    # The shards of a (teacher, domain), from either rule above, merged in the problems' order: the
    # declared output, byte for byte what one job writes (ded/sample/shards.py). The shard files are
    # temp(): a killed shard resumes from its own progress file, not from its output.
    rule gather_samples:
        input:
            problems=PATHS["seeds"],
            shards=shard_files(PATHS["samples"], SAMPLING_SHARDS),
        output:
            PATHS["samples"],
        log:
            "logs/gather_samples/{teacher}/{domain}.log",
        localrule: True
        # a small CPU job: it streams the shards (one record of each at a time)
        conda:
            "../envs/verify.yaml"
        script:
            "../scripts/merge_shards.py"
