from scripts._common import setup

log = setup(snakemake)

from ded.train import stage_section, train_sft  # noqa: E402

import os  # noqa: E402

import torch  # noqa: E402

from ded.gpus import training_gpus  # noqa: E402

# GPUs granted to this job (the `gpu` resource; 0 trains on the CPU, as do count-only GPUs: ded.gpus).
gpus = training_gpus(int(snakemake.resources.get("gpu", 0) or 0), os.environ, torch.cuda.device_count())
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
