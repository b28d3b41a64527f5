"""The `train` config section -> LlamaFactory's training YAML.

Pure functions: no llamafactory import. Defaults come from config/schema.yaml's
`train` section (ded.settings), so the library and `python -m ded train` work
on a partial section too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from ..config import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Keys a nested `warm_start` / `smoke` object may set; the rest is inherited from `train`.
STAGE_KEYS = ("cutoff_len", "learning_rate", "num_train_epochs", "max_steps", "warmup_ratio",
              "per_device_train_batch_size", "global_batch_size", "save_steps", "logging_steps")

#: Training stages with a nested object of STAGE_KEYS under `train` (teacher warm start, smoke test).
STAGES = ("warm_start", "smoke")

FINETUNING_TYPES = ("full", "lora")
PRECISIONS = ("bf16", "fp16", "fp32")
FLASH_ATTN = ("auto", "disabled", "sdpa", "fa2", "fa3")


class TrainConfigError(ConfigError):
    """A `train` setting is invalid; the message names the config key."""


def known_in_order() -> list[str]:
    """The keys of a `train` section other than the nested stages, in the schema's order."""
    from ..settings import section_schema

    return [key for key in section_schema("train")["properties"] if key not in STAGES]


def resolve_settings(train_cfg: Mapping[str, Any] | None, stage: str | None = None) -> dict[str, Any]:
    """The effective settings: defaults, then `train_cfg`, then (for `stage`) its nested overrides.

    `stage` is None for the student's training, or "warm_start" / "smoke".
    Nested stage objects are dropped from the result.
    """
    from ..settings import resolve_section, section_schema

    train_cfg = dict(train_cfg or {})
    nested = {k: train_cfg.pop(k, None) for k in STAGES}
    known = known_in_order()
    unknown = sorted(set(train_cfg) - set(known))
    if unknown:
        raise TrainConfigError(f"config: unknown key(s) train.{', train.'.join(unknown)} "
                               f"(known: {', '.join(sorted(known))})")
    if train_cfg.get("lora") is None:
        train_cfg.pop("lora", None)
    filled = resolve_section(train_cfg, "train", check=False)  # the schema's defaults filled in
    settings = {key: filled[key] for key in known_in_order()}  # in the schema's order, whatever the input's
    settings["lora"] = {key: settings["lora"][key] for key in section_schema("train.lora")["properties"]}
    if stage is not None:
        if stage not in STAGES:
            raise TrainConfigError(f"unknown training stage {stage!r} (known: {', '.join(STAGES)})")
        overrides = dict(nested[stage] or {})
        bad = sorted(set(overrides) - set(STAGE_KEYS))
        if bad:
            raise TrainConfigError(f"config: train.{stage} cannot set {', '.join(bad)} (allowed: {', '.join(STAGE_KEYS)})")
        settings.update(resolve_section(overrides, f"train.{stage}", check=False))
    check_settings(settings, prefix=f"train.{stage}." if stage else "train.")
    return settings


def stage_section(settings: Mapping[str, Any], stage: str | None = None) -> dict[str, Any]:
    """A `train` section that resolve_settings(section, stage) turns back into `settings`.

    The workflow hands each training rule only its resolved settings (so the
    params trigger sees exactly what that training uses); the stage keys go
    back under `stage`, where resolve_settings looks for them.
    """
    section = dict(settings)
    if stage is not None:
        if stage not in STAGES:
            raise TrainConfigError(f"unknown training stage {stage!r} (known: {', '.join(STAGES)})")
        section[stage] = {k: section.pop(k) for k in STAGE_KEYS}
    return section


def check_settings(s: Mapping[str, Any], prefix: str = "train.") -> None:
    def bad(key: str, why: str):
        raise TrainConfigError(f"config: {prefix}{key} = {s.get(key)!r}: {why}")

    if s["finetuning_type"] not in FINETUNING_TYPES:
        bad("finetuning_type", f"expected one of {FINETUNING_TYPES}")
    if s["precision"] not in PRECISIONS:
        bad("precision", f"expected one of {PRECISIONS}")
    if s["flash_attn"] not in FLASH_ATTN:
        bad("flash_attn", f"expected one of {FLASH_ATTN}")
    if not isinstance(s["node_launcher"], list) or not s["node_launcher"] or not all(
            isinstance(a, str) for a in s["node_launcher"]):
        bad("node_launcher", "expected a non-empty list of strings (a command and its arguments)")
    for key in ("cutoff_len", "per_device_train_batch_size", "global_batch_size", "save_steps", "logging_steps",
                "nodes"):
        if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 1:
            bad(key, "expected a positive integer")
    if s["max_steps"] is not None and (not isinstance(s["max_steps"], int) or s["max_steps"] < 1):
        bad("max_steps", "expected a positive integer or null")
    if s["max_steps"] is None and not (s["num_train_epochs"] and s["num_train_epochs"] > 0):
        bad("num_train_epochs", "expected a positive number when max_steps is null")
    if not s["learning_rate"] or s["learning_rate"] <= 0:
        bad("learning_rate", "expected a positive number")
    if not 0 <= s["warmup_ratio"] < 1:
        bad("warmup_ratio", "expected a number in [0, 1)")


