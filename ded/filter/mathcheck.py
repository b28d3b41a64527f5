"""Math and multiple-choice answers against a gold answer.

math-verify runs only inside worker processes (`ded.filter.pool`), in their
main thread. Its own time-outs (SIGALRM) count wall-clock time, so on a busy
machine an answer that takes half a second when the node is idle would time
out and the verdict would depend on what else shares the cores. They are off
here; each step instead gets a budget of the worker's CPU time (user + system,
ITIMER_PROF), which other processes do not use up. The signal handler runs at
the next Python bytecode, so a long call inside C overshoots; the pool's own
limits (`task_limits`) catch what never comes back.

Verdicts: correct, wrong (including an answer with no final answer in it: the
model did not deliver one), unparseable (the verifier cannot read the gold or
the answer as math: a parse error, a recursion limit, or math-verify keeping
only the text), timeout (parsing or comparison used up its CPU time). An answer
whose final answer equals the gold as text (math-verify's normalised text of
each) is correct whatever else the check would say: `12:00`, or a list of
equations, parse to nothing or to nothing comparable, yet an identical answer is right.
unparseable and timeout are undecided (`ded.filter.UNDECIDED`). Reasons name
the configured budget, never a measured time, so reruns give the same bytes.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import NamedTuple

from ..errors import DedError
from ..think import last_boxed

#: CPU seconds for parsing the gold, for parsing an answer, and for comparing it with the gold.
PARSE_TIMEOUT_S = 5
VERIFY_TIMEOUT_S = 5
#: CPU a worker may spend on one answer beyond its budgets before the pool kills it: the first
#: answer of each worker also pays for importing sympy and math-verify.
STARTUP_CPU_S = 10.0
#: the wall-clock backstop is this many times the CPU allowance: a worker sharing its core with
#: three busy processes still reaches the CPU allowance (and its budgets) first
WALL_PER_CPU = 4


class GoldError(DedError, ValueError):
    """The gold answer itself cannot be parsed."""


class Gold(NamedTuple):
    """A parsed gold: math-verify's expressions (possibly none) and its text reading (or None)."""

    forms: list
    text: str | None


class CpuTimeLimit(BaseException):
    """A step used up its CPU-time budget. A BaseException, so that the `except Exception`
    blocks of math-verify and sympy let it through instead of reading it as a parse failure."""


def task_limits(math_timeout_s: float, task_timeout_s: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) after which the pool kills a worker still on one answer.

    The CPU limit is the answer's budgets (gold, answer, comparison) plus start-up; it stops a
    call stuck in C code, where the in-process budget cannot interrupt. The wall limit only has
    to catch a worker that hangs without using CPU, so it is at least `WALL_PER_CPU` times the
    CPU limit, out of reach of ordinary sharing of the cores with other jobs.
    """
    cpu = 3 * float(math_timeout_s) + STARTUP_CPU_S
    return cpu, max(float(task_timeout_s), WALL_PER_CPU * cpu)


class _Clock:
    armed = False
    fired = False


def _on_sigprof(signum, frame):
    if _Clock.armed:
        _Clock.armed = False  # at most one raise per budget, even if it lands during the exit below
        _Clock.fired = True
        raise CpuTimeLimit


@contextmanager
def cpu_budget(seconds: float):
    """Raise CpuTimeLimit in the block once it has used `seconds` of this process's CPU time."""
    if seconds <= 0:
        raise ValueError(f"a CPU-time budget must be positive, not {seconds!r}")
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the math check runs in a process's main thread (see ded.filter.pool)")
    if signal.getsignal(signal.SIGPROF) is not _on_sigprof:
        signal.signal(signal.SIGPROF, _on_sigprof)
    _Clock.fired = False
    _Clock.armed = True
    signal.setitimer(signal.ITIMER_PROF, float(seconds))
    try:
        yield
    finally:
        _Clock.armed = False
        signal.setitimer(signal.ITIMER_PROF, 0)
    if _Clock.fired:  # raised where something caught it anyway: the budget is still spent
        raise CpuTimeLimit


class _Recursion:
    """RecursionErrors that math-verify's parser swallowed since `reset`: it then keeps a fragment
    of the expression (the last `1` of a deep continued fraction) or only the text, and a
    comparison of that with the gold says `wrong` about an answer nobody read."""

    count = 0

    @classmethod
    def reset(cls) -> None:
        cls.count = 0


