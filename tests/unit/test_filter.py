"""verify_samples and its parts: format, length, math-verify in processes, choice, code, judge, CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.records import problem, sample

from ded.filter import UNDECIDED, summarize_verdicts, verify_samples
from ded.filter.checks import check_format, length_checks
from ded.filter.judge import Judge, parse_verdict
from ded.filter.mathcheck import CpuTimeLimit, check_choice, cpu_budget, extract_choice
from ded.filter.pool import KillablePool
from ded.records import VERDICT
from ded.think import lenient_answer

ROOT = Path(__file__).resolve().parents[2]

# (gold, answer after </think>, equivalent?)
MATH_PAIRS = [
    ("42", "So the answer is $\\boxed{42}$.", True),
    ("42", "\\boxed{42.0}", True),
    ("42", "\\boxed{43}", False),
    ("\\frac{3}{4}", "\\boxed{0.75}", True),
    ("\\frac{3}{4}", "\\boxed{\\dfrac{6}{8}}", True),
    ("\\frac{3}{4}", "\\boxed{\\frac{4}{3}}", False),
    ("x^2+1", "\\boxed{1 + x^{2}}", True),
    ("x^2+1", "\\boxed{x^2-1}", False),
    ("\\sqrt{2}", "\\boxed{2^{1/2}}", True),
    ("\\sqrt{2}", "\\boxed{\\sqrt{3}}", False),
    ("2\\pi", "\\boxed{2 \\pi}", True),
    ("(1,2)", "\\boxed{(1, 2)}", True),
    ("(1,2)", "\\boxed{(2, 1)}", False),
    ("\\{1,2,3\\}", "\\boxed{\\{3,2,1\\}}", True),
    ("-5", "The final answer is \\boxed{-5}", True),
    ("-5", "\\boxed{5}", False),
]






def test_math_golden_pairs_in_worker_processes():
    problems = {f"q{i}": problem(f"q{i}", gold_kind="math", gold=g) for i, (g, _, _) in enumerate(MATH_PAIRS)}
    samples = [sample(f"q{i}", i, answer=a) for i, (_, a, _) in enumerate(MATH_PAIRS)]
    verdicts = verify_samples(samples, problems, workers=2)
    got = [(v["question_id"], v["verdict"]) for v in verdicts]
    want = [(f"q{i}", "correct" if eq else "wrong") for i, (_, _, eq) in enumerate(MATH_PAIRS)]
    assert got == want
    for v in verdicts:
        assert VERDICT.problems(v) == []
        assert v["keep"] == (v["verdict"] == "correct")


def test_progress_in_the_log_leaves_the_verdicts_alone(caplog, monkeypatch):
    """With progress shown, math tasks go to the pool in parts (one map answers all at once)."""
    import ded.progress

    monkeypatch.setattr(ded.progress, "LOG_MIN_INTERVAL_S", 0.0)
    pairs = MATH_PAIRS * 3  # three parts of 16 tasks for one worker
    problems = {f"q{i}": problem(f"q{i}", gold_kind="math", gold=g) for i, (g, _, _) in enumerate(pairs)}
    samples = [sample(f"q{i}", i, answer=a) for i, (_, a, _) in enumerate(pairs)]
    quiet = verify_samples(samples, problems, workers=1)
    assert not any(r.getMessage().startswith("verifying: ") for r in caplog.records)
    with caplog.at_level("INFO", logger="ded.filter"):
        shown = verify_samples(samples, problems, workers=1)
    assert shown == quiet
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("verifying: ")]
    assert [line.split(" (")[0] for line in lines] == ["verifying: 0/48", "verifying: 16/48", "verifying: 32/48",
                                                      "verifying: 48/48"]


def test_math_special_verdicts():
    problems = {"a": problem("a", gold_kind="math", gold="7"), "nogold": problem("nogold", gold_kind="math", gold=None),
                "badgold": problem("badgold", gold_kind="math", gold="\\frac{")}
    samples = [
        sample("a", answer="I give up."),
        sample("nogold", answer="\\boxed{1}"),
        sample("badgold", answer="\\boxed{1}"),
        sample(
            "a", answer="<think>r</think>\\boxed{7} <think>again</think>", text="<think>r</think>\\boxed{7}</think>"
        ),
    ]
    v = verify_samples(samples, problems, workers=1)
    # No answer in the response is the model's failure; a missing or broken gold is the verifier's.
    assert [x["verdict"] for x in v] == ["wrong", "unparseable", "unparseable", "format"]
    assert "no answer found" in v[0]["reason"]
    assert "gold" in v[1]["reason"] and "gold" in v[2]["reason"]


def test_format_checks():
    assert check_format({"text": "<think>r</think>answer"})[0] is None
    assert check_format({"text": "<think>r</think>answer", "finish_reason": "length"})[0] == "truncated"
    for text, why in [("no tags", "no <think>"), ("<think>a</think><think>b</think>x", "pair"),
                      ("<think>r</think>   ", "no answer"), ("</think>x<think>", "before"),
                      ("<think></think>x", "empty reasoning"), ("hi <think>r</think>x", "text before")]:
        verdict, reason, answer = check_format({"text": text})
        assert verdict == "format" and why in reason and answer is None


def test_answers_are_taken_only_after_think():
    # The reasoning holds the right number; the answer after </think> is wrong.
    problems = {"a": problem("a", gold_kind="math", gold="12")}
    v = verify_samples(
        [sample("a", answer="", text="<think>maybe \\boxed{12}</think>\\boxed{13}")], problems, workers=1
    )
    assert v[0]["verdict"] == "wrong"


# (response text, lenient answer or None for a `format` failure, strict verdict or None when strict accepts)
FORMAT_CASES = [
    ("The sum is \\boxed{7}.", "The sum is \\boxed{7}.", "format"),  # no tags: the whole response
    ("<think>3 + 4</think>\\boxed{7}", "\\boxed{7}", None),
    ("<think></think>\\boxed{7}", "\\boxed{7}", "format"),  # a non-thinking template's empty pair
    ("Sure. <think>3 + 4</think>\\boxed{7}", "\\boxed{7}", "format"),
    ("<think>3 + 4 = \\boxed{7}", None, "format"),  # never closed
    ("<think>3 + 4 = \\boxed{7}</think>", None, "format"),  # the answer only inside the reasoning
    ("<think>a</think>\\boxed{6}<think>b</think>\\boxed{7}", None, "format"),
    ("3 + 4</think>\\boxed{7}", None, "format"),  # stray close tag: the template did not prefill
    ("</think>x<think>", None, "format"),
    ("   ", None, "format"),
]


@pytest.mark.parametrize("text, answer, strict", FORMAT_CASES)
def test_lenient_and_strict_format(text, answer, strict):
    got, problem = lenient_answer(text)
    assert got == answer and (problem is None) == (answer is not None)
    verdict, _, lenient_got = check_format({"text": text}, lenient=True)
    assert (verdict, lenient_got) == ((None, answer) if answer is not None else ("format", None))
    assert check_format({"text": text})[0] == strict


def test_lenient_reads_cut_responses():
    cut = {"text": "Adding, we get \\boxed{7}", "finish_reason": "length"}
    assert check_format(cut)[0] == "truncated"
    verdict, reason, answer = check_format(cut, lenient=True)
    assert verdict is None and answer == cut["text"] and "token limit" in reason
    # A cut inside the reasoning leaves <think> unclosed: still a failure.
    assert check_format({"text": "<think>adding", "finish_reason": "length"}, lenient=True)[0] == "format"


def test_lenient_verify_samples_math_and_choice():
    problems = {
        "a": problem("a", gold_kind="math", gold="7"),
        "c": problem("c", gold_kind="choice", gold="B", options=["1", "2", "3", "4"]),
    }
    samples = [sample("a", 0, answer="", text="3 + 4 = 7, so \\boxed{7}."),
               sample("a", 1, answer="", text="<think>maybe \\boxed{7}</think>"),
               sample("a", 2, answer="", text="<think>so \\boxed{7}"),
               sample("a", 3, answer="", text="\\boxed{7}", finish_reason="length"),
               sample("c", 0, answer="", text="Option two fits. The answer is (B)."),
               sample("c", 1, answer="", text="<think>(B)?</think>The answer is (C).")]
    lenient = [x["verdict"] for x in verify_samples(samples, problems, workers=1, lenient=True)]
    strict = [x["verdict"] for x in verify_samples(samples, problems, workers=1)]
    assert lenient == ["correct", "format", "format", "correct", "correct", "wrong"]
    assert strict == ["format", "format", "format", "truncated", "format", "wrong"]


@pytest.mark.parametrize("lenient", [False, True])
def test_code_inside_think_never_runs(lenient, tmp_path):
    marker = tmp_path / "ran"
    problems = {
        "p": problem(
            "p", gold_kind="tests", gold=None, domain="code", tests=[{"input": "4\n", "output": "16\n"}], time_limit_s=2
        )
    }
    inside = f"```python\nopen({str(marker)!r}, 'w').write('x')\nprint(16)\n```"
    after = "```python\nprint(int(input()) + 1)\n```"
    samples = [sample("p", 0, answer="", text=f"<think>{inside}</think>{after}"),
               sample("p", 1, answer="", text=f"<think>{inside}</think>No code this time.")]
    v = verify_samples(samples, problems, workers=1, lenient=lenient)
    assert [x["verdict"] for x in v] == ["wrong_answer", "no_code"]
    assert not marker.exists()


def test_undecided_is_the_verifiers_failure_only():
    assert UNDECIDED == {"undecided", "timeout", "unparseable", "infra_error"}
    problems = {
        "a": problem("a", gold_kind="math", gold="7"),
        "nogold": problem("nogold", gold_kind="math", gold=None),
        "badgold": problem("badgold", gold_kind="math", gold="\\frac{"),
        "c": problem("c", gold_kind="choice", gold="A", options=["x", "y"]),
    }
    samples = [
        sample("a", answer="I give up."),
        sample("c", answer="no letter here"),
        sample("nogold", answer="\\boxed{1}"),
        sample("badgold", answer="\\boxed{1}"),
    ]
    v = verify_samples(samples, problems, workers=1, lenient=True)
    assert [(x["verdict"] in UNDECIDED, x["keep"]) for x in v] == [(False, False)] * 2 + [(True, False)] * 2


@pytest.fixture(scope="module")
def word_tokenizer(tmp_path_factory) -> str:
    """A real (tiny) Hugging Face tokenizer folder: one token per whitespace-separated word."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    d = tmp_path_factory.mktemp("tok")
    tok.save(str(d / "tokenizer.json"))
    return str(d)


