# Data stage: seeds, benchmarks, decontamination, models.


rule prepare_model:
    output:
        directory(PATHS["model"]),
    params:
        source=lambda w: config["models"][w.model]["source"],
    conda:
        "../envs/data.yaml"
    log:
        "logs/prepare_model/{model}.log",
    benchmark:
        "benchmarks/prepare_model/{model}.tsv"
    script:
        "../scripts/prepare_model.py"


rule load_seeds:
    output:
        seeds=PATHS["seeds_raw"],
        excluded=PATHS["seeds_excluded"],
    params:
        spec=lambda w: without_unset_revision(config["seeds"][w.domain]),
        domain=lambda w: w.domain,
    conda:
        "../envs/data.yaml"
    log:
        "logs/load_seeds/{domain}.log",
    benchmark:
        "benchmarks/load_seeds/{domain}.tsv"
    script:
        "../scripts/load_seeds.py"


rule load_benchmark:
    output:
        PATHS["benchmark"],
    params:
        # Only what defines the problems: sampling settings must not reload them.
        spec=lambda w: benchmark_source(w.benchmark),
        name=lambda w: w.benchmark,
    conda:
        "../envs/data.yaml"
    log:
        "logs/load_benchmark/{benchmark}.log",
    benchmark:
        "benchmarks/load_benchmark/{benchmark}.tsv"
    script:
        "../scripts/load_benchmark.py"


rule benchmark_summary:
    input:
        expand(PATHS["benchmark"], benchmark=config["benchmarks"]),
    output:
        tsv=report("results/data/benchmarks.tsv", caption="../report/benchmarks.rst", category="Data"),
        md="results/data/benchmarks.md",
    params:
        # only the caption reads it: a new teacher or student must not redo the summary
        run=run_only(run_description()),
    conda:
        "../envs/data.yaml"
    log:
        "logs/benchmark_summary.log",
    script:
        "../scripts/benchmark_summary.py"


rule decontaminate_pair:
    input:
        seeds=PATHS["seeds_raw"],
        benchmark=PATHS["benchmark"],
    output:
        PATHS["contamination"],
    params:
        settings=config["decontamination"],
    conda:
        "../envs/data.yaml"
    log:
        "logs/decontaminate/{domain}/{benchmark}.log",
    benchmark:
        "benchmarks/decontaminate_pair/{domain}/{benchmark}.tsv"
    script:
        "../scripts/decontaminate_pair.py"


rule decontaminate:
    input:
        seeds=PATHS["seeds_raw"],
        matches=expand(PATHS["contamination"], benchmark=config["benchmarks"], allow_missing=True),
    output:
        seeds=PATHS["seeds"],
        report=PATHS["decontamination_report"],
    conda:
        "../envs/data.yaml"
    log:
        "logs/decontaminate/{domain}.log",
    script:
        "../scripts/decontaminate.py"


rule warmstart_corpus:
    output:
        "results/teachers/{teacher}/warmstart.jsonl",
    params:
        spec=lambda w: config["teachers"][w.teacher]["warm_start"],
        domains=list(config["seeds"]),
    conda:
        "../envs/data.yaml"
    log:
        "logs/warmstart_corpus/{teacher}.log",
    benchmark:
        "benchmarks/warmstart_corpus/{teacher}.tsv"
    script:
        "../scripts/warmstart_corpus.py"
