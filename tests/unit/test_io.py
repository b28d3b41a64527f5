import json

import pytest

from ded.io import AppendLog, RecordError, read_records, write_records
from ded.records import PROBLEM


def _problem(**kw):
    rec = {"id": "p1", "domain": "math", "source": "t", "prompt": "1+1?", "gold": "2", "gold_kind": "math"}
    rec.update(kw)
    return rec


def test_roundtrip(tmp_path):
    path = tmp_path / "p.jsonl"
    write_records(path, [_problem(), _problem(id="p2")], PROBLEM)
    assert [r["id"] for r in read_records(path, PROBLEM)] == ["p1", "p2"]


def test_malformed_json_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_problem()) + "\n{not json\n")
    with pytest.raises(RecordError) as err:
        read_records(path, PROBLEM)
    assert err.value.line == 2 and str(path) in str(err.value) and "not valid JSON" in str(err.value)


def test_missing_field_named(tmp_path):
    path = tmp_path / "missing.jsonl"
    rec = _problem()
    del rec["gold_kind"]
    path.write_text(json.dumps(_problem()) + "\n" + json.dumps(rec) + "\n")
    with pytest.raises(RecordError) as err:
        read_records(path, PROBLEM)
    assert (err.value.line, err.value.field) == (2, "gold_kind")
    assert "missing required field" in str(err.value)


def test_wrong_type_and_choice_named(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(_problem(domain="poetry")) + "\n")
    with pytest.raises(RecordError) as err:
        read_records(path, PROBLEM)
    assert err.value.field == "domain" and "poetry" in str(err.value)
    path.write_text(json.dumps(_problem(gold=True)) + "\n")
    with pytest.raises(RecordError) as err:
        read_records(path, PROBLEM)
    assert err.value.field == "gold" and "bool" in str(err.value)


def test_empty_file_rejected_when_required(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    assert read_records(path, PROBLEM) == []
    with pytest.raises(RecordError, match="is empty"):
        read_records(path, PROBLEM, allow_empty=False)


def test_missing_file(tmp_path):
    with pytest.raises(RecordError, match="file not found"):
        read_records(tmp_path / "nope.jsonl")


def test_write_is_atomic_on_failure(tmp_path):
    path = tmp_path / "out.jsonl"
    write_records(path, [_problem()], PROBLEM)
    with pytest.raises(RecordError):
        write_records(path, [_problem(), {"id": 3}], PROBLEM)
    assert [r["id"] for r in read_records(path)] == ["p1"]  # old content intact
    assert list(tmp_path.glob(".out.jsonl.*")) == []


def test_append_log_repairs_torn_tail_and_never_duplicates(tmp_path):
    path = tmp_path / "progress.jsonl"
    with AppendLog(path, key=lambda r: r["k"]) as log:
        log.append([{"k": 1}, {"k": 2}])
    with path.open("a") as fh:
        fh.write('{"k": 3, "tor')  # killed mid-write
    log = AppendLog(path, key=lambda r: r["k"])
    assert log.keys() == {1, 2}
    log.append([{"k": 2}, {"k": 3}])  # a duplicate is ignored on read
    log.close()
    assert [r["k"] for r in log.records()] == [1, 2, 3]


def test_bad_record_after_blank_lines_names_its_file_line(tmp_path):
    path = tmp_path / "gaps.jsonl"
    rec = _problem()
    del rec["prompt"]
    path.write_text("\n" + json.dumps(_problem()) + "\n\n  \n" + json.dumps(rec) + "\n")
    with pytest.raises(RecordError) as err:
        read_records(path, PROBLEM)
    assert (err.value.line, err.value.field) == (5, "prompt") and f"{path}, line 5" in str(err.value)


def test_record_error_names_a_position_where_there_are_no_lines():
    err = RecordError("rows.parquet", None, "question", "missing required field", record=7)
    assert str(err) == "rows.parquet, record 7: field 'question': missing required field"
    assert str(RecordError("f.jsonl", 3, None, "bad")) == "f.jsonl, line 3: bad"
