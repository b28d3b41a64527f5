"""The benchmark summary: problems per difficulty, and where multiple-choice answers sit after the shuffle."""

from ded.data.benchmark_summary import (
    equal_share_p_value,
    gold_option_counts,
    summary_markdown,
    summary_rows,
    unbalanced_benchmarks,
)
from ded.data.benchmarks import gpqa_problems


def _gpqa_rows(n):
    return [{"Question": f"Which value does item {i} have?", "Correct Answer": f"right {i}",
             "Incorrect Answer 1": f"wrong a {i}", "Incorrect Answer 2": f"wrong b {i}",
             "Incorrect Answer 3": f"wrong c {i}"} for i in range(n)]


def test_the_seeded_gpqa_shuffle_spreads_the_answer_over_all_four_letters():
    records = gpqa_problems(_gpqa_rows(198), "gpqa", seed=0)
    counts = gold_option_counts(records)
    assert list(counts) == ["A", "B", "C", "D"] and sum(counts.values()) == 198
    assert min(counts.values()) > 30  # each letter near a quarter of 198
    assert not unbalanced_benchmarks(summary_rows("gpqa", records))


def test_answers_left_in_one_place_are_flagged_in_the_table_and_the_markdown():
    records = [{"id": str(i), "prompt": "q", "gold": "A", "gold_kind": "choice", "options": list("wxyz")}
               for i in range(40)]
    rows = summary_rows("gpqa_unshuffled", records)
    gold = {r["value"]: (r["problems"], r["share"]) for r in rows if r["facet"] == "gold option"}
    assert gold == {"A": (40, 1.0), "B": (0, 0.0), "C": (0, 0.0), "D": (0, 0.0)}
    assert set(unbalanced_benchmarks(rows)) == {"gpqa_unshuffled"}
    assert "not spread evenly" in summary_markdown(rows)


def test_difficulty_rows_in_easy_medium_hard_order_and_none_for_unlabelled_benchmarks():
    records = [{"id": str(i), "prompt": "p", "difficulty": d} for i, d in enumerate(["hard", "easy", "medium", "easy"])]
    rows = summary_rows("lcb", records)
    assert [(r["facet"], r["value"], r["problems"]) for r in rows] == [
        ("problems", "all", 4), ("difficulty", "easy", 2), ("difficulty", "medium", 1), ("difficulty", "hard", 1)]
    plain = summary_rows("aime", [{"id": "1", "prompt": "p", "gold": "3"}])
    assert [r["facet"] for r in plain] == ["problems"]
    assert gold_option_counts([{"gold": "3", "gold_kind": "number"}]) == {}


def test_a_single_cell_has_no_p_value():
    assert equal_share_p_value({"A": 3}) is None
    assert equal_share_p_value({}) is None
