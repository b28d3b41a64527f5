"""Selection: what makes the workflow DED rather than plain distillation.

- `teacher`: the smoke test's choice of teacher, and the smoke corpus;
- `compression`: the student's pass rates and question compression;
- `diversity`: the P most diverse verified trajectories per question;
- `corpora`: the DED corpus and the ablation variants, by name.

Pure functions over records (ded/records.py); the Snakemake rules call them.
"""

from .compression import PASS_VERDICTS, UNDECIDED_VERDICTS, compress, pass_rates
from .corpora import (DED_VARIANT, VARIANTS, CorpusSettings, build_corpus, corpus_name, corpus_names,
                      parse_corpus_name)
from .diversity import select_diverse, select_diverse_many
from .teacher import read_scores, select_teacher, smoke_corpus, smoke_model, teacher_scores

__all__ = [
    "PASS_VERDICTS", "UNDECIDED_VERDICTS", "compress", "pass_rates",
    "DED_VARIANT", "VARIANTS", "CorpusSettings", "build_corpus", "corpus_name", "corpus_names", "parse_corpus_name",
    "select_diverse", "select_diverse_many",
    "read_scores", "select_teacher", "smoke_corpus", "smoke_model", "teacher_scores",
]
