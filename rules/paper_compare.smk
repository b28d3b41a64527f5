# This run against the paper: each published value of the config's
# `paper_values` (config/paper.yaml holds them) beside this run's score, the
# difference, and the settings of the run that differ from config/paper.yaml
# (ded/analysis/paper_compare.py). The embedded default has no published
# values: its table says the comparison does not apply. Include after
# common.smk and analysis.smk (run descriptions, the selection checkpoint).

import yaml

from ded.analysis.paper_compare import (PAPER_CONFIGFILE, check_paper_values, decisive_settings,
                                        setting_differences)
from snakemake.utils import validate as _validate_config

PAPER_COMPARISON = dict(csv="results/paper_comparison.csv", md="results/paper_comparison.md")

check_paper_values(config.get("paper_values"))


def paper_reference_config():
    """config/paper.yaml with the schema's defaults, as a run of it would see it."""
    with open(os.path.join(workflow.basedir, PAPER_CONFIGFILE), encoding="utf-8") as fh:
        reference = yaml.safe_load(fh)
    _validate_config(reference, schema=os.path.join(workflow.basedir, "config/schema.yaml"))
    return reference


def paper_comparison_settings():
    """{"run": ..., "paper": ...}: the decisive settings of this run and of config/paper.yaml; empty
    when there is nothing to compare, so that the embedded default's job reads nothing of paper.yaml."""
    if not config.get("paper_values"):
        return {}
    return {"run": decisive_settings(config), "paper": decisive_settings(paper_reference_config())}


def paper_comparison_differs(settings):
    """The caption's list: every decisive setting of the run that differs from config/paper.yaml's."""
    return setting_differences(settings["run"], settings["paper"]) if settings else []


def paper_comparison_targets():
    """For `rule all` (common.smk's selected_targets): after collect_scores, like the tables."""
    return list(PAPER_COMPARISON.values())


PAPER_COMPARISON_SETTINGS = paper_comparison_settings()


rule paper_comparison:
    input:
        scores=PATHS["scores"],
        # the caption names the chosen teachers (analysis_run_description reads the checkpoint)
        selection=analysis_selection_files(),
    output:
        csv=report(PAPER_COMPARISON["csv"], caption="../report/paper_comparison.rst", category="Tables"),
        md=PAPER_COMPARISON["md"],
    params:
        paper_values=config.get("paper_values") or [],
        settings=PAPER_COMPARISON_SETTINGS,
        differs=paper_comparison_differs(PAPER_COMPARISON_SETTINGS),
        run=lambda w: analysis_run_description(),
    log:
        "logs/analysis/paper_comparison.log",
    benchmark:
        "benchmarks/analysis/paper_comparison.tsv"
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/paper_comparison.py"
