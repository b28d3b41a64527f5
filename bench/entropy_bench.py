"""Token-entropy throughput: `ded.analysis.entropy.token_entropies` against a naive baseline.

Baseline (measured in the same process): one row at a time, the model's full
logits for the whole sequence, softmax and entropy over every position. The
library batches rows by length and projects only response positions through
the output head, in chunks. Prints tokens/s of each and the ratio.

    python bench/entropy_bench.py --model resources/models/smollm2-135m --rows 16 --tokens 512
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def naive(model_dir, rows, max_tokens):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ded.analysis.entropy import encode_row

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    out = []
    with torch.inference_mode():
        for row in rows:
            ids, start, _ = encode_row(tok, row, max_tokens)
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), dim=-1)
            out.append((-(logp.exp() * logp).sum(-1))[start - 1:len(ids) - 1].numpy())
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="Hugging Face model folder")
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=512, help="response tokens per row (max_tokens)")
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()

    import torch

    from ded.analysis.entropy import ScoringRow, token_entropies

    torch.manual_seed(0)
    words = "let us compute the sum step by step and check each carry before the final answer".split()
    rng = np.random.default_rng(0)
    rows = [ScoringRow(f"Question {i}: add {i} and {2 * i}.",
                       "<think>" + " ".join(rng.choice(words, size=args.tokens)) + "</think>done", f"q{i}")
            for i in range(args.rows)]

    t0 = time.perf_counter()
    ref = naive(args.model, rows, args.tokens)
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    got, _ = token_entropies(args.model, rows, max_tokens=args.tokens, batch_size=args.batch_size)
    t_lib = time.perf_counter() - t0
    n_tok = sum(len(v) for v in got)
    err = max(float(np.abs(a - b).max()) for a, b in zip(got, ref))
    print(f"rows={args.rows} response_tokens={n_tok} batch_size={args.batch_size} threads={torch.get_num_threads()}")
    print(f"naive (one row, full logits): {t_naive:.2f} s  {n_tok / t_naive:.0f} tok/s")
    print(f"token_entropies:              {t_lib:.2f} s  {n_tok / t_lib:.0f} tok/s")
    print(f"speed-up: {t_naive / t_lib:.2f}x   max |difference|: {err:.2e} nats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
