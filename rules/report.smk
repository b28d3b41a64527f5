# The report's front page: Snakemake's global `report:` description (see the
# Snakefile), written by rule front_page from the run's records, since the
# description is static text read when `snakemake --report` runs.

from ded.report import FRONT_PAGE, front_page_setup


rule front_page:
    input:
        selections=expand(PATHS["selection"], student=config["students"]),
        selection_tables=expand("results/selection/{student}/scores.tsv", student=config["students"]),
        filter_summaries=expand(PATHS["filter_summary"], teacher=config["teachers"], domain=config["seeds"]),
        seeds_loaded=expand(PATHS["seeds_raw"], domain=config["seeds"]),
        seeds_excluded=expand(PATHS["seeds_excluded"], domain=config["seeds"]),
        seeds=expand(PATHS["seeds"], domain=config["seeds"]),
        contamination=expand(PATHS["contamination"], domain=config["seeds"], benchmark=config["benchmarks"]),
        corpus_stats=front_page_corpus_stats,
        # the page points at the scores, so it is written once they exist
        scores=PATHS["scores"],
    output:
        FRONT_PAGE,
    log:
        "logs/report/front_page.log",
    benchmark:
        "benchmarks/report/front_page.tsv"
    localrule: True
    conda:
        "../envs/verify.yaml"
    params:
        setup=front_page_setup(config),
        configfiles=RUN_CONFIGFILES,
        source_records=front_page_source_records(),
    script:
        "../scripts/front_page.py"
