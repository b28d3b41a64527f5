"""One-GPU check of the two GPU paths the paper's configuration leans on (bench/gpu_check.sh runs it).

1. The hf backend's generation throughput (ded.sample.hf.HFBackend, batch 32), against plain
   `model.generate` on the same prompts in the same process.
2. A LlamaFactory full-SFT step in bf16 through the workflow's own launcher (ded.train.train_sft), with
   and without DeepSpeed ZeRO-3 (config/deepspeed/ds_z3.json), against a plain PyTorch AdamW step of the
   same model and batch in the same process; model FLOPs utilisation (MFU: 6 x parameters x tokens per
   second over the chip's peak) for each.

The model is Qwen2-shaped (Qwen2.5-0.5B's layers, heads and vocabulary, about 0.49B parameters) and
randomly initialised, with a byte-level BPE tokenizer trained here on generated text, so no weights and
no hub are needed. Random weights rarely emit an end token, so every generation runs to its token budget.

    python bench/gpu_check.py --out DIR            # on a GPU (about 5 minutes on one H200)
    python bench/gpu_check.py --tiny --device cpu  # the same code on a small shape, to check it runs

Prints one line per measurement and writes DIR/gpu_check.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # train_step_time's corpus of full-length examples

#: Qwen2.5-0.5B's shape (its config.json), and a small one for --tiny.
QWEN2_05B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, tie_word_embeddings=True,
                 rope_theta=1000000.0, rms_norm_eps=1e-6)
TINY = dict(QWEN2_05B, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=4096)
#: Dense bf16 peak of the chips the check is meant for (vendor figures, FLOP/s).
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12}
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def synthetic_text(n: int) -> list[str]:
    return [f"Step {i}: {i} + {i * 7 % 13} = {i + i * 7 % 13}. Therefore the answer is {i % 97}." for i in range(n)]


def write_random_model(model_dir: Path, shape: dict, seed: int = 0) -> int:
    """A randomly initialised Qwen2 model and a trained BPE tokenizer in `model_dir`; its parameter count."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(synthetic_text(5000), trainers.BpeTrainer(vocab_size=min(2048, shape["vocab_size"]),
                                                                      special_tokens=specials))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  bos_token=None, unk_token=None)
    tok.chat_template = CHATML
    tok.save_pretrained(model_dir)
    torch.manual_seed(seed)
    config = Qwen2Config(**shape, bos_token_id=tok.convert_tokens_to_ids("<|im_start|>"),
                         eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                         pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"))
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(model_dir)
    return sum(p.numel() for p in model.parameters())


def generation_check(model_dir: Path, device: str, prompts: int, max_tokens: int) -> dict:
    """Tokens/s of the hf backend and of plain model.generate on the same prompts."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ded.sample.base import Request, SamplingParams
    from ded.sample.hf import HFBackend

    messages = [({"role": "user", "content": text},) for text in synthetic_text(prompts)]
    backend = HFBackend(str(model_dir), batch_size=prompts, device=device, dtype="bfloat16")
    params = SamplingParams(n=1, temperature=0.7, top_p=0.95, max_tokens=max_tokens, seed=0)
    requests = [Request(m, params, key=i) for i, m in enumerate(messages)]
    backend.generate(requests[:2])  # warm-up: kernels, allocator
    start = time.perf_counter()
    done = backend.generate(requests)
    ded_s = time.perf_counter() - start
    ded_tokens = sum(c.completion_tokens or 0 for cs in done for c in cs)
    del backend

    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16).to(device)
    texts = [tok.apply_chat_template(list(m), tokenize=False, add_generation_prompt=True) for m in messages]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    model.generate(**enc, max_new_tokens=4, do_sample=True)
    _sync(device)
    start = time.perf_counter()
    out = model.generate(**enc, max_new_tokens=max_tokens, min_new_tokens=max_tokens, do_sample=True,
                         temperature=0.7, top_p=0.95)
    _sync(device)
    base_s = time.perf_counter() - start
    base_tokens = (out.shape[1] - enc["input_ids"].shape[1]) * out.shape[0]
    return {"prompts": prompts, "max_tokens": max_tokens,
            "hf_backend_tokens_per_s": ded_tokens / ded_s, "hf_backend_tokens": ded_tokens,
            "plain_generate_tokens_per_s": base_tokens / base_s,
            "ratio_to_plain": (ded_tokens / ded_s) / (base_tokens / base_s)}


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def plain_step_seconds(model_dir: Path, device: str, batch: int, cutoff: int, steps: int) -> float:
    """Seconds per plain PyTorch AdamW step (bf16 autocast over fp32 weights, as mixed-precision SFT does)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(0, 2048, (batch, cutoff), device=device)
    times = []
    for _ in range(steps + 1):
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        _sync(device)
        times.append(time.perf_counter() - t0)
    del model, opt
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return sum(times[1:]) / steps  # the first step pays allocation warm-up


def training_check(model_dir: Path, work: Path, gpus: int, batch: int, cutoff: int, steps: int,
                   zero3: bool) -> dict:
    from ded.io import write_records
    from ded.train import train_sft
    from train_step_time import corpus_rows

    corpus = work / "corpus.jsonl"
    if not corpus.exists():  # examples as long as fit `cutoff` (longer ones are dropped, not truncated)
        write_records(corpus, corpus_rows(batch * max(gpus, 1) * (steps + 2), model_dir, cutoff), "corpus_row")
    name = "zero3" if zero3 else "plain"
    settings = {"cutoff_len": cutoff, "max_steps": steps, "per_device_train_batch_size": batch,
                "global_batch_size": batch * max(gpus, 1), "save_steps": 100 * steps, "logging_steps": 1,
                "learning_rate": 1e-5, "precision": "bf16", "gradient_checkpointing": False,
                "deepspeed": str(ROOT / "config/deepspeed/ds_z3.json") if zero3 else None}
    summary = train_sft(corpus, model_dir, work / name / "model", work / name / "work", settings, "chatml", gpus)
    return {"s_per_step": summary["seconds_per_step"], "steps": summary["steps"],
            "final_loss": summary["final_loss"], "tokens_per_step": batch * max(gpus, 1) * cutoff}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="folder for gpu_check.json (default: a temporary folder)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="a small model shape, to check the script on a CPU")
    ap.add_argument("--chip", default="H200", choices=sorted(PEAK_BF16), help="for the MFU's peak")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--cutoff", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--skip-zero3", action="store_true", help="no DeepSpeed (not installed, or on a CPU)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ded-gpu-check-"))
    out = Path(args.out) if args.out else work
    out.mkdir(parents=True, exist_ok=True)
    model_dir = work / "qwen2-random"
    params = write_random_model(model_dir, TINY if args.tiny else QWEN2_05B)
    gpus = 0 if args.device == "cpu" else 1
    results: dict = {"model": "Qwen2-shaped, random" + (" (tiny)" if args.tiny else ""), "parameters": params,
                     "device": args.device, "chip": args.chip}
    print(f"model: {params / 1e6:.0f}M parameters, random weights, in {model_dir}", flush=True)

    def save():
        (out / "gpu_check.json").write_text(json.dumps(results, indent=1) + "\n")

    results["generation"] = gen = generation_check(model_dir, args.device, args.prompts, args.max_tokens)
    print(f"hf backend: {gen['hf_backend_tokens_per_s']:,.0f} tokens/s over {args.prompts} prompts x "
          f"{args.max_tokens} tokens; plain model.generate {gen['plain_generate_tokens_per_s']:,.0f} tokens/s "
          f"({gen['ratio_to_plain']:.2f}x)", flush=True)
    save()

    peak = PEAK_BF16[args.chip]
    baseline = plain_step_seconds(model_dir, args.device, args.batch, args.cutoff, 3)
    tokens = args.batch * args.cutoff
    results["training"] = {"plain_torch": {"s_per_step": baseline, "tokens_per_step": tokens,
                                           "mfu": 6 * params * tokens / baseline / peak}}
    print(f"plain torch AdamW step, bf16 autocast, {args.batch} x {args.cutoff} tokens: {baseline:.3f} s/step, "
          f"MFU {results['training']['plain_torch']['mfu']:.1%} of {args.chip} bf16 peak", flush=True)
    save()
    for zero3 in [False] + ([] if args.skip_zero3 else [True]):
        name = "llamafactory_zero3" if zero3 else "llamafactory"
        try:
            run = training_check(model_dir, work, gpus, args.batch, args.cutoff, args.steps, zero3)
        except Exception as exc:  # noqa: BLE001 - report and go on to the next measurement
            results["training"][name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            print(f"{name}: FAILED {type(exc).__name__}: {str(exc)[:500]}", flush=True)
            save()
            continue
        run["mfu"] = 6 * params * run["tokens_per_step"] / run["s_per_step"] / peak
        run["ratio_to_plain"] = run["s_per_step"] / baseline
        results["training"][name] = run
        print(f"{name}: {run['s_per_step']:.3f} s/step ({run['ratio_to_plain']:.2f}x plain torch), "
              f"MFU {run['mfu']:.1%}, final loss {run['final_loss']}", flush=True)
        save()
    print(f"results in {out / 'gpu_check.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
