# Checks between stages at the end of the run (ded/validate.py): M samples per
# question and teacher, a verdict for each, only correct ones kept, each corpus
# the rows its variant implies. A broken invariant fails the run, naming it in
# the rule's log; otherwise results/validation.md and .tsv list every check.
# Include after common.smk and analysis.smk (paths, the selection checkpoint, run descriptions).

VALIDATION = dict(tsv="results/validation.tsv", md="results/validation.md")


rule validate_run:
    input:
        unpack(validation_inputs),
        # the caption names the chosen teachers (analysis_run_description reads the checkpoint)
        selection=analysis_selection_files(),
    output:
        tsv=report(VALIDATION["tsv"], caption="../report/validation.rst", category="Checks"),
        md=VALIDATION["md"],
    log:
        "logs/validate_run.log",
    benchmark:
        "benchmarks/validate_run.tsv"
    localrule: True
    conda:
        "../envs/verify.yaml"
    params:
        m=config["sampling"]["samples_per_question"],
        per_question=config["diversity"]["trajectories_per_question"],
        threshold=config["compression"]["threshold"],
        teachers=exact_sampling_teachers(),
        patterns={k: PATHS[k] for k in ("seeds", "samples", "verdicts", "pass_rates", "corpus")},
        run=lambda w: analysis_run_description(),
    script:
        "../scripts/validate_run.py"
