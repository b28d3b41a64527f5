# Analysis stage: token entropy (Figure 3), PCA centroid shift (Figure 4),
# corpus statistics, Tables 1-7 and Figure 1. Outputs under results/analysis/,
# marked for the Snakemake report with captions in report/.
#
# Paths of other stages come from PATHS (rules/common.smk); the defaults
# below only stand in where common.smk does not define a pattern yet.

ANALYSIS_PATHS = dict(
    kept=PATHS.get("kept", "results/filter/{teacher}/{domain}/kept.jsonl"),
    seeds=PATHS.get("seeds", "results/data/seeds/{domain}.jsonl"),
    benchmark=PATHS.get("benchmark", "results/data/benchmarks/{benchmark}.jsonl"),
    corpus=PATHS.get("corpus", "results/corpus/{student}/{teacher}/{corpus}.jsonl"),
    trained_model=PATHS.get("trained_model", "results/train/{student}/{teacher}/{corpus}/model"),
    scores=PATHS.get("scores", "results/scores.tsv"),
    corpus_stats=PATHS.get("corpus_stats", "results/corpus_stats.tsv"),
    entropy_values="results/analysis/entropy/{teacher}/{domain}.npz",
    entropy_summary="results/analysis/entropy/{teacher}/{domain}.json",
    entropy_table="results/analysis/entropy/summary.tsv",
    figure3="results/analysis/figure3_entropy.{ext}",
    pca_dir="results/analysis/pca/{student}/{teacher}/{corpus}",
    pca_comparison="results/analysis/pca/{student}/comparison.{ext}",
    tables="results/analysis/tables/{table}.{ext}",
    figure1="results/analysis/figure1_corpus_size.{ext}",
)

from ded import jobs as ded_jobs


rule token_entropy:
    input:
        corpus=ANALYSIS_PATHS["kept"],
        problems=ANALYSIS_PATHS["seeds"],
        model=analysis_scoring_model,
    output:
        values=ANALYSIS_PATHS["entropy_values"],
        summary=ANALYSIS_PATHS["entropy_summary"],
    log:
        "logs/analysis/token_entropy/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/analysis/token_entropy/{teacher}/{domain}.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        scoring_model=lambda w: analysis_cfg("entropy", "scoring_model"),
        max_tokens=analysis_cfg("entropy", "max_tokens"),
        batch_size=analysis_cfg("entropy", "batch_size"),
        dtype=analysis_cfg("entropy", "dtype"),
        bins=analysis_cfg("entropy", "bins"),
    script:
        "../scripts/token_entropy.py"


rule entropy_figure:
    input:
        values=[ANALYSIS_PATHS["entropy_values"].format(teacher=t, domain=d) for t, d in analysis_entropy_corpora()],
        summaries=[ANALYSIS_PATHS["entropy_summary"].format(teacher=t, domain=d) for t, d in analysis_entropy_corpora()],
    output:
        table=report(
            ANALYSIS_PATHS["entropy_table"], caption="../report/entropy_table.rst", category="Figure 3: token entropy"
        ),
        png=report(
            ANALYSIS_PATHS["figure3"].format(ext="png"),
            caption="../report/entropy.rst",
            category="Figure 3: token entropy",
        ),
        pdf=ANALYSIS_PATHS["figure3"].format(ext="pdf"),
    log:
        "logs/analysis/entropy_figure.log",
    benchmark:
        "benchmarks/analysis/entropy_figure.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        labels=[f"{d}: {t}" for t, d in analysis_entropy_corpora()],
        scorer=lambda w: (
            analysis_entropy_student()
            if analysis_cfg("entropy", "scoring_model") == "student"
            else "each corpus's teacher"
        ),
        # every candidate teacher's corpus is scored, so the chosen one is not needed (nor waited for)
        run=run_description(),
    script:
        "../scripts/entropy_figure.py"


