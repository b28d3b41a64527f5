from scripts._common import setup

log = setup(snakemake)

import pandas as pd  # noqa: E402

from ded.evaluate.metrics import delta_vs_base, gain_se_rows  # noqa: E402
from ded.evaluate.tables import (  # noqa: E402
    collect_scores,
    problem_rates_by_score_file,
    scores_frame,
    write_scores,
    write_summary,
)

paths = [p for p in snakemake.input if str(p).endswith("scores.tsv")]

scores = collect_scores(paths)
deltas = delta_vs_base(scores)
# the per-problem outcomes behind each gain's paired standard error
deltas += gain_se_rows(problem_rates_by_score_file(snakemake.input.verdicts))
if deltas:
    scores = pd.concat([scores, scores_frame(deltas)], ignore_index=True)
    scores = scores.sort_values(["model", "benchmark", "metric"], kind="stable").reset_index(drop=True)
write_scores(snakemake.output.scores, scores)
write_summary(scores, snakemake.output.markdown, snakemake.output.csv)
log.info("%d score rows (%d deltas) from %d files", len(scores), len(deltas), len(paths))
