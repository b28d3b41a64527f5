"""The one Snakemake harness of the tests: a copy of the workflow in a temporary folder, Snakemake run on it
(for real or dry), and what a dry run's output says (jobs, counts). Every test that runs Snakemake uses it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

#: What a copy of the workflow holds (results and resources are made by the run).
WORKFLOW_FILES = ("Snakefile", "rules", "scripts", "ded", "config", "profiles", "envs", "report", "third_party")


def copy_workflow(dst: Path, names: tuple[str, ...] = WORKFLOW_FILES, snakefile: str | None = None,
                  config: dict | None = None, configfile: str = "cfg.yaml") -> Path:
    """The workflow's `names` copied into `dst`; `snakefile` replaces the Snakefile's text (a test that
    includes only some rule files), `config` is written to `dst/configfile`."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy(src, dst / name)
    if snakefile is not None:
        (dst / "Snakefile").write_text(snakefile)
    if config is not None:
        (dst / configfile).write_text(yaml.safe_dump(config))
    return dst


def snakemake(workdir: Path, *args: str, cores: int = 1, configfile: str | None = None, timeout: int = 600,
              env: dict | None = None) -> subprocess.CompletedProcess:
    """`snakemake --cores N [--configfile=F] ARGS` in `workdir`, output captured (`=`: the option takes
    several files, so targets after a bare `--configfile F` would be read as config files)."""
    config = [f"--configfile={configfile}"] if configfile else []
    return subprocess.run([*SNAKEMAKE, "--cores", str(cores), *config, *args], cwd=workdir, capture_output=True,
                          text=True, timeout=timeout, env=env)


def dry_run(workdir: Path, *args: str, env: dict | None = None, timeout: int = 300,
            configfile: str | None = None) -> subprocess.CompletedProcess:
    return snakemake(workdir, "-n", *args, env=env, timeout=timeout, configfile=configfile)


def succeeded(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """`proc`, after asserting it exited 0 (the end of its output in the message otherwise)."""
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return proc


#: Stands in for the network in dry runs: any Internet socket connect fails, so a DAG build that reached
#: for a hub (or anything else) would fail the test instead of passing on a connected machine.
NO_NETWORK = """
import socket

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _refuse(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"network disabled by the dry-run test: connect to {address}")
    return _connect(self, address)


def _refuse_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"network disabled by the dry-run test: connect to {address}")
    return _connect_ex(self, address)


socket.socket.connect, socket.socket.connect_ex = _refuse, _refuse_ex
"""


def offline_env(tmp: Path) -> dict:
    """The environment of a Snakemake run that cannot reach the network (hub variables off, sockets refused)."""
    site = tmp / "no_network"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(NO_NETWORK)
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(site)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def planned_jobs(stdout: str) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job a dry run lists."""
    jobs = []
    for line in stdout.splitlines():
        m = re.match(r"^(?:rule|checkpoint|localrule|localcheckpoint) (\w+):", line)
        if m:
            jobs.append((m.group(1), {}))
        m = re.match(r"^\s+wildcards: (.*)$", line)
        if m and jobs:
            jobs[-1][1].update(kv.split("=", 1) for kv in m.group(1).split(", "))
    return jobs


def job_counts(stdout: str) -> dict[str, int]:
    """The dry run's `Job stats` table: rule -> jobs."""
    table = stdout.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
