"""Evaluation: benchmark scores from verdicts, the long-form scores table,
summary tables, and the out-of-domain suites through lm-evaluation-harness.

- `metrics`: pass@1, its spread across runs, unbiased pass@k, response
  length, per-difficulty rows, deltas against the base student.
- `tables`: reading, writing and collecting score TSVs; wide summaries.
- `plan`: what is evaluated (model path fragments) and with which sampling settings.
- `lm_eval_suite`: lm-eval command lines from config; its results JSON as score rows.
"""

from .metrics import (  # noqa: F401
    UNDECIDED_VERDICTS,
    delta_vs_base,
    pass_at_k,
    score_benchmark,
)
from .tables import collect_scores, read_scores, summary_tables, write_scores, write_summary  # noqa: F401