def world_size(gpus: int, nodes: int = 1) -> int:
    """Training processes: one per GPU on each node (one per node on CPUs)."""
    return max(int(gpus), 1) * max(int(nodes), 1)


def grad_accumulation(global_batch: int, per_device: int, gpus: int, nodes: int = 1) -> int:
    """Gradient accumulation steps that keep `global_batch` = per_device * processes * accumulation.

    `gpus` (per node) = 0 means one CPU process per node. Fails, naming the keys, when the global
    batch cannot be held exactly on this allocation.
    """
    processes = world_size(gpus, nodes)
    per_step = per_device * processes
    if global_batch % per_step:
        nodes = max(int(nodes), 1)
        options = [g for g in range(1, 65) if global_batch % (per_device * g * nodes) == 0]
        where = f"{processes} {'GPU(s)' if gpus else 'CPU process(es)'}" + (f" on {nodes} nodes" if nodes > 1 else "")
        raise TrainConfigError(
            f"config: train.global_batch_size = {global_batch} is not divisible by "
            f"train.per_device_train_batch_size ({per_device}) x {where} = {per_step}; the global batch cannot be "
            f"held on this allocation. GPUs per node that hold it at this per-device batch"
            f"{f' and {nodes} nodes' if nodes > 1 else ''}: {options or 'none'}; "
            f"or change train.per_device_train_batch_size / train.global_batch_size / train.nodes")
    return global_batch // per_step


def resolve_repo_path(path: str | Path) -> Path:
    """A config path relative to the working directory, else to the repository (where config/ lives)."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p.resolve()
    return (REPO_ROOT / p).resolve()


def uses_torchrun(settings: Mapping[str, Any], gpus: int) -> bool:
    """torchrun for several GPUs or nodes, and for DeepSpeed even on one GPU (it needs a distributed launch)."""
    return gpus > 1 or settings["nodes"] > 1 or (gpus == 1 and bool(settings.get("deepspeed")))


def llamafactory_args(settings: Mapping[str, Any], *, model_dir: str | Path, dataset_dir: str | Path,
                      dataset: str, output_dir: str | Path, template: str, gpus: int,
                      resume_from_checkpoint: str | Path | None = None) -> dict[str, Any]:
    """The LlamaFactory training arguments (the YAML's content) for resolved `settings`."""
    accum = grad_accumulation(settings["global_batch_size"], settings["per_device_train_batch_size"], gpus,
                              settings["nodes"])
    on_gpu = gpus > 0
    precision = settings["precision"] if on_gpu else "fp32"  # CPUs train in fp32
    args: dict[str, Any] = {
        # model
        "model_name_or_path": str(model_dir),
        "trust_remote_code": bool(settings["trust_remote_code"]),
        # FlashAttention kernels exist only on GPUs; a CPU takes transformers' default (sdpa).
        "flash_attn": settings["flash_attn"] if on_gpu or settings["flash_attn"] in ("disabled", "sdpa") else "auto",
        "disable_gradient_checkpointing": not settings["gradient_checkpointing"],
        # method
        "stage": "sft",
        "do_train": True,
        "finetuning_type": settings["finetuning_type"],
    }
    if settings["finetuning_type"] == "lora":
        lora = settings["lora"]
        args.update({"lora_rank": lora["rank"], "lora_alpha": lora["alpha"], "lora_dropout": lora["dropout"],
                     "lora_target": lora["target"]})
    if on_gpu and settings.get("deepspeed"):
        args["deepspeed"] = str(resolve_repo_path(settings["deepspeed"]))
    args.update({
        # dataset
        "dataset_dir": str(dataset_dir),
        "dataset": dataset,
        "template": template,
        "cutoff_len": settings["cutoff_len"],
        "overwrite_cache": True,
        "preprocessing_num_workers": settings["preprocessing_num_workers"],
        "dataloader_num_workers": settings["dataloader_num_workers"],
        # output
        "output_dir": str(output_dir),
        "logging_steps": settings["logging_steps"],
        "save_steps": settings["save_steps"],
        "save_total_limit": settings["save_total_limit"],
        "save_only_model": False,  # optimizer and scheduler states are what make a resume exact
        "plot_loss": True,
        "report_to": "none",
        "disable_tqdm": True,  # progress bars flood job logs; LlamaFactory logs every logging_steps
        # train
        "per_device_train_batch_size": settings["per_device_train_batch_size"],
        "gradient_accumulation_steps": accum,
        "learning_rate": settings["learning_rate"],
        "num_train_epochs": float(settings["num_train_epochs"]),
        "lr_scheduler_type": settings["lr_scheduler_type"],
        "warmup_ratio": settings["warmup_ratio"],
        "weight_decay": settings["weight_decay"],
        "max_grad_norm": settings["max_grad_norm"],
        "optim": settings["optim"],
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "seed": settings["seed"],
        "ddp_timeout": 180000000,  # rank 0 tokenises a large corpus while the others wait
        "resume_from_checkpoint": str(resume_from_checkpoint) if resume_from_checkpoint else None,
    })
    if settings["max_steps"] is not None:
        args["max_steps"] = settings["max_steps"]
    if args["preprocessing_num_workers"] is None:
        del args["preprocessing_num_workers"]
    return args


def render_yaml(args: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(args), sort_keys=False, default_flow_style=False)
