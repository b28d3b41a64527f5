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


def read_rows(path: str, subset: str | None = None, split: str = "train") -> list[dict]:
    """Rows of a local file, or of a hub dataset when `path` is not a local file."""
    local = Path(path).expanduser()
    if local.exists():
        return _read_local(local)
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
    return [dict(r) for r in ds]


def _read_local(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pandas as pd

        return pd.read_parquet(path).to_dict(orient="records")
    if suffix == ".jsonl":
        rows = []
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise RecordError(path, lineno, None, f"not valid JSON ({exc.msg})") from None
        return rows
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RecordError(path, exc.lineno, None, f"not valid JSON ({exc.msg})") from None
        if isinstance(data, dict):
            # {"data": [...]} / {"train": [...]} wrappers
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) == 1:
                data = lists[0]
        if not isinstance(data, list):
            raise RecordError(path, None, None, "expected a JSON array of objects")
        return data
    raise DataSourceError(f"unsupported data file type '{suffix}' for {path} (use .json, .jsonl or .parquet)")


def require(row: dict, keys: tuple[str, ...], where: str, index: int) -> str:
    """The first present, non-empty key of `keys`; a clear error naming the row otherwise."""
    for key in keys:
        value = row.get(key)
        if value not in (None, ""):
            return value
    raise RecordError(where, index, "/".join(keys), "missing required field")


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
