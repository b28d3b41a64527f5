"""Compute plan: GPU-hours per stage estimated from token counts, before submitting.

Every GPU stage of the workflow is a number of tokens to generate, train on or
score; dividing by a per-GPU throughput gives GPU-hours. Token counts come
from the config (questions, samples per question, epochs, corpus variants,
benchmarks) and a few assumptions in its `plan:` section (mean response
length, fraction of samples verified, fraction of questions kept, and the
throughputs of a reference-size model on the GPU named there). A model of
another size scales the throughput inversely with its parameter count: decode
reads every parameter per token and training costs FLOPs in proportion.

Which jobs run comes from the job lists the rules themselves expand
(ded/jobs.py, `job_lists`): a stage has one row per group of alike jobs, and
`jobs_per_rule` equals the job counts of a dry run (tests/unit/test_plan.py).
Before the teacher smoke test has chosen, one chosen teacher per student is
assumed; with teacher_selection.pinned there is no smoke test.

Samples drawn through an OpenAI-compatible endpoint (backend `openai`, or a
model with `materialize: false`) cost no GPU-hours of this workflow's jobs;
they are counted as API tokens.

Disk: each row also estimates what its jobs leave on disk (`disk_bytes`) and
what one job holds only while it runs (`scratch_bytes`): samples as JSONL
(jsonl_bytes), trained models in the training dtype (model_bytes), and the
training checkpoints (checkpoint_bytes, checkpoints_on_disk). A stage's peak
is what it leaves plus the scratch of plan.concurrent_jobs of its jobs at
once; the total peak takes the stages in order, each at its peak on top of
what the earlier ones left (disk_totals). Base model downloads, filtered
copies, corpora, logs and scores are not counted: beside the models they are
small.

The config is resolved first (ded.settings.resolve_config: validated, every
default of config/schema.yaml filled in), as the Snakefile resolves it, so the
plan reads the settings the jobs run with; the numbers are estimates for
planning, not promises.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from .. import jobs
from ..config import ConfigError, apply_subset
from ..evaluate.models import evaluated_models
from ..io import read_yaml
from ..select.common import SelectionError
from ..select.corpora import DED_VARIANT, parse_corpus_name
from ..settings import SCHEMA_PATH, resolve_config, schema_default

SCHEMA = SCHEMA_PATH

SECONDS_PER_HOUR = 3600.0


class PlanError(ConfigError):
    """The compute plan's assumptions (the `plan` section) do not cover the config."""


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
    #: The rule of these jobs, when not the stage's (sample_teacher_api beside sample_teacher).
    rule: str | None = None
    #: Bytes the group's jobs leave on disk (all of them together): samples, trained models, kept checkpoints.
    disk_bytes: float = 0.0
    #: Bytes one job of the group (the largest) holds while it runs and removes at its end: checkpoints.
    scratch_bytes: float = 0.0
    #: Bytes the group's jobs leave until later jobs have read them (smoke models marked temp()), all together.
    held_bytes: float = 0.0

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
    #: From the SLURM profile, when one is given: GPUs per job (over all its nodes) and the runtime limit of
    #: attempt 1; nodes per job from the config (train.nodes for the training rules).
    gpus_per_job: int | None = None
    runtime_hours: float | None = None
    nodes: int = 1

    @property
    def longest_job_hours(self) -> float:
        """Wall-clock hours of the longest job on the profile's GPUs (GPU-hours when no profile)."""
        longest = max((r.hours_per_job for r in self.rows if not r.api), default=0.0)
        return longest / (self.gpus_per_job or 1)

    @property
    def gpu_hours(self) -> float:
        return sum(r.gpu_hours for r in self.rows)

    @property
    def jobs(self) -> int:
        return sum(r.jobs for r in self.rows)

    @property
    def tokens(self) -> int:
        return sum(r.tokens for r in self.rows if not r.api)

    @property
    def api_tokens(self) -> int:
        return sum(r.tokens for r in self.rows if r.api)

    @property
    def disk_bytes(self) -> float:
        """Bytes the stage's jobs leave on disk."""
        return sum(r.disk_bytes for r in self.rows)

    def peak_disk_bytes(self, concurrent_jobs: int = 1) -> float:
        """Bytes on disk at the stage's peak: what it leaves and what it holds until read, plus the scratch of
        its `concurrent_jobs` largest jobs running at once (an upper bound: the last jobs' scratch counted
        beside every job's output)."""
        return self.disk_bytes + sum(r.held_bytes for r in self.rows) + stage_scratch(self.rows, concurrent_jobs)


# --- config access -------------------------------------------------------------


