"""LiveCodeBench: releases, the contest-date window, the errata, per-difficulty scores and table columns.

Small fixture rows only; the hub is replaced by local files."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ded.analysis import tables as T
from ded.config import ConfigError, check_benchmark_windows
from ded.data import livecodebench as lcb
from ded.data.benchmarks import (
    difficulty_counts,
    load_benchmark,
    load_benchmark_excluded,
    select_livecodebench,
)
from ded.data.seeds import reason_counts
from ded.data.sources import DataSourceError, Rows
from ded.evaluate.metrics import score_benchmark
from ded.io import RecordError, validate_records

ROOT = Path(__file__).resolve().parents[2]
WINDOW = {"start_date": "2025-02-01", "end_date": "2025-05-31"}


def _row(qid, date, difficulty="easy", title=None):
    return {"question_title": title or f"Problem {qid}", "question_content": f"Solve problem {qid}.",
            "platform": "atcoder", "question_id": qid, "contest_id": qid.split("_")[0], "contest_date": date,
            "starter_code": "", "difficulty": difficulty,
            "public_test_cases": json.dumps([{"input": "1\n", "output": "1\n", "testtype": "stdin"}]),
            "private_test_cases": "[]", "metadata": "{}"}


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _spec(path, **extra):
    return {"loader": "livecodebench", "path": path, **extra}


# ---------------------------------------------------------------- the window


def test_window_keeps_both_end_days(tmp_path):
    rows = [_row("abc390_a", "2025-01-31T23:59:00"), _row("abc391_a", "2025-02-01T00:00:00"),
            _row("abc400_b", "2025-05-31T18:30:00", "hard"), _row("abc401_c", "2025-06-01T00:00:00"),
            _row("abc395_d", "2025-03-15", "medium")]
    recs, excluded = load_benchmark_excluded("lcb", _spec(_write(tmp_path / "lcb.jsonl", rows), **WINDOW))
    validate_records(recs, "problem")
    validate_records(excluded, "excluded")
    assert [r["meta"]["source_id"] for r in recs] == ["abc391_a", "abc400_b", "abc395_d"]
    assert excluded == [{"id": "abc390_a", "reason": "contest_date before start_date 2025-02-01"},
                        {"id": "abc401_c", "reason": "contest_date after end_date 2025-05-31"}]
    assert reason_counts(excluded) == ("1 contest_date before start_date 2025-02-01; "
                                       "1 contest_date after end_date 2025-05-31")
    assert difficulty_counts(recs) == {"easy": 1, "medium": 1, "hard": 1}


def test_open_ended_window_and_no_window(tmp_path):
    path = _write(tmp_path / "lcb.jsonl", [_row("a_1", "2024-01-01T00:00:00"), _row("a_2", "2025-03-01T00:00:00")])
    assert [r["meta"]["source_id"] for r in load_benchmark("lcb", _spec(path, start_date="2025-01-01"))] == ["a_2"]
    assert [r["meta"]["source_id"] for r in load_benchmark("lcb", _spec(path, end_date="2024-12-31"))] == ["a_1"]
    assert len(load_benchmark("lcb", _spec(path, start_date=None, end_date=None))) == 2


@pytest.mark.parametrize("value, message", [
    (None, "missing"), ("", "missing"), ("Feb 2025", "not an ISO date"), (20250201, "expected an ISO date"),
])
def test_bad_contest_date_names_the_file_and_row(tmp_path, value, message):
    bad = _row("abc392_b", "x")
    bad["contest_date"] = value
    path = _write(tmp_path / "lcb.jsonl", [_row("abc391_a", "2025-02-02T00:00:00"), bad])
    with pytest.raises(RecordError, match=message) as err:
        load_benchmark("lcb", _spec(path, **WINDOW))
    assert err.value.field == "contest_date" and err.value.line == 2 and "lcb.jsonl" in str(err.value)


def test_contest_date_of_a_parquet_row_is_a_timestamp(tmp_path):
    rows = [_row("a_1", "2025-02-10T00:00:00"), _row("a_2", "2024-02-10T00:00:00")]
    frame = pd.DataFrame(rows)
    frame["contest_date"] = pd.to_datetime(frame["contest_date"])
    frame.to_parquet(tmp_path / "lcb.parquet")
    recs = load_benchmark("lcb", _spec(str(tmp_path / "lcb.parquet"), **WINDOW))
    assert [r["meta"]["source_id"] for r in recs] == ["a_1"]


def test_missing_contest_date_without_a_window_is_kept(tmp_path):
    row = _row("a_1", None)
    del row["contest_date"]
    assert len(load_benchmark("lcb", _spec(_write(tmp_path / "lcb.jsonl", [row])))) == 1


def test_empty_window_is_an_error_naming_the_source(tmp_path):
    path = _write(tmp_path / "lcb.jsonl", [_row("a_1", "2024-01-01T00:00:00")])
    with pytest.raises(DataSourceError, match=r"lcb\.jsonl: no LiveCodeBench problem left \(1 contest_date before"):
        load_benchmark("lcb", _spec(path, **WINDOW))


# ---------------------------------------------------------------- errata and exclude


def test_errata_are_excluded_with_their_reason(tmp_path):
    rows = [_row("abc337_e", "2024-01-20T00:00:00"), _row("3000", "2024-02-01T00:00:00", title="find-the-peaks"),
            _row("abc340_a", "2024-02-10T00:00:00")]
    path = _write(tmp_path / "lcb.jsonl", rows)
    recs, excluded = load_benchmark_excluded("lcb", _spec(path))
    assert [r["meta"]["source_id"] for r in recs] == ["abc340_a"]
    assert excluded == [{"id": "abc337_e", "reason": dict(lcb.ERRATA)["abc337_e"]},
                        {"id": "find-the-peaks", "reason": dict(lcb.ERRATA)["find-the-peaks"]}]
    assert "interactive" in excluded[0]["reason"] and "several outputs" in excluded[1]["reason"]
    # errata: false keeps them; exclude adds problems with the config's reason
    recs, excluded = load_benchmark_excluded("lcb", _spec(path, errata=False,
                                                          exclude=[{"id": "abc340_a", "reason": "broken checker"}]))
    assert [r["meta"]["source_id"] for r in recs] == ["abc337_e", "3000"]
    assert excluded == [{"id": "abc340_a", "reason": "excluded by the config: broken checker"}]


def test_errata_copy_lcb_errata_md():
    ids = [i for i, _ in lcb.ERRATA]
    assert len(ids) == len(set(ids)) == 17
    assert {"abc311_c", "abc355_e", "arc189_a", "most-frequent-ids"} <= set(ids)


def test_window_is_checked_before_errata_and_tests(tmp_path):
    # an out-of-window row is left out for the window, its undecodable tests never read
    old = _row("abc337_e", "2024-01-20T00:00:00")
    old["private_test_cases"] = "not base64 at all"
    rows = Rows([old, _row("abc391_a", "2025-02-02T00:00:00")], "fixture.jsonl")
    recs, excluded = select_livecodebench(rows, "lcb", lcb.DateWindow.from_spec(WINDOW, "w"), dict(lcb.ERRATA))
    assert len(recs) == 1 and excluded == [{"id": "abc337_e", "reason": "contest_date before start_date 2025-02-01"}]


# ---------------------------------------------------------------- config checks


@pytest.mark.parametrize("spec, message", [
    ({"loader": "livecodebench", "start_date": "2025-06-01", "end_date": "2025-02-01"}, "is after end_date"),
    ({"loader": "livecodebench", "start_date": "2025-02-30"}, "not an ISO date"),
    ({"loader": "livecodebench", "exclude": [{"id": "x"}]}, r"exclude\[1\]: expected \{id, reason\}"),
    ({"loader": "aime", "start_date": "2025-02-01"}, "applies to the livecodebench loader only"),
])
def test_config_checks_name_the_key(spec, message):
    with pytest.raises(ConfigError, match=message) as err:
        check_benchmark_windows({"benchmarks": {"lcb": spec}})
    assert "config: benchmarks.lcb" in str(err.value)


def test_load_benchmark_rejects_a_window_on_another_loader(tmp_path):
    path = _write(tmp_path / "aime.jsonl", [{"problem": "1+1?", "answer": "2"}])
    with pytest.raises(ConfigError, match="livecodebench loader only"):
        load_benchmark("aime24", {"loader": "aime", "path": path, "end_date": "2025-01-01"})


def test_paper_config_evaluates_the_feb_may_2025_window():
    from ded.settings import resolve_config

    cfg = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    resolve_config(cfg)
    spec = cfg["benchmarks"]["livecodebench"]
    assert (spec["subset"], spec["start_date"], spec["end_date"], spec["errata"]) == (
        "release_v6", "2025-02-01", "2025-05-31", True)
    check_benchmark_windows(cfg)
    # a window written as an unquoted YAML date is not a string: the schema refuses it
    cfg["benchmarks"]["livecodebench"]["start_date"] = yaml.safe_load("2025-02-01")
    with pytest.raises(Exception, match="is not of type"):
        resolve_config(cfg)


# ---------------------------------------------------------------- releases on the hub


def test_release_files_follow_the_loading_script():
    assert lcb.release_files("release_v1") == ["test.jsonl"]
    assert lcb.release_files("release_v6") == ["test.jsonl"] + [f"test{k}.jsonl" for k in range(2, 7)]
    assert lcb.release_files("v6") == ["test6.jsonl"]
    assert lcb.release_files("v1") == ["test.jsonl"]
    assert lcb.release_files("v4_v6") == ["test4.jsonl", "test5.jsonl", "test6.jsonl"]
    assert lcb.release_files("release_latest") is None and lcb.release_files(None) is None
    assert lcb.latest_files(["README.md", "test2.jsonl", "test.jsonl", "test10.jsonl", "code.py"]) == [
        "test.jsonl", "test2.jsonl", "test10.jsonl"]
    for bad in ("release_5", "v6_v4", "latest"):
        with pytest.raises(ConfigError):
            lcb.release_files(bad)


def test_hub_release_reads_each_file_of_the_release(tmp_path, monkeypatch):
    import huggingface_hub

    import ded.provenance as provenance

    files = {"test5.jsonl": [_row("abc385_a", "2024-12-28T00:00:00")],
             "test6.jsonl": [_row("abc391_a", "2025-02-01T00:00:00"), _row("abc402_a", "2025-04-26T00:00:00", "hard")]}
    for name, rows in files.items():
        _write(tmp_path / name, rows)
    asked = []

    def download(repo_id, filename, repo_type, revision):
        asked.append((repo_id, filename, repo_type, revision))
        if filename not in files:
            raise FileNotFoundError(filename)
        return str(tmp_path / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setattr(provenance, "resolve_hub_revision", lambda repo, rev, kind: "c0ffee")
    recs, excluded = load_benchmark_excluded("lcb", _spec(lcb.HUB_DATASET, subset="v5_v6", **WINDOW))
    assert [a[1] for a in asked] == ["test5.jsonl", "test6.jsonl"]
    assert {a[3] for a in asked} == {"c0ffee"} and {a[2] for a in asked} == {"dataset"}
    assert [r["meta"]["source_id"] for r in recs] == ["abc391_a", "abc402_a"]
    assert excluded == [{"id": "abc385_a", "reason": "contest_date before start_date 2025-02-01"}]
    hub = [s for s in provenance.noted_sources() if s.get("hub") == lcb.HUB_DATASET][-1]
    assert hub["files"] == ["test5.jsonl", "test6.jsonl"] and hub["resolved_revision"] == "c0ffee"
    # a file the release needs but the hub lacks, a split the dataset does not have, a tag it does not know
    with pytest.raises(DataSourceError, match="could not download test.jsonl"):
        load_benchmark("lcb", _spec(lcb.HUB_DATASET, subset="release_v6"))
    with pytest.raises(ConfigError, match=r"benchmarks\.lcb\.split"):
        load_benchmark("lcb", _spec(lcb.HUB_DATASET, subset="v6", split="train"))
    with pytest.raises(ConfigError, match=r"benchmarks\.lcb\.subset: .*release_vN"):
        load_benchmark("lcb", _spec(lcb.HUB_DATASET, subset="release_5"))


# ---------------------------------------------------------------- scores and tables


def test_window_problems_scored_per_difficulty(tmp_path):
    rows = [_row("a_1", "2025-02-02", "easy"), _row("a_2", "2025-02-03", "easy"), _row("a_3", "2025-03-01", "hard"),
            _row("a_0", "2024-03-01", "medium")]
    problems = load_benchmark("livecodebench", _spec(_write(tmp_path / "lcb.jsonl", rows), **WINDOW))
    samples, verdicts = [], []
    for p, correct in zip(problems, ([True, False], [True, True], [False, False])):
        for k, ok in enumerate(correct):
            samples.append({"question_id": p["id"], "sample_id": k, "model": "base/m"})
            verdicts.append({"question_id": p["id"], "sample_id": k, "verdict": "correct" if ok else "wrong",
                             "keep": ok})
    got = {(r["benchmark"], r["metric"]): (r["value"], r["n"])
           for r in score_benchmark(samples, verdicts, problems, "base/m", "livecodebench")}
    assert got[("livecodebench", "pass@1")] == (pytest.approx(0.5), 3)
    assert got[("livecodebench:easy", "pass@1")] == (0.75, 2)
    assert got[("livecodebench:hard", "pass@1")] == (0.0, 1)
    assert ("livecodebench:medium", "pass@1") not in got  # its one problem is out of the window


def _code_scores():
    rows = []
    for model, acc in (("base/qwen", 0.2), ("trained/qwen/qwq/code-right_hard_diverse", 0.4),
                       ("trained/qwen/qwq/code-full", 0.3)):
        rows.append((model, "livecodebench", "pass@1", acc, 3))
        rows.append((model, "livecodebench", "mean_tokens", 9000, 48))
        for d, delta, n in (("hard", -0.2, 1), ("easy", 0.2, 1), ("medium", 0.0, 1)):
            rows.append((model, f"livecodebench:{d}", "pass@1", acc + delta, n))
        rows.append((model, "aime24", "pass@1", acc, 30))
    return pd.DataFrame(rows, columns=["model", "benchmark", "metric", "value", "n"])


def test_tables_4_and_5_show_difficulty_columns_outside_the_average():
    settings = {"benchmarks": ["aime24", "livecodebench"], "by_difficulty": ["livecodebench"]}
    t4 = T.table4_code_stages(_code_scores(), None, settings)
    cols = [c for c in t4.columns if c.startswith("livecodebench:")]
    assert cols == ["livecodebench:easy pass@1 (%)", "livecodebench:medium pass@1 (%)",
                    "livecodebench:hard pass@1 (%)"]
    ded = t4[t4["corpus"] == "code-right_hard_diverse"].iloc[0]
    assert ded["livecodebench:easy pass@1 (%)"] == pytest.approx(60.0)
    assert ded["avg pass@1 (%)"] == pytest.approx(40.0)  # the mean of aime24 and livecodebench only
    assert (t4[t4["corpus"] == "code-right"]["livecodebench:hard pass@1 (%)"] == T.NOT_RUN).all()
    t5 = T.table5_domains(_code_scores(), None, settings)
    base = t5[t5["training data"] == "none (base)"].iloc[0]
    assert base["livecodebench:hard pass@1 (%)"] == pytest.approx(0.0, abs=1e-9)
    code = t5[t5["training data"] == "code"].iloc[0]
    assert code["livecodebench:medium pass@1 (%)"] == pytest.approx(40.0)
    # without by_difficulty (and in Table 3) the tables are as before
    assert not any(":" in c for c in T.table4_code_stages(_code_scores(), None, {**settings, "by_difficulty": None}))
    assert not any(":" in c for c in T.table3_math_stages(_code_scores(), None, settings))


def test_cli_loads_a_window_and_names_what_it_left_out(tmp_path):
    import subprocess
    import sys

    path = _write(tmp_path / "lcb.jsonl", [_row("abc337_e", "2025-02-02T00:00:00"), _row("abc391_a", "2025-02-03"),
                                           _row("abc401_a", "2025-06-03")])
    proc = subprocess.run([sys.executable, "-m", "ded", "data", "benchmark", "--name", "lcb", "--loader",
                           "livecodebench", "--path", path, "--start-date", "2025-02-01", "--end-date", "2025-05-31"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert [json.loads(line)["meta"]["source_id"] for line in proc.stdout.splitlines()] == ["abc391_a"]
    assert "excluded abc337_e: LiveCodeBench errata: interactive" in proc.stderr
    assert "excluded abc401_a: contest_date after end_date 2025-05-31" in proc.stderr
