from scripts._common import setup

log = setup(snakemake)

from pathlib import Path  # noqa: E402

from ded.io import read_records, write_json, write_records  # noqa: E402
from ded.select.corpora import CorpusSettings, build_corpus, parse_corpus_name  # noqa: E402

variant, domain = parse_corpus_name(snakemake.wildcards.corpus)
settings = CorpusSettings(**snakemake.params.settings, workers=snakemake.threads)
inputs = snakemake.input
kwargs = {}
if variant == "mixed":
    kwargs["ded_corpora"] = {Path(p).stem.split("-")[0]: read_records(p, "corpus_row") for p in inputs.ded_corpora}
else:
    kwargs.update(samples=read_records(inputs.samples, "sample"), verdicts=read_records(inputs.verdicts, "verdict"),
                  problems=read_records(inputs.problems, "problem"))
    if "pass_rates" in inputs.keys():
        kwargs["pass_rates"] = read_records(inputs.pass_rates, "pass_rate")
rows, stats = build_corpus(variant, teacher=snakemake.wildcards.teacher, domain=domain, settings=settings, **kwargs)
if not rows:
    raise SystemExit(f"corpus {snakemake.wildcards.corpus} is empty: {stats['dropped_questions']}")
write_records(snakemake.output.corpus, rows, "corpus_row")
write_json(snakemake.output.stats, {"student": snakemake.wildcards.student, **stats})
log.info("%s: %d rows, %d questions, %d characters; left out: %s", stats["corpus"], stats["rows"],
         stats["questions"], stats["chars"], stats["dropped_questions"])
