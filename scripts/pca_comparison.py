from scripts._common import setup

log = setup(snakemake)

from ded.analysis.jobs import run_pca_comparison  # noqa: E402

p, w = snakemake.params, snakemake.wildcards
corpus = ", ".join("smoke-test corpus" if c == p.smoke_run else f"{c} corpus" for c in p.corpus)
table = run_pca_comparison(
    tables=list(snakemake.input.tables), runs=list(p.runs), table_out=snakemake.output.table,
    png=snakemake.output.png, pdf=snakemake.output.pdf, labels=list(p.teachers),
    title=f"Figure 4: PCA shift of {w.student}'s students of each teacher ({corpus}; {p.method})",
)
log.info("shift per benchmark and teacher:\n%s",
         table[table["layer"] == "mean"].pivot(index="benchmark", columns="label", values="distance").to_string())
