"""Training stage: YAML plan, export with cutoff dropping, real CPU training through LlamaFactory, resume."""


from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support.training import ROOT, train_row

from ded.settings import load_schema, schema_default
from ded.train import (
    TrainConfigError,
    TrainError,
    dataset_info,
    grad_accumulation,
    llamafactory_args,
    resolve_settings,
    to_sharegpt,
    uses_torchrun,
)
from ded.train.arguments import STAGE_KEYS


def _args(settings, gpus, tmp_path=Path("/w")):
    return llamafactory_args(settings, model_dir=tmp_path / "m", dataset_dir=tmp_path / "d", dataset="ded_corpus",
                             output_dir=tmp_path / "o", template="deepseekr1", gpus=gpus)


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


def test_torchaudio_standin_keeps_find_spec_working():
    import importlib.util

    from ded.train.compat import ensure_torchaudio

    ensure_torchaudio()
    assert importlib.util.find_spec("torchaudio") is not None  # raises ValueError without a __spec__
    import llamafactory.data.mm_plugin  # noqa: F401  (imports torchaudio unconditionally)


def test_sharegpt_format(tmp_path):
    row = train_row(1)
    conv = to_sharegpt(row)
    assert conv == {"conversations": [{"from": "human", "value": row["prompt"]},
                                      {"from": "gpt", "value": row["response"]}]}
    assert conv["conversations"][1]["value"].startswith("<think>")
    info = dataset_info()["ded_corpus"]
    assert info["formatting"] == "sharegpt" and info["columns"] == {"messages": "conversations"}
    assert info["tags"]["user_tag"] == "human" and info["tags"]["assistant_tag"] == "gpt"


def test_stage_section_resolves_back_to_the_stage_settings():
    from ded.train import stage_section

    cfg = {"learning_rate": 2e-5, "optim": "adamw_torch_fused", "smoke": {"max_steps": 3, "cutoff_len": 1024}}
    for stage in (None, "warm_start", "smoke"):
        settings = resolve_settings(cfg, stage)
        assert resolve_settings(stage_section(settings, stage), stage) == settings, stage
    with pytest.raises(TrainConfigError, match="unknown training stage"):
        stage_section(resolve_settings(cfg), "final")