class Settings:
    """A resolved config (ded.settings.resolve_config) read by dotted key path."""

    def __init__(self, config: dict):
        self.config = config

    def get(self, path: str) -> Any:
        """Value at dotted `path`; PlanError when the config does not have it (not resolved?)."""
        node: Any = self.config
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise PlanError(f"plan: config key {path} is not set (resolve the config first: "
                                "ded.settings.resolve_config)")
            node = node[part]
        return node

    def plan(self, key: str) -> Any:
        value = self.get(f"plan.{key}")
        if isinstance(value, dict):
            # A map given in the config adds to (or overrides entries of) the schema's default map.
            return {**schema_default(f"plan.{key}"), **value}
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


def answered_fraction(verified_fraction: float, samples_per_question: int) -> float:
    """Expected fraction of questions with at least one verified sample, if samples passed independently."""
    return 1.0 - (1.0 - verified_fraction) ** samples_per_question


def corpus_rows(corpus: str, questions_by_domain: dict[str, int], samples_per_question: int, per_question: int,
                verified_fraction: float, kept_question_fraction: float) -> float:
    """Expected rows of a corpus (named as in ded/select/corpora.py) from its domain's questions and the fractions.

    full: one sample per question; right: one verified sample per question that has one; right_hard: one
    per question left after compression; the DED corpus, longest and shortest: `per_question` (P,
    diversity.trajectories_per_question) per compressed question; mixed: half of each domain's DED corpus.
    """
    try:
        variant, domain = parse_corpus_name(corpus)
    except SelectionError as e:
        raise PlanError(f"plan: {e}") from None
    if variant == "mixed":
        return sum(corpus_rows(f"{d}-{DED_VARIANT}", questions_by_domain, samples_per_question, per_question,
                               verified_fraction, kept_question_fraction) / 2 for d in questions_by_domain)
    if domain not in questions_by_domain:
        raise PlanError(f"plan: corpus {corpus!r} names domain {domain!r}, which is not a key of `seeds`")
    questions = questions_by_domain[domain]
    kept = questions * kept_question_fraction
    rows = {
        "full": questions,
        "right": questions * answered_fraction(verified_fraction, samples_per_question),
        "right_hard": kept,
        DED_VARIANT: kept * per_question,
        "longest": kept * per_question,
        "shortest": kept * per_question,
    }
    return rows[variant]


# --- disk ----------------------------------------------------------------------------

#: Bytes per parameter of a model saved in each training precision (config train.precision).
PRECISION_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}


def jsonl_bytes(tokens: float, records: float, bytes_per_token: float, record_bytes: float) -> float:
    """Bytes of a JSONL file of `records` records holding `tokens` generated tokens in all: the text at
    `bytes_per_token` (UTF-8 with JSON escapes), and `record_bytes` per record for everything else."""
    return tokens * bytes_per_token + records * record_bytes


def model_bytes(params_b: float, bytes_per_param: float = 2) -> float:
    """Bytes of a model's weights: `params_b` billion parameters at `bytes_per_param` (2 in bf16 or fp16)."""
    return params_b * 1e9 * bytes_per_param


def checkpoint_bytes(params_b: float, bytes_per_param: float, finetuning_type: str = "full") -> float:
    """Bytes of one training checkpoint: `bytes_per_param` (plan.checkpoint_bytes_per_param) per parameter of
    a full fine-tune; a LoRA checkpoint holds only the adapter and its optimizer states, counted as none."""
    return 0.0 if finetuning_type == "lora" else model_bytes(params_b, bytes_per_param)


def optimizer_steps(rows: float, epochs: float, max_steps: int | None, global_batch_size: int) -> int:
    """Optimizer steps of a training run: max_steps when set, else epochs over `rows` in global batches."""
    if max_steps is not None:
        return int(max_steps)
    return int(math.ceil(rows * epochs / global_batch_size)) if rows > 0 else 0


def checkpoints_on_disk(steps: int, save_steps: int, save_total_limit: int, keep: bool) -> tuple[int, int]:
    """(checkpoints on disk at a run's peak, checkpoints left after it) of a run of `steps` steps saving every
    `save_steps`. The trainer writes checkpoint N before removing the oldest beyond save_total_limit, so at
    the peak one more than the limit exist; ded/train/run.py removes the rest at the end unless `keep`
    (train.keep_checkpoints)."""
    saved = steps // save_steps
    return min(saved, save_total_limit + 1), (min(saved, save_total_limit) if keep else 0)


def training_disk(s: "Settings", params_b: float, rows: float, epochs: float, max_steps: int | None,
                  global_batch_size: int, save_steps: int, keep_model: bool = True) -> tuple[float, float, float]:
    """(bytes left, scratch bytes while running, bytes held until read) of one training run: the final model
    in the training precision, left unless not `keep_model` (then held until its readers ran), with the
    checkpoints train.keep_checkpoints keeps; the rest of the checkpoints at the run's peak is scratch."""
    model = model_bytes(params_b, PRECISION_BYTES[s.get("train.precision")])
    ckpt = checkpoint_bytes(params_b, s.plan("checkpoint_bytes_per_param"), s.get("train.finetuning_type"))
    steps = optimizer_steps(rows, epochs, max_steps, global_batch_size)
    peak, kept = checkpoints_on_disk(steps, save_steps, s.get("train.save_total_limit"),
                                     s.get("train.keep_checkpoints"))
    return (model if keep_model else 0.0) + kept * ckpt, (peak - kept) * ckpt, 0.0 if keep_model else model


