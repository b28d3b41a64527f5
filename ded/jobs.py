"""Which jobs the workflow runs: the job lists the rules expand, as pure functions of the config.

The rules (rules/common.smk, rules/analysis.smk) and the compute plan
(ded/plan/estimate.py) both call these, so `python -m ded plan` counts the jobs a
dry run lists, and the per-job settings the rules hand their jobs as params.
`config` is the resolved config (ded.settings.resolve_config: validated, every
default of the schema filled in), so every key is read plainly: no default
lives here.

Lists that depend on the teacher each student's smoke test chooses take the
choice as `chosen` ({student: teacher}); the rules read it from the
select_teacher checkpoint, the plan puts a stand-in name where it is unknown.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

from .config import ConfigError
from .evaluate.models import evaluated_models
from .select.corpora import (
    DED_VARIANT,
    VARIANTS,
    corpus_name,
    corpus_names,
    parse_corpus_name,
)
from .select.teacher import metrics_from_config

#: Teacher backends that run no model inside the sampling job (rule sample_teacher_api, no GPU).
NO_GPU_BACKENDS = ("openai", "corpus")


def sampled_without_gpu(config: Mapping, teacher: str) -> bool:
    """Whether the teacher is served from outside its sampling job (an endpoint, or a corpus of traces)."""
    return config["teachers"][teacher]["backend"] in NO_GPU_BACKENDS


#: Config sections whose `shards` split a sampling rule's jobs (ded/sample/shards.py).
SHARDED_RULES = {"sample_teacher": "sampling", "sample_teacher_api": "sampling", "sample_student": "compression",
                 "generate_eval": "evaluation"}


def shards(config: Mapping, section: str) -> int:
    """`<section>.shards`: jobs per (teacher, domain), (student, domain) or (model, benchmark); 1 unsharded."""
    return int(config[section]["shards"])


def sharded(config: Mapping, rule: str, job_list: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rule's jobs with their `shard` wildcard ('k-of-n', ded.sample.shards) when its section is
    sharded; `job_list` itself when not (no shard wildcard, one job each, as before sharding existed)."""
    n = shards(config, SHARDED_RULES[rule])
    if n == 1:
        return job_list
    from .sample.shards import shard_names

    return [dict(job, shard=k) for job in job_list for k in shard_names(n)]


def pinned_teacher(config: Mapping) -> str | None:
    """teacher_selection.pinned: the teacher every student trains on without a smoke test, or None."""
    return config["teacher_selection"]["pinned"]


def corpora(config: Mapping) -> list[str]:
    """Every corpus a student trains on: one per (seed domain, per-domain variant), plus the cross-domain ones."""
    return corpus_names(list(config["seeds"]), config["corpora"]["variants"])


def smoke_pairs(config: Mapping) -> list[tuple[str, str]]:
    """(student, teacher) of every smoke-test model; none when a teacher is pinned."""
    if pinned_teacher(config):
        return []
    return [(s, t) for s in config["students"] for t in config["teachers"]]


def keep_smoke_models(config: Mapping) -> bool:
    """teacher_selection.keep_smoke_models: whether the smoke-test models stay once every job reading them ran.

    False marks train_smoke's output temp() (smoke_model_flags) and asks for every job that reads a smoke
    model before the select_teacher checkpoint (smoke_model_consumers), so Snakemake deletes each model
    once, after its last reader, not before a reader the checkpoint would add later."""
    return bool(config["teacher_selection"]["keep_smoke_models"])


def smoke_model_flags(config: Mapping) -> tuple[str, ...]:
    """Snakemake flags of train_smoke's output beyond directory(): ("temp",) when the smoke models are removed
    once read (keep_smoke_models false), else none (rules/train.smk applies them)."""
    return () if keep_smoke_models(config) else ("temp",)


