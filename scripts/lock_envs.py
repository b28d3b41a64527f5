#!/usr/bin/env python3
"""Lock the pip sections of envs/*.yaml; `make lock` runs this after it writes requirements/cpu.lock.

Each env's pip section starts with its direct pins, edited by hand with their reasons. Below the
LOCK_MARK comment follows everything else those pins install, pinned exactly, as `uv pip compile`
resolves it (this script rewrites that part and nothing else):

- for the env's Python on Linux x86_64, from the package index alone, so torch is PyPI's build (the
  CUDA one, with its nvidia-* packages, as on a GPU node);
- at requirements/cpu.lock's versions for every package the env does not pin itself (torch's +cpu
  label dropped), so a stage runs what the tests ran, except where RELEASED says why not (an env of
  ENV_LOCKS follows its own lock instead: envs/aider.yaml, requirements/aider.lock);
- without the packages the env takes from conda-forge (its conda dependencies other than python and
  pip) nor what only they need: conda installs those.

A version already in the file is kept while the pins still allow it (uv's preferences), so a
re-run changes only what the direct pins or cpu.lock changed. Standard library only: run it with
the interpreter that creates the environment, `--uv` naming the uv that `make lock` installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU_LOCK = ROOT / "requirements" / "cpu.lock"
PLATFORM = "x86_64-manylinux_2_28"
LOCK_MARK = "# Locked by `make lock` (scripts/lock_envs.py), not by hand:"

#: (env file, package, or "*" for all) -> why the env's resolution does not hold that package at
#: requirements/cpu.lock's version (tests/unit/test_envs.py checks the rest against the lock).
RELEASED = {
    ("vllm.yaml", "*"): "vllm 0.33.0 pins torch 2.14 and transformers 5.20 itself; the rest of its tree follows vllm",
    ("evaluate_vllm.yaml", "*"): "vllm 0.33.0 pins torch 2.14 and transformers 5.20 itself; the rest of its tree "
                                 "follows vllm and lm-eval",
    ("train.yaml", "pillow"): "llamafactory 0.9.5 requires gradio<=5.50.0, which requires pillow<12",
}


#: Env files that follow another lock than requirements/cpu.lock: the environment they share pins with.
ENV_LOCKS = {"aider.yaml": ROOT / "requirements" / "aider.lock"}


def lock_of(env_name: str) -> Path:
    """The lock an env file's versions follow (ENV_LOCKS, else requirements/cpu.lock)."""
    return ENV_LOCKS.get(env_name, CPU_LOCK)


def released(env_name: str, package: str) -> bool:
    return (env_name, "*") in RELEASED or (env_name, package) in RELEASED


