"""Reading raw datasets: a local JSON/JSONL/parquet file or a Hugging Face dataset id."""

from __future__ import annotations

import hashlib
import numbers
import re
import unicodedata
from pathlib import Path

from ..errors import DedError
from ..io import RecordError, decode_line, parse_line, read_json
from ..provenance import file_sha256, note_source, resolve_hub_revision


class DataSourceError(DedError, RuntimeError):
    pass


class Rows(list):
    """The rows of one data source, remembering where each came from, so errors name it.

    `lines[i]` is the 1-based file line of row i+1 in a JSONL file (blank lines
    are skipped, so it can differ from the row's position); other sources have
    no lines, and a row is named by its 1-based position.
    """

    def __init__(self, rows, source: str | Path, lines: list[int] | None = None):
        super().__init__(rows)
        self.source = str(source)
        self.lines = lines

    def error(self, index: int, field: str | None, message: str) -> RecordError:
        """A RecordError for row `index` (1-based, in file order)."""
        if self.lines is not None:
            return RecordError(self.source, self.lines[index - 1], field, message)
        return RecordError(self.source, None, field, message, record=index)


def read_rows(path: str, subset: str | None = None, split: str = "train", revision: str | None = None) -> Rows:
    """Rows of a local file, or of a hub dataset (at `revision`, else its main branch) when `path` is not
    a local file. The job's provenance records the file's hash or the hub commit that was read."""
    local = Path(path).expanduser()
    if local.is_dir():
        raise DataSourceError(f"{path}: is a directory, expected a .json, .jsonl or .parquet file")
    if local.exists():
        rows = _read_local(local, path)
        note_source({"kind": "dataset", "path": path, "sha256": file_sha256(local)})
        return rows
    if local.suffix in {".json", ".jsonl", ".parquet"} or path.startswith((".", "/", "~")):
        raise DataSourceError(f"data file '{path}' not found")
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is in the CPU install
        raise DataSourceError(f"'{path}' is not a local file and the `datasets` package is missing") from exc
    # load the commit the revision points at now, and record it: a branch moves, a commit does not
    resolved = resolve_hub_revision(path, revision, "dataset")
    try:
        ds = datasets.load_dataset(path, subset, split=split, revision=resolved or revision)
    except Exception as exc:  # hub and cache errors come in many classes; name the dataset
        raise DataSourceError(
            f"could not load dataset '{path}' (subset={subset}, split={split}) from the Hugging Face hub "
            f"or its cache: {exc}") from exc
    note_source({"kind": "dataset", "hub": path, "subset": subset, "split": split, "revision": revision,
                 "resolved_revision": resolved, "fingerprint": getattr(ds, "_fingerprint", None)})
    return Rows((dict(r) for r in ds), f"{path} (subset={subset}, split={split})")


def _object(value, name: str, line: int | None = None, record: int | None = None) -> dict:
    """`value` when it is a JSON object; a row of another type fails naming its line or position."""
    if not isinstance(value, dict):
        raise RecordError(name, line, None, f"expected a JSON object, got {type(value).__name__}", record=record)
    return value


def _read_jsonl(path: Path, name: str) -> Rows:
    rows, lines = [], []
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = decode_line(raw, name, lineno)
            if line.strip():
                rows.append(_object(parse_line(line, name, lineno), name, line=lineno))
                lines.append(lineno)
    return Rows(rows, name, lines)


def _read_json(path: Path, name: str) -> Rows:
    data = read_json(path)
    if isinstance(data, dict):
        # {"data": [...]} / {"train": [...]} wrappers
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            data = lists[0]
    if not isinstance(data, list):
        raise RecordError(name, None, None, "expected a JSON array of objects")
    return Rows([_object(row, name, record=i) for i, row in enumerate(data, 1)], name)


def _read_parquet(path: Path, name: str) -> Rows:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow and fastparquet raise their own classes; name the file
        raise RecordError(name, None, None, f"not a readable parquet file ({exc})") from None
    return Rows(frame.to_dict(orient="records"), name)


def _read_local(path: Path, name: str) -> Rows:
    readers = {".jsonl": _read_jsonl, ".json": _read_json, ".parquet": _read_parquet}
    suffix = path.suffix.lower()
    if suffix not in readers:
        raise DataSourceError(f"unsupported data file type '{suffix}' for {name} (use .json, .jsonl or .parquet)")
    return readers[suffix](path, name)


def require_rows(rows: Rows, what: str) -> Rows:
    """`rows`, or a clear error when the source holds none (it would fail later, on an intermediate file)."""
    if not rows:
        raise DataSourceError(f"{rows.source}: no rows; expected {what}")
    return rows


#: A number as a source may hold it: int, float, numpy scalars (parquet), never bool.
NUMBER = (numbers.Real,)


def type_name(types: tuple[type, ...]) -> str:
    abstract = {numbers.Real: "number", numbers.Integral: "integer"}
    return " or ".join(abstract.get(t, t.__name__) for t in types)


def has_type(value, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def require(row: dict, keys: tuple[str, ...], rows: Rows, index: int, types: tuple[type, ...] = (str,)):
    """The first present, non-empty key of `keys`; an error naming the row's line (or position) otherwise,
    or when the value is not of `types`."""
    for key in keys:
        value = row.get(key)
        if value not in (None, ""):
            if not has_type(value, types):
                raise rows.error(index, key, f"expected {type_name(types)}, got {type(value).__name__}")
            return value
    raise rows.error(index, "/".join(keys), "missing required field")


def optional(row: dict, key: str, rows: Rows, index: int, types: tuple[type, ...] = (str,)):
    """`row[key]`, None when absent or null; an error naming the row when it is not of `types`."""
    value = row.get(key)
    if value is not None and not has_type(value, types):
        raise rows.error(index, key, f"expected {type_name(types)} or null, got {type(value).__name__}")
    return value


def check_pairs(value, key: str, rows: Rows, index: int) -> list[dict]:
    """`value` (the row's field `key`) as a list of {input, output} strings; [] for None."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise rows.error(index, key, f"expected a list of {{input, output}}, got {type(value).__name__}")
    pairs = list(value)
    for k, pair in enumerate(pairs, 1):
        if not isinstance(pair, dict) or not all(isinstance(pair.get(f), str) for f in ("input", "output")):
            raise rows.error(index, key, f"item {k} is not an {{input, output}} pair of strings")
    return pairs


def require_pairs(row: dict, key: str, rows: Rows, index: int) -> list[dict]:
    """The row's examples or tests (`key`) as {input, output} pairs; [] when absent."""
    return check_pairs(row.get(key), key, rows, index)


def normalise_text(text: str) -> str:
    """Text normalised for ids and matching: NFKC, lower case, LaTeX spacing dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"\\(?:left|right|displaystyle|textstyle|quad|qquad|[,;:! ])", " ", text)
    text = text.replace("$", " ")
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Words of normalised text; spaces next to symbols are dropped first, so 'x^2+1' and
    'x ^ 2 + 1' give the same word."""
    return re.sub(r"\s*([^\w\s])\s*", r"\1", normalise_text(text)).split()


def stable_id(prefix: str, text: str) -> str:
    digest = hashlib.sha256(" ".join(tokens(text)).encode("utf-8")).hexdigest()[:12]
    return f"{prefix}-{digest}"
