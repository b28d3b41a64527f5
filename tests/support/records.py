"""Record factories of the tests: one valid record of each kind of ded/records.py, with the fields a test is
about given as keywords. Every test builds its problems, samples, verdicts and corpus rows here."""

from __future__ import annotations

import json
from pathlib import Path


def problem(qid: str = "q1", gold="1", gold_kind: str = "math", *, domain: str = "math", source: str = "test",
            prompt: str | None = None, **fields) -> dict:
    """A PROBLEM record (a seed question or benchmark item)."""
    return {"id": qid, "domain": domain, "source": source, "prompt": prompt or f"question {qid}", "gold": gold,
            "gold_kind": gold_kind, **fields}


def sample(qid: str = "q1", sid: int = 0, *, answer: str = "", reasoning: str = "some reasoning",
           text: str | None = None, model: str = "teacher", parsed: bool = False, **fields) -> dict:
    """A SAMPLE record whose text is `<think>reasoning</think>answer` (or `text`); `parsed` fills the
    reasoning and answer fields as the sampler does, else they are left for the verifier to parse (None)."""
    text = text if text is not None else f"<think>{reasoning}</think>{answer}"
    return {"question_id": qid, "sample_id": sid, "model": model, "raw_text": text, "text": text,
            "reasoning": reasoning if parsed else None, "answer": answer if parsed else None, **fields}


def verdict(qid: str = "q1", sid: int = 0, outcome: str = "correct", *, keep: bool | None = None,
            model: str = "teacher", reason: str = "", **fields) -> dict:
    """A VERDICT record; `keep` follows the verdict ("correct") unless given."""
    return {"question_id": qid, "sample_id": sid, "model": model, "verdict": outcome, "reason": reason,
            "keep": outcome == "correct" if keep is None else keep, **fields}


def corpus_row(qid: str = "q1", sid: int = 0, *, teacher: str = "teacher", domain: str = "math",
               prompt: str | None = None, response: str = "<think>r</think>\\boxed{1}", **fields) -> dict:
    """A CORPUS_ROW record (one training example)."""
    return {"question_id": qid, "sample_id": sid, "teacher": teacher, "domain": domain,
            "prompt": prompt or f"question {qid}", "response": response, **fields}


def jsonl(*records) -> str:
    """JSONL text of `records` (a string is written as the line it is, for malformed input)."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def write_jsonl(path: Path, records) -> Path:
    """`records` as a JSONL file at `path` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(jsonl(*records))
    return path