def test_length_check(word_tokenizer):
    short = sample("a", answer="\\boxed{1}")
    long = sample("a", answer="", text="<think>" + "w " * 100 + "</think>\\boxed{1}")
    checks = length_checks([short, long], word_tokenizer, 50)
    assert checks[0]["ok"] and checks[0]["how"] == "bytes bound"
    assert not checks[1]["ok"] and checks[1]["tokens"] > 50
    problems = {"a": problem("a", gold_kind="math", gold="1")}
    v = verify_samples([short, long], problems, workers=1, tokenizer=word_tokenizer, max_tokens=50)
    assert [x["verdict"] for x in v] == ["correct", "length"]
    # Without a tokenizer the backend's count is used, and its absence is an error.
    assert length_checks([dict(short, completion_tokens=60)], None, 50)[0]["ok"] is False
    with pytest.raises(ValueError, match="completion_tokens"):
        length_checks([short], None, 50)


def test_choice():
    assert extract_choice("The answer is (C).") == "C"
    assert extract_choice("\\boxed{\\text{B}}") == "B"
    assert extract_choice("Final answer: d", 4) == "D"
    assert extract_choice("A") == "A"
    assert extract_choice("I think it is E", 4) is None
    assert check_choice("B", "**Answer: B**")[0] == "correct"
    assert check_choice("B", "\\boxed{A}")[0] == "wrong"
    assert check_choice("B", "no idea")[:2] == ("wrong", "no answer found (no option letter)")
    assert check_choice("", "A")[0] == "unparseable"  # no gold letter: undecided
    assert check_choice("E", "A", 4)[0] == "unparseable"


