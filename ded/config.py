"""Checks on the config that a JSON schema cannot express (cross-references)."""

from __future__ import annotations

from .errors import DedError


class ConfigError(DedError, ValueError):
    """The config (a file, an override or a section) is invalid; the message names the key path. The one
    config error: the stages' own (TrainConfigError, TeacherSpecError, PlanError, PaperValuesError) derive
    from it."""


def check_references(config: dict) -> None:
    """Every name a section uses must exist where it points; fail naming the key path."""
    models = config.get("models", {})
    for section in ("students", "teachers"):
        for name, spec in config.get(section, {}).items():
            if spec.get("model") not in models:
                raise ConfigError(
                    f"config: {section}.{name}.model = {spec.get('model')!r} is not a key of `models` "
                    f"(known: {', '.join(sorted(models)) or 'none'})")
    judge = (config.get("filter") or {}).get("judge")
    if judge and judge.get("model") not in models:
        raise ConfigError(
            f"config: filter.judge.model = {judge.get('model')!r} is not a key of `models` "
            f"(known: {', '.join(sorted(models)) or 'none'})")
    pinned = (config.get("teacher_selection") or {}).get("pinned")
    if pinned is not None and pinned not in config.get("teachers", {}):
        raise ConfigError(
            f"config: teacher_selection.pinned = {pinned!r} is not a key of `teachers` "
            f"(known: {', '.join(sorted(config.get('teachers', {}))) or 'none'})")
    check_no_parallel_size(config)
    check_p_below_m(config)
    check_benchmark_windows(config)
    check_aider(config)


def check_aider(config: dict) -> None:
    """Aider's Polyglot benchmark needs its exercise set named when it runs."""
    aider = (config.get("evaluation") or {}).get("aider") or {}
    if aider.get("enabled") and not aider.get("exercises"):
        raise ConfigError("config: evaluation.aider.enabled is true but evaluation.aider.exercises is not set: name a "
                          "checkout of github.com/Aider-AI/polyglot-benchmark (<language>/exercises/practice/<name>)")


def check_no_parallel_size(config: dict) -> None:
    """No tensor-parallel size in the config: each job's comes from its `gpu` resource (profiles/slurm),
    so the engine always spans exactly the GPUs the scheduler granted."""
    evaluation = config.get("evaluation") or {}
    places = {"evaluation.backend_options": evaluation.get("backend_options"),
              "evaluation.out_of_domain.model_args": (evaluation.get("out_of_domain") or {}).get("model_args")}
    for name, spec in (config.get("teachers") or {}).items():
        places[f"teachers.{name}.engine_args"] = spec.get("engine_args")
    judge = (config.get("filter") or {}).get("judge")
    if judge:
        places["filter.judge.engine_args"] = judge.get("engine_args")
    for where, options in places.items():
        if options and "tensor_parallel_size" in options:
            raise ConfigError(
                f"config: {where}.tensor_parallel_size is set, but the tensor-parallel size is the job's GPU "
                f"count (the `gpu` resource; profiles/slurm sets it per rule): remove the key and set the "
                f"rule's gpu instead, e.g. --set-resources 'generate_eval:gpu=4'")


def check_benchmark_windows(config: dict) -> None:
    """LiveCodeBench's window and exclusions: real days, start before end, and only on that loader."""
    from .data.livecodebench import DateWindow, exclusions
    from .settings import resolve_section

    for name, spec in (config.get("benchmarks") or {}).items():
        spec = resolve_section(spec, "benchmarks.*", check=False)
        where = f"config: benchmarks.{name}"
        if spec.get("loader") != "livecodebench":
            for key in ("start_date", "end_date", "exclude"):
                if spec.get(key):
                    raise ConfigError(f"{where}.{key} applies to the livecodebench loader only, "
                                      f"not {spec.get('loader')!r}")
            continue
        DateWindow.from_spec(spec, where)
        exclusions(spec, where)


#: Corpus variants that keep P of each question's M samples (mixed is half of the DED corpora).
_PICKS_P_OF_M = ("right_hard_diverse", "longest", "shortest", "mixed")


def check_p_below_m(config: dict) -> None:
    """P < M while a variant picks P of the M samples: with P >= M every verified sample is kept, so
    the DED, longest and shortest corpora are one corpus and diversity selects nothing."""
    variants = (config.get("corpora") or {}).get("variants") or []
    picking = [v for v in variants if v in _PICKS_P_OF_M]
    m = (config.get("sampling") or {}).get("samples_per_question")
    p = (config.get("diversity") or {}).get("trajectories_per_question")
    if picking and isinstance(m, int) and isinstance(p, int) and p >= m:
        raise ConfigError(
            f"config: diversity.trajectories_per_question = {p} (P) is not below sampling.samples_per_question = "
            f"{m} (M), so every verified sample is kept and {', '.join(picking)} select nothing: lower "
            f"diversity.trajectories_per_question or raise sampling.samples_per_question (config/paper.yaml "
            f"samples 8 and keeps 4)")


#: subset key -> the config section it narrows.
SUBSET_SECTIONS = {"students": "students", "teachers": "teachers", "domains": "seeds", "benchmarks": "benchmarks"}


def apply_subset(config: dict) -> dict:
    """Narrow `config` in place to its `subset` (a part of a study, e.g. one paper table): only the named
    students, teachers, seed domains and benchmarks stay, the teacher-selection metrics of dropped benchmarks
    go, and so do the models nothing kept uses (they would be downloaded for nothing). A config file
    layered on top can name a subset, since `--configfile` merges dicts but cannot remove their keys.
    Returns `config`."""
    subset = config.get("subset") or {}
    if not any(subset.get(key) is not None for key in SUBSET_SECTIONS):
        return config
    for key, section in SUBSET_SECTIONS.items():
        names = subset.get(key)
        if names is None:
            continue
        have = config.get(section) or {}
        unknown = [n for n in names if n not in have]
        if unknown:
            raise ConfigError(f"config: subset.{key} names {', '.join(map(repr, unknown))}, not a key of "
                              f"`{section}` (known: {', '.join(sorted(have)) or 'none'})")
        config[section] = {n: have[n] for n in names}
    selection = config.get("teacher_selection") or {}
    if selection.get("metrics"):
        kept = [m for m in selection["metrics"] if m.get("benchmark") in config["benchmarks"]]
        if not kept and not selection.get("pinned") and len(config["teachers"]) > 1:
            raise ConfigError("config: subset.benchmarks leaves none of teacher_selection.metrics to choose a "
                              "teacher by: keep one of their benchmarks or pin the teacher "
                              "(teacher_selection.pinned)")
        selection["metrics"] = kept
    compare = ((config.get("analysis") or {}).get("pca") or {}).get("compare") or {}
    if compare.get("teachers") is not None:  # Figure 4 compares only the teachers the subset keeps
        compare["teachers"] = [t for t in compare["teachers"] if t in config["teachers"]]
    used = {spec["model"] for section in ("students", "teachers") for spec in config[section].values()}
    judge = (config.get("filter") or {}).get("judge")
    if judge:
        used.add(judge["model"])
    config["models"] = {m: spec for m, spec in (config.get("models") or {}).items() if m in used}
    return config
