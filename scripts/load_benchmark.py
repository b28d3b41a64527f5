from scripts._common import setup

log = setup(snakemake)

from ded.data.benchmarks import difficulty_counts, load_benchmark_excluded  # noqa: E402
from ded.data.seeds import reason_counts  # noqa: E402
from ded.io import write_records  # noqa: E402

records, excluded = load_benchmark_excluded(snakemake.params.name, snakemake.params.spec)
n = write_records(snakemake.output[0], records, "problem")
by_difficulty = difficulty_counts(records)
log.info("%s: %d problems%s; %d excluded%s", snakemake.params.name, n,
         f" ({', '.join(f'{k}: {v}' for k, v in by_difficulty.items())})" if list(by_difficulty) != ["none"] else "",
         len(excluded), f" ({reason_counts(excluded)})" if excluded else "")
