"""Compute plan: GPU-hours per stage estimated from token counts, before submitting.

Every GPU stage of the workflow is a number of tokens to generate, train on or
score; dividing by a per-GPU throughput gives GPU-hours. Token counts come
from the config (questions, samples per question, epochs, corpus variants,
benchmarks) and a few assumptions in its `plan:` section (mean response
length, fraction of samples verified, fraction of questions kept, and the
throughputs of a reference-size model on the GPU named there). A model of
another size scales the throughput inversely with its parameter count: decode
reads every parameter per token and training costs FLOPs in proportion.

Samples drawn through an OpenAI-compatible endpoint (backend `openai`, or a
model with `materialize: false`) cost no GPU-hours of this workflow's jobs;
they are counted as API tokens.

Config keys that other stages define are read with the same defaults as
their schema; the numbers are estimates for planning, not promises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DedError
from .io import read_yaml

SCHEMA = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"

#: Defaults of other stages' keys, as their schemas give them (used when the
#: schema in use does not define the key yet).
FALLBACK_DEFAULTS = {
    "sampling.samples_per_question": 8,
    "teachers.*.backend": "hf",
    "teachers.*.max_tokens": 512,
    "compression.samples": 8,
    "diversity.keep": 4,
    "corpora.variants": ["full", "right", "right_hard", "right_hard_diverse", "longest", "shortest", "mixed"],
    "train.num_train_epochs": 10,
    "train.max_steps": None,
    "train.global_batch_size": 48,
    "train.cutoff_len": 16384,
    "train.smoke.num_train_epochs": 1,
    "train.smoke.max_steps": None,
    "train.smoke.global_batch_size": 16,
    "train.smoke.cutoff_len": 4096,
    "benchmarks.*.samples": 1,
    "benchmarks.*.max_tokens": 32768,
    "evaluation.models.base": True,
    "evaluation.models.teachers": False,
    "evaluation.models.smoke": True,
    "evaluation.models.trained": True,
    "evaluation.out_of_domain.tasks": [],
    "analysis.tables.ded_corpus": "math-right_hard_diverse",
    "analysis.pca.max_tokens": 2048,
}

SECONDS_PER_HOUR = 3600.0


class PlanError(DedError, ValueError):
    pass


@dataclass(frozen=True)
class Row:
    """A group of `jobs` identical jobs of a stage; tokens and GPU-hours are the group's totals."""

    job: str
    jobs: int
    detail: str
    tokens: int
    gpu_hours: float
    api: bool = False
    #: GPU-hours of the largest job of the group, when its jobs differ in size.
    max_job_hours: float | None = None

    @property
    def hours_per_job(self) -> float:
        if self.max_job_hours is not None:
            return self.max_job_hours
        return self.gpu_hours / self.jobs if self.jobs else 0.0


@dataclass
class Stage:
    name: str
    rule: str
    rows: list[Row] = field(default_factory=list)
    #: From the SLURM profile, when one is given: GPUs per job and the runtime limit of attempt 1.
    gpus_per_job: int | None = None
    runtime_hours: float | None = None

    @property
    def longest_job_hours(self) -> float:
        """Wall-clock hours of the longest job on the profile's GPUs (GPU-hours when no profile)."""
        longest = max((r.hours_per_job for r in self.rows if not r.api), default=0.0)
        return longest / (self.gpus_per_job or 1)

    @property
    def gpu_hours(self) -> float:
        return sum(r.gpu_hours for r in self.rows)

    @property
    def tokens(self) -> int:
        return sum(r.tokens for r in self.rows if not r.api)

    @property
    def api_tokens(self) -> int:
        return sum(r.tokens for r in self.rows if r.api)


# --- config access -------------------------------------------------------------


def schema_default(schema: dict, path: str) -> Any:
    """Default of a dotted key path in a JSON schema ('*' steps into additionalProperties).

    Raises KeyError when the schema does not define the key or its default.
    """
    node = schema
    for part in path.split("."):
        if part == "*":
            node = node.get("additionalProperties")
        else:
            node = node.get("properties", {}).get(part)
        if not isinstance(node, dict):
            raise KeyError(path)
    if "default" not in node:
        raise KeyError(path)
    return node["default"]


