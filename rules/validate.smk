# Checks between stages at the end of the run (ded/validate.py): M samples per
# question and teacher, a verdict for each, only correct ones kept, each corpus
# the rows its variant implies. A broken invariant fails the run, naming it in
# the rule's log; otherwise results/validation.md and .tsv list every check.
# Include after common.smk and analysis.smk (paths, the selection checkpoint, run descriptions).

VALIDATION = dict(tsv="results/validation.tsv", md="results/validation.md")


def validation_corpora():
    """(student, teacher, corpus) of every built corpus: the trained ones and the DED corpora mixed is drawn from."""
    return ded_jobs.corpus_jobs(config, trained_triples())


def validation_inputs(wildcards):
    corpora = validation_corpora()
    return {
        "seeds": expand(PATHS["seeds"], domain=config["seeds"]),
        "samples": expand(PATHS["samples"], teacher=config["teachers"], domain=config["seeds"]),
        "verdicts": expand(PATHS["verdicts"], teacher=config["teachers"], domain=config["seeds"]),
        "pass_rates": [PATHS["pass_rates"].format(student=s, domain=d)
                       for s, d in ded_jobs.passrate_jobs(config, corpora)],
        "corpora": [PATHS["corpus"].format(student=s, teacher=t, corpus=c) for s, t, c in corpora],
    }


def exact_sampling_teachers():
    """{teacher: whether it draws exactly M samples per question}: a corpus teacher that skips questions
    its traces lack does not."""
    return {t: not (spec.get("backend") == "corpus" and spec.get("corpus_missing") == "skip")
            for t, spec in config["teachers"].items()}


rule validate_run:
    input:
        unpack(validation_inputs),
        # the caption names the chosen teachers (analysis_run_description reads the checkpoint)
        selection=analysis_selection_files(),
    output:
        tsv=report(VALIDATION["tsv"], caption="../report/validation.rst", category="Checks"),
        md=VALIDATION["md"],
    params:
        m=config["sampling"]["samples_per_question"],
        keep=config["diversity"]["keep"],
        threshold=config["compression"]["threshold"],
        teachers=exact_sampling_teachers(),
        patterns={k: PATHS[k] for k in ("seeds", "samples", "verdicts", "pass_rates", "corpus")},
        run=lambda w: analysis_run_description(),
    log:
        "logs/validate_run.log",
    benchmark:
        "benchmarks/validate_run.tsv"
    conda:
        "../envs/verify.yaml"
    script:
        "../scripts/validate_run.py"
