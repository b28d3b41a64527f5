# DED: data-efficient distillation of reasoning (arXiv 2508.09883).
# The rule graph follows the paper's Figure 2: data -> teacher sampling ->
# quality/correctness filter -> teacher smoke test -> question compression ->
# diversity -> training -> evaluation -> analysis.

import sys

from snakemake.utils import min_version, update_config

min_version("9.0")

sys.path.insert(0, workflow.basedir)

from ded.overrides import typed_overrides
from ded.settings import resolve_config

# The embedded default applies only when no --configfile is given: Snakemake
# would otherwise merge the default's teachers and models into another setup.
# Snakemake merges --config onto whichever base applies.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# Snakemake leaves every scalar inside a nested --config value a string.
update_config(config, typed_overrides(workflow.config_settings.config))
# Validated against config/schema.yaml, every default filled in (per-name entries too):
# from here on the rules read plain keys; the schema is the only place a default lives.
resolve_config(config, f"{workflow.basedir}/config/schema.yaml")


include: "rules/common.smk"
include: "rules/resources.smk"
include: "rules/data.smk"
include: "rules/sample.smk"
include: "rules/filter.smk"
include: "rules/select.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/analysis.smk"
include: "rules/paper_compare.smk"
include: "rules/validate.smk"
include: "rules/report.smk"


# The report's front page (`snakemake --report`): written by rule front_page at
# the end of a run; before that, report/workflow.rst says so.
report: front_page_description()


rule all:
    default_target: True
    input:
        # The first is known up front, so all students' smoke tests run in
        # parallel; the second waits for the checkpoint (the report's front
        # page among them: named here directly, it would be planned with the
        # previous choice while the checkpoint reruns).
        static_targets(),
        selected_targets,
    localrule: True