class Settings:
    """Config values with defaults from the schema, then from FALLBACK_DEFAULTS."""

    def __init__(self, config: dict, schema: dict | None = None):
        self.config = config
        self.schema = schema or {}

    def default(self, pattern: str) -> Any:
        try:
            return schema_default(self.schema, pattern)
        except KeyError:
            if pattern in FALLBACK_DEFAULTS:
                return FALLBACK_DEFAULTS[pattern]
            raise PlanError(f"plan: no default for config key {pattern}") from None

    def get(self, path: str, pattern: str | None = None) -> Any:
        """Value at dotted `path`; the default of `pattern` (path with '*' for names) when absent."""
        node: Any = self.config
        for part in path.split("."):
            if not isinstance(node, dict) or node.get(part) is None:
                return self.default(pattern or path)
            node = node[part]
        return node

    def plan(self, key: str) -> Any:
        value = self.get(f"plan.{key}")
        if isinstance(value, dict):
            # A map given in the config adds to (or overrides entries of) the default map.
            return {**self.default(f"plan.{key}"), **value}
        return value


# --- token arithmetic ----------------------------------------------------------


def gpu_hours(tokens: float, tokens_per_gpu_s: float, params_b: float, reference_params_b: float) -> float:
    """GPU-hours to process `tokens` with a model of `params_b` billion parameters.

    `tokens_per_gpu_s` is the throughput of a `reference_params_b` model;
    throughput scales inversely with size.
    """
    if tokens_per_gpu_s <= 0 or params_b <= 0 or reference_params_b <= 0:
        raise PlanError("plan: throughputs and parameter counts must be positive")
    per_gpu_s = tokens_per_gpu_s * reference_params_b / params_b
    return tokens / per_gpu_s / SECONDS_PER_HOUR


def generation_tokens(questions: int, samples: int, mean_output_tokens: int, max_tokens: int | None) -> int:
    """Output tokens of `samples` responses to each of `questions`, each at most `max_tokens`."""
    per_sample = mean_output_tokens if max_tokens is None else min(mean_output_tokens, max_tokens)
    return questions * samples * per_sample


def training_tokens(rows: float, tokens_per_row: int, epochs: float, max_steps: int | None,
                    global_batch_size: int) -> int:
    """Tokens processed by a training run: epochs over the corpus, or max_steps batches when set."""
    if max_steps is not None:
        return int(max_steps * global_batch_size * tokens_per_row)
    return int(round(rows * tokens_per_row * epochs))


def example_tokens(mean_prompt_tokens: int, mean_output_tokens: int, cutoff_len: int) -> int:
    """Tokens of one training example (prompt and response), at most the cutoff length."""
    return min(mean_prompt_tokens + mean_output_tokens, cutoff_len)


def corpus_rows(variant: str, questions: int, samples_per_question: int, keep: int,
                verified_fraction: float, kept_question_fraction: float) -> float:
    """Expected rows of a corpus variant (ded/select/corpora.py), from the plan's fractions.

    A per-domain variant ("math-right") counts like its variant.
    """
    base = variant.split("-", 1)[1] if "-" in variant else variant
    sampled = questions * samples_per_question
    kept = questions * kept_question_fraction
    rows = {
        "full": sampled,
        "right": sampled * verified_fraction,
        "right_hard": sampled * verified_fraction * kept_question_fraction,
        "right_hard_diverse": kept * keep,
        "longest": kept * keep,
        "shortest": kept * keep,
        "mixed": kept * keep / 2,
    }
    if base not in rows:
        raise PlanError(f"plan: unknown corpus variant {variant!r} in corpora.variants")
    return rows[base]


# --- the workflow's jobs -----------------------------------------------------------


def dataset_size(spec: dict, kind: str, name: str, sizes: dict[str, int]) -> int:
    """Questions of a seed domain or benchmark: its `n`, else the plan's size of its source."""
    if spec.get("n") is not None:
        return int(spec["n"])
    source = spec.get("source") or spec.get("loader")
    if source in sizes:
        return int(sizes[source])
    raise PlanError(f"plan: cannot tell how many questions {kind}.{name} has ({source!r}, n: null); "
                    f"set {kind}.{name}.n or plan.dataset_sizes.{source}")


def is_api_model(s: Settings, model: str) -> bool:
    return not s.config.get("models", {}).get(model, {}).get("materialize", True)


