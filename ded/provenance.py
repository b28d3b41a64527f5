"""Where a result came from: the workflow's commit, the job's package versions, a hash of the config
values the job read, and the exact revision (or content hash) of every model and dataset it read.

Each job writes this beside its log (`<log>.provenance.json`, scripts/_common.py), never into a
declared output, so outputs stay byte-identical between runs while every result can be traced. The
report's front page shows the run's (ded.report.provenance_section).
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Iterable, Mapping

ROOT = Path(__file__).resolve().parents[1]

#: Distributions whose versions decide a result (absent ones are left out).
KEY_PACKAGES = ("ded-workflow", "snakemake", "torch", "transformers", "tokenizers", "accelerate", "peft", "llamafactory",
                "deepspeed", "vllm", "lm_eval", "math-verify", "rapidfuzz", "datasets", "huggingface_hub",
                "numpy", "pandas", "scikit-learn", "matplotlib")

_SOURCES: list[dict] = []


def note_source(record: Mapping[str, Any]) -> None:
    """Remember a model or dataset this job read; the job's provenance lists it."""
    _SOURCES.append(dict(record))


def noted_sources() -> list[dict]:
    return list(_SOURCES)


def _git(args: list[str], root: Path) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def workflow_commit(root: Path = ROOT) -> dict:
    """{commit, describe, dirty} of the workflow's checkout; all None for an installed copy or without git.

    Dirty means a tracked file differs from the commit (results/, logs/ and resources/ are ignored)."""
    if not (root / ".git").exists():  # an installed copy: describing an enclosing repository would mislead
        return {"commit": None, "describe": None, "dirty": None}
    status = _git(["status", "--porcelain", "--untracked-files=no"], root)
    return {"commit": _git(["rev-parse", "HEAD"], root) or None,
            "describe": _git(["describe", "--always", "--dirty"], root) or None,
            "dirty": None if status is None else bool(status)}


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def values_hash(values: Any) -> str:
    """A hash of JSON-like values (the config values a job read), independent of key order."""
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def resolve_hub_revision(repo_id: str, revision: str | None, kind: str) -> str | None:
    """The commit a hub model or dataset revision (a branch, tag or None for main) points at now; None
    when the hub cannot be asked (offline, a cache-only run), in which case the revision stays as given."""
    try:
        from huggingface_hub import HfApi

        api = HfApi()
        info = (api.dataset_info if kind == "dataset" else api.model_info)(repo_id, revision=revision)
    except Exception:  # noqa: BLE001 - no network, no such repo, an old client: nothing resolved
        return None
    return getattr(info, "sha", None)


#: What the scheduler gave a job, from the variables SLURM (and the local GPU claim, ded.gpus) set in its
#: environment; absent ones are left out.
ALLOCATION_VARIABLES = {
    "slurm_job_id": "SLURM_JOB_ID",
    "slurm_array_job_id": "SLURM_ARRAY_JOB_ID",
    "nodes": "SLURM_JOB_NUM_NODES",
    "gpus_on_node": "SLURM_GPUS_ON_NODE",
    "job_gpus": "SLURM_JOB_GPUS",
    "cuda_visible_devices": "CUDA_VISIBLE_DEVICES",
    "stand_in_gpus": "DED_STAND_IN_GPUS",
}


def job_allocation(environ: Mapping[str, str], resources: Mapping[str, Any]) -> dict:
    """What a job asked for (its `gpu` resource and threads) and what it got (ALLOCATION_VARIABLES), so a
    result can be traced to the hardware it ran on and a profile's requests can be checked against SLURM's."""
    asked = {key: resources[key] for key in ("gpu", "nodes", "_cores") if key in resources}
    granted = {name: environ[var] for name, var in ALLOCATION_VARIABLES.items() if var in environ}
    return {"asked": asked, "granted": granted}


def job_provenance(rule: str, wildcards: Mapping[str, Any], params: Mapping[str, Any],
                   allocation: Mapping[str, Any] | None = None) -> dict:
    """Everything a job's result can be traced to (see the module docstring)."""
    return {
        "rule": rule,
        "wildcards": dict(wildcards),
        "allocation": dict(allocation or {}),
        "workflow": workflow_commit(),
        "config_hash": values_hash(dict(params)),
        "python": platform.python_version(),
        "packages": package_versions(),
        "sources": noted_sources(),
    }
