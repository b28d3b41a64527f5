from scripts._common import setup

log = setup(snakemake)

from ded.analysis.jobs import run_paper_tables  # noqa: E402

out = snakemake.output
paths = {t: (out[f"{t}_csv"], out[f"{t}_md"], out[f"{t}_tex"]) for t in (f"table{i}" for i in range(1, 8))}
tables = run_paper_tables(snakemake.input.scores, snakemake.input.corpus_stats, paths,
                          methods=snakemake.params.methods, settings=snakemake.params.settings,
                          in_domain=snakemake.params.in_domain)
for name, df in tables.items():
    log.info("%s: %d rows", name, len(df))
