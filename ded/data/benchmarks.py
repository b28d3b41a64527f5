"""Benchmarks, normalised to PROBLEM records.

AIME 2024/2025, MATH-500, GPQA-Diamond (options shuffled with a fixed seed:
public copies keep the right answer first), LiveCodeBench
`code_generation_lite` (private tests decoded without unpickling arbitrary
objects; a release, a contest-date window and LiveCodeBench's errata, see
ded/data/livecodebench.py), and procedural held-out benchmarks for the
embedded default.

`load_benchmark_excluded` also returns the problems the loader left out, as
EXCLUDED records (id, reason): LiveCodeBench problems outside the window or
in its errata.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import random
import zlib
from collections import Counter
from pathlib import Path
from typing import Mapping

from ..config import ConfigError
from .livecodebench import DateWindow, contest_day, excluded_reason, exclusions, read_release, release_files
from .procedural import procedural_problems
from .seeds import subsample
from .sources import (NUMBER, DataSourceError, Rows, check_pairs, optional, read_rows, require, require_rows,
                      stable_id)

LETTERS = "ABCDEFGHIJ"


def aime_problems(rows: Rows, name: str) -> list[dict]:
    out = []
    for i, row in enumerate(rows, 1):
        problem = require(row, ("problem", "question", "Problem"), rows, i)
        answer = require(row, ("answer", "expected_answer", "Answer"), rows, i, (str, *NUMBER))
        out.append({"id": stable_id(name, problem), "domain": "math", "source": name, "prompt": problem,
                    "gold": str(answer).strip(), "gold_kind": "math",
                    "meta": {"source_id": str(row.get("id", row.get("ID", i)))}})
    return out


def math500_problems(rows: Rows, name: str) -> list[dict]:
    out = []
    for i, row in enumerate(rows, 1):
        problem = require(row, ("problem",), rows, i)
        answer = require(row, ("answer",), rows, i, (str, *NUMBER))
        out.append({"id": stable_id(name, problem), "domain": "math", "source": name, "prompt": problem,
                    "gold": str(answer), "gold_kind": "math",
                    "difficulty": f"level {row['level']}" if row.get("level") is not None else None,
                    "meta": {"source_id": row.get("unique_id"), "subject": row.get("subject")}})
    return out


def shuffle_options(correct: str, incorrect: list[str], rng: random.Random) -> tuple[list[str], str]:
    options = [correct] + list(incorrect)
    order = list(range(len(options)))
    rng.shuffle(order)
    shuffled = [options[k] for k in order]
    return shuffled, LETTERS[order.index(0)]


def gpqa_problems(rows: Rows, name: str, seed: int) -> list[dict]:
    out = []
    for i, row in enumerate(rows, 1):
        question = require(row, ("Question", "question"), rows, i).strip()
        correct = require(row, ("Correct Answer", "correct_answer"), rows, i).strip()
        incorrect = [require(row, (f"Incorrect Answer {k}", f"incorrect_answer_{k}"), rows, i).strip()
                     for k in (1, 2, 3)]
        pid = stable_id(name, question)
        # Seeded per question, so adding or removing rows never reshuffles the others.
        options, gold = shuffle_options(correct, incorrect, random.Random(f"{seed}:{pid}"))
        shown = "\n".join(f"{LETTERS[k]}) {opt}" for k, opt in enumerate(options))
        out.append({"id": pid, "domain": "science", "source": name, "prompt": f"{question}\n\n{shown}",
                    "gold": gold, "gold_kind": "choice", "options": options,
                    "meta": {"source_id": row.get("Record ID"), "domain": row.get("High-level domain")}})
    return out


class _StrOnlyUnpickler(pickle.Unpickler):
    """LiveCodeBench pickles a JSON string; refuse any global, so nothing can be executed."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a LiveCodeBench test blob")


def decode_private_tests(blob: str) -> list[dict]:
    """LiveCodeBench private tests: JSON, or base64(zlib(pickle(JSON string)))."""
    blob = blob.strip()
    if blob.startswith("["):
        return json.loads(blob)
    raw = zlib.decompress(base64.b64decode(blob))
    value = _StrOnlyUnpickler(io.BytesIO(raw)).load()
    if not isinstance(value, str):
        raise pickle.UnpicklingError(f"expected a JSON string in the test blob, got {type(value).__name__}")
    return json.loads(value)


def _decoded(row: dict, key: str, rows: Rows, index: int, decode, kind: type):
    """A LiveCodeBench field stored as an encoded string, decoded to a `kind` (list or dict);
    anything else fails naming the row and field."""
    blob = optional(row, key, rows, index)
    try:
        value = decode(blob) if blob else kind()
    except (ValueError, pickle.UnpicklingError, zlib.error) as exc:
        raise rows.error(index, key, f"cannot decode: {exc}") from None
    if not isinstance(value, kind):
        shape = "array" if kind is list else "object"
        raise rows.error(index, key, f"expected a JSON {shape}, got {type(value).__name__}")
    return value


def _tests(row: dict, key: str, rows: Rows, index: int, decode) -> list[dict]:
    return check_pairs(_decoded(row, key, rows, index, decode, list), key, rows, index)


def livecodebench_problems(rows: Rows, name: str) -> list[dict]:
    """Every row of a LiveCodeBench source as a problem (no window, no exclusions)."""
    return select_livecodebench(rows, name)[0]