def _watch_recursion(mvp) -> None:
    for name in ("latex2sympy", "parse_expr"):  # math_verify.parser's converters of one expression
        fn = getattr(mvp, name, None)
        if fn is None or getattr(fn, "_ded_watched", False):
            continue

        def watched(*args, _fn=fn, **kwargs):
            try:
                return _fn(*args, **kwargs)
            except RecursionError:
                _Recursion.count += 1
                raise

        watched._ded_watched = True
        setattr(mvp, name, watched)


class _NoTimeoutWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


_READY = False


def _mv():
    """math-verify, with its wall-clock time-outs' warning silenced, the recursion watch on, and
    parser and comparison run once, so lazy set-up is not charged to the first answer's budget."""
    global _READY
    import math_verify
    import math_verify.parser

    if not _READY:
        _READY = True
        for name in ("math_verify.parser", "math_verify.grader"):
            logging.getLogger(name).addFilter(_NoTimeoutWarning())
        _watch_recursion(math_verify.parser)
        try:
            warm = math_verify.parse("$\\frac{1}{2}+x^2$", parsing_timeout=None)
            math_verify.verify(warm, math_verify.parse("$x^2+0.5$", parsing_timeout=None), timeout_seconds=None)
        except Exception:  # noqa: BLE001 - warming up only; real input reports its own failures
            pass
    return math_verify


_MATH_DELIM = re.compile(r"(?<!\\)\$")


def gold_candidates(gold: str) -> list[str]:
    """Texts to try, in order, so a bare gold ('42', '\\frac{3}{4}', 'x^2+1') parses as LaTeX."""
    g = gold.strip()
    if "\\boxed" in g or _MATH_DELIM.search(g):  # an escaped dollar (\\$36) is currency, not a delimiter
        return [g]
    return [f"${g}$", f"\\boxed{{{g}}}", g]


_SPACE = re.compile(r"\s+")
_SPACE_AT_SYMBOL = re.compile(r" (?=\W)|(?<=\W) ")


def as_text(s: str | None) -> str | None:
    """A text reading compared as text: whitespace squeezed, and dropped next to a symbol
    ('12 : 00' is '12:00'); kept between letters or digits ('\\pi x', '1 2'). None if empty."""
    if s is None:
        return None
    s = _SPACE_AT_SYMBOL.sub("", _SPACE.sub(" ", s).strip())
    return s or None


def _split(parsed: list) -> tuple[list, str | None]:
    """math-verify's result as (expressions, text reading): with fallback_mode='first_match' the
    strings in it are its normalised text of the final answer (without $ or \\boxed{})."""
    texts = [t for t in parsed if isinstance(t, str)]
    return [t for t in parsed if not isinstance(t, str)], as_text(texts[-1]) if texts else None


def parse_gold(gold: str, timeout_s: float = PARSE_TIMEOUT_S) -> Gold:
    """Parse a gold answer once, in `timeout_s` CPU seconds for all attempts together: its
    expressions from the first form of it that yields any, and its text from the first that has
    one. Raise GoldError if it yields neither (or is nested too deeply), CpuTimeLimit when the
    budget runs out. Main thread only."""
    mv = _mv()
    failure = None
    gold_text = None
    with cpu_budget(timeout_s):
        for text in gold_candidates(gold):
            for config in ([mv.LatexExtractionConfig()], [mv.LatexExtractionConfig(), mv.ExprExtractionConfig()]):
                _Recursion.reset()
                try:
                    parsed = mv.parse(text, extraction_config=config, fallback_mode="first_match",
                                      parsing_timeout=None, raise_on_error=True)
                except RecursionError:
                    _Recursion.count += 1
                except Exception as exc:  # noqa: BLE001 - one form of the gold failing; try the next
                    failure = type(exc).__name__
                    continue
                # Too deep for the parser: whatever it returned is a fragment, and so would be what
                # the later forms return (a bare number picked out of the text).
                if _Recursion.count:
                    raise GoldError(f"gold answer {gold[:80]!r} is nested too deeply to parse")
                forms, read = _split(parsed)
                gold_text = gold_text or read
                if forms:
                    return Gold(forms, gold_text)
    if gold_text:
        return Gold([], gold_text)
    raise GoldError(f"gold answer {gold[:80]!r} does not parse" + (f" ({failure})" if failure else ""))


def _shown(x) -> str:
    try:
        return str(x)[:200]
    except Exception:  # noqa: BLE001 - printing a deep expression can itself recurse too far
        return type(x).__name__


