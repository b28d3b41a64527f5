"""The generation interface every backend implements.

A backend turns `Request`s (chat messages plus sampling parameters) into
`Completion`s. `Backend.stream` yields one `Outcome` per request as soon as it
is done, in any order, so a runner can save progress while a long job runs;
an outcome carries either the request's completions or the error that stopped
it (a failed call never produces a completion).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import DedError


class GenerationError(DedError, RuntimeError):
    """A backend could not produce a completion; the message says which request and why."""


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int | None = 0
    #: k of the top-k logprobs saved per generated token (Completion.top_logprobs); None saves none
    logprobs: int | None = None


@dataclass(frozen=True)
class Request:
    messages: tuple[dict, ...]
    params: SamplingParams
    #: caller's handle (the runner uses (question_id, sample_id)); backends never read it
    key: Any = None
    #: the problem record the messages were built from (the corpus backend matches on it)
    problem: dict | None = None
    #: sample id of the first sample asked (the corpus backend replays the k-th trace of a question)
    first_sample: int = 0


@dataclass
class Completion:
    raw_text: str
    reasoning_content: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None  # "stop" | "length" | whatever the backend said
    elapsed_s: float | None = None  # wall time of the call (or batch) that produced it
    model_revision: str | None = None
    seed: int | None = None
    #: the prompt ended with an opened <think>, so the text starts inside the reasoning
    prefilled_think: bool = False
    #: per generated token, its k most likely tokens as [token, logprob] pairs (see `top_logprob_entries`)
    top_logprobs: list | None = None


@dataclass
class Outcome:
    index: int  # position of the request in the list given to `stream`
    request: Request
    completions: list[Completion] = field(default_factory=list)
    error: BaseException | None = None
    #: the backend has nothing for this request by design (a corpus without the question)
    skipped: str | None = None


class Backend:
    """Base class: subclasses implement `stream`; `generate` collects it in request order."""

    name = "base"

    def stream(self, requests: list[Request]) -> Iterator[Outcome]:  # pragma: no cover - interface
        raise NotImplementedError

    def generate(self, requests: Iterable[Request]) -> list[list[Completion]]:
        """Completions per request, in request order; raises the first error."""
        requests = list(requests)
        out: list[list[Completion] | None] = [None] * len(requests)
        for outcome in self.stream(requests):
            if outcome.error is not None:
                raise outcome.error
            out[outcome.index] = outcome.completions
        return [c or [] for c in out]

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


#: Decimals kept of a saved logprob: 1e-4 nats moves an entropy by far less than its sampling noise,
#: and a record holds k of them per generated token.
LOGPROB_DECIMALS = 4


def top_logprob_entries(pairs, k: int | None = None) -> list[list]:
    """One generated token's top-k as the records store it: [[token, logprob], ...], most likely first.

    `pairs`: (token, logprob) in any order; token is a vocabulary id (hf, vllm)
    or the token's text (openai). Non-finite logprobs (masked tokens) are
    dropped, since JSON has no -inf; `k` keeps the first k.
    """
    out = [[tok, round(float(lp), LOGPROB_DECIMALS)] for tok, lp in pairs if math.isfinite(float(lp))]
    out.sort(key=lambda e: -e[1])
    return out if k is None else out[:k]


def derive_seed(*parts: Any) -> int:
    """A 31-bit seed from any parts (stable across runs, processes and Python versions)."""
    digest = hashlib.sha256(json.dumps([str(p) for p in parts]).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def sample_seed(base_seed: int, question_id: str, sample_id: int) -> int:
    """The seed of one (question, sample) pair.

    It depends on nothing else (not the batch, not the order, not which pairs
    were already done), so a resumed job draws what an uninterrupted one would.
    """
    return derive_seed("sample", base_seed, question_id, sample_id)


def model_fingerprint(model_dir: str | os.PathLike) -> str:
    """A cheap revision id of a local model folder: config, tokenizer and the ends of each weight file, so the
    same weights give the same id wherever and whenever they were trained.

    Hashing whole weight files takes minutes at 32B; the first and last MiB
    plus the size tell apart any two trainings in practice.
    """
    root = Path(model_dir)
    h = hashlib.sha256()
    for name in ("config.json", "generation_config.json", "tokenizer_config.json", "chat_template.jinja"):
        p = root / name
        if p.exists():
            h.update(name.encode() + p.read_bytes())
    chunk = 1 << 20
    # training_args.bin is the Trainer's pickled arguments, with the run's folder in it: not weights, and it
    # would give one training, repeated in another folder, another revision
    weights = sorted(root.glob("*.safetensors")) + [p for p in sorted(root.glob("*.bin"))
                                                    if p.name != "training_args.bin"]
    for p in weights:
        size = p.stat().st_size
        h.update(f"{p.name}:{size}".encode())
        with p.open("rb") as fh:
            h.update(fh.read(chunk))
            if size > chunk:
                fh.seek(max(chunk, size - chunk))
                h.update(fh.read(chunk))
    return "sha256:" + h.hexdigest()[:16]
