from scripts._common import setup

log = setup(snakemake)

from ded.evaluate.aider import harness_python  # noqa: E402
from ded.io import write_json  # noqa: E402

python, version = harness_python(snakemake.params.python, snakemake.params.workflow_dir)
write_json(snakemake.output[0], {"python": python, "aider": version})
log.info("Aider's harness runs with %s (aider-chat %s)", python, version)
