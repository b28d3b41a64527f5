from scripts._common import setup

log = setup(snakemake)

from ded.io import read_records, write_records  # noqa: E402
from ded.select.teacher import smoke_corpus  # noqa: E402

rows = []
for domain, samples, verdicts, problems in zip(snakemake.params.domains, snakemake.input.samples,
                                               snakemake.input.verdicts, snakemake.input.problems):
    part = smoke_corpus(read_records(verdicts, "verdict"), read_records(samples, "sample"),
                        read_records(problems, "problem"), snakemake.wildcards.teacher, domain)
    log.info("%s: %d questions with a verified sample", domain, len(part))
    rows += part
if not rows:
    raise SystemExit(f"teacher {snakemake.wildcards.teacher}: no verified sample on any seed question; "
                     "the smoke test has nothing to distil (see the filter summaries)")
write_records(snakemake.output[0], rows, "corpus_row")
