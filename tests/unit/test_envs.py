"""Conda env files are part of the product even where conda is not available.

Checks every envs/*.yaml (valid, conda-forge only, every dependency pinned,
versions consistent with requirements/), that every rule present in
rules/*.smk names an env file that exists, and that the env installs the
packages its rules' scripts import (a static reading of the imports).
`--use-conda` cannot run here, so this is what keeps the env files honest.
Also that the lock files agree with the direct pins: requirements/cpu.lock
holds every pin of requirements/cpu.txt, and each env's locked pip packages
(scripts/lock_envs.py) are at the lock's versions; `make lock` rewrites both.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

from ded.evaluate.aider import SERVING_ENVS
from ded.evaluate.lm_eval_suite import OOD_ENVS, ood_env

ROOT = Path(__file__).resolve().parents[2]
ENVS = sorted((ROOT / "envs").glob("*.yaml"))

#: (env file, package) -> why its version differs from requirements/, on purpose.
ALLOWED_DIFFERENCES = {
    ("vllm.yaml", "torch"): "vllm 0.33.0 pins torch==2.14.0",
    ("vllm.yaml", "transformers"): "vllm 0.33.0 needs transformers >=5.16.1,<5.21; llamafactory needs <=5.6.0",
    ("evaluate_vllm.yaml", "torch"): "vllm 0.33.0 pins torch==2.14.0",
    ("evaluate_vllm.yaml", "transformers"): "vllm 0.33.0 needs transformers >=5.16.1,<5.21",
    ("train.yaml", "pandas"): "llamafactory 0.9.5 requires gradio<=5.50.0, which requires pandas<3",
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
    pins = direct_pins(path.name)
    for name, spec in specs.items():
        if name not in pins or (path.name, name) in ALLOWED_DIFFERENCES:
            continue
        assert spec == f"=={pins[name]}", (
            f"{path.name}: {name}{spec or ' (unpinned)'} but requirements/ pins {name}=={pins[name]}; "
            f"pin the same version or add ({path.name!r}, {name!r}) to ALLOWED_DIFFERENCES with the reason")


def direct_pins(env_name: str) -> dict[str, str]:
    """The hand-written pins an env follows: requirements/cpu.txt and no-deps.txt, or for an env with a lock of its
    own (lock_envs.ENV_LOCKS) the .txt that lock is resolved from."""
    if env_name in lock_envs.ENV_LOCKS:
        return requirement_pins([lock_envs.ENV_LOCKS[env_name].with_suffix(".txt")])
    return CPU_PINS


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

_RULE = re.compile(r"^[ \t]*(?:rule|checkpoint)\s+(\w+)\s*:", re.M)  # indented: a rule inside an `if`
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


#: Rules whose `conda:` is computed from the config (not a literal): the env files it can name.
COMPUTED_ENVS = {"ood_eval": ("ood_conda_env()", ["../" + path for path in OOD_ENVS.values()]),
                 "aider_eval": ("aider_conda_env()", ["../" + path for path in SERVING_ENVS.values()])}


def rule_env_files(smk_text: str) -> dict[str, list[str]]:
    """rule name -> every env file its `conda:` can name: the literal, or COMPUTED_ENVS' list for a rule
    whose `conda:` is that call."""
    out = {}
    for rule, env in rule_envs(smk_text).items():
        if env:
            out[rule] = [env]
        elif rule in COMPUTED_ENVS and re.search(
                rf"^\s+conda:\s*\n\s+{re.escape(COMPUTED_ENVS[rule][0])}\s*$", _rule_block(smk_text, rule), re.M):
            out[rule] = COMPUTED_ENVS[rule][1]
        else:
            out[rule] = []
    return out


def _rule_block(smk_text: str, rule: str) -> str:
    starts = [(m.start(), m.group(1)) for m in _RULE.finditer(smk_text)]
    for i, (start, name) in enumerate(starts):
        if name == rule:
            return smk_text[start:starts[i + 1][0] if i + 1 < len(starts) else len(smk_text)]
    return ""


def test_rule_envs_parser():
    text = 'rule a:\n    output: "x"\n    conda:\n        "../envs/data.yaml"\n    shell: ""\n\n' \
           'checkpoint b:\n    output: "y"\n    shell: ""\n'
    assert rule_envs(text) == {"a": "../envs/data.yaml", "b": None}


SMK = sorted((ROOT / "rules").glob("*.smk"))


@pytest.mark.parametrize("smk", SMK, ids=[p.name for p in SMK])
def test_every_rule_names_an_existing_env(smk):
    for rule, envs in rule_env_files(smk.read_text()).items():
        assert envs, f"{smk.name}: rule {rule} names no conda env (add `conda: \"../envs/<family>.yaml\"`)"
        for env in envs:
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: rule {rule}: conda env {env} does not exist"


def test_ood_eval_env_follows_the_model_type():
    """lm-eval's vllm model needs vllm: ood_eval runs in the env that holds it beside lm-eval."""
    assert rule_env_files((ROOT / "rules/evaluate.smk").read_text())["ood_eval"] == [
        "../envs/evaluate.yaml", "../envs/evaluate_vllm.yaml"]
    for model_type, needs_vllm in (("hf", False), ("vllm", True)):
        specs = env_specs(yaml.safe_load((ROOT / ood_env({"model_type": model_type})).read_text()))
        assert "lm-eval" in specs and ("vllm" in specs) == needs_vllm, model_type
    for config, env in (("config/config.yaml", "envs/evaluate.yaml"), ("config/paper.yaml", "envs/evaluate_vllm.yaml")):
        assert ood_env(yaml.safe_load((ROOT / config).read_text())["evaluation"]["out_of_domain"]) == env, config
    assert ood_env({}) == "envs/evaluate.yaml"  # the schema default, hf
    evaluate = env_specs(yaml.safe_load((ROOT / "envs/evaluate.yaml").read_text()))
    vllm = env_specs(yaml.safe_load((ROOT / "envs/vllm.yaml").read_text()))
    both = env_specs(yaml.safe_load((ROOT / "envs/evaluate_vllm.yaml").read_text()))
    assert both["lm-eval"] == evaluate["lm-eval"]
    assert {k: both[k] for k in ("vllm", "torch", "transformers", "python")} == {
        k: vllm[k] for k in ("vllm", "torch", "transformers", "python")}
    # lm-eval's minerva_math asserts antlr4-python3-runtime 4.11 when its tasks load.
    assert both["antlr4-python3-runtime"].startswith("==4.11")


