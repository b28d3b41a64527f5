from scripts._common import setup

log = setup(snakemake)

from pathlib import Path  # noqa: E402

from ded.data.decontaminate import remove_contaminated, report_markdown  # noqa: E402
from ded.io import atomic_path, read_records, write_records  # noqa: E402

seeds = read_records(snakemake.input.seeds, "problem", allow_empty=False)
matches = {Path(p).stem: read_records(p, "contamination") for p in snakemake.input.matches}
clean = remove_contaminated(seeds, [m for ms in matches.values() for m in ms])
write_records(snakemake.output.seeds, clean, "problem")
with atomic_path(snakemake.output.report) as tmp:
    tmp.write_text(report_markdown(snakemake.wildcards.domain, seeds, matches))
log.info("%d seeds kept of %d", len(clean), len(seeds))
