from scripts._common import setup

log = setup(snakemake)

from ded.analysis.paper_compare import applies, run_paper_comparison  # noqa: E402

frame = run_paper_comparison(snakemake.input.scores, snakemake.params.paper_values, snakemake.params.settings,
                             snakemake.output.csv, snakemake.output.md)
if applies(frame):
    log.info("%d published values compared, %d of them with a score of this run", len(frame),
             sum(not isinstance(v, str) for v in frame["this run"]))
else:
    log.info("no published values in the config: the comparison does not apply")
