# Quality and correctness filter (paper, stage 2): truncation, one <think> pair,
# length under the student's tokenizer, then the answer check: rules first
# (math-verify, option letters, sandboxed tests), then the LLM judge
# (filter.judge) on what they cannot decide. The judge's settings are params and
# its model folder, when materialised, an input: changing the judge reruns the filter.


def student_tokenizer_dir():
    """The first student's model folder (its tokenizer measures response length), or None when
    that model is not materialised locally (then the samples' completion_tokens are used)."""
    first = next(iter(config["students"].values()))["model"]
    if not config["models"][first]["materialize"]:
        return None
    return PATHS["model"].format(model=first)


#: filter.* keys that change verdicts. filter.workers only sets how many processes check answers (the
#: rules' threads), so changing it reruns nothing.
FILTER_KEYS = ("max_response_tokens", "float_tolerance", "math_timeout_s", "task_timeout_s", "judge")
#: What the student's correctness check (verify_student) reads: no length limit, no judge.
VERIFY_KEYS = ("float_tolerance", "math_timeout_s", "task_timeout_s")


#: filter.judge keys that only say how calls are made (not what the judge answers): run_only params,
#: so changing them reruns nothing.
JUDGE_RUN_KEYS = ("concurrency", "timeout_s", "max_retries")


def filter_settings(keys):
    out = {k: config["filter"][k] for k in keys}
    if out.get("judge"):
        out["judge"] = {k: v for k, v in out["judge"].items() if k not in JUDGE_RUN_KEYS}
    return out


def judge_run_settings():
    judge = config["filter"]["judge"] or {}
    return {k: judge[k] for k in JUDGE_RUN_KEYS if k in judge}


def filter_tokenizer_input(wildcards):
    path = student_tokenizer_dir()
    return [path] if path else []


def filter_judge_input(wildcards):
    """The judge's model folder when it has one (a materialised `models` entry); none without a judge or
    for a model reached only through an API."""
    judge = config["filter"]["judge"]
    if not judge:
        return []
    path = base_model_dir(judge["model"])
    return [path] if path else []


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
    params:
        settings=filter_settings(FILTER_KEYS),
        tokenizer=student_tokenizer_dir(),
        judge_run=run_only(judge_run_settings()),
    threads: config["filter"]["workers"]
    conda:
        "../envs/verify.yaml"
    log:
        "logs/filter_samples/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/filter_samples/{teacher}/{domain}.tsv"
    script:
        "../scripts/filter_samples.py"
