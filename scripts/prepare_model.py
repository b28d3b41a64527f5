from scripts._common import setup

log = setup(snakemake)

from ded.weights import prepare_model  # noqa: E402

info = prepare_model(snakemake.params.source, snakemake.output[0])
log.info("prepared %s: %s", snakemake.wildcards.model, info)
