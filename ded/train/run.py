"""A resumable LlamaFactory SFT run: export, plan, launch, resume, finalise.

Layout of the work dir (never a declared output, so Snakemake keeps it when
a job fails or hits its time limit):

    work_dir/state.json           fingerprint of what is trained (settings, template, corpus, base model)
    work_dir/data/                the exported dataset (corpus.json, dataset_info.json)
    work_dir/export.json          examples kept and dropped
    work_dir/train.yaml           the LlamaFactory config of the latest launch
    work_dir/train.log            LlamaFactory's output, every launch appended
    work_dir/sessions.jsonl       one line per finished launch: steps from/to, seconds
    work_dir/run/                 LlamaFactory's output_dir: checkpoint-N/ and, at the end, the model
    work_dir/trained.json         written once the final model is saved in run/

A retry after a kill resumes from the newest complete checkpoint-N (one
holding trainer_state.json, which the Trainer writes last). When the settings,
template, corpus or base model change, the old checkpoints are discarded.
The final model moves into `out_dir` by rename, with training_summary.json.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from ..errors import DedError
from ..io import AppendLog, read_json, read_records, write_json
from .compat import EXPECTED_WORLD_SIZE
from .export import TokenCounter, export_corpus
from .arguments import grad_accumulation, llamafactory_args, render_yaml, resolve_settings, uses_torchrun, world_size

log = logging.getLogger(__name__)

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
SUMMARY_FILE = "training_summary.json"
#: Environment switches that make llamafactory's CLI relaunch itself (torchrun, Ray, MCA, v1).
LAUNCHER_SWITCHES = ("FORCE_TORCHRUN", "USE_RAY", "USE_MCA", "USE_V1", "USE_KT")


class TrainError(DedError, RuntimeError):
    pass


# --------------------------------------------------------------------------- checkpoints

def complete_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of checkpoints whose save finished (trainer_state.json is written last), oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = []
    for p in run_dir.iterdir():
        m = CHECKPOINT_RE.match(p.name)
        if m and p.is_dir() and (p / "trainer_state.json").exists():
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    found = complete_checkpoints(run_dir)
    return found[-1][1] if found else None


def clean_run_dir(run_dir: Path) -> None:
    """Remove everything but complete checkpoints: torn checkpoints and a half-saved final model."""
    keep = {p for _, p in complete_checkpoints(run_dir)}
    for p in run_dir.iterdir() if run_dir.is_dir() else []:
        if p in keep:
            continue
        log.info("removing leftover %s from an interrupted run", p)
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


# --------------------------------------------------------------------------- fingerprint

def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_fingerprint(model_dir: Path) -> str:
    """Names, sizes and mtimes of the base model's files: cheap, and changes when the model is rebuilt."""
    h = hashlib.sha256()
    for p in sorted(model_dir.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(model_dir)}:{st.st_size}:{int(st.st_mtime)}\n".encode())
    return h.hexdigest()


#: Settings that change how a run is logged or checkpointed, not what it trains: a retry
#: with a new value still resumes.
BOOKKEEPING_KEYS = ("save_steps", "save_total_limit", "keep_checkpoints", "logging_steps",
                    "preprocessing_num_workers", "dataloader_num_workers", "nodes", "node_launcher")


def run_fingerprint(settings: Mapping, template: str, corpus_sha: str, model_dir: Path) -> str:
    trained = {k: v for k, v in settings.items() if k not in BOOKKEEPING_KEYS}
    blob = json.dumps({"settings": trained, "template": template, "corpus": corpus_sha,
                       "model": model_fingerprint(model_dir)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- launching

def visible_devices(environ: Mapping[str, str]) -> list[str] | None:
    value = environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    return [d for d in value.split(",") if d.strip()]


def launch_command(yaml_path: str | Path, gpus: int, torchrun: bool, nodes: int = 1,
                   node_launcher: list[str] | None = None, master: tuple[str, int] | None = None) -> list[str]:
    """The command that trains: one process; torchrun with one worker per GPU; or, on several nodes,
    `node_launcher` (srun) starting on every node a torchrun that joins the others at `master` (host,
    port), its node rank read from SLURM_NODEID on that node."""
    entry = ["-m", "ded.train.entry", "train", str(yaml_path)]
    if nodes > 1:
        if not node_launcher or master is None:
            raise TrainError("a training on several nodes needs train.node_launcher and a rendezvous address")
        per_node = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(nodes),
                    "--nproc_per_node", str(max(gpus, 1)), "--master_addr", master[0],
                    "--master_port", str(master[1])]
        # each node's copy reads its own rank: srun sets SLURM_NODEID per node
        script = f'exec {shlex.join(per_node)} --node_rank "$SLURM_NODEID" {shlex.join(entry)}'
        return [a.format(nodes=nodes) for a in node_launcher] + ["bash", "-c", script]
    if torchrun:
        # `python -m torch.distributed.run` is torchrun from the same environment as this process.
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
                "--nproc_per_node", str(max(gpus, 1))] + entry
    return [sys.executable] + entry


