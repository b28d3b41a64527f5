from scripts._common import setup

log = setup(snakemake)

from ded.analysis.jobs import run_entropy_figure  # noqa: E402

table = run_entropy_figure(
    values=list(snakemake.input.values), summaries=list(snakemake.input.summaries),
    labels=list(snakemake.params.labels), table_out=snakemake.output.table,
    png=snakemake.output.png, pdf=snakemake.output.pdf,
    title=f"Token entropy of the teachers' corpora, scored by {snakemake.params.scorer}",
)
log.info("entropy summary:\n%s", table.to_string())
