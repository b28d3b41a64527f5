"""The openai backend against servers on 127.0.0.1: a scripted one for faults, and a real one.

The scripted server answers each call with the next action of its script
(429, 500, a body that is not JSON, a body without choices, a reply slower
than the client's timeout) and a good reply once the script is spent. Every
loop is bounded and every server stops at the end of its test.
"""


from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.openai_problems import numbered_problem

from ded.io import read_records
from ded.sample import (
    GenerationError,
    Request,
    SamplingParams,
    build_messages,
    sample_problems,
)
from ded.sample.openai_backend import (
    OpenAIBackend,
    RetryableError,
    parse_response,
    request_body,
)
from ded.sample.runner import SamplingIncomplete

ROOT = Path(__file__).resolve().parents[2]


SLOW_S = 1.0  # the slow reply; clients here time out after 0.3 s


class Scripted:
    def __init__(self, script=(), fail_when=None, reasoning=False, delay_s=0.0):
        self.script = list(script)
        self.fail_when = fail_when  # substring of the question that always gets a 500
        self.reasoning = reasoning
        self.delay_s = delay_s
        self.calls, self.headers = [], []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()

    def reply(self, body: dict) -> tuple[int, dict, bytes]:
        question = body["messages"][-1]["content"]
        with self.lock:
            self.calls.append(body)
            action = self.script.pop(0) if self.script else "ok"
        if self.fail_when and self.fail_when in question:
            action = 500
        if action == 429:
            return 429, {"Retry-After": "0"}, b'{"error": "rate limited"}'
        if action == 500:
            return 500, {}, b'{"error": "overloaded"}'
        if action == "malformed":
            return 200, {}, b'{"choices": [{"message": {"content": "cut'
        if action == "nochoices":
            return 200, {}, b'{"object": "chat.completion", "error": "upstream reset"}'
        if action == "slow":
            time.sleep(SLOW_S)
        number = re.search(r"number (\d+)", question).group(1)
        message = {"role": "assistant", "content": f"The answer is \\boxed{{{number}}}."}
        if self.reasoning:
            message["reasoning_content"] = "Count the characters."
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        if body.get("logprobs"):
            # one "token" per word; the k alternatives are listed least likely first
            choice["logprobs"] = {"content": [
                {"token": w, "logprob": -0.25,
                 "top_logprobs": [{"token": f"alt{j}", "logprob": -4.0 + j * 0.5}
                                  for j in range(body["top_logprobs"] - 1)] + [{"token": w, "logprob": -0.25}]}
                for w in message["content"].split(" ")]}
        data = {"id": "x", "object": "chat.completion", "model": body["model"], "system_fingerprint": "fp-1",
                "choices": [choice], "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}
        return 200, {}, json.dumps(data).encode()


@pytest.fixture
def server():
    started = []

    def start(script: Scripted):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with script.lock:
                    script.headers.append(dict(self.headers))
                    script.in_flight += 1
                    script.max_in_flight = max(script.max_in_flight, script.in_flight)
                try:
                    time.sleep(script.delay_s)
                    status, headers, data = script.reply(body)
                finally:
                    # done before the reply goes out: a client that sends its next request the moment this
                    # one's reply arrives must not find it still counted (on a loaded machine it would)
                    with script.lock:
                        script.in_flight -= 1
                try:
                    self.send_response(status)
                    for k, v in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out first

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        started.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/v1"

    yield start
    for srv in started:
        srv.shutdown()
        srv.server_close()


def _request(i=0, **params):
    return Request(tuple(build_messages(numbered_problem(i))), SamplingParams(max_tokens=32, seed=5, **params))


def test_retries_through_every_fault(server):
    script = Scripted([429, 500, "malformed", "nochoices", "slow"])
    backend = OpenAIBackend(server(script), "m", timeout_s=0.3, max_retries=6, backoff_s=0.01)
    start = time.monotonic()
    [completions] = backend.generate([_request()])
    assert len(script.calls) == 6
    assert completions[0].raw_text.startswith("The answer is") and completions[0].completion_tokens == 7
    assert completions[0].model_revision == "fp-1" and completions[0].finish_reason == "stop"
    assert time.monotonic() - start < 10
    body = script.calls[0]
    assert (body["model"], body["seed"], body["max_tokens"], body["n"]) == ("m", 5, 32, 1)
    assert body["messages"][-1]["role"] == "user"


def test_gives_up_after_max_retries(server):
    script = Scripted(["slow"] * 10)
    backend = OpenAIBackend(server(script), "m", timeout_s=0.3, max_retries=2, backoff_s=0.01)
    with pytest.raises(GenerationError, match="gave up after 3 attempts; last: timed out"):
        backend.generate([_request()])
    assert len(script.calls) == 3


def test_timeout_follows_max_tokens_unless_set(server, monkeypatch):
    """Without timeout_s a call may last a floor plus its max_tokens at a slow pace, so a 16k-32k-token
    reasoning reply is not cut off: the same slow reply times out under a short budget and arrives under
    a long one. A set timeout_s holds whatever the budget."""
    from ded.sample import openai_backend
    from ded.sample.openai_backend import (
        TIMEOUT_FLOOR_S,
        TIMEOUT_TOKENS_PER_S,
        call_timeout_s,
    )

    assert call_timeout_s(512) >= TIMEOUT_FLOOR_S >= 600
    assert call_timeout_s(16384) >= 16384 / TIMEOUT_TOKENS_PER_S >= 1600  # a 10 tokens/s reply fits
    assert call_timeout_s(32768) - call_timeout_s(16384) == 16384 / TIMEOUT_TOKENS_PER_S
    assert call_timeout_s(32768, 120) == 120.0

    # Scaled down: a floor of 0.1 s plus 100 tokens/s, against the server's 1 s reply.
    monkeypatch.setattr(openai_backend, "TIMEOUT_FLOOR_S", 0.1)
    monkeypatch.setattr(openai_backend, "TIMEOUT_TOKENS_PER_S", 100.0)

    def request(max_tokens):
        return Request(tuple(build_messages(numbered_problem(0))), SamplingParams(max_tokens=max_tokens, seed=5))

    short = Scripted(["slow"] * 3)
    with pytest.raises(GenerationError, match="gave up after 1 attempts; last: timed out"):
        OpenAIBackend(server(short), "m", max_retries=0).generate([request(32)])  # 0.42 s
    [completions] = OpenAIBackend(server(Scripted(["slow"])), "m", max_retries=0).generate([request(300)])  # 3.1 s
    assert completions[0].raw_text.startswith("The answer is")
    fixed = Scripted(["slow"] * 3)
    with pytest.raises(GenerationError, match="timed out"):
        OpenAIBackend(server(fixed), "m", timeout_s=0.3, max_retries=0).generate([request(300)])


def test_failed_calls_write_nothing_and_rerun_retries_only_them(server, tmp_path):
    problems = [numbered_problem(i) for i in range(4)]
    spec = {"backend": "openai", "max_retries": 1, "timeout_s": 5}
    kw = dict(model_name="api", n=2, out_path=tmp_path / "o.jsonl", progress_path=tmp_path / "p.jsonl",
              backend_options={"backoff_s": 0.01})
    broken = Scripted(fail_when="number 2")
    with pytest.raises(SamplingIncomplete, match="2 of 8"):
        sample_problems(problems, {**spec, "api_base": server(broken)}, **kw)
    assert not (tmp_path / "o.jsonl").exists()
    saved = read_records(tmp_path / "p.jsonl")
    assert sorted((r["question_id"], r["sample_id"]) for r in saved) == [
        (f"q{i}", s) for i in (0, 1, 3) for s in range(2)]
    healthy = Scripted()
    assert sample_problems(problems, {**spec, "api_base": server(healthy)}, **kw) == 8
    assert len(healthy.calls) == 2 and all("number 2" in c["messages"][-1]["content"] for c in healthy.calls)
    assert [r["question_id"] for r in read_records(tmp_path / "o.jsonl", "sample")] == [
        f"q{i}" for i in range(4) for _ in range(2)]


def test_refused_request_is_not_retried_and_key_never_leaks(server, monkeypatch, caplog):
    secret = "sk-test-very-secret-0123456789"
    monkeypatch.setenv("DED_TEST_API_KEY", secret)

    class Refusing(Scripted):
        def reply(self, body):
            self.calls.append(body)
            return 401, {}, b'{"error": "bad key"}'

    script = Refusing()
    backend = OpenAIBackend(server(script), "m", api_key_env="DED_TEST_API_KEY", max_retries=5, backoff_s=0.01)
    with pytest.raises(GenerationError) as err:
        backend.generate([_request()])
    assert len(script.calls) == 1 and "HTTP 401" in str(err.value)
    assert script.headers[0]["Authorization"] == f"Bearer {secret}"
    assert secret not in str(err.value) and secret not in caplog.text
    monkeypatch.delenv("DED_TEST_API_KEY")
    with pytest.raises(GenerationError, match="DED_TEST_API_KEY"):
        OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="DED_TEST_API_KEY")


