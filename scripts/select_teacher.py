from scripts._common import setup

log = setup(snakemake)

from ded.evaluate.tables import problem_rates_by_score_file  # noqa: E402
from ded.io import atomic_path, write_json  # noqa: E402
from ded.select.teacher import read_scores, score_table_tsv, select_teacher, teacher_scores  # noqa: E402

p = snakemake.params
student = snakemake.wildcards.student
scores = [row for path in snakemake.input.scores for row in read_scores(path)]
if p.pinned:
    selection, table = select_teacher([], p.metrics, student, pinned=p.pinned, teachers=p.teachers), []
else:
    table = teacher_scores(scores, p.metrics, student, p.teachers, p.rule)
    selection = select_teacher(scores, p.metrics, student, p.rule, p.teachers,
                               rates=problem_rates_by_score_file(snakemake.input.verdicts))
with atomic_path(snakemake.output.table) as tmp:
    tmp.write_text(score_table_tsv(table))
write_json(snakemake.output.selection, selection)
log.info("student %s: teacher %s (%s)", student, selection["teacher"],
         "pinned in the config" if selection["pinned"] else f"rule {p.rule}: {selection['scores']}")
