"""Reading raw datasets: a local JSON/JSONL/parquet file or a Hugging Face dataset id."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path

from ..io import RecordError


class DataSourceError(RuntimeError):
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


def read_rows(path: str, subset: str | None = None, split: str = "train") -> Rows:
    """Rows of a local file, or of a hub dataset when `path` is not a local file."""
    local = Path(path).expanduser()
    if local.exists():
        return _read_local(local, path)
    if local.suffix in {".json", ".jsonl", ".parquet"} or path.startswith((".", "/", "~")):
        raise DataSourceError(f"data file '{path}' not found")
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is in the CPU install
        raise DataSourceError(f"'{path}' is not a local file and the `datasets` package is missing") from exc
    try:
        ds = datasets.load_dataset(path, subset, split=split)
    except Exception as exc:  # hub and cache errors come in many classes; name the dataset
        raise DataSourceError(
            f"could not load dataset '{path}' (subset={subset}, split={split}) from the Hugging Face hub "
            f"or its cache: {exc}") from exc
    return Rows((dict(r) for r in ds), f"{path} (subset={subset}, split={split})")


def _read_local(path: Path, name: str) -> Rows:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pandas as pd

        return Rows(pd.read_parquet(path).to_dict(orient="records"), name)
    if suffix == ".jsonl":
        rows, lines = [], []
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise RecordError(name, lineno, None, f"not valid JSON ({exc.msg})") from None
                    lines.append(lineno)
        return Rows(rows, name, lines)
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RecordError(name, exc.lineno, None, f"not valid JSON ({exc.msg})") from None
        if isinstance(data, dict):
            # {"data": [...]} / {"train": [...]} wrappers
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) == 1:
                data = lists[0]
        if not isinstance(data, list):
            raise RecordError(name, None, None, "expected a JSON array of objects")
        return Rows(data, name)
    raise DataSourceError(f"unsupported data file type '{suffix}' for {name} (use .json, .jsonl or .parquet)")


def require_rows(rows: Rows, what: str) -> Rows:
    """`rows`, or a clear error when the source holds none (it would fail later, on an intermediate file)."""
    if not rows:
        raise DataSourceError(f"{rows.source}: no rows; expected {what}")
    return rows


def require(row: dict, keys: tuple[str, ...], rows: Rows, index: int) -> str:
    """The first present, non-empty key of `keys`; an error naming the row's line (or position) otherwise."""
    for key in keys:
        value = row.get(key)
        if value not in (None, ""):
            return value
    raise rows.error(index, "/".join(keys), "missing required field")


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