# --- every dependency is pinned ------------------------------------------------

#: Dependencies an env may leave unpinned, with the reason.
UNPINNED_OK = {"pip": "the installer of the pip: section; its version changes no installed package"}

_EXACT = re.compile(r"^==[A-Za-z0-9_.+!]+$")


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_every_env_dependency_is_pinned(path):
    for name, spec in env_specs(yaml.safe_load(path.read_text())).items():
        if name in UNPINNED_OK:
            continue
        assert _EXACT.match(spec), (f"{path.name}: {name}{spec or ' (unpinned)'}: pin one exact version "
                                    f"(conda: {name}=X.Y, pip: {name}==X.Y), with a comment when it has a reason")


@pytest.mark.parametrize("path", sorted((ROOT / "requirements").glob("*.txt")), ids=lambda p: p.name)
def test_every_requirement_is_pinned(path):
    for line in path.read_text().splitlines():
        parsed = parse_spec(line)
        if parsed:
            assert _EXACT.match(parsed[1]), f"{path.name}: {line.strip()!r} is not pinned to one version"


# --- each env holds what its rules' scripts import -------------------------------------

_SCRIPT = re.compile(r"^\s+script:\s*\n\s+([\"'])(.+?)\1", re.M)
_STDLIB = set(sys.stdlib_module_names) | {"__future__"}
_OURS = {"ded", "scripts", "snakemake"}  # snakemake: the object Snakemake injects, never imported by name


def rule_scripts(smk_text: str) -> dict[str, str | None]:
    """rule name -> the script its `script:` names (None for a rule without one)."""
    starts = [(m.start(), m.group(1)) for m in _RULE.finditer(smk_text)]
    out = {}
    for i, (start, name) in enumerate(starts):
        block = smk_text[start:starts[i + 1][0] if i + 1 < len(starts) else len(smk_text)]
        m = _SCRIPT.search(block)
        out[name] = m.group(2) if m else None
    return out


