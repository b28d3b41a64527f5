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
        settings=config["filter"],
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
