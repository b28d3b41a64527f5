# Evaluation stage: sample each evaluated model on each benchmark, verify and
# score the samples, collect the long-form scores table, and run the
# out-of-domain suites through lm-evaluation-harness.
#
# {model} is a path fragment naming what is evaluated (docs/layout.md):
# base/<student>, teacher/<teacher>, smoke/<student>/<teacher> or
# trained/<student>/<teacher>/<corpus>.
#
# generate_eval and ood_eval run vLLM with tensor parallelism over the job's
# GPUs (the `gpu` resource, set per rule in profiles/slurm); the config never
# sets a tensor-parallel size (ded.config.check_references).

from ded.evaluate.models import eval_generation_spec, ood_model_dir

#: evaluation.shards: jobs per (model, benchmark); above 1, each generate_eval job is one {shard} of the
#: questions and gather_eval_samples merges them (as gather_samples does, rules/sample.smk).
EVAL_SHARDS = ded_jobs.shards(config, "evaluation")


rule generate_eval:
    input:
        problems=PATHS["benchmark"],
        model=lambda w: eval_model_dir(w.model),
    output:
        PATHS["eval_samples"] if EVAL_SHARDS == 1 else temp(shard_path(PATHS["eval_samples"])),
    log:
        sharded("logs/generate_eval/{model}/{benchmark}.log", EVAL_SHARDS),
    benchmark:
        sharded("benchmarks/generate_eval/{model}/{benchmark}.tsv", EVAL_SHARDS)
    wildcard_constraints:
        model=r"(base|teacher)/[^/]+|smoke/[^/]+/[^/]+|trained/[^/]+/[^/]+/[^/]+",
    priority: CHAIN_PRIORITY
    conda:
        "../envs/vllm.yaml"
    params:
        model=lambda w: w.model,
        spec=lambda w: eval_generation_spec(w.model, w.benchmark, config),
        samples=lambda w: config["benchmarks"][w.benchmark]["samples"],
        # Per-sample seeds make the draws batch-invariant (see sample_teacher).
        batch_size=run_only(config["evaluation"]["batch_size"]),
        backend_options=config["evaluation"]["backend_options"],
        progress=sharded("results/.progress/eval/{model}/{benchmark}/samples.jsonl", EVAL_SHARDS),
    script:
        "../scripts/generate_eval.py"


if EVAL_SHARDS > 1:

    rule gather_eval_samples:
        input:
            problems=PATHS["benchmark"],
            shards=shard_files(PATHS["eval_samples"], EVAL_SHARDS),
        output:
            PATHS["eval_samples"],
        log:
            "logs/gather_eval_samples/{model}/{benchmark}.log",
        wildcard_constraints:
            model=r"(base|teacher)/[^/]+|smoke/[^/]+/[^/]+|trained/[^/]+/[^/]+/[^/]+",
        localrule: True
        # a small CPU job: it streams the shards (one record of each at a time)
        conda:
            "../envs/verify.yaml"
        script:
            "../scripts/merge_shards.py"


rule score_eval:
    input:
        samples=PATHS["eval_samples"],
        problems=PATHS["benchmark"],
    output:
        verdicts=PATHS["eval_verdicts"],
        scores=PATHS["eval_scores"],
    log:
        "logs/score_eval/{model}/{benchmark}.log",
    benchmark:
        "benchmarks/score_eval/{model}/{benchmark}.tsv"
    wildcard_constraints:
        model=r"(base|teacher)/[^/]+|smoke/[^/]+/[^/]+|trained/[^/]+/[^/]+/[^/]+",
    priority: CHAIN_PRIORITY
    conda:
        "../envs/verify.yaml"
    # Verifier processes; the verdicts do not depend on how many.
    threads: config["evaluation"]["workers"]
    params:
        model=lambda w: w.model,
        benchmark=lambda w: w.benchmark,
        pass_k=lambda w: config["benchmarks"][w.benchmark]["pass_k"],
    script:
        "../scripts/score_eval.py"


