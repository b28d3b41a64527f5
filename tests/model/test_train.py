"""Training stage: YAML plan, export with cutoff dropping, real CPU training through LlamaFactory, resume."""


from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.training import ROOT, train_row

from ded.io import write_records
from ded.train import (
    TrainError,
    dataset_info,
    export_corpus,
    latest_checkpoint,
    train_sft,
)


def test_export_drops_over_cutoff_with_a_count(tmp_path, tiny_llama_dir, caplog):
    from transformers import AutoTokenizer

    from ded.train import TokenCounter

    rows = [train_row(i) for i in range(4)] + [train_row(9, prompt="Sum these: " + "1 + " * 200 + "1")]
    counter = TokenCounter(tiny_llama_dir, "chatml")
    lengths = [counter(r["prompt"], r["response"]) for r in rows]
    # The count is what LlamaFactory encodes: chatml turns, special tokens included.
    tok = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    text = f"<|im_start|>user\n{rows[0]['prompt']}<|im_end|>\n<|im_start|>assistant\n{rows[0]['response']}<|im_end|>\n"
    assert lengths[0] == len(tok(text, add_special_tokens=False)["input_ids"])
    cutoff = max(lengths[:4])  # an example exactly at the cutoff is kept
    with caplog.at_level("WARNING", logger="ded.train.export"):
        result = export_corpus(rows, tmp_path / "data", tiny_llama_dir, "chatml", cutoff, counter)
    assert result.kept == 4 and result.max_tokens_kept == cutoff
    assert result.dropped == [{"question_id": "q9", "sample_id": 0, "tokens": lengths[4]}]
    assert "dropped 1 of 5 examples longer than cutoff_len" in caplog.text
    data = json.loads((tmp_path / "data/corpus.json").read_text())
    assert [c["conversations"][1]["value"] for c in data] == [r["response"] for r in rows[:4]]  # never truncated
    assert json.loads((tmp_path / "data/dataset_info.json").read_text()) == dataset_info()
    with pytest.raises(ValueError, match="no training example fits train.cutoff_len=5"):
        export_corpus(rows, tmp_path / "data2", tiny_llama_dir, "chatml", 5, counter)


TINY = {"cutoff_len": 256, "max_steps": 4, "save_steps": 2, "per_device_train_batch_size": 2,
        "global_batch_size": 4, "logging_steps": 1, "learning_rate": 1e-3, "warmup_ratio": 0.0,
        "gradient_checkpointing": False, "keep_checkpoints": True}


