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
ANALYSIS_TABLES = [f"table{i}" for i in range(1, 8)]

from ded import jobs as ded_jobs


def analysis_cfg(*keys):
    """A value of the `analysis` config section (schema defaults applied by validation)."""
    node = config.get("analysis", {})
    for key in keys:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return node


def analysis_entropy_corpora():
    """(teacher, domain) of every scored corpus, in one order for the inputs and the labels of entropy_figure."""
    return ded_jobs.entropy_corpora(config)


def analysis_entropy_student():
    return analysis_cfg("entropy", "student") or next(iter(config["students"]))


def analysis_scoring_model(wildcards):
    """Folder of the model that scores a teacher's corpus (analysis.entropy.scoring_model)."""
    if analysis_cfg("entropy", "scoring_model") == "teacher":
        folder = teacher_model_dir(wildcards.teacher)
        if not folder:
            raise ValueError(
                f"config: analysis.entropy.scoring_model = teacher, but teacher '{wildcards.teacher}' is not "
                f"materialised (models.{config['teachers'][wildcards.teacher]['model']}.materialize is false); "
                f"score with the student instead")
        return folder
    student = analysis_entropy_student()
    if student not in config["students"]:
        raise ValueError(f"config: analysis.entropy.student = {student!r} is not a key of `students`")
    return student_model_dir(student)


def analysis_runs():
    """Trained runs as (student, teacher, corpus): analysis.runs, else every corpus variant of each student's
    chosen teacher (common.smk's trained_triples(), which reads the teacher-selection checkpoint)."""
    return ded_jobs.analysis_runs(config, globals().get("trained_triples") or list)


def analysis_chosen():
    """{student: [teachers]} of the runs the analyses cover, for the captions: from analysis.runs when it
    names them, else the teacher the smoke test (or the config) chose."""
    if analysis_cfg("runs") is None:
        provider = globals().get("chosen_teachers")
        return provider() if provider else {}
    out = {}
    for s, t, _ in analysis_runs():
        out.setdefault(s, [])
        if t not in out[s]:
            out[s].append(t)
    return out


def analysis_run_description():
    """The `run` param of the analyses over all trained runs (corpus stats, tables, Figure 1)."""
    by = "the runs of analysis.runs" if analysis_cfg("runs") is not None else None
    return run_description(analysis_chosen(), by)


def analysis_selection_files():
    """Inputs of a rule whose params read the selection checkpoint (analysis_chosen): Snakemake waits for
    a checkpoint a param reads only when its output is an input. None when the config names the runs or
    pins the teacher."""
    if analysis_cfg("runs") is not None or config["teacher_selection"]["pinned"]:
        return []
    return expand(PATHS["selection"], student=config["students"])


def analysis_pca_runs():
    return ded_jobs.pca_runs(config, analysis_runs)


def analysis_pca_benchmarks():
    return analysis_cfg("pca", "benchmarks") or list(config["benchmarks"])


def analysis_pca_trained(wildcards):
    """The trained model of a Figure 4 run: corpus `smoke` (ded.jobs.SMOKE_RUN) is the teacher's smoke-test student."""
    if wildcards.corpus == ded_jobs.SMOKE_RUN:
        return PATHS["smoke_model"].format(student=wildcards.student, teacher=wildcards.teacher)
    return ANALYSIS_PATHS["trained_model"].format(**wildcards)


def analysis_pca_inputs(wildcards):
    return dict(
        base=student_model_dir(wildcards.student),
        trained=analysis_pca_trained(wildcards),
        problems=expand(ANALYSIS_PATHS["benchmark"], benchmark=analysis_pca_benchmarks()),
    )


def analysis_pca_comparison():
    """{student: [(student, teacher, corpus)]} of Figure 4's teacher comparison (analysis.pca.compare), from the
    config alone: known before the selection checkpoint."""
    out = {}
    for run in ded_jobs.pca_comparison_runs(config):
        out.setdefault(run[0], []).append(run)
    return out


def analysis_pca_comparison_runs(wildcards):
    return analysis_pca_comparison().get(wildcards.student, [])


def analysis_pca_comparison_targets():
    """The comparison figures and tables; `rule all` asks for them up front (they need no checkpoint)."""
    return [ANALYSIS_PATHS["pca_comparison"].format(student=s, ext=ext)
            for s in analysis_pca_comparison() for ext in ("png", "pdf", "tsv")]


def analysis_corpus_files(wildcards):
    return [ANALYSIS_PATHS["corpus"].format(student=s, teacher=t, corpus=c) for s, t, c in analysis_runs()]


