"""Reading and writing the workflow's files.

- `read_records` validates every line against a schema and fails with file,
  line and field named; a line that is not UTF-8 or not JSON is named too.
- `read_index` / `index_by` key records by id; one id with two different
  records is an error naming both lines.
- `write_records` / `atomic_path` write a declared output in one rename, so a
  killed job never leaves a half-written output behind.
- `AppendLog` is the resumable progress file of long jobs: appended line by
  line, a torn last line repaired on reopen, kept outside declared outputs.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from .errors import DedError
from .records import SCHEMAS, Schema


class RecordError(DedError, ValueError):
    """A record in a file breaks its schema; the message names file, line and field.

    `record` (1-based) names a row of a source without lines (a JSON array, a
    parquet file, a hub dataset) when `line` is None.
    """

    def __init__(self, path: str | os.PathLike, line: int | None, field: str | None, message: str,
                 record: int | None = None):
        self.path, self.line, self.field, self.record = str(path), line, field, record
        where = f"{path}" + (f", line {line}" if line is not None else f", record {record}" if record else "")
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")


def _schema(schema: Schema | str | None) -> Schema | None:
    return SCHEMAS[schema] if isinstance(schema, str) else schema


def decode_text(data: bytes, where: str, first_line: int = 1) -> str:
    """Bytes as text, decoded strictly: a bad byte fails naming its line and column, where a
    lenient decode would hand on replacement characters and a text-mode read fails unnamed."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        raise RecordError(where, first_line + data.count(b"\n", 0, exc.start), None,
                          f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at column {exc.start - line_start + 1})"
                          ) from None


def decode_line(raw: bytes | str, where: str, lineno: int) -> str:
    """One line of a text or byte stream as text."""
    return raw if isinstance(raw, str) else decode_text(raw, where, lineno)


