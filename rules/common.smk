# Config access, wildcard constraints, path patterns and input functions.
# No rules here.

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from ded import jobs as ded_jobs
from ded.config import apply_subset, check_references
from ded.report import config_file_labels, describe_run
from ded.generate.shards import SHARD_PATTERN, shard_names, shard_path
from ded.sandbox import UNCONFINED_ENV
from ded.select.corpora import DED_VARIANT, VARIANTS, corpus_name, corpus_names, parse_corpus_name
from ded.select.teacher import metrics_from_config

apply_subset(config)  # before anything reads the sections it narrows
check_references(config)

# Jobs inherit the environment (a cluster job re-reads this file first), so the
# sandbox's policy reaches every script and command that runs model-written code.
os.environ[UNCONFINED_ENV] = config["sandbox"]["unconfined"]

CORPORA = corpus_names(list(config["seeds"]), config["corpora"]["variants"])

# The report's captions name the config files; a job sees the config but not these.
RUN_CONFIGFILES = config_file_labels(workflow.configfiles, workflow.basedir,
                                     getattr(workflow.config_settings, "config", None))

PATHS = dict(
    model="resources/models/{model}",
    seeds_raw="results/data/seeds_raw/{domain}.jsonl",
    seeds_excluded="results/data/seeds_excluded/{domain}.jsonl",
    benchmark="results/data/benchmarks/{benchmark}.jsonl",
    contamination="results/data/decontamination/{domain}/{benchmark}.jsonl",
    seeds="results/data/seeds/{domain}.jsonl",
    decontamination_report="results/data/decontamination/{domain}.md",
    warmstart_corpus="results/teachers/{teacher}/warmstart.jsonl",
    teacher_model="results/teachers/{teacher}/model",
    samples="results/samples/{teacher}/{domain}.jsonl",
    verdicts="results/filter/{teacher}/{domain}/verdicts.jsonl",
    filter_summary="results/filter/{teacher}/{domain}/summary.tsv",
    kept="results/filter/{teacher}/{domain}/kept.jsonl",
    smoke_corpus="results/smoke/{student}/{teacher}/corpus.jsonl",
    smoke_model="results/smoke/{student}/{teacher}/model",
    selection="results/selection/{student}/teacher.json",
    student_samples="results/passrate/{student}/{domain}/samples.jsonl",
    student_verdicts="results/passrate/{student}/{domain}/verdicts.jsonl",
    pass_rates="results/passrate/{student}/{domain}.jsonl",
    corpus="results/corpus/{student}/{teacher}/{corpus}.jsonl",
    trained_model="results/train/{student}/{teacher}/{corpus}/model",
    eval_samples="results/eval/{model}/{benchmark}/samples.jsonl",
    eval_verdicts="results/eval/{model}/{benchmark}/verdicts.jsonl",
    eval_scores="results/eval/{model}/{benchmark}/scores.tsv",
    scores="results/scores.tsv",
)


wildcard_constraints:
    domain="|".join(config["seeds"]),
    benchmark="|".join(config["benchmarks"]),
    teacher="|".join(config["teachers"]),
    student="|".join(config["students"]),
    corpus="|".join(CORPORA) or "no-corpus",
    shard=SHARD_PATTERN,


def run_only(value):
    """A params entry the params trigger ignores, for knobs that cannot change a job's results (worker
    counts, batch sizes of batch-invariant samplers): Snakemake leaves params computed by a function of
    `threads` or `resources` out of its params comparison, and the script still reads the value."""
    return lambda wildcards, threads: value


def sharded(path, shards):
    """`path` of an unsharded job (shards 1), else its per-shard path with the {shard} wildcard
    (ded.generate.shards.shard_path): sampling.shards, compression.shards and evaluation.shards split one
    sampling job into that many jobs of the same rule, which a gather rule merges into the declared output."""
    return path if shards == 1 else shard_path(path)


def shard_files(path, shards):
    """The shard files a gather rule merges, in merge order (the other wildcards left for the job)."""
    return expand(shard_path(path), shard=shard_names(shards), allow_missing=True)


def materialized_models():
    return [m for m, spec in config["models"].items() if spec["materialize"]]


def base_model_dir(model):
    """Folder of a base model, or [] for a model reached only through an API."""
    if not config["models"][model]["materialize"]:
        return []
    return PATHS["model"].format(model=model)