rule collect_scores:
    input:
        lambda w: eval_targets(),
        # the per-problem outcomes behind each gain's standard error, beside each benchmark's scores
        verdicts=lambda w: eval_verdict_targets(),
    output:
        scores=report(PATHS["scores"], caption="../report/scores.rst", category="Scores"),
        markdown="results/scores.md",
        csv=report("results/scores_summary.csv", caption="../report/scores_summary.rst", category="Scores"),
    log:
        "logs/collect_scores.log",
    localrule: True
    conda:
        "../envs/verify.yaml"
    params:
        run=lambda w: run_description(chosen_teachers()),
    script:
        "../scripts/collect_scores.py"


OOD_TASKS_DIR = "results/data/ood_tasks"


rule ood_tasks:
    output:
        directory(OOD_TASKS_DIR),
    log:
        "logs/ood_tasks.log",
    benchmark:
        "benchmarks/ood_tasks.tsv"
    localrule: True
    conda:
        "../envs/evaluate.yaml"
    params:
        procedural=config["evaluation"]["out_of_domain"].get("procedural"),
    script:
        "../scripts/ood_tasks.py"


rule ood_eval:
    input:
        model=lambda w: ood_model_dir(w.model, config, eval_model_dir(w.model)),
        tasks=lambda w: OOD_TASKS_DIR if config["evaluation"]["out_of_domain"].get("procedural") else [],
    output:
        scores="results/eval/{model}/ood/scores.tsv",
        raw="results/eval/{model}/ood/lm_eval.json",
    log:
        "logs/ood_eval/{model}.log",
    benchmark:
        "benchmarks/ood_eval/{model}.tsv"
    wildcard_constraints:
        model=r"(base|teacher)/[^/]+|smoke/[^/]+/[^/]+|trained/[^/]+/[^/]+/[^/]+",
    conda:
        ood_conda_env()
    params:
        model=lambda w: w.model,
        # lm-eval's batch_size stays: batched log-likelihoods and generations can differ in the last bits.
        # The tensor-parallel size of model_type vllm is the job's GPU count (the script adds it).
        settings=ood_suite_settings(),
        work_dir="results/.progress/ood/{model}",
    script:
        "../scripts/ood_eval.py"


rule aider_harness:
    """The interpreter that runs Aider's harness, checked by importing aider with it: envs/aider.yaml's under
    --use-conda; else evaluation.aider.python, or the workflow's .venv-aider (ded.evaluate.aider.harness_python)."""
    output:
        AIDER_HARNESS,
    log:
        "logs/aider_harness.log",
    localrule: True
    conda:
        "../envs/aider.yaml"
    params:
        python=lambda w: config["evaluation"]["aider"]["python"],
        workflow_dir=workflow.basedir,
    script:
        "../scripts/aider_harness.py"


rule aider_eval:
    """Aider's Polyglot benchmark (Table 6's Aider column) through Aider's own harness: the model served for
    the job by the evaluation backend's OpenAI-compatible server, the harness run by rule aider_harness's
    interpreter, every test run in the sandbox (ded/evaluate/aider.py)."""
    input:
        model=lambda w: eval_model_dir(w.model),
        harness=AIDER_HARNESS,
    output:
        scores=AIDER_SCORES,
        summary="results/eval/{model}/aider/summary.json",
    log:
        "logs/aider_eval/{model}.log",
    benchmark:
        "benchmarks/aider_eval/{model}.tsv"
    wildcard_constraints:
        model=r"(base|teacher)/[^/]+|smoke/[^/]+/[^/]+|trained/[^/]+/[^/]+/[^/]+",
    conda:
        aider_conda_env()
    params:
        model=lambda w: w.model,
        settings=lambda w: config["evaluation"]["aider"],
        harness=lambda w: aider_path(config["evaluation"]["aider"]["harness"]),
        exercises=lambda w: aider_path(config["evaluation"]["aider"]["exercises"] or ""),
        backend=lambda w: config["evaluation"]["backend"],
        backend_options=lambda w: config["evaluation"]["backend_options"],
        workflow_dir=workflow.basedir,
        # Aider's working copies of the exercises, its chat logs and results files: a killed job resumes here.
        run_dir="results/.progress/aider/{model}",
    script:
        "../scripts/aider_eval.py"