def is_api_teacher(s: Settings, teacher: str) -> bool:
    spec = s.config["teachers"][teacher]
    return s.get(f"teachers.{teacher}.backend", "teachers.*.backend") == "openai" or is_api_model(s, spec["model"])


def params_of(s: Settings, model: str) -> float:
    return float(s.plan("model_params_b").get(model, s.plan("reference_params_b")))


def _gen_hours(s: Settings, tokens: int, model: str) -> float:
    return gpu_hours(tokens, s.plan("generation_tokens_per_gpu_s"), params_of(s, model), s.plan("reference_params_b"))


def _train_hours(s: Settings, tokens: int, model: str) -> float:
    return gpu_hours(tokens, s.plan("training_tokens_per_gpu_s"), params_of(s, model), s.plan("reference_params_b"))


def questions_by_domain(s: Settings) -> dict[str, int]:
    sizes = s.plan("dataset_sizes")
    return {d: dataset_size(spec, "seeds", d, sizes) for d, spec in s.config["seeds"].items()}


def seed_questions(s: Settings) -> int:
    return sum(questions_by_domain(s).values())


def _sampling_row(s: Settings, name: str, model: str, samples: int, max_tokens: int | None, api: bool) -> Row:
    """One sampling job per seed domain, as the rules split them."""
    by_domain = questions_by_domain(s)
    tokens = {d: generation_tokens(q, samples, s.plan("mean_output_tokens"), max_tokens) for d, q in by_domain.items()}
    hours = {d: 0.0 if api else _gen_hours(s, t, model) for d, t in tokens.items()}
    return Row(name, len(by_domain), f"{sum(by_domain.values())} q x {samples} samples", sum(tokens.values()),
               sum(hours.values()), api, max(hours.values(), default=0.0))


def teacher_sampling(s: Settings) -> Stage:
    stage = Stage("teacher sampling", "sample_teacher")
    m = s.get("sampling.samples_per_question")
    for teacher, spec in s.config["teachers"].items():
        max_tokens = s.get(f"teachers.{teacher}.max_tokens", "teachers.*.max_tokens")
        stage.rows.append(_sampling_row(s, teacher, spec["model"], m, max_tokens, is_api_teacher(s, teacher)))
    return stage


def student_sampling(s: Settings) -> Stage:
    stage = Stage("student pass rates (question compression)", "sample_student")
    k = s.get("compression.samples")
    for student, spec in s.config["students"].items():
        stage.rows.append(_sampling_row(s, student, spec["model"], k, None, False))
    return stage


def smoke_training(s: Settings) -> Stage:
    stage = Stage("teacher smoke test (quick distillation)", "train_smoke")
    questions = seed_questions(s)
    rows = questions * s.plan("verified_fraction")
    per_row = example_tokens(s.plan("mean_prompt_tokens"), s.plan("mean_output_tokens"),
                             s.get("train.smoke.cutoff_len"))
    epochs = s.get("train.smoke.num_train_epochs")
    tokens = training_tokens(rows, per_row, epochs, s.get("train.smoke.max_steps"),
                             s.get("train.smoke.global_batch_size"))
    teachers = len(s.config["teachers"])
    for student, spec in s.config["students"].items():
        stage.rows.append(Row(f"{student} <- each teacher", teachers, f"{rows:.0f} rows x {epochs:g} ep",
                              tokens * teachers, _train_hours(s, tokens, spec["model"]) * teachers))
    return stage


def final_training(s: Settings) -> Stage:
    stage = Stage("training on the corpora (one chosen teacher per student)", "train_student")
    questions = seed_questions(s)
    per_row = example_tokens(s.plan("mean_prompt_tokens"), s.plan("mean_output_tokens"), s.get("train.cutoff_len"))
    epochs = s.get("train.num_train_epochs")
    for student, spec in s.config["students"].items():
        for variant in s.get("corpora.variants"):
            rows = corpus_rows(variant, questions, s.get("sampling.samples_per_question"), s.get("diversity.keep"),
                               s.plan("verified_fraction"), s.plan("kept_question_fraction"))
            tokens = training_tokens(rows, per_row, epochs, s.get("train.max_steps"), s.get("train.global_batch_size"))
            stage.rows.append(Row(f"{student} / {variant}", 1, f"{rows:.0f} rows x {epochs:g} ep", tokens,
                                  _train_hours(s, tokens, spec["model"])))
    return stage


