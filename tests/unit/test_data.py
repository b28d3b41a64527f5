import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest

from ded.data.benchmarks import decode_private_tests, load_benchmark
from ded.data.decontaminate import (
    find_contamination,
    remove_contaminated,
    report_markdown,
)
from ded.data.procedural import procedural_problems
from ded.data.seeds import load_seeds, s1k_gold
from ded.data.sources import DataSourceError, stable_id
from ded.data.traces import warmstart_rows
from ded.io import RecordError, read_records, validate_records
from ded.think import split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _write(path, rows, jsonl=True):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n" if jsonl else json.dumps(rows))
    return str(path)


# ---------------------------------------------------------------- seeds

def test_s1k_layouts(tmp_path):
    hf = [{"question": "Find $x$ if $x+1=3$.", "solution": "So $x=\\boxed{2}$.", "cot_type": "math",
           "source_type": "x", "metadata": "{}", "cot": None, "thinking_trajectories": ["..."], "attempt": "2"},
          {"question": "Prove that there are infinitely many primes.",
           "solution": "Suppose finitely many primes p_1..p_k exist. " * 3, "cot_type": "math"}]
    plain = [{"id": 7, "problem": "What is 2+2?", "solution": "4", "thinking": "", "source": "", "subject": ""}]
    for rows, path in ((hf, tmp_path / "s1k.jsonl"), (plain, tmp_path / "s1k.json")):
        _write(path, rows, jsonl=path.suffix == ".jsonl")
        recs, excluded = load_seeds("math", {"source": "s1k", "path": str(path)})
        validate_records(recs, "problem")
        assert excluded == []
        assert len(recs) == len(rows)
    recs, _ = load_seeds("math", {"source": "s1k", "path": str(tmp_path / "s1k.jsonl")})
    assert recs[0]["gold"] == "2" and recs[0]["gold_kind"] == "math"
    assert recs[1]["gold"] is None and recs[1]["gold_kind"] == "none"  # marked, not dropped
    assert "no checkable answer" in recs[1]["meta"]["gold_rule"]


def test_s1k_1_1_layout_and_its_deepseek_traces(tmp_path):
    """The real simplescaling/s1K-1.1 columns: the loader reads the question and the gold answer, and the
    corpus backend replays DeepSeek-R1's trajectory (not Gemini's) for the very problems the loader made."""
    from ded.sample.runner import sample_problems

    path = FIXTURES / "s1k_1.1.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    recs, excluded = load_seeds("math", {"source": "s1k", "path": str(path)})
    validate_records(recs, "problem")
    assert excluded == [] and [r["prompt"] for r in recs] == [row["question"] for row in rows]
    assert [r["gold"] for r in recs] == ["6", None, None, "2"]
    assert [r["meta"]["gold_rule"] for r in recs] == [
        "last \\boxed{}", "no checkable answer (proof or long solution without \\boxed{})",
        "no checkable answer (proof or long solution without \\boxed{})", "short solution is the answer"]
    assert recs[0]["meta"]["cot_type"] == "math" and recs[0]["meta"]["source_type"] == "fixture/counting"

    out = tmp_path / "samples.jsonl"
    n = sample_problems(recs, {"backend": "corpus", "corpus_path": str(path)}, model_name="r1", n=1,
                        out_path=out, progress_path=tmp_path / "progress.jsonl")
    samples = {s["question_id"]: s for s in read_records(out, "sample")}
    assert n == len(rows)
    for rec, row in zip(recs, rows):
        sample = samples[rec["id"]]
        assert sample["reasoning"] == row["deepseek_thinking_trajectory"]
        assert sample["answer"].strip() == row["deepseek_attempt"]
        assert "GEMINI" not in sample["text"]


def test_s1k_gold_rules():
    assert s1k_gold("... thus \\boxed{\\frac{1}{2}} and finally \\boxed{\\frac{3}{4}}")[0] == "\\frac{3}{4}"
    assert s1k_gold("128")[0] == "128"
    assert s1k_gold("")[0] is None


