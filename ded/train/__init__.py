"""Training stage: LlamaFactory SFT of a student (or a warm-started teacher) on a corpus.

- `export`: corpus rows -> sharegpt dataset, over-long examples dropped and reported;
- `plan`: the `train` config section -> LlamaFactory YAML, gradient accumulation from the allocation;
- `run`: `train_sft`, resumable across kills, final model moved into place by rename;
- `entry`: the process entry (`python -m ded.train.entry train <yaml>`, also under torchrun).

llamafactory is imported only inside the functions that need it.
"""

from .export import ExportResult, TokenCounter, dataset_info, export_corpus, split_by_length, to_sharegpt
from .arguments import (TrainConfigError, grad_accumulation, llamafactory_args, render_yaml,
                   resolve_settings, stage_section, uses_torchrun)
from .run import TrainError, latest_checkpoint, train_sft

__all__ = ["ExportResult", "TokenCounter", "dataset_info", "export_corpus", "split_by_length", "to_sharegpt",
           "TrainConfigError", "grad_accumulation", "llamafactory_args", "render_yaml",
           "resolve_settings", "stage_section", "uses_torchrun", "TrainError", "latest_checkpoint", "train_sft"]