def analysis_table_settings():
    """analysis.tables with its nulls resolved: in-domain columns from `benchmarks`, per-difficulty columns
    for its livecodebench benchmarks, Table 6's suites from evaluation.out_of_domain.tasks when that is
    enabled."""
    settings = dict(analysis_cfg("tables"))
    settings["benchmarks"] = settings.get("benchmarks") or list(config["benchmarks"])
    if settings.get("by_difficulty") is None:
        settings["by_difficulty"] = [b for b in settings["benchmarks"]
                                     if config["benchmarks"].get(b, {}).get("loader") == "livecodebench"]
    ood = config.get("evaluation", {}).get("out_of_domain", {})
    if settings.get("ood_benchmarks") is None and ood.get("enabled"):
        settings["ood_benchmarks"] = [t["name"] for t in ood.get("tasks", [])]
    return settings


def analysis_figure1_benchmarks():
    chosen = analysis_cfg("figure1", "benchmarks")
    if chosen:
        return chosen
    aime = [b for b in ("aime24", "aime25") if b in config["benchmarks"]]
    return aime or list(config["benchmarks"])[:1]


def analysis_table_outputs():
    """Named outputs of paper_tables: CSV in the report, Markdown and LaTeX beside it."""
    out = {}
    for t in ANALYSIS_TABLES:
        out[f"{t}_csv"] = report(ANALYSIS_PATHS["tables"].format(table=t, ext="csv"),
                                 caption=f"../report/{t}.rst", category="Tables")
        out[f"{t}_md"] = ANALYSIS_PATHS["tables"].format(table=t, ext="md")
        out[f"{t}_tex"] = ANALYSIS_PATHS["tables"].format(table=t, ext="tex")
    return out


def analysis_entropy_targets():
    """Figure 3's outputs. They read every teacher's corpus, not the chosen teacher's, so `rule all` asks for
    them before the selection checkpoint: they run beside the smoke test, and a dry run plans them."""
    return [ANALYSIS_PATHS["entropy_table"]] + expand(ANALYSIS_PATHS["figure3"], ext=["png", "pdf"])


def analysis_targets():
    """Everything the analysis stage makes; for `rule all` once the training and evaluation stages exist."""
    targets = analysis_entropy_targets()
    targets += expand(ANALYSIS_PATHS["tables"], table=ANALYSIS_TABLES, ext=["csv", "md", "tex"])
    targets += expand(ANALYSIS_PATHS["figure1"], ext=["png", "pdf"])
    for s, t, c in analysis_pca_runs():
        targets.append(ANALYSIS_PATHS["pca_dir"].format(student=s, teacher=t, corpus=c) + "/figure4.png")
    return targets + analysis_pca_comparison_targets()


rule token_entropy:
    input:
        corpus=ANALYSIS_PATHS["kept"],
        problems=ANALYSIS_PATHS["seeds"],
        model=analysis_scoring_model,
    output:
        values=ANALYSIS_PATHS["entropy_values"],
        summary=ANALYSIS_PATHS["entropy_summary"],
    params:
        scoring_model=lambda w: analysis_cfg("entropy", "scoring_model"),
        max_tokens=analysis_cfg("entropy", "max_tokens"),
        batch_size=analysis_cfg("entropy", "batch_size"),
        dtype=analysis_cfg("entropy", "dtype"),
        bins=analysis_cfg("entropy", "bins"),
    log:
        "logs/analysis/token_entropy/{teacher}/{domain}.log",
    benchmark:
        "benchmarks/analysis/token_entropy/{teacher}/{domain}.tsv"
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/token_entropy.py"


rule entropy_figure:
    input:
        values=[ANALYSIS_PATHS["entropy_values"].format(teacher=t, domain=d) for t, d in analysis_entropy_corpora()],
        summaries=[ANALYSIS_PATHS["entropy_summary"].format(teacher=t, domain=d) for t, d in analysis_entropy_corpora()],
    output:
        table=report(ANALYSIS_PATHS["entropy_table"], caption="../report/entropy_table.rst",
                     category="Figure 3: token entropy"),
        png=report(ANALYSIS_PATHS["figure3"].format(ext="png"), caption="../report/entropy.rst",
                   category="Figure 3: token entropy"),
        pdf=ANALYSIS_PATHS["figure3"].format(ext="pdf"),
    params:
        labels=[f"{d}: {t}" for t, d in analysis_entropy_corpora()],
        scorer=lambda w: (analysis_entropy_student() if analysis_cfg("entropy", "scoring_model") == "student"
                          else "each corpus's teacher"),
        # every candidate teacher's corpus is scored, so the chosen one is not needed (nor waited for)
        run=run_description(),
    log:
        "logs/analysis/entropy_figure.log",
    benchmark:
        "benchmarks/analysis/entropy_figure.tsv"
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/entropy_figure.py"


