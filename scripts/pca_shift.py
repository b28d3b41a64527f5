from scripts._common import setup

log = setup(snakemake)

from ded.analysis.jobs import run_pca_shift  # noqa: E402

p, w = snakemake.params, snakemake.wildcards
table = run_pca_shift(
    base=snakemake.input.base, trained=snakemake.input.trained,
    problems=dict(zip(p.benchmarks, snakemake.input.problems)),
    distances_out=snakemake.output.distances, projections_out=snakemake.output.projections,
    png=snakemake.output.png, pdf=snakemake.output.pdf,
    layers=p.layers, max_prompts=p.max_prompts, max_tokens=p.max_tokens, batch_size=p.batch_size,
    dtype=p.dtype, plot_layer=p.plot_layer,
    title=f"{w.student}: base vs trained on {w.teacher}'s {w.corpus} corpus",
    trained_label=f"trained ({w.corpus})",
)
log.info("mean shift per benchmark:\n%s", table.groupby("benchmark")["distance"].mean().to_string())
