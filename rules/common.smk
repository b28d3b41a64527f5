# Config access, wildcard constraints, path patterns and input functions.
# No rules here; the functions of every stage are here, by stage, and the rule
# files hold none (snakemake --lint; tests/unit/test_snakefiles.py).

import json
import os
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, workflow.basedir)

from ded import jobs as ded_jobs
from ded.analysis.paper_compare import PAPER_CONFIGFILE, decisive_settings, setting_differences
from ded.config import apply_subset, check_references
from ded.evaluate.lm_eval_suite import ood_env
from ded.report import FRONT_PAGE, config_file_labels, describe_run
from ded.sample.shards import SHARD_PATTERN, shard_names, shard_path
from ded.filter.sandbox import UNCONFINED_ENV
from ded.select.corpora import DED_VARIANT, VARIANTS, corpus_name, corpus_names, parse_corpus_name
from ded.select.teacher import metrics_from_config
from ded.settings import resolve_config
from ded.train import resolve_settings

apply_subset(config)  # before anything reads the sections it narrows
check_references(config)

# Jobs inherit the environment (a cluster job re-reads this file first), so the
# sandbox's policy reaches every script and command that runs model-written code.
os.environ[UNCONFINED_ENV] = config["sandbox"]["unconfined"]

CORPORA = corpus_names(list(config["seeds"]), config["corpora"]["variants"])

# The report's captions name the config files; a job sees the config but not these.
RUN_CONFIGFILES = config_file_labels(
    workflow.configfiles, workflow.basedir, getattr(workflow.config_settings, "config", None)
)

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


# The chain from the seeds to the trained students' scores (warm start, sampling, filter, smoke test,
# compression, corpora, training, evaluation) sets a run's wall time when cores are few: Snakemake starts its
# ready jobs first, and the analyses (entropy, PCA, out-of-domain suites) fill the cores it leaves free.
CHAIN_PRIORITY = 1


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
    (ded.sample.shards.shard_path): sampling.shards, compression.shards and evaluation.shards split one
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


# ---------------------------------------------------------------- sampling


def api_teacher(teacher):
    """Whether the teacher is served from outside the job (ded.jobs.sampled_without_gpu)."""
    return ded_jobs.sampled_without_gpu(config, teacher)


def teacher_pattern(teachers):
    """A wildcard constraint matching exactly these teacher names (nothing when there are none)."""
    return "|".join(re.escape(t) for t in teachers) or "(?!)"


def sample_targets():
    return expand(PATHS["samples"], teacher=config["teachers"], domain=config["seeds"])


# ---------------------------------------------------------------- filter


def student_tokenizer_dir():
    """The first student's model folder (its tokenizer measures response length), or None when
    that model is not materialised locally (then the samples' completion_tokens are used)."""
    first = next(iter(config["students"].values()))["model"]
    if not config["models"][first]["materialize"]:
        return None
    return PATHS["model"].format(model=first)


def filter_tokenizer_input(wildcards):
    path = student_tokenizer_dir()
    return [path] if path else []


def filter_judge_input(wildcards):
    """The judge's model folder when it has one (a materialised `models` entry); none without a judge or
    for a model reached only through an API."""
    judge = config["filter"]["judge"]
    if not judge:
        return []
    path = base_model_dir(judge["model"])
    return [path] if path else []


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
    """The `run` param of rules with report outputs: what its captions say was run (ded/report.py)."""
    return describe_run(config, RUN_CONFIGFILES, chosen, chosen_by, only)


def corpus_inputs(wildcards):
    variant, domain = parse_corpus_name(wildcards.corpus)
    if variant == "mixed":
        return {
            "ded_corpora": [
                PATHS["corpus"].format(
                    student=wildcards.student, teacher=wildcards.teacher, corpus=corpus_name(DED_VARIANT, d)
                )
                for d in config["seeds"]
            ]
        }
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
            targets.append(
                os.path.join(
                    ANALYSIS_PATHS["pca_dir"].format(student=student, teacher=teacher, corpus=ded_jobs.SMOKE_RUN),
                    "figure4.png",
                )
            )
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


def evaluated():
    """Every evaluated model (a path fragment, ded/evaluate/models.py); needs the selection checkpoint."""
    from ded.evaluate.models import evaluated_models

    return evaluated_models(config, smoke=smoke_pairs(), trained=trained_triples())