def select_livecodebench(rows: Rows, name: str, window: DateWindow | None = None,
                         exclude: Mapping[str, str] | None = None) -> tuple[list[dict], list[dict]]:
    """(problems, excluded): the rows whose contest day is in `window` and whose question_id or title is
    not in `exclude` (id -> reason); each row left out is an EXCLUDED record with its reason. A row is
    checked against the window before its tests are decoded."""
    out, excluded = [], []
    exclude = exclude or {}
    for i, row in enumerate(rows, 1):
        if window is not None:
            why = window.exclusion(contest_day(row, rows, i))
            if why:
                excluded.append({"id": str(row.get("question_id") or row.get("question_title") or i),
                                 "reason": why})
                continue
        hit = excluded_reason(row, exclude)
        if hit:
            excluded.append({"id": hit[0], "reason": hit[1]})
            continue
        content = require(row, ("question_content",), rows, i)
        title = optional(row, "question_title", rows, i) or ""
        public = _tests(row, "public_test_cases", rows, i, json.loads)
        private = _tests(row, "private_test_cases", rows, i, decode_private_tests)
        meta = _decoded(row, "metadata", rows, i, json.loads, dict)
        tests = [{"input": t["input"], "output": t["output"], "testtype": t.get("testtype", "stdin")}
                 for t in public + private]
        prompt = f"{title}\n\n{content}".strip()
        if row.get("starter_code"):
            prompt += f"\n\nStarter code:\n{row['starter_code']}"
        out.append({"id": stable_id(name, prompt), "domain": "code", "source": name, "prompt": prompt,
                    "gold": None, "gold_kind": "tests", "tests": tests, "time_limit_s": 6.0, "memory_mb": 1024,
                    "difficulty": row.get("difficulty"),
                    "meta": {"source_id": row.get("question_id"), "platform": row.get("platform"),
                             "contest_date": str(row.get("contest_date")), "func_name": meta.get("func_name"),
                             "n_public": len(public), "n_private": len(private)}})
    return out, excluded


def _livecodebench(name: str, spec: dict) -> tuple[list[dict], list[dict]]:
    """A LiveCodeBench benchmark: a local file, or a release of a hub dataset in the code_generation_lite
    layout (`subset` is the version tag), narrowed to `start_date`..`end_date` less the errata and
    `exclude`."""
    where = f"config: benchmarks.{name}"
    window = DateWindow.from_spec(spec, where)
    exclude = exclusions(spec, where)
    path = spec["path"]
    local = Path(path).expanduser()
    if local.exists() or local.suffix in {".json", ".jsonl", ".parquet"} or path.startswith((".", "/", "~")):
        sources = iter([require_rows(read_rows(path, spec.get("subset"), spec["split"],
                                               spec.get("revision")), "livecodebench benchmark problems")])
    else:
        if spec["split"] != "test":
            raise ConfigError(f"{where}.split: LiveCodeBench releases have one split, 'test', "
                              f"not {spec['split']!r}")
        try:
            release_files(spec.get("subset"))
        except ConfigError as exc:
            raise ConfigError(f"{where}.subset: {exc}") from None
        sources = read_release(path, spec.get("subset"), spec.get("revision"))
    records, excluded, read = [], [], []
    for rows in sources:  # one file at a time: only the rows kept stay in memory
        got, left = select_livecodebench(rows, name, window, exclude)
        records += got
        excluded += left
        read.append(rows.source)
        del rows  # before the next file is read
    if not records:
        what = "; ".join(f"{n} {reason}" for reason, n in Counter(e["reason"] for e in excluded).most_common())
        raise DataSourceError(f"{', '.join(read)}: no LiveCodeBench problem left" + (f" ({what})" if what else ""))
    return records, excluded


def load_benchmark(name: str, spec: dict) -> list[dict]:
    return load_benchmark_excluded(name, spec)[0]


def load_benchmark_excluded(name: str, spec: dict) -> tuple[list[dict], list[dict]]:
    """(problems, excluded) of one benchmark of the config; excluded are EXCLUDED records (id, reason)."""
    from ..settings import resolve_section

    spec = resolve_section(spec, "benchmarks.*", check=False)  # a partial entry takes the schema's defaults
    loader = spec["loader"]
    seed = spec["seed"]
    if loader != "livecodebench":
        for key in ("start_date", "end_date", "exclude"):
            if spec.get(key):
                raise ConfigError(f"config: benchmarks.{name}.{key} applies to the livecodebench loader only, "
                                  f"not '{loader}'")
    if loader in ("procedural_math", "procedural_code"):
        domain = "math" if loader == "procedural_math" else "code"
        # Seeds use seed s and benchmarks a disjoint stream, so held-out problems are fresh.
        return procedural_problems(domain, spec.get("n") or 16, 10_000 + seed, source=name, phrasing="benchmark"), []
    if "path" not in spec:
        raise ConfigError(f"config: benchmarks.{name}.path is required for loader '{loader}'")
    if loader == "livecodebench":
        records, excluded = _livecodebench(name, spec)
        return subsample(records, spec.get("n"), seed), excluded
    rows = require_rows(read_rows(spec["path"], spec.get("subset"), spec.get("split", "test"), spec.get("revision")),
                        f"{loader} benchmark problems")
    if loader == "aime":
        records = aime_problems(rows, name)
    elif loader == "math500":
        records = math500_problems(rows, name)
    elif loader == "gpqa":
        records = gpqa_problems(rows, name, seed)
    else:
        raise ConfigError(f"config: benchmarks.{name}.loader: unknown loader '{loader}'")
    return subsample(records, spec.get("n"), seed), []


def difficulty_counts(records: list[dict]) -> dict[str, int]:
    """Problems per difficulty ('none' for problems without one): easy, medium, hard first, then the
    others in alphabetical order."""
    counts = Counter(str(r.get("difficulty")) if r.get("difficulty") not in (None, "") else "none"
                     for r in records)
    order = {"easy": 0, "medium": 1, "hard": 2}
    return {k: counts[k] for k in sorted(counts, key=lambda k: (order.get(k.lower(), 3), k))}
