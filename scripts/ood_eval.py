from scripts._common import setup

log = setup(snakemake)

from ded.evaluate.lm_eval_suite import run_suite, with_allocation  # noqa: E402
from ded.evaluate.tables import write_scores  # noqa: E402
from ded.io import write_json  # noqa: E402

settings = with_allocation(snakemake.params.settings, snakemake.resources.get("gpu", 0))
rows, raw = run_suite(settings, snakemake.input.model, snakemake.params.model, snakemake.params.work_dir,
                      log_path=snakemake.log[0])
write_json(snakemake.output.raw, raw)
write_scores(snakemake.output.scores, rows)
log.info("%s: %d out-of-domain score rows", snakemake.params.model, len(rows))