def parse_line(line: str, where: str, lineno: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(where, lineno, None, f"not valid JSON ({exc.msg} at column {exc.colno})") from None


def check_record(record: Any, schema: Schema, where: str, lineno: int) -> None:
    problems = schema.problems(record)
    if problems:
        field, message = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise RecordError(where, lineno, field, f"{message} in a {schema.name} record{more}")


def iter_stream(fh: IO[str] | IO[bytes], schema: Schema | str | None = None,
                where: str = "<stdin>") -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank JSONL line of an open stream, validated against `schema`.

    Give a byte stream (`sys.stdin.buffer`, a file opened "rb") so that invalid
    UTF-8 is reported with its line; a text stream would fail inside the read.
    """
    schema = _schema(schema)
    for lineno, raw in enumerate(fh, start=1):
        line = decode_line(raw, where, lineno)
        if not line.strip():
            continue
        record = parse_line(line, where, lineno)
        if schema is not None:
            check_record(record, schema, where, lineno)
        yield lineno, record


def open_input(path: str | os.PathLike, what: str = "JSONL file") -> IO[bytes]:
    """`path` opened for reading bytes; a missing file or a folder is a RecordError naming it."""
    path = Path(path)
    if path.is_dir():
        raise RecordError(path, None, None, f"is a directory, expected a {what}")
    if not path.exists():
        raise RecordError(path, None, None, "file not found")
    return path.open("rb")


def iter_numbered(path: str | os.PathLike, schema: Schema | str | None = None,
                  allow_empty: bool = True) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each record of a JSONL file, validated against `schema`."""
    schema = _schema(schema)
    seen = 0
    with open_input(path) as fh:
        for numbered in iter_stream(fh, schema, str(path)):
            seen += 1
            yield numbered
    if not seen and not allow_empty:
        raise RecordError(path, None, None, f"is empty: expected at least one {schema.name if schema else 'JSON'} record")


def iter_records(path: str | os.PathLike, schema: Schema | str | None = None,
                 allow_empty: bool = True) -> Iterator[dict]:
    """Yield the records of a JSONL file, validating each against `schema`."""
    return (record for _, record in iter_numbered(path, schema, allow_empty))


def read_records(path: str | os.PathLike, schema: Schema | str | None = None,
                 allow_empty: bool = True) -> list[dict]:
    return list(iter_records(path, schema, allow_empty))


def index_by(numbered: Iterable[tuple[int, dict]], key: str, where: str | os.PathLike) -> dict:
    """{key: record} of (line number, record) pairs, first occurrence first.

    Records keyed by id stand for one thing each: a repeat with the same
    contents is collapsed, a repeat with other contents (a second gold for one
    question) is a RecordError naming both lines rather than a silent overwrite.
    """
    index: dict = {}
    first_line: dict = {}
    for lineno, record in numbered:
        k = record[key]
        if k not in index:
            index[k], first_line[k] = record, lineno
        elif index[k] != record:
            raise RecordError(where, lineno, key, f"{k!r} is also on line {first_line[k]}, with a different "
                              f"{', '.join(differing_fields(index[k], record))}")
    return index


_ABSENT = object()


def differing_fields(a: dict, b: dict) -> list[str]:
    """The fields two records disagree on, one present in only one of them included."""
    return sorted(f for f in a.keys() | b.keys() if a.get(f, _ABSENT) != b.get(f, _ABSENT))


def read_index(path: str | os.PathLike, schema: Schema | str | None = None, key: str = "id",
               allow_empty: bool = True) -> dict:
    """{record[key]: record} of a JSONL file; see `index_by` for repeated keys."""
    return index_by(iter_numbered(path, schema, allow_empty), key, str(path))


def validate_records(records: Iterable[dict], schema: Schema | str, where: str = "<records>") -> None:
    schema = _schema(schema)
    for i, record in enumerate(records, start=1):
        problems = schema.problems(record)
        if problems:
            field, message = problems[0]
            raise RecordError(where, i, field, f"{message} in a {schema.name} record")


def dumps(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=False)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it over `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_records(path: str | os.PathLike, records: Iterable[dict], schema: Schema | str | None = None) -> int:
    """Write records as JSONL atomically; validate first when a schema is given."""
    schema = _schema(schema)
    records = list(records)
    if schema is not None:
        validate_records(records, schema, where=f"{path} (being written)")
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(dumps(record) + "\n")
    return len(records)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    with open_input(path, what) as fh:
        text = decode_text(fh.read(), str(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(path, exc.lineno, None, f"not valid JSON ({exc.msg} at column {exc.colno})") from None


def read_yaml(path: str | os.PathLike, what: str = "YAML file") -> Any:
    """A YAML (or JSON) file's contents; a syntax error names the file and line."""
    import yaml

    with open_input(path, what) as fh:
        text = decode_text(fh.read(), str(path))
    # libyaml's parser where PyYAML was built with it: the schema alone takes 0.8 s in pure Python,
    # paid by every snakemake command
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "syntax error"
        column = f" at column {mark.column + 1}" if mark is not None else ""
        raise RecordError(path, mark.line + 1 if mark is not None else None, None,
                          f"not valid YAML ({problem}{column})") from None


class AppendLog:
    """Append-only JSONL progress file for resumable jobs.

    On open, a torn last line (a write cut by a kill) is truncated away, so
    the file holds only whole records. `keys()` tells a restarted job what is
    already done.
    """

    def __init__(self, path: str | os.PathLike, key: Any):
        self.path = Path(path)
        self.key = key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self._fh = None

    def _repair(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good = data.rfind(b"\n") + 1
        # Drop a torn tail, and any whole line that does not parse (written
        # partially then followed by a newline from a later append).
        lines = data[:good].splitlines(keepends=True)
        kept = []
        for line in lines:
            try:
                json.loads(line)
                kept.append(line)
            except json.JSONDecodeError:
                continue
        fixed = b"".join(kept)
        if fixed != data:
            with atomic_path(self.path) as tmp:
                tmp.write_bytes(fixed)

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        out, seen = [], set()
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    rec = json.loads(line)
                    k = self.key(rec)
                    if k not in seen:  # never duplicate, even after an odd crash
                        seen.add(k)
                        out.append(rec)
        return out

    def keys(self) -> set:
        return {self.key(r) for r in self.records()}

    def append(self, records: Iterable[dict]) -> None:
        if self._fh is None:
            self._fh = self.path.open("a", encoding="utf-8")
        for record in records:
            self._fh.write(dumps(record) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
