"""Settings resolved once (ded/settings.py): the schema's defaults filled everywhere, bad keys named."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from ded.config import ConfigError
from ded.settings import (
    assemble_schema,
    load_schema,
    resolve_config,
    resolve_section,
    schema_default,
    section_schema,
)

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_resolution_fills_what_snakemake_validate_fills(configfile, tmp_path):
    """The Snakefile used Snakemake's `validate`; resolve_config leaves the rules the same config.

    Snakemake's validate follows the section files' `$ref`s but fills only the defaults written next to a
    key, not behind a `$ref` (an absent section stays absent), so it reads the assembled schema, one file,
    as the schema was before the split."""
    from snakemake.utils import validate

    single = tmp_path / "schema.json"
    single.write_text(json.dumps(load_schema()))
    before = _load(configfile)
    validate(before, str(single))
    after = resolve_config(_load(configfile))
    assert after == before
    # in sorted key order (the next test says why), the same at every level
    assert json.dumps(after) == json.dumps(before, sort_keys=True)


def test_schema_is_assembled_from_one_file_per_section():
    """config/schema.yaml holds a `$ref` per section to config/schema/<section>.yaml; load_schema inlines
    them, and keeps shared definitions as references into the root's `$defs`."""
    root = yaml.safe_load((ROOT / "config/schema.yaml").read_text())
    schema = load_schema()
    assert list(schema["properties"]) == list(root["properties"])
    for name, ref in root["properties"].items():
        assert ref == {"$ref": f"schema/{name}.yaml"}
        part = yaml.safe_load((ROOT / "config/schema" / f"{name}.yaml").read_text())
        part.pop("$schema")
        assert part.keys() == schema["properties"][name].keys()
        assert part["description"] == schema["properties"][name]["description"]
    for configfile in ("config/config.yaml", "config/paper.yaml"):
        assert set(_load(configfile)) <= set(schema["properties"])
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(schema))
    assert refs and all(ref.startswith("#/$defs/") for ref in refs)  # no file left to read
    assert schema["properties"]["models"]["additionalProperties"]["properties"]["source"] == {
        "$ref": "#/$defs/model_source"}
    defs = yaml.safe_load((ROOT / "config/schema/defs.yaml").read_text())["$defs"]
    assert schema["$defs"] == defs


def test_assembly_follows_refs_relative_to_the_referencing_file(tmp_path):
    (tmp_path / "parts" / "deep").mkdir(parents=True)
    (tmp_path / "root.yaml").write_text(
        "type: object\nproperties:\n  a: {$ref: parts/a.yaml}\n  b: {$ref: '#/$defs/local'}\n"
        "$defs:\n  local: {type: integer, default: 3}\n")
    (tmp_path / "parts" / "a.yaml").write_text(
        "$schema: x\ntype: object\nproperties:\n  c: {$ref: deep/c.yaml}\n  d: {$ref: 'defs.yaml#/$defs/d'}\n"
        "  e: {$ref: '../root.yaml#/$defs/local'}\n")
    (tmp_path / "parts" / "deep" / "c.yaml").write_text("type: string\ndefault: x\n")
    (tmp_path / "parts" / "defs.yaml").write_text("$defs:\n  d: {type: boolean, default: true}\n")
    schema = load_schema(tmp_path / "root.yaml")
    assert schema["properties"]["a"] == {"type": "object", "properties": {
        "c": {"type": "string", "default": "x"}, "d": {"$ref": "#/$defs/d"}, "e": {"$ref": "#/$defs/local"}}}
    assert schema["$defs"] == {"local": {"type": "integer", "default": 3}, "d": {"type": "boolean", "default": True}}
    assert resolve_config({"a": {}}, tmp_path / "root.yaml") == {"a": {"c": "x"}}  # a default next to its key
    with pytest.raises(ConfigError, match=r"a\.d: 1 is not of type 'boolean'"):
        resolve_config({"a": {"d": 1}}, tmp_path / "root.yaml")
    (tmp_path / "parts" / "deep" / "c.yaml").write_text("$ref: ../a.yaml\n")
    with pytest.raises(ConfigError, match="refers back"):
        assemble_schema(tmp_path / "root.yaml")


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


def test_a_renamed_key_is_named_with_its_new_name():
    config = _load("config/config.yaml")
    config["diversity"]["keep"] = config["diversity"].pop("trajectories_per_question")
    with pytest.raises(ConfigError, match=r"diversity\.keep is now called diversity\.trajectories_per_question"):
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


def _reversed_keys(node):
    """The same config with every mapping's keys written in reverse order."""
    if isinstance(node, dict):
        return {k: _reversed_keys(v) for k, v in reversed(list(node.items()))}
    if isinstance(node, list):
        return [_reversed_keys(v) for v in node]
    return node


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_the_order_a_config_writes_its_keys_in_changes_nothing(configfile):
    # Snakemake keeps a --configfile's key order, and the seeds' order reaches rule inputs and corpora:
    # resolved, the two configs must be the same to the last byte, order included.
    written = resolve_config(_load(configfile))
    reordered = resolve_config(_reversed_keys(_load(configfile)))
    assert list(_load(configfile)["seeds"]) != list(_reversed_keys(_load(configfile))["seeds"])  # reordered
    assert json.dumps(written) == json.dumps(reordered)