def test_connection_refused_is_retried_then_fails():
    # a port nothing listens on (bound then closed): every attempt is refused
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", max_retries=2, backoff_s=0.01, timeout_s=2)
    with pytest.raises(GenerationError, match="gave up after 3 attempts; last: connection error"):
        backend.generate([_request()])


def test_reasoning_content_is_normalised(server, tmp_path):
    script = Scripted(reasoning=True)
    n = sample_problems([numbered_problem(0)], {"backend": "openai", "api_base": server(script)}, model_name="api",
                        n=1, out_path=tmp_path / "o.jsonl", progress_path=tmp_path / "p.jsonl")
    [rec] = read_records(tmp_path / "o.jsonl", "sample")
    assert n == 1 and rec["raw_text"] == "The answer is \\boxed{0}."
    assert rec["text"] == "<think>Count the characters.</think>\nThe answer is \\boxed{0}."
    assert rec["reasoning"] == "Count the characters." and rec["answer"] == "The answer is \\boxed{0}."
    assert (rec["prompt_tokens"], rec["completion_tokens"], rec["backend"]) == (11, 7, "openai")


def test_concurrency_is_bounded(server):
    script = Scripted(delay_s=0.1)
    backend = OpenAIBackend(server(script), "m", concurrency=3)
    results = backend.generate([_request(i) for i in range(9)])
    assert len(results) == 9 and all(len(r) == 1 for r in results)
    assert 2 <= script.max_in_flight <= 3
    # results come back in request order whatever order the calls finished in
    assert [r[0].raw_text for r in results] == [f"The answer is \\boxed{{{i}}}." for i in range(9)]


