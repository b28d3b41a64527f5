# Quality and correctness filter (paper, stage 2): truncation, one <think> pair,
# length under the student's tokenizer, then the answer check: rules first
# (math-verify, option letters, sandboxed tests), then the LLM judge
# (filter.judge) on what they cannot decide. The judge's settings are params and
# its model folder, when materialised, an input: changing the judge reruns the filter.


#: filter.* keys that change verdicts. filter.workers only sets how many processes check answers (the
#: rules' threads), so changing it reruns nothing.
FILTER_KEYS = ("max_response_tokens", "float_tolerance", "math_timeout_s", "task_timeout_s", "judge")
#: What the student's correctness check (verify_student) reads: no length limit, no judge.
VERIFY_KEYS = ("float_tolerance", "math_timeout_s", "task_timeout_s")


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
    conda:
        "../envs/verify.yaml"
    threads: config["filter"]["workers"]
    params:
        settings=filter_settings(FILTER_KEYS),
        tokenizer=student_tokenizer_dir(),
        judge_run=run_only(judge_run_settings()),
    script:
        "../scripts/filter_samples.py"
