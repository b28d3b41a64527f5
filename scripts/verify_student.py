from scripts._common import setup, write_timings

log = setup(snakemake)

from ded.io import read_index, read_records, write_records  # noqa: E402
from ded.filter import summarize_verdicts, verify_samples  # noqa: E402

settings = snakemake.params.settings
samples = read_records(snakemake.input.samples, "sample", allow_empty=False)
problems = read_index(snakemake.input.problems, "problem", allow_empty=False)
# Correctness only: the student's length is not what compression measures. Always lenient (no config
# key): students need not write <think>, and a strict format check would fail every answer of one
# that does not, so compression would drop nothing.
timings: list[dict] = []
verdicts = verify_samples(samples, problems, workers=snakemake.threads,
                          float_tolerance=settings["float_tolerance"], math_timeout_s=settings["math_timeout_s"],
                          task_timeout_s=settings["task_timeout_s"], lenient=True, timings=timings)
write_records(snakemake.output[0], verdicts, "verdict")
write_timings(snakemake, timings, log)
for row in summarize_verdicts(verdicts):
    log.info("%s", row)
