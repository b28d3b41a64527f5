"""Math and multiple-choice answers against a gold answer.

math-verify is run only inside worker processes (`ded.verify.pool`): its
timeouts use SIGALRM, which works only in a process's main thread, and its
TimeoutException is a BaseException that would escape ordinary handlers.

Verdicts: correct, wrong (including an answer with no final answer in it: the
model did not deliver one), unparseable (the verifier cannot read the gold, or
math-verify raised on the answer), timeout (parsing or comparison ran out of
time). unparseable and timeout are undecided (`ded.verify.UNDECIDED`).
"""

from __future__ import annotations

import re
from collections import OrderedDict

from ..think import last_boxed

PARSE_TIMEOUT_S = 5
VERIFY_TIMEOUT_S = 5


class GoldError(ValueError):
    """The gold answer itself cannot be parsed."""


def _mv():
    import math_verify

    return math_verify


_MATH_DELIM = re.compile(r"(?<!\\)\$")


def gold_candidates(gold: str) -> list[str]:
    """Texts to try, in order, so a bare gold ('42', '\\frac{3}{4}', 'x^2+1') parses as LaTeX."""
    g = gold.strip()
    if "\\boxed" in g or _MATH_DELIM.search(g):  # an escaped dollar (\\$36) is currency, not a delimiter
        return [g]
    return [f"${g}$", f"\\boxed{{{g}}}", g]


def parse_gold(gold: str, timeout_s: int = PARSE_TIMEOUT_S) -> list:
    """Parse a gold answer once; raise GoldError if nothing parses, TimeoutException on timeout."""
    mv = _mv()
    for text in gold_candidates(gold):
        for config in ([mv.LatexExtractionConfig()], [mv.LatexExtractionConfig(), mv.ExprExtractionConfig()]):
            # no_fallback: a gold that yields only an unparsed string (e.g. '\\frac{') cannot be checked.
            parsed = mv.parse(text, extraction_config=config, fallback_mode="no_fallback",
                              parsing_timeout=timeout_s, raise_on_error=True)
            if parsed:
                return parsed
    raise GoldError(f"gold answer {gold[:80]!r} does not parse")


def check_math(gold_parsed: list, answer: str, *, parse_timeout_s: int = PARSE_TIMEOUT_S,
               verify_timeout_s: int = VERIFY_TIMEOUT_S) -> tuple[str, str, str | None]:
    """(verdict, reason, extracted answer) of one answer against an already parsed gold."""
    mv = _mv()
    from math_verify.errors import TimeoutException

    try:
        parsed = mv.parse(answer, parsing_timeout=parse_timeout_s, raise_on_error=True)
    except TimeoutException:
        return "timeout", f"parsing the answer took over {parse_timeout_s} s", None
    except Exception as exc:  # noqa: BLE001 - a parser bug on odd input is an unparseable answer
        return "unparseable", f"parsing the answer failed: {type(exc).__name__}", None
    if not parsed:
        return "wrong", "no answer found", None
    shown = str(parsed[-1])[:200]
    timed_out = False
    for g in gold_parsed:
        for t in parsed:
            try:
                if mv.verify(g, t, timeout_seconds=verify_timeout_s, raise_on_error=True):
                    return "correct", "matches the gold answer", shown
            except TimeoutException:
                timed_out = True
            except Exception:  # noqa: BLE001 - an error comparing one pair means not equal
                continue
    if timed_out:
        return "timeout", f"comparison took over {verify_timeout_s} s", shown
    return "wrong", "does not match the gold answer", shown


_LETTERS = "ABCDEFGHIJ"
_ANSWER_IS = re.compile(
    r"(?:final\s+answer|answer|option|choice)\s*(?:is|:)?\s*[:\-]?\s*\(?\**\s*\\?(?:text\{|textbf\{|mathrm\{)?\s*"
    r"\(?([A-J])\)?(?![A-Za-z])", re.I)
_BARE = re.compile(r"^\W*\(?([A-J])\)?\W*$")


def extract_choice(answer: str, n_options: int | None = None) -> str | None:
    """Option letter of an answer: the last \\boxed{...} first, then 'answer is (X)', then a bare letter."""
    allowed = _LETTERS[: n_options] if n_options else _LETTERS
    boxed = last_boxed(answer)
    if boxed is not None:
        inner = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}", r"\1", boxed)
        m = _BARE.match(inner.strip())
        if m and m.group(1).upper() in allowed:
            return m.group(1).upper()
    hits = [m.group(1).upper() for m in _ANSWER_IS.finditer(answer) if m.group(1).upper() in allowed]
    if hits:
        return hits[-1]
    m = _BARE.match(answer.strip())
    if m and m.group(1).upper() in allowed:
        return m.group(1).upper()
    return None


def check_choice(gold: str, answer: str, n_options: int | None = None) -> tuple[str, str, str | None]:
    g = (gold or "").strip().strip("()").upper()
    if len(g) != 1 or g not in (_LETTERS[: n_options] if n_options else _LETTERS):
        return "unparseable", f"gold {gold!r} is not an option letter", None
    letter = extract_choice(answer, n_options)
    if letter is None:
        return "wrong", "no answer found (no option letter)", None
    if letter == g:
        return "correct", f"option {letter}", letter
    return "wrong", f"option {letter}, gold {g}", letter


# --------------------------------------------------------------------------
# Worker side: called inside pool processes.

_GOLD_CACHE: OrderedDict = OrderedDict()
_GOLD_CACHE_SIZE = 4096


def _cached_gold(gold: str, timeout_s: int):
    """Parsed gold (or the exception it raised), parsed once per process and question."""
    from math_verify.errors import TimeoutException

    if gold in _GOLD_CACHE:
        _GOLD_CACHE.move_to_end(gold)
        return _GOLD_CACHE[gold]
    try:
        value = parse_gold(gold, timeout_s)
    except GoldError as exc:
        value = exc
    except TimeoutException:
        value = TimeoutError(f"parsing the gold answer took over {timeout_s} s")
    _GOLD_CACHE[gold] = value
    if len(_GOLD_CACHE) > _GOLD_CACHE_SIZE:
        _GOLD_CACHE.popitem(last=False)
    return value


def run_task(task: dict) -> dict:
    """One answer: {kind: math|choice, gold, answer, n_options?, parse_timeout_s?, verify_timeout_s?}."""
    kind = task["kind"]
    if kind == "choice":
        verdict, reason, got = check_choice(task["gold"], task["answer"], task.get("n_options"))
        return {"verdict": verdict, "reason": reason, "extracted": got}
    pt = int(task.get("parse_timeout_s", PARSE_TIMEOUT_S))
    vt = int(task.get("verify_timeout_s", VERIFY_TIMEOUT_S))
    gold = _cached_gold(task["gold"], pt)
    if isinstance(gold, TimeoutError):
        return {"verdict": "timeout", "reason": str(gold), "extracted": None}
    if isinstance(gold, Exception):
        return {"verdict": "unparseable", "reason": str(gold), "extracted": None}
    verdict, reason, got = check_math(gold, task["answer"], parse_timeout_s=pt, verify_timeout_s=vt)
    return {"verdict": verdict, "reason": reason, "extracted": got}
