from scripts._common import setup

log = setup(snakemake)

import pandas as pd  # noqa: E402

from ded.evaluate.metrics import delta_vs_base  # noqa: E402
from ded.evaluate.tables import collect_scores, scores_frame, write_scores, write_summary  # noqa: E402

paths = [p for p in snakemake.input if str(p).endswith("scores.tsv")]
scores = collect_scores(paths)
deltas = delta_vs_base(scores)
if deltas:
    scores = pd.concat([scores, scores_frame(deltas)], ignore_index=True)
    scores = scores.sort_values(["model", "benchmark", "metric"], kind="stable").reset_index(drop=True)
write_scores(snakemake.output.scores, scores)
write_summary(scores, snakemake.output.markdown, snakemake.output.csv)
log.info("%d score rows (%d deltas) from %d files", len(scores), len(deltas), len(paths))