def eval_verdict_targets():
    """The per-problem outcomes behind every benchmark score (the out-of-domain suites and Aider have none)."""
    return expand(PATHS["eval_verdicts"], model=evaluated(), benchmark=config["benchmarks"])


def eval_targets():
    """Scores of every evaluated model on every benchmark (and its out-of-domain suites)."""
    models = evaluated()
    paths = expand(PATHS["eval_scores"], model=models, benchmark=config["benchmarks"])
    if config["evaluation"]["out_of_domain"]["enabled"]:
        paths += [f"results/eval/{m}/ood/scores.tsv" for m in ded_jobs.ood_models(config, models)]
    paths += [AIDER_SCORES.format(model=m) for m in ded_jobs.aider_models(config, models)]
    return paths


def pass_rate_targets():
    """The students' pass rates on the seeds (question compression), when a trained corpus reads them. They
    do not depend on the chosen teacher, so `rule all` asks for them before the smoke test has chosen one
    and they run beside it instead of after it."""
    variants = {parse_corpus_name(c)[0] for c in CORPORA}
    if "mixed" in variants:
        variants.add(DED_VARIANT)
    if not any("pass_rates" in VARIANTS[v].needs for v in variants):
        return []
    return expand(PATHS["pass_rates"], student=config["students"], domain=config["seeds"])


def static_targets():
    """Targets known before any checkpoint runs: every student's smoke test is scheduled at once."""
    return (
        data_targets()
        + expand(PATHS["filter_summary"], teacher=config["teachers"], domain=config["seeds"])
        + expand(PATHS["selection"], student=config["students"])
        + pass_rate_targets()
        + analysis_entropy_targets()
        + analysis_pca_comparison_targets()
        + smoke_consumer_targets()
    )


def selected_targets(wildcards):
    """Targets that depend on the chosen teachers (read from the selection checkpoint)."""
    return (
        [PATHS["scores"]] + analysis_targets() + paper_comparison_targets() + list(VALIDATION.values()) + [FRONT_PAGE]
    )


# ---------------------------------------------------------------- training


def train_settings(stage=None):
    """The settings `stage`'s training runs with (config["train"] resolved for it, defaults filled).

    Only these reach a rule's params, so the params trigger reruns a training
    when a value it uses changes, and not when another stage's does: the final
    training's train.learning_rate does not re-warm-start the teachers.
    """
    return resolve_settings(config["train"], stage)


def model_template(model):
    return config["models"][model]["template"]


def trainable_model_dir(model):
    path = base_model_dir(model)
    if not path:
        raise ValueError(f"config: models.{model}.materialize is false, but training needs its weights")
    return path


# ---------------------------------------------------------------- evaluation


def ood_suite_settings():
    """The lm-eval settings of ood_eval: the generated suite's folder as include_path when there is one."""
    settings = dict(config["evaluation"]["out_of_domain"])
    if settings.get("procedural"):
        settings["include_path"] = OOD_TASKS_DIR
    return settings


#: Aider's Polyglot scores of one evaluated model (rule aider_eval); no per-problem verdicts beside them.
AIDER_SCORES = "results/eval/{model}/aider/scores.tsv"
#: The interpreter of Aider's harness, as rule aider_harness found it.
AIDER_HARNESS = "resources/aider/harness.json"


def aider_conda_env():
    """aider_eval's conda env, by evaluation.backend (it serves the model): hf in envs/evaluate.yaml, vllm in
    envs/evaluate_vllm.yaml, the env that holds vllm beside the scoring packages (ded.evaluate.aider.SERVING_ENVS)."""
    from ded.evaluate.aider import serving_env

    return os.path.join("..", serving_env(config["evaluation"]["backend"]))


def aider_path(path):
    """A path of evaluation.aider (the harness, the exercises): relative to the workflow's folder, or absolute."""
    return path if os.path.isabs(path) else os.path.join(workflow.basedir, path)


def ood_conda_env():
    """ood_eval's conda env, by evaluation.out_of_domain.model_type (ded.evaluate.lm_eval_suite.OOD_ENVS):
    lm-eval's vllm model needs vllm, which only envs/evaluate_vllm.yaml holds beside lm-eval."""
    return os.path.join("..", ood_env(config["evaluation"]["out_of_domain"]))


# ---------------------------------------------------------------- analysis


