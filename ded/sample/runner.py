"""The resumable sampling job: M samples per problem from one teacher.

Progress lives in an AppendLog outside the declared output: each finished
(question, sample) pair is appended (and fsynced) as soon as its backend call
returns. A restart repairs a torn last line, skips the pairs already there and
never duplicates one. The declared output is written once, complete, ordered
by (question order, sample_id), by atomic rename.

Each progress line carries a `run` signature of everything that shapes a
sample (teacher settings, prompt wording, seed, model revision); lines of
another signature are dropped on restart instead of being mixed in. The
number of samples is not part of it: raising M keeps the samples already
drawn, since each pair's seed depends only on (seed, question, sample).

What varies between two runs of the same config and seed stays out of the
declared output, so that output is byte-identical: a pair's call time
(`elapsed_s`) is kept in its progress line only, and the job's duration goes
to the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Iterable

from .. import think
from ..io import AppendLog, atomic_path, dumps, validate_records, write_records
from ..progress import progress
from .base import Backend, Completion, GenerationError, Request, SamplingParams, model_fingerprint, sample_seed
from .prompts import (CHOICE_INSTRUCTION, CODE_INSTRUCTION, FUNCTIONAL_INSTRUCTION, MATH_INSTRUCTION, build_messages,
                      teacher_settings)

log = logging.getLogger(__name__)

#: Fields of a progress line that the declared output leaves out: the run signature, and the call time
#: (measured, so it would differ between two otherwise identical runs).
PROGRESS_ONLY = ("run", "elapsed_s")

#: Settings that change what a teacher writes; a change invalidates saved progress.
SIGNATURE_KEYS = ("backend", "system_prompt", "temperature", "top_p", "max_tokens", "prefill_think",
                  "chat_template", "api_model", "api_extra_body", "corpus_path", "corpus_fields")


class SamplingIncomplete(GenerationError):
    """Some pairs failed; the others are saved in the progress file and a rerun retries only the failed."""


def allocation_options(backend_options: dict | None, gpus: int | None, threads: int | None = None) -> dict:
    """`backend_options` with the job's allocation: vLLM's tensor parallelism spans every GPU the job got
    (the `gpu` resource; 0 on a CPU counts as 1), the hf backend uses its threads. The config never sets
    either (ded.config.check_references), so the profile's `gpu` alone decides the tensor-parallel size."""
    opts = dict(backend_options or {})
    opts["tensor_parallel_size"] = max(1, int(gpus or 0))
    if threads:
        opts["threads"] = int(threads)
    return opts


def make_backend(settings: dict, *, model_path: str | None, model_name: str, batch_size: int = 8,
                 seed: int = 0, backend_options: dict | None = None) -> Backend:
    """The backend a teacher spec (defaults filled) names."""
    opts = dict(backend_options or {})
    kind = settings["backend"]
    engine_args = dict(settings.get("engine_args") or {})
    if kind in ("hf", "vllm") and not model_path:
        raise GenerationError(f"backend {kind} needs a local model folder (model_path)")
    if kind == "hf":
        from .hf import HFBackend

        return HFBackend(model_path, chat_template=settings["chat_template"], prefill_think=settings["prefill_think"],
                         batch_size=batch_size, device=opts.get("device", engine_args.get("device")),
                         dtype=opts.get("dtype", engine_args.get("dtype")), threads=opts.get("threads"))
    if kind == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend(model_path, tensor_parallel_size=opts.get("tensor_parallel_size", 1),
                           chat_template=settings["chat_template"], prefill_think=settings["prefill_think"],
                           batch_size=max(batch_size, opts.get("chunk_size", 0)), seed=seed, engine_args=engine_args)
    if kind == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(settings["api_base"], settings["api_model"] or settings.get("model") or model_name,
                             api_key_env=settings["api_key_env"], concurrency=settings["concurrency"],
                             timeout_s=settings["timeout_s"], max_retries=settings["max_retries"],
                             backoff_s=opts.get("backoff_s", 1.0), max_backoff_s=opts.get("max_backoff_s", 60.0),
                             extra_body=settings["api_extra_body"], prefill_think=settings["prefill_think"])
    from .corpus import CorpusBackend

    return CorpusBackend(settings["corpus_path"], fields=settings["corpus_fields"],
                         missing=settings["corpus_missing"], prefill_think=settings["prefill_think"])


