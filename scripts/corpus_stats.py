from scripts._common import setup

log = setup(snakemake)

from ded.analysis.jobs import run_corpus_stats  # noqa: E402

table = run_corpus_stats(list(snakemake.input), list(snakemake.params.runs), snakemake.output[0])
log.info("%d corpora", len(table))
