"""The `vllm` backend: vLLM's offline engine, tensor parallel over the job's GPUs.

`vllm` is imported only when an engine is built, so this module imports (and
its parameter mapping is tested) on machines without it. Prompts are rendered
with the model's Hugging Face tokenizer, as the `hf` backend does, so both
backends show a teacher the same text.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterator

from .base import Backend, Completion, Outcome, Request, SamplingParams, model_fingerprint, top_logprob_entries
from .prompts import render_prompt

log = logging.getLogger(__name__)


def sampling_kwargs(params: SamplingParams) -> dict[str, Any]:
    """Keyword arguments of `vllm.SamplingParams` for our parameters."""
    kw: dict[str, Any] = {
        "n": params.n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "seed": params.seed,
    }
    if params.logprobs is not None:
        kw["logprobs"] = params.logprobs
    return kw


def engine_kwargs(model_path: str, tensor_parallel_size: int = 1, seed: int = 0,
                  engine_args: dict | None = None) -> dict[str, Any]:
    """Keyword arguments of `vllm.LLM`; `engine_args` (from the teacher spec) wins."""
    kw: dict[str, Any] = {"model": str(model_path), "tokenizer": str(model_path),
                          "tensor_parallel_size": max(1, int(tensor_parallel_size)), "seed": seed}
    kw.update(engine_args or {})
    return kw


def finish_reason(output) -> str | None:
    """vLLM says 'stop' for EOS and stop strings, 'length' at max_tokens, 'abort' otherwise."""
    return getattr(output, "finish_reason", None)


def top_logprobs_from_output(output, k: int | None) -> list | None:
    """Per generated token, the top-k [token id, logprob] pairs of a `vllm.CompletionOutput`.

    vLLM gives, per token, a dict {token id: Logprob} of the k most likely
    tokens plus the sampled one when it is not among them; only the top k are
    kept, so every backend saves the same thing. Whether they are the model's
    raw distribution (as the hf backend's) or the one after temperature and
    penalties is vLLM's `logprobs_mode` engine argument (raw_logprobs, the
    default of recent versions, matches hf; set it in the teacher's engine_args).
    """
    steps = getattr(output, "logprobs", None)
    if not k or steps is None:
        return None
    return [top_logprob_entries(((int(t), lp.logprob) for t, lp in (step or {}).items()), k) for step in steps]


def completions_from_output(request_output, prefilled: bool, revision: str | None, elapsed: float,
                            seed: int | None, logprobs: int | None = None) -> list[Completion]:
    """Our completions from one `vllm.RequestOutput`; `logprobs` is the k the request asked for."""
    prompt_tokens = len(request_output.prompt_token_ids or []) or None
    out = []
    for o in request_output.outputs:
        out.append(Completion(raw_text=o.text, prompt_tokens=prompt_tokens,
                              completion_tokens=len(o.token_ids), finish_reason=finish_reason(o),
                              elapsed_s=round(elapsed, 4), model_revision=revision, seed=seed,
                              prefilled_think=prefilled, top_logprobs=top_logprobs_from_output(o, logprobs)))
    return out


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, model_path: str, *, tensor_parallel_size: int = 1, chat_template: str | None = None,
                 prefill_think: bool = False, batch_size: int = 256, seed: int = 0,
                 engine_args: dict | None = None, revision: str | None = None):
        try:
            import vllm
        except ImportError as exc:
            raise ImportError(
                "the vllm backend needs the `vllm` package (a GPU environment: envs/vllm.yaml); "
                "use backend: hf on a CPU") from exc
        from transformers import AutoTokenizer

        self._vllm = vllm
        self.model_path = str(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.chat_template = chat_template
        self.prefill_think = prefill_think
        self.batch_size = max(1, int(batch_size))
        self.revision = revision or model_fingerprint(self.model_path)
        kw = engine_kwargs(self.model_path, tensor_parallel_size, seed, engine_args)
        log.info("starting vLLM: %s", {k: v for k, v in kw.items() if k != "model"})
        self.llm = vllm.LLM(**kw)

    def stream(self, requests: list[Request]) -> Iterator[Outcome]:
        requests = list(requests)
        # vLLM schedules a whole list itself; chunks only bound how much work a kill can lose.
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start:start + self.batch_size]
            rendered = [render_prompt(self.tokenizer, list(r.messages), self.chat_template, self.prefill_think)
                        for r in chunk]
            params = [self._vllm.SamplingParams(**sampling_kwargs(r.params)) for r in chunk]
            t0 = time.perf_counter()
            try:
                outputs = self.llm.generate([text for text, _ in rendered], params, use_tqdm=False)
            except Exception as exc:  # noqa: BLE001 - reported per request
                for k, req in enumerate(chunk):
                    yield Outcome(start + k, req, error=exc)
                continue
            elapsed = time.perf_counter() - t0
            for k, (req, output) in enumerate(zip(chunk, outputs)):
                yield Outcome(start + k, req, completions=completions_from_output(
                    output, rendered[k][1], self.revision, elapsed, req.params.seed, req.params.logprobs))

    def close(self) -> None:
        self.llm = None
