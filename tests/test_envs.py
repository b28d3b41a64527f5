"""Conda env files are part of the product even where conda is not available.

Checks every envs/*.yaml (valid, conda-forge only, versions consistent with
requirements/) and that every rule present in rules/*.smk names an env file
that exists. `--use-conda` cannot run here, so this is what keeps the env
files honest.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENVS = sorted((ROOT / "envs").glob("*.yaml"))

#: (env file, package) -> why its version differs from requirements/, on purpose.
ALLOWED_DIFFERENCES = {
    ("vllm.yaml", "torch"): "vllm 0.33.0 pins torch==2.14.0",
    ("vllm.yaml", "transformers"): "vllm 0.33.0 needs transformers >=5.16.1,<5.21; llamafactory needs <=5.6.0",
}

_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9_.\-]*)(\[[^\]]*\])?\s*(.*?)\s*(?:#.*)?$")


def normalise(name: str) -> str:
    """PEP 503 name: case and the separators -, _ and . do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_spec(line: str) -> tuple[str, str] | None:
    """'pkg[extra]==1.0 # why' -> ('pkg', '==1.0'); None for blank lines, comments and options."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    m = _SPEC.match(line)
    if not m:
        raise ValueError(f"cannot parse requirement {line!r}")
    return normalise(m.group(1)), m.group(3).replace(" ", "")


def requirement_pins(paths) -> dict[str, str]:
    """Exact (==) pins of requirement files: name -> version."""
    pins = {}
    for path in paths:
        for line in path.read_text().splitlines():
            parsed = parse_spec(line)
            if parsed and parsed[1].startswith("=="):
                pins[parsed[0]] = parsed[1][2:]
    return pins


def env_specs(env: dict) -> dict[str, str]:
    """name -> version spec of every conda and pip dependency ('' when unpinned).

    Conda's single '=' (python=3.11) is read as an exact pin like pip's '=='.
    """
    specs = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep.get("pip", []):
                parsed = parse_spec(line)
                if parsed:
                    specs[parsed[0]] = parsed[1]
        else:
            name, spec = split_conda(dep)
            specs[name] = spec
    return specs


def split_conda(dep: str) -> tuple[str, str]:
    """'python=3.11' -> ('python', '==3.11'); conda's '=' is an exact pin."""
    m = re.match(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)\s*(.*)$", str(dep).strip())
    if not m:
        raise ValueError(f"cannot parse conda dependency {dep!r}")
    spec = m.group(2).replace(" ", "")
    if re.match(r"^=[^=]", spec):
        spec = "=" + spec
    return normalise(m.group(1)), spec


CPU_PINS = requirement_pins([ROOT / "requirements/cpu.txt", ROOT / "requirements/no-deps.txt"])


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_env_file_is_a_valid_conda_forge_env(path):
    env = yaml.safe_load(path.read_text())
    assert isinstance(env, dict), f"{path.name}: not a YAML mapping"
    assert set(env) <= {"name", "channels", "dependencies"}, f"{path.name}: unexpected keys {set(env)}"
    assert isinstance(env.get("name"), str) and env["name"].startswith("ded-"), f"{path.name}: name"
    assert env.get("channels") == ["conda-forge", "nodefaults"], f"{path.name}: channels must be conda-forge, nodefaults"
    deps = env.get("dependencies")
    assert isinstance(deps, list) and deps, f"{path.name}: dependencies"
    specs = env_specs(env)
    assert re.fullmatch(r"==3\.1[1-4]", specs.get("python", "")), f"{path.name}: python must be pinned (3.11-3.14)"
    if any(isinstance(d, dict) for d in deps):
        assert "pip" in specs, f"{path.name}: a pip: section needs `pip` among the conda dependencies"
        pip_lists = [d["pip"] for d in deps if isinstance(d, dict)]
        assert all(isinstance(p, list) and p for p in pip_lists), f"{path.name}: pip: must be a non-empty list"


def test_env_names_are_unique():
    names = [yaml.safe_load(p.read_text())["name"] for p in ENVS]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_versions_shared_with_requirements_match(path):
    """A package pinned in requirements/ is pinned to the same version wherever an env lists it."""
    specs = env_specs(yaml.safe_load(path.read_text()))
    for name, spec in specs.items():
        if name not in CPU_PINS or (path.name, name) in ALLOWED_DIFFERENCES:
            continue
        assert spec == f"=={CPU_PINS[name]}", (
            f"{path.name}: {name}{spec or ' (unpinned)'} but requirements/ pins {name}=={CPU_PINS[name]}; "
            f"pin the same version or add ({path.name!r}, {name!r}) to ALLOWED_DIFFERENCES with the reason")


def test_allowed_differences_are_real():
    """An allow-list entry whose env no longer differs is stale."""
    for (env_name, package), reason in ALLOWED_DIFFERENCES.items():
        specs = env_specs(yaml.safe_load((ROOT / "envs" / env_name).read_text()))
        assert package in specs, f"ALLOWED_DIFFERENCES: {env_name} does not list {package} ({reason})"
        assert specs[package] != f"=={CPU_PINS[package]}", f"ALLOWED_DIFFERENCES: {env_name} {package} matches now"


def test_engines_that_cannot_share_an_env_are_pinned_apart():
    vllm = env_specs(yaml.safe_load((ROOT / "envs/vllm.yaml").read_text()))
    train = env_specs(yaml.safe_load((ROOT / "envs/train.yaml").read_text()))
    assert vllm["vllm"] == "==0.33.0" and vllm["python"] == "==3.12"
    assert train["llamafactory"] == "==0.9.5" and train["deepspeed"] == "==0.19.8"
    assert train["transformers"] == "==5.6.0"  # llamafactory 0.9.5's ceiling
    assert "vllm" not in train and "llamafactory" not in vllm


# --- rules name their envs ---------------------------------------------------

_RULE = re.compile(r"^(?:rule|checkpoint)\s+(\w+)\s*:", re.M)
_CONDA = re.compile(r"^\s+conda:\s*\n\s+(?:f?)([\"'])(.+?)\1", re.M)


def rule_envs(smk_text: str) -> dict[str, str | None]:
    """rule name -> the env file its `conda:` names (None if it names none or not as a literal)."""
    starts = [(m.start(), m.group(1)) for m in _RULE.finditer(smk_text)]
    out = {}
    for i, (start, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(smk_text)
        block = smk_text[start:end]
        m = _CONDA.search(block)
        out[name] = m.group(2) if m else None
    return out


def test_rule_envs_parser():
    text = 'rule a:\n    output: "x"\n    conda:\n        "../envs/data.yaml"\n    shell: ""\n\n' \
           'checkpoint b:\n    output: "y"\n    shell: ""\n'
    assert rule_envs(text) == {"a": "../envs/data.yaml", "b": None}


SMK = sorted((ROOT / "rules").glob("*.smk"))


@pytest.mark.parametrize("smk", SMK, ids=[p.name for p in SMK])
def test_every_rule_names_an_existing_env(smk):
    for rule, env in rule_envs(smk.read_text()).items():
        assert env, f"{smk.name}: rule {rule} names no conda env (add `conda: \"../envs/<family>.yaml\"`)"
        assert (smk.parent / env).resolve().is_file(), f"{smk.name}: rule {rule}: conda env {env} does not exist"