def stage_scratch(rows: list[Row], concurrent_jobs: int) -> float:
    """Scratch bytes of the `concurrent_jobs` largest jobs of `rows` at once."""
    per_job = sorted((r.scratch_bytes for r in rows for _ in range(r.jobs)), reverse=True)
    return sum(per_job[:max(int(concurrent_jobs), 0)])


def disk_totals(stages: list["Stage"], concurrent_jobs: int = 1) -> tuple[float, float]:
    """(bytes left at the end, peak bytes) of the whole plan: the stages in order, each at its peak on top of
    what the earlier stages left."""
    left = peak = 0.0
    for st in stages:
        peak = max(peak, left + st.peak_disk_bytes(concurrent_jobs))
        left += st.disk_bytes
    return left, peak


# --- the workflow's jobs -----------------------------------------------------------

#: Stand-in for the teacher a student's smoke test will choose (unknown before the select_teacher checkpoint).
UNCHOSEN = "*"
def chosen_teachers(config: dict) -> dict[str, str]:
    """{student: its teacher}: the pinned one, else UNCHOSEN (one teacher per student, chosen by the smoke test)."""
    pinned = jobs.pinned_teacher(config)
    return {s: pinned or UNCHOSEN for s in config["students"]}


def _same_run(run: tuple, runs: set, chosen: dict[str, str]) -> bool:
    s, t, c = run
    return (s, t, c) in runs or (chosen.get(s) == UNCHOSEN and (s, UNCHOSEN, c) in runs)


def job_lists(config: dict) -> dict[str, list[dict[str, str]]]:
    """{rule: wildcards of each of its jobs} for every GPU rule the plan costs, from the job lists the rules
    themselves expand (ded/jobs.py). `config` is resolved (ded.settings.resolve_config).

    Before the select_teacher checkpoint the chosen teacher is unknown: unpinned, the trained models are
    `trained/<student>/*/<corpus>`, one chosen teacher per student.
    """
    chosen = chosen_teachers(config)
    trained = jobs.trained_triples(config, chosen)
    analysed = jobs.analysis_runs(config, lambda: trained)
    pca = jobs.pca_runs(config, lambda: analysed)
    known = set(trained)
    # A Figure 4 run outside the trained runs (analysis.pca.runs) trains a model of its own.
    train = trained + [r for r in dict.fromkeys(map(tuple, pca))
                       if r[2] != jobs.SMOKE_RUN and not _same_run(r, known, chosen)]  # smoke: train_smoke's
    built = jobs.corpus_jobs(config, train + [tuple(r) for r in analysed])
    smoke = jobs.smoke_pairs(config)
    sampling = [(t, d) for t in config["teachers"] for d in config["seeds"]]
    models = evaluated_models(config, smoke=smoke, trained=trained)
    return {
        "sample_teacher": jobs.sharded(config, "sample_teacher", [
            {"teacher": t, "domain": d} for t, d in sampling if not jobs.sampled_without_gpu(config, t)]),
        "sample_teacher_api": jobs.sharded(config, "sample_teacher_api", [
            {"teacher": t, "domain": d} for t, d in sampling if jobs.sampled_without_gpu(config, t)]),
        "train_smoke": [{"student": s, "teacher": t} for s, t in smoke],
        "sample_student": jobs.sharded(config, "sample_student",
                                       [{"student": s, "domain": d} for s, d in jobs.passrate_jobs(config, built)]),
        "train_student": [{"student": s, "teacher": t, "corpus": c} for s, t, c in train],
        "generate_eval": jobs.sharded(config, "generate_eval", [
            {"model": m, "benchmark": b} for m, b in jobs.evaluation_jobs(config, smoke, trained)]),
        "ood_eval": [{"model": m} for m in jobs.ood_models(config, models)],
        "aider_eval": [{"model": m} for m in jobs.aider_models(config, models)],
        "token_entropy": [{"teacher": t, "domain": d} for t, d in jobs.entropy_corpora(config)],
        "pca_shift": [{"student": s, "teacher": t, "corpus": c} for s, t, c in pca],
    }


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
    return not s.config["models"][model]["materialize"]


