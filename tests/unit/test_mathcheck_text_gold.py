"""Golds math-verify can read only as text (issue 16): an answer equal to the gold as text is correct."""

from __future__ import annotations

import pytest

from ded.filter import verify_samples
from ded.filter.mathcheck import GoldError, as_text, check_math, parse_gold

EQUATIONS = "x = \\frac12, x = \\frac{-1\\pm\\sqrt{13}}{4}"

# (gold, answer after </think>, verdict)
CASES = [
    ("12:00", "\\boxed{12:00}", "correct"),
    ("12:00", "The hands meet at $\\boxed{12 : 00}$.", "correct"),
    ("12:00", "12:00", "correct"),  # the whole answer is the gold
    ("$12:00$", "So it is $12:00$", "correct"),
    (EQUATIONS, f"\\boxed{{{EQUATIONS}}}", "correct"),
    (EQUATIONS, "\\boxed{x = \\frac{1}{2}, x = \\frac{-1\\pm\\sqrt{13}}{4}}", "correct"),  # math-verify's normal form
    ("12:00", "\\boxed{11:00}", "wrong"),
    ("12:00", "At 12:00 the hands overlap, so \\boxed{11:00}", "wrong"),  # containing the gold is not enough
    ("12:00", "The answer is 12:00 or so.", "wrong"),
    # Neither the gold nor this answer is the other's text, and the gold cannot be compared as math.
    (EQUATIONS, f"{EQUATIONS}, or so I thought; \\boxed{{x = 1}}", "unparseable"),
    (EQUATIONS, "\\boxed{x = \\frac12}", "unparseable"),
    (EQUATIONS, "I give up.", "wrong"),  # no final answer: the model's failure
    # unchanged: golds that parse as math
    ("\\frac{3}{4}", "\\boxed{0.75}", "correct"),
    ("\\frac{3}{4}", "\\boxed{\\frac{4}{3}}", "wrong"),
    ("42", "\\boxed{42.0}", "correct"),
    ("42", "\\boxed{43}", "wrong"),
    ("7", "I give up.", "wrong"),
    ("x^2+5x+6=0, x^2-4=0", "\\boxed{x^2-4=0, x^2+5x+6=0}", "correct"),
    ("\\frac{", "\\boxed{1}", "unparseable"),
]


@pytest.mark.parametrize("gold, answer, verdict", CASES)
def test_text_golds_in_process(gold, answer, verdict):
    got, reason, _ = check_math(parse_gold(gold), answer)
    assert got == verdict, reason
    if verdict == "unparseable":
        assert "gold" in reason


def test_what_the_math_finds_correct_keeps_its_reason():
    assert check_math(parse_gold("42"), "\\boxed{42}")[:2] == ("correct", "matches the gold answer")
    assert check_math(parse_gold("12:00"), "\\boxed{12:00}")[:2] == ("correct", "matches the gold answer as text")


def test_text_golds_in_worker_processes():
    problems = {f"q{i}": {"id": f"q{i}", "domain": "math", "source": "test", "prompt": "q", "gold": g,
                          "gold_kind": "math"} for i, (g, _, _) in enumerate(CASES)}
    samples = [{"question_id": f"q{i}", "sample_id": i, "model": "teacher", "raw_text": t, "text": t,
                "reasoning": None, "answer": None}
               for i, (_, a, _) in enumerate(CASES) for t in [f"<think>r</think>{a}"]]
    got = [v["verdict"] for v in verify_samples(samples, problems, workers=1)]
    assert got == [v for _, _, v in CASES]


def test_parse_gold_keeps_the_text_beside_the_forms():
    clock = parse_gold("12:00")
    assert clock.text == "12:00" and clock.forms  # math-verify reads 12/00: not comparable, but there
    eqs = parse_gold(EQUATIONS)
    assert eqs.forms == [] and eqs.text == as_text("x = \\frac{1}{2}, x = \\frac{-1\\pm\\sqrt{13}}{4}")
    frac = parse_gold("\\frac{3}{4}")
    assert frac.text == "\\frac{3}{4}" and len(frac.forms) == 1
    for empty in ["", "   ", "$$"]:
        with pytest.raises(GoldError):
            parse_gold(empty)


def test_as_text_squeezes_space_only_where_it_is_not_meaningful():
    assert as_text(" 12 :\n 00 ") == "12:00"
    assert as_text("x = \\frac{1}{2}") == "x=\\frac{1}{2}"
    assert as_text("\\pi x") == "\\pi x" and as_text("1 2") == "1 2"
    assert as_text("  ") is None and as_text(None) is None