def _module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, everywhere: bool) -> set[str]:
    """Absolute module names `path` imports: every import when `everywhere`, else only those run on import
    (module level, inside top-level if/try), since the heavy packages are imported inside the functions that
    need them (DESIGN.md) and are the env's own business, said in its comments."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = package[: -len(".__init__")] if path.name == "__init__.py" else package.rpartition(".")[0]
    nodes = ast.walk(tree) if everywhere else (
        sub for top in tree.body if isinstance(top, (ast.Import, ast.ImportFrom, ast.If, ast.Try))
        for sub in ast.walk(top))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            names.add(base)
            names |= {f"{base}.{a.name}" for a in node.names}  # `from pkg import module`
    return names


def script_packages(script: Path) -> set[str]:
    """Top-level third-party packages a script needs to start: its own imports and, through the project's
    modules it imports, theirs (module level)."""
    seen, todo, packages = set(), [(script, True)], set()
    while todo:
        path, everywhere = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path, everywhere):
            top = name.split(".")[0]
            if top in _STDLIB:
                continue
            if top not in _OURS:
                packages.add(top)
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # a module and the packages above it all run
                found = _module_file(".".join(parts[:i]))
                if found:
                    todo.append((found, False))
    return packages


def _provided(env_specs_: dict[str, str]) -> set[str]:
    """Distributions an env installs: those it lists and, as far as this interpreter's installed metadata
    tells, what they require (numpy through pandas, huggingface-hub through transformers)."""
    provided, todo = set(), list(env_specs_)
    while todo:
        name = todo.pop()
        if name in provided:
            continue
        provided.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here (vllm): its own pins are spelled out in the env
        todo += [normalise(re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0]) for r in requires if "extra ==" not in r]
    return provided


def _distribution(module: str) -> str:
    dists = importlib.metadata.packages_distributions().get(module)
    return normalise(dists[0]) if dists else normalise(module)


def test_script_packages_follow_project_modules():
    assert "yaml" in script_packages(ROOT / "scripts/train_student.py")  # through ded.train.arguments
    assert "pandas" in script_packages(ROOT / "scripts/collect_scores.py")
    assert "torch" not in script_packages(ROOT / "scripts/train_student.py")  # imported inside functions


@pytest.mark.parametrize("smk", SMK, ids=[p.name for p in SMK])
def test_each_env_holds_what_its_rules_scripts_import(smk):
    envs, scripts = rule_env_files(smk.read_text()), rule_scripts(smk.read_text())
    for rule, script in scripts.items():
        if not script:
            continue
        for env in envs.get(rule, []):
            env_file = (smk.parent / env).resolve()
            provided = _provided(env_specs(yaml.safe_load(env_file.read_text())))
            for module in sorted(script_packages((smk.parent / script).resolve())):
                assert _distribution(module) in provided, (
                    f"{smk.name}: rule {rule} runs {script}, which imports {module} "
                    f"({_distribution(module)}), but {env_file.name} does not install it")


def test_data_env_ships_every_packaged_model():
    """prepare_model converts a GGUF file found inside an installed package: its env must install it."""
    env_file = (ROOT / "rules" / rule_envs((ROOT / "rules/data.smk").read_text())["prepare_model"]).resolve()
    specs = env_specs(yaml.safe_load(env_file.read_text()))
    for config in ("config/config.yaml", "config/paper.yaml"):
        for name, model in yaml.safe_load((ROOT / config).read_text())["models"].items():
            package = (model.get("source") or {}).get("gguf_package")
            if package:
                assert normalise(package) in specs, (
                    f"{config}: models.{name} converts the GGUF file of package {package}, "
                    f"which {env_file.name} (prepare_model's env) does not install")


# --- the lock files agree with the direct pins -----------------------------------

CPU_LOCK = ROOT / "requirements/cpu.lock"
LOCK_PINS = requirement_pins([CPU_LOCK])

_spec = importlib.util.spec_from_file_location("lock_envs", ROOT / "scripts/lock_envs.py")
lock_envs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock_envs)


def test_cpu_lock_names_its_refresh_command():
    head = CPU_LOCK.read_text().splitlines()[:3]
    assert any("make lock" in line for line in head), "requirements/cpu.lock: its header names `make lock`"


def test_cpu_lock_pins_every_package():
    for line in CPU_LOCK.read_text().splitlines():
        parsed = parse_spec(line)
        if parsed:
            assert _EXACT.match(parsed[1]), f"cpu.lock: {line.strip()!r} is not pinned to one version"


def test_cpu_lock_holds_every_direct_pin():
    """The lock is requirements/cpu.txt resolved: each direct pin is in it at its version (torch as the
    CPU build, +cpu). A failure here means cpu.txt changed without `make lock`."""
    for name, version in requirement_pins([ROOT / "requirements/cpu.txt"]).items():
        expected = version if name != "torch" or "+" in version else f"{version}+cpu"
        assert LOCK_PINS.get(name) == expected, (
            f"requirements/cpu.txt pins {name}=={version} but cpu.lock has {LOCK_PINS.get(name)}: run `make lock`")


def test_cpu_lock_is_the_cpu_build_without_the_no_deps_packages():
    assert LOCK_PINS["torch"].endswith("+cpu")
    cuda = sorted(n for n in LOCK_PINS if n.startswith(("nvidia-", "cuda-")) or n == "triton")
    assert not cuda, f"cpu.lock holds CUDA packages {cuda}: torch was resolved as PyPI's CUDA build"
    for name in requirement_pins([ROOT / "requirements/no-deps.txt"]):
        assert name not in LOCK_PINS, f"{name} is installed with --no-deps (no-deps.txt), not from the lock"


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_env_pip_section_is_locked(path):
    env = lock_envs.EnvFile(path.read_text())
    direct = {parse_spec(item)[0] for item in env.direct() if parse_spec(item)}
    locked = [parse_spec(item) for item in env.locked()]
    assert locked, f"{path.name}: no locked pip packages below {lock_envs.LOCK_MARK!r}: run `make lock`"
    assert not direct & {name for name, _ in locked}, f"{path.name}: a package both pinned and locked"


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_env_packages_follow_the_cpu_lock(path):
    """A package an env installs with pip is at its lock's version (cpu.lock; an env of lock_envs.ENV_LOCKS its
    own), unless said otherwise with the reason."""
    lock = lock_envs.lock_of(path.name)
    pins = requirement_pins([lock])
    for name, spec in env_specs(yaml.safe_load(path.read_text())).items():
        if (name not in pins or lock_envs.released(path.name, name)
                or (path.name, name) in ALLOWED_DIFFERENCES):
            continue
        assert spec == f"=={lock_envs.public(pins[name])}", (
            f"{path.name}: {name}{spec} but requirements/{lock.name} has {pins[name]}: run `make lock`, "
            f"or add ({path.name!r}, {name!r}) to RELEASED in scripts/lock_envs.py with the reason")


def test_the_aider_env_is_the_aider_venv():
    """envs/aider.yaml (--use-conda) installs what requirements/aider.lock (.venv-aider) does, to the version."""
    specs = env_specs(yaml.safe_load((ROOT / "envs/aider.yaml").read_text()))
    lock = requirement_pins([ROOT / "requirements/aider.lock"])
    assert {n: s.lstrip("=") for n, s in specs.items() if n not in ("python", "pip")} == lock


def test_released_packages_differ_from_the_lock():
    """An entry of lock_envs.RELEASED whose env follows the lock again is stale."""
    for (env_name, package), reason in lock_envs.RELEASED.items():
        if package == "*":
            assert (ROOT / "envs" / env_name).is_file(), f"RELEASED: no envs/{env_name} ({reason})"
            continue
        specs = env_specs(yaml.safe_load((ROOT / "envs" / env_name).read_text()))
        assert package in specs, f"RELEASED: {env_name} does not install {package} ({reason})"
        assert specs[package] != f"=={lock_envs.public(LOCK_PINS[package])}", f"RELEASED: {env_name} {package} matches now"


def test_lock_envs_rewrites_only_the_locked_part():
    text = ("name: ded-x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n  - llm=0.27.1\n"
            "  - pip:\n      # why\n      - a==1.0\n")
    env = lock_envs.EnvFile(text)
    assert env.direct() == ["a==1.0"] and env.locked() == []
    assert env.python() == "3.11" and env.conda_packages() == ["llm"]
    once = env.with_locked(["b==2.0"], "3.11")
    assert once.startswith(text) and once.endswith("      - b==2.0\n")
    again = lock_envs.EnvFile(once)
    assert again.direct() == ["a==1.0"] and again.locked() == ["b==2.0"]
    assert again.with_locked(["b==2.0"], "3.11") == once
