"""GPUs for jobs on one machine without a scheduler (profiles/local-gpus).

Snakemake's `--resources gpu=N` only bounds how many GPUs the running jobs ask for together; it does not
say which devices a job may use, so two 4-GPU jobs on an 8-GPU machine would both start on devices 0-3.
Each job that asks for GPUs therefore claims that many distinct devices here, before it imports torch or
vLLM, and sets CUDA_VISIBLE_DEVICES to them (torchrun's and vLLM's workers inherit it). A claim is an
exclusive lock on one file per device, held while the job's process lives: a finished, failed or killed
job frees its devices with its process, and a rerun never finds stale claims.

Under SLURM the scheduler does this (SLURM sets CUDA_VISIBLE_DEVICES) and nothing is claimed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Mapping

from .errors import DedError


class GpuClaimError(DedError):
    """A job could not get the GPUs it asked for."""


#: Locks of this process's claim; kept open (and so held) until the process exits.
_HELD: list[IO] = []


def default_lock_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where claims live: DED_GPU_LOCK_DIR, or one folder per machine in the temporary directory (so that
    two workflows on one machine see each other's claims)."""
    return Path(environ.get("DED_GPU_LOCK_DIR") or Path(tempfile.gettempdir()) / "ded-gpu-claims")


def visible_devices(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The devices jobs may share: CUDA_VISIBLE_DEVICES of the workflow's environment when set, else the
    indices nvidia-smi lists, else none."""
    listed = environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    proc = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                          text=True, timeout=60, check=False)
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()] if proc.returncode == 0 else []


def _try_lock(path: Path) -> IO | None:
    handle = open(path, "a+")
    try:
        os.chmod(path, 0o666)  # another user's job on the same machine must be able to lock it too
    except OSError:
        pass
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def try_claim(n: int, devices: list[str], lock_dir: Path) -> tuple[list[str], list[IO]] | None:
    """Lock `n` of `devices` (in their order) or none: the devices and their open locks, or None when
    fewer than `n` are free."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    got: list[str] = []
    handles: list[IO] = []
    for device in devices:
        handle = _try_lock(lock_dir / f"gpu-{device}.lock")
        if handle is not None:
            got.append(device)
            handles.append(handle)
            if len(got) == n:
                return got, handles
    for handle in handles:
        handle.close()
    return None


def claim_devices(n: int, devices: list[str], lock_dir: Path, *, wait_s: float = 24 * 3600.0,
                  poll_s: float = 1.0, log: logging.Logger | None = None) -> tuple[list[str], list[IO]]:
    """`n` distinct devices of `devices`, waiting while other jobs hold them (a job of another workflow
    on the same machine); fails after `wait_s` seconds, or at once when the machine has fewer than `n`."""
    if n > len(devices):
        raise GpuClaimError(f"the job asks for {n} GPU(s) but this machine offers {len(devices)} "
                            f"({','.join(devices) or 'none'}; CUDA_VISIBLE_DEVICES or nvidia-smi)")
    deadline = time.monotonic() + wait_s
    next_note = time.monotonic() + 60
    while True:
        claim = try_claim(n, devices, lock_dir)
        if claim is not None:
            return claim
        now = time.monotonic()
        if now >= deadline:
            raise GpuClaimError(f"no {n} free GPU(s) of {','.join(devices)} within {wait_s:g} s; claims "
                                f"are held in {lock_dir} by other jobs on this machine")
        if log is not None and now >= next_note:
            log.info("waiting for %d free GPU(s) of %s (claims in %s)", n, ",".join(devices), lock_dir)
            next_note = now + 60
        time.sleep(poll_s)


def claim_for_job(gpus: int, log: logging.Logger, environ: dict = os.environ) -> list[str]:
    """Claim the job's GPUs and point CUDA_VISIBLE_DEVICES at them; nothing under SLURM or for 0 GPUs."""
    if gpus <= 0 or "SLURM_JOB_ID" in environ:
        return []
    devices = visible_devices(environ)
    lock_dir = default_lock_dir(environ)
    got, handles = claim_devices(gpus, devices, lock_dir, log=log)
    _HELD.extend(handles)
    environ["CUDA_VISIBLE_DEVICES"] = ",".join(got)
    log.info("claimed GPU(s) %s of %s (locks in %s)", ",".join(got), ",".join(devices), lock_dir)
    return got


def cuda_device_count() -> int:
    """Devices CUDA sees (torch imported here, not where the module is imported)."""
    import torch

    return torch.cuda.device_count()


def training_gpus(asked: int, environ: Mapping[str, str], cuda_devices: int) -> int:
    """GPUs a training job trains on (0: the CPU), from what it asked for and what CUDA sees.

    A cluster can declare stand-in GPUs to exercise GPU scheduling on machines without any (the test
    cluster of scripts/slurm/start.sh does, and says so to each job with DED_STAND_IN_GPUS=1): a job
    granted those trains on the CPU, as a CPU job would. Anywhere else, GPUs asked for that CUDA cannot
    see stop the job before it starts: a cluster's GPU job silently training on the CPU would run for
    weeks."""
    if asked <= 0:
        return 0
    if cuda_devices >= asked:
        return asked
    if cuda_devices == 0 and environ.get("DED_STAND_IN_GPUS") == "1":
        return 0
    raise GpuClaimError(f"the job asks for {asked} GPU(s) but CUDA sees {cuda_devices} "
                        f"(CUDA_VISIBLE_DEVICES={environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); check the "
                        "node's drivers, or set the rule's `gpu` resource to what the node has")
