# Quality and correctness filter (paper, stage 2): truncation, one <think> pair,
# length under the student's tokenizer, then the answer check (math-verify,
# sandboxed tests, or an LLM judge).


def student_tokenizer_dir():
    """The first student's model folder (its tokenizer measures response length), or None when
    that model is not materialised locally (then the samples' completion_tokens are used)."""
    first = next(iter(config["students"].values()))["model"]
    if not config["models"][first].get("materialize", True):
        return None
    return PATHS["model"].format(model=first)


#: filter.* keys that change verdicts. filter.workers only sets how many processes check answers (the
#: rules' threads), so changing it reruns nothing.
FILTER_KEYS = ("max_response_tokens", "float_tolerance", "math_timeout_s", "task_timeout_s", "judge")
#: What the student's correctness check (verify_student) reads: no length limit, no judge.
VERIFY_KEYS = ("float_tolerance", "math_timeout_s", "task_timeout_s")


def filter_settings(keys):
    return {k: config["filter"][k] for k in keys}


def filter_tokenizer_input(wildcards):
    path = student_tokenizer_dir()
    return [path] if path else []


rule filter_samples:
    input:
        samples=PATHS["samples"],
        problems=PATHS["seeds"],
        tokenizer=filter_tokenizer_input,
    output:
        verdicts=PATHS["verdicts"],
        summary=PATHS["filter_summary"],
        kept=PATHS["kept"],
    params:
        settings=filter_settings(FILTER_KEYS),
        tokenizer=student_tokenizer_dir(),
    threads: config["filter"]["workers"]
    conda:
        "../envs/verify.yaml"
    log:
        "logs/filter_samples/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/filter_samples/{teacher}/{domain}.tsv"
    script:
        "../scripts/filter_samples.py"