def test_mixed_batch_keeps_input_order_and_summarizes():
    problems = {
        "m": problem("m", gold_kind="math", gold="\\frac{1}{2}"),
        "c": problem("c", gold_kind="choice", gold="A", options=["x", "y", "z", "w"]),
        "p": problem(
            "p", gold_kind="tests", gold=None, domain="code", tests=[{"input": "4\n", "output": "16\n"}], time_limit_s=1
        ),
        "n": problem("n", gold_kind="none", gold=None),
    }
    code_ok = "```python\nn = int(input())\nprint(n * n)\n```"
    samples = [
        sample("p", 0, answer=code_ok),
        sample("m", 0, answer="\\boxed{0.5}"),
        sample("c", 0, answer="Answer: (B)"),
        sample("p", 1, answer="```python\nprint(15)\n```"),
        sample("n", 0, answer="A proof."),
        sample("m", 1, answer="x", finish_reason="length"),
        sample("p", 2, answer="no code at all"),
    ]
    v = verify_samples(samples, problems, workers=2)
    assert [(x["question_id"], x["sample_id"]) for x in v] == [(s["question_id"], s["sample_id"]) for s in samples]
    assert [x["verdict"] for x in v] == ["accepted", "correct", "wrong", "wrong_answer", "undecided", "truncated",
                                         "no_code"]
    assert [x["keep"] for x in v] == [True, True, False, False, False, False, False]
    rows = summarize_verdicts(v)
    assert rows[-1]["verdict"] == "all" and rows[-1]["n"] == 7 and rows[-1]["keep"] == 2
    assert sum(r["n"] for r in rows[:-1]) == 7