def test_logprobs_are_asked_and_parsed_from_a_fixture_response():
    req = _request(logprobs=3)
    body = request_body(req, "m")
    assert body["logprobs"] is True and body["top_logprobs"] == 3
    assert "logprobs" not in request_body(_request(), "m") and "top_logprobs" not in request_body(_request(), "m")
    data = json.loads((ROOT / "tests/fixtures/openai_chat_logprobs.json").read_text())
    [c] = parse_response(data, False, 0.5, 5)
    assert c.raw_text == "\\boxed{4}" and c.reasoning_content == "2+2=4"
    top = c.top_logprobs
    assert len(top) == 5 and all(len(step) == 3 for step in top)
    assert top[0] == [["\\", -0.0021], ["The", -6.3], ["**", -7.91]]
    # the server's order is not trusted: most likely first, ties in the server's order
    assert top[3] == [["4", -0.6931], ["5", -1.3863], ["3", -1.3863]]
    assert all(lp <= 0 for step in top for _, lp in step)
    # no logprobs in the reply: none saved; a logprobs of another shape is a malformed body
    plain = json.loads(json.dumps(data))
    del plain["choices"][0]["logprobs"]
    assert parse_response(plain, False, 0.5, 5)[0].top_logprobs is None
    plain["choices"][0]["logprobs"] = {"content": [{"token": "x", "top_logprobs": [{"token": "x"}]}]}
    with pytest.raises(RetryableError, match=r"logprobs.content\[0\]"):
        parse_response(plain, False, 0.5, 5)


def test_logprobs_reach_the_records_and_entropy_topk(server, tmp_path, capsys):
    from ded.__main__ import main

    spec = {"backend": "openai", "api_base": server(Scripted()), "logprobs": 4}
    sample_problems([numbered_problem(0), numbered_problem(1)], spec, model_name="api", n=1, out_path=tmp_path / "o.jsonl",
                    progress_path=tmp_path / "p.jsonl")
    recs = read_records(tmp_path / "o.jsonl", "sample")
    words = "The answer is \\boxed{0}.".split(" ")
    assert [step[0][0] for step in recs[0]["top_logprobs"]] == words
    assert all([lp for _, lp in step] == [-0.25, -3.0, -3.5, -4.0] for r in recs for step in r["top_logprobs"])
    assert main(["analysis", "entropy-topk", "--samples", str(tmp_path / "o.jsonl")]) == 0
    summary = json.loads(capsys.readouterr().out)
    p = [math.exp(x) for x in (-0.25, -3.0, -3.5, -4.0)]
    lumped = -sum(q * math.log(q) for q in p) - (1 - sum(p)) * math.log(1 - sum(p))
    assert summary["tokens"] == 2 * len(words) and summary["mean"] == pytest.approx(lumped, abs=1e-9)