def smoke_model_consumers(config: Mapping) -> list[tuple[str, str]]:
    """(smoke model fragment, what reads it) of every job reading a smoke-test model: generate_eval on each
    benchmark it is scored on (the choice's, and all of them under evaluation.models.smoke), ood_eval, and
    pca_shift of the Figure 4 runs whose corpus is SMOKE_RUN (analysis.pca.runs, the teacher comparison).
    `what` is a benchmark, "ood", or "pca". Known from the config alone (no checkpoint)."""
    smoke = smoke_pairs(config)
    out = [(m, b) for m, b in evaluation_jobs(config, smoke, ()) if m.startswith("smoke/")]
    out += [(m, "ood") for m in ood_models(config, evaluated_models(config, smoke=smoke)) if m.startswith("smoke/")]
    # the trained runs are not needed: pca_runs keeps only their DED corpus, never SMOKE_RUN
    out += [(f"smoke/{s}/{t}", "pca") for s, t, c in pca_runs(config, lambda: ()) if c == SMOKE_RUN and (s, t) in smoke]
    return out


def smoke_eval_benchmarks(config: Mapping) -> list[str]:
    """Benchmarks every smoke-test model is scored on for the choice (teacher_selection.metrics); none when pinned."""
    if pinned_teacher(config):
        return []
    return sorted({m["benchmark"] for m in metrics_from_config(config)})


