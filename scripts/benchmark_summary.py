from scripts._common import setup

log = setup(snakemake)

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from ded.data.benchmark_summary import SUMMARY_COLUMNS, summary_markdown, summary_rows, unbalanced_benchmarks  # noqa: E402
from ded.io import atomic_path, read_records  # noqa: E402

rows = [row for path in snakemake.input for row in summary_rows(Path(path).stem, read_records(path, "problem"))]
with atomic_path(snakemake.output.tsv) as tmp:
    pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)).to_csv(tmp, sep="\t", index=False)
with atomic_path(snakemake.output.md) as tmp:
    Path(tmp).write_text(summary_markdown(rows), encoding="utf-8")
for name, p in unbalanced_benchmarks(rows).items():
    log.warning("%s: the right answer is not spread evenly over the option letters (chi-square p = %.2g)", name, p)
