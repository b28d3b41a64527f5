# Data stage: seeds, benchmarks, decontamination, models.


rule prepare_model:
    output:
        directory(PATHS["model"]),
    log:
        "logs/prepare_model/{model}.log",
    benchmark:
        "benchmarks/prepare_model/{model}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        source=lambda w: config["models"][w.model]["source"],
    script:
        "../scripts/prepare_model.py"


rule load_seeds:
    output:
        seeds=PATHS["seeds_raw"],
        excluded=PATHS["seeds_excluded"],
    log:
        "logs/load_seeds/{domain}.log",
    benchmark:
        "benchmarks/load_seeds/{domain}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        spec=lambda w: ded_jobs.without_unset_revision(config["seeds"][w.domain]),
        domain=lambda w: w.domain,
    script:
        "../scripts/load_seeds.py"


rule load_benchmark:
    output:
        PATHS["benchmark"],
    log:
        "logs/load_benchmark/{benchmark}.log",
    benchmark:
        "benchmarks/load_benchmark/{benchmark}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        # Only what defines the problems: sampling settings must not reload them.
        spec=lambda w: ded_jobs.benchmark_source(config, w.benchmark),
        name=lambda w: w.benchmark,
    script:
        "../scripts/load_benchmark.py"


rule benchmark_summary:
    input:
        expand(PATHS["benchmark"], benchmark=config["benchmarks"]),
    output:
        tsv=report("results/data/benchmarks.tsv", caption="../report/benchmarks.rst", category="Data"),
        md="results/data/benchmarks.md",
    log:
        "logs/benchmark_summary.log",
    localrule: True
    conda:
        "../envs/data.yaml"
    params:
        # only the caption reads it: a new teacher or student must not redo the summary
        run=run_only(run_description()),
    script:
        "../scripts/benchmark_summary.py"


rule decontaminate_pair:
    input:
        seeds=PATHS["seeds_raw"],
        benchmark=PATHS["benchmark"],
    output:
        PATHS["contamination"],
    log:
        "logs/decontaminate/{domain}/{benchmark}.log",
    benchmark:
        "benchmarks/decontaminate_pair/{domain}/{benchmark}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        settings=config["decontamination"],
    script:
        "../scripts/decontaminate_pair.py"


rule decontaminate:
    input:
        seeds=PATHS["seeds_raw"],
        matches=expand(PATHS["contamination"], benchmark=config["benchmarks"], allow_missing=True),
    output:
        seeds=PATHS["seeds"],
        report=PATHS["decontamination_report"],
    log:
        "logs/decontaminate/{domain}.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/decontaminate.py"


rule warmstart_corpus:
    output:
        "results/teachers/{teacher}/warmstart.jsonl",
    log:
        "logs/warmstart_corpus/{teacher}.log",
    benchmark:
        "benchmarks/warmstart_corpus/{teacher}.tsv"
    localrule: True
    conda:
        "../envs/data.yaml"
    params:
        spec=lambda w: config["teachers"][w.teacher]["warm_start"],
        domains=list(config["seeds"]),
    script:
        "../scripts/warmstart_corpus.py"
