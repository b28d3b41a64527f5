"""`--config` on top of the embedded default or a --configfile, with typed nested values."""

import json
import subprocess
import sys

import pytest
import yaml
from support.workflow import ROOT, dry_run, job_counts, offline_env, planned_jobs

from ded.overrides import typed_overrides, yaml_scalar

#: Loads the workflow through Snakemake's API with --config parsed as the command line parses it, and
#: prints what rules see: the config, and build_corpus's `settings` param of a DED corpus.
PARAMS = """
import json, sys
from pathlib import Path
from types import SimpleNamespace
from snakemake.api import SnakemakeApi
from snakemake.cli import parse_config
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    workflow = api.workflow(resource_settings=ResourceSettings(cores=1),
                            config_settings=ConfigSettings(config=parse_config(sys.argv[1:])),
                            snakefile=Path("Snakefile"), workdir=Path("."))._workflow
    settings = workflow.get_rule("build_corpus").params.settings(SimpleNamespace(corpus="math-right_hard_diverse"))
    print("RESULT " + json.dumps({"config": workflow.config, "settings": settings}))
"""


def _planned(proc: subprocess.CompletedProcess, rule: str, key: str) -> set[str]:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {w[key] for r, w in planned_jobs(proc.stdout) if r == rule}


def test_override_merges_onto_the_embedded_default(workflow_copy, tmp_path):
    proc = dry_run(workflow_copy, "--config", 'compression={"samples": 2}', env=offline_env(tmp_path))
    assert _planned(proc, "sample_teacher", "teacher") == {"terse", "verbose"}
    assert job_counts(proc.stdout)["select_teacher"] == 1


def test_nested_numbers_and_booleans_reach_the_rules_typed(workflow_copy):
    proc = subprocess.run(
        [sys.executable, "-c", PARAMS, 'compression={"threshold": 0.3}',
         'evaluation={"models": {"teachers": true}}', 'teacher_selection={"pinned": null}'],
        cwd=workflow_copy, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    seen = json.loads(proc.stdout.split("RESULT ", 1)[1])
    config, settings = seen["config"], seen["settings"]
    assert settings["threshold"] == 0.3 and isinstance(settings["threshold"], float)
    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    # Deep-merged: the keys next to an overridden one keep the default's values.
    assert config["compression"]["samples"] == default["compression"]["samples"]
    assert config["evaluation"]["models"] == {**default["evaluation"]["models"], "teachers": True}
    assert config["teacher_selection"]["pinned"] is None


def test_override_on_a_configfile_keeps_the_default_out(workflow_copy, tmp_path):
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    proc = dry_run(workflow_copy, "--configfile", "config/paper.yaml",
                    "--config", 'compression={"threshold": 0.3}', env=offline_env(tmp_path))
    sampled = _planned(proc, "sample_teacher", "teacher") | _planned(proc, "sample_teacher_api", "teacher")
    assert sampled == set(paper["teachers"])
    assert _planned(proc, "train_smoke", "student") == set(paper["students"])


def test_misspelled_override_is_named(workflow_copy):
    proc = dry_run(workflow_copy, "--config", 'compression={"treshold": 0.3}')
    assert proc.returncode != 0
    assert "'treshold' was unexpected" in proc.stdout + proc.stderr


@pytest.mark.parametrize("text, value", [
    ("0.3", 0.3), ("2", 2), ("1.0e-5", 1.0e-5), ("true", True), ("false", False), ("null", None), ("~", None),
    # Strings stay strings, including what YAML would read as a comment, a mapping or a date.
    ("hf", "hf"), ("# x", "# x"), ("a: b", "a: b"), ("[1]", "[1]"), ("2024-01-01", "2024-01-01"), ("", ""),
])
def test_yaml_scalar(text, value):
    assert yaml_scalar(text) == value and type(yaml_scalar(text)) is type(value)


def test_typed_overrides_leave_top_level_values_as_snakemake_typed_them():
    overrides = {"name": "true", "n": 3, "section": {"x": "0.5", "xs": ["1", "b"], "deep": {"on": "false"}}}
    assert typed_overrides(overrides) == {"name": "true", "n": 3,
                                          "section": {"x": 0.5, "xs": [1, "b"], "deep": {"on": False}}}
