from scripts._common import setup

log = setup(snakemake)

from ded.sample import allocation_options, sample_problems  # noqa: E402
from ded.sample.shards import take_shard  # noqa: E402
from ded.io import read_records  # noqa: E402

p = snakemake.params
problems = read_records(snakemake.input.problems, "problem", allow_empty=False)
# A sharded job ({shard} = k-of-n) answers its share of the questions (ded/sample/shards.py).
problems = take_shard(problems, snakemake.wildcards.get("shard"))
model = snakemake.input.get("model")
model = (model if isinstance(model, str) else (list(model) or [None])[0])
n = sample_problems(
    problems, p.teacher, model_name=snakemake.wildcards.teacher,
    n=p.samples_per_question, out_path=snakemake.output[0], progress_path=p.progress,
    batch_size=p.batch_size, seed=p.seed, model_path=model,
    backend_options=allocation_options({}, snakemake.resources.get("gpu", 0), snakemake.threads))
log.info("%d samples written to %s", n, snakemake.output[0])