KEY = "sk-test-Qw3rTy-0123456789abcdef"


class Echoing(Scripted):
    """Quotes the request's Authorization header back: in an error body (401, 500), in a body that is not
    JSON (200), or in a valid reply's content, reasoning and model name (200)."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def reply(self, body):
        with self.lock:
            self.calls.append(body)
            auth = self.headers[-1].get("Authorization", "")
        # Padded so the key straddles the point where the backend cuts a quoted body (300, 200, 120 chars).
        pad = {401: 247, 500: 147, "html": 72}.get(self.mode, 0)
        echo = "x" * pad + f" you sent Authorization: {auth}"
        if self.mode == 401:
            return 401, {}, json.dumps({"error": echo}).encode()
        if self.mode == 500:
            return 500, {}, json.dumps({"error": echo}).encode()
        if self.mode == "html":
            return 200, {"Content-Type": "text/html"}, f"<html>{echo}</html>".encode()
        message = {"role": "assistant", "content": f"My key: {auth.split()[-1]}. \\boxed{{1}}",
                   "reasoning_content": f"The header was {auth}"}
        data = {"model": auth, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
        return 200, {}, json.dumps(data).encode()


def _leaks(texts, secrets):
    """The (secret, text) pairs where a secret, or its first 10 characters, shows."""
    return [(s, t[:80]) for t in texts for s in secrets for piece in (s, s[:10]) if piece in t]


def _files(tmp_path):
    return [p.read_text(encoding="utf-8") for p in sorted(tmp_path.rglob("*")) if p.is_file()]


@pytest.mark.parametrize("mode", [401, 500, "html"])
def test_key_never_leaks_from_a_reply_that_quotes_it(mode, server, monkeypatch, caplog, capsys, tmp_path):
    monkeypatch.setenv("DED_TEST_API_KEY", KEY)
    script = Echoing(mode)
    spec = {"backend": "openai", "api_base": server(script), "api_key_env": "DED_TEST_API_KEY", "max_retries": 2}
    with caplog.at_level("DEBUG"), pytest.raises(SamplingIncomplete) as err:
        sample_problems([numbered_problem(0)], spec, model_name="api", n=1, out_path=tmp_path / "o.jsonl",
                        progress_path=tmp_path / "p.jsonl", backend_options={"backoff_s": 0.01})
    assert script.headers[0]["Authorization"] == f"Bearer {KEY}"
    assert len(script.calls) == (1 if mode == 401 else 3)
    assert "[REDACTED]" in str(err.value) and ("HTTP" in str(err.value) or "not JSON" in str(err.value))
    out = capsys.readouterr()
    texts = [str(err.value), repr(err.value), caplog.text, out.out, out.err, *_files(tmp_path)]
    texts += [str(c) for c in (err.value.__cause__, err.value.__context__) if c is not None]
    assert not _leaks(texts, [KEY])


def test_key_quoted_in_a_valid_reply_is_redacted_from_the_records(server, monkeypatch, caplog, capsys, tmp_path):
    monkeypatch.setenv("DED_TEST_API_KEY", KEY)
    spec = {"backend": "openai", "api_base": server(Echoing("ok")), "api_key_env": "DED_TEST_API_KEY"}
    with caplog.at_level("DEBUG"):
        assert sample_problems([numbered_problem(0)], spec, model_name="api", n=1, out_path=tmp_path / "o.jsonl",
                               progress_path=tmp_path / "p.jsonl") == 1
    [rec] = read_records(tmp_path / "o.jsonl", "sample")
    assert rec["raw_text"] == "My key: [REDACTED]. \\boxed{1}" and rec["model_revision"] == "Bearer [REDACTED]"
    out = capsys.readouterr()
    assert not _leaks([caplog.text, out.out, out.err, *_files(tmp_path)], [KEY])


def test_credentials_in_api_base_become_a_header_and_never_leak(server, caplog, tmp_path):
    password = "url-pass-7Hk2Pq9Zx"
    script = Echoing(401)
    api_base = server(script).replace("http://", f"http://alice:{password}@")
    backend = OpenAIBackend(api_base, "m", max_retries=0)
    assert "alice" not in backend.url and password not in backend.url
    with caplog.at_level("DEBUG"), pytest.raises(GenerationError) as err:
        backend.generate([_request()])
    sent = script.headers[0]["Authorization"]
    assert sent == "Basic " + base64.b64encode(f"alice:{password}".encode()).decode()
    assert not _leaks([str(err.value), caplog.text], [password, sent.split()[1]])
