from scripts._common import setup

log = setup(snakemake)

from ded.sample import allocation_options, sample_problems  # noqa: E402
from ded.sample.shards import take_shard  # noqa: E402
from ded.io import read_records  # noqa: E402

problems = read_records(snakemake.input.problems, "problem", allow_empty=False)
# A sharded job ({shard} = k-of-n) answers its share of the questions (ded/sample/shards.py).
problems = take_shard(problems, snakemake.wildcards.get("shard"))
spec = dict(snakemake.params.spec)
if snakemake.input.get("model"):
    spec["model_dir"] = str(snakemake.input.model)
n = sample_problems(problems, spec, model_name=snakemake.params.model, n=snakemake.params.samples,
                    out_path=snakemake.output[0], progress_path=snakemake.params.progress,
                    batch_size=snakemake.params.batch_size,
                    backend_options=allocation_options(snakemake.params.backend_options,
                                                       snakemake.resources.get("gpu", 0)))
log.info("%s on %s: %d samples (%d per problem)", snakemake.params.model, snakemake.wildcards.benchmark, n,
         snakemake.params.samples)
