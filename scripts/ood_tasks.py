from scripts._common import setup

log = setup(snakemake)

from ded.evaluate.ood_tasks import write_suite  # noqa: E402

spec = snakemake.params.procedural
# The output path is relative to the workflow folder, where lm-eval runs: the YAMLs name their data by it.
tasks = write_suite(snakemake.output[0], spec["n"], spec.get("seed", 0))
log.info("wrote %s with %d questions each into %s", ", ".join(tasks), spec["n"], snakemake.output[0])
