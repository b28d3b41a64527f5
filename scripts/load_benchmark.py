from scripts._common import setup

log = setup(snakemake)

from ded.data.benchmarks import load_benchmark  # noqa: E402
from ded.io import write_records  # noqa: E402

records = load_benchmark(snakemake.params.name, snakemake.params.spec)
n = write_records(snakemake.output[0], records, "problem")
log.info("%s: %d problems", snakemake.params.name, n)
