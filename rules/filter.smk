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
        samples="results/samples/{teacher}/{domain}.jsonl",
        problems=PATHS["seeds"],
        tokenizer=filter_tokenizer_input,
    output:
        verdicts="results/filter/{teacher}/{domain}/verdicts.jsonl",
        summary="results/filter/{teacher}/{domain}/summary.tsv",
        kept="results/filter/{teacher}/{domain}/kept.jsonl",
    params:
        settings=config["filter"],
        tokenizer=student_tokenizer_dir(),
    wildcard_constraints:
        teacher="|".join(config["teachers"]),
    threads: config["filter"]["workers"]
    log:
        "logs/filter_samples/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/filter_samples/{teacher}/{domain}.tsv"
    script:
        "../scripts/filter_samples.py"
