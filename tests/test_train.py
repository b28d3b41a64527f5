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

from ded.io import write_records
from ded.settings import load_schema, schema_default
from ded.train import (TrainConfigError, TrainError, dataset_info, export_corpus, grad_accumulation,
                       latest_checkpoint, llamafactory_args, resolve_settings, to_sharegpt, train_sft,
                       uses_torchrun)
from ded.train.arguments import STAGE_KEYS

ROOT = Path(__file__).resolve().parents[1]


def _row(i: int, prompt: str | None = None, response: str | None = None) -> dict:
    a, b = 3 * i + 1, 7 * i + 2
    return {"question_id": f"q{i}", "sample_id": 0, "teacher": "t", "domain": "math",
            "prompt": prompt or f"What is {a} + {b}?",
            "response": response or f"<think>{a} plus {b} makes {a + b}.</think>The answer is \\boxed{{{a + b}}}."}


def _args(settings, gpus, tmp_path=Path("/w")):
    return llamafactory_args(settings, model_dir=tmp_path / "m", dataset_dir=tmp_path / "d", dataset="ded_corpus",
                             output_dir=tmp_path / "o", template="deepseekr1", gpus=gpus)


# ----------------------------------------------------------------------------- the plan


@pytest.mark.parametrize("source", ["schema defaults", "config/paper.yaml"])
def test_paper_setup_yaml_field_by_field(source):
    section = {} if source == "schema defaults" else yaml.safe_load((ROOT / source).read_text())["train"]
    args = _args(resolve_settings(section), gpus=8)
    assert args["stage"] == "sft" and args["do_train"] is True
    assert args["finetuning_type"] == "full"
    assert args["cutoff_len"] == 16384
    assert args["learning_rate"] == 1e-5
    assert args["optim"] == "adamw_torch"
    assert args["num_train_epochs"] == 10.0
    assert "max_steps" not in args  # epochs decide
    assert args["lr_scheduler_type"] == "cosine"
    assert args["warmup_ratio"] == 0.1
    assert args["bf16"] is True and args["fp16"] is False
    assert args["per_device_train_batch_size"] == 1 and args["gradient_accumulation_steps"] == 6
    assert args["template"] == "deepseekr1"
    assert args["save_only_model"] is False  # optimizer state is needed to resume
    assert args["report_to"] == "none"
    ds = Path(args["deepspeed"])
    assert ds.is_absolute() and ds == ROOT / "config/deepspeed/ds_z3.json"
    ds_cfg = json.loads(ds.read_text())
    assert ds_cfg["zero_optimization"]["stage"] == 3
    assert ds_cfg["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert ds_cfg["train_micro_batch_size_per_gpu"] == "auto" and ds_cfg["gradient_accumulation_steps"] == "auto"
    assert ds_cfg["bf16"]["enabled"] == "auto"
    # The YAML round-trips to the same arguments.
    from ded.train import render_yaml

    assert yaml.safe_load(render_yaml(args)) == args


@pytest.mark.parametrize("gpus,per_device,accum", [(1, 1, 48), (4, 1, 12), (8, 1, 6), (8, 2, 3), (0, 1, 48)])
def test_global_batch_holds_on_any_allocation(gpus, per_device, accum):
    settings = resolve_settings({"per_device_train_batch_size": per_device})
    args = _args(settings, gpus)
    assert args["gradient_accumulation_steps"] == accum
    assert per_device * max(gpus, 1) * accum == 48


@pytest.mark.parametrize("gpus,per_device", [(5, 1), (32, 1), (4, 5)])
def test_global_batch_that_cannot_hold_fails_clearly(gpus, per_device):
    with pytest.raises(TrainConfigError) as err:
        grad_accumulation(48, per_device, gpus)
    msg = str(err.value)
    assert "train.global_batch_size = 48" in msg and "not divisible" in msg
    assert f"({per_device}) x {gpus} GPU(s)" in msg


def test_cpu_plan_is_fp32_without_deepspeed_or_flash_attention():
    args = _args(resolve_settings({"flash_attn": "fa2"}), gpus=0)
    assert args["bf16"] is False and args["fp16"] is False
    assert "deepspeed" not in args
    assert args["flash_attn"] == "auto"
    assert not uses_torchrun(resolve_settings({}), 0)


def test_launcher_choice():
    with_ds, without_ds = resolve_settings({}), resolve_settings({"deepspeed": None})
    assert uses_torchrun(with_ds, 1)  # DeepSpeed needs a distributed launch even on one GPU
    assert not uses_torchrun(without_ds, 1)
    assert uses_torchrun(without_ds, 4)


def test_lora_option():
    args = _args(resolve_settings({"finetuning_type": "lora", "lora": {"rank": 16}}), gpus=1)
    assert args["finetuning_type"] == "lora"
    assert (args["lora_rank"], args["lora_alpha"], args["lora_target"]) == (16, 16, "all")


def test_stage_overrides_and_unknown_keys():
    cfg = {"learning_rate": 2e-5, "optim": "adamw_torch_fused", "warm_start": {"max_steps": 7}}
    warm = resolve_settings(cfg, "warm_start")
    assert warm["max_steps"] == 7 and warm["learning_rate"] == schema_default("train.warm_start.learning_rate")
    assert warm["optim"] == "adamw_torch_fused"  # inherited from train
    student = resolve_settings(cfg)
    assert student["learning_rate"] == 2e-5 and student["max_steps"] is None
    with pytest.raises(TrainConfigError, match="train.epochs"):
        resolve_settings({"epochs": 3})
    with pytest.raises(TrainConfigError, match="train.smoke cannot set optim"):
        resolve_settings({"smoke": {"optim": "sgd"}}, "smoke")
    with pytest.raises(TrainConfigError, match="train.precision"):
        resolve_settings({"precision": "int4"})


def test_settings_take_the_schemas_defaults_in_its_order():
    schema = load_schema()["properties"]["train"]
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    for stage in ("warm_start", "smoke"):
        assert props[stage]["additionalProperties"] is False and set(props[stage]["properties"]) == set(STAGE_KEYS)
        settings = resolve_settings({}, stage)
        assert all(settings[k] == v["default"] for k, v in props[stage]["properties"].items())
    settings = resolve_settings({})
    assert list(settings) == [k for k in props if k not in ("warm_start", "smoke")]
    assert settings["lora"] == {k: v["default"] for k, v in props["lora"]["properties"].items()}
    assert all(settings[k] == props[k]["default"] for k in settings if k != "lora")


def test_embedded_config_validates_and_plans_on_cpu():
    from ded.settings import resolve_config

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    resolve_config(config)
    for stage in (None, "warm_start", "smoke"):
        settings = resolve_settings(config["train"], stage)
        assert settings["cutoff_len"] <= 512
        assert settings["max_steps"] is not None and settings["max_steps"] <= 36
        _args(settings, gpus=0)  # the global batch holds on one CPU process


def test_launch_env_pins_the_devices():
    from ded.train.run import launch_command, launch_env

    env = launch_env(0, Path("/w"), False, {"FORCE_TORCHRUN": "1", "CUDA_VISIBLE_DEVICES": "0,1"})
    assert env["CUDA_VISIBLE_DEVICES"] == "" and "FORCE_TORCHRUN" not in env
    assert env["DED_EXPECTED_WORLD_SIZE"] == "1"
    assert launch_env(1, Path("/w"), False, {"CUDA_VISIBLE_DEVICES": "3,5"})["CUDA_VISIBLE_DEVICES"] == "3"
    env = launch_env(2, Path("/w"), True, {})
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1" and env["DED_EXPECTED_WORLD_SIZE"] == "2"
    cmd = launch_command("t.yaml", 4, True)
    assert cmd[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert cmd[cmd.index("--nproc_per_node") + 1] == "4"
    assert cmd[-4:] == ["-m", "ded.train.entry", "train", "t.yaml"]


def test_several_nodes_launch_one_torchrun_per_node():
    from ded.train.run import launch_command, launch_env

    launcher = resolve_settings({})["node_launcher"]
    cmd = launch_command("t.yaml", 4, True, nodes=2, node_launcher=launcher, master=("node-a", 29511))
    assert cmd[:5] == ["srun", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--kill-on-bad-exit=1"]
    assert cmd[5:7] == ["bash", "-c"]
    script = cmd[7]
    assert "-m torch.distributed.run --nnodes 2 --nproc_per_node 4 --master_addr node-a --master_port 29511" in script
    assert '--node_rank "$SLURM_NODEID"' in script and script.endswith("-m ded.train.entry train t.yaml")
    assert launch_env(4, Path("/w"), True, {}, nodes=2)["DED_EXPECTED_WORLD_SIZE"] == "8"
    # on CPUs: one process per node
    assert launch_env(0, Path("/w"), True, {}, nodes=3)["DED_EXPECTED_WORLD_SIZE"] == "3"
    assert uses_torchrun(resolve_settings({"nodes": 2, "deepspeed": None}), 0)
    with pytest.raises(TrainConfigError, match="train.node_launcher"):
        resolve_settings({"node_launcher": []})


def test_global_batch_holds_across_nodes():
    assert grad_accumulation(48, 1, 8, nodes=2) == 3
    assert grad_accumulation(8, 2, 0, nodes=2) == 2  # two CPU processes
    with pytest.raises(TrainConfigError, match=r"x 16 GPU\(s\) on 2 nodes = 32.*train.nodes"):
        grad_accumulation(48, 2, 8, nodes=2)


def test_a_deepspeed_checkpoint_does_not_resume_on_another_world_size(tmp_path):
    from ded.train.run import check_resume_world

    ckpt = tmp_path / "run/checkpoint-20"
    with pytest.raises(TrainError, match="trained with 8 process.*sharded over 8 processes and cannot resume on 16"):
        check_resume_world(8, 16, True, ckpt, tmp_path)
    check_resume_world(8, 16, False, ckpt, tmp_path)  # plain data parallel: full states, resumes
    check_resume_world(8, 16, True, None, tmp_path)  # nothing saved yet
    check_resume_world(8, 8, True, ckpt, tmp_path)


def test_entry_refuses_a_world_it_was_not_planned_for():
    from ded.train.entry import check_world_size

    check_world_size({"DED_EXPECTED_WORLD_SIZE": "4", "WORLD_SIZE": "4"})
    with pytest.raises(SystemExit, match="planned for 4 process.*started 2"):
        check_world_size({"DED_EXPECTED_WORLD_SIZE": "4", "WORLD_SIZE": "2"})


def test_cli_plan_yaml(capsys):
    from ded.__main__ import main

    assert main(["train", "plan-yaml", "--gpus", "4", "--template", "deepseekr1", "--set", "cutoff_len=8192"]) == 0
    out = yaml.safe_load(capsys.readouterr().out)
    assert out["gradient_accumulation_steps"] == 12 and out["cutoff_len"] == 8192 and out["template"] == "deepseekr1"
    assert main(["train", "plan-yaml", "--gpus", "5"]) == 2
    assert "not divisible" in capsys.readouterr().err


# ----------------------------------------------------------------------------- export


def test_torchaudio_standin_keeps_find_spec_working():
    import importlib.util

    from ded.train.compat import ensure_torchaudio

    ensure_torchaudio()
    assert importlib.util.find_spec("torchaudio") is not None  # raises ValueError without a __spec__
    import llamafactory.data.mm_plugin  # noqa: F401  (imports torchaudio unconditionally)


def test_sharegpt_format(tmp_path):
    row = _row(1)
    conv = to_sharegpt(row)
    assert conv == {"conversations": [{"from": "human", "value": row["prompt"]},
                                      {"from": "gpt", "value": row["response"]}]}
    assert conv["conversations"][1]["value"].startswith("<think>")
    info = dataset_info()["ded_corpus"]
    assert info["formatting"] == "sharegpt" and info["columns"] == {"messages": "conversations"}
    assert info["tags"]["user_tag"] == "human" and info["tags"]["assistant_tag"] == "gpt"


def test_export_drops_over_cutoff_with_a_count(tmp_path, tiny_llama_dir, caplog):
    from transformers import AutoTokenizer

    from ded.train import TokenCounter

    rows = [_row(i) for i in range(4)] + [_row(9, prompt="Sum these: " + "1 + " * 200 + "1")]
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


# ----------------------------------------------------------------------------- real training


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
    rows = [_row(i) for i in range(8)] + [_row(99, prompt="Sum these: " + "1 + " * 300 + "1")]
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
    write_records(corpus, [_row(i) for i in range(8)], "corpus_row")
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
    write_records(corpus, [_row(i) for i in range(8)], "corpus_row")
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
def test_snakemake_rules(tmp_path, tiny_llama_dir):
    """rules/train.smk: the three rules resolve; train_warmstart runs through its script."""
    (tmp_path / "resources/models").mkdir(parents=True)
    os.symlink(tiny_llama_dir, tmp_path / "resources/models/smollm2-135m")
    rows = [_row(i) for i in range(4)]
    for path in ("results/teachers/terse/warmstart.jsonl", "results/corpus/smol/terse/math-right.jsonl",
                 "results/smoke/smol/verbose/corpus.jsonl"):
        write_records(tmp_path / path, rows, "corpus_row")
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["train"]["warm_start"] = {"max_steps": 2, "save_steps": 1, "cutoff_len": 256}
    config["corpora"]["variants"] = ["right"]  # the target below, whatever the default trains
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(
        f'configfile: "{ROOT}/config/config.yaml"\n'
        f'from ded.settings import resolve_config\nresolve_config(config, "{ROOT}/config/schema.yaml")\n'
        + "".join(f'include: "{ROOT}/rules/{name}.smk"\n'
                  for name in ("common", "resources", "data", "filter", "select", "evaluate", "train")))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    targets = ["results/teachers/terse/model", "results/train/smol/terse/math-right/model",
               "results/smoke/smol/verbose/model"]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(tmp_path), "--cores", "1",
           "--configfile", str(tmp_path / "config.yaml"), "--"]
    dry = subprocess.run(cmd[:-1] + ["-n", "--"] + targets, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    for rule in ("train_warmstart", "train_student", "train_smoke"):
        assert f"rule {rule}:" in dry.stdout
    proc = subprocess.run(cmd + targets[:1], env=env, capture_output=True, text=True, cwd=tmp_path)
    log_text = (tmp_path / "logs/train_warmstart/terse.log").read_text()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + log_text[-3000:]
    summary = json.loads((tmp_path / "results/teachers/terse/model/training_summary.json").read_text())
    assert summary["steps"] == 2 and summary["stage"] == "warm_start" and summary["gpus"] == 0
    assert summary["settings"]["learning_rate"] == config["train"]["warm_start"].get("learning_rate", 1e-4)
    assert (tmp_path / "results/.progress/warmstart/terse/train.yaml").exists()
    assert "trained results/teachers/terse/model" in log_text


@pytest.mark.slow
def test_killed_run_resumes_on_retry(tmp_path, tiny_llama_dir):
    """SIGTERM (a time limit) mid-run through `python -m ded train sft`; the retry resumes from the last checkpoint."""
    import signal
    import time

    corpus = tmp_path / "corpus.jsonl"
    write_records(corpus, [_row(i) for i in range(8)], "corpus_row")
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
    write_records(corpus, [_row(i) for i in range(4)], "corpus_row")
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


def test_stage_section_resolves_back_to_the_stage_settings():
    from ded.train import stage_section

    cfg = {"learning_rate": 2e-5, "optim": "adamw_torch_fused", "smoke": {"max_steps": 3, "cutoff_len": 1024}}
    for stage in (None, "warm_start", "smoke"):
        settings = resolve_settings(cfg, stage)
        assert resolve_settings(stage_section(settings, stage), stage) == settings, stage
    with pytest.raises(TrainConfigError, match="unknown training stage"):
        stage_section(resolve_settings(cfg), "final")
