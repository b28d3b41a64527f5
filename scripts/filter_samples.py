from scripts._common import setup, write_timings

log = setup(snakemake)

from ded.io import read_index, read_records, write_records  # noqa: E402
from ded.filter import summarize_verdicts, verify_samples, write_summary_tsv  # noqa: E402

settings = snakemake.params.settings
samples = read_records(snakemake.input.samples, "sample")
problems = read_index(snakemake.input.problems, "problem")

judge = None
if settings.get("judge"):
    from ded.sample import allocation_options  # noqa: E402
    from ded.filter.judge import judge_from_config  # noqa: E402

    # The judge's model folder is the rule's `judge` input when the model is materialised (hf, vllm).
    judge_dir = snakemake.input.get("judge") or None
    if judge_dir is not None and not isinstance(judge_dir, str):
        judge_dir = str(judge_dir[0]) if len(judge_dir) else None
    allocation = allocation_options({}, snakemake.resources.get("gpu", 0), snakemake.threads)
    spec = settings["judge"] | dict(snakemake.params.judge_run)  # + how calls are made (run-only params)
    judge = judge_from_config(spec, snakemake.config, model_dir=judge_dir, backend_options=allocation)

timings: list[dict] = []
verdicts = verify_samples(
    samples, problems,
    workers=snakemake.threads,
    tokenizer=snakemake.params.tokenizer,
    max_tokens=settings["max_response_tokens"],
    judge=judge,
    float_tolerance=settings["float_tolerance"],
    math_timeout_s=settings["math_timeout_s"],
    task_timeout_s=settings["task_timeout_s"],
    timings=timings,
)
write_records(snakemake.output.verdicts, verdicts, "verdict")
write_timings(snakemake, timings, log)
rows = summarize_verdicts(verdicts)
write_summary_tsv(snakemake.output.summary, rows)
kept = [s for s, v in zip(samples, verdicts) if v["keep"]]
write_records(snakemake.output.kept, kept, "sample")
log.info("%d of %d samples kept", len(kept), len(samples))
for r in rows:
    log.info("%6d  %-14s %s", r["n"], r["verdict"], r["reason"])
