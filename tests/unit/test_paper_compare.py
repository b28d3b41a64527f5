"""This run against the paper's published values (ded/analysis/paper_compare.py, rule paper_comparison)."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ded.analysis import paper_compare as P
from ded.analysis.tables import NOT_RUN

ROOT = Path(__file__).resolve().parents[2]
DED = "trained/r1-distill-qwen-32b/qwq-32b/math-right_hard_diverse"


def _config(name: str) -> dict:
    from ded.settings import resolve_config

    cfg = yaml.safe_load((ROOT / name).read_text())
    resolve_config(cfg)  # the schema's defaults, as a run sees them
    return cfg


def _scores(rows) -> pd.DataFrame:
    return pd.DataFrame([dict(zip(("model", "benchmark", "metric", "value", "n"), r)) for r in rows])


def _entry(table=3, row="Right-Hard-Diverse", model=DED, benchmark="aime24", metric="pass@1", value=80.0, **kw):
    return dict(table=table, row=row, model=model, benchmark=benchmark, metric=metric, value=value,
                source=f"Table {table}, row '{row}'", **kw)


SCORES = _scores([
    (DED, "aime24", "pass@1", 0.75, 30),
    (DED, "aime24", "pass@1_std", 0.02, 16),
    ("base/r1-distill-qwen-32b", "aime24", "pass@1", 0.6, 30),
    (DED, "aime24", "mean_tokens", 9000.0, 480),
])


def test_values_and_differences_in_percentage_points():
    out = P.compare(SCORES, [_entry(value=81.5), _entry(row="base", model="base/r1-distill-qwen-32b", value=60.0),
                             _entry(row="length", metric="mean_tokens", value=9500, unit="raw")])
    assert list(out.columns) == list(P.COLUMNS) and P.applies(out)
    ded, base, length = (out.iloc[i] for i in range(3))
    assert ded["this run"] == pytest.approx(75.0) and ded["paper"] == 81.5
    assert ded["difference"] == pytest.approx(-6.5)
    assert base["difference"] == pytest.approx(0.0)
    # raw: a length in tokens is compared as it is, not x 100
    assert length["this run"] == pytest.approx(9000.0) and length["difference"] == pytest.approx(-500.0)
    assert ded["source"] == "Table 3, row 'Right-Hard-Diverse'" and ded["table"] == 3
    assert ded["differs"] == "none"  # no settings given: nothing is said to differ


def test_missing_rows_say_not_run():
    out = P.compare(SCORES, [_entry(benchmark="aime25"), _entry(model="trained/phi-4/qwq-32b/mixed"),
                             _entry(metric="pass@16")])
    assert list(out["this run"]) == [NOT_RUN] * 3 and list(out["difference"]) == [NOT_RUN] * 3
    assert list(out["paper"]) == [80.0] * 3  # the published value is still shown


@pytest.mark.parametrize("values", [None, []])
def test_no_published_values_does_not_apply(values, tmp_path):
    out = P.compare(SCORES, values)
    assert not P.applies(out) and len(out) == 1 and out.iloc[0]["table"] == P.NOT_APPLICABLE
    assert "paper_values" in out.iloc[0]["row"]
    scores = tmp_path / "scores.tsv"
    SCORES.to_csv(scores, sep="\t", index=False)
    P.run_paper_comparison(scores, values, {}, tmp_path / "c.csv", tmp_path / "c.md")
    md = (tmp_path / "c.md").read_text()
    assert "does not apply" in md and "|" not in md  # says so, and shows no table
    assert pd.read_csv(tmp_path / "c.csv").iloc[0]["table"] == P.NOT_APPLICABLE


def test_the_rows_differs_names_only_the_settings_that_bear_on_it():
    paper = _config("config/paper.yaml")
    run = copy.deepcopy(paper)
    run["sampling"]["samples_per_question"] = 4
    run["diversity"]["trajectories_per_question"] = 2
    run["benchmarks"]["aime24"]["samples"] = 4
    run["train"]["smoke"]["learning_rate"] = 2e-5
    run["models"]["phi-4"]["source"] = {"hub": "someone/phi-4-fork"}
    settings = {"run": P.decisive_settings(run), "paper": P.decisive_settings(paper)}
    entries = [_entry(), _entry(row="base", model="base/r1-distill-qwen-32b", value=60.0),
               _entry(row="base", model="base/phi-4", benchmark="math500", value=90.0),
               _entry(row="smoke", model="smoke/r1-distill-qwen-32b/qwq-32b", value=70.0)]
    out = P.compare(SCORES, entries, settings["run"], settings["paper"])
    ded, base, phi, smoke = (out.iloc[i]["differs"] for i in range(4))
    assert "sampling.samples_per_question: 4 (paper: 8)" in ded and "diversity.trajectories_per_question: 2 (paper: 4)" in ded
    assert "benchmarks.aime24.samples: 4 (paper: 16)" in ded and "train.smoke" not in ded
    assert base == "benchmarks.aime24.samples: 4 (paper: 16)"  # no corpus or training bears on a base student
    assert phi == "students.phi-4.model: someone/phi-4-fork (paper: microsoft/phi-4)"
    assert "train.smoke.learning_rate: 2e-05 (paper: 1e-05)" in smoke and "diversity.trajectories_per_question" not in smoke
    md = P.comparison_markdown(out, settings["run"], settings["paper"])
    assert md.count("\n- ") == 5  # every differing setting once, in the page's list


def test_paper_config_against_itself_differs_in_nothing():
    paper = P.decisive_settings(_config("config/paper.yaml"))
    assert P.setting_differences(paper, paper) == []
    assert paper["students.r1-distill-qwen-32b.model"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"
    assert paper["benchmarks.aime24.samples"] == 16 and paper["train.learning_rate"] == 1e-5
    assert paper["evaluation.out_of_domain.tasks.mmlu.num_fewshot"] == 5
    default = P.decisive_settings(_config("config/config.yaml"))
    differs = P.setting_differences(default, paper)
    assert "sampling.samples_per_question: 3 (paper: 8)" in differs
    assert "seeds.math.source: procedural (paper: s1k)" in differs
    assert "students.r1-distill-qwen-32b.model: unset (paper: deepseek-ai/DeepSeek-R1-Distill-Qwen-32B)" in differs


def test_paper_values_of_the_configs_validate_and_name_their_benchmarks():
    from ded.settings import resolve_config

    paper = _config("config/paper.yaml")
    P.check_paper_values(paper["paper_values"])
    assert P.unknown_benchmarks(paper["paper_values"], paper) == []
    for entry in paper["paper_values"]:
        assert entry["source"].startswith(f"Table {entry['table']}, row '{entry['row']}'"), entry
    assert _config("config/config.yaml")["paper_values"] == []  # the embedded default compares nothing
    # the schema's form of an entry, with a model fragment, a benchmark and an out-of-domain task
    probe = copy.deepcopy(paper)
    probe["paper_values"] = [_entry(), _entry(table=6, row="DS-32B", model="base/r1-distill-qwen-32b",
                                              benchmark="mmlu", metric="acc", value=80.0)]
    resolve_config(probe)
    assert probe["paper_values"][0]["unit"] == "percent"  # the default
    assert P.unknown_benchmarks(probe["paper_values"], probe) == []
    assert P.unknown_benchmarks([_entry(benchmark="aider")], probe) == ["aider"]
    for bad in (dict(model="trained/phi-4"), dict(source="Table 3"), dict(table=8), dict(unit="points")):
        wrong = copy.deepcopy(probe)
        wrong["paper_values"] = [{**_entry(), **bad}]
        with pytest.raises(Exception):
            resolve_config(wrong)


def test_bad_entries_are_named():
    with pytest.raises(P.PaperValuesError, match=r"paper_values\[0\].*model"):
        P.check_paper_values([_entry(model="student/x")])
    with pytest.raises(P.PaperValuesError, match="twice"):
        P.check_paper_values([_entry(), _entry()])


def test_written_files(tmp_path):
    scores = tmp_path / "scores.tsv"
    SCORES.to_csv(scores, sep="\t", index=False)
    frame = P.run_paper_comparison(scores, [_entry(value=81.87), _entry(benchmark="aime25")],
                                   {"run": {"diversity.trajectories_per_question": 2}, "paper": {"diversity.trajectories_per_question": 4}},
                                   tmp_path / "out/c.csv", tmp_path / "out/c.md")
    csv = pd.read_csv(tmp_path / "out/c.csv")
    assert list(csv.columns) == list(P.COLUMNS) and len(csv) == len(frame) == 2
    assert float(csv.iloc[0]["difference"]) == pytest.approx(75.0 - 81.87)  # CSV: full precision
    md = (tmp_path / "out/c.md").read_text()
    assert "-6.87" in md and "81.87" in md and NOT_RUN in md
    assert "- diversity.trajectories_per_question: 2 (paper: 4)" in md