_ITEM = re.compile(r"^(\s*)-\s+(.*?)\s*$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)==([^\s#;]+)")
_CONDA = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)\s*=?=?\s*([^\s#]*)")


def normalise(name: str) -> str:
    """PEP 503 name: case and the separators -, _ and . do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    """'2.13.0+cpu' -> '2.13.0': the version without its local label."""
    return version.split("+", 1)[0]


def read_pins(lines) -> dict[str, str]:
    """name -> version of the exact pins among requirement lines (comments and options skipped)."""
    pins = {}
    for line in lines:
        m = _PIN.match(line.split("#", 1)[0].strip())
        if m:
            pins[normalise(m.group(1))] = m.group(2)
    return pins


class EnvFile:
    """The parts of an env file this script reads and rewrites, found by indentation."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.pip_at = next((i for i, line in enumerate(self.lines) if re.match(r"^\s*-\s+pip:\s*$", line)), None)
        if self.pip_at is None:
            raise ValueError("no `- pip:` section")
        outer = len(self.lines[self.pip_at]) - len(self.lines[self.pip_at].lstrip())
        end = self.pip_at + 1
        while end < len(self.lines):
            line = self.lines[end]
            if line.strip() and len(line) - len(line.lstrip()) <= outer:
                break
            end += 1
        while end > self.pip_at + 1 and not self.lines[end - 1].strip():
            end -= 1
        self.pip_end = end
        body = self.lines[self.pip_at + 1:end]
        self.indent = next((m.group(1) for m in map(_ITEM.match, body) if m), " " * (outer + 4))
        self.mark_at = next((self.pip_at + 1 + i for i, line in enumerate(body) if LOCK_MARK in line), end)
        self.outer = outer
        self.deps_at = next(i for i, line in enumerate(self.lines) if re.match(r"^dependencies:\s*$", line))

    def direct(self) -> list[str]:
        """The pip section's hand-edited items (those above the mark)."""
        return [m.group(2) for m in map(_ITEM.match, self.lines[self.pip_at + 1:self.mark_at]) if m]

    def locked(self) -> list[str]:
        return [m.group(2) for m in map(_ITEM.match, self.lines[self.mark_at:self.pip_end]) if m]

    def python(self) -> str:
        for line in self.lines[self.deps_at:self.pip_at]:
            m = _ITEM.match(line)
            if m and _CONDA.match(m.group(2)).group(1) == "python":
                return _CONDA.match(m.group(2)).group(2)
        raise ValueError("no python pin among the conda dependencies")

    def conda_packages(self) -> list[str]:
        """Conda dependencies other than python and pip, as names."""
        names = []
        for line in self.lines[self.deps_at:self.pip_at]:
            m = _ITEM.match(line)
            if m and len(m.group(1)) == self.outer:
                name = normalise(_CONDA.match(m.group(2)).group(1))
                if name not in ("python", "pip"):
                    names.append(name)
        return names

    def with_locked(self, pins: list[str], python: str) -> str:
        block = [f"{self.indent}{LOCK_MARK}",
                 f"{self.indent}# what the pins above install, for Python {python} on Linux x86_64."]
        block += [f"{self.indent}- {pin}" for pin in pins]
        lines = self.lines[:self.mark_at] + block + self.lines[self.pip_end:]
        return "\n".join(lines) + "\n"


def resolve(uv: str, env: EnvFile, name: str, lock_pins: dict[str, str]) -> list[str]:
    """`uv pip compile` of the env's direct pins; returns every resolved pin not among them."""
    direct = read_pins(env.direct())
    excluded = env.conda_packages()
    constraints = [f"{pkg}=={public(version)}" for pkg, version in sorted(lock_pins.items())
                   if pkg not in direct and pkg not in excluded and not released(name, pkg)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in.txt").write_text("\n".join(env.direct()) + "\n")
        (tmp / "out.txt").write_text("\n".join(env.direct() + env.locked()) + "\n")  # uv's preferences
        command = [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate",
                   str(tmp / "in.txt"), "-o", str(tmp / "out.txt"),
                   "--python-version", env.python(), "--python-platform", PLATFORM]
        if constraints:
            (tmp / "constraints.txt").write_text("\n".join(constraints) + "\n")
            command += ["--constraints", str(tmp / "constraints.txt")]
        if excluded:
            (tmp / "excludes.txt").write_text("\n".join(excluded) + "\n")
            command += ["--excludes", str(tmp / "excludes.txt")]
        subprocess.run(command, check=True)
        resolved = read_pins((tmp / "out.txt").read_text().splitlines())
    for pkg, version in direct.items():
        if resolved.get(pkg) != version:
            raise SystemExit(f"{name}: {pkg}=={version} resolved to {resolved.get(pkg)}")
    return [f"{pkg}=={version}" for pkg, version in sorted(resolved.items()) if pkg not in direct]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uv", default="uv", help="the uv executable (`make lock` passes its pinned one)")
    parser.add_argument("envs", nargs="*", type=Path, help="env files (default: envs/*.yaml)")
    args = parser.parse_args(argv)
    for path in args.envs or sorted((ROOT / "envs").glob("*.yaml")):
        env = EnvFile(path.read_text())
        pins = resolve(args.uv, env, path.name, read_pins(lock_of(path.name).read_text().splitlines()))
        path.write_text(env.with_locked(pins, env.python()))
        print(f"{path.name}: {len(env.direct())} direct pins, {len(pins)} locked", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