def is_api_teacher(s: Settings, teacher: str) -> bool:
    """Whether the teacher costs no GPU-hours of this workflow: served by an endpoint, replayed, or not local."""
    spec = s.config["teachers"][teacher]
    return (s.get(f"teachers.{teacher}.backend") in jobs.NO_GPU_BACKENDS
            or is_api_model(s, spec["model"]))


def params_of(s: Settings, model: str) -> float:
    return float(s.plan("model_params_b").get(model, s.plan("reference_params_b")))


def _gen_hours(s: Settings, tokens: int, model: str) -> float:
    return gpu_hours(tokens, s.plan("generation_tokens_per_gpu_s"), params_of(s, model), s.plan("reference_params_b"))


def _train_hours(s: Settings, tokens: int, model: str) -> float:
    return gpu_hours(tokens, s.plan("training_tokens_per_gpu_s"), params_of(s, model), s.plan("reference_params_b"))


def _forward_hours(s: Settings, tokens: int, model: str) -> float:
    return gpu_hours(tokens, s.plan("forward_tokens_per_gpu_s"), params_of(s, model), s.plan("reference_params_b"))


def questions_by_domain(s: Settings) -> dict[str, int]:
    sizes = s.plan("dataset_sizes")
    return {d: dataset_size(spec, "seeds", d, sizes) for d, spec in s.config["seeds"].items()}


def seed_questions(s: Settings) -> int:
    return sum(questions_by_domain(s).values())


def _group(job_list: list[dict[str, str]], key) -> dict[Any, list[dict[str, str]]]:
    """Jobs grouped by key(job), in first-seen order."""
    groups: dict[Any, list[dict[str, str]]] = {}
    for job in job_list:
        groups.setdefault(key(job), []).append(job)
    return groups


def _unsharded(job_list: list[dict[str, str]]) -> list[dict[str, str]]:
    """A sharded rule's jobs less their `shard` wildcard, one per sharded unit ((teacher, domain), ...): a row
    sizes each unit whole, and _split_row divides it among the unit's shards (ded/sample/shards.py)."""
    units = ({k: v for k, v in j.items() if k != "shard"} for j in job_list)
    return list({tuple(u.items()): u for u in units}.values())


def _split_row(row: Row, shards: int) -> Row:
    """`row` with each job split into `shards` jobs: as many times the jobs, the same tokens and GPU-hours,
    the largest job's hours divided among its shards (round robin gives each about as many questions)."""
    if shards == 1:
        return row
    return replace(row, job=f"{row.job} in {shards} shards", jobs=row.jobs * shards,
                   max_job_hours=row.hours_per_job / shards)


def _sampling_row(s: Settings, name: str, model: str, domains: list[str], samples: int, max_tokens: int | None,
                  api: bool, rule: str | None = None) -> Row:
    """The sampling jobs of one model, one per seed domain, as the rules split them."""
    by_domain = questions_by_domain(s)
    tokens = {d: generation_tokens(by_domain[d], samples, s.plan("mean_output_tokens"), max_tokens) for d in domains}
    hours = {d: 0.0 if api else _gen_hours(s, t, model) for d, t in tokens.items()}
    questions = sum(by_domain[d] for d in domains)
    disk = _jsonl(s, sum(tokens.values()), questions * samples)
    return Row(name, len(domains), f"{questions} q x {samples} samples", sum(tokens.values()),
               sum(hours.values()), api, max(hours.values(), default=0.0), rule, disk_bytes=disk)


def _jsonl(s: Settings, tokens: float, records: float) -> float:
    return jsonl_bytes(tokens, records, s.plan("jsonl_bytes_per_token"), s.plan("jsonl_record_bytes"))


def teacher_sampling(s: Settings, planned: dict) -> Stage:
    stage = Stage("teacher sampling", "sample_teacher")
    m = s.get("sampling.samples_per_question")
    for rule in ("sample_teacher", "sample_teacher_api"):
        for teacher, group in _group(_unsharded(planned[rule]), lambda j: j["teacher"]).items():
            max_tokens = s.get(f"teachers.{teacher}.max_tokens")
            stage.rows.append(_split_row(_sampling_row(
                s, teacher, s.config["teachers"][teacher]["model"], [j["domain"] for j in group], m, max_tokens,
                is_api_teacher(s, teacher), None if rule == stage.rule else rule), jobs.shards(s.config, "sampling")))
    return stage


def student_sampling(s: Settings, planned: dict) -> Stage:
    stage = Stage("student pass rates (question compression)", "sample_student")
    k = s.get("compression.samples")
    for student, group in _group(_unsharded(planned["sample_student"]), lambda j: j["student"]).items():
        stage.rows.append(_split_row(_sampling_row(s, student, s.config["students"][student]["model"],
                                                   [j["domain"] for j in group], k, None, False),
                                     jobs.shards(s.config, "compression")))
    return stage


