# The report's front page: Snakemake's global `report:` description (see the
# Snakefile), written by rule front_page from the run's records, since the
# description is static text read when `snakemake --report` runs.

from ded.report import FRONT_PAGE, front_page_setup

#: build_corpus's `stats` output (rules/select.smk).
FRONT_PAGE_CORPUS_STATS = "results/corpus/{student}/{teacher}/{corpus}.stats.json"


def front_page_description():
    """The Snakefile's `report:` path: the front page once rule front_page has written it, else
    report/workflow.rst, which says how to get it (a dry run or a report before the run still works).
    Absolute, because Snakemake joins a relative `report:` path to the Snakefile's folder, and the
    front page is in the working directory."""
    return os.path.abspath(FRONT_PAGE) if os.path.exists(FRONT_PAGE) else "report/workflow.rst"


def front_page_source_records():
    """The provenance records of the jobs that read models and datasets (scripts/_common.py writes one
    beside each log): where the front page finds which revisions were read."""
    from snakemake.io import strip_wildcard_constraints

    def log_of(rule, **values):
        return expand(strip_wildcard_constraints(rule.rule.log[0]), **values)

    logs = (log_of(rules.prepare_model, model=materialized_models())
            + log_of(rules.load_seeds, domain=config["seeds"])
            + log_of(rules.load_benchmark, benchmark=config["benchmarks"])
            + log_of(rules.warmstart_corpus, teacher=config["teachers"]))
    return [os.path.splitext(path)[0] + ".provenance.json" for path in logs]


def front_page_corpus_stats(wildcards):
    """The stats of every corpus of the chosen teachers (read from the selection checkpoint)."""
    return [FRONT_PAGE_CORPUS_STATS.format(student=s, teacher=t, corpus=c) for s, t, c in trained_triples()]


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
    params:
        setup=front_page_setup(config),
        configfiles=RUN_CONFIGFILES,
        source_records=front_page_source_records(),
    log:
        "logs/report/front_page.log",
    benchmark:
        "benchmarks/report/front_page.tsv"
    conda:
        "../envs/verify.yaml"
    script:
        "../scripts/front_page.py"
