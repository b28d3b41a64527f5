from scripts._common import setup

log = setup(snakemake)

from ded.io import read_records, write_records  # noqa: E402
from ded.select.compression import pass_rates  # noqa: E402

rates = pass_rates(read_records(snakemake.input[0], "verdict", allow_empty=False))
write_records(snakemake.output[0], rates, "pass_rate")
undecided = sum(r["pass_rate"] is None for r in rates)
log.info("%d questions; %d with nothing decided", len(rates), undecided)
