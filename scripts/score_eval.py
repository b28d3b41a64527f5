from scripts._common import setup

log = setup(snakemake)

from ded.evaluate.metrics import score_samples  # noqa: E402
from ded.evaluate.tables import write_scores  # noqa: E402
from ded.io import read_records, write_records  # noqa: E402

samples = read_records(snakemake.input.samples, "sample", allow_empty=False)
problems = read_records(snakemake.input.problems, "problem", allow_empty=False)
verdicts, rows = score_samples(samples, problems, snakemake.params.model, snakemake.params.benchmark,
                               workers=snakemake.threads, pass_k=snakemake.params.pass_k)
write_records(snakemake.output.verdicts, verdicts, "verdict")
write_scores(snakemake.output.scores, rows)
for r in rows:
    log.info("%s %s %s = %.4f (n=%d)", r["model"], r["benchmark"], r["metric"], r["value"], r["n"])