def sample_record(problem: dict, sample_id: int, model_name: str, backend: str, c: Completion) -> dict:
    """A SAMPLE record from a completion, its reasoning normalised to '<think>...</think>answer'.

    Only what the model wrote and how it was asked: the call time is not part of it (see PROGRESS_ONLY).
    """
    text = think.normalise(c.raw_text, c.reasoning_content, c.prefilled_think)
    parts = think.split(text)
    rec = {
        "question_id": problem["id"], "sample_id": sample_id, "model": model_name,
        "raw_text": c.raw_text, "text": text, "reasoning": parts.reasoning,
        "answer": parts.answer if parts.problem is None else None,
        "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
        "finish_reason": c.finish_reason, "seed": c.seed, "backend": backend,
        "model_revision": c.model_revision,
    }
    if c.top_logprobs is not None:
        rec["top_logprobs"] = c.top_logprobs
    return rec


def run_signature(settings: dict, model_name: str, seed: int, revision: str | None) -> str:
    sig = {k: settings.get(k) for k in SIGNATURE_KEYS}
    # Logprobs do not change what is drawn, but pairs saved without them would lack the field. Only a
    # set value enters, so the signatures (and the saved progress) of runs without logprobs stay valid.
    if settings.get("logprobs") is not None:
        sig["logprobs"] = settings["logprobs"]
    sig.update(model=model_name, seed=seed, revision=revision,
               prompts=[MATH_INSTRUCTION, CODE_INSTRUCTION, FUNCTIONAL_INSTRUCTION, CHOICE_INSTRUCTION])
    return hashlib.sha256(json.dumps(sig, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _pair(record: dict) -> tuple[str, int]:
    return record["question_id"], record["sample_id"]


def _load_progress(progress_path: Path, signature: str) -> dict[tuple[str, int], dict]:
    """Finished pairs of this run; lines of another run are dropped from the file."""
    with AppendLog(progress_path, key=_pair) as plog:
        records = plog.records()
    mine = [r for r in records if r.get("run") == signature]
    if len(mine) != len(records):
        log.warning("%s: dropping %d progress line(s) of an earlier run with other settings",
                    progress_path, len(records) - len(mine))
        with atomic_path(progress_path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(dumps(r) + "\n" for r in mine)
    return {_pair(r): r for r in mine}


def _check_problems(problems: list[dict]) -> None:
    validate_records(problems, "problem", where="problems")
    seen = set()
    for i, p in enumerate(problems, 1):
        if p["id"] in seen:
            raise GenerationError(f"problems, record {i}: duplicate id {p['id']!r}")
        seen.add(p["id"])


def sample_problems(problems: Iterable[dict], teacher_spec: dict, *, model_name: str, n: int,
                    out_path: str | Path, progress_path: str | Path, batch_size: int = 8, seed: int | None = None,
                    model_path: str | Path | None = None, backend_options: dict | None = None,
                    backend: Backend | None = None, progress_bar: bool | None = None) -> int:
    """Sample `n` completions per problem from a teacher; write SAMPLE records to `out_path`.

    `teacher_spec`: the config's teacher entry (defaults: teacher_settings); its
    `model_dir` and `seed`, when present, stand in for `model_path` and `seed`.
    `backend_options`: run-time knobs that are not part of the experiment
    (tensor_parallel_size, threads, device, backoff_s, ...). `backend`: an
    already built backend to use instead of building one from the spec.
    Returns the number of records written. Raises SamplingIncomplete when some
    pairs failed; the rest stay saved for the rerun.
    """
    problems = list(problems)
    _check_problems(problems)
    settings = teacher_settings(teacher_spec, where=f"teachers.{model_name}")
    model_path = model_path or settings.get("model_dir") or None
    seed = int(seed if seed is not None else settings.get("seed") or 0)
    kind = backend.name if backend is not None else settings["backend"]
    local = kind in ("hf", "vllm") and model_path
    revision = getattr(backend, "revision", None) or (model_fingerprint(model_path) if local else None)
    signature = run_signature({**settings, "backend": kind}, model_name, seed, revision)
    progress_path, out_path = Path(progress_path), Path(out_path)
    done = _load_progress(progress_path, signature)

    todo = [(q, p, s) for q, p in enumerate(problems) for s in range(n) if (p["id"], s) not in done]
    total = len(problems) * n
    log.info("%s: %d of %d (question, sample) pairs to sample (%d saved in %s)",
             model_name, len(todo), total, total - len(todo), progress_path)
    failures: list[str] = []
    if todo:
        params = dict(temperature=float(settings["temperature"]), top_p=float(settings["top_p"]),
                      max_tokens=int(settings["max_tokens"]), logprobs=settings["logprobs"])
        requests = [Request(tuple(build_messages(p, settings["system_prompt"])),
                            SamplingParams(n=1, seed=sample_seed(seed, p["id"], s), **params),
                            key=(q, s), problem=p, first_sample=s)
                    for q, p, s in todo]
        own = backend is None
        if own:
            backend = make_backend(settings, model_path=str(model_path) if model_path else None,
                                   model_name=model_name, batch_size=batch_size, seed=seed,
                                   backend_options=backend_options)
        started = time.perf_counter()
        bar = progress(total=total, initial=total - len(todo), desc="sampling", unit="sample",
                       enabled=progress_bar, logger=log)
        try:
            with AppendLog(progress_path, key=_pair) as plog:
                for outcome in backend.stream(requests):
                    q, s = outcome.request.key
                    problem = problems[q]
                    if outcome.error is not None:
                        failures.append(f"{problem['id']} sample {s}: {outcome.error}")
                        log.error("%s sample %d failed: %s", problem["id"], s, outcome.error)
                        continue
                    if outcome.skipped is not None:
                        rec = {"question_id": problem["id"], "sample_id": s, "run": signature,
                               "skipped": outcome.skipped}
                    else:
                        c = outcome.completions[0]
                        rec = sample_record(problem, s, model_name, kind, c)
                        rec.update(run=signature, elapsed_s=c.elapsed_s)
                    plog.append([rec])
                    done[(problem["id"], s)] = rec
                    bar.update(1)
        finally:
            bar.close()
            if own:
                backend.close()
        log.info("%s: sampled %d pair(s) in %.1fs (each call's time: elapsed_s in %s)", model_name,
                 len(todo) - len(failures), time.perf_counter() - started, progress_path)
    if failures:
        raise SamplingIncomplete(
            f"{len(failures)} of {total} (question, sample) pairs failed; the {total - len(failures)} others are "
            f"saved in {progress_path} and a rerun retries only the failed ones. First: {failures[0]}")

    missing = [(p["id"], s) for p in problems for s in range(n) if (p["id"], s) not in done]
    if missing:
        raise SamplingIncomplete(f"the {kind} backend returned nothing for {len(missing)} pair(s), "
                                 f"first {missing[0]}")
    out, skipped = [], 0
    for p in problems:
        for s in range(n):
            rec = done[(p["id"], s)]
            if "skipped" in rec:
                skipped += 1
                log.warning("%s sample %d left out: %s", p["id"], s, rec["skipped"])
                continue
            out.append({k: v for k, v in rec.items() if k not in PROGRESS_ONLY})
    if skipped:
        log.warning("%d pair(s) left out (the backend has nothing for them)", skipped)
    return write_records(out_path, out, "sample")