def evaluated_models(s: Settings) -> list[tuple[str, int, str, bool]]:
    """(evaluation path fragment, how many models, base model, through an API), grouped by kind and student."""
    students, teachers = s.config["students"], s.config["teachers"]
    out = []
    if s.get("evaluation.models.base"):
        out += [(f"base/{st}", 1, spec["model"], False) for st, spec in students.items()]
    if s.get("evaluation.models.teachers"):
        out += [(f"teacher/{t}", 1, spec["model"], is_api_teacher(s, t)) for t, spec in teachers.items()]
    if s.get("evaluation.models.smoke"):
        out += [(f"smoke/{st}/*", len(teachers), spec["model"], False) for st, spec in students.items()]
    if s.get("evaluation.models.trained"):
        variants = len(s.get("corpora.variants"))
        out += [(f"trained/{st}/*/*", variants, spec["model"], False) for st, spec in students.items()]
    return out


def evaluation(s: Settings) -> Stage:
    stage = Stage("evaluation generations", "generate_eval")
    sizes = s.plan("dataset_sizes")
    per_benchmark = []  # one generate_eval job per model and benchmark
    samples_total = 0
    for name, spec in s.config["benchmarks"].items():
        n = dataset_size(spec, "benchmarks", name, sizes)
        samples = s.get(f"benchmarks.{name}.samples", "benchmarks.*.samples")
        max_tokens = s.get(f"benchmarks.{name}.max_tokens", "benchmarks.*.max_tokens")
        per_benchmark.append(generation_tokens(n, samples, s.plan("mean_output_tokens"), max_tokens))
        samples_total += n * samples
    per_model = sum(per_benchmark)
    for fragment, count, model, api in evaluated_models(s):
        hours = 0.0 if api else _gen_hours(s, per_model, model) * count
        largest = 0.0 if api else _gen_hours(s, max(per_benchmark, default=0), model)
        stage.rows.append(Row(fragment, count * len(per_benchmark), f"{samples_total} samples per model",
                              per_model * count, hours, api, largest))
    return stage


def analysis(s: Settings) -> Stage:
    stage = Stage("token entropy of the teachers' corpora", "token_entropy")
    questions = seed_questions(s)
    m = s.get("sampling.samples_per_question")
    rows = questions * m * s.plan("verified_fraction")
    tokens = int(rows * (s.plan("mean_prompt_tokens") + s.plan("mean_output_tokens")))
    hours = gpu_hours(tokens, s.plan("forward_tokens_per_gpu_s"), s.plan("reference_params_b"),
                      s.plan("reference_params_b"))
    for teacher in s.config["teachers"]:
        stage.rows.append(Row(teacher, 1, f"{rows:.0f} rows, forward only", tokens, hours))
    return stage


def ood_examples(task: str, settings: dict, limit: float | None) -> tuple[int, int, int]:
    """(examples, forward tokens, generated tokens) of one lm-eval task under `limit` (a count or a fraction)."""
    if task not in settings:
        raise PlanError(f"plan: no size for out-of-domain task {task!r}; add plan.ood_tasks.{task}: "
                        "{examples: N, forward_tokens: N, generated_tokens: N}")
    spec = settings[task]
    examples = int(spec["examples"])
    if limit is not None:
        # lm-eval applies a count per (sub)task; taking it for the whole task undercounts groups (quick checks only).
        examples = int(round(examples * limit)) if limit < 1 else min(examples, int(limit))
    return examples, examples * int(spec["forward_tokens"]), examples * int(spec["generated_tokens"])


