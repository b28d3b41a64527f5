from scripts._common import setup

log = setup(snakemake)

from ded.analysis.jobs import run_pca_shift  # noqa: E402

p, w = snakemake.params, snakemake.wildcards
what = f"{w.teacher}'s smoke-test corpus" if p.smoke else f"{w.teacher}'s {w.corpus} corpus"
table = run_pca_shift(
    base=snakemake.input.base, trained=snakemake.input.trained,
    problems=dict(zip(p.benchmarks, snakemake.input.problems)),
    distances_out=snakemake.output.distances, projections_out=snakemake.output.projections,
    png=snakemake.output.png, pdf=snakemake.output.pdf,
    layers=p.layers, max_prompts=p.max_prompts, max_tokens=p.max_tokens, batch_size=p.batch_size,
    dtype=p.dtype, plot_layer=p.plot_layer, method=p.method, seed=p.seed, pool_padding=p.pool_padding,
    title=f"{w.student}: base vs trained on {what} ({p.method})",
    trained_label=f"trained ({'smoke' if p.smoke else w.corpus})",
)
log.info("shift per benchmark (%s):\n%s", p.method,
         table[table["layer"] == "mean"].set_index("benchmark")["distance"].to_string())
