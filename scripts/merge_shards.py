from scripts._common import setup

log = setup(snakemake)

from ded.sample.shards import merge_shard_files  # noqa: E402
from ded.io import read_records  # noqa: E402

# The problems file gives the merge order: each question's records come from its shard, as that shard wrote
# them (ded/sample/shards.py), so the output is byte for byte what one unsharded job writes.
ids = [p["id"] for p in read_records(snakemake.input.problems, "problem", allow_empty=False)]
n = merge_shard_files(ids, list(snakemake.input.shards), snakemake.output[0])
log.info("%d records of %d questions merged from %d shards into %s", n, len(ids), len(snakemake.input.shards),
         snakemake.output[0])
