import os

from scripts._common import setup

log = setup(snakemake)

from ded.evaluate.lm_eval_suite import run_suite, with_allocation  # noqa: E402
from ded.evaluate.tables import write_scores  # noqa: E402
from ded.io import write_json  # noqa: E402

settings = with_allocation(snakemake.params.settings, snakemake.resources.get("gpu", 0))
env = None
if settings.get("procedural"):
    # The generated suite is local: no hub look-ups, which would hang or fail without network.
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
rows, raw = run_suite(settings, snakemake.input.model, snakemake.params.model, snakemake.params.work_dir,
                      env=env, log_path=snakemake.log[0])
write_json(snakemake.output.raw, raw)
write_scores(snakemake.output.scores, rows)
log.info("%s: %d out-of-domain score rows", snakemake.params.model, len(rows))