def _response_nll(model_dir: Path, rows: list[dict]) -> float:
    """Mean per-token loss of the responses, prompt masked, in the chatml format trained on."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    total, n = 0.0, 0
    for r in rows:
        prompt = tok(f"<|im_start|>user\n{r['prompt']}<|im_end|>\n<|im_start|>assistant\n",
                     add_special_tokens=False)["input_ids"]
        answer = tok(f"{r['response']}<|im_end|>\n", add_special_tokens=False)["input_ids"]
        ids = torch.tensor([prompt + answer])
        labels = ids.clone()
        labels[0, :len(prompt)] = -100
        with torch.no_grad():
            loss = model(input_ids=ids, labels=labels).loss
        total += loss.item() * len(answer)
        n += len(answer)
    return total / n


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_llama_dir):
    """One real CPU SFT run of the tiny model through llamafactory: 4 steps, checkpoints at 2 and 4."""
    tmp = tmp_path_factory.mktemp("train")
    rows = [train_row(i) for i in range(8)] + [train_row(99, prompt="Sum these: " + "1 + " * 300 + "1")]
    corpus = tmp / "corpus.jsonl"
    write_records(corpus, rows, "corpus_row")
    out, work = tmp / "out" / "model", tmp / "work"
    summary = train_sft(corpus, tiny_llama_dir, out, work, TINY, "chatml", 0)
    return {"rows": rows, "corpus": corpus, "out": out, "work": work, "summary": summary}


@pytest.mark.slow
def test_cpu_training_changes_the_model(trained, tiny_llama_dir):
    out, summary = trained["out"], trained["summary"]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "training_summary.json"):
        assert (out / name).exists(), name
    assert not list(out.glob("checkpoint-*"))  # checkpoints stay in the work dir
    assert json.loads((out / "training_summary.json").read_text()) == summary
    assert summary["steps"] == 4 and summary["gradient_accumulation_steps"] == 2
    assert summary["examples_kept"] == 8 and summary["examples_dropped"] == 1
    assert summary["dropped"][0]["question_id"] == "q99"
    assert summary["seconds_per_step"] > 0 and summary["launcher"] == "python"
    assert [h["step"] for h in summary["loss_history"]] == [1, 2, 3, 4]
    kept = trained["rows"][:8]
    before, after = _response_nll(tiny_llama_dir, kept), _response_nll(out, kept)
    assert after < before - 0.2, (before, after)  # the model learnt its corpus (4 steps: about -0.4 nats)


@pytest.mark.slow
def test_resume_after_an_interrupted_run(trained, tiny_llama_dir):
    out, work, first = trained["out"], trained["work"], trained["summary"]
    # The state a kill between steps 2 and 4 leaves: checkpoint-2 complete, no final model.
    shutil.rmtree(out)
    shutil.rmtree(work / "run" / "checkpoint-4")
    (work / "run" / "checkpoint-3").mkdir()  # a torn save: no trainer_state.json
    assert latest_checkpoint(work / "run").name == "checkpoint-2"
    summary = train_sft(trained["corpus"], tiny_llama_dir, out, work, TINY, "chatml", 0)
    last = summary["sessions"][-1]
    assert (last["steps_from"], last["steps_to"]) == (2, 4)  # resumed, not restarted
    assert summary["resumed"] is True and summary["steps"] == 4
    log = (work / "train.log").read_text()
    assert "Resuming training from checkpoint with epoch 1 and global step 2" in log
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    # An exact resume (optimizer, scheduler and RNG restored) reproduces the uninterrupted run.
    assert summary["final_loss"] == pytest.approx(first["final_loss"], rel=1e-4)
    with pytest.raises(TrainError, match="already exists"):
        train_sft(trained["corpus"], tiny_llama_dir, out, work, TINY, "chatml", 0)


@pytest.mark.slow
def test_changed_settings_discard_old_checkpoints(trained, tiny_llama_dir, tmp_path):
    work = trained["work"]
    assert latest_checkpoint(work / "run") is not None
    settings = {**TINY, "learning_rate": 5e-4, "max_steps": 2, "keep_checkpoints": False}
    summary = train_sft(trained["corpus"], tiny_llama_dir, tmp_path / "model", work, settings, "chatml", 0)
    assert [(s["steps_from"], s["steps_to"]) for s in summary["sessions"]] == [(0, 2)]
    assert latest_checkpoint(work / "run") is None  # keep_checkpoints false: removed once the model is out


@pytest.mark.slow
def test_torchrun_path_with_two_workers(tmp_path, tiny_llama_dir):
    """The multi-GPU code path (torchrun, one worker per device) run with two CPU workers over gloo."""
    corpus = tmp_path / "corpus.jsonl"
    write_records(corpus, [train_row(i) for i in range(8)], "corpus_row")
    settings = {**TINY, "max_steps": 2, "save_steps": 10, "precision": "fp32", "deepspeed": None}
    summary = train_sft(corpus, tiny_llama_dir, tmp_path / "model", tmp_path / "work", settings, "chatml", 2)
    assert summary["launcher"] == "torchrun" and summary["gradient_accumulation_steps"] == 1
    assert summary["steps"] == 2
    log = (tmp_path / "work" / "train.log").read_text()
    assert "world size: 2" in log and "Total train batch size (w. parallel, distributed & accumulation) = 4" in log


#: Stands in for srun on one machine: runs the command once per "node", SLURM_NODEID set, and fails if any
#: copy fails (srun --kill-on-bad-exit).
FAKE_SRUN = """
import os, subprocess, sys
nodes = int(next(a for a in sys.argv[1:] if a.startswith("--nodes=")).split("=")[1])
cmd = [a for a in sys.argv[1:] if not a.startswith("--")]
procs = [subprocess.Popen(cmd, env=dict(os.environ, SLURM_NODEID=str(i))) for i in range(nodes)]
sys.exit(max(p.wait() for p in procs))
"""


@pytest.mark.slow
def test_two_nodes_train_and_resume(tmp_path, tiny_llama_dir):
    """Two "nodes" on this machine (one CPU process each, gloo), started by a stand-in for srun: the run
    finishes with world size 2 and the global batch exact, then resumes from its checkpoint."""
    fake = tmp_path / "fake_srun.py"
    fake.write_text(FAKE_SRUN)
    corpus = tmp_path / "corpus.jsonl"
    write_records(corpus, [train_row(i) for i in range(8)], "corpus_row")
    settings = {**TINY, "max_steps": 4, "save_steps": 2, "keep_checkpoints": True, "precision": "fp32",
                "deepspeed": None, "nodes": 2, "global_batch_size": 4, "per_device_train_batch_size": 1,
                "node_launcher": [sys.executable, str(fake), "--nodes={nodes}"]}
    out, work = tmp_path / "model", tmp_path / "work"
    summary = train_sft(corpus, tiny_llama_dir, out, work, settings, "chatml", 0)
    assert summary["launcher"] == "torchrun" and summary["world_size"] == 2 and summary["nodes"] == 2
    assert summary["gradient_accumulation_steps"] == 2 and summary["steps"] == 4
    log = (work / "train.log").read_text()
    assert "world size: 2" in log and "Total train batch size (w. parallel, distributed & accumulation) = 4" in log
    # the state a kill between steps 2 and 4 leaves: checkpoint-2, no final model; the rerun resumes there
    shutil.rmtree(out)
    shutil.rmtree(work / "run" / "checkpoint-4")
    summary = train_sft(corpus, tiny_llama_dir, out, work, settings, "chatml", 0)
    assert [(s["steps_from"], s["steps_to"]) for s in summary["sessions"]][-1] == (2, 4)
    assert summary["resumed"] is True and summary["steps"] == 4


@pytest.mark.slow
def test_killed_run_resumes_on_retry(tmp_path, tiny_llama_dir):
    """SIGTERM (a time limit) mid-run through `python -m ded train sft`; the retry resumes from the last checkpoint."""
    import signal
    import time

    corpus = tmp_path / "corpus.jsonl"
    write_records(corpus, [train_row(i) for i in range(8)], "corpus_row")
    settings = {**TINY, "max_steps": 12, "save_steps": 2}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"train": settings}))
    out, work = tmp_path / "model", tmp_path / "work"
    cmd = [sys.executable, "-m", "ded", "train", "sft", "--corpus", str(corpus), "--base-model", str(tiny_llama_dir),
           "--out", str(out), "--work-dir", str(work), "--config", str(tmp_path / "config.yaml")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while latest_checkpoint(work / "run") is None and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) != 0
    assert not out.exists()
    trainer_alive = [p for p in Path("/proc").glob("[0-9]*")
                     if str(work / "train.yaml") in (p / "cmdline").read_bytes().decode(errors="replace")
                     ] if Path("/proc").exists() else []
    assert not trainer_alive  # the trainer went down with its parent
    killed_at = int(latest_checkpoint(work / "run").name.split("-")[1])
    assert 2 <= killed_at < 12
    summary = train_sft(corpus, tiny_llama_dir, out, work, settings, "chatml", 0)
    assert [(s["steps_from"], s["steps_to"]) for s in summary["sessions"]] == [(killed_at, 12)]
    assert summary["steps"] == 12 and summary["resumed"] is True


@pytest.mark.slow
def test_lora_run_is_merged_into_a_plain_model(tmp_path, tiny_llama_dir):
    import torch
    from transformers import AutoModelForCausalLM

    corpus = tmp_path / "corpus.jsonl"
    write_records(corpus, [train_row(i) for i in range(4)], "corpus_row")
    settings = {**TINY, "finetuning_type": "lora", "max_steps": 2, "save_steps": 10}
    summary = train_sft(corpus, tiny_llama_dir, tmp_path / "model", tmp_path / "work", settings, "chatml", 0)
    assert summary["finetuning_type"] == "lora" and summary["steps"] == 2
    assert (tmp_path / "model/adapter/adapter_config.json").exists()
    base = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir))
    merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "model"))  # loads without peft
    changed = [n for n, p in merged.named_parameters()
               if not torch.equal(p, base.get_parameter(n))]
    assert any("q_proj" in n for n in changed)
    from transformers import AutoTokenizer

    assert merged.config.eos_token_id == AutoTokenizer.from_pretrained(str(tmp_path / "model")).eos_token_id
