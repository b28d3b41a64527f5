"""A small OpenAI-compatible chat-completions server over the `hf` backend.

    python -m ded serve --model-path DIR [--port 0] [--reasoning-parser think]

(`python -m ded.sample.serve` is the same command.)

For tests and for debugging the `openai` backend against a real model on a
machine without vLLM: it answers POST /v1/chat/completions and GET /v1/models
on 127.0.0.1, one generation at a time. With `--reasoning-parser think` it
moves `<think>...</think>` out of `content` into `reasoning_content`, as
vLLM's reasoning parsers do. It prints `listening on URL` once ready.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .. import think
from .base import Backend, Request, SamplingParams


def split_reasoning(text: str, prefilled: bool) -> tuple[str | None, str]:
    """(reasoning_content, content) the way a server-side reasoning parser splits them."""
    norm = think.normalise(text, prefilled_think=prefilled)
    if think.CLOSE not in norm:
        return None, text
    head, _, tail = norm.partition(think.CLOSE)
    return head.replace(think.OPEN, "", 1).strip(), tail.lstrip()


def make_handler(backend: Backend, model_name: str, reasoning_parser: str | None):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: one line per call on stderr is noise in tests
            pass

        def _send(self, status: int, obj) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self):
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                params = SamplingParams(n=int(body.get("n", 1)), temperature=float(body.get("temperature", 1.0)),
                                        top_p=float(body.get("top_p", 1.0)),
                                        max_tokens=int(body.get("max_tokens") or 256), seed=body.get("seed"))
                req = Request(tuple(body["messages"]), params)
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, {"error": {"message": f"bad request: {exc}"}})
                return
            with lock:
                completions = backend.generate([req])[0]
            choices, used = [], 0
            for i, c in enumerate(completions):
                message = {"role": "assistant", "content": c.raw_text}
                if reasoning_parser == "think":
                    reasoning, content = split_reasoning(c.raw_text, c.prefilled_think)
                    message = {"role": "assistant", "content": content, "reasoning_content": reasoning}
                choices.append({"index": i, "message": message, "finish_reason": c.finish_reason})
                used += c.completion_tokens or 0
            prompt_tokens = completions[0].prompt_tokens if completions else 0
            self._send(200, {
                "id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
                "model": model_name, "system_fingerprint": completions[0].model_revision if completions else None,
                "choices": choices,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": used,
                          "total_tokens": (prompt_tokens or 0) + used}})

    return Handler


def serve(backend: Backend, model_name: str, host: str = "127.0.0.1", port: int = 0,
          reasoning_parser: str | None = None) -> ThreadingHTTPServer:
    """A started server (in a daemon thread); `server.server_address` gives the port; call shutdown()."""
    server = ThreadingHTTPServer((host, port), make_handler(backend, model_name, reasoning_parser))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve a local model over an OpenAI-compatible API (for the openai backend)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-path", required=True, help="local Hugging Face model folder to serve")
    p.add_argument("--model-name", default="local",
                   help="model name that GET /v1/models lists and each reply carries (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=8,
                   help="completions the model generates at once (default: %(default)s)")
    p.add_argument("--prefill-think", action="store_true", help="open <think> at the end of the prompt")
    p.add_argument("--reasoning-parser", choices=["think"],
                   help="think: move <think>...</think> out of `content` into `reasoning_content`, as vLLM does "
                        "(default: leave the reply whole)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C), printing `listening on URL` once ready."""
    from .hf import HFBackend

    backend = HFBackend(args.model_path, batch_size=args.batch_size, prefill_think=args.prefill_think)
    server = serve(backend, args.model_name, args.host, args.port, args.reasoning_parser)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/v1", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ded.sample.serve ...`: `python -m ded serve ...`, through its one error path."""
    from ..__main__ import main as ded_main

    return ded_main(["serve", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
