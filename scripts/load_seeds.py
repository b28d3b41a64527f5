from scripts._common import setup

log = setup(snakemake)

from ded.data.seeds import load_seeds  # noqa: E402
from ded.io import write_records  # noqa: E402

records, rejected = load_seeds(snakemake.params.domain, snakemake.params.spec)
n = write_records(snakemake.output[0], records, "problem")
log.info("%d %s seeds written; %d excluded", n, snakemake.params.domain, len(rejected))
for rec in rejected:
    log.info("excluded %s: %s", rec["id"], rec["reason"])