def test_unknown_question_is_an_error():
    with pytest.raises(KeyError, match="nope"):
        verify_samples([sample("nope", answer="\\boxed{1}")], {}, workers=1)


def test_judge_records_prompt_output_and_verdict():
    seen = []

    def generate(prompts):
        seen.extend(prompts)
        return ["<think>hmm YES or NO?</think>The proof is fine.\nVERDICT: YES" if "good" in p else "VERDICT: no"
                for p in prompts]

    problems = {"n": problem("n", gold_kind="none", gold=None, prompt="Prove that 1 + 1 = 2.")}
    samples = [sample("n", 0, answer="A good proof."), sample("n", 1, answer="A bad proof.")]
    v = verify_samples(samples, problems, workers=1, judge=Judge(generate))
    assert [x["verdict"] for x in v] == ["correct", "wrong"]
    assert v[0]["keep"] and not v[1]["keep"]
    assert v[0]["checks"]["judge"]["prompt"] == seen[0] and "Prove that 1 + 1 = 2." in seen[0]
    assert "VERDICT: YES" in v[0]["checks"]["judge"]["output"] and v[0]["checks"]["judge"]["decision"] == "YES"
    assert v[0]["checks"]["answer"] == {"kind": "none"} and v[1]["checks"]["judge"]["decision"] == "NO"
    assert parse_verdict("blah") is None and parse_verdict("yes, and finally NO") == "NO"


def test_cpu_budget_counts_cpu_not_waiting():
    with cpu_budget(0.3):
        time.sleep(0.6)  # waiting uses no CPU time
    with pytest.raises(CpuTimeLimit):
        with cpu_budget(0.2):
            while True:
                pass
    with pytest.raises(CpuTimeLimit):  # spent is spent, even where the block caught the signal's exception
        with cpu_budget(0.2):
            try:
                while True:
                    pass
            except BaseException:  # noqa: BLE001
                pass
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_pool_kills_stuck_tasks_and_survives_dead_workers():
    with KillablePool(2, "time:sleep", task_timeout_s=1.0) as pool:
        out = pool.map([0, 30, 0], on_timeout=lambda t: "timeout", on_crash=lambda t, m: "crash")
    assert out == [None, "timeout", None]
    with KillablePool(1, "os:_exit", task_timeout_s=5.0) as pool:
        out = pool.map([3, 4], on_timeout=lambda t: "timeout", on_crash=lambda t, m: f"crash {m}")
    assert all(o.startswith("crash worker died") for o in out)


def _cli(args: list[str], lines: list[dict]) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "ded", "filter", *args],
        input="".join(json.dumps(x) + "\n" for x in lines),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_cli_math_and_code():
    out = _cli(["math", "--workers", "1"], [
        {"id": "1", "gold": "\\frac{3}{4}", "response": "<think>r</think>\\boxed{0.75}"},
        {"id": "2", "gold": "3", "response": "\\boxed{3}"},
        {"id": "3", "gold": "3", "response": "<think>r</think>\\boxed{4}"},
    ])
    assert [(o["id"], o["verdict"]) for o in out] == [("1", "correct"), ("2", "format"), ("3", "wrong")]
    tests = [{"input": "3\n", "output": "6\n"}]
    out = _cli(["code"], [
        {"id": "a", "tests": tests, "time_limit_s": 1, "memory_mb": 256,
         "response": "<think>r</think>```python\nprint(2 * int(input()))\n```"},
        {"id": "b", "tests": tests, "time_limit_s": 0.5, "memory_mb": 256,
         "response": "<think>r</think>```python\nwhile True: pass\n```"},
        {"id": "c", "tests": tests, "response": "no think"},
    ])
    assert [(o["id"], o["verdict"]) for o in out] == [("a", "accepted"), ("b", "time_limit"), ("c", "no_code")]
