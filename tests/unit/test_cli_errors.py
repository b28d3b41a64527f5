"""Every bad input to `python -m ded` ends in one line naming the file, line and field.

Each case runs the real command line in a subprocess: exit status 2, a single
line on stderr, no traceback; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ded.errors import DedError, describe
from ded.io import (
    RecordError,
    index_by,
    iter_stream,
    read_index,
    read_records,
    read_yaml,
)

ROOT = Path(__file__).resolve().parents[2]


def problem(pid: str, gold: str = "2", **kw) -> dict:
    return {"id": pid, "domain": "math", "source": "t", "prompt": f"What is {pid}?", "gold": gold,
            "gold_kind": "math", **kw}


def sample(qid: str, sid: int = 0, answer: str = "2") -> dict:
    text = f"<think>r</think>\\boxed{{{answer}}}"
    return {"question_id": qid, "sample_id": sid, "model": "m", "raw_text": text, "text": text,
            "reasoning": "r", "answer": f"\\boxed{{{answer}}}"}


def jsonl(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def ded(cwd: Path, *args: str, stdin: bytes | str = b"") -> subprocess.CompletedProcess:
    """`python -m ded ARGS` in `cwd`, so messages name files as given."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([sys.executable, "-m", "ded", *args], cwd=cwd, input=data, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one line a failed command wrote; fails the test on a traceback or several lines."""
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "problems.jsonl").write_text(jsonl(problem("a"), problem("b", "3")))
    (tmp_path / "samples.jsonl").write_text(jsonl(sample("a"), sample("b", answer="4")))
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "folder.jsonl").mkdir()
    return tmp_path


# ----------------------------------------------------------------------------- missing, empty, folder


@pytest.mark.parametrize("args", [
    ["data", "seeds", "--domain", "math", "--source", "s1k", "--path", "nosuch.jsonl"],
    ["filter", "samples", "--samples", "nosuch.jsonl", "--problems", "problems.jsonl"],
    ["select", "teacher", "--student", "s", "--metric", "b/pass@1", "--scores", "nosuch.jsonl"],
    ["evaluate", "score", "--samples", "samples.jsonl", "--verdicts", "nosuch.jsonl", "--problems",
     "problems.jsonl", "--model", "m", "--benchmark", "b", "--out", "o.tsv"],
    ["sample", "--problems", "nosuch.jsonl", "--out", "o.jsonl", "--backend", "hf"],
    ["evaluate", "lm-eval-rows", "nosuch.jsonl", "--model", "m", "--out", "o.tsv"],
])
def test_missing_file_is_named(files, args):
    line = error_line(ded(files, *args))
    assert line.startswith(f"ded {args[0]}") and "nosuch.jsonl" in line and "not found" in line


@pytest.mark.parametrize("args", [
    ["data", "seeds", "--domain", "math", "--source", "s1k", "--path", "{}"],
    ["filter", "samples", "--samples", "{}", "--problems", "problems.jsonl"],
    ["evaluate", "collect", "{}", "--out", "o.tsv"],
])
def test_folder_instead_of_file_is_named(files, args):
    line = error_line(ded(files, *[a.format("folder.jsonl") for a in args]))
    assert "folder.jsonl" in line and "directory" in line


@pytest.mark.parametrize("args, expected", [
    (["data", "seeds", "--domain", "math", "--source", "s1k", "--path", "empty.jsonl"], "no rows"),
    (["evaluate", "score", "--samples", "empty.jsonl", "--verdicts", "empty.jsonl", "--problems", "problems.jsonl",
      "--model", "m", "--benchmark", "b", "--out", "o.tsv"], "is empty"),
])
def test_empty_file_is_named(files, args, expected):
    line = error_line(ded(files, *args))
    assert "empty.jsonl" in line and expected in line


# ----------------------------------------------------------------------------- malformed lines


def test_seed_lines_name_file_line_and_field(files):
    seeds = files / "seeds.jsonl"
    seeds.write_text(jsonl({"question": "1+1?"}, "", "[1, 2]"))
    cmd = ["data", "seeds", "--domain", "math", "--source", "s1k", "--path", "seeds.jsonl"]
    assert error_line(ded(files, *cmd)) == "ded data seeds: error: seeds.jsonl, line 3: expected a JSON object, got list"
    seeds.write_text(jsonl({"question": "1+1?"}, {"question": 7}))
    assert "seeds.jsonl, line 2: field 'question': expected str, got int" in error_line(ded(files, *cmd))
    seeds.write_text(jsonl({"question": "1+1?"}, {"solution": "2"}))
    assert "seeds.jsonl, line 2: field 'question/problem': missing required field" in error_line(ded(files, *cmd))
    seeds.write_text(jsonl({"question": "1+1?"}, "{not json"))
    assert "seeds.jsonl, line 2: not valid JSON" in error_line(ded(files, *cmd))


