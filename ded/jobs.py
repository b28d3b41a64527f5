"""Which jobs the workflow runs: the job lists the rules expand, as pure functions of the config.

The rules (rules/common.smk, rules/analysis.smk) and the compute plan
(ded/plan/estimate.py) both call these, so `python -m ded plan` counts the jobs a
dry run lists. `config` is the validated config (schema defaults filled in,
as Snakemake's `validate` leaves it); missing keys fall back to the same
defaults.

Lists that depend on the teacher each student's smoke test chooses take the
choice as `chosen` ({student: teacher}); the rules read it from the
select_teacher checkpoint, the plan puts a stand-in name where it is unknown.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

from .config import ConfigError
from .evaluate.models import evaluated_models
from .select.corpora import DED_VARIANT, VARIANTS, corpus_name, corpus_names, parse_corpus_name
from .select.teacher import metrics_from_config

#: analysis.tables.ded_corpus when the config leaves it out (config/schema.yaml).
DEFAULT_DED_CORPUS = f"math-{DED_VARIANT}"


def _section(config: Mapping, *keys: str) -> dict:
    node = config
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, dict) else {}


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
    return int(_section(config, section).get("shards") or 1)


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
    return _section(config, "teacher_selection").get("pinned")


def corpora(config: Mapping) -> list[str]:
    """Every corpus a student trains on: one per (seed domain, per-domain variant), plus the cross-domain ones."""
    return corpus_names(list(config["seeds"]), _section(config, "corpora").get("variants"))


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
    from .settings import schema_default

    keep = _section(config, "teacher_selection").get("keep_smoke_models")
    return bool(schema_default("teacher_selection.keep_smoke_models") if keep is None else keep)


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
    if not _section(config, "evaluation", "out_of_domain").get("enabled"):
        return []
    return [m for m in models if local_weights(config, m)]


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
    runs = _section(config, "analysis").get("runs")
    if runs is None:
        runs = trained()
    return [_run(r) for r in runs]


def pca_runs(config: Mapping, runs: Callable[[], Iterable]) -> list[tuple[str, ...]]:
    """Runs of Figure 4 (one pca_shift job each): analysis.pca.runs, else those of `runs()` (the analysis runs)
    whose corpus is analysis.tables.ded_corpus; then the runs of the teacher comparison (pca_comparison_runs)."""
    chosen = _section(config, "analysis", "pca").get("runs")
    if chosen is not None:
        own = [_run(r) for r in chosen]
    else:
        ded = _section(config, "analysis", "tables").get("ded_corpus") or DEFAULT_DED_CORPUS
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
    cmp = _section(config, "analysis", "pca", "compare")
    pinned = pinned_teacher(config)
    corpus, teachers = cmp.get("corpus"), cmp.get("teachers")
    if corpus is None:
        corpus = (_section(config, "analysis", "tables").get("ded_corpus") or DEFAULT_DED_CORPUS) if pinned \
            else SMOKE_RUN
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
    domains = _section(config, "analysis", "entropy").get("domains") or list(config["seeds"])
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