rule pca_shift:
    wildcard_constraints:
        corpus="|".join(list(CORPORA) + [ded_jobs.SMOKE_RUN]),  # smoke: the teacher's smoke-test student
    input:
        unpack(analysis_pca_inputs),
    output:
        distances=report(ANALYSIS_PATHS["pca_dir"] + "/shift.tsv", caption="../report/pca_table.rst",
                         category="Figure 4: PCA centroid shift", subcategory="{student} ← {teacher} ({corpus})"),
        projections=ANALYSIS_PATHS["pca_dir"] + "/projections.npz",
        png=report(ANALYSIS_PATHS["pca_dir"] + "/figure4.png", caption="../report/pca.rst",
                   category="Figure 4: PCA centroid shift", subcategory="{student} ← {teacher} ({corpus})"),
        pdf=ANALYSIS_PATHS["pca_dir"] + "/figure4.pdf",
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
        run=lambda w: run_description({w.student: w.teacher}, "the run shown",
                                      only={"student": w.student, "teacher": w.teacher}),
    log:
        "logs/analysis/pca_shift/{student}/{teacher}/{corpus}.log",
    benchmark:
        "benchmarks/analysis/pca_shift/{student}/{teacher}/{corpus}.tsv"
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/pca_shift.py"


rule pca_comparison:
    input:
        tables=lambda w: [ANALYSIS_PATHS["pca_dir"].format(student=s, teacher=t, corpus=c) + "/shift.tsv"
                          for s, t, c in analysis_pca_comparison_runs(w)],
    output:
        table=report(ANALYSIS_PATHS["pca_comparison"].replace("{ext}", "tsv"),
                     caption="../report/pca_comparison_table.rst",
                     category="Figure 4: PCA centroid shift", subcategory="{student}: teachers compared"),
        png=report(ANALYSIS_PATHS["pca_comparison"].replace("{ext}", "png"), caption="../report/pca_comparison.rst",
                   category="Figure 4: PCA centroid shift", subcategory="{student}: teachers compared"),
        pdf=ANALYSIS_PATHS["pca_comparison"].replace("{ext}", "pdf"),
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
    log:
        "logs/analysis/pca_comparison/{student}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/pca_comparison.py"


rule corpus_stats:
    input:
        analysis_corpus_files,
    output:
        report(ANALYSIS_PATHS["corpus_stats"], caption="../report/corpus_stats.rst", category="Tables"),
    params:
        runs=lambda w: ["/".join(r) for r in analysis_runs()],
        run=lambda w: analysis_run_description(),
    log:
        "logs/analysis/corpus_stats.log",
    benchmark:
        "benchmarks/analysis/corpus_stats.tsv"
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/corpus_stats.py"


rule paper_tables:
    input:
        scores=ANALYSIS_PATHS["scores"],
        corpus_stats=ANALYSIS_PATHS["corpus_stats"],
        selection=analysis_selection_files(),
    output:
        **analysis_table_outputs(),
    params:
        settings=analysis_table_settings(),
        methods=analysis_cfg("methods"),
        in_domain=list(config["benchmarks"]),
        run=lambda w: analysis_run_description(),
    log:
        "logs/analysis/paper_tables.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/paper_tables.py"


rule figure1:
    input:
        scores=ANALYSIS_PATHS["scores"],
        corpus_stats=ANALYSIS_PATHS["corpus_stats"],
        selection=analysis_selection_files(),
    output:
        png=report(ANALYSIS_PATHS["figure1"].format(ext="png"), caption="../report/figure1.rst",
                   category="Figure 1: corpus size"),
        pdf=ANALYSIS_PATHS["figure1"].format(ext="pdf"),
        points=ANALYSIS_PATHS["figure1"].format(ext="tsv"),
    params:
        benchmarks=analysis_figure1_benchmarks(),
        literature=analysis_cfg("literature"),
        run=lambda w: analysis_run_description(),
    log:
        "logs/analysis/figure1.log",
    benchmark:
        "benchmarks/analysis/figure1.tsv"
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/figure1.py"