def rendezvous_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """(host, port) where the nodes of a multi-node training meet: the job's first node, which runs this
    process under SLURM (the first name of SLURM_JOB_NODELIST, expanded by scontrol), else this machine
    (nodes started locally by a custom train.node_launcher); a port free here."""
    import socket

    env = os.environ if environ is None else environ
    host = "127.0.0.1"
    nodelist = env.get("SLURM_JOB_NODELIST")
    if nodelist:
        proc = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True)
        names = proc.stdout.split()
        if proc.returncode != 0 or not names:
            raise TrainError(f"cannot expand SLURM_JOB_NODELIST={nodelist!r} with scontrol: {proc.stderr.strip()}")
        host = names[0]
    with socket.socket() as s:
        s.bind(("", 0))
        return host, s.getsockname()[1]


def launch_env(gpus: int, work_dir: Path, torchrun: bool, environ: Mapping[str, str] | None = None,
               nodes: int = 1) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    for key in LAUNCHER_SWITCHES:
        env.pop(key, None)  # the launch is decided here, not by llamafactory's CLI
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env[EXPECTED_WORLD_SIZE] = str(world_size(gpus, nodes) if torchrun else 1)
    env.setdefault("HF_DATASETS_CACHE", str(work_dir / "hf_datasets_cache"))
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("HF_HUB_OFFLINE", "1")  # the base model is a local folder
    devices = visible_devices(env)
    if gpus == 0:
        env["CUDA_VISIBLE_DEVICES"] = ""  # a CPU run stays on the CPU even where GPUs are visible
    elif devices is None or len(devices) > gpus:
        # More visible GPUs than granted: a single process would fall into DataParallel
        # (which llamafactory refuses) and torchrun would not match the planned world size.
        env["CUDA_VISIBLE_DEVICES"] = ",".join((devices or [str(i) for i in range(gpus)])[:gpus])
    return env


def run_logged(cmd: list[str], env: Mapping[str, str], log_path: Path) -> tuple[int, list[str]]:
    """Run `cmd`, copying its output to this process's stderr and to `log_path`; (exit code, last lines)."""
    tail: list[str] = []
    restore = _sigterm_as_exit()
    try:
        return _run_logged(cmd, env, log_path, tail)
    finally:
        restore()


def _sigterm_as_exit():
    """Turn SIGTERM (a scheduler's time limit, Snakemake cancelling) into SystemExit so the trainer is
    stopped with us; returns the function that restores the previous handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _run_logged(cmd: list[str], env: Mapping[str, str], log_path: Path, tail: list[str]) -> tuple[int, list[str]]:
    with open(log_path, "a", encoding="utf-8") as logf:
        logf.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n")
        proc = subprocess.Popen(cmd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", bufsize=1)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                logf.write(line)
                sys.stderr.write(line)
                tail.append(line.rstrip("\n"))
                del tail[:-60]
            rc = proc.wait()
        except BaseException:
            # Killed (time limit, Ctrl-C): take the trainer down too; the checkpoints stay.
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    return rc, tail


# --------------------------------------------------------------------------- results

def read_trainer_state(path: Path) -> dict:
    return read_json(path) if path.exists() else {}


def loss_history(state: Mapping) -> list[dict]:
    return [{"step": e["step"], "loss": e["loss"], "learning_rate": e.get("learning_rate")}
            for e in state.get("log_history", []) if "loss" in e]


def summarise(run_dir: Path, sessions: list[dict], export: Mapping, extra: Mapping) -> dict:
    state = read_trainer_state(run_dir / "trainer_state.json")
    results = read_json(run_dir / "train_results.json") if (run_dir / "train_results.json").exists() else {}
    history = loss_history(state)
    steps_run = sum(s["steps_to"] - s["steps_from"] for s in sessions)
    seconds = sum(s["seconds"] for s in sessions)
    return {
        "steps": state.get("global_step"),
        "max_steps": state.get("max_steps"),
        "epochs": state.get("epoch"),
        "train_loss": results.get("train_loss"),
        "first_loss": history[0]["loss"] if history else None,
        "final_loss": history[-1]["loss"] if history else None,
        "loss_history": history,
        "seconds_per_step": seconds / steps_run if steps_run else None,
        "train_seconds": seconds,
        "sessions": sessions,
        "resumed": len(sessions) > 1 or any(s["steps_from"] for s in sessions),
        "examples_kept": export["kept"],
        "examples_dropped": len(export["dropped"]),
        "dropped": export["dropped"],
        "max_tokens_kept": export["max_tokens_kept"],
        "total_tokens_kept": export["total_tokens_kept"],
        **extra,
    }


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("llamafactory", "transformers", "torch", "accelerate", "peft", "deepspeed", "flash-attn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def merge_lora(base_model_dir: Path, adapter_dir: Path, dest: Path) -> None:
    """Fold a LoRA adapter into its base so the output is a plain model folder like full fine-tuning's.

    `dest` already holds the tokenizer LlamaFactory saved (with the template's chat template and eos).
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(str(base_model_dir), dtype="auto")
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    # The template may have replaced eos (chatml: <|im_end|>); generation must stop where training ended turns.
    tok = AutoTokenizer.from_pretrained(str(dest))
    for cfg in (merged.config, merged.generation_config):
        if cfg is not None and tok.eos_token_id is not None:
            cfg.eos_token_id = tok.eos_token_id
            cfg.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    merged.save_pretrained(str(dest))


def finalise(run_dir: Path, staging: Path, out_dir: Path, summary: dict, base_model_dir: Path,
             finetuning_type: str) -> None:
    """Move the final model from run/ (checkpoints stay) into `out_dir` via a staging folder and one rename."""
    staging.mkdir(parents=True, exist_ok=True)
    for p in list(run_dir.iterdir()):
        if not CHECKPOINT_RE.match(p.name):
            shutil.move(str(p), str(staging / p.name))
    if finetuning_type == "lora" and (staging / "adapter_config.json").exists():
        adapter = staging / "adapter"
        adapter.mkdir(exist_ok=True)
        for p in list(staging.iterdir()):
            if p.name.startswith("adapter_"):
                shutil.move(str(p), str(adapter / p.name))
        merge_lora(base_model_dir, adapter, staging)
    write_json(staging / SUMMARY_FILE, summary)
    if out_dir.exists():
        raise TrainError(f"{out_dir} already exists; remove it to train again")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, out_dir)


