"""Settings resolved once (ded/settings.py): the schema's defaults filled everywhere, bad keys named."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ded.config import ConfigError
from ded.settings import resolve_config, resolve_section, schema_default, section_schema

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_resolution_fills_what_snakemake_validate_fills(configfile):
    """The Snakefile used Snakemake's `validate`; resolve_config leaves the rules the same config."""
    from snakemake.utils import validate

    before = _load(configfile)
    validate(before, str(ROOT / "config/schema.yaml"))
    after = resolve_config(_load(configfile))
    assert after == before
    assert list(after) == list(before)  # same key order too: params keep their repr


def test_defaults_reach_every_entry_and_nulls_are_filled():
    config = resolve_config(_load("config/paper.yaml"))
    for spec in config["teachers"].values():
        assert spec["max_retries"] == schema_default("teachers.*.max_retries")
        assert "timeout_s" in spec and spec["timeout_s"] is None  # a null default is filled too
        assert spec["corpus_fields"]["split"] == "train"  # a filled default is filled in turn
    for spec in config["models"].values():
        assert spec["source"]["dtype"] == "float32"  # through a $ref
    judge = config["filter"]["judge"]
    assert judge["decides"] == schema_default("filter.judge.decides")  # inside a oneOf branch


def test_unknown_and_mistyped_keys_are_named():
    config = _load("config/config.yaml")
    config["compression"]["treshold"] = 0.3
    with pytest.raises(ConfigError, match=r"compression: .*'treshold' was unexpected"):
        resolve_config(config)
    config = _load("config/config.yaml")
    config["seeds"]["math"]["n"] = "many"
    with pytest.raises(ConfigError, match=r"seeds\.math\.n: 'many' is not of type"):
        resolve_config(config)


def test_a_section_resolves_without_touching_the_callers_dict():
    given = {"learning_rate": 2e-5}
    train = resolve_section(given, "train", check=False)
    assert given == {"learning_rate": 2e-5}
    assert train["learning_rate"] == 2e-5 and train["smoke"]["cutoff_len"] == schema_default("train.smoke.cutoff_len")
    with pytest.raises(ConfigError, match=r"teachers\.t: .*'temprature' was unexpected"):
        resolve_section({"model": "m", "temprature": 0.5}, "teachers.*", where="teachers.t")
    assert section_schema("filter.judge.decides")["type"] == "array"  # a key inside a oneOf branch
    with pytest.raises(KeyError):
        schema_default("plan.no_such_key")


def test_resolving_twice_changes_nothing():
    once = resolve_config(_load("config/paper.yaml"))
    assert resolve_config(copy.deepcopy(once)) == once