def smoke_rows(s: Settings) -> float:
    """Rows of a smoke-test corpus: one verified sample of every seed question that has one, all domains."""
    answered = answered_fraction(s.plan("verified_fraction"), s.get("sampling.samples_per_question"))
    return seed_questions(s) * answered


def smoke_training(s: Settings, planned: dict) -> Stage:
    stage = Stage("teacher smoke test (quick distillation)", "train_smoke")
    rows = smoke_rows(s)
    per_row = example_tokens(s.plan("mean_prompt_tokens"), s.plan("mean_output_tokens"),
                             s.get("train.smoke.cutoff_len"))
    epochs = s.get("train.smoke.num_train_epochs")
    tokens = training_tokens(rows, per_row, epochs, s.get("train.smoke.max_steps"),
                             s.get("train.smoke.global_batch_size"))
    keep = jobs.keep_smoke_models(s.config)
    for student, group in _group(planned["train_smoke"], lambda j: j["student"]).items():
        n = len(group)
        label = f"{student} <- each teacher" if n == len(s.config["teachers"]) else f"{student} <- {n} teachers"
        model = s.config["students"][student]["model"]
        left, scratch, held = training_disk(s, params_of(s, model), rows, epochs, s.get("train.smoke.max_steps"),
                                            s.get("train.smoke.global_batch_size"), s.get("train.smoke.save_steps"),
                                            keep_model=keep)
        stage.rows.append(Row(label, n, f"{rows:.0f} rows x {epochs:g} ep", tokens * n,
                              _train_hours(s, tokens, model) * n, disk_bytes=left * n, scratch_bytes=scratch,
                              held_bytes=held * n))
    return stage


def _corpus_label(corpora: list[str]) -> str:
    """One corpus name, or '{math,code}-right' for a per-domain variant's corpora."""
    if len(corpora) == 1:
        return corpora[0]
    variant = corpora[0].split("-", 1)[1]
    return "{" + ",".join(c.split("-", 1)[0] for c in corpora) + "}-" + variant


def final_training(s: Settings, planned: dict) -> Stage:
    stage = Stage("training on the corpora (one chosen teacher per student)", "train_student")
    by_domain = questions_by_domain(s)
    chosen = chosen_teachers(s.config)
    per_row = example_tokens(s.plan("mean_prompt_tokens"), s.plan("mean_output_tokens"), s.get("train.cutoff_len"))
    epochs = s.get("train.num_train_epochs")
    groups = _group(planned["train_student"], lambda j: (j["student"], j["teacher"], parse_corpus_name(j["corpus"])[0]))
    for (student, teacher, _), group in groups.items():
        model = s.config["students"][student]["model"]
        corpora = [j["corpus"] for j in group]
        rows = [corpus_rows(c, by_domain, s.get("sampling.samples_per_question"),
                            s.get("diversity.trajectories_per_question"), s.plan("verified_fraction"),
                            s.plan("kept_question_fraction")) for c in corpora]
        tokens = [training_tokens(r, per_row, epochs, s.get("train.max_steps"), s.get("train.global_batch_size"))
                  for r in rows]
        hours = [_train_hours(s, t, model) for t in tokens]
        disk = [training_disk(s, params_of(s, model), r, epochs, s.get("train.max_steps"),
                              s.get("train.global_batch_size"), s.get("train.save_steps")) for r in rows]
        label = f"{student} / {_corpus_label(corpora)}" + ("" if teacher == chosen[student] else f" <- {teacher}")
        stage.rows.append(Row(label, len(group), f"{sum(rows):.0f} rows x {epochs:g} ep", sum(tokens), sum(hours),
                              max_job_hours=max(hours), disk_bytes=sum(d[0] for d in disk),
                              scratch_bytes=max(d[1] for d in disk), held_bytes=sum(d[2] for d in disk)))
    return stage


def _model_group(model: str) -> str:
    """The row an evaluated model counts in: base/<s>, teacher/<t>, smoke/<s>/*, trained/<s>/<t>/*."""
    kind, *parts = model.split("/")
    if kind == "smoke":
        return f"smoke/{parts[0]}/*"
    if kind == "trained":
        return f"trained/{parts[0]}/{parts[1]}/*"
    return model


def _model_of(s: Settings, model: str) -> tuple[str, bool]:
    """(base model key, reached through an API) of an evaluated model's path fragment."""
    kind, name, *_ = model.split("/")
    if kind == "teacher":
        return s.config["teachers"][name]["model"], is_api_teacher(s, name)
    return s.config["students"][name]["model"], False


