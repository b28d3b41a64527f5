"""Evaluation: metric arithmetic, scoring of every benchmark format, score
tables, lm-eval command lines and results conversion, and one real lm-eval run."""


import json
import math
import re
import subprocess
import sys
from fractions import Fraction

import pandas as pd
import pytest
import yaml
from support.config import resolved
from support.evaluation import FIXTURES, ROOT
from support.workflow import copy_workflow, dry_run

from ded.data.benchmarks import (
    LETTERS,
    aime_problems,
    gpqa_problems,
    livecodebench_problems,
    math500_problems,
)
from ded.data.sources import Rows
from ded.evaluate.lm_eval_suite import (
    lm_eval_commands,
    ood_settings,
    results_file_to_rows,
    results_to_rows,
)
from ded.evaluate.metrics import (
    UNDECIDED_VERDICTS,
    ScoringError,
    base_model_of,
    delta_vs_base,
    gain_se_rows,
    join_outcomes,
    paired_gain_se,
    pass_at_k,
    problem_pass_rates,
    run_pass_at_1,
    score_benchmark,
    score_samples,
)
from ded.evaluate.models import (
    eval_generation_spec,
    evaluated_models,
    parse_model_fragment,
    sampling_settings,
)
from ded.evaluate.tables import (
    collect_scores,
    read_scores,
    summary_csv_frame,
    summary_markdown,
    summary_tables,
    write_scores,
    write_summary,
)
from ded.io import RecordError, validate_records
from ded.records import SCORE_COLUMNS


def _problem(pid, gold_kind, difficulty=None, domain="math"):
    p = {"id": pid, "domain": domain, "source": "fixture", "prompt": f"question {pid}",
         "gold": None if gold_kind == "tests" else "A", "gold_kind": gold_kind}
    if gold_kind == "tests":
        p["tests"] = [{"input": "1\n", "output": "1\n"}]
    if difficulty is not None:
        p["difficulty"] = difficulty
    return p


def _sample(qid, sid, tokens=None, model="base/smol"):
    s = {"question_id": qid, "sample_id": sid, "model": model, "raw_text": "x", "text": "<think>r</think>a",
         "reasoning": "r", "answer": "a"}
    if tokens is not None:
        s["completion_tokens"] = tokens
    return s


def _verdict(qid, sid, outcome, model="base/smol"):
    """outcome: True (correct), False (wrong) or a verdict string such as 'infra_error'."""
    verdict = {True: "correct", False: "wrong_answer"}.get(outcome, outcome)
    return {"question_id": qid, "sample_id": sid, "model": model, "verdict": verdict,
            "reason": "fixture", "keep": outcome is True}


def _benchmark(grid, gold_kind="math", difficulties=None, tokens=10):
    """grid: {question_id: [outcome per sample]} -> (samples, verdicts, problems)."""
    problems = [_problem(q, gold_kind, (difficulties or {}).get(q)) for q in grid]
    samples = [_sample(q, i, tokens + i) for q, outs in grid.items() for i in range(len(outs))]
    verdicts = [_verdict(q, i, o) for q, outs in grid.items() for i, o in enumerate(outs)]
    for kind, records in (("problem", problems), ("sample", samples), ("verdict", verdicts)):
        validate_records(records, kind)
    return samples, verdicts, problems


def _by(rows):
    return {(r["benchmark"], r["metric"]): (r["value"], r["n"]) for r in rows}


def _closed_form(n, c, k):
    if n - c < k:
        return Fraction(1)
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


