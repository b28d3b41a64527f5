"""Conda env files are part of the product even where conda is not available."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    out = {}
    for line in lines:
        m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)==([^\s#;]+)", line)
        if m:
            out[m.group(1).lower().split("[")[0]] = m.group(2)
    return out


def test_env_files_are_valid_and_match_the_cpu_pins():
    cpu = _pins((ROOT / "requirements/cpu.txt").read_text().splitlines())
    envs = sorted((ROOT / "envs").glob("*.yaml"))
    assert envs
    for path in envs:
        env = yaml.safe_load(path.read_text())
        assert env["name"] and "conda-forge" in env["channels"], path
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
        for name, version in _pins(pip).items():
            if name in cpu:
                assert version == cpu[name], f"{path.name}: {name}=={version} but requirements/cpu.txt pins {cpu[name]}"


def test_every_rule_names_an_existing_env():
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        text = smk.read_text()
        rules = re.findall(r"^(?:rule|checkpoint) (\w+):", text, flags=re.M)
        blocks = re.split(r"^(?:rule|checkpoint) \w+:", text, flags=re.M)[1:]
        for name, block in zip(rules, blocks):
            m = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            assert m, f"{smk.name}: rule {name} names no conda env"
            assert (smk.parent / m.group(1)).resolve().exists(), f"{smk.name}: rule {name}: {m.group(1)} missing"
