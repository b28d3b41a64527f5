from scripts._common import setup

log = setup(snakemake)

from ded.analysis.jobs import run_token_entropy  # noqa: E402

p = snakemake.params
summary = run_token_entropy(
    corpus=snakemake.input.corpus, model=snakemake.input.model, problems=snakemake.input.problems,
    values_out=snakemake.output.values, summary_out=snakemake.output.summary,
    max_tokens=p.max_tokens, batch_size=p.batch_size, dtype=p.dtype, bins=p.bins,
    meta={"teacher": snakemake.wildcards.teacher, "domain": snakemake.wildcards.domain,
          "scoring_model": p.scoring_model},
)
log.info("%s/%s: %s", snakemake.wildcards.teacher, snakemake.wildcards.domain, summary)
