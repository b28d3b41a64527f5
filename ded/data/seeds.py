"""Seed questions, normalised to PROBLEM records (ded/records.py).

- s1K (`simplescaling/s1K`, `s1K-1.1`, or the plain `problem`/`solution`
  layout): gold answer from the solution's last \\boxed{}, else the solution
  itself when it is a short final answer; questions with neither (proofs,
  long derivations) are kept with gold_kind "none", so only a judge can verify
  them, and the rule is recorded in `meta.gold_rule`.
- CodeForces in the `open-r1/codeforces` layout: statement parts, examples,
  official tests, limits. Problems the sandbox cannot judge by feeding stdin
  and comparing stdout are excluded with a reason: interactive ones, file
  input/output (`input_mode` other than stdio), several valid answers (a
  `generated_checker`), those the dataset marks not executable, and those with
  no tests.

Every excluded row is returned as an EXCLUDED record (ded/records.py), which
the load_seeds rule writes beside the seeds; a source with no rows, or whose
every row is excluded, is an error naming the file.
- Procedural questions for the embedded default (ded/data/procedural.py).
"""

from __future__ import annotations

import numbers
import random
from collections import Counter

from ..config import ConfigError
from ..think import last_boxed
from .procedural import procedural_problems
from .sources import (NUMBER, DataSourceError, Rows, optional, read_rows, require, require_pairs, require_rows,
                      stable_id)

#: A solution this short with no \boxed{} is taken as the final answer itself.
SHORT_ANSWER_CHARS = 40


def s1k_gold(solution: str | None) -> tuple[str | None, str]:
    """(gold, rule) from an s1K solution."""
    if not solution:
        return None, "no solution"
    boxed = last_boxed(solution)
    if boxed:
        return boxed, "last \\boxed{}"
    text = solution.strip()
    if len(text) <= SHORT_ANSWER_CHARS and "\n" not in text:
        return text, "short solution is the answer"
    return None, "no checkable answer (proof or long solution without \\boxed{})"


def s1k_problems(rows: Rows) -> list[dict]:
    out = []
    for i, row in enumerate(rows, 1):
        question = require(row, ("question", "problem"), rows, i)
        gold, rule = s1k_gold(optional(row, "solution", rows, i))
        meta = {"gold_rule": rule}
        for key in ("cot_type", "source_type", "id"):
            if row.get(key) not in (None, ""):
                meta[key if key != "id" else "source_id"] = row[key]
        out.append({"id": stable_id("s1k", question), "domain": "math", "source": "s1k", "prompt": question,
                    "gold": gold, "gold_kind": "math" if gold is not None else "none", "meta": meta})
    return out


def codeforces_statement(row: dict) -> str:
    parts = [row.get("title") or "", row.get("description") or ""]
    if row.get("input_format"):
        parts.append("Input\n" + row["input_format"])
    if row.get("output_format"):
        parts.append("Output\n" + row["output_format"])
    for k, ex in enumerate(row.get("examples") or [], 1):
        parts.append(f"Example {k}\nInput:\n{ex['input']}\nOutput:\n{ex['output']}")
    if row.get("note"):
        parts.append("Note\n" + row["note"])
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def codeforces_exclusion(row: dict) -> str | None:
    """Why the sandbox cannot judge a CodeForces problem by stdin and exact stdout, or None."""
    if row.get("interaction_format"):
        return "interactive problem (interaction_format set)"
    mode = row.get("input_mode")
    if mode not in (None, "", "stdio"):
        return f"file input/output (input_mode {mode!r}); the sandbox feeds stdin only"
    if row.get("generated_checker"):
        return "several valid answers (generated_checker set); the sandbox compares output exactly"
    if row.get("executable") is False:
        return "marked not executable in the dataset (executable false)"
    return None


def check_codeforces_row(row: dict, rows: Rows, index: int) -> None:
    """Fail naming the row's line and field when a field the problem is built from has the wrong type."""
    for key in ("title", "input_format", "output_format", "note"):
        optional(row, key, rows, index)
    for key in ("examples", "official_tests"):
        require_pairs(row, key, rows, index)
    for key in ("time_limit", "memory_limit", "rating"):
        optional(row, key, rows, index, NUMBER)


def codeforces_problems(rows: Rows) -> tuple[list[dict], list[dict]]:
    """(problems, excluded) where every excluded row carries a reason."""
    out, excluded = [], []
    for i, row in enumerate(rows, 1):
        pid = str(require(row, ("id",), rows, i, (str, numbers.Integral)))
        require(row, ("description",), rows, i)
        why = codeforces_exclusion(row)
        if why:
            excluded.append({"id": pid, "reason": why})
            continue
        check_codeforces_row(row, rows, i)
        tests = require_pairs(row, "official_tests", rows, i) or require_pairs(row, "examples", rows, i)
        if not tests:
            excluded.append({"id": pid, "reason": "no tests (neither official_tests nor examples)"})
            continue
        statement = codeforces_statement(row)
        out.append({
            "id": stable_id("cf", statement), "domain": "code", "source": "codeforces", "prompt": statement,
            "gold": None, "gold_kind": "tests",
            "tests": [{"input": t["input"], "output": t["output"]} for t in tests],
            "time_limit_s": float(row["time_limit"]) if row.get("time_limit") is not None else None,
            "memory_mb": int(row["memory_limit"]) if row.get("memory_limit") is not None else None,
            "difficulty": str(int(row["rating"])) if row.get("rating") is not None else None,
            "meta": {"source_id": pid, "official_tests_complete": bool(row.get("official_tests_complete")),
                     "tags": list(row.get("tags") or [])},
        })
    return out, excluded


def subsample(records: list[dict], n: int | None, seed: int) -> list[dict]:
    if n is None or n >= len(records):
        return records
    picked = sorted(random.Random(seed).sample(range(len(records)), n))
    return [records[i] for i in picked]


def dedupe(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Drop repeated questions (same normalised text, hence same id), keeping the first."""
    seen, out, dropped = set(), [], []
    for r in records:
        if r["id"] in seen:
            dropped.append({"id": r["id"], "reason": "duplicate question"})
            continue
        seen.add(r["id"])
        out.append(r)
    return out, dropped


def load_seeds(domain: str, spec: dict) -> tuple[list[dict], list[dict]]:
    """(problems, excluded) for one seed domain of the config (a partial entry takes the schema's defaults)."""
    from ..settings import resolve_section

    spec = resolve_section(spec, "seeds.*", check=False)
    source = spec["source"]
    seed = spec["seed"]
    if source == "procedural":
        return procedural_problems(domain, spec.get("n") or 32, seed, source=f"proc-{domain}"), []
    if "path" not in spec:
        raise ConfigError(f"config: seeds.{domain}.path is required for source '{source}'")
    rows = require_rows(read_rows(spec["path"], split=spec.get("split", "train"), revision=spec.get("revision")), f"{source} seed questions")
    excluded: list[dict] = []
    if source == "s1k":
        records = s1k_problems(rows)
    elif source == "codeforces":
        records, excluded = codeforces_problems(rows)
    else:
        raise ConfigError(f"config: seeds.{domain}.source: unknown source '{source}'")
    if not records:
        raise DataSourceError(f"{rows.source}: all {len(rows)} rows excluded ({reason_counts(excluded)})")
    records, dups = dedupe(records)
    return subsample(records, spec.get("n"), seed), excluded + dups


def reason_counts(excluded: list[dict]) -> str:
    """'3 interactive problem ..., 1 no tests ...': exclusions counted by reason, most frequent first."""
    return "; ".join(f"{n} {reason}" for reason, n in Counter(e["reason"] for e in excluded).most_common())
