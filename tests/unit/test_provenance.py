"""Provenance of every job (ded/provenance.py, written by scripts/_common.py beside the rule's log)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace

from ded import provenance
from ded.data.sources import read_rows

ROOT = Path(__file__).resolve().parents[2]


class _Named(dict):
    """What Snakemake hands a script as wildcards and params: items() of named values."""


def test_workflow_commit_of_this_checkout():
    found = provenance.workflow_commit()
    if (ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", found["commit"]) and isinstance(found["dirty"], bool)
        assert found["describe"].startswith(found["commit"][:7])
    assert provenance.workflow_commit(Path("/")) == {"commit": None, "describe": None, "dirty": None}


def test_values_hash_ignores_key_order_and_sees_values():
    a = provenance.values_hash({"x": 1, "y": [1, 2]})
    assert a == provenance.values_hash({"y": [1, 2], "x": 1}) and a.startswith("sha256:")
    assert a != provenance.values_hash({"x": 2, "y": [1, 2]})


def test_a_local_dataset_is_recorded_with_its_content_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "_SOURCES", [])
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n')
    assert read_rows(str(path)) == [{"a": 1}]
    (source,) = provenance.noted_sources()
    assert source == {"kind": "dataset", "path": str(path), "sha256": provenance.file_sha256(path)}


def test_a_job_writes_its_provenance_beside_its_log(tmp_path, monkeypatch):
    from scripts._common import _write_provenance

    monkeypatch.setattr(provenance, "_SOURCES", [{"kind": "model", "source": "path", "path": "/m"}])
    for var in provenance.ALLOCATION_VARIABLES.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "4711")
    monkeypatch.setenv("SLURM_GPUS_ON_NODE", "2")
    job = SimpleNamespace(rule="load_seeds", wildcards=_Named(domain="math"),
                          params=_Named(spec={"source": "procedural", "n": 3}, domain="math"),
                          resources=_Named(gpu=2, _cores=1, mem_mb=1000))
    path = tmp_path / "logs/load_seeds/math.provenance.json"
    _write_provenance(job, path, logging.getLogger("test"))
    record = json.loads(path.read_text())
    # what the job asked for and what SLURM gave it
    assert record["allocation"] == {"asked": {"gpu": 2, "_cores": 1},
                                    "granted": {"slurm_job_id": "4711", "gpus_on_node": "2"}}
    assert record["rule"] == "load_seeds" and record["wildcards"] == {"domain": "math"}
    assert record["config_hash"] == provenance.values_hash({"spec": {"source": "procedural", "n": 3}, "domain": "math"})
    assert record["sources"] == [{"kind": "model", "source": "path", "path": "/m"}]
    assert "torch" in record["packages"] and record["python"]
    assert set(record["workflow"]) == {"commit", "describe", "dirty"}


def test_an_unreachable_hub_resolves_nothing(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert provenance.resolve_hub_revision("nobody/nothing", None, "dataset") is None
