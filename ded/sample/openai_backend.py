"""The `openai` backend: any OpenAI-compatible chat-completions endpoint.

vLLM and SGLang servers, hosted reasoning APIs. Calls run in a bounded thread
pool; a call that meets a 429, a 5xx, a timeout, a dropped connection, a body
that is not JSON or a body without choices is retried with exponential
backoff (honouring Retry-After), up to `max_retries` times. A call that still
fails yields an error and no completion. The API key is read from the
environment variable the teacher spec names and goes only into the
Authorization header; credentials in `api_base` (user:password@) become a
Basic Authorization header and leave the URL. Since a server may quote the
header back, every text taken from a reply (error bodies, completions, the
model name) and every message and log line is passed through
`ded.redact.redact` with those secrets first.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

from ..redact import redact, redact_error, redact_obj, strip_userinfo, url_secrets
from .base import Backend, Completion, GenerationError, Outcome, Request, top_logprob_entries

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))

#: Without a `timeout_s` in the teacher spec, one call may last TIMEOUT_FLOOR_S (connection, the
#: server's queue, the prompt) plus its max_tokens at TIMEOUT_TOKENS_PER_S, a slow stream's pace: a
#: 16k-token reasoning reply then has about 37 minutes, a 32k one 65, where a fixed 600 s would cut
#: them off and retry them from scratch.
TIMEOUT_FLOOR_S = 600.0
TIMEOUT_TOKENS_PER_S = 10.0


class RetryableError(GenerationError):
    pass


def call_timeout_s(max_tokens: int | None, timeout_s: float | None = None) -> float:
    """Seconds one call may take: `timeout_s` when set, else a floor plus the reply at a slow pace."""
    if timeout_s is not None:
        return float(timeout_s)
    return TIMEOUT_FLOOR_S + max(0, int(max_tokens or 0)) / TIMEOUT_TOKENS_PER_S


def request_body(req: Request, model: str, extra: dict | None = None) -> dict[str, Any]:
    """The JSON body of a chat-completions call for one request."""
    p = req.params
    body: dict[str, Any] = {"model": model, "messages": list(req.messages), "n": p.n,
                            "temperature": p.temperature, "top_p": p.top_p, "max_tokens": p.max_tokens}
    if p.seed is not None:
        body["seed"] = p.seed
    if p.logprobs is not None:
        body["logprobs"] = True
        body["top_logprobs"] = p.logprobs
    body.update(extra or {})
    return body


def parse_logprobs(choice: dict) -> list | None:
    """Per generated token, its top-k [token text, logprob] pairs from a choice's `logprobs.content`.

    None when the choice has no logprobs (none were asked, or the server
    gives none); a `logprobs` that is not the OpenAI shape is a RetryableError
    like any other malformed body.
    """
    logprobs = choice.get("logprobs")
    if logprobs is None:
        return None
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if content is None and isinstance(logprobs, dict):
        return None  # a server that answers logprobs: {"content": null}
    if not isinstance(content, list):
        raise RetryableError("a choice's logprobs has no content list")
    out = []
    for i, entry in enumerate(content):
        top = entry.get("top_logprobs") if isinstance(entry, dict) else None
        if not isinstance(top, list) or not all(isinstance(t, dict) and "token" in t
                                                and isinstance(t.get("logprob"), (int, float)) for t in top):
            raise RetryableError(f"logprobs.content[{i}] has no list of {{token, logprob}} top_logprobs")
        out.append(top_logprob_entries((t["token"], t["logprob"]) for t in top))
    return out


def parse_response(data: Any, prefilled: bool, elapsed: float, seed: int | None) -> list[Completion]:
    """Completions from a chat-completions body; RetryableError when it has none to give."""
    if not isinstance(data, dict):
        raise RetryableError(f"response is a JSON {type(data).__name__}, not an object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        detail = data.get("error") if isinstance(data.get("error"), (str, dict)) else None
        raise RetryableError("response has no choices" + (f" (error: {str(detail)[:200]})" if detail else ""))
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    revision = data.get("system_fingerprint") or data.get("model")
    out = []
    for choice in sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise RetryableError("a choice has no message")
        content = message.get("content") or ""
        # vLLM and DeepSeek say reasoning_content; some gateways say reasoning.
        reasoning = message.get("reasoning_content")
        if reasoning is None and isinstance(message.get("reasoning"), str):
            reasoning = message["reasoning"]
        completion_tokens = usage.get("completion_tokens") if len(choices) == 1 else None
        out.append(Completion(raw_text=content, reasoning_content=reasoning,
                              prompt_tokens=usage.get("prompt_tokens"), completion_tokens=completion_tokens,
                              finish_reason=choice.get("finish_reason"), elapsed_s=round(elapsed, 4),
                              model_revision=str(revision) if revision else None, seed=seed,
                              prefilled_think=prefilled, top_logprobs=parse_logprobs(choice)))
    return out


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, api_base: str, model: str, *, api_key_env: str | None = None, concurrency: int = 8,
                 timeout_s: float | None = None, max_retries: int = 6, backoff_s: float = 1.0,
                 max_backoff_s: float = 60.0, extra_body: dict | None = None, prefill_think: bool = False):
        import httpx

        if not api_base:
            raise GenerationError("the openai backend needs the teacher's `api_base` "
                                  "(e.g. http://host:8000/v1)")
        headers = {"Content-Type": "application/json"}
        secrets = url_secrets(api_base)
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise GenerationError(f"environment variable {api_key_env} (the teacher's `api_key_env`) "
                                      "is not set; it must hold the API key")
            headers["Authorization"] = f"Bearer {key}"
            secrets.append(key)
        elif secrets:
            # Sent as a header rather than left in the URL, so the URL in messages and httpx's logs holds none.
            parts = urlsplit(api_base)
            userinfo = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(userinfo.encode("utf-8")).decode("ascii")
        #: every secret this backend holds; no text leaves it without these redacted
        self.secrets = tuple(secrets)
        self.url = strip_userinfo(api_base.rstrip("/")) + "/chat/completions"
        self.model = model
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.backoff_s, self.max_backoff_s = float(backoff_s), float(max_backoff_s)
        self.extra_body = dict(extra_body or {})
        # A server whose template opens <think> returns text that starts inside the reasoning.
        self.prefill_think = prefill_think
        #: None: each call's timeout follows its max_tokens (call_timeout_s)
        self.timeout_s = None if timeout_s is None else float(timeout_s)
        self.client = httpx.Client(timeout=httpx.Timeout(call_timeout_s(None, self.timeout_s)), headers=headers,
                                   limits=httpx.Limits(max_connections=self.concurrency))
        self._httpx = httpx

    def _reply_text(self, resp, limit: int) -> str:
        # Redact before cutting: a cut through a secret would leave its head unmatched.
        return repr(redact(resp.text, self.secrets)[:limit])

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(self.max_backoff_s, max(0.0, float(retry_after)))
            except ValueError:
                pass  # an HTTP date: fall back to our own schedule
        base = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
        return base * (0.5 + random.random() / 2)

    def call(self, req: Request) -> list[Completion]:
        """One request, with retries; raises GenerationError when every attempt failed."""
        body = request_body(req, self.model, self.extra_body)
        timeout = self._httpx.Timeout(call_timeout_s(req.params.max_tokens, self.timeout_s))
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            retry_after = None
            t0 = time.perf_counter()
            try:
                resp = self.client.post(self.url, json=body, timeout=timeout)
                elapsed = time.perf_counter() - t0
                if resp.status_code in RETRY_STATUS:
                    retry_after = resp.headers.get("retry-after")
                    raise RetryableError(f"HTTP {resp.status_code}: {self._reply_text(resp, 200)}")
                if resp.status_code >= 400:
                    raise GenerationError(f"HTTP {resp.status_code} from {self.url}: {self._reply_text(resp, 300)} "
                                          "(not retried: the request itself was refused)")
                try:
                    data = resp.json()
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise RetryableError(f"response is not JSON: {self._reply_text(resp, 120)}") from None
                return parse_response(redact_obj(data, self.secrets), self.prefill_think, elapsed,
                                      req.params.seed)
            except RetryableError as exc:
                last = redact(str(exc), self.secrets)
            except self._httpx.TimeoutException as exc:
                last = f"timed out ({type(exc).__name__})"
            except self._httpx.TransportError as exc:
                last = redact(f"connection error ({type(exc).__name__}: {exc})", self.secrets)
            if attempt < self.max_retries:
                delay = self._delay(attempt, retry_after)
                log.warning("call to %s failed (%s); retry %d/%d in %.2fs", self.url, last, attempt + 1,
                            self.max_retries, delay)
                time.sleep(delay)
        raise GenerationError(f"{self.url}: gave up after {self.max_retries + 1} attempts; last: {last}")

    def stream(self, requests: list[Request]) -> Iterator[Outcome]:
        requests = list(requests)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="openai")
        try:
            # Submit lazily so a stopped stream does not leave thousands of queued calls.
            it = iter(enumerate(requests))
            running = {}
            for _ in range(self.concurrency * 2):
                nxt = next(it, None)
                if nxt is None:
                    break
                running[pool.submit(self.call, nxt[1])] = nxt[0]
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = running.pop(fut)
                    exc = fut.exception()
                    if exc is not None:
                        # Also what no message above shaped (a bug, an httpx error we did not foresee).
                        cls = type(exc) if isinstance(exc, GenerationError) else GenerationError
                        yield Outcome(i, requests[i], error=redact_error(exc, self.secrets, cls))
                    else:
                        yield Outcome(i, requests[i], completions=fut.result())
                    nxt = next(it, None)
                    if nxt is not None:
                        running[pool.submit(self.call, nxt[1])] = nxt[0]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self.client.close()