def evaluation(s: Settings, planned: dict) -> Stage:
    stage = Stage("evaluation generations", "generate_eval")
    sizes = s.plan("dataset_sizes")
    tokens, samples = {}, {}  # per benchmark: one generate_eval job per model and benchmark
    for name, spec in s.config["benchmarks"].items():
        n = dataset_size(spec, "benchmarks", name, sizes)
        samples[name] = n * s.get(f"benchmarks.{name}.samples")
        max_tokens = s.get(f"benchmarks.{name}.max_tokens")
        tokens[name] = generation_tokens(samples[name], 1, s.plan("mean_output_tokens"), max_tokens)
    for group_name, group in _group(_unsharded(planned["generate_eval"]), lambda j: _model_group(j["model"])).items():
        model, api = _model_of(s, group_name)
        hours = [0.0 if api else _gen_hours(s, tokens[j["benchmark"]], model) for j in group]
        n_models = len({j["model"] for j in group})
        n_samples = sum(samples[j["benchmark"]] for j in group)
        n_tokens = sum(tokens[j["benchmark"]] for j in group)
        stage.rows.append(_split_row(Row(group_name, len(group),
                                         f"{n_models} model{'s' if n_models > 1 else ''}, {n_samples} samples",
                                         n_tokens, sum(hours), api, max(hours),
                                         disk_bytes=_jsonl(s, n_tokens, n_samples)),
                                     jobs.shards(s.config, "evaluation")))
    return stage


def entropy_scorer(s: Settings, teacher: str) -> str:
    """Base model that scores a teacher's corpus (analysis.entropy.scoring_model, rules/analysis.smk)."""
    entropy = s.get("analysis.entropy")
    if entropy["scoring_model"] == "teacher":
        return s.config["teachers"][teacher]["model"]
    student = entropy["student"] or next(iter(s.config["students"]))
    return s.config["students"][student]["model"]


def analysis(s: Settings, planned: dict) -> Stage:
    """Figure 3: every kept sample of a teacher's corpus scored by a forward pass, one job per (teacher, domain)."""
    stage = Stage("token entropy of the teachers' corpora", "token_entropy")
    by_domain = questions_by_domain(s)
    m = s.get("sampling.samples_per_question")
    scored = s.get("analysis.entropy.max_tokens")
    for teacher, group in _group(planned["token_entropy"], lambda j: j["teacher"]).items():
        # Response tokens scored per row: the first analysis.entropy.max_tokens of a sample the teacher cut at its own.
        response = min(s.plan("mean_output_tokens"), scored,
                       s.get(f"teachers.{teacher}.max_tokens"))
        rows = [by_domain[j["domain"]] * m * s.plan("verified_fraction") for j in group]
        tokens = [int(r * (s.plan("mean_prompt_tokens") + response)) for r in rows]
        hours = [_forward_hours(s, t, entropy_scorer(s, teacher)) for t in tokens]
        stage.rows.append(Row(teacher, len(group), f"{sum(rows):.0f} rows, forward only", sum(tokens), sum(hours),
                              max_job_hours=max(hours)))
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


def ood_evaluation(s: Settings, planned: dict) -> Stage:
    """lm-eval's out-of-domain suites (Table 6): one ood_eval job per evaluated model with a local folder.

    A task costs its examples' prompt tokens at the forward throughput (log-likelihoods and prefill) plus
    their generated tokens at the generation throughput (plan.ood_tasks).
    """
    stage = Stage("out-of-domain suites (lm-eval)", "ood_eval")
    if not planned["ood_eval"]:
        return stage
    ood = s.get("evaluation.out_of_domain")
    sizes = s.plan("ood_tasks")
    forward = generated = examples = 0
    for task in ood["tasks"]:
        n, f, g = ood_examples(task["name"], sizes, ood["limit"])
        examples, forward, generated = examples + n, forward + f, generated + g
    for group_name, group in _group(planned["ood_eval"], lambda j: _model_group(j["model"])).items():
        model, _ = _model_of(s, group_name)
        per_model = _forward_hours(s, forward, model) + _gen_hours(s, generated, model)
        count = len(group)
        stage.rows.append(Row(group_name, count, f"{examples} examples per model", (forward + generated) * count,
                              per_model * count, max_job_hours=per_model))
    return stage


def aider_evaluation(s: Settings, planned: dict) -> Stage:
    """Aider's Polyglot benchmark (Table 6): one aider_eval job per evaluated model with a local folder.

    Each exercise of the chosen languages (plan.aider_exercises) takes up to `tries` attempts, each a prompt
    of plan.aider_prompt_tokens (Aider's instructions, the files, the tests' output) and a reply of
    plan.mean_output_tokens (at most max_tokens); an upper bound, since a passed attempt ends the exercise.
    The replies are decoded `threads` at a time, so the job runs at that share of the batched throughput.
    """
    stage = Stage("Aider's Polyglot benchmark", "aider_eval")
    if not planned["aider_eval"]:
        return stage
    aider = s.get("evaluation.aider")
    sizes = s.plan("aider_exercises")
    exercises = sum(sizes[lang] for lang in aider["languages"] or sizes)
    attempts = exercises * aider["tries"]
    forward = attempts * s.plan("aider_prompt_tokens")
    generated = generation_tokens(attempts, 1, s.plan("mean_output_tokens"), aider["max_tokens"])
    in_flight = min(1.0, aider["threads"] / s.plan("aider_full_batch"))
    for group_name, group in _group(planned["aider_eval"], lambda j: _model_group(j["model"])).items():
        model, _ = _model_of(s, group_name)
        per_model = _forward_hours(s, forward, model) + _gen_hours(s, generated, model) / in_flight
        count = len(group)
        stage.rows.append(Row(group_name, count, f"{exercises} exercises x {aider['tries']} attempts per model",
                              (forward + generated) * count, per_model * count, max_job_hours=per_model))
    return stage


