from scripts._common import setup

log = setup(snakemake)

from ded.analysis.jobs import run_figure1  # noqa: E402

points = run_figure1(snakemake.input.scores, snakemake.input.corpus_stats, list(snakemake.params.benchmarks),
                     list(snakemake.params.literature), png=snakemake.output.png, pdf=snakemake.output.pdf,
                     points_out=snakemake.output.points)
log.info("figure 1: %d points", len(points))
