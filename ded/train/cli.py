"""`python -m ded train ...`: the training stage outside Snakemake.

    python -m ded train sft --corpus C.jsonl --base-model DIR --out DIR [--work-dir DIR]
        [--config config/config.yaml] [--set learning_rate=1e-4 ...] [--stage warm_start|smoke]
        [--template chatml] [--gpus 0]
    python -m ded train plan-yaml [--config FILE] [--set ...] [--stage ...] [--template T] [--gpus N]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import yaml

from ..io import read_yaml
from .arguments import TrainConfigError, llamafactory_args, render_yaml, resolve_settings


def parse_override(text: str) -> tuple[list[str], object]:
    """'key=value' or 'lora.rank=16'; the value is read as YAML (numbers, null, true)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(value)


def config_train_section(path: str) -> dict:
    """The `train` mapping of a workflow config file ({} when it has none)."""
    config = read_yaml(path, "YAML config") or {}
    if not isinstance(config, dict):
        raise TrainConfigError(f"{path}: expected a mapping of config keys, got {type(config).__name__}")
    section = config.get("train") or {}
    if not isinstance(section, dict):
        raise TrainConfigError(f"{path}: train: expected a mapping, got {type(section).__name__}")
    return section


def train_section(config_path: str | None, overrides: list[tuple[list[str], object]]) -> dict:
    section: dict = {}
    if config_path:
        section = dict(config_train_section(config_path))
    for keys, value in overrides:
        node = section
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return section


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="a workflow config YAML; its `train` section is used (default: built-in defaults)")
    p.add_argument("--set", dest="overrides", action="append", type=parse_override, default=[],
                   metavar="KEY=VALUE", help="override a `train` key (repeatable; nested keys with dots)")
    p.add_argument("--stage", choices=("warm_start", "smoke"), default=None,
                   help="apply the nested train.<stage> settings (teacher warm start, smoke test)")
    p.add_argument("--template", default="chatml", help="LlamaFactory template of the model (default: %(default)s)")
    p.add_argument("--gpus", type=int, default=0, help="GPUs of this job; 0 trains on the CPU (default: %(default)s)")


def cmd_sft(args) -> int:
    from .run import train_sft

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    work_dir = args.work_dir or str(Path(args.out).parent / f".{Path(args.out).name}.work")
    summary = train_sft(args.corpus, args.base_model, args.out, work_dir,
                        train_section(args.config, args.overrides), args.template, args.gpus, stage=args.stage)
    brief = {k: summary[k] for k in ("steps", "final_loss", "seconds_per_step", "examples_kept", "examples_dropped")}
    print(json.dumps(brief))
    return 0


def cmd_plan_yaml(args) -> int:
    settings = resolve_settings(train_section(args.config, args.overrides), args.stage)
    work = Path(args.work_dir)
    out = llamafactory_args(settings, model_dir=args.base_model, dataset_dir=work / "data", dataset="ded_corpus",
                            output_dir=work / "run", template=args.template, gpus=args.gpus)
    sys.stdout.write(render_yaml(out))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="LlamaFactory SFT of a model on a corpus")
    tsub = p.add_subparsers(dest="train_command", required=True)

    s = tsub.add_parser("sft", help="train (resumable); prints steps, loss and s/step as JSON")
    s.add_argument("--corpus", required=True, help="corpus_row JSONL")
    s.add_argument("--base-model", required=True, help="Hugging Face model folder")
    s.add_argument("--out", required=True, help="output model folder (must not exist)")
    s.add_argument("--work-dir", help="checkpoints and logs (default: .<out>.work beside --out)")
    _common(s)
    s.set_defaults(func=cmd_sft)

    y = tsub.add_parser("plan-yaml", help="print the LlamaFactory YAML a run would use")
    y.add_argument("--base-model", default="resources/models/MODEL",
                   help="model folder written into the YAML (default: %(default)s)")
    y.add_argument("--work-dir", default="results/.progress/train/PLAN",
                   help="work folder written into the YAML (default: %(default)s)")
    _common(y)
    y.set_defaults(func=cmd_plan_yaml)