def trained_triples(config: Mapping, chosen: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(student, chosen teacher, corpus) of every final training run."""
    names = corpora(config)
    return [(s, chosen[s], c) for s in config["students"] for c in names]


def local_weights(config: Mapping, model: str) -> bool:
    """Whether an evaluated model (a path fragment, ded/evaluate/models.py) has a local folder (lm-eval needs one).

    The same test as rules/common.smk's eval_model_dir: a base or teacher model reached only through an
    API (models.<name>.materialize: false, and no warm start) has none; smoke and trained models always do.
    """
    kind, name, *_ = model.split("/")
    if kind == "base":
        return _materialized(config, config["students"][name]["model"])
    if kind == "teacher":
        spec = config["teachers"][name]
        return bool(spec.get("warm_start")) or _materialized(config, spec["model"])
    return True


def _materialized(config: Mapping, model: str) -> bool:
    return bool(config["models"][model]["materialize"])


def ood_models(config: Mapping, models: Iterable[str]) -> list[str]:
    """Evaluated models with an out-of-domain (lm-eval) job: all with local weights, when it is enabled."""
    if not config["evaluation"]["out_of_domain"]["enabled"]:
        return []
    return [m for m in models if local_weights(config, m)]


def aider_models(config: Mapping, models: Iterable[str]) -> list[str]:
    """Evaluated models Aider's Polyglot benchmark runs on, when evaluation.aider is enabled: those with local
    weights (served for the job) other than the smoke-test students, which Table 6 does not show and which
    are removed once the teacher choice has read them."""
    if not config["evaluation"]["aider"]["enabled"]:
        return []
    return [m for m in models if local_weights(config, m) and not m.startswith("smoke/")]


def evaluation_jobs(config: Mapping, smoke: Iterable[tuple[str, str]],
                    trained: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(model, benchmark) of every generate_eval job.

    Every evaluated model (evaluation.models) on every benchmark, as collect_scores asks for them, and each
    smoke-test model on the benchmarks the teacher choice reads (select_teacher's inputs), which it needs even
    when evaluation.models.smoke is off.
    """
    smoke = list(smoke)
    pairs = [(m, b) for m in evaluated_models(config, smoke=smoke, trained=trained) for b in config["benchmarks"]]
    pairs += [(f"smoke/{s}/{t}", b) for s, t in smoke for b in smoke_eval_benchmarks(config)]
    return list(dict.fromkeys(pairs))


def _run(run) -> tuple[str, ...]:
    return tuple(run.split("/")) if isinstance(run, str) else tuple(run)


def analysis_runs(config: Mapping, trained: Callable[[], Iterable]) -> list[tuple[str, ...]]:
    """Trained runs the analyses cover: analysis.runs, else `trained()` (called only then: it may read the
    selection checkpoint)."""
    runs = config["analysis"]["runs"]
    if runs is None:
        runs = trained()
    return [_run(r) for r in runs]


def pca_runs(config: Mapping, runs: Callable[[], Iterable]) -> list[tuple[str, ...]]:
    """Runs of Figure 4 (one pca_shift job each): analysis.pca.runs, else those of `runs()` (the analysis runs)
    whose corpus is analysis.tables.ded_corpus; then the runs of the teacher comparison (pca_comparison_runs)."""
    chosen = config["analysis"]["pca"]["runs"]
    if chosen is not None:
        own = [_run(r) for r in chosen]
    else:
        ded = config["analysis"]["tables"]["ded_corpus"]
        own = [r for r in map(_run, runs()) if r[2] == ded]
    return list(dict.fromkeys(own + pca_comparison_runs(config)))


#: The corpus part of a Figure 4 run that is a teacher's smoke-test student (results/smoke/<student>/<teacher>).
SMOKE_RUN = "smoke"


def pca_comparison_runs(config: Mapping) -> list[tuple[str, str, str]]:
    """(student, teacher, corpus) of the runs Figure 4's teacher comparison sets side by side (analysis.pca.compare),
    from the config alone (no checkpoint). corpus SMOKE_RUN is the teacher's smoke-test student.

    corpus null: the smoke-test students when the smoke test runs, else (a pinned teacher) the DED corpus
    (analysis.tables.ded_corpus); teachers null: every candidate teacher, or with a pinned teacher and corpus
    null only the pinned one (the only teacher trained). Runs the workflow does not make anyway are trained."""
    cmp = config["analysis"]["pca"]["compare"]
    pinned = pinned_teacher(config)
    corpus, teachers = cmp["corpus"], cmp["teachers"]
    if corpus is None:
        corpus = config["analysis"]["tables"]["ded_corpus"] if pinned else SMOKE_RUN
        if teachers is None and pinned:
            teachers = [pinned]
    if teachers is None:
        teachers = list(config["teachers"])
    unknown = [t for t in teachers if t not in config["teachers"]]
    if unknown:
        raise ConfigError(f"config: analysis.pca.compare.teachers names {unknown}, not teachers of `teachers` "
                         f"({list(config['teachers'])})")
    return [(s, t, corpus) for s in config["students"] for t in teachers]


def entropy_corpora(config: Mapping) -> list[tuple[str, str]]:
    """(teacher, domain) of every corpus whose token entropy is scored (one token_entropy job each)."""
    domains = config["analysis"]["entropy"]["domains"] or list(config["seeds"])
    return [(t, d) for t in config["teachers"] for d in domains]


def corpus_jobs(config: Mapping, runs: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(student, teacher, corpus) of every build_corpus job behind `runs`: a cross-domain corpus also
    needs each domain's DED corpus."""
    out = []
    for s, t, c in runs:
        variant, _ = parse_corpus_name(c)
        if variant == "mixed":
            out += [(s, t, corpus_name(DED_VARIANT, d)) for d in config["seeds"]]
        out.append((s, t, c))
    return list(dict.fromkeys(out))


def passrate_jobs(config: Mapping, built: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(student, domain) of every sample_student job: the pass rates a built corpus reads (from right_hard on)."""
    out = []
    for s, _, c in built:
        variant, domain = parse_corpus_name(c)
        if domain and "pass_rates" in VARIANTS[variant].needs:
            out.append((s, domain))
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------ per-job settings
# What a rule hands its jobs as params: only the values a job reads, so Snakemake's params trigger reruns
# exactly the jobs a changed value reaches (and a value only one variant reads reruns only that variant).

#: What defines a benchmark's problems: changing one reloads them (rule load_benchmark's `spec`).
BENCHMARK_SOURCE_KEYS = ("loader", "path", "subset", "split", "revision", "n", "seed", "start_date", "end_date",
                         "errata", "exclude")
#: Keys only the livecodebench loader reads (ded/data/livecodebench.py).
LIVECODEBENCH_SOURCE_KEYS = ("start_date", "end_date", "errata", "exclude")


def without_unset_revision(spec: Mapping) -> dict:
    """`spec` less a null `revision`, so adding that key reloaded no data of an existing run."""
    return {k: v for k, v in spec.items() if not (k == "revision" and v is None)}


def benchmark_source(config: Mapping, benchmark: str) -> dict:
    """The keys of BENCHMARK_SOURCE_KEYS the benchmark's loader reads, less a null date window and an
    empty `exclude`, so adding those keys reloaded no data of an existing run."""
    spec = config["benchmarks"][benchmark]
    lcb = spec["loader"] == "livecodebench"
    return without_unset_revision({
        k: v for k, v in spec.items()
        if k in BENCHMARK_SOURCE_KEYS and (lcb or k not in LIVECODEBENCH_SOURCE_KEYS)
        and not (k in ("start_date", "end_date", "exclude") and not v)})


#: filter.* keys that change verdicts. filter.workers only sets how many processes check answers (the
#: rules' threads), so changing it reruns nothing.
FILTER_KEYS = ("max_response_tokens", "float_tolerance", "math_timeout_s", "task_timeout_s", "judge")
#: What the student's correctness check (verify_student) reads: no length limit, no judge.
VERIFY_KEYS = ("float_tolerance", "math_timeout_s", "task_timeout_s")
#: filter.judge keys that only say how calls are made (not what the judge answers): run_only params,
#: so changing them reruns nothing.
JUDGE_RUN_KEYS = ("concurrency", "timeout_s", "max_retries")


def filter_settings(config: Mapping, keys: Iterable[str] = FILTER_KEYS) -> dict:
    """The filter.* values of `keys`, the judge's without how its calls are made (judge_run_settings)."""
    out = {k: config["filter"][k] for k in keys}
    if out.get("judge"):
        out["judge"] = {k: v for k, v in out["judge"].items() if k not in JUDGE_RUN_KEYS}
    return out


def judge_run_settings(config: Mapping) -> dict:
    judge = config["filter"]["judge"] or {}
    return {k: judge[k] for k in JUDGE_RUN_KEYS if k in judge}


def student_passrate_spec(config: Mapping, student: str) -> dict:
    """How the student answers seed questions for its pass rate (question compression)."""
    comp = config["compression"]
    model = config["students"][student]["model"]
    return {"model": model, "backend": config["evaluation"]["backend"], "template": config["models"][model]["template"],
            "temperature": comp["temperature"], "top_p": comp["top_p"], "max_tokens": comp["max_tokens"]}


def corpus_settings(config: Mapping, corpus: str) -> dict:
    """The settings a corpus variant is built with (ded.select.corpora.CorpusSettings fields): compression's
    threshold from `right_hard` on, diversity's P, unit and limits for the DED corpus, P and the length
    measure for `longest`/`shortest`, the draw's seed for `mixed`."""
    variant, _ = parse_corpus_name(corpus)
    comp, div, corp = config["compression"], config["diversity"], config["corpora"]
    threshold = {"threshold": comp["threshold"]}
    by_length = {**threshold, "per_question": div["trajectories_per_question"], "length_by": corp["length_by"]}
    return {
        "full": {},
        "right": {},
        "right_hard": threshold,
        DED_VARIANT: {**threshold, "per_question": div["trajectories_per_question"], "unit": div["unit"],
                      "exact_limit": div["exact_limit"], "tokenizer": div["tokenizer"]},
        "longest": by_length,
        "shortest": dict(by_length),
        "mixed": {"seed": corp["seed"]},
    }[variant]


def analysis_table_settings(config: Mapping) -> dict:
    """analysis.tables with its nulls resolved: in-domain columns from `benchmarks`, per-difficulty columns
    for its livecodebench benchmarks, Table 6's suites from evaluation.out_of_domain.tasks when that is
    enabled; and the corpus variants the run trains (`trained_variants`, corpora.variants)."""
    settings = dict(config["analysis"]["tables"])
    settings["benchmarks"] = settings["benchmarks"] or list(config["benchmarks"])
    if settings["by_difficulty"] is None:
        settings["by_difficulty"] = [b for b in settings["benchmarks"]
                                     if config["benchmarks"].get(b, {}).get("loader") == "livecodebench"]
    ood = config["evaluation"]["out_of_domain"]
    if settings["ood_benchmarks"] is None and ood["enabled"]:
        settings["ood_benchmarks"] = [t["name"] for t in ood["tasks"]]
    settings["trained_variants"] = list(config["corpora"]["variants"])  # rows of the others say why they are empty
    return settings
