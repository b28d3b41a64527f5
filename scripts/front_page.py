from scripts._common import setup

log = setup(snakemake)

import csv  # noqa: E402
from pathlib import Path  # noqa: E402

from ded.evaluate.tables import gains_frame, read_scores  # noqa: E402
from ded.io import atomic_path, iter_records, read_json, read_records  # noqa: E402
from ded.provenance import job_provenance  # noqa: E402
from ded.report import front_page  # noqa: E402


def tsv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def count(path, kind):
    return sum(1 for _ in iter_records(path, kind))


inp = snakemake.input
selections = {}
for path in inp.selections:
    record = read_json(path, "teacher selection")
    selections[record["student"]] = record
# the checkpoint's per-teacher table (empty when the teacher is pinned), beside its teacher.json
tables = {Path(p).parent.name: tsv(p) for p in inp.selection_tables}
# results/filter/<teacher>/<domain>/summary.tsv
summaries = {(Path(p).parent.parent.name, Path(p).parent.name): tsv(p) for p in inp.filter_summaries}
stats = {}
for path in inp.corpus_stats:
    record = read_json(path, "corpus stats")
    stats[(record["student"], record["teacher"], record["corpus"])] = record
decontamination = {Path(p).stem: {"loaded": count(p, "problem")} for p in inp.seeds_loaded}
for path in inp.seeds:
    decontamination[Path(path).stem]["kept"] = count(path, "problem")
for path in inp.seeds_excluded:
    decontamination[Path(path).stem]["excluded"] = count(path, "excluded")
for path in inp.contamination:  # results/data/decontamination/<domain>/<benchmark>.jsonl
    matches = decontamination[Path(path).parent.name].setdefault("matches", {})
    matches[Path(path).stem] = read_records(path, "contamination")

# This job's own commit and packages, and the models and datasets the data jobs read (a job run before
# provenance was recorded has no record: it is left out).
provenance = job_provenance(snakemake.rule, {}, {})
for path in snakemake.params.source_records:
    if Path(path).exists():
        provenance["sources"] += read_json(path, "job provenance").get("sources", [])
text = front_page(snakemake.params.setup, list(snakemake.params.configfiles), selections=selections,
                  selection_tables=tables, filter_summaries=summaries, corpus_stats=stats,
                  decontamination=decontamination, provenance=provenance,
                  gains=gains_frame(read_scores(inp.scores)).to_dict("records"))
with atomic_path(snakemake.output[0]) as tmp:
    Path(tmp).write_text(text, encoding="utf-8")
log.info("front page written: %d lines", text.count("\n"))
