from scripts._common import setup

log = setup(snakemake)

from ded.generate import sample_problems  # noqa: E402
from ded.io import read_records  # noqa: E402

problems = read_records(snakemake.input.problems, "problem", allow_empty=False)
model = snakemake.input.get("model")
model = (model if isinstance(model, str) else (list(model) or [None])[0])
sampling = snakemake.params.sampling
n = sample_problems(
    problems, snakemake.params.teacher, model_name=snakemake.wildcards.teacher,
    n=sampling["samples_per_question"], out_path=snakemake.output[0], progress_path=snakemake.params.progress,
    batch_size=sampling["batch_size"], seed=sampling["seed"], model_path=model,
    backend_options={"tensor_parallel_size": snakemake.params.tensor_parallel_size, "threads": snakemake.threads})
log.info("%d samples written to %s", n, snakemake.output[0])