rule pca_shift:
    input:
        unpack(analysis_pca_inputs),
    output:
        distances=report(
            os.path.join(ANALYSIS_PATHS["pca_dir"], "shift.tsv"),
            caption="../report/pca_table.rst",
            category="Figure 4: PCA centroid shift",
            subcategory="{student} ← {teacher} ({corpus})",
        ),
        projections=os.path.join(ANALYSIS_PATHS["pca_dir"], "projections.npz"),
        png=report(
            os.path.join(ANALYSIS_PATHS["pca_dir"], "figure4.png"),
            caption="../report/pca.rst",
            category="Figure 4: PCA centroid shift",
            subcategory="{student} ← {teacher} ({corpus})",
        ),
        pdf=os.path.join(ANALYSIS_PATHS["pca_dir"], "figure4.pdf"),
    log:
        "logs/analysis/pca_shift/{student}/{teacher}/{corpus}.log",
    benchmark:
        "benchmarks/analysis/pca_shift/{student}/{teacher}/{corpus}.tsv"
    wildcard_constraints:
        corpus="|".join(list(CORPORA) + [ded_jobs.SMOKE_RUN]),  # smoke: the teacher's smoke-test student
    conda:
        "../envs/analysis.yaml"
    params:
        benchmarks=analysis_pca_benchmarks(),
        layers=analysis_cfg("pca", "layers"),
        max_prompts=analysis_cfg("pca", "max_prompts"),
        max_tokens=analysis_cfg("pca", "max_tokens"),
        batch_size=analysis_cfg("pca", "batch_size"),
        dtype=analysis_cfg("pca", "dtype"),
        plot_layer=analysis_cfg("pca", "plot_layer"),
        method=analysis_cfg("pca", "method"),
        seed=analysis_cfg("pca", "seed"),
        pool_padding=analysis_cfg("pca", "pool_padding"),
        # The script needs no ded.jobs (its imports are not in the analysis env) to name the run.
        smoke=lambda w: w.corpus == ded_jobs.SMOKE_RUN,
        run=lambda w: run_description(
            {w.student: w.teacher}, "the run shown", only={"student": w.student, "teacher": w.teacher}
        ),
    script:
        "../scripts/pca_shift.py"


rule pca_comparison:
    input:
        tables=lambda w: [
            os.path.join(ANALYSIS_PATHS["pca_dir"].format(student=s, teacher=t, corpus=c), "shift.tsv")
            for s, t, c in analysis_pca_comparison_runs(w)
        ],
    output:
        table=report(
            ANALYSIS_PATHS["pca_comparison"].replace("{ext}", "tsv"),
            caption="../report/pca_comparison_table.rst",
            category="Figure 4: PCA centroid shift",
            subcategory="{student}: teachers compared",
        ),
        png=report(
            ANALYSIS_PATHS["pca_comparison"].replace("{ext}", "png"),
            caption="../report/pca_comparison.rst",
            category="Figure 4: PCA centroid shift",
            subcategory="{student}: teachers compared",
        ),
        pdf=ANALYSIS_PATHS["pca_comparison"].replace("{ext}", "pdf"),
    log:
        "logs/analysis/pca_comparison/{student}.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        runs=lambda w: ["/".join(r) for r in analysis_pca_comparison_runs(w)],
        teachers=lambda w: [t for _, t, _ in analysis_pca_comparison_runs(w)],
        corpus=lambda w: sorted({c for _, _, c in analysis_pca_comparison_runs(w)}),
        smoke_run=ded_jobs.SMOKE_RUN,  # the corpus name of a smoke-test student
        benchmarks=analysis_pca_benchmarks(),
        method=analysis_cfg("pca", "method"),
        max_prompts=analysis_cfg("pca", "max_prompts"),
        max_tokens=analysis_cfg("pca", "max_tokens"),
        seed=analysis_cfg("pca", "seed"),
        run=lambda w: run_description(),
    script:
        "../scripts/pca_comparison.py"


rule corpus_stats:
    input:
        analysis_corpus_files,
    output:
        report(ANALYSIS_PATHS["corpus_stats"], caption="../report/corpus_stats.rst", category="Tables"),
    log:
        "logs/analysis/corpus_stats.log",
    benchmark:
        "benchmarks/analysis/corpus_stats.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        runs=lambda w: ["/".join(r) for r in analysis_runs()],
        run=lambda w: analysis_run_description(),
    script:
        "../scripts/corpus_stats.py"


rule paper_tables:
    input:
        scores=ANALYSIS_PATHS["scores"],
        corpus_stats=ANALYSIS_PATHS["corpus_stats"],
        selection=analysis_selection_files(),
    output:
        **analysis_table_outputs(),
    log:
        "logs/analysis/paper_tables.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        settings=ded_jobs.analysis_table_settings(config),
        methods=analysis_cfg("methods"),
        in_domain=list(config["benchmarks"]),
        run=lambda w: analysis_run_description(),
    script:
        "../scripts/paper_tables.py"


rule figure1:
    input:
        scores=ANALYSIS_PATHS["scores"],
        corpus_stats=ANALYSIS_PATHS["corpus_stats"],
        selection=analysis_selection_files(),
    output:
        png=report(
            ANALYSIS_PATHS["figure1"].format(ext="png"),
            caption="../report/figure1.rst",
            category="Figure 1: corpus size",
        ),
        pdf=ANALYSIS_PATHS["figure1"].format(ext="pdf"),
        points=ANALYSIS_PATHS["figure1"].format(ext="tsv"),
    log:
        "logs/analysis/figure1.log",
    benchmark:
        "benchmarks/analysis/figure1.tsv"
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        benchmarks=analysis_figure1_benchmarks(),
        literature=analysis_cfg("literature"),
        run=lambda w: analysis_run_description(),
    script:
        "../scripts/figure1.py"