def teacher_model_dir(teacher):
    spec = config["teachers"][teacher]
    if spec.get("warm_start"):
        return PATHS["teacher_model"].format(teacher=teacher)
    return base_model_dir(spec["model"])


def student_model_dir(student):
    return base_model_dir(config["students"][student]["model"])


def eval_model_dir(model):
    """Model folder behind an evaluation path fragment (see docs/layout.md)."""
    kind, *parts = model.split("/")
    if kind == "base":
        return student_model_dir(parts[0])
    if kind == "teacher":
        return teacher_model_dir(parts[0])
    if kind == "smoke":
        return PATHS["smoke_model"].format(student=parts[0], teacher=parts[1])
    if kind == "trained":
        return PATHS["trained_model"].format(student=parts[0], teacher=parts[1], corpus=parts[2])
    raise ValueError(f"unknown evaluated model '{model}'")


#: What defines a benchmark's problems: changing one reloads them (rule load_benchmark's `spec`).
BENCHMARK_SOURCE_KEYS = ("loader", "path", "subset", "split", "revision", "n", "seed",
                         "start_date", "end_date", "errata", "exclude")
#: Keys only the livecodebench loader reads (ded/data/livecodebench.py).
LIVECODEBENCH_SOURCE_KEYS = ("start_date", "end_date", "errata", "exclude")


def without_unset_revision(spec):
    """`spec` less a null `revision`, so adding that key reloaded no data of an existing run."""
    return {k: v for k, v in spec.items() if not (k == "revision" and v is None)}


def benchmark_source(benchmark):
    """The keys of BENCHMARK_SOURCE_KEYS the benchmark's loader reads, less a null date window and an
    empty `exclude`, so adding those keys reloaded no data of an existing run."""
    spec = config["benchmarks"][benchmark]
    lcb = spec["loader"] == "livecodebench"
    return without_unset_revision({
        k: v for k, v in spec.items()
        if k in BENCHMARK_SOURCE_KEYS and (lcb or k not in LIVECODEBENCH_SOURCE_KEYS)
        and not (k in ("start_date", "end_date", "exclude") and not v)})


# ---------------------------------------------------------------- selection


def selection_metrics():
    return metrics_from_config(config)


def smoke_score_files(wildcards):
    """Scores the smoke test ranks teachers by; none when the config pins a teacher."""
    if config["teacher_selection"]["pinned"]:
        return []
    models = [f"smoke/{wildcards.student}/{t}" for t in config["teachers"]]
    return expand(PATHS["eval_scores"], model=models, benchmark=ded_jobs.smoke_eval_benchmarks(config))


def chosen_teacher(student):
    """The teacher the smoke test (or the config) chose for `student`; read after the checkpoint ran.

    A pinned teacher is known up front, so the DAG (and a dry run) is complete without the checkpoint.
    """
    if config["teacher_selection"]["pinned"]:
        return config["teacher_selection"]["pinned"]
    selection = checkpoints.select_teacher.get(student=student).output.selection
    with open(selection) as fh:
        return json.load(fh)["teacher"]


def chosen_teachers():
    """{student: chosen teacher}: the pinned one, else read from the selection checkpoint."""
    pinned = config["teacher_selection"]["pinned"]
    return {s: pinned or chosen_teacher(s) for s in config["students"]}


def run_description(chosen=None, chosen_by=None, only=None):
    """The `run` param of a rule with report outputs: what its captions say was run (ded/report.py)."""
    return describe_run(config, RUN_CONFIGFILES, chosen, chosen_by, only)


def student_passrate_spec(student):
    """How the student answers seed questions for its pass rate (question compression)."""
    comp = config["compression"]
    model = config["students"][student]["model"]
    return {"model": model, "backend": config["evaluation"]["backend"],
            "template": config["models"][model]["template"],
            "temperature": comp["temperature"], "top_p": comp["top_p"], "max_tokens": comp["max_tokens"]}