def ood_evaluation(s: Settings) -> Stage:
    """lm-eval's out-of-domain suites (Table 6): one ood_eval job per evaluated model with a local folder.

    A task costs its examples' prompt tokens at the forward throughput (log-likelihoods and prefill) plus
    their generated tokens at the generation throughput (plan.ood_tasks).
    """
    stage = Stage("out-of-domain suites (lm-eval)", "ood_eval")
    ood = s.config.get("evaluation", {}).get("out_of_domain") or {}
    if not ood.get("enabled"):
        return stage
    sizes = s.plan("ood_tasks")
    forward = generated = examples = 0
    for task in ood.get("tasks") or s.default("evaluation.out_of_domain.tasks"):
        n, f, g = ood_examples(task["name"], sizes, ood.get("limit"))
        examples, forward, generated = examples + n, forward + f, generated + g
    ref = s.plan("reference_params_b")
    for fragment, count, model, _ in evaluated_models(s):
        if is_api_model(s, model):
            continue  # lm-eval needs the weights: a model that is not materialised has no ood_eval job
        per_model = (gpu_hours(forward, s.plan("forward_tokens_per_gpu_s"), params_of(s, model), ref)
                     + gpu_hours(generated, s.plan("generation_tokens_per_gpu_s"), params_of(s, model), ref))
        stage.rows.append(Row(fragment, count, f"{examples} examples per model", (forward + generated) * count,
                              per_model * count, max_job_hours=per_model))
    return stage


def pca_runs(s: Settings) -> dict[str, int]:
    """Trained runs per student whose hidden states Figure 4 compares (rules/analysis.smk's analysis_pca_runs)."""
    analysis = s.config.get("analysis") or {}
    pca = analysis.get("pca") or {}
    if pca.get("runs") is not None:
        runs = [r.split("/") for r in pca["runs"]]
    else:
        ded = (analysis.get("tables") or {}).get("ded_corpus") or s.default("analysis.tables.ded_corpus")
        if analysis.get("runs") is not None:
            runs = [r.split("/") for r in analysis["runs"] if r.split("/")[2] == ded]
        else:
            variants = s.get("corpora.variants")
            built = set(variants) | {f"{d}-{v}" for d in s.config["seeds"] for v in variants}
            runs = [[student, "*", ded] for student in s.config["students"]] if ded in built else []
    counts: dict[str, int] = {}
    for student, *_ in runs:
        counts[student] = counts.get(student, 0) + 1
    return counts


def pca_shift(s: Settings) -> Stage:
    """Figure 4: hidden states of the base and the trained student on every benchmark's prompts (forward only)."""
    stage = Stage("PCA centroid shift (Figure 4)", "pca_shift")
    pca = (s.config.get("analysis") or {}).get("pca") or {}
    max_prompts = pca.get("max_prompts")
    max_tokens = pca.get("max_tokens") or s.default("analysis.pca.max_tokens")
    benchmarks = pca.get("benchmarks") or list(s.config["benchmarks"])
    sizes = s.plan("dataset_sizes")
    prompts = 0
    for name in benchmarks:
        n = dataset_size(s.config["benchmarks"][name], "benchmarks", name, sizes)
        prompts += n if max_prompts is None else min(n, int(max_prompts))
    per_run = 2 * prompts * min(s.plan("mean_prompt_tokens"), int(max_tokens))  # base and trained model
    for student, runs in pca_runs(s).items():
        model = s.config["students"][student]["model"]
        hours = gpu_hours(per_run, s.plan("forward_tokens_per_gpu_s"), params_of(s, model),
                          s.plan("reference_params_b"))
        stage.rows.append(Row(student, runs, f"{prompts} prompts x 2 models", per_run * runs, hours * runs,
                              max_job_hours=hours))
    return stage


STAGES = (teacher_sampling, smoke_training, student_sampling, final_training, evaluation, ood_evaluation, analysis,
          pca_shift)


def compute_plan(config: dict, schema: dict | None = None) -> list[Stage]:
    """Every GPU stage of the workflow with its jobs' tokens and GPU-hours."""
    s = Settings(config, schema)
    return [stage(s) for stage in STAGES]


# --- the SLURM profile ------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|s)")
_UNIT_HOURS = {"d": 24.0, "h": 1.0, "min": 1 / 60, "m": 1 / 60, "s": 1 / 3600}