def pca_shift(s: Settings, planned: dict) -> Stage:
    """Figure 4: hidden states of the base and the trained student on every benchmark's prompts (forward only)."""
    stage = Stage("PCA centroid shift (Figure 4)", "pca_shift")
    pca = s.get("analysis.pca")
    max_prompts = pca["max_prompts"]
    max_tokens = pca["max_tokens"]
    benchmarks = pca["benchmarks"] or list(s.config["benchmarks"])
    sizes = s.plan("dataset_sizes")
    prompts = 0
    for name in benchmarks:
        n = dataset_size(s.config["benchmarks"][name], "benchmarks", name, sizes)
        prompts += n if max_prompts is None else min(n, int(max_prompts))
    per_run = 2 * prompts * min(s.plan("mean_prompt_tokens"), int(max_tokens))  # base and trained model
    for student, group in _group(planned["pca_shift"], lambda j: j["student"]).items():
        runs = len(group)
        hours = _forward_hours(s, per_run, s.config["students"][student]["model"])
        stage.rows.append(Row(student, runs, f"{prompts} prompts x 2 models", per_run * runs, hours * runs,
                              max_job_hours=hours))
    return stage


STAGES = (teacher_sampling, smoke_training, student_sampling, final_training, evaluation, ood_evaluation,
          aider_evaluation, analysis, pca_shift)


def compute_plan(config: dict) -> list[Stage]:
    """Every GPU stage of the workflow with its jobs' tokens and GPU-hours.

    `config` is resolved (ded.settings.resolve_config; load_config does it). The jobs are the rules' own
    job lists (job_lists); a stage groups them into rows.
    """
    config = apply_subset(copy.deepcopy(config))  # as rules/common.smk does
    s = Settings(config)
    planned = job_lists(config)
    return [stage(s, planned) for stage in STAGES]


def jobs_per_rule(stages: list[Stage]) -> dict[str, int]:
    """{rule: jobs the plan counts}, every stage's rule included (0 when it plans none)."""
    counts = {st.rule: 0 for st in stages}
    for st in stages:
        for r in st.rows:
            rule = r.rule or st.rule
            counts[rule] = counts.get(rule, 0) + r.jobs
    return counts


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


def nodes_by_rule(config: Mapping[str, Any]) -> dict[str, int]:
    """Nodes per job of the training rules (train.nodes, resolved per stage as the rules resolve it)."""
    from ..train.arguments import resolve_settings

    stages = {"train_warmstart": "warm_start", "train_smoke": "smoke", "train_student": None}
    return {rule: resolve_settings(config["train"], stage)["nodes"] for rule, stage in stages.items()}


def attach_profile(stages: list[Stage], profile: dict, nodes: Mapping[str, int] | None = None) -> list[Stage]:
    """Fill in each stage's GPUs per job and runtime limit from a SLURM profile; a rule's `gpu` is per
    node, so a job over `nodes[rule]` nodes holds that many times as many."""
    for stage in stages:
        res = profile_resources(profile, stage.rule)
        gpus = res.get("gpu")
        stage.nodes = int((nodes or {}).get(stage.rule, 1))
        per_node = int(gpus) if isinstance(gpus, int) or str(gpus).isdigit() else None
        stage.gpus_per_job = per_node * stage.nodes if per_node is not None else None
        stage.runtime_hours = duration_hours(res.get("runtime")) if "runtime" in res else None
    return stages


# --- loading and printing ------------------------------------------------------------


def load_config(configfiles: Path | list[Path], schema_path: Path = SCHEMA) -> dict:
    """The config of `configfiles`, resolved as the Snakefile resolves it (validated against the schema, every
    default filled in: ded.settings.resolve_config). Several files are merged in order as Snakemake merges
    --configfile (dicts key by key, other values replaced)."""
    from snakemake.utils import update_config

    configfiles = [configfiles] if isinstance(configfiles, (str, Path)) else list(configfiles)
    config: dict = {}
    for path in configfiles:
        update_config(config, read_yaml(path, "YAML config") or {})
    return resolve_config(config, schema_path, where=" + ".join(str(p) for p in configfiles))


