"""ded/jobs.py's per-job settings: what each rule hands its jobs, read from the resolved config."""

import copy

import pytest
import yaml
from support.workflow import ROOT

from ded import jobs
from ded.settings import resolve_config


@pytest.fixture(scope="module")
def config() -> dict:
    return resolve_config(yaml.safe_load((ROOT / "config/config.yaml").read_text()))


def test_only_the_variants_that_compress_read_the_threshold(config):
    cfg = copy.deepcopy(config)
    before = {c: jobs.corpus_settings(cfg, c) for c in jobs.corpora(cfg)}
    cfg["compression"]["threshold"] = 0.25
    after = {c: jobs.corpus_settings(cfg, c) for c in jobs.corpora(cfg)}
    changed = {c.split("-", 1)[-1] for c in before if before[c] != after[c]}
    assert changed == {"right_hard", "right_hard_diverse", "longest", "shortest"} & set(config["corpora"]["variants"])
    assert all(after[c].get("threshold") in (None, 0.25) for c in after)


def test_the_ded_corpus_gets_p_and_the_diversity_measure(config):
    settings = jobs.corpus_settings(config, "math-right_hard_diverse")
    assert settings == {"threshold": config["compression"]["threshold"],
                        "per_question": config["diversity"]["trajectories_per_question"],
                        "unit": config["diversity"]["unit"], "exact_limit": config["diversity"]["exact_limit"],
                        "tokenizer": config["diversity"]["tokenizer"]}
    assert jobs.corpus_settings(config, "mixed") == {"seed": config["corpora"]["seed"]}
    assert jobs.corpus_settings(config, "code-full") == {}


def test_a_benchmark_source_leaves_out_what_its_loader_does_not_read(config):
    cfg = copy.deepcopy(config)
    name = next(iter(cfg["benchmarks"]))
    cfg["benchmarks"][name].update(start_date="2025-02-01", revision=None)
    source = jobs.benchmark_source(cfg, name)
    assert "start_date" not in source and "revision" not in source  # not livecodebench; null revision
    assert source["loader"] == cfg["benchmarks"][name]["loader"]


def test_the_judge_settings_split_what_it_answers_from_how_it_is_called(config):
    cfg = copy.deepcopy(config)
    cfg["filter"]["judge"] = {"model": "j", "backend": "openai", "concurrency": 4, "timeout_s": 30}
    assert jobs.filter_settings(cfg)["judge"] == {"model": "j", "backend": "openai"}
    assert jobs.judge_run_settings(cfg) == {"concurrency": 4, "timeout_s": 30}
    assert "judge" not in jobs.filter_settings(cfg, jobs.VERIFY_KEYS)