def duration_hours(value: Any, attempt: int = 1) -> float | None:
    """Hours of a Snakemake runtime value: minutes (int), "12h", "1h30m", or an expression of `attempt`.

    None when the value cannot be read (an expression using more than `attempt`).
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 60.0
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not re.fullmatch(f"(?:{_DURATION.pattern})+", text.replace(" ", "")) and not text.isdigit():
        try:
            # Profile values are Python expressions of `attempt` (see profiles/slurm/config.yaml).
            result = eval(text, {"__builtins__": {}}, {"attempt": attempt, "str": str, "max": max, "min": min})
        except Exception:
            return None
        return duration_hours(result, attempt)
    if text.isdigit():
        return int(text) / 60.0
    return sum(float(n) * _UNIT_HOURS[u] for n, u in _DURATION.findall(text))


def profile_resources(profile: dict, rule: str) -> dict:
    """Resources the profile gives `rule`: its set-resources over the default-resources."""
    return {**(profile.get("default-resources") or {}), **(profile.get("set-resources") or {}).get(rule, {})}


def attach_profile(stages: list[Stage], profile: dict) -> list[Stage]:
    """Fill in each stage's GPUs per job and runtime limit from a SLURM profile."""
    for stage in stages:
        res = profile_resources(profile, stage.rule)
        gpus = res.get("gpu")
        stage.gpus_per_job = int(gpus) if isinstance(gpus, int) or str(gpus).isdigit() else None
        stage.runtime_hours = duration_hours(res.get("runtime")) if "runtime" in res else None
    return stages


# --- loading and printing ------------------------------------------------------------


def load_config(configfile: Path, schema_path: Path = SCHEMA) -> tuple[dict, dict]:
    """The config (validated against the schema) and the schema, whose defaults Settings reads."""
    schema = read_yaml(schema_path, "config schema")
    config = read_yaml(configfile, "YAML config") or {}
    try:
        import jsonschema
    except ImportError:  # the CPU install has it; a bare env may not
        return config, schema
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        raise PlanError(f"{configfile}: {where}: {e.message}")
    return config, schema


def _fmt_tokens(n: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def format_plan(stages: list[Stage], plan_settings: dict, title: str = "") -> str:
    """Tables per stage and a total, as printed by `python -m ded plan`."""
    lines = []
    if title:
        lines.append(title)
    lines.append(f"Throughputs per {plan_settings['gpu']} for a {plan_settings['reference_params_b']:g}B model: "
                 f"generation {plan_settings['generation_tokens_per_gpu_s']:g} tok/s, "
                 f"training {plan_settings['training_tokens_per_gpu_s']:g} tok/s, "
                 f"forward {plan_settings['forward_tokens_per_gpu_s']:g} tok/s; "
                 f"mean response {plan_settings['mean_output_tokens']} tokens (config `plan:`).")
    width = max([len(r.job) + len(f" (x{r.jobs})") for st in stages for r in st.rows] + [10])
    for st in stages:
        lines.append("")
        lines.append(f"{st.name} [{st.rule}]")
        lines.append(f"  {'job':<{width}}  {'work':<28} {'tokens':>9} {'GPU-h':>10}")
        for r in st.rows:
            hours = "API" if r.api else f"{r.gpu_hours:,.1f}"
            job = r.job if r.jobs == 1 else f"{r.job} (x{r.jobs})"
            lines.append(f"  {job:<{width}}  {r.detail:<28} {_fmt_tokens(r.tokens):>9} {hours:>10}")
        api = f"  (+{_fmt_tokens(st.api_tokens)} tokens through APIs)" if st.api_tokens else ""
        lines.append(f"  {'stage total':<{width}}  {'':<28} {_fmt_tokens(st.tokens):>9} {st.gpu_hours:>10,.1f}{api}")
        if st.gpus_per_job:
            note = (f"  profile: {st.gpus_per_job} GPU(s) per job; longest job about "
                    f"{st.longest_job_hours:,.1f} h wall-clock")
            if st.runtime_hours is not None:
                note += f" against a {st.runtime_hours:g} h limit (attempt 1)"
                if st.longest_job_hours > st.runtime_hours:
                    note += (f" -- EXCEEDS it: raise it (--set-resources {st.rule}:runtime=...) or rely on"
                             " retries resuming from saved progress")
            lines.append(note)
    total = sum(st.gpu_hours for st in stages)
    api_total = sum(st.api_tokens for st in stages)
    lines.append("")
    lines.append(f"Total: {total:,.1f} GPU-hours on {plan_settings['gpu']}"
                 + (f", plus {_fmt_tokens(api_total)} tokens through OpenAI-compatible endpoints" if api_total else ""))
    return "\n".join(lines)