def check_resume_world(last_world: int, world: int, deepspeed: bool, checkpoint: Path | None,
                       work_dir: Path) -> None:
    """Stop before any compute is spent when a DeepSpeed checkpoint would resume on another world size:
    DeepSpeed saves each rank's shard of the model and optimizer states, so it does not load on a different
    number of processes. A checkpoint of plain data-parallel training holds the full states and resumes."""
    if deepspeed and checkpoint is not None and last_world != world:
        raise TrainError(
            f"{work_dir}: the last attempt trained with {last_world} process(es), this one has {world}; its "
            f"DeepSpeed checkpoint {checkpoint.name} is sharded over {last_world} processes and cannot resume on "
            f"{world}. Run it again with the same GPUs per node and train.nodes, or remove {work_dir} to start "
            f"over")


# --------------------------------------------------------------------------- the run

def train_sft(corpus_rows_path: str | Path, base_model_dir: str | Path, out_dir: str | Path,
              work_dir: str | Path, train_cfg: Mapping[str, Any] | None, template: str, gpus: int,
              stage: str | None = None) -> dict:
    """Supervised fine-tuning of `base_model_dir` on a corpus with LlamaFactory; returns the summary.

    `train_cfg` is the config's `train` section (or a part of it); `stage`
    picks its nested `warm_start` / `smoke` overrides. `gpus` = 0 trains on
    the CPU. Progress lives in `work_dir`; a rerun after a kill resumes from
    the newest complete checkpoint. The model, tokenizer, config and
    training_summary.json end in `out_dir`, created by one rename.
    """
    corpus_rows_path, base_model_dir = Path(corpus_rows_path), Path(base_model_dir).resolve()
    out_dir, work_dir = Path(out_dir), Path(work_dir).resolve()
    gpus = int(gpus)
    settings = resolve_settings(train_cfg, stage)
    torchrun = uses_torchrun(settings, gpus)
    nodes = settings["nodes"]
    world = world_size(gpus, nodes) if torchrun else 1
    accum = grad_accumulation(settings["global_batch_size"], settings["per_device_train_batch_size"], gpus, nodes)
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()  # an empty folder made for the output is no trained model
    if out_dir.exists():
        raise TrainError(f"{out_dir} already exists; remove it to train again")
    if not (base_model_dir / "config.json").exists():
        raise TrainError(f"base model folder {base_model_dir} has no config.json")
    rows = read_records(corpus_rows_path, "corpus_row", allow_empty=False)

    work_dir.mkdir(parents=True, exist_ok=True)
    run_dir, data_dir = work_dir / "run", work_dir / "data"
    staging = out_dir.parent / f".{out_dir.name}.staging"
    fingerprint = run_fingerprint(settings, template, file_sha256(corpus_rows_path), base_model_dir)
    state_path = work_dir / "state.json"
    previous = read_json(state_path) if state_path.exists() else {}
    if previous.get("fingerprint") != fingerprint:
        if previous:
            log.warning("training settings, template, corpus or base model changed since the last attempt: "
                        "discarding its checkpoints in %s", work_dir)
        for p in (run_dir, data_dir, work_dir / "trained.json", work_dir / "sessions.jsonl"):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        write_json(state_path, {"fingerprint": fingerprint, "settings": settings, "template": template,
                                "corpus": str(corpus_rows_path), "base_model": str(base_model_dir)})
    last_world = previous.get("world_size", previous.get("gpus"))
    if previous.get("fingerprint") == fingerprint and last_world not in (None, world):
        check_resume_world(last_world, world, bool(settings["deepspeed"]), latest_checkpoint(run_dir), work_dir)
        log.warning("this attempt has %d process(es), the last had %s: the global batch holds (accumulation %d), "
                    "the data order after the resume point may differ", world, last_world, accum)
    write_json(state_path, {**read_json(state_path), "gpus": gpus, "nodes": nodes, "world_size": world})

    counter = TokenCounter(base_model_dir, template)
    export = export_corpus(rows, data_dir, base_model_dir, template, settings["cutoff_len"], counter).as_dict()
    write_json(work_dir / "export.json", export)
    log.info("%d examples kept, %d dropped (cutoff_len %d)", export["kept"], len(export["dropped"]),
             settings["cutoff_len"])

    sessions = AppendLog(work_dir / "sessions.jsonl", key=lambda r: r["started"])
    trained = work_dir / "trained.json"
    if not trained.exists():
        if staging.exists():  # a finalise that never got its trained model: start it over
            shutil.rmtree(staging)
        run_dir.mkdir(parents=True, exist_ok=True)
        clean_run_dir(run_dir)
        resume = latest_checkpoint(run_dir)
        resumed_step = int(CHECKPOINT_RE.match(resume.name).group(1)) if resume else 0
        args = llamafactory_args(settings, model_dir=base_model_dir, dataset_dir=data_dir, dataset=export["dataset"],
                                 output_dir=run_dir, template=template, gpus=gpus, resume_from_checkpoint=resume)
        yaml_path = work_dir / "train.yaml"
        yaml_path.write_text(render_yaml(args), encoding="utf-8")
        if resume:
            log.info("resuming from %s (step %d)", resume, resumed_step)
        master = rendezvous_address() if nodes > 1 else None
        cmd = launch_command(yaml_path, gpus, torchrun, nodes, settings["node_launcher"], master)
        log.info("launching: %s", " ".join(cmd))
        started = time.time()
        rc, tail = run_logged(cmd, launch_env(gpus, work_dir, torchrun, nodes=nodes), work_dir / "train.log")
        if rc != 0:
            raise TrainError(f"LlamaFactory training failed (exit code {rc}) with {yaml_path}; "
                             f"full output in {work_dir / 'train.log'}; last lines:\n" + "\n".join(tail[-30:]))
        state = read_trainer_state(run_dir / "trainer_state.json")
        results = read_json(run_dir / "train_results.json") if (run_dir / "train_results.json").exists() else {}
        sessions.append([{"started": started, "steps_from": resumed_step, "steps_to": state.get("global_step", 0),
                          "seconds": results.get("train_runtime", time.time() - started),
                          "gpus": gpus, "nodes": nodes, "world_size": world,
                          "gradient_accumulation_steps": accum}])
        write_json(trained, {"finished": time.time()})
    summary = summarise(run_dir if (run_dir / "trainer_state.json").exists() else staging, sessions.records(),
                        export, {
                            "template": template, "gpus": gpus, "nodes": nodes, "world_size": world,
                            "stage": stage or "student",
                            "finetuning_type": settings["finetuning_type"], "cutoff_len": settings["cutoff_len"],
                            "global_batch_size": settings["global_batch_size"],
                            "per_device_train_batch_size": settings["per_device_train_batch_size"],
                            "gradient_accumulation_steps": accum, "launcher": "torchrun" if torchrun else "python",
                            "base_model": str(base_model_dir), "corpus": str(corpus_rows_path),
                            "settings": settings, "versions": package_versions()})
    sessions.close()
    finalise(run_dir, staging, out_dir, summary, base_model_dir, settings["finetuning_type"])
    trained.unlink()
    shutil.rmtree(work_dir / "hf_datasets_cache", ignore_errors=True)
    if not settings["keep_checkpoints"]:
        for _, p in complete_checkpoints(run_dir):
            shutil.rmtree(p)
    log.info("trained %s: %s steps, final loss %s, %.2f s/step", out_dir, summary["steps"], summary["final_loss"],
             summary["seconds_per_step"] or float("nan"))
    return summary