def test_codeforces_fields_of_the_wrong_type(files):
    row = {"id": "1A", "description": "Add.", "official_tests": [{"input": "1 2\n", "output": "3\n"}]}
    (files / "cf.jsonl").write_text(jsonl(row, {**row, "id": "2A", "official_tests": "1 2 -> 3"},
                                          {**row, "id": "3A", "time_limit": "2 seconds"}))
    line = error_line(ded(files, "data", "seeds", "--domain", "code", "--source", "codeforces", "--path", "cf.jsonl"))
    assert "cf.jsonl, line 2: field 'official_tests': expected a list of {input, output}, got str" in line


def test_json_array_seed_file_names_the_record(files):
    (files / "seeds.json").write_text(json.dumps([{"question": "1+1?"}, 3]))
    line = error_line(ded(files, "data", "seeds", "--domain", "math", "--source", "s1k", "--path", "seeds.json"))
    assert "seeds.json, record 2: expected a JSON object, got int" in line


def test_stdin_lines_name_line_and_field(files):
    good = {"id": "1", "gold": "2", "response": "x"}
    line = error_line(ded(files, "filter", "math", stdin=jsonl(good, "[1]")))
    assert line.startswith("ded filter math: error: stdin, line 2:") and "expected a JSON object, got list" in line
    line = error_line(ded(files, "filter", "math", stdin=jsonl(good, {"id": "2", "response": "x"})))
    assert "stdin, line 2: field 'gold': missing required field" in line
    line = error_line(ded(files, "filter", "code", stdin=jsonl({"id": "1", "tests": [{"input": 1}], "response": "x"})))
    assert "stdin, line 1: field 'tests'" in line
    line = error_line(ded(files, "select", "pass-rates", stdin="3\n"))
    assert "<stdin>, line 1" in line and "got int" in line


def test_nested_field_of_a_problem_is_named(files):
    (files / "code.jsonl").write_text(jsonl(problem("c", None, gold_kind="tests", domain="code",
                                                    tests=[{"input": "1\n", "output": 1}])))
    (files / "s.jsonl").write_text(jsonl(sample("c")))
    line = error_line(ded(files, "filter", "samples", "--samples", "s.jsonl", "--problems", "code.jsonl"))
    assert "code.jsonl, line 1: field 'tests[0].output': expected str, got int" in line


def test_sample_of_an_unknown_question_is_named(files):
    (files / "s.jsonl").write_text(jsonl(sample("a"), sample("zz")))
    line = error_line(ded(files, "filter", "samples", "--samples", "s.jsonl", "--problems", "problems.jsonl"))
    assert "s.jsonl, line 2: field 'question_id': 'zz' is not in problems.jsonl" in line


def test_bad_yaml_names_file_and_line(files):
    (files / "teacher.yaml").write_text("backend: hf\ntemperature: [0.6\n")
    line = error_line(ded(files, "sample", "--problems", "problems.jsonl", "--out", "o.jsonl",
                          "--teacher-spec", "teacher.yaml"))
    assert "teacher.yaml, line 3: not valid YAML" in line


# ----------------------------------------------------------------------------- invalid UTF-8


def test_invalid_utf8_names_the_line(files):
    (files / "seeds.jsonl").write_bytes(b'{"question": "1+1?"}\n{"question": "caf\xe9"}\n')
    line = error_line(ded(files, "data", "seeds", "--domain", "math", "--source", "s1k", "--path", "seeds.jsonl"))
    assert "seeds.jsonl, line 2: not valid UTF-8 (byte 0xe9 at column 18)" in line
    (files / "s.jsonl").write_bytes(json.dumps(sample("a")).encode() + b"\n\xff\n")
    line = error_line(ded(files, "filter", "samples", "--samples", "s.jsonl", "--problems", "problems.jsonl"))
    assert "s.jsonl, line 2: not valid UTF-8 (byte 0xff at column 1)" in line
    line = error_line(ded(files, "filter", "math", stdin=b'{"id": "1", "gold": "2", "response": "\xc3("}\n'))
    assert "stdin, line 1: not valid UTF-8 (byte 0xc3" in line
    (files / "scores.tsv").write_bytes(b"model\tbenchmark\tmetric\tvalue\tn\nsmoke/s/t\tb\tpass@1\t0.5\t\xff\n")
    line = error_line(ded(files, "select", "teacher", "--student", "s", "--metric", "b/pass@1", "--scores",
                          "scores.tsv"))
    assert "scores.tsv, line 2: not valid UTF-8" in line


# ----------------------------------------------------------------------------- duplicate ids


def test_one_id_with_two_golds_names_both_lines(files):
    line = error_line(ded(files, "filter", "math", stdin=jsonl({"id": "q", "gold": "2", "response": "\\boxed{2}"},
                                                                {"id": "q", "gold": "3", "response": "\\boxed{3}"})))
    assert line == "ded filter math: error: stdin, line 2: field 'id': 'q' is also on line 1, with a different gold"
    (files / "dup.jsonl").write_text(jsonl(problem("a"), problem("b"), problem("a", "5")))
    for args in (["filter", "samples", "--samples", "samples.jsonl", "--problems", "dup.jsonl"],
                 ["evaluate", "score", "--samples", "samples.jsonl", "--verdicts", "samples.jsonl", "--problems",
                  "dup.jsonl", "--model", "m", "--benchmark", "b", "--out", "o.tsv"],
                 ["data", "decontaminate", "--seeds", "dup.jsonl", "--benchmarks", "problems.jsonl"]):
        assert "dup.jsonl, line 3: field 'id': 'a' is also on line 1, with a different gold" in error_line(
            ded(files, *args))