def test_s1k_parquet(tmp_path):
    import pandas as pd

    path = tmp_path / "s1k.parquet"
    pd.DataFrame([{"question": "What is 3*3?", "solution": "\\boxed{9}"}]).to_parquet(path)
    recs, _ = load_seeds("math", {"source": "s1k", "path": str(path)})
    assert recs[0]["gold"] == "9"


def test_codeforces_layout_and_interactive_excluded(tmp_path):
    base = {"id": "1A", "contest_id": "1", "index": "A", "title": "Theatre Square", "time_limit": 1.0,
            "memory_limit": 256.0, "description": "Tile the square.", "input_format": "n m a",
            "output_format": "count", "interaction_format": None, "note": None,
            "examples": [{"input": "6 6 4\n", "output": "4\n"}], "rating": 1000.0, "tags": ["math"],
            "official_tests": [{"input": "6 6 4\n", "output": "4\n"}, {"input": "1 1 1\n", "output": "1\n"}],
            "official_tests_complete": True}
    interactive = dict(base, id="2B", description="Guess the number.", interaction_format="Ask queries.")
    no_tests = dict(base, id="3C", description="Other.", examples=[], official_tests=[])
    path = _write(tmp_path / "cf.jsonl", [base, interactive, no_tests])
    recs, excluded = load_seeds("code", {"source": "codeforces", "path": path})
    validate_records(recs, "problem")
    assert [r["meta"]["source_id"] for r in recs] == ["1A"]
    assert recs[0]["tests"][1] == {"input": "1 1 1\n", "output": "1\n"}
    assert recs[0]["time_limit_s"] == 1.0 and recs[0]["memory_mb"] == 256
    assert "Input\nn m a" in recs[0]["prompt"] and "Example 1" in recs[0]["prompt"]
    assert {e["id"]: e["reason"] for e in excluded} == {
        "2B": "interactive problem (interaction_format set)",
        "3C": "no tests (neither official_tests nor examples)"}


def test_codeforces_unjudgeable_problems_excluded_with_reason(tmp_path):
    base = {"id": "1A", "title": "T", "description": "Print the sum.", "input_mode": "stdio",
            "generated_checker": None, "executable": True, "official_tests": [{"input": "1 2\n", "output": "3\n"}]}
    rows = [base, dict(base, id="2A", description="Read input.txt.", input_mode="file"),
            dict(base, id="3A", description="Print any valid pair.", generated_checker="def check(...): ..."),
            dict(base, id="4A", description="Not runnable.", executable=False)]
    recs, excluded = load_seeds("code", {"source": "codeforces", "path": _write(tmp_path / "cf.jsonl", rows)})
    assert [r["meta"]["source_id"] for r in recs] == ["1A"]
    validate_records(excluded, "excluded")
    reasons = {e["id"]: e["reason"] for e in excluded}
    assert "input_mode 'file'" in reasons["2A"] and "generated_checker" in reasons["3A"]
    assert "not executable" in reasons["4A"]


@pytest.mark.parametrize("content", ["", "\n\n", "[]"])
def test_empty_seed_or_benchmark_file_is_an_error(tmp_path, content):
    path = tmp_path / ("empty.json" if content == "[]" else "empty.jsonl")
    path.write_text(content)
    with pytest.raises(DataSourceError, match=f"{path.name}: no rows"):
        load_seeds("math", {"source": "s1k", "path": str(path)})
    with pytest.raises(DataSourceError, match=f"{path.name}: no rows"):
        load_benchmark("aime24", {"loader": "aime", "path": str(path)})


def test_every_row_excluded_is_an_error_with_reasons_counted(tmp_path):
    rows = [{"id": f"{i}A", "description": "Guess.", "interaction_format": "Ask."} for i in range(2)]
    rows.append({"id": "9A", "description": "No tests.", "examples": []})
    path = _write(tmp_path / "cf.jsonl", rows)
    with pytest.raises(DataSourceError) as err:
        load_seeds("code", {"source": "codeforces", "path": path})
    msg = str(err.value)
    assert "cf.jsonl" in msg and "all 3 rows excluded" in msg
    assert "2 interactive problem (interaction_format set)" in msg and "1 no tests" in msg


