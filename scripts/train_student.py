import os

from scripts._common import setup

log = setup(snakemake)

from ded.gpus import cuda_device_count, training_gpus  # noqa: E402
from ded.train import stage_section, train_sft  # noqa: E402

# GPUs granted to this job (the `gpu` resource; 0 trains on the CPU, as do stand-in GPUs: ded.gpus).
asked = int(snakemake.resources.get("gpu", 0) or 0)
gpus = training_gpus(asked, os.environ, cuda_device_count()) if asked else 0
summary = train_sft(
    snakemake.input.corpus,
    snakemake.input.base_model,
    snakemake.output[0],
    snakemake.params.work_dir,
    # params.train is already resolved for the stage; stage_section hands it back in the form train_sft resolves.
    stage_section(snakemake.params.train, snakemake.params.stage),
    snakemake.params.template,
    gpus,
    stage=snakemake.params.stage,
)
log.info("trained %s: %s steps, final loss %s, %s s/step, %d examples kept, %d dropped over cutoff",
         snakemake.output[0], summary["steps"], summary["final_loss"], summary["seconds_per_step"],
         summary["examples_kept"], summary["examples_dropped"])
