# Quality and correctness filter (paper, stage 2): truncation, one <think> pair,
# length under the student's tokenizer, then the answer check: rules first
# (math-verify, option letters, sandboxed tests), then the LLM judge
# (filter.judge) on what they cannot decide. The judge's settings are params and
# its model folder, when materialised, an input: changing the judge reruns the filter.


rule filter_samples:
    input:
        samples=PATHS["samples"],
        problems=PATHS["seeds"],
        tokenizer=filter_tokenizer_input,
        judge=filter_judge_input,
    output:
        verdicts=PATHS["verdicts"],
        summary=PATHS["filter_summary"],
        kept=PATHS["kept"],
    log:
        "logs/filter_samples/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/filter_samples/{teacher}/{domain}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/verify.yaml"
    threads: config["filter"]["workers"]
    params:
        settings=ded_jobs.filter_settings(config, ded_jobs.FILTER_KEYS),
        tokenizer=student_tokenizer_dir(),
        judge_run=run_only(ded_jobs.judge_run_settings(config)),
    script:
        "../scripts/filter_samples.py"