def test_missing_field_after_blank_lines_names_the_file_line(tmp_path):
    path = tmp_path / "s1k.jsonl"
    path.write_text('\n{"question": "ok?", "solution": "1"}\n\n\n{"solution": "2"}\n')
    with pytest.raises(RecordError) as err:
        load_seeds("math", {"source": "s1k", "path": str(path)})
    assert err.value.line == 5 and "s1k.jsonl, line 5" in str(err.value)
    bench = tmp_path / "aime.jsonl"
    bench.write_text('{"problem": "Find n.", "answer": "1"}\n\n{"problem": "Find m."}\n')
    with pytest.raises(RecordError) as err:
        load_benchmark("aime24", {"loader": "aime", "path": str(bench)})
    assert err.value.line == 3 and err.value.field == "answer/expected_answer/Answer"


def test_missing_field_in_json_array_names_the_record(tmp_path):
    path = _write(tmp_path / "s1k.json", [{"question": "ok?", "solution": "1"}, {"solution": "2"}], jsonl=False)
    with pytest.raises(RecordError) as err:
        load_seeds("math", {"source": "s1k", "path": path})
    assert err.value.line is None and err.value.record == 2 and "s1k.json, record 2" in str(err.value)


def test_missing_field_names_file_line_field(tmp_path):
    path = _write(tmp_path / "s1k.jsonl", [{"question": "ok?", "solution": "1"}, {"solution": "2"}])
    with pytest.raises(RecordError) as err:
        load_seeds("math", {"source": "s1k", "path": path})
    assert err.value.line == 2 and err.value.field == "question/problem" and "s1k.jsonl" in str(err.value)


