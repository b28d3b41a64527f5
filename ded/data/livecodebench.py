"""LiveCodeBench code generation: releases, the contest-date window and the errata.

Releases. `livecodebench/code_generation_lite` on the hub holds one JSONL file
per release: `test.jsonl` the problems of release v1, `testN.jsonl` those
added by release vN. Its loading script (`code_generation_lite.py`, which
LiveCodeBench's `lcb_runner/benchmarks/code_generation.py` loads with
`version_tag=...`) maps a version tag to files: `release_vN` is test.jsonl up
to testN.jsonl (every problem up to vN), `vN` testN.jsonl alone, `vA_vB` the
files of A to B, `release_latest` every file. LiveCodeBench's README dates the
releases by contest: v1 May 2023 - Mar 2024 (400 problems), v2 to May 2024
(511), v3 to Jul 2024 (612), v4 to Sep 2024 (713), v5 to Jan 2025 (880), v6 to
Apr 2025 (1055). `datasets` 4 no longer runs loading scripts, so for a hub id
the release's files are downloaded (`huggingface_hub`) and read as JSONL,
which is what the script did; a local `path` is read as it is.

Window. LiveCodeBench scores a model on the problems whose `contest_date`
lies in a window (`lcb_runner/benchmarks/code_generation.py`,
`load_code_generation_dataset(release_version, start_date, end_date)`; the
README's `--start_date/--end_date`). Config `start_date`/`end_date` (ISO
dates, null = no bound) keep the problems whose contest day is in
[start_date, end_date], both days included. (LiveCodeBench compares the
contest's datetime with midnight of end_date, so a contest later on that day
falls out there; here the whole day counts.)

Errata. LiveCodeBench's ERRATA.md lists problems that cannot be graded right:
several valid outputs but one accepted, interactive problems, wrong tests.
`ERRATA` copies it (LiveCodeBench/LiveCodeBench, ERRATA.md at commit
b0fc86b1e20d, 2025-07-08); config `errata: true` leaves these problems out,
each with its reason, and `exclude` adds problems by id. An entry matches a
row's `question_id` (AtCoder: `abc311_c`) or `question_title` (the errata
name LeetCode problems by their slug, e.g. `find-the-peaks`). LiveCodeBench's
own runner does not drop them, so its published scores include them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Iterator, Mapping

from ..config import ConfigError
from .sources import DataSourceError, Rows, read_rows

#: The hub dataset whose release tags `release_files` knows.
HUB_DATASET = "livecodebench/code_generation_lite"

_MULTIPLE = "LiveCodeBench errata: several outputs are correct but the tests accept one"
_INTERACTIVE = "LiveCodeBench errata: interactive problem, which the test harness cannot judge"

#: (question id or title, reason): LiveCodeBench's ERRATA.md (commit b0fc86b1e20d, 2025-07-08).
ERRATA: tuple[tuple[str, str], ...] = (
    ("abc311_c", _MULTIPLE),
    ("abc326_d", _MULTIPLE),
    ("abc327_b", _MULTIPLE),
    ("abc333_e", _MULTIPLE),
    ("abc343_e", _MULTIPLE),
    ("abc362_c", _MULTIPLE),
    ("find-words-containing-character", _MULTIPLE),
    ("find-the-peaks", _MULTIPLE),
    ("generate-binary-strings-without-adjacent-zeros", _MULTIPLE),
    ("arc185_c", _MULTIPLE),
    ("abc343_a", _MULTIPLE),
    ("abc337_e", _INTERACTIVE),
    ("abc355_e", _INTERACTIVE),
    ("abc350_c", "LiveCodeBench errata: erroneous test cases"),
    ("apply-operations-to-make-string-empty", "LiveCodeBench errata: erroneous test case (empty string)"),
    ("most-frequent-ids", "LiveCodeBench errata: a test input breaks the problem's constraints"),
    ("arc189_a", "LiveCodeBench errata: one test case has a wrong output"),
)

_TAG = re.compile(r"release_v(\d+)|v(\d+)|v(\d+)_v(\d+)|release_latest")
_FILE = re.compile(r"test(\d*)\.jsonl")


def _file(k: int) -> str:
    return "test.jsonl" if k == 1 else f"test{k}.jsonl"


def release_files(tag: str | None) -> list[str] | None:
    """The dataset files of a version tag, as the dataset's loading script maps them; None for
    `release_latest` (or no tag, the script's default), which is every file the dataset holds."""
    if tag is None or tag == "release_latest":
        return None
    m = _TAG.fullmatch(tag)
    if not m:
        raise ConfigError(f"LiveCodeBench version tag {tag!r} is not release_vN, vN, vA_vB or release_latest "
                          f"(the tags of {HUB_DATASET})")
    if m.group(1):
        return [_file(k) for k in range(1, int(m.group(1)) + 1)]
    if m.group(2):
        return [_file(int(m.group(2)))]
    first, last = int(m.group(3)), int(m.group(4))
    if not 1 <= first < last:
        raise ConfigError(f"LiveCodeBench version tag {tag!r}: the first release must come before the last")
    return [_file(k) for k in range(first, last + 1)]


def latest_files(names: Iterable[str]) -> list[str]:
    """The release files among a dataset's file names, in release order."""
    found = {}
    for name in names:
        m = _FILE.fullmatch(name)
        if m:
            found[int(m.group(1) or 1)] = name
    return [found[k] for k in sorted(found)]


def read_release(repo: str, tag: str | None, revision: str | None = None) -> Iterator[Rows]:
    """The rows of each file of a release of a hub dataset in the code_generation_lite layout, one Rows per
    file, read one at a time (a file is up to 1.2 GB); errors name the downloaded file and its line. Every
    file is downloaded before the first is read. The job's provenance records the commit read."""
    from huggingface_hub import HfApi, hf_hub_download

    from ..provenance import note_source, resolve_hub_revision

    resolved = resolve_hub_revision(repo, revision, "dataset")
    at = resolved or revision
    files = release_files(tag)
    if files is None:
        try:
            files = latest_files(HfApi().list_repo_files(repo, repo_type="dataset", revision=at))
        except Exception as exc:  # noqa: BLE001 - offline, no such repo: say what to set instead
            raise DataSourceError(f"could not list the files of dataset '{repo}' for release_latest ({exc}); "
                                  f"name a release, e.g. subset: release_v6") from None
        if not files:
            raise DataSourceError(f"dataset '{repo}' has no test*.jsonl files")
    local = []
    for name in files:
        try:
            local.append(hf_hub_download(repo_id=repo, filename=name, repo_type="dataset", revision=at))
        except Exception as exc:  # noqa: BLE001 - hub and cache errors come in many classes; name the file
            raise DataSourceError(f"could not download {name} of dataset '{repo}' (release {tag or 'release_latest'}"
                                  f"{f', revision {revision}' if revision else ''}): {exc}") from None
    note_source({"kind": "dataset", "hub": repo, "subset": tag, "files": files, "revision": revision,
                 "resolved_revision": resolved})
    for path in local:
        yield read_rows(path)


# ---------------------------------------------------------------- the contest-date window


def config_date(value, key: str) -> date | None:
    """A `start_date`/`end_date` value of the config as a date; None for null."""
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{key} = {value!r} is not an ISO date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class DateWindow:
    """Contest days from `start` to `end`, both included; None is no bound."""

    start: date | None = None
    end: date | None = None

    @classmethod
    def from_spec(cls, spec: Mapping, where: str) -> "DateWindow | None":
        start = config_date(spec.get("start_date"), f"{where}.start_date")
        end = config_date(spec.get("end_date"), f"{where}.end_date")
        if start and end and start > end:
            raise ConfigError(f"{where}: start_date {start} is after end_date {end}")
        return cls(start, end) if start or end else None

    def exclusion(self, day: date) -> str | None:
        """Why a problem of contest day `day` is out of the window, or None."""
        if self.start and day < self.start:
            return f"contest_date before start_date {self.start}"
        if self.end and day > self.end:
            return f"contest_date after end_date {self.end}"
        return None

    def __str__(self) -> str:
        return f"{self.start or '…'}..{self.end or '…'}"


def contest_day(row: Mapping, rows: Rows, index: int) -> date:
    """The day of the row's `contest_date` (an ISO date or datetime string, or a datetime); a missing or
    unreadable one fails naming the file and row."""
    value = row.get("contest_date")
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        raise rows.error(index, "contest_date", "missing; the start_date/end_date window needs every "
                                                "problem's contest date")
    if isinstance(value, datetime):
        if value != value:  # pandas NaT
            raise rows.error(index, "contest_date", "missing (NaT); the start_date/end_date window needs it")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            raise rows.error(index, "contest_date", f"{value!r} is not an ISO date or datetime") from None
    raise rows.error(index, "contest_date", f"expected an ISO date string, got {type(value).__name__}")


# ---------------------------------------------------------------- errata and exclusions


def exclusions(spec: Mapping, where: str) -> dict[str, str]:
    """Problem id or title -> why it is left out: LiveCodeBench's errata (unless `errata: false`), then the
    config's `exclude` entries."""
    out = dict(ERRATA) if spec["errata"] else {}
    for k, entry in enumerate(spec.get("exclude") or [], 1):
        if not isinstance(entry, Mapping) or not entry.get("id") or not entry.get("reason"):
            raise ConfigError(f"{where}.exclude[{k}]: expected {{id, reason}}, got {entry!r}")
        out[str(entry["id"])] = f"excluded by the config: {entry['reason']}"
    return out


def excluded_reason(row: Mapping, excluded: Mapping[str, str]) -> tuple[str, str] | None:
    """(matched id, reason) when the row's question_id or question_title is excluded, else None."""
    for key in ("question_id", "question_title"):
        value = row.get(key)
        if value is not None and str(value) in excluded:
            return str(value), excluded[str(value)]
    return None