def corpus_settings(corpus):
    variant, _ = parse_corpus_name(corpus)
    comp, div, corp = config["compression"], config["diversity"], config["corpora"]
    used = {
        "full": {},
        "right": {},
        "right_hard": {"threshold": comp["threshold"]},
        "right_hard_diverse": {"threshold": comp["threshold"], "keep": div["keep"], "unit": div["unit"],
                               "exact_limit": div["exact_limit"], "tokenizer": div["tokenizer"]},
        "longest": {"threshold": comp["threshold"], "keep": div["keep"], "length_by": corp["length_by"]},
        "shortest": {"threshold": comp["threshold"], "keep": div["keep"], "length_by": corp["length_by"]},
        "mixed": {"seed": corp["seed"]},
    }
    return used[variant]


def corpus_inputs(wildcards):
    variant, domain = parse_corpus_name(wildcards.corpus)
    if variant == "mixed":
        return {"ded_corpora": [
            PATHS["corpus"].format(student=wildcards.student, teacher=wildcards.teacher,
                                   corpus=corpus_name(DED_VARIANT, d)) for d in config["seeds"]]}
    inputs = {
        "samples": PATHS["samples"].format(teacher=wildcards.teacher, domain=domain),
        "verdicts": PATHS["verdicts"].format(teacher=wildcards.teacher, domain=domain),
        "problems": PATHS["seeds"].format(domain=domain),
    }
    if "pass_rates" in VARIANTS[variant].needs:
        inputs["pass_rates"] = PATHS["pass_rates"].format(student=wildcards.student, domain=domain)
    return inputs


def smoke_pairs():
    return ded_jobs.smoke_pairs(config)


def smoke_model_output():
    """train_smoke's output: temp() when teacher_selection.keep_smoke_models is false (ded.jobs.smoke_model_flags),
    so Snakemake removes each smoke model once every job reading it has run."""
    out = directory(PATHS["smoke_model"])
    return temp(out) if "temp" in ded_jobs.smoke_model_flags(config) else out


def smoke_consumer_targets():
    """With teacher_selection.keep_smoke_models false: the outputs of every job reading a smoke model
    (ded.jobs.smoke_model_consumers), asked for before the select_teacher checkpoint. Asked for only after it
    (collect_scores, analysis_targets), a reader would come after the temp() model was removed and train it
    again."""
    if ded_jobs.keep_smoke_models(config):
        return []
    targets = []
    for model, what in ded_jobs.smoke_model_consumers(config):
        _, student, teacher = model.split("/")
        if what == "ood":
            targets.append(f"results/eval/{model}/ood/scores.tsv")
        elif what == "pca":
            targets.append(ANALYSIS_PATHS["pca_dir"].format(student=student, teacher=teacher,
                                                            corpus=ded_jobs.SMOKE_RUN) + "/figure4.png")
        else:
            targets.append(PATHS["eval_scores"].format(model=model, benchmark=what))
    return targets


def trained_triples():
    """(student, chosen teacher, corpus) for every corpus variant; needs the selection checkpoint."""
    return ded_jobs.trained_triples(config, {s: chosen_teacher(s) for s in config["students"]})


def data_targets():
    return (
        expand(PATHS["seeds"], domain=config["seeds"])
        + expand(PATHS["seeds_excluded"], domain=config["seeds"])
        + expand(PATHS["decontamination_report"], domain=config["seeds"])
        + ["results/data/benchmarks.tsv"]
        + expand(PATHS["model"], model=materialized_models())
    )


def eval_targets():
    """Scores of every evaluated model on every benchmark (and its out-of-domain suite)."""
    from ded.evaluate.plan import evaluated_models

    models = evaluated_models(config, smoke=smoke_pairs(), trained=trained_triples())
    paths = expand(PATHS["eval_scores"], model=models, benchmark=config["benchmarks"])
    if config["evaluation"]["out_of_domain"]["enabled"]:
        paths += [f"results/eval/{m}/ood/scores.tsv" for m in ded_jobs.ood_models(config, models)]
    return paths


def static_targets():
    """Targets known before any checkpoint runs: every student's smoke test is scheduled at once."""
    return (
        data_targets()
        + expand(PATHS["filter_summary"], teacher=config["teachers"], domain=config["seeds"])
        + expand(PATHS["selection"], student=config["students"])
        + analysis_entropy_targets()
        + analysis_pca_comparison_targets()
        + smoke_consumer_targets()
    )


def selected_targets(wildcards):
    """Targets that depend on the chosen teachers (read from the selection checkpoint)."""
    return ([PATHS["scores"]] + analysis_targets() + paper_comparison_targets() + list(VALIDATION.values())
            + [FRONT_PAGE])