def test_malformed_jsonl_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "a", "solution": "1"}\n{"question": \n')
    with pytest.raises(RecordError) as err:
        load_seeds("math", {"source": "s1k", "path": str(path)})
    assert err.value.line == 2 and "not valid JSON" in str(err.value)


def test_missing_file_named(tmp_path):
    from ded.data.sources import DataSourceError

    with pytest.raises(DataSourceError, match="not found"):
        load_seeds("math", {"source": "s1k", "path": str(tmp_path / "nope.jsonl")})


def test_procedural_is_deterministic_and_valid():
    a = procedural_problems("math", 24, 3, "proc-math")
    assert a == procedural_problems("math", 24, 3, "proc-math")
    assert a != procedural_problems("math", 24, 4, "proc-math")
    assert len({p["id"] for p in a}) == 24
    assert {p["difficulty"] for p in a} == {"easy", "medium", "hard"}
    validate_records(a, "problem")
    code = procedural_problems("code", 12, 3, "proc-code")
    validate_records(code, "problem")
    assert all(len(p["tests"]) == 4 and p["gold_kind"] == "tests" for p in code)


def test_procedural_code_reference_solutions_pass_their_tests():
    import subprocess
    import sys

    from ded.data.procedural import worked_problems

    for w in worked_problems("code", 6, 0):
        for t in w.tests:
            out = subprocess.run([sys.executable, "-c", w.answer], input=t["input"], capture_output=True,
                                 text=True, timeout=20).stdout
            assert out.split() == t["output"].split()


def test_warmstart_traces_are_well_formed():
    rows = warmstart_rows("t", "verbose", 8, ["math", "code"])
    validate_records(rows, "corpus_row")
    assert len(rows) == 8
    for r in rows:
        assert split(r["response"]).problem is None
    assert {r["response"] for r in rows} != {r["response"] for r in warmstart_rows("t", "terse", 8, ["math", "code"])}


# ---------------------------------------------------------------- benchmarks

def test_aime_and_math500(tmp_path):
    aime = _write(tmp_path / "aime.jsonl", [{"id": "aime24-0", "problem": "Find n.", "expected_answer": "33"}])
    hf_aime = _write(tmp_path / "aime_hf.jsonl", [{"id": 60, "problem": "Find m.", "answer": "204", "url": "u"}])
    m500 = _write(tmp_path / "m.jsonl", [{"problem": "Convert.", "solution": "...", "answer": "\\left( 3, \\frac{\\pi}{2} \\right)",
                                           "subject": "Precalculus", "level": 2, "unique_id": "test/precalculus/807.json"}])
    assert load_benchmark("aime24", {"loader": "aime", "path": aime})[0]["gold"] == "33"
    assert load_benchmark("aime24", {"loader": "aime", "path": hf_aime})[0]["gold"] == "204"
    rec = load_benchmark("math500", {"loader": "math500", "path": m500})[0]
    assert rec["difficulty"] == "level 2" and rec["gold"].startswith("\\left(")


def test_gpqa_options_shuffled_deterministically(tmp_path):
    rows = [{"Question": f"Question {i}?", "Correct Answer": f"right {i}", "Incorrect Answer 1": "w1",
             "Incorrect Answer 2": "w2", "Incorrect Answer 3": "w3", "Record ID": f"r{i}"} for i in range(40)]
    path = _write(tmp_path / "gpqa.jsonl", rows)
    recs = load_benchmark("gpqa", {"loader": "gpqa", "path": path, "seed": 0})
    validate_records(recs, "problem")
    assert recs == load_benchmark("gpqa", {"loader": "gpqa", "path": path, "seed": 0})
    golds = [r["gold"] for r in recs]
    assert len(set(golds)) == 4  # not always A
    for r, row in zip(recs, rows):
        assert r["options"]["ABCD".index(r["gold"])] == row["Correct Answer"]
        assert f"{r['gold']}) {row['Correct Answer']}" in r["prompt"]


def _lcb_blob(tests):
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def test_livecodebench_private_tests(tmp_path):
    private = [{"input": "3\n", "output": "6\n", "testtype": "stdin"}]
    row = {"question_title": "Sum", "question_content": "Print 2n.", "platform": "atcoder", "question_id": "abc1",
           "contest_id": "abc", "contest_date": "2024-01-01T00:00:00", "starter_code": "", "difficulty": "easy",
           "public_test_cases": json.dumps([{"input": "1\n", "output": "2\n", "testtype": "stdin"}]),
           "private_test_cases": _lcb_blob(private), "metadata": "{}"}
    path = _write(tmp_path / "lcb.jsonl", [row])
    rec = load_benchmark("lcb", {"loader": "livecodebench", "path": path})[0]
    assert [t["input"] for t in rec["tests"]] == ["1\n", "3\n"] and rec["difficulty"] == "easy"


def test_livecodebench_refuses_malicious_pickle(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    blob = base64.b64encode(zlib.compress(pickle.dumps(Evil()))).decode()
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        decode_private_tests(blob)
    row = {"question_title": "x", "question_content": "y", "public_test_cases": "[]", "private_test_cases": blob}
    path = _write(tmp_path / "lcb.jsonl", [row])
    with pytest.raises(RecordError) as err:
        load_benchmark("lcb", {"loader": "livecodebench", "path": path})
    assert err.value.field == "private_test_cases" and err.value.line == 1


# ---------------------------------------------------------------- decontamination

QUESTION = ("Let $x$ and $y$ be real numbers such that $x^2 + y^2 = 25$ and $x + y = 7$. "
            "Find the value of $x y$ and explain every step of the computation.")


def _p(pid, prompt):
    return {"id": pid, "domain": "math", "source": "t", "prompt": prompt, "gold": "1", "gold_kind": "math"}


@pytest.mark.parametrize("variant", [
    QUESTION,
    QUESTION.upper(),
    "  ".join(QUESTION.split(" ")),
    QUESTION.replace("x^2 + y^2", "x^2+y^2").replace("$x + y", "$x+y").replace("$x y", "$xy"),
    QUESTION.replace("$", "").replace("=", " = "),
    QUESTION.replace("x^2 + y^2", "x^{2}\\,+\\,y^{2}").replace("{2}", "2"),
])
def test_injected_benchmark_question_is_found(variant):
    seeds = [_p("s-clean", "Compute the area of a circle of radius three in square units exactly."),
             _p("s-bad", variant)]
    bench = [_p("b1", QUESTION), _p("b2", "An unrelated question about counting subsets of a set.")]
    matches = find_contamination(seeds, bench, "bench")
    assert {m["seed_id"] for m in matches} == {"s-bad"}
    assert remove_contaminated(seeds, matches) == [seeds[0]]


def test_short_questions_use_exact_match():
    seeds = [_p("s1", "What is 12 + 34?"), _p("s2", "What is 12 + 35?")]
    bench = [_p("b", "what is 12+34 ?")]
    matches = find_contamination(seeds, bench, "bench")
    assert [(m["seed_id"], m["method"]) for m in matches] == [("s1", "exact")]


def test_boilerplate_alone_is_not_contamination():
    tail = " The answer can be written as m/n, where m and n are relatively prime positive integers. Find m+n."
    bench = [_p(f"b{i}", f"Problem {w} about geometry and counting.{tail}") for i, w in enumerate(["one", "two"])]
    seeds = [_p("s", "A probability question about drawing cards from a deck of fifty." + tail)]
    assert find_contamination(seeds, bench, "bench") == []
    assert find_contamination(seeds, bench, "bench", min_shared=1, min_coverage=0, boilerplate_min_problems=None)


TEMPLATE = " Return your final response within \\boxed{} and show all of your work clearly."
OTHER_SEEDS = ["Compute the area of a circle of radius three in square units exactly.",
               "How many subsets of a ten element set contain exactly four elements in total?",
               "A train leaves a station at noon and travels east at sixty miles per hour.",
               "Find all primes p such that p squared plus two is also a prime number."]
OTHER_BENCH = ["An unrelated question about counting lattice paths in a six by six grid.",
               "Determine the remainder when two to the power one hundred is divided by seven.",
               "A regular hexagon has side length four; find the area of its inscribed circle."]


@pytest.mark.parametrize("copies", [2, 3])
def test_question_copied_into_several_seeds_flags_every_copy(copies):
    edits = [QUESTION, QUESTION.upper(), "  ".join(QUESTION.split(" "))][:copies]
    seeds = [_p(f"s-copy{i}", q) for i, q in enumerate(edits)] + [_p(f"s-ok{i}", q) for i, q in enumerate(OTHER_SEEDS)]
    bench = [_p("b-q", QUESTION)] + [_p(f"b{i}", q) for i, q in enumerate(OTHER_BENCH)]
    matches = find_contamination(seeds, bench, "bench")
    assert {(m["seed_id"], m["benchmark_id"]) for m in matches} == {(f"s-copy{i}", "b-q") for i in range(copies)}
    # With every problem carrying one instruction template, the copies are still the only matches.
    templated = [dict(p, prompt=p["prompt"] + TEMPLATE) for p in seeds]
    matches = find_contamination(templated, [dict(b, prompt=b["prompt"] + TEMPLATE) for b in bench], "bench")
    assert {m["seed_id"] for m in matches} == {f"s-copy{i}" for i in range(copies)}


def test_lightly_edited_copy_and_exact_copy_both_flagged():
    edited = QUESTION.replace("Find the value of", "Determine").replace("every step", "each step")
    seeds = [_p("s-exact", QUESTION), _p("s-edited", edited)] + [_p(f"s-ok{i}", q) for i, q in enumerate(OTHER_SEEDS)]
    bench = [_p("b-q", QUESTION)] + [_p(f"b{i}", q) for i, q in enumerate(OTHER_BENCH)]
    assert {m["seed_id"] for m in find_contamination(seeds, bench, "bench")} == {"s-exact", "s-edited"}


def test_shared_template_flags_nothing():
    seeds = [_p(f"s{i}", q + TEMPLATE) for i, q in enumerate(OTHER_SEEDS)]
    for n_bench in (1, 2, 3):
        bench = [_p(f"b{i}", q + TEMPLATE) for i, q in enumerate(OTHER_BENCH[:n_bench])]
        assert find_contamination(seeds, bench, "bench") == [], n_bench
    # The rule, not the coverage threshold, is what keeps these apart.
    assert find_contamination(seeds, bench, "bench", min_shared=1, min_coverage=0) == []
    assert find_contamination(seeds, bench, "bench", min_shared=1, min_coverage=0, boilerplate_min_problems=None)


def test_seed_template_against_one_benchmark_problem_is_boilerplate():
    """A template in many different seeds is ignored even when one benchmark problem alone has it."""
    tail = " It can be written as p/q, where p and q are relatively prime positive integers. Find p+q."
    seeds = [_p(f"s{i}", q + tail) for i, q in enumerate(OTHER_SEEDS)]
    bench = [_p("b0", OTHER_BENCH[0] + tail)] + [_p(f"b{i}", q) for i, q in enumerate(OTHER_BENCH[1:], 1)]
    assert find_contamination(seeds, bench, "bench", min_shared=1, min_coverage=0) == []
    assert find_contamination(seeds[:2], bench, "bench", min_shared=1, min_coverage=0)  # two seeds are not "many"


def test_fuzzy_pass():
    seeds = [_p("s", "Find the number of ordered pairs of integers (a, b) with a squared plus b squared equal to fifty")]
    bench = [_p("b", "Find the number of ordered pair of integer (a, b) with a squared plus b squared equals to fifty")]
    assert find_contamination(seeds, bench, "b", ngram=8, min_shared=3) == []
    fuzzy = find_contamination(seeds, bench, "b", fuzzy_threshold=85)
    assert [m["method"] for m in fuzzy] == ["fuzzy"]


def test_report_lists_counts_and_pairs():
    seeds = [_p("s-bad", QUESTION), _p("s-ok", "Something else entirely, long enough to have eight words.")]
    matches = find_contamination(seeds, [_p("b1", QUESTION)], "aime")
    text = report_markdown("math", seeds, {"aime": matches, "math500": []})
    assert "2 seeds; 1 removed; 1 kept." in text and "| aime | 1 |" in " ".join(text.split())
    assert "`s-bad` ~ `b1`" in text


def test_stable_id_ignores_spacing_and_case():
    assert stable_id("x", "Find $x^2+1$.") == stable_id("x", "find  $x^2 + 1$.")
    assert stable_id("x", "Find $x^2+1$.") != stable_id("x", "Find $x^2+2$.")


def test_default_seeds_survive_decontamination_against_default_benchmarks():
    """The embedded default's held-out benchmarks word their tasks apart from the seeds: decontamination
    must keep every seed (a shared wording would remove them all and starve every later stage)."""
    import yaml

    from ded.data.benchmarks import load_benchmark
    from ded.data.decontaminate import find_contamination
    from ded.data.seeds import load_seeds

    root = Path(__file__).resolve().parents[2]
    cfg = yaml.safe_load((root / "config/config.yaml").read_text())
    d = cfg["decontamination"]
    for domain, benchmark in (("code", "stdio"), ("math", "arith")):
        seeds = load_seeds(domain, cfg["seeds"][domain])
        seeds = seeds[0] if isinstance(seeds, tuple) else seeds
        bench = load_benchmark(benchmark, cfg["benchmarks"][benchmark])
        found = find_contamination(seeds, bench, benchmark, ngram=d["ngram"], min_shared=d["min_shared"],
                                   min_coverage=d["min_coverage"],
                                   boilerplate_min_problems=d["boilerplate_min_problems"])
        assert found == [], (domain, found[:2])
        # and the same task worded as a seed is caught: the benchmark really is held out by wording only
        copied = load_benchmark(benchmark, cfg["benchmarks"][benchmark])
        if domain == "code":
            from ded.data.procedural import CODE_GENERATORS, procedural_problems

            # one task of each kind: a wording shared by several benchmark problems reads as boilerplate
            copied = procedural_problems("code", len(CODE_GENERATORS), 10_000 + cfg["benchmarks"][benchmark]["seed"],
                                         "x")
            assert find_contamination(seeds, copied, benchmark, ngram=d["ngram"], min_shared=d["min_shared"],
                                      min_coverage=d["min_coverage"],
                                      boilerplate_min_problems=d["boilerplate_min_problems"])