def check_math(gold: Gold, answer: str, *, parse_timeout_s: float = PARSE_TIMEOUT_S,
               verify_timeout_s: float = VERIFY_TIMEOUT_S) -> tuple[str, str, str | None]:
    """(verdict, reason, extracted answer) of one answer against a gold from `parse_gold`, with
    `parse_timeout_s` CPU seconds to parse the answer and `verify_timeout_s` to compare. Main thread only."""
    mv = _mv()
    _Recursion.reset()
    try:
        with cpu_budget(parse_timeout_s):
            parsed = mv.parse(answer, parsing_timeout=None, raise_on_error=True)
    except CpuTimeLimit:
        return "timeout", f"parsing the answer took over {parse_timeout_s:g} s of CPU time", None
    except RecursionError:
        return "unparseable", "the answer is nested too deeply to parse", None
    except Exception as exc:  # noqa: BLE001 - a parser bug on odd input is an unparseable answer
        return "unparseable", f"parsing the answer failed: {type(exc).__name__}", None
    if not parsed:
        return "wrong", "no answer found", None
    shown = _shown(parsed[-1])
    maths, answer_text = _split(parsed)
    verdict = _compare(mv, gold.forms, maths, shown, verify_timeout_s)
    # An answer whose final answer (math-verify's text of it: the last \boxed{} first), or whole text,
    # is the gold's text is right whatever the parser makes of the two; prose that merely contains
    # the gold is not. Checked last, so that what the math says is correct keeps its reason.
    if verdict[0] != "correct" and gold.text is not None and gold.text in (answer_text, as_text(answer)):
        return "correct", "matches the gold answer as text", shown
    return verdict


def _compare(mv, gold_forms: list, maths: list, shown: str, verify_timeout_s: float) -> tuple[str, str, str]:
    """check_math's verdict from the expressions of the gold and of the answer."""
    if _Recursion.count:
        return "unparseable", "the answer is nested too deeply to parse", shown
    if not gold_forms:
        return "unparseable", "the gold answer can be read only as text, which the answer does not match", shown
    # Strings are what math-verify keeps of text it could not parse; no string equals a parsed gold.
    # Text that is not math (a truncated \frac{, prose) is the answer's failure, a decided one; only
    # a parser giving up on well-formed input (recursion, above) leaves the verdict open.
    if not maths:
        return "wrong", "the answer could not be read as math", shown
    failed = None
    try:
        with cpu_budget(verify_timeout_s):
            for g in gold_forms:
                for t in maths:
                    try:
                        if mv.verify(g, t, timeout_seconds=None, raise_on_error=True):
                            return "correct", "matches the gold answer", shown
                    except (RecursionError, MemoryError) as exc:
                        failed = type(exc).__name__
                    except Exception:  # noqa: BLE001 - an error comparing one pair means not equal
                        continue
    except CpuTimeLimit:
        return "timeout", f"comparison took over {verify_timeout_s:g} s of CPU time", shown
    if failed:
        return "unparseable", f"comparing with the gold failed: {failed}", shown
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


def _cached_gold(gold: str, timeout_s: float):
    """Parsed gold (or the exception it raised), parsed once per process, question and budget."""
    key = (gold, timeout_s)
    if key in _GOLD_CACHE:
        _GOLD_CACHE.move_to_end(key)
        return _GOLD_CACHE[key]
    try:
        value = parse_gold(gold, timeout_s)
    except GoldError as exc:
        value = exc
    except CpuTimeLimit:
        value = TimeoutError(f"parsing the gold answer took over {timeout_s:g} s of CPU time")
    _GOLD_CACHE[key] = value
    if len(_GOLD_CACHE) > _GOLD_CACHE_SIZE:
        _GOLD_CACHE.popitem(last=False)
    return value


def run_task(task: dict) -> dict:
    """One answer: {kind: math|choice, gold, answer, n_options?, parse_timeout_s?, verify_timeout_s?}
    (budgets in CPU seconds)."""
    kind = task["kind"]
    if kind == "choice":
        verdict, reason, got = check_choice(task["gold"], task["answer"], task.get("n_options"))
        return {"verdict": verdict, "reason": reason, "extracted": got}
    pt = float(task.get("parse_timeout_s", PARSE_TIMEOUT_S))
    vt = float(task.get("verify_timeout_s", VERIFY_TIMEOUT_S))
    gold = _cached_gold(task["gold"], pt)
    if isinstance(gold, TimeoutError):
        return {"verdict": "timeout", "reason": str(gold), "extracted": None}
    if isinstance(gold, Exception):
        return {"verdict": "unparseable", "reason": str(gold), "extracted": None}
    verdict, reason, got = check_math(gold, task["answer"], parse_timeout_s=pt, verify_timeout_s=vt)
    return {"verdict": verdict, "reason": reason, "extracted": got}
