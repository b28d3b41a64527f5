from scripts._common import setup

log = setup(snakemake)

from ded.data.traces import warmstart_rows  # noqa: E402
from ded.io import write_records  # noqa: E402

spec = snakemake.params.spec
rows = warmstart_rows(snakemake.wildcards.teacher, spec["style"], spec.get("n", 64), snakemake.params.domains)
write_records(snakemake.output[0], rows, "corpus_row")
log.info("%d %s-style warm-start traces for %s", len(rows), spec["style"], snakemake.wildcards.teacher)
