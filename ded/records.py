"""Record schemas: one per kind of file the workflow passes between rules.

Every JSONL file the workflow writes holds records of exactly one kind below.
Reading validates each line, so a malformed row fails with the file, the line
and the field named (see `ded.io.read_records`).

A schema maps a field name to a `Field`: the accepted Python types and whether
the field is required. Extra fields are allowed (forward compatible) except
where a schema says `closed=True`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

NoneType = type(None)


@dataclass(frozen=True)
class Field:
    types: tuple[type, ...]
    required: bool = True
    choices: tuple[Any, ...] | None = None
    doc: str = ""
    #: what each element of a list value must be: a Schema (objects) or types
    items: Schema | tuple[type, ...] | None = None


@dataclass(frozen=True)
class Schema:
    name: str
    fields: Mapping[str, Field]
    closed: bool = False

    def problems(self, record: Any) -> list[tuple[str, str]]:
        """(field, message) for every way `record` breaks the schema."""
        if not isinstance(record, dict):
            return [("<record>", f"expected a JSON object, got {type(record).__name__}")]
        out: list[tuple[str, str]] = []
        for name, spec in self.fields.items():
            if name not in record:
                if spec.required:
                    out.append((name, "missing required field"))
                continue
            value = record[name]
            # bool is an int subclass; never accept it where a number is meant.
            if isinstance(value, bool) and bool not in spec.types:
                out.append((name, f"expected {_names(spec.types)}, got bool"))
            elif not isinstance(value, spec.types):
                out.append((name, f"expected {_names(spec.types)}, got {type(value).__name__}"))
            elif spec.choices is not None and value not in spec.choices:
                out.append((name, f"{value!r} is not one of {list(spec.choices)}"))
            elif spec.items is not None and isinstance(value, list):
                out += _item_problems(name, spec.items, value)
        if self.closed:
            for name in record:
                if name not in self.fields:
                    out.append((name, "unknown field"))
        return out


def _item_problems(name: str, items: Schema | tuple[type, ...], values: list) -> list[tuple[str, str]]:
    """(field, message) for the elements of a list field, named like `tests[2].output` (0-based)."""
    out: list[tuple[str, str]] = []
    for i, item in enumerate(values):
        where = f"{name}[{i}]"
        if isinstance(items, Schema):
            out += [(where if field == "<record>" else f"{where}.{field}", message)
                    for field, message in items.problems(item)]
        elif not isinstance(item, items) or (isinstance(item, bool) and bool not in items):
            out.append((where, f"expected {_names(items)}, got {type(item).__name__}"))
    return out


def _names(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is NoneType else t.__name__ for t in types)


STR = (str,)
OPT_STR = (str, NoneType)
INT = (int,)
OPT_INT = (int, NoneType)
NUM = (int, float)
OPT_NUM = (int, float, NoneType)
LIST = (list,)
DICT = (dict,)

DOMAINS = ("math", "code", "science")
GOLD_KINDS = ("math", "choice", "tests", "none")

#: One test of a code problem: stdin and the expected stdout, or (functional) JSON arguments and result.
TEST = Schema(
    "test",
    {
        "input": Field(STR),
        "output": Field(STR),
        "testtype": Field(STR, required=False, choices=("stdin", "functional")),
    },
)

#: A seed question or a benchmark problem. `gold_kind` says how an answer is
#: checked: `math` (math-verify against `gold`), `choice` (option letter
#: against `gold`), `tests` (run against `tests`), `none` (no checkable answer,
#: e.g. a proof; only an LLM judge can decide).
PROBLEM = Schema(
    "problem",
    {
        "id": Field(STR, doc="stable id: source prefix + hash of the normalised text"),
        "domain": Field(STR, choices=DOMAINS),
        "source": Field(STR, doc="dataset or generator the problem came from"),
        "prompt": Field(STR, doc="the question as shown to a model"),
        "gold": Field(OPT_STR, doc="gold answer (math expression or option letter)"),
        "gold_kind": Field(STR, choices=GOLD_KINDS),
        "tests": Field(LIST, required=False, items=TEST, doc="[{input, output, testtype}] for code problems; testtype "
                       "'stdin' (the default) or 'functional' (LeetCode-style: JSON arguments, a JSON "
                       "result, calling meta.func_name)"),
        "time_limit_s": Field(OPT_NUM, required=False),
        "memory_mb": Field(OPT_INT, required=False),
        "difficulty": Field(OPT_STR, required=False),
        "options": Field(LIST, required=False, items=STR, doc="multiple-choice options, in shown order"),
        "meta": Field(DICT, required=False),
    },
)

#: One generation of one model for one problem.
SAMPLE = Schema(
    "sample",
    {
        "question_id": Field(STR),
        "sample_id": Field(INT, doc="0..n-1 per (model, question)"),
        "model": Field(STR, doc="teacher or model name from the config"),
        "raw_text": Field(STR, doc="the text as the backend returned it"),
        "text": Field(STR, doc="normalised: '<think>reasoning</think>answer'"),
        "reasoning": Field(OPT_STR, doc="text inside <think>...</think>, null if absent"),
        "answer": Field(OPT_STR, doc="text after </think>, null if the format is broken"),
        "prompt_tokens": Field(OPT_INT, required=False),
        "completion_tokens": Field(OPT_INT, required=False),
        "finish_reason": Field(OPT_STR, required=False, doc="stop | length | ..."),
        "seed": Field(OPT_INT, required=False),
        "backend": Field(STR, required=False),
        "model_revision": Field(OPT_STR, required=False),
        "elapsed_s": Field(OPT_NUM, required=False, doc=(
            "no longer written: a measured time would make two runs of the same seed differ; each call's time "
            "is in the sampling job's progress file (ded.sample.runner). Accepted in files written before")),
        "top_logprobs": Field(LIST, required=False, doc=(
            "only when the teacher's `logprobs` is k: one entry per generated token (the token that ended "
            "the turn included), each a list of k [token, logprob] pairs, most likely first; token is the "
            "vocabulary id (hf, vllm) or the token text (openai), logprob the natural log of the model's "
            "next-token probability, rounded to 4 decimals")),
    },
)

#: The filter's or the evaluator's judgement of one sample.
VERDICT = Schema(
    "verdict",
    {
        "question_id": Field(STR),
        "sample_id": Field(INT),
        "model": Field(STR),
        "verdict": Field(STR, doc="correct/accepted keep; anything else is a rejection reason"),
        "reason": Field(STR, doc="human-readable detail"),
        "keep": Field((bool,), doc="whether the sample passes every check"),
        "checks": Field(DICT, required=False, doc=(
            "per-check details (format, length, answer, and judge for an answer the LLM judge decided: "
            "trigger, the rules' verdict and reason, model, prompt, output, decision YES/NO/null, verdict); "
            "no measured times (a program's CPU and wall time "
            "go to the verifying job's log, see ded.filter.verify_samples), so the same samples give the same "
            "bytes; files written before may hold answer.cpu_s and answer.wall_s")),
    },
)

#: A student's pass rate on one question (question compression).
PASS_RATE = Schema(
    "pass_rate",
    {
        "question_id": Field(STR),
        "n": Field(INT),
        "n_pass": Field(INT),
        "n_fail": Field(INT),
        "n_undecided": Field(INT),
        "pass_rate": Field(OPT_NUM, doc="n_pass / (n_pass + n_fail); null when nothing was decided"),
    },
)

#: One training example of a distillation corpus.
CORPUS_ROW = Schema(
    "corpus_row",
    {
        "question_id": Field(STR),
        "sample_id": Field(INT),
        "teacher": Field(STR),
        "domain": Field(STR, choices=DOMAINS),
        "prompt": Field(STR, doc="the user message as sampling and evaluation show it (generate.prompts.user_message)"),
        "response": Field(STR, doc="'<think>reasoning</think>answer'"),
    },
)

#: A decontamination match between a seed and a benchmark problem.
CONTAMINATION = Schema(
    "contamination",
    {
        "seed_id": Field(STR),
        "benchmark": Field(STR),
        "benchmark_id": Field(STR),
        "method": Field(STR, choices=("ngram", "exact", "fuzzy")),
        "detail": Field(STR),
    },
)

#: A source row the seed loader left out, and why (nothing is dropped silently).
EXCLUDED = Schema(
    "excluded",
    {
        "id": Field(STR, doc="the source's id of the row (CodeForces), or the problem id of a repeated question"),
        "reason": Field(STR, doc="why it was left out, e.g. 'interactive problem (interaction_format set)'"),
    },
)

SCHEMAS = {s.name: s for s in (PROBLEM, SAMPLE, VERDICT, PASS_RATE, CORPUS_ROW, CONTAMINATION, EXCLUDED)}

#: Columns of the long-form scores table (TSV) the analysis stage reads.
SCORE_COLUMNS = ("model", "benchmark", "metric", "value", "n")