ANALYSIS_TABLES = [f"table{i}" for i in range(1, 8)]


def analysis_cfg(*keys):
    """A value of the resolved `analysis` config section, e.g. analysis_cfg("pca", "layers")."""
    node = config["analysis"]
    for key in keys:
        node = node[key]
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
                f"score with the student instead"
            )
        return folder
    student = analysis_entropy_student()
    if student not in config["students"]:
        raise ValueError(f"config: analysis.entropy.student = {student!r} is not a key of `students`")
    return student_model_dir(student)


def analysis_runs():
    """Trained runs as (student, teacher, corpus): analysis.runs, else every corpus variant of each student's
    chosen teacher (common.smk's trained_triples(), which reads the teacher-selection checkpoint)."""
    return ded_jobs.analysis_runs(config, trained_triples)


def analysis_chosen():
    """{student: [teachers]} of the runs the analyses cover, for the captions: from analysis.runs when it
    names them, else the teacher the smoke test (or the config) chose."""
    if analysis_cfg("runs") is None:
        return chosen_teachers()
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
    """Inputs of rules whose params read the selection checkpoint (analysis_chosen): Snakemake waits for
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
    return [
        ANALYSIS_PATHS["pca_comparison"].format(student=s, ext=ext)
        for s in analysis_pca_comparison()
        for ext in ("png", "pdf", "tsv")
    ]


def analysis_corpus_files(wildcards):
    return [ANALYSIS_PATHS["corpus"].format(student=s, teacher=t, corpus=c) for s, t, c in analysis_runs()]


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
        out[f"{t}_csv"] = report(
            ANALYSIS_PATHS["tables"].format(table=t, ext="csv"), caption=f"../report/{t}.rst", category="Tables"
        )
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
        targets.append(os.path.join(ANALYSIS_PATHS["pca_dir"].format(student=s, teacher=t, corpus=c), "figure4.png"))
    return targets + analysis_pca_comparison_targets()


# ---------------------------------------------------------------- paper comparison


def paper_reference_config():
    """config/paper.yaml with the schema's defaults, as a run of it would see it."""
    with open(os.path.join(workflow.basedir, PAPER_CONFIGFILE), encoding="utf-8") as fh:
        reference = yaml.safe_load(fh)
    resolve_config(reference, os.path.join(workflow.basedir, "config/schema.yaml"))
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
    """For `rule all` (selected_targets), after collect_scores, like the tables."""
    return list(PAPER_COMPARISON.values())


# ---------------------------------------------------------------- validation


def validation_corpora():
    """(student, teacher, corpus) of every built corpus: the trained ones and the DED corpora mixed is drawn from."""
    return ded_jobs.corpus_jobs(config, trained_triples())


def validation_inputs(wildcards):
    corpora = validation_corpora()
    return {
        "seeds": expand(PATHS["seeds"], domain=config["seeds"]),
        "samples": expand(PATHS["samples"], teacher=config["teachers"], domain=config["seeds"]),
        "verdicts": expand(PATHS["verdicts"], teacher=config["teachers"], domain=config["seeds"]),
        "pass_rates": [
            PATHS["pass_rates"].format(student=s, domain=d) for s, d in ded_jobs.passrate_jobs(config, corpora)
        ],
        "corpora": [PATHS["corpus"].format(student=s, teacher=t, corpus=c) for s, t, c in corpora],
    }


def exact_sampling_teachers():
    """{teacher: whether it draws exactly M samples per question}: a corpus teacher that skips questions
    its traces lack does not."""
    return {
        t: not (spec.get("backend") == "corpus" and spec.get("corpus_missing") == "skip")
        for t, spec in config["teachers"].items()
    }


# ---------------------------------------------------------------- report


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

    logs = (
        log_of(rules.prepare_model, model=materialized_models())
        + log_of(rules.load_seeds, domain=config["seeds"])
        + log_of(rules.load_benchmark, benchmark=config["benchmarks"])
        + log_of(rules.warmstart_corpus, teacher=config["teachers"])
    )
    return [os.path.splitext(path)[0] + ".provenance.json" for path in logs]


def front_page_corpus_stats(wildcards):
    """The stats of every corpus of the chosen teachers (read from the selection checkpoint)."""
    return [FRONT_PAGE_CORPUS_STATS.format(student=s, teacher=t, corpus=c) for s, t, c in trained_triples()]
