from scripts._common import setup

log = setup(snakemake)

from ded.sample import allocation_options, sample_problems  # noqa: E402
from ded.sample.shards import take_shard  # noqa: E402
from ded.io import read_records  # noqa: E402

p = snakemake.params
problems = read_records(snakemake.input.problems, "problem", allow_empty=False)
# A sharded job ({shard} = k-of-n) answers its share of the questions (ded/sample/shards.py).
problems = take_shard(problems, snakemake.wildcards.get("shard"))
n = sample_problems(
    problems, p.spec, model_name=f"base/{snakemake.wildcards.student}", n=p.n, out_path=snakemake.output[0],
    progress_path=p.progress, batch_size=p.batch_size, seed=p.seed, model_path=snakemake.input.model,
    backend_options=allocation_options(p.backend_options, snakemake.resources.get("gpu", 0), snakemake.threads))
log.info("%d student samples written", n)
