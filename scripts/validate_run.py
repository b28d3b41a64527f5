from scripts._common import setup

log = setup(snakemake)

import re  # noqa: E402
from pathlib import Path  # noqa: E402

from snakemake.io import regex_from_filepattern  # noqa: E402

from ded.errors import DedError  # noqa: E402
from ded.io import atomic_path, iter_records, read_records  # noqa: E402
from ded.validate import failures, markdown, validate_run  # noqa: E402

patterns = snakemake.params.patterns


def wildcards_of(kind, path):
    """The wildcard values of `path` under its PATHS pattern (rules/common.smk)."""
    match = re.match(regex_from_filepattern(patterns[kind]), path)
    if not match:
        raise DedError(f"validate_run: {path} does not follow the layout {patterns[kind]}")
    return match.groupdict()


inp = snakemake.input
questions = {wildcards_of("seeds", p)["domain"]: [r["id"] for r in iter_records(p, "problem")] for p in inp.seeds}
samples, verdicts, pass_rates, corpora = {}, {}, {}, {}
for p in inp.samples:
    w = wildcards_of("samples", p)
    samples[(w["teacher"], w["domain"])] = [(r["question_id"], r["sample_id"]) for r in iter_records(p, "sample")]
for p in inp.verdicts:
    w = wildcards_of("verdicts", p)
    verdicts[(w["teacher"], w["domain"])] = [
        {k: r[k] for k in ("question_id", "sample_id", "verdict", "keep")} for r in iter_records(p, "verdict")]
for p in inp.pass_rates:
    w = wildcards_of("pass_rates", p)
    pass_rates[(w["student"], w["domain"])] = read_records(p, "pass_rate")
for p in inp.corpora:
    w = wildcards_of("corpus", p)
    corpora[(w["student"], w["teacher"], w["corpus"])] = [
        {k: r[k] for k in ("question_id", "sample_id", "domain")} for r in iter_records(p, "corpus_row")]

findings = validate_run(m=snakemake.params.m, per_question=snakemake.params.per_question, threshold=snakemake.params.threshold,
                        teachers=snakemake.params.teachers, questions=questions, samples=samples, verdicts=verdicts,
                        pass_rates=pass_rates, corpora=corpora)
for f in findings:
    log.info("%s | %s | %s | %s", f.status, f.check, f.scope, f.detail)
broken = failures(findings)
if broken:
    raise DedError(f"{len(broken)} invariant(s) between stages broken, e.g. {broken[0].check} ({broken[0].scope}): "
                   f"{broken[0].detail}; every check is in this log")
with atomic_path(snakemake.output.tsv) as tmp:
    lines = ["check\tscope\tstatus\tdetail"] + ["\t".join((f.check, f.scope, f.status, f.detail)) for f in findings]
    Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8")
with atomic_path(snakemake.output.md) as tmp:
    Path(tmp).write_text(markdown(findings), encoding="utf-8")
log.info("%d checks between stages hold", len(findings))
