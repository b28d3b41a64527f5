# DED selection: teacher smoke test (a checkpoint), question compression by
# the student's pass rate, Levenshtein diversity, and the corpus variants of
# the paper's ablations.


rule smoke_corpus:
    input:
        samples=expand(PATHS["samples"], domain=config["seeds"], allow_missing=True),
        verdicts=expand(PATHS["verdicts"], domain=config["seeds"], allow_missing=True),
        problems=expand(PATHS["seeds"], domain=config["seeds"]),
    output:
        PATHS["smoke_corpus"],
    log:
        "logs/smoke_corpus/{student}/{teacher}.log",
    benchmark:
        "benchmarks/smoke_corpus/{student}/{teacher}.tsv"
    priority: CHAIN_PRIORITY
    localrule: True
    conda:
        "../envs/verify.yaml"
    params:
        domains=list(config["seeds"]),
    script:
        "../scripts/smoke_corpus.py"


checkpoint select_teacher:
    input:
        scores=smoke_score_files,
        # per-problem outcomes: is the winner's lead beyond noise?
        verdicts=lambda w: [
            p.removesuffix("scores.tsv") + "verdicts.jsonl"
            for p in smoke_score_files(w)
            if Path(p).parent.name in config["benchmarks"]
        ],
    output:
        selection=PATHS["selection"],
        table="results/selection/{student}/scores.tsv",
    log:
        "logs/select_teacher/{student}.log",
    priority: CHAIN_PRIORITY
    localrule: True
    conda:
        "../envs/verify.yaml"
    params:
        pinned=config["teacher_selection"]["pinned"],
        rule=config["teacher_selection"]["rule"],
        metrics=lambda w: selection_metrics(),
        teachers=list(config["teachers"]),
    script:
        "../scripts/select_teacher.py"


rule pass_rates:
    input:
        PATHS["student_verdicts"],
    output:
        PATHS["pass_rates"],
    log:
        "logs/pass_rates/{student}/{domain}.log",
    benchmark:
        "benchmarks/pass_rates/{student}/{domain}.tsv"
    priority: CHAIN_PRIORITY
    localrule: True
    conda:
        "../envs/verify.yaml"
    script:
        "../scripts/pass_rates.py"


rule build_corpus:
    input:
        unpack(corpus_inputs),
    output:
        corpus=PATHS["corpus"],
        stats="results/corpus/{student}/{teacher}/{corpus}.stats.json",
    log:
        "logs/build_corpus/{student}/{teacher}/{corpus}.log",
    benchmark:
        "benchmarks/build_corpus/{student}/{teacher}/{corpus}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/verify.yaml"
    # One thread, as the sampling rules: a job asking for two waits until both cores are free. A profile's
    # set-threads gives the diversity selection of a large corpus more workers.
    threads: 1
    params:
        # Only the settings this variant reads, so changing one reruns only its corpora.
        settings=lambda w: ded_jobs.corpus_settings(config, w.corpus),
    script:
        "../scripts/build_corpus.py"


#: compression.shards: jobs per (student, domain); above 1, each sample_student job is one {shard} of the
#: questions and gather_student_samples merges them (as gather_samples does, rules/sample.smk).
PASSRATE_SHARDS = ded_jobs.shards(config, "compression")


rule sample_student:
    input:
        problems=PATHS["seeds"],
        model=lambda w: student_model_dir(w.student),
    output:
        PATHS["student_samples"] if PASSRATE_SHARDS == 1 else temp(shard_path(PATHS["student_samples"])),
    log:
        sharded("logs/sample_student/{student}/{domain}.log", PASSRATE_SHARDS),
    benchmark:
        sharded("benchmarks/sample_student/{student}/{domain}.tsv", PASSRATE_SHARDS)
    priority: CHAIN_PRIORITY
    conda:
        "../envs/vllm.yaml"
    threads: 1  # as sample_teacher's
    params:
        spec=lambda w: ded_jobs.student_passrate_spec(config, w.student),
        n=config["compression"]["samples"],
        # Per-pair seeds make the draws batch-invariant (see sample_teacher).
        batch_size=run_only(config["compression"]["batch_size"]),
        seed=config["evaluation"]["seed"],
        progress=sharded("results/.progress/passrate/{student}/{domain}.jsonl", PASSRATE_SHARDS),
        backend_options=config["evaluation"]["backend_options"],
    script:
        "../scripts/sample_student.py"


if PASSRATE_SHARDS > 1:

    rule gather_student_samples:
        input:
            problems=PATHS["seeds"],
            shards=shard_files(PATHS["student_samples"], PASSRATE_SHARDS),
        output:
            PATHS["student_samples"],
        log:
            "logs/gather_student_samples/{student}/{domain}.log",
        localrule: True
        # a small CPU job: it streams the shards (one record of each at a time)
        conda:
            "../envs/verify.yaml"
        script:
            "../scripts/merge_shards.py"


rule verify_student:
    input:
        samples=PATHS["student_samples"],
        problems=PATHS["seeds"],
    output:
        PATHS["student_verdicts"],
    log:
        "logs/verify_student/{student}/{domain}.log",
    benchmark:
        "benchmarks/verify_student/{student}/{domain}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/verify.yaml"
    threads: config["filter"]["workers"]
    params:
        settings=ded_jobs.filter_settings(config, ded_jobs.VERIFY_KEYS),
    script:
        "../scripts/verify_student.py"
