from scripts._common import setup

log = setup(snakemake)

from ded.data.decontaminate import find_contamination  # noqa: E402
from ded.io import read_records, write_records  # noqa: E402

seeds = read_records(snakemake.input.seeds, "problem")
bench = read_records(snakemake.input.benchmark, "problem")
matches = find_contamination(seeds, bench, snakemake.wildcards.benchmark, **snakemake.params.settings)
write_records(snakemake.output[0], matches, "contamination")
log.info("%d of %d seeds match %s", len({m['seed_id'] for m in matches}), len(seeds), snakemake.wildcards.benchmark)
