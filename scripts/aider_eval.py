import json

from scripts._common import setup

log = setup(snakemake)

from ded.evaluate.aider import run_job, score_rows  # noqa: E402
from ded.evaluate.tables import write_scores  # noqa: E402
from ded.sample import allocation_options  # noqa: E402

with open(snakemake.input.harness, encoding="utf-8") as fh:
    python = json.load(fh)["python"]
summary = run_job(str(snakemake.input.model), snakemake.params.model, dict(snakemake.params.settings),
                  python=python, harness=snakemake.params.harness, exercises=snakemake.params.exercises,
                  run_dir=snakemake.params.run_dir, summary_path=snakemake.output.summary,
                  workflow_dir=snakemake.params.workflow_dir, backend=snakemake.params.backend,
                  backend_options=allocation_options(snakemake.params.backend_options,
                                                     snakemake.resources.get("gpu", 0)), log=log)
write_scores(snakemake.output.scores, score_rows(snakemake.params.model, summary))
log.info("%s: Aider pass_rate_1 %.1f, pass_rate_%d %.1f on %d exercises", snakemake.params.model,
         summary["pass_rate_1"], summary["tries"], summary[f"pass_rate_{summary['tries']}"], summary["completed"])
