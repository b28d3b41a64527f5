# This run against the paper: each published value of the config's
# `paper_values` (config/paper.yaml holds them) beside this run's score, the
# difference, and the settings of the run that differ from config/paper.yaml
# (ded/analysis/paper_compare.py). The embedded default has no published
# values: its table says the comparison does not apply. Include after
# common.smk and analysis.smk (run descriptions, the selection checkpoint).

from ded.analysis.paper_compare import check_paper_values

PAPER_COMPARISON = dict(csv="results/paper_comparison.csv", md="results/paper_comparison.md")

check_paper_values(config.get("paper_values"))


PAPER_COMPARISON_SETTINGS = paper_comparison_settings()


rule paper_comparison:
    input:
        scores=PATHS["scores"],
        # the caption names the chosen teachers (analysis_run_description reads the checkpoint)
        selection=analysis_selection_files(),
    output:
        csv=report(PAPER_COMPARISON["csv"], caption="../report/paper_comparison.rst", category="Tables"),
        md=PAPER_COMPARISON["md"],
    log:
        "logs/analysis/paper_comparison.log",
    benchmark:
        "benchmarks/analysis/paper_comparison.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        paper_values=config.get("paper_values") or [],
        settings=PAPER_COMPARISON_SETTINGS,
        differs=paper_comparison_differs(PAPER_COMPARISON_SETTINGS),
        run=lambda w: analysis_run_description(),
    script:
        "../scripts/paper_comparison.py"