def _fmt_tokens(n: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def _fmt_bytes(n: float) -> str:
    """Decimal units, as disks are sold: 1 TB = 1e12 bytes."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def format_plan(stages: list[Stage], plan_settings: dict, title: str = "") -> str:
    """Tables per stage and a total, as printed by `python -m ded plan`.

    The disk column is what a row's jobs leave on disk; a stage's `disk:` line adds its peak when its jobs
    hold more while they run (checkpoints, smoke models removed once read), and a `Disk:` line before the
    total gives the whole plan's (disk_totals, with plan.concurrent_jobs jobs of a stage at once)."""
    from ..settings import resolve_section

    plan_settings = resolve_section(plan_settings, "plan", check=False)  # a partial one takes the schema's defaults
    concurrent = int(plan_settings["concurrent_jobs"])
    lines = []
    if title:
        lines.append(title)
    lines.append(f"Throughputs per {plan_settings['gpu']} for a {plan_settings['reference_params_b']:g}B model: "
                 f"generation {plan_settings['generation_tokens_per_gpu_s']:g} tok/s, "
                 f"training {plan_settings['training_tokens_per_gpu_s']:g} tok/s, "
                 f"forward {plan_settings['forward_tokens_per_gpu_s']:g} tok/s; "
                 f"mean response {plan_settings['mean_output_tokens']} tokens (config `plan:`).")
    width = max([len(r.job) + len(f" (x{r.jobs})") + (len(r.rule) + 3 if r.rule else 0)
                 for st in stages for r in st.rows] + [10])
    for st in stages:
        lines.append("")
        lines.append(f"{st.name} [{st.rule}]")
        lines.append(f"  {'job':<{width}}  {'work':<28} {'tokens':>9} {'GPU-h':>10} {'disk':>10}")
        for r in st.rows:
            hours = "API" if r.api else f"{r.gpu_hours:,.1f}"
            job = (r.job if r.jobs == 1 else f"{r.job} (x{r.jobs})") + (f" [{r.rule}]" if r.rule else "")
            lines.append(f"  {job:<{width}}  {r.detail:<28} {_fmt_tokens(r.tokens):>9} {hours:>10} "
                         f"{_fmt_bytes(r.disk_bytes):>10}")
        api = f"  (+{_fmt_tokens(st.api_tokens)} tokens through APIs)" if st.api_tokens else ""
        count = f"{st.jobs} jobs"
        lines.append(f"  {'stage total':<{width}}  {count:<28} {_fmt_tokens(st.tokens):>9} {st.gpu_hours:>10,.1f} "
                     f"{_fmt_bytes(st.disk_bytes):>10}{api}")
        peak = st.peak_disk_bytes(concurrent)
        if peak > st.disk_bytes:
            largest = max(r.scratch_bytes for r in st.rows)
            held = sum(r.held_bytes for r in st.rows)
            why = ([f"up to {_fmt_bytes(largest)} of checkpoints per job while it runs"] if largest else []) + (
                [f"{_fmt_bytes(held)} of models removed once read"] if held else [])
            lines.append(f"  disk: {_fmt_bytes(st.disk_bytes)} left, peak {_fmt_bytes(peak)} with {concurrent} "
                         f"job(s) at once ({'; '.join(why)})")
        if st.gpus_per_job:
            spread = f" ({st.nodes} nodes x {st.gpus_per_job // st.nodes})" if st.nodes > 1 else ""
            note = (f"  profile: {st.gpus_per_job} GPU(s) per job{spread}; longest job about "
                    f"{st.longest_job_hours:,.1f} h wall-clock")
            if st.runtime_hours is not None:
                note += f" against a {st.runtime_hours:g} h limit (attempt 1)"
                if st.longest_job_hours > st.runtime_hours:
                    note += (f" -- EXCEEDS it: raise it (--set-resources {st.rule}:runtime=...) or rely on"
                             " retries resuming from saved progress")
            lines.append(note)
    total = sum(st.gpu_hours for st in stages)
    api_total = sum(st.api_tokens for st in stages)
    left, peak = disk_totals(stages, concurrent)
    lines.append("")
    lines.append(f"Disk: {_fmt_bytes(left)} left at the end, peak about {_fmt_bytes(peak)} "
                 f"({concurrent} job(s) of a stage at once, plan.concurrent_jobs; a checkpoint "
                 f"{plan_settings['checkpoint_bytes_per_param']:g} bytes per parameter, samples "
                 f"{plan_settings['jsonl_bytes_per_token']:g} bytes per token)")
    lines.append(f"Total: {total:,.1f} GPU-hours on {plan_settings['gpu']}"
                 + (f", plus {_fmt_tokens(api_total)} tokens through OpenAI-compatible endpoints" if api_total else ""))
    return "\n".join(lines)