@pytest.mark.parametrize("n", [1, 2, 5, 16, 40])
def test_pass_at_k_matches_closed_form_on_every_n_c_k(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(float(_closed_form(n, c, k)), abs=1e-12), (n, c, k)


def test_pass_at_k_edge_cases():
    assert pass_at_k(16, 0, 1) == 0.0 and pass_at_k(16, 0, 16) == 0.0  # c = 0
    assert pass_at_k(16, 16, 1) == 1.0 and pass_at_k(16, 16, 16) == 1.0  # c = n
    assert pass_at_k(16, 1, 16) == 1.0  # k = n: any correct sample is found
    assert pass_at_k(16, 4, 1) == pytest.approx(4 / 16)  # pass@1 is c/n
    # large n never overflows (C(1000, 500) is ~1e299)
    assert pass_at_k(1000, 3, 500) == pytest.approx(float(_closed_form(1000, 3, 500)), rel=1e-9)
    for bad in ((4, 5, 1), (4, -1, 1), (4, 2, 0), (4, 2, 5)):
        with pytest.raises(ValueError):
            pass_at_k(*bad)


def test_math_benchmark_pass1_std_passk_tokens():
    # 3 problems x 4 samples; correct counts 4, 2, 0.
    grid = {"q1": [True, True, True, True], "q2": [True, False, True, False], "q3": [False] * 4}
    samples, verdicts, problems = _benchmark(grid)
    rows = score_benchmark(samples, verdicts, problems, "base/smol", "aime24", pass_k=[1, 2, 4, 8])
    assert all(tuple(r) == SCORE_COLUMNS for r in rows)
    got = _by(rows)
    assert got[("aime24", "pass@1")] == (pytest.approx((1 + 0.5 + 0) / 3), 3)
    # runs: r0 = {T,T,F}, r1 = {T,F,F}, r2 = {T,T,F}, r3 = {T,F,F}
    runs = [2 / 3, 1 / 3, 2 / 3, 1 / 3]
    mean = sum(runs) / 4
    std = math.sqrt(sum((x - mean) ** 2 for x in runs) / 3)
    assert got[("aime24", "pass@1_std")] == (pytest.approx(std), 4)
    assert got[("aime24", "pass@2")][0] == pytest.approx((1 + float(_closed_form(4, 2, 2)) + 0) / 3)
    assert got[("aime24", "pass@4")] == (pytest.approx(2 / 3), 3)
    assert ("aime24", "pass@8") not in got  # k above the samples per problem is skipped
    assert got[("aime24", "mean_tokens")] == (pytest.approx(11.5), 12)  # tokens 10..13 per problem
    assert got[("aime24", "undecided")] == (0, 12)
    assert not any(":" in b for b, _ in got)  # no difficulty, no breakdown


def test_pass1_standard_error_has_problems_as_the_unit():
    grid = {"q1": [True, True, True, True], "q2": [True, False, True, False], "q3": [False] * 4}
    got = _by(score_benchmark(*_benchmark(grid), "base/smol", "aime24"))
    rates = pd.Series([1.0, 0.5, 0.0])
    assert got[("aime24", "pass@1_se")] == (pytest.approx(rates.std(ddof=1) / math.sqrt(3)), 3)
    one = _by(score_benchmark(*_benchmark({"q1": [True, False]}), "base/smol", "aime24"))
    assert ("aime24", "pass@1_se") not in one  # one problem: no spread to measure


def test_gain_standard_error_is_paired_by_problem():
    base = {"q1": [False, False], "q2": [True, False], "q3": [False, False], "q4": [True, True], "q5": [False] * 2}
    model = {"q1": [True, True], "q2": [True, True], "q3": [False, True], "q4": [True, True], "q5": [False] * 2}
    rates = {("base/smol", "arith"): problem_pass_rates(_benchmark(base)[1]),
             ("trained/smol/terse/full", "arith"): problem_pass_rates(_benchmark(model)[1]),
             ("teacher/terse", "arith"): problem_pass_rates(_benchmark(model)[1])}
    assert rates[("base/smol", "arith")] == {"q1": 0.0, "q2": 0.5, "q3": 0.0, "q4": 1.0, "q5": 0.0}
    diffs = pd.Series([1.0, 0.5, 0.5, 0.0, 0.0])
    gain, se, n = paired_gain_se(rates[("trained/smol/terse/full", "arith")], rates[("base/smol", "arith")])
    assert (gain, se, n) == (pytest.approx(diffs.mean()), pytest.approx(diffs.std(ddof=1) / math.sqrt(5)), 5)
    # one row, for the model with a base (teachers have none), n = problems paired
    assert gain_se_rows(rates) == [dict(zip(SCORE_COLUMNS, ("trained/smol/terse/full", "arith", "delta_pass@1_se",
                                                           pytest.approx(se), 5)))]
    # only the problems both were scored on are paired
    assert paired_gain_se({"q1": 1.0, "q2": 0.0, "x": 1.0}, {"q1": 0.0, "q2": 0.0})[2] == 2


def test_undecided_verdicts_count_as_wrong_in_problem_rates():
    verdicts = [{"question_id": "q", "sample_id": i, "keep": True, "verdict": v}
                for i, v in enumerate(["correct", sorted(UNDECIDED_VERDICTS)[0]])]
    assert problem_pass_rates(verdicts) == {"q": 0.5}


def test_std_across_runs_equals_mean_of_runs():
    grid = {f"q{i}": [(i + j) % 3 == 0 for j in range(6)] for i in range(7)}
    samples, verdicts, problems = _benchmark(grid)
    outcomes = join_outcomes(samples, verdicts, problems)
    runs = run_pass_at_1(outcomes)
    assert sorted(runs) == list(range(6))
    rows = _by(score_benchmark(samples, verdicts, problems, "m", "b"))
    assert rows[("b", "pass@1")][0] == pytest.approx(sum(runs.values()) / 6)
    assert rows[("b", "pass@1_std")][0] == pytest.approx(pd.Series(list(runs.values())).std(ddof=1))


def test_choice_benchmark_single_sample_has_no_std():
    # GPQA-Diamond: one sample per problem.
    grid = {"g1": [True], "g2": [False], "g3": [True], "g4": [True]}
    samples, verdicts, problems = _benchmark(grid, gold_kind="choice")
    got = _by(score_benchmark(samples, verdicts, problems, "trained/smol/terse/full", "gpqa_diamond",
                              pass_k=[1, 4]))
    assert got[("gpqa_diamond", "pass@1")] == (0.75, 4)
    assert ("gpqa_diamond", "pass@1_std") not in got
    assert ("gpqa_diamond", "pass@4") not in got


def test_code_benchmark_difficulty_breakdown_and_undecided():
    # LiveCodeBench: 2 samples; one sandbox failure counts as incorrect and is reported.
    grid = {"e1": [True, True], "e2": [True, False], "m1": [False, "infra_error"], "m2": [True, True],
            "h1": [False, False]}
    difficulty = {"e1": "easy", "e2": "easy", "m1": "medium", "m2": "medium", "h1": "hard"}
    samples, verdicts, problems = _benchmark(grid, gold_kind="tests", difficulties=difficulty)
    rows = score_benchmark(samples, verdicts, problems, "base/smol", "livecodebench", pass_k=[2])
    got = _by(rows)
    assert got[("livecodebench", "pass@1")] == (pytest.approx((1 + 0.5 + 0 + 1 + 0) / 5), 5)
    assert got[("livecodebench", "undecided")] == (1, 10)
    assert got[("livecodebench:easy", "pass@1")] == (0.75, 2)
    assert got[("livecodebench:medium", "pass@1")] == (0.5, 2)
    assert got[("livecodebench:medium", "undecided")] == (1, 4)
    assert got[("livecodebench:hard", "pass@1")] == (0.0, 1)
    assert got[("livecodebench:easy", "pass@2")] == (1.0, 2)
    benchmarks = list(dict.fromkeys(r["benchmark"] for r in rows))
    assert benchmarks == ["livecodebench", "livecodebench:easy", "livecodebench:medium", "livecodebench:hard"]


def test_difficulty_labels_are_normalised():
    grid = {"a": [True], "b": [False]}
    samples, verdicts, problems = _benchmark(grid, difficulties={"a": "Level 1", "b": "level 5"})
    got = _by(score_benchmark(samples, verdicts, problems, "m", "math500"))
    assert got[("math500:level_1", "pass@1")] == (1.0, 1)
    assert got[("math500:level_5", "pass@1")] == (0.0, 1)


def test_no_token_counts_means_no_length_row():
    samples, verdicts, problems = _benchmark({"q": [True, False]})
    for s in samples:
        del s["completion_tokens"]
    assert ("b", "mean_tokens") not in _by(score_benchmark(samples, verdicts, problems, "m", "b"))


@pytest.mark.parametrize("break_it, message", [
    (lambda s, v, p: v.pop(), "no verdict for question 'q2' sample 1"),
    (lambda s, v, p: s.pop(), "verdict(s) without a sample"),
    (lambda s, v, p: p.append(_problem("q9", "math")), "have no sample, e.g. 'q9'"),
    (lambda s, v, p: s.append(_sample("zz", 0)), "'zz' whose problem is not in the benchmark"),
    (lambda s, v, p: v.append(dict(v[0])), "two verdicts for question 'q1' sample 0"),
    (lambda s, v, p: (s.append(_sample("q1", 5, model="other")), v.append(_verdict("q1", 5, True))),
     "several models"),
])
def test_mismatched_inputs_fail_clearly(break_it, message):
    samples, verdicts, problems = _benchmark({"q1": [True, False], "q2": [False, True]})
    break_it(samples, verdicts, problems)
    with pytest.raises(ScoringError, match=re.escape(message)):
        score_benchmark(samples, verdicts, problems, "m", "b")


def _generation(problem, sid, text, finish_reason="stop", model="base/qwen"):
    return {"question_id": problem["id"], "sample_id": sid, "model": model, "raw_text": text, "text": text,
            "reasoning": None, "answer": None, "completion_tokens": 100, "finish_reason": finish_reason}


def _score(problem, benchmark, texts, **kw):
    """What rule score_eval computes for one problem answered once per text."""
    samples = [_generation(problem, sid, t) if isinstance(t, str) else _generation(problem, sid, *t)
               for sid, t in enumerate(texts)]
    verdicts, rows = score_samples(samples, [problem], "base/qwen", benchmark, workers=1, **kw)
    return [v["verdict"] for v in verdicts], _by(rows)


def test_score_aime_style_with_and_without_think():
    [p] = aime_problems(Rows([{"problem": "Find the remainder of 2^10 divided by 1000.", "answer": "24"}],
                             "fixture.jsonl"), "aime24")
    verdicts, got = _score(p, "aime24", [
        "2^10 = 1024, so the remainder is $\\boxed{24}$.",  # an instruct model: no tags
        "<think>1024 mod 1000 = 24</think>The answer is \\boxed{24}.",
        "<think>it is \\boxed{24}</think>",  # the answer only inside the reasoning
        "<think>1024 mod 1000 is 24",  # never closed
        ("2^10 = 1024, the remainder is \\boxed{24}", "length"),  # cut, but the answer is there
        "<think>hmm \\boxed{24}</think>\\boxed{25}",  # only the answer after </think> counts
    ], pass_k=[2])
    assert verdicts == ["correct", "correct", "format", "format", "correct", "wrong"]
    assert got[("aime24", "pass@1")] == (pytest.approx(3 / 6), 1)
    assert got[("aime24", "pass@2")] == (pytest.approx(1 - 3 / 15), 1)
    assert got[("aime24", "undecided")] == (0, 6)


def test_score_math500_style_latex_answer():
    [p] = math500_problems(Rows([{"problem": "Compute $\\sin 60^\\circ$.", "answer": "\\frac{\\sqrt{3}}{2}", "level": 2,
                                  "unique_id": "test/precalculus/1.json", "subject": "Precalculus"}],
                                "fixture.jsonl"), "math500")
    verdicts, got = _score(p, "math500", [
        "$\\sin 60^\\circ = \\boxed{\\dfrac{\\sqrt3}{2}}$",
        "<think>half of root three</think>So $\\sin 60^\\circ = \\frac{\\sqrt{3}}{2}$.",
        "I am not sure.",  # no answer in it: a failure, not undecided
        "\\boxed{\\frac{1}{2}}",
    ])
    assert verdicts == ["correct", "correct", "wrong", "wrong"]
    assert got[("math500", "pass@1")] == (0.5, 1)
    assert got[("math500:level_2", "pass@1")] == (0.5, 1)
    assert got[("math500", "undecided")] == (0, 4)


def test_score_gpqa_style_letter_after_shuffle():
    row = {"Question": "Which of these is a noble gas?", "Correct Answer": "Argon",
           "Incorrect Answer 1": "Nitrogen", "Incorrect Answer 2": "Oxygen", "Incorrect Answer 3": "Chlorine"}
    [p] = gpqa_problems(Rows([row], "fixture.csv"), "gpqa_diamond", seed=0)
    gold = p["gold"]
    assert p["options"][LETTERS.index(gold)] == "Argon" and f"{gold}) Argon" in p["prompt"]
    other = next(x for x in "ABCD" if x != gold)
    verdicts, got = _score(p, "gpqa_diamond", [
        f"Argon is a noble gas. The answer is ({gold}).",
        f"<think>({other}) looks wrong, ({gold}) is argon</think>\\boxed{{{gold}}}",
        f"<think>surely ({gold})</think>Answer: {other}",
        "Noble gases are in group 18.",  # no option letter: a failure
    ])
    assert verdicts == ["correct", "correct", "wrong", "wrong"]
    assert got[("gpqa_diamond", "pass@1")] == (0.5, 1)


def test_score_stdin_code_problem():
    tests = [{"input": "3\n", "output": "9\n", "testtype": "stdin"}]
    row = {"question_title": "Square", "question_content": "Read n and print n squared.",
           "public_test_cases": json.dumps(tests),
           "private_test_cases": json.dumps([{"input": "12\n", "output": "144\n"}]),
           "difficulty": "easy", "question_id": "abc000_a", "platform": "atcoder", "metadata": "{}"}
    [p] = livecodebench_problems(Rows([row], "fixture.jsonl"), "livecodebench")
    right = "```python\nn = int(input())\nprint(n * n)\n```"
    wrong = "```python\nprint(9)\n```"
    verdicts, got = _score(p, "livecodebench", [
        f"Square it:\n{right}",
        f"<think>{right}</think>{wrong}",  # only the program after </think> runs
        f"<think>{wrong}</think>Here it is:\n{right}",
        "I would loop over the input.",
    ])
    assert verdicts == ["accepted", "wrong_answer", "accepted", "no_code"]
    assert got[("livecodebench", "pass@1")] == (0.5, 1)
    assert got[("livecodebench:easy", "pass@1")] == (0.5, 1)


def test_undecided_means_the_same_in_compression_and_metrics():
    from ded.filter import UNDECIDED
    from ded.select import compression

    assert compression.UNDECIDED_VERDICTS is UNDECIDED and UNDECIDED_VERDICTS is UNDECIDED
    good, bad_gold = aime_problems(Rows([{"problem": "1+1?", "answer": "2"}, {"problem": "x?", "answer": "\\frac{"}],
                                        "fixture.jsonl"), "aime24")
    texts = {good["id"]: ["\\boxed{2}", "No idea.", "\\boxed{3}"], bad_gold["id"]: ["\\boxed{1}"]}
    problems = [good, bad_gold]
    samples = [_generation(p, sid, t) for p in problems for sid, t in enumerate(texts[p["id"]])]
    verdicts, rows = score_samples(samples, problems, "base/qwen", "aime24", workers=1)
    assert [v["verdict"] for v in verdicts] == ["correct", "wrong", "wrong", "unparseable"]
    # A math-verify time-out, as the verifier pool reports it, on a third sample of `good`.
    timeout = {"question_id": good["id"], "sample_id": 3, "model": "base/qwen", "verdict": "timeout",
               "reason": "verifier killed after 60 s", "keep": False}
    samples.append(_generation(good, 3, "\\boxed{2^{2^{100}}}"))
    verdicts.append(timeout)
    rates = {r["question_id"]: r for r in compression.pass_rates(verdicts)}
    assert rates[good["id"]] == {"question_id": good["id"], "n": 4, "n_pass": 1, "n_fail": 2, "n_undecided": 1,
                                 "pass_rate": pytest.approx(1 / 3)}
    assert rates[bad_gold["id"]]["pass_rate"] is None and rates[bad_gold["id"]]["n_undecided"] == 1
    got = _by(score_benchmark(samples, verdicts, problems, "base/qwen", "aime24"))
    assert got[("aime24", "undecided")] == (2, 5)
    assert got[("aime24", "pass@1")] == (pytest.approx((1 / 4 + 0) / 2), 2)  # undecided count as incorrect


def _rows(model, benchmark, **metrics):
    return [dict(zip(SCORE_COLUMNS, (model, benchmark, m.replace("pass1", "pass@1"), v, 10)))
            for m, v in metrics.items()]


def test_base_model_and_deltas():
    assert base_model_of("trained/smol/terse/full") == "base/smol"
    assert base_model_of("smoke/smol/terse") == "base/smol"
    assert base_model_of("base/smol") is None and base_model_of("teacher/terse") is None
    scores = pd.DataFrame(_rows("base/smol", "arith", pass1=0.25, mean_tokens=80.0)
                          + _rows("trained/smol/terse/full", "arith", pass1=0.5, mean_tokens=60.0, undecided=1.0)
                          + _rows("trained/smol/terse/full", "stdio", pass1=0.5)
                          + _rows("teacher/terse", "arith", pass1=0.9))
    got = {(r["model"], r["benchmark"], r["metric"]): r["value"] for r in delta_vs_base(scores)}
    assert got == {("trained/smol/terse/full", "arith", "delta_pass@1"): 0.25,
                   ("trained/smol/terse/full", "arith", "delta_mean_tokens"): -20.0}
    # an explicit mapping works as well
    got = delta_vs_base(scores, {"teacher/terse": "base/smol"}, metrics=["pass@1"])
    assert [(r["model"], r["value"]) for r in got] == [("teacher/terse", pytest.approx(0.65))]


def test_write_read_collect_and_summaries(tmp_path):
    a = tmp_path / "eval/base/smol/arith/scores.tsv"
    b = tmp_path / "eval/trained/smol/terse/full/arith/scores.tsv"
    c = tmp_path / "eval/base/smol/stdio/scores.tsv"
    write_scores(a, _rows("base/smol", "arith", pass1=0.25, mean_tokens=80.0))
    write_scores(b, _rows("trained/smol/terse/full", "arith", pass1=0.5, mean_tokens=61.5))
    write_scores(c, _rows("base/smol", "stdio", pass1=1 / 3) + _rows("base/smol", "stdio:easy", pass1=0.5))
    assert a.read_text().splitlines()[0] == "\t".join(SCORE_COLUMNS)
    back = read_scores(c)
    assert back["value"].tolist() == pytest.approx([1 / 3, 0.5]) and back["n"].tolist() == [10, 10]

    scores = collect_scores([b, a, c])
    assert list(scores.columns) == list(SCORE_COLUMNS) and len(scores) == 6
    assert scores["model"].tolist()[:4] == ["base/smol"] * 4  # sorted

    tables = summary_tables(scores)
    assert list(tables) == ["base/smol", "trained/smol/terse/full"]
    assert tables["base/smol"].loc["stdio:easy", "pass@1"] == 0.5
    assert list(tables["base/smol"].columns) == ["pass@1", "mean_tokens"]
    md = summary_markdown(scores)
    assert "## trained/smol/terse/full" in md and "| arith | 0.5000 | 61.5 |" in " ".join(md.split())
    assert list(tables["base/smol"].index) == ["arith", "stdio", "stdio:easy"]
    wide = summary_csv_frame(scores)
    assert list(wide.columns) == ["model", "benchmark", "pass@1", "mean_tokens"] and len(wide) == 4
    write_summary(scores, tmp_path / "s.md", tmp_path / "s.csv")
    assert pd.read_csv(tmp_path / "s.csv").shape == (4, 4)

    with pytest.raises(ValueError, match="appears in 2 input rows"):
        collect_scores([a, a])


def test_read_scores_names_file_and_field(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("model\tbenchmark\tmetric\tvalue\tn\nm\tb\tpass@1\t0.5\t3\nm\tb\tx\tlots\t3\n")
    with pytest.raises(RecordError, match=r"bad.tsv, line 3: field 'value'"):
        read_scores(bad)
    bad.write_text("model\tbench\tmetric\tvalue\tn\n")
    with pytest.raises(RecordError, match="columns are"):
        read_scores(bad)


def test_cli_score_and_collect(tmp_path):
    samples, verdicts, problems = _benchmark({"q1": [True, False], "q2": [True, True]})
    paths = {}
    for name, records in (("samples", samples), ("verdicts", verdicts), ("problems", problems)):
        paths[name] = tmp_path / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "eval/base/smol/arith/scores.tsv"
    cmd = [sys.executable, "-m", "ded", "evaluate", "score", "--samples", str(paths["samples"]),
           "--verdicts", str(paths["verdicts"]), "--problems", str(paths["problems"]),
           "--model", "base/smol", "--benchmark", "arith", "--pass-k", "1", "2", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    got = {r.metric: r.value for r in read_scores(out).itertuples()}
    assert got["pass@1"] == 0.75 and got["pass@2"] == 1.0
    proc = subprocess.run([sys.executable, "-m", "ded", "evaluate", "collect", str(out), "--out",
                           str(tmp_path / "scores.tsv"), "--summary-md", str(tmp_path / "scores.md")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "## base/smol" in (tmp_path / "scores.md").read_text()


def _config():
    return resolved(yaml.safe_load((ROOT / "config/config.yaml").read_text()))


def test_fragments_and_generation_spec():
    assert parse_model_fragment("trained/smol/terse/full") == ("trained", ["smol", "terse", "full"])
    for bad in ("trained/smol", "base/", "student/smol", "base/a/b"):
        with pytest.raises(ValueError, match="is not one of"):
            parse_model_fragment(bad)
    cfg = _config()
    spec = eval_generation_spec("teacher/terse", "arith", cfg, model_dir="m")
    assert spec["model"] == "smollm2-135m" and "warm_start" not in spec and spec["model_dir"] == "m"
    assert (spec["temperature"], spec["top_p"], spec["max_tokens"]) == (0.6, 0.95, 80)
    spec = eval_generation_spec("trained/smol/terse/full", "stdio", cfg)
    assert spec["backend"] == "hf" and spec["template"] == "chatml" and spec["seed"] == 0
    assert sampling_settings("arith", cfg)["samples"] == 1
    # the default scores its smoke students only on what the teacher choice reads (evaluation.models.smoke off)
    assert evaluated_models(cfg, smoke=[("smol", "terse")], trained=[("smol", "terse", "full")]) == [
        "base/smol", "trained/smol/terse/full"]
    cfg["evaluation"]["models"]["smoke"] = True
    assert evaluated_models(cfg, smoke=[("smol", "terse")], trained=[("smol", "terse", "full")]) == [
        "base/smol", "smoke/smol/terse", "trained/smol/terse/full"]


def test_config_schema_evaluation_section_and_benchmark_items():
    from ded.settings import resolve_config

    cfg = _config()
    resolve_config(cfg)
    assert cfg["evaluation"]["models"] == {"base": True, "teachers": False, "smoke": False, "trained": True}
    # the default runs lm-eval on its generated offline suite; the paper's suites are the schema default
    assert cfg["evaluation"]["out_of_domain"]["enabled"] is True
    assert [t["name"] for t in cfg["evaluation"]["out_of_domain"]["tasks"]] == ["ded_ood_wordmath", "ded_ood_choice"]
    no_ood = _config()
    del no_ood["evaluation"]["out_of_domain"]
    resolve_config(no_ood)
    assert [t["name"] for t in no_ood["evaluation"]["out_of_domain"]["tasks"]][:3] == ["mmlu", "cmmlu", "ceval-valid"]
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    resolve_config(paper)
    assert {b: s["samples"] for b, s in paper["benchmarks"].items()} == {
        "aime24": 16, "aime25": 16, "math500": 1, "gpqa_diamond": 1, "livecodebench": 16}
    # A typo in a benchmark item is an error now (additionalProperties: false).
    bad = _config()
    bad["benchmarks"]["arith"]["sample"] = 4
    with pytest.raises(Exception, match="sample"):
        resolve_config(bad)
    # Defaults fill an absent section.
    bare = _config()
    del bare["evaluation"]
    resolve_config(bare)
    assert bare["evaluation"]["workers"] == 2 and bare["evaluation"]["out_of_domain"]["model_type"] == "hf"


def test_lm_eval_commands_group_by_fewshot(tmp_path):
    settings = ood_settings({"out_of_domain": {
        "enabled": True, "batch_size": "auto", "model_type": "vllm", "model_args": {"tensor_parallel_size": 2},
        "tasks": [{"name": "mmlu", "num_fewshot": 5}, {"name": "gsm8k", "num_fewshot": None},
                  {"name": "cmmlu", "num_fewshot": 5}, {"name": "minerva_math"}]}})
    calls = lm_eval_commands(settings, "models/my student", tmp_path, python="python")
    assert [c.tasks for c in calls] == [("mmlu", "cmmlu"), ("gsm8k", "minerva_math")]
    first = list(calls[0].argv)
    assert first[:6] == ["python", "-m", "lm_eval", "run", "--model", "vllm"]
    assert json.loads(first[first.index("--model_args") + 1]) == {
        "pretrained": "models/my student", "tensor_parallel_size": 2}
    assert first[first.index("--tasks") + 1: first.index("--tasks") + 3] == ["mmlu", "cmmlu"]
    assert first[first.index("--num_fewshot") + 1] == "5" and first[first.index("--batch_size") + 1] == "auto"
    assert "--num_fewshot" not in calls[1].argv  # the tasks' own few-shot settings
    assert calls[0].output_dir != calls[1].output_dir
    # The argv parses with lm-eval's own parser.
    from lm_eval._cli.harness import HarnessCLI

    args = HarnessCLI()._parser.parse_args(first[3:])
    assert args.tasks == ["mmlu", "cmmlu"] and args.num_fewshot == 5
    assert args.model_args == {"pretrained": "models/my student", "tensor_parallel_size": 2}


def _ood_of(config_file):
    from ded.settings import resolve_config

    cfg = yaml.safe_load((ROOT / config_file).read_text())
    resolve_config(cfg)  # the schema's defaults filled in, as the Snakefile does
    return cfg["evaluation"]["out_of_domain"]


def test_lm_eval_commands_fit_reasoning_students():
    """config/paper.yaml: chat template, a 32k sampled budget and the <think> part stripped (lm-eval's
    think_end_token model argument) on every call, as lm-eval's own parser reads them."""
    from lm_eval._cli.harness import HarnessCLI

    from ded.evaluate.lm_eval_suite import with_allocation

    calls = lm_eval_commands(with_allocation(_ood_of("config/paper.yaml"), 2), "/m", "/w", python="python")
    assert {t for c in calls for t in c.tasks} >= {"bbh", "mbpp", "gsm8k", "minerva_math", "mmlu"}
    for call in calls:
        args = HarnessCLI()._parser.parse_args(list(call.argv[3:]))
        assert args.apply_chat_template is True, call.tasks
        assert args.gen_kwargs == {"max_gen_toks": 32768, "temperature": 0.6, "top_p": 0.95, "do_sample": True}
        assert args.model_args["think_end_token"] == "</think>" and args.model_args["tensor_parallel_size"] == 2
        assert "enable_thinking" not in args.model_args  # lm-eval refuses it on log-likelihood tasks (mmlu)
        # the context holds the few-shot prompt and the whole budget (lm-eval would cut the prompt otherwise)
        assert args.model_args["max_model_len"] > args.gen_kwargs["max_gen_toks"] + 4096


def test_lm_eval_commands_of_the_default_stay_short():
    """The embedded default (a 135M model on CPU, the generated suite) passes none of them: its argv is
    what it was before these settings existed, so its lm-eval calls and their stamps are unchanged."""
    settings = _ood_of("config/config.yaml")
    assert (settings["apply_chat_template"], settings["gen_kwargs"], settings["think_end_token"]) == (False, {}, None)
    settings["include_path"] = "suite"
    calls = lm_eval_commands(settings, "/m", "/w", python="python")
    assert [list(c.argv) for c in calls] == [[
        "python", "-m", "lm_eval", "run", "--model", "hf", "--model_args", '{"dtype": "float32", "pretrained": "/m"}',
        "--tasks", "ded_ood_wordmath", "ded_ood_choice", "--batch_size", "8", "--seed", "0",
        "--output_path", "/w/fewshot-default", "--include_path", "suite", "--device", "cpu"]]


def test_lm_eval_reasoning_settings_are_checked(tmp_path):
    base = {"tasks": [{"name": "gsm8k"}], "gen_kwargs": {"max_gen_toks": 32768}}
    with pytest.raises(ValueError, match="max_gen_toks = 32768 leaves no room"):
        lm_eval_commands({**base, "model_type": "vllm", "model_args": {"max_model_len": 16384}}, "m", tmp_path)
    with pytest.raises(ValueError, match="max_gen_toks = 32768 leaves no room"):
        lm_eval_commands({**base, "model_args": {"max_length": 32768}}, "m", tmp_path)
    with pytest.raises(ValueError, match="think_end_token is set both"):
        lm_eval_commands({**base, "think_end_token": "</think>", "model_args": {"think_end_token": "</s>"}},
                         "m", tmp_path)
    # The hf model takes it too (lm-eval's HFLM strips the text up to it).
    (call,) = lm_eval_commands({**base, "think_end_token": "</think>"}, "m", tmp_path)
    assert json.loads(call.argv[call.argv.index("--model_args") + 1])["think_end_token"] == "</think>"


def test_ood_env_follows_the_model_type():
    from ded.evaluate.lm_eval_suite import OOD_ENVS, ood_env

    assert ood_env({}) == ood_env({"model_type": "hf"}) == "envs/evaluate.yaml"
    assert ood_env({"model_type": "vllm"}) == "envs/evaluate_vllm.yaml"
    assert ood_env(_ood_of("config/paper.yaml")) == "envs/evaluate_vllm.yaml"
    assert ood_env(_ood_of("config/config.yaml")) == "envs/evaluate.yaml"
    assert all((ROOT / path).is_file() for path in OOD_ENVS.values())
    with pytest.raises(ValueError, match="expected hf or vllm"):
        ood_env({"model_type": "sglang"})


def test_lm_eval_settings_errors_name_the_key(tmp_path):
    # Code tasks (mbpp, humaneval) need no setting: tests/unit/test_lm_eval_code.py.
    with pytest.raises(ValueError, match="out_of_domain.tasks is empty"):
        lm_eval_commands({"tasks": []}, "m", tmp_path)
    with pytest.raises(ValueError, match="listed twice"):
        lm_eval_commands({"tasks": [{"name": "bbh"}, {"name": "bbh"}]}, "m", tmp_path)
    with pytest.raises(ValueError, match="unknown key"):
        ood_settings({"out_of_domain": {"taskz": []}})


def test_lm_eval_results_conversion():
    """tests/fixtures/lm_eval_results.json was written by lm-eval 0.4.13 on the tiny tasks of
    tests/fixtures/lm_eval_tiny (environment details and paths removed)."""
    path = FIXTURES / "lm_eval_results.json"
    rows = results_file_to_rows(path, "base/smol")
    got = {(r["benchmark"], r["metric"]): (r["value"], r["n"]) for r in rows}
    assert all(r["model"] == "base/smol" for r in rows)
    # top level: the group (aggregated by lm-eval) and the standalone task; not the subtasks
    assert {b for b, _ in got} == {"ded_tiny_choice", "ded_tiny_gen"}
    assert got[("ded_tiny_choice", "acc")] == (pytest.approx(1 / 7), 7)
    assert ("ded_tiny_choice", "acc_stderr") in got
    assert got[("ded_tiny_gen", "exact_match:first-number")] == (0.0, 3)
    sub = results_file_to_rows(path, "m", tasks=["ded_tiny_choice_a"])
    assert {(r["metric"], r["value"], r["n"]) for r in sub} >= {("acc", 0.25, 4), ("acc_norm", 0.5, 4)}
    assert len(results_file_to_rows(path, "m", include_subtasks=True)) > len(rows)
    with pytest.raises(ValueError, match="no entry for task 'mmlu'"):
        results_file_to_rows(path, "m", tasks=["mmlu"])


def test_lm_eval_group_without_aggregation_is_pooled_and_na_skipped():
    results = json.loads((FIXTURES / "lm_eval_results.json").read_text())
    results["results"]["ded_tiny_choice"] = {"name": "ded_tiny_choice", "alias": "ded_tiny_choice"}
    results.pop("groups")
    results["results"]["ded_tiny_gen"]["exact_match_stderr,first-number"] = "N/A"
    got = {(r["benchmark"], r["metric"]): (r["value"], r["n"]) for r in results_to_rows(results, "m")}
    assert got[("ded_tiny_choice", "acc")] == (pytest.approx((0.25 * 4 + 0.0 * 3) / 7), 7)
    assert got[("ded_tiny_choice", "acc_norm")] == (pytest.approx((0.5 * 4 + 1 / 3 * 3) / 7), 7)
    assert ("ded_tiny_choice", "acc_stderr") not in got
    assert ("ded_tiny_gen", "exact_match_stderr:first-number") not in got


def test_generated_ood_suite_is_deterministic_and_right():
    from ded.evaluate.ood_tasks import CATEGORIES, choice_docs, wordmath_docs

    assert wordmath_docs(20, 3) == wordmath_docs(20, 3) != wordmath_docs(20, 4)
    words = [w for ws in CATEGORIES.values() for w in ws]
    assert len(words) == len(set(words))  # every word names one category only: one right option
    for doc in choice_docs(50, 0):
        target = doc["question"].removeprefix("Which of these words names ").rstrip("?")
        right = [i for i, w in enumerate(doc["choices"]) if w in CATEGORIES[target]]
        assert right == [doc["label"]] and len(set(doc["choices"])) == 4
    for doc in wordmath_docs(50, 0):
        nums = [int(x) for x in re.findall(r"\d+", doc["question"])]
        q, a = doc["question"], int(doc["answer"])
        if "gives away" in q:
            assert a == nums[0] - nums[1] + nums[2]
        elif "boxes" in q or "hours" in q:
            assert a == nums[0] * nums[1]
        else:
            assert a * nums[1] == nums[0]


TEST_SNAKEFILE = '''
from ded.settings import resolve_config

configfile: "cfg.yaml"
resolve_config(config, f"{workflow.basedir}/config/schema.yaml")

include: "rules/common.smk"
include: "rules/data.smk"

MODELS = ["base/smol", "teacher/terse", "smoke/smol/terse", "trained/smol/terse/full"]

def evaluated():
    return MODELS

def eval_targets():
    return expand(PATHS["eval_scores"], model=MODELS, benchmark=config["benchmarks"]) + (
        ["results/eval/trained/smol/terse/full/ood/scores.tsv"] if config["evaluation"]["out_of_domain"]["enabled"] else [])

include: "rules/evaluate.smk"

rule all:
    default_target: True
    input: PATHS["scores"]
'''


def _rules_workflow(tmp_path, ood_enabled):
    cfg = _config()
    cfg["evaluation"]["out_of_domain"]["enabled"] = ood_enabled
    cfg["teacher_selection"]["pinned"] = "terse"  # the selection stage is not included: its choice is known
    copy_workflow(tmp_path, ("rules", "scripts", "ded", "config", "envs"), snakefile=TEST_SNAKEFILE, config=cfg)
    # Models made by other stages' rules (not included here) stand in as folders.
    for folder in ("results/teachers/terse/model", "results/smoke/smol/terse/model",
                   "results/train/smol/terse/full/model"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def _dry(workdir, *targets):
    return dry_run(workdir, *targets, "--quiet", "rules")


def test_rules_dry_run_plans_every_model_and_benchmark(tmp_path):
    wf = _rules_workflow(tmp_path, ood_enabled=True)
    proc = _dry(wf)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, flags=re.M))
    assert counts["generate_eval"] == "8" and counts["score_eval"] == "8"  # 4 models x 2 benchmarks
    assert counts["ood_eval"] == "1" and counts["collect_scores"] == "1"
    # model folders resolve per kind: base -> resources/models, trained -> results/train/...
    proc = dry_run(wf, "-p", "results/eval/base/smol/arith/samples.jsonl",
                   "results/eval/trained/smol/terse/full/stdio/samples.jsonl")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "resources/models/smollm2-135m" in proc.stdout and "results/train/smol/terse/full/model" in proc.stdout


def test_ood_target_when_disabled_says_which_key(tmp_path):
    wf = _rules_workflow(tmp_path, ood_enabled=False)
    proc = _dry(wf, "results/eval/base/smol/ood/scores.tsv")
    assert proc.returncode != 0
    assert "evaluation.out_of_domain.enabled is false" in proc.stdout + proc.stderr


def test_scores_markdown_lists_each_gain_with_its_standard_error():
    rows = (_rows("base/smol", "arith", pass1=0.1) + _rows("trained/smol/terse/full", "arith", pass1=0.5)
            + _rows("smoke/smol/terse", "arith", pass1=0.15))
    deltas = delta_vs_base(pd.DataFrame(rows))
    rows += deltas + [dict(zip(SCORE_COLUMNS, (m, "arith", "delta_pass@1_se", 0.1, 40)))
                      for m in ("trained/smol/terse/full", "smoke/smol/terse")]
    md = " ".join(summary_markdown(pd.DataFrame(rows)).split())
    assert "## Gains over the base student" in md
    assert "| trained/smol/terse/full | arith | 40 | 0.5000 | 0.1000 | +0.4000 | 0.1000 | +4.0 **beyond noise** |" in md
    assert "| smoke/smol/terse | arith | 40 | 0.1500 | 0.1000 | +0.0500 | 0.1000 | +0.5 |" in md
    assert "Gains over" not in summary_markdown(pd.DataFrame(_rows("base/smol", "arith", pass1=0.1)))


def test_summary_orders_metrics_and_difficulties():
    rows = []
    for bench in ("lcb:hard", "lcb", "lcb:easy", "lcb:medium"):
        rows += _rows("base/smol", bench, undecided=1.0, mean_tokens=100.0, pass1=0.5)
        rows += [dict(zip(SCORE_COLUMNS, ("base/smol", bench, m, 0.5, 4)))
                 for m in ("pass@16", "pass@4", "pass@1_std", "pass@1_se")]
    wide = summary_tables(pd.DataFrame(rows))["base/smol"]
    assert list(wide.index) == ["lcb", "lcb:easy", "lcb:medium", "lcb:hard"]
    assert list(wide.columns) == ["pass@1", "pass@1_se", "pass@1_std", "pass@4", "pass@16", "mean_tokens",
                                  "undecided"]
    md = " ".join(summary_markdown(pd.DataFrame(rows)).split())  # the columns are padded to equal widths
    assert "| lcb:hard | 0.5000 | 0.5000 | 0.5000 | 0.5000 | 0.5000 | 100.0 | 1 |" in md