def test_identical_duplicates_are_collapsed(files):
    (files / "twice.jsonl").write_text(jsonl(problem("a"), problem("b", "3"), problem("a")))
    proc = ded(files, "filter", "samples", "--samples", "samples.jsonl", "--problems", "twice.jsonl", "--workers", "1")
    assert proc.returncode == 0, proc.stderr.decode()
    assert [json.loads(v)["verdict"] for v in proc.stdout.decode().splitlines()] == ["correct", "wrong"]


# ----------------------------------------------------------------------------- options, --debug


@pytest.mark.parametrize("args, expected", [
    (["data", "seeds", "--domain", "math", "--source", "procedural", "--n", "many"],
     "ded data seeds: error: argument --n: invalid int value: 'many'"),
    (["filter", "math", "--workers", "0"], "ded filter math: error: argument --workers: must be at least 1, got 0"),
    (["select", "teacher", "--student", "s", "--metric", "pass@1"], "argument --metric: 'pass@1': expected BENCHMARK/"),
    (["data", "seeds", "--domain", "math", "--source", "s1k"], "--source s1k reads a file or dataset"),
])
def test_bad_option_value_is_one_line(files, args, expected):
    assert expected in error_line(ded(files, *args))


def test_debug_shows_the_traceback(files):
    proc = ded(files, "--debug", "filter", "samples", "--samples", "nosuch.jsonl", "--problems", "problems.jsonl")
    err = proc.stderr.decode()
    assert proc.returncode != 0 and "Traceback" in err and "RecordError: nosuch.jsonl: file not found" in err


# ----------------------------------------------------------------------------- the library underneath


def test_every_error_class_derives_from_ded_error():
    from ded.analysis.modeling import AnalysisError
    from ded.analysis.tables import TableInputError
    from ded.config import ConfigError
    from ded.data.sources import DataSourceError
    from ded.evaluate.metrics import ScoringError
    from ded.filter.mathcheck import GoldError
    from ded.plan.estimate import PlanError
    from ded.sample.base import GenerationError
    from ded.sample.prompts import TeacherSpecError
    from ded.select.common import SelectionError
    from ded.train.arguments import TrainConfigError
    from ded.train.run import TrainError
    from ded.weights import ModelSourceError

    classes = [RecordError, ScoringError, ConfigError, TrainConfigError, TrainError, PlanError, DataSourceError,
               GenerationError, TeacherSpecError, GoldError, ModelSourceError, AnalysisError, TableInputError,
               SelectionError]
    assert all(issubclass(c, DedError) for c in classes)
    assert issubclass(RecordError, ValueError) and issubclass(TrainError, RuntimeError)


def test_describe_names_paths_and_leaves_bugs_alone():
    assert describe(FileNotFoundError(2, "No such file or directory", "x.jsonl")) == "x.jsonl: file not found"
    assert describe(RecordError("p.jsonl", 3, "gold", "bad\nvalue")) == "p.jsonl, line 3: field 'gold': bad; value"
    assert describe(KeyError("id")) is None and describe(TypeError("x")) is None


def test_index_by_collapses_equal_records_and_names_both_lines_of_different_ones(tmp_path):
    a, b = {"id": "a", "gold": "1"}, {"id": "b", "gold": "2"}
    assert index_by([(1, a), (2, b), (5, dict(a))], "id", "f.jsonl") == {"a": a, "b": b}
    with pytest.raises(RecordError) as err:
        index_by([(1, a), (2, b), (5, {"id": "a", "gold": "3", "extra": 1})], "id", "f.jsonl")
    assert (err.value.line, err.value.field) == (5, "id")
    assert str(err.value) == "f.jsonl, line 5: field 'id': 'a' is also on line 1, with a different extra, gold"
    path = tmp_path / "p.jsonl"
    path.write_text(jsonl(problem("a"), problem("a")))
    assert list(read_index(path, "problem")) == ["a"]


def test_readers_decode_each_line_strictly(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(json.dumps(problem("a")).encode() + b"\n" + b'{"id": "\xe2\x82"}\n')
    with pytest.raises(RecordError) as err:
        read_records(path, "problem")
    assert err.value.line == 2 and "not valid UTF-8 (byte 0xe2 at column 9)" in str(err.value)
    assert [n for n, _ in iter_stream([b'{"a": 1}\n', b"\n", "{\"b\": 2}\n"])] == [1, 3]


def test_read_yaml_names_file_line_and_missing_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb: : 2\n")
    with pytest.raises(RecordError, match=r"c.yaml, line 2: not valid YAML"):
        read_yaml(path)
    with pytest.raises(RecordError, match="file not found"):
        read_yaml(tmp_path / "nosuch.yaml")
