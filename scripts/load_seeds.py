from scripts._common import setup

log = setup(snakemake)

from ded.data.seeds import load_seeds, reason_counts  # noqa: E402
from ded.io import write_records  # noqa: E402

records, excluded = load_seeds(snakemake.params.domain, snakemake.params.spec)
n = write_records(snakemake.output.seeds, records, "problem")
write_records(snakemake.output.excluded, excluded, "excluded")
log.info("%d %s seeds written; %d excluded%s", n, snakemake.params.domain, len(excluded),
         f" ({reason_counts(excluded)})" if excluded else "")
