"""The `corpus` backend: replay traces that already exist as if a teacher wrote them.

For example s1K-1.1, whose rows hold a question, DeepSeek-R1's thinking
trajectory and its final attempt. A problem finds its rows by id (when the
corpus has an id column) or by its normalised question text; sample k of a
question is its k-th row, in file order.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

from ..data.sources import normalise_text, read_rows
from ..settings import resolve_section
from .base import Backend, Completion, GenerationError, Outcome, Request

#: Column names of a corpus (teachers.<name>.corpus_fields in config/schema.yaml): s1K-1.1's
#: (simplescaling/s1K-1.1) question and DeepSeek-R1's trace unless the teacher says otherwise.
DEFAULT_FIELDS = resolve_section({}, "teachers.*.corpus_fields", check=False)


def corpus_revision(path: str) -> str:
    p = Path(path).expanduser()
    if p.is_file():
        return f"{p.name}@sha256:{hashlib.sha256(p.read_bytes()).hexdigest()[:16]}"
    return path


class CorpusBackend(Backend):
    name = "corpus"

    def __init__(self, corpus_path: str, *, fields: dict | None = None, missing: str = "error",
                 prefill_think: bool = False):
        if not corpus_path:
            raise GenerationError("the corpus backend needs the teacher's `corpus_path`")
        if missing not in ("error", "skip"):
            raise GenerationError(f"corpus_missing = {missing!r} must be 'error' or 'skip'")
        self.fields = {**DEFAULT_FIELDS, **(fields or {})}
        unknown = set(self.fields) - set(DEFAULT_FIELDS)
        if unknown:
            raise GenerationError(f"unknown corpus_fields key(s) {sorted(unknown)}; known: {sorted(DEFAULT_FIELDS)}")
        if not self.fields["text"] and not self.fields["answer"]:
            raise GenerationError("corpus_fields needs `text`, or `answer` (with optional `reasoning`)")
        self.path = corpus_path
        self.missing = missing
        self.prefill_think = prefill_think
        rows = read_rows(corpus_path, self.fields["subset"], self.fields["split"])
        self.revision = corpus_revision(corpus_path)
        self.by_id: dict[str, list[dict]] = {}
        self.by_text: dict[str, list[dict]] = {}
        for i, row in enumerate(rows, 1):
            self._check(row, i)
            if self.fields["id"]:
                self.by_id.setdefault(str(row[self.fields["id"]]), []).append(row)
            self.by_text.setdefault(normalise_text(str(row[self.fields["question"]])), []).append(row)

    def _check(self, row: dict, index: int) -> None:
        needed = [self.fields["question"], self.fields["id"], self.fields["text"] or self.fields["answer"]]
        for name in filter(None, needed):
            if name not in row:
                raise GenerationError(f"{self.path}, row {index}: field '{name}' missing "
                                      f"(set the teacher's corpus_fields; row has {sorted(row)[:12]})")

    def rows_for(self, problem: dict) -> list[dict]:
        if self.fields["id"]:
            for key in (problem.get("id"), (problem.get("meta") or {}).get("source_id")):
                if key is not None and str(key) in self.by_id:
                    return self.by_id[str(key)]
        return self.by_text.get(normalise_text(problem.get("prompt", "")), [])

    def completion(self, row: dict) -> Completion:
        f = self.fields
        if f["text"]:
            raw, reasoning = str(row[f["text"]] or ""), None
        else:
            raw = str(row[f["answer"]] or "")
            reasoning = row.get(f["reasoning"]) if f["reasoning"] else None
            reasoning = str(reasoning) if reasoning is not None else None
        return Completion(raw_text=raw, reasoning_content=reasoning, finish_reason="stop", elapsed_s=0.0,
                          model_revision=self.revision, prefilled_think=self.prefill_think)

    def stream(self, requests: list[Request]) -> Iterator[Outcome]:
        for i, req in enumerate(requests):
            if req.problem is None:
                yield Outcome(i, req, error=GenerationError("the corpus backend needs the problem record"))
                continue
            rows = self.rows_for(req.problem)
            first = req.first_sample
            wanted = rows[first:first + req.params.n]
            if len(wanted) == req.params.n:
                yield Outcome(i, req, completions=[self.completion(r) for r in wanted])
                continue
            why = (f"corpus {self.path} has {len(rows)} trace(s) for question {req.problem.get('id')!r}; "
                   f"sample(s) {first}..{first + req.params.n - 1} asked")
            if self.missing == "skip":
                yield Outcome(i, req, skipped=why)
            else:
                yield Outcome(i, req, error=GenerationError(why + " (set corpus_missing: skip to leave it out)"))
