"""Selection stage: teacher choice, compression, diversity, corpus variants, the CLI."""


from __future__ import annotations

import dataclasses
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rapidfuzz.distance import Levenshtein
from support.config import resolved
from support.diversity import brute_force, ids
from support.records import problem, sample, verdict

from ded.io import RecordError, validate_records
from ded.records import CORPUS_ROW, PASS_RATE
from ded.select import compression, corpora, diversity, teacher
from ded.select.corpora import (
    VARIANTS,
    CorpusSettings,
    build_corpus,
    corpus_name,
    corpus_names,
    parse_corpus_name,
)
from ded.select.diversity import select_diverse, select_diverse_many, word_tokens
from ded.settings import load_schema

ROOT = Path(__file__).resolve().parents[2]


def objective(items, chosen, measure):
    seqs = {sid: measure(t) for sid, t in items}
    return sum(Levenshtein.normalized_distance(seqs[a], seqs[b]) for a, b in itertools.combinations(chosen, 2))


def random_items(rng, n, alphabet="abc", words=("x", "y", "zz", "+", "1")):
    """Short texts over a small alphabet, so equal distances (ties) are common."""
    ids = rng.sample(range(100), n)
    if rng.random() < 0.5:
        return [(sid, "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))) for sid in ids]
    return [(sid, " ".join(rng.choice(words) for _ in range(rng.randint(1, 8)))) for sid in ids]


@pytest.mark.parametrize("unit, measure", [("char", lambda t: t), ("token", word_tokens)])
def test_exact_selection_equals_brute_force(unit, measure):
    rng = random.Random(1234)
    for _ in range(300):
        n = rng.randint(1, 7)
        p = rng.randint(1, 5)
        items = random_items(rng, n)
        got = select_diverse(items, p, unit=unit)
        want, _ = brute_force(items, p, measure)
        assert got == want, (items, p)


def test_selection_is_deterministic_and_order_free():
    rng = random.Random(7)
    for _ in range(50):
        items = random_items(rng, rng.randint(2, 7))
        p = rng.randint(1, 4)
        first = select_diverse(items, p, unit="char")
        shuffled = items[:]
        rng.shuffle(shuffled)
        assert select_diverse(shuffled, p, unit="char") == first
        assert select_diverse(items, p, unit="char") == first


def reference_greedy(items, p, measure):
    items = sorted(items)
    ids = [sid for sid, _ in items]
    d = {(a, b): Levenshtein.normalized_distance(measure(ta), measure(tb)) for a, ta in items for b, tb in items}
    pairs = list(itertools.combinations(ids, 2))
    far = max(d[ab] for ab in pairs)
    chosen = list(next(ab for ab in pairs if d[ab] >= far - 1e-9))
    while len(chosen) < p:
        rest = [k for k in ids if k not in chosen]
        sums = {k: sum(d[k, c] for c in chosen) for k in rest}
        best = max(sums.values())
        chosen.append(next(k for k in rest if sums[k] >= best - 1e-9))
    return sorted(chosen)


def test_greedy_path_matches_reference_and_is_near_optimal():
    rng = random.Random(99)
    ratios = []
    for _ in range(200):
        n = rng.randint(3, 8)
        p = rng.randint(2, n - 1)
        items = random_items(rng, n)
        assert not diversity.use_exact(n, p, exact_limit=1)
        got = select_diverse(items, p, unit="char", exact_limit=1)
        assert got == reference_greedy(items, p, lambda t: t)
        _, best = brute_force(items, p, lambda t: t)
        if best:
            ratios.append(objective(items, got, lambda t: t) / best)
    # A heuristic: never better than exact, and on these small cases close to it.
    assert max(ratios) <= 1 + 1e-9
    assert min(ratios) < 1  # the greedy path really ran: it misses the optimum sometimes
    assert sum(ratios) / len(ratios) > 0.9


def test_greedy_runs_above_the_exact_limit():
    # C(12, 6) = 924 > 100: greedy; farthest pair first.
    items = [(i, "a" * 20) for i in range(10)] + [(10, "b" * 20), (11, "c" * 20)]
    assert not diversity.use_exact(12, 6, 100)
    got = select_diverse(items, 3, unit="char", exact_limit=1)
    assert got == [0, 10, 11]


def test_small_groups_and_single_pick():
    items = [(5, "abc"), (2, "xyz")]
    assert select_diverse(items, 3) == [2, 5]  # fewer than P: all, by sample id
    assert select_diverse(items, 2) == [2, 5]
    assert select_diverse([(4, "a"), (1, "b"), (9, "c")], 1) == [1]  # P = 1: the smallest sample id
    with pytest.raises(ValueError, match="duplicate sample_id"):
        select_diverse([(1, "a"), (1, "b"), (2, "c")], 2)
    with pytest.raises(ValueError, match="at least 1"):
        select_diverse(items, 0)


def test_token_unit_sees_words_not_letters():
    # Same words reordered vs one long word changed: tokens weigh whole words.
    base = "alpha beta gamma delta"
    items = [(0, base), (1, "alpha beta gamma deltaXXXXXXXXXXXXXXXX"), (2, "delta gamma beta alpha")]
    # tokens: d(0,1) = 1/4, d(0,2) = d(1,2) = 1: the tie goes to the smaller pair.
    assert select_diverse(items, 2, unit="token") == [0, 2]
    # characters: the 16 appended letters push 1 away from 0 and 2.
    assert select_diverse(items, 2, unit="char") == [1, 2]


def test_process_pool_matches_in_process():
    rng = random.Random(5)
    groups = {f"q{i}": random_items(rng, rng.randint(1, 6)) for i in range(40)}
    one = select_diverse_many(groups, 3, "char", workers=1)
    two = select_diverse_many(groups, 3, "char", workers=2, chunksize=3)
    assert one == two
    assert list(two) == list(groups)  # question order kept
    with pytest.raises(ValueError, match="diversity.unit"):
        select_diverse_many(groups, 2, "word")


def test_pass_rates_ignore_undecided():
    verdicts = (
        [
            verdict("a", 0, "correct", model="smol"),
            verdict("a", 1, "wrong", model="smol"),
            verdict("a", 2, "timeout", model="smol"),
            verdict("a", 3, "correct", model="smol"),
        ]
        + [verdict("b", i, name, model="smol") for i, name in enumerate(sorted(compression.UNDECIDED_VERDICTS))]
        + [verdict("c", 0, "format", model="smol"), verdict("c", 1, "infra_error", model="smol")]
    )
    rates = {r["question_id"]: r for r in compression.pass_rates(verdicts)}
    validate_records(rates.values(), PASS_RATE)
    assert rates["a"] == {"question_id": "a", "n": 4, "n_pass": 2, "n_fail": 1, "n_undecided": 1,
                          "pass_rate": pytest.approx(2 / 3)}
    assert rates["b"]["pass_rate"] is None and rates["b"]["n_undecided"] == len(compression.UNDECIDED_VERDICTS)
    assert rates["c"]["pass_rate"] == 0.0 and rates["c"]["n_fail"] == 1  # a broken format is a decided fail


def test_pass_rates_reject_contradictions_and_repeats():
    with pytest.raises(ValueError, match="keep is true"):
        compression.pass_rates([verdict("a", 0, "timeout", keep=True, model="smol")])
    with pytest.raises(ValueError, match="two verdicts"):
        compression.pass_rates([verdict("a", 0, "correct", model="smol"), verdict("a", 0, "wrong", model="smol")])


def rate(q, r):
    return {"question_id": q, "n": 4, "n_pass": 0, "n_fail": 0, "n_undecided": 0, "pass_rate": r}


def test_compress_boundaries():
    rates = [rate("easy", 0.75), rate("edge", 0.5), rate("hard", 0.25), rate("none", None), rate("zero", 0.0),
             rate("all", 1.0)]
    ids = [r["question_id"] for r in rates]
    kept, dropped = compression.compress(ids, rates, 0.5)
    assert kept == ["edge", "hard", "none", "zero"]  # equal to the threshold is kept; null is kept
    assert [d["question_id"] for d in dropped] == ["easy", "all"]
    assert "0.75 > threshold 0.5" in dropped[0]["reason"]
    kept, _ = compression.compress(ids, rates, 0.0)
    assert kept == ["none", "zero"]
    kept, dropped = compression.compress(ids, rates, 1.0)
    assert kept == ids and dropped == []
    kept, _ = compression.compress(ids, rates, 0.5 - 1e-12)
    assert "edge" not in kept


def test_compress_errors():
    with pytest.raises(ValueError, match="no pass rate for 1 question"):
        compression.compress(["a", "b"], [rate("a", 0.1)], 0.5)
    for bad in (-0.1, 1.5, "0.5", True):
        with pytest.raises(ValueError, match="compression.threshold"):
            compression.compress([], [], bad)


def score(model, bench, value, metric="pass@1"):
    return {"model": model, "benchmark": bench, "metric": metric, "value": value, "n": 16}


SCORES = [
    score("smoke/smol/terse", "arith", 0.50), score("smoke/smol/terse", "stdio", 0.10),
    score("smoke/smol/verbose", "arith", 0.30), score("smoke/smol/verbose", "stdio", 0.40),
    score("smoke/smol/verbose", "arith", 0.9, metric="length"),  # not a configured metric
    score("smoke/other/terse", "arith", 1.0), score("smoke/other/terse", "stdio", 1.0),  # another student
    score("teacher/terse", "arith", 1.0), score("base/smol", "arith", 0.2),  # not smoke models
]


METRICS = [{"benchmark": "arith", "metric": "pass@1"}, {"benchmark": "stdio", "metric": "pass@1"}]


def test_mean_rule_chooses_the_best_smoke_student():
    sel = teacher.select_teacher(SCORES, METRICS, "smol")
    assert sel["teacher"] == "verbose" and sel["pinned"] is False and sel["rule"] == "mean"
    assert sel["scores"] == {"verbose": pytest.approx(0.35), "terse": pytest.approx(0.30)}
    assert sel["student"] == "smol"
    json.dumps(sel)  # the checkpoint writes it as JSON


def test_weighted_rule_and_table():
    metrics = [dict(METRICS[0], weight=3), dict(METRICS[1], weight=1)]
    sel = teacher.select_teacher(SCORES, metrics, "smol", rule="weighted")
    assert sel["teacher"] == "terse"
    assert sel["scores"]["terse"] == pytest.approx((3 * 0.5 + 0.1) / 4)
    table = teacher.teacher_scores(SCORES, metrics, "smol", rule="weighted")
    assert [(r["rank"], r["teacher"]) for r in table] == [(1, "terse"), (2, "verbose")]
    assert table[0]["arith/pass@1"] == 0.5
    tsv = teacher.score_table_tsv(table)
    assert tsv.splitlines()[0] == "rank\tteacher\tscore\tarith/pass@1\tstdio/pass@1"


def test_ties_go_alphabetically():
    scores = [score(f"smoke/s/{t}", "b", x) for t, x in (("zeta", 0.1 + 0.2), ("alpha", 0.3), ("mid", 0.1))]
    sel = teacher.select_teacher(scores, [{"benchmark": "b", "metric": "pass@1"}], "s")
    assert sel["teacher"] == "alpha"  # 0.1 + 0.2 != 0.3 in floats, still a tie
    assert teacher.select_teacher(list(reversed(scores)), [{"benchmark": "b", "metric": "pass@1"}], "s")[
        "teacher"] == "alpha"


def test_choice_margin_pairs_problems_and_adds_benchmarks_as_independent():
    import math

    from ded.evaluate.metrics import paired_gain_se

    metrics = [{"benchmark": "arith", "metric": "pass@1"}, {"benchmark": "stdio", "metric": "pass@1"}]
    rates = {("smoke/smol/terse", "arith"): {"a1": 1.0, "a2": 1.0, "a3": 0.5, "a4": 0.0},
             ("smoke/smol/verbose", "arith"): {"a1": 0.0, "a2": 1.0, "a3": 0.0, "a4": 0.0},
             ("smoke/smol/terse", "stdio"): {"s1": 1.0, "s2": 0.0, "s3": 1.0},
             ("smoke/smol/verbose", "stdio"): {"s1": 0.0, "s2": 0.0, "s3": 0.0}}
    scores = [{"model": m, "benchmark": b, "metric": "pass@1", "value": sum(r.values()) / len(r), "n": len(r)}
              for (m, b), r in rates.items()]
    sel = teacher.select_teacher(scores, metrics, "smol", teachers=["terse", "verbose"], rates=rates)
    margin = sel["margin"]
    se_a = paired_gain_se(rates[("smoke/smol/terse", "arith")], rates[("smoke/smol/verbose", "arith")])[1]
    se_s = paired_gain_se(rates[("smoke/smol/terse", "stdio")], rates[("smoke/smol/verbose", "stdio")])[1]
    assert sel["teacher"] == "terse" and margin["runner_up"] == "verbose"
    assert margin["difference"] == pytest.approx((0.625 - 0.25 + 2 / 3 - 0) / 2)
    assert margin["se"] == pytest.approx(math.sqrt(se_a ** 2 + se_s ** 2) / 2)
    assert margin["beyond_noise"] is (margin["difference"] >= 2 * margin["se"])
    # a metric with no per-problem outcomes: the lead is given, its noise is not
    other = [{"benchmark": "arith", "metric": "pass@1"}, {"benchmark": "stdio", "metric": "pass@2"}]
    scores2 = scores + [dict(r, metric="pass@2") for r in scores if r["benchmark"] == "stdio"]
    margin = teacher.select_teacher(scores2, other, "smol", teachers=["terse", "verbose"], rates=rates)["margin"]
    assert margin["se"] is None and margin["why"] == "stdio pass@2 has no per-problem outcomes to pair"
    # one candidate: nothing to compare
    assert teacher.select_teacher(scores, metrics, "smol", teachers=["terse"], rates=rates)["margin"] is None


def test_pinned_teacher_skips_the_smoke_test():
    sel = teacher.select_teacher([], [], "smol", pinned="terse", teachers=["terse", "verbose"])
    assert sel == {"teacher": "terse", "student": "smol", "rule": "mean", "metrics": [], "scores": {},
                   "pinned": True, "margin": None}
    with pytest.raises(ValueError, match="teacher_selection.pinned"):
        teacher.select_teacher([], [], "smol", pinned="nobody", teachers=["terse"])


def test_selection_errors_name_what_is_missing():
    with pytest.raises(ValueError, match="no row for model 'smoke/smol/extra'"):
        teacher.select_teacher(SCORES, METRICS, "smol", teachers=["terse", "verbose", "extra"])
    with pytest.raises(ValueError, match="no rows for any smoke model"):
        teacher.select_teacher(SCORES, METRICS, "nobody")
    with pytest.raises(ValueError, match=r"teacher_selection.metrics\[1\].metric"):
        teacher.select_teacher(SCORES, [METRICS[0], {"benchmark": "x"}], "smol")
    with pytest.raises(ValueError, match="teacher_selection.rule"):
        teacher.select_teacher(SCORES, METRICS, "smol", rule="median")
    with pytest.raises(ValueError, match="two rows"):
        teacher.select_teacher(SCORES + SCORES[:1], METRICS, "smol")


def test_read_scores_and_config_metrics(tmp_path):
    path = tmp_path / "scores.tsv"
    path.write_text("model\tbenchmark\tmetric\tvalue\tn\nsmoke/s/a\tb\tpass@1\t0.5\t16\n")
    assert teacher.read_scores(path) == [score("smoke/s/a", "b", 0.5)]
    path.write_text("model\tbenchmark\tmetric\tvalue\tn\nsmoke/s/a\tb\tpass@1\thigh\t16\n")
    with pytest.raises(RecordError, match="line 2: field 'value'"):
        teacher.read_scores(path)
    config = resolved({"benchmarks": {"arith": {}, "stdio": {}}, "teacher_selection": {"metrics": []}})
    assert [m["benchmark"] for m in teacher.metrics_from_config(config)] == ["arith", "stdio"]
    config["teacher_selection"]["metrics"] = [{"benchmark": "gsm8k", "metric": "pass@1"}]
    with pytest.raises(ValueError, match=r"metrics\[0\].benchmark = 'gsm8k'"):
        teacher.metrics_from_config(config)


def fixture_domain(domain="math"):
    """Four questions, four samples each.

    q1: kept 1, 2, 3 (0 wrong); easy for the student (0.75).
    q2: kept 0, 1, 2, 3; pass rate 0.5 (kept by compression).
    q3: nothing kept; pass rate 0.
    q4: kept 2 only; pass rate null.
    """
    qs = [f"{domain}{i}" for i in range(1, 5)]
    problems = [problem(q, domain=domain) for q in qs]
    texts = {
        qs[0]: ["wrong", "aaaa aaaa", "aaaa bbbb cccc", "zzzz"],
        qs[1]: ["same text here", "same text here!", "totally different words", "x"],
        qs[2]: ["n0", "n1", "n2", "n3"],
        qs[3]: ["m0", "m1", "only kept one", "m3"],
    }
    samples = [
        sample(q, s, text=t, completion_tokens=len(t.split()), model="T", reasoning="r", answer="a", parsed=True)
        for q in qs
        for s, t in enumerate(texts[q])
    ]
    keep = {qs[0]: {1, 2, 3}, qs[1]: {0, 1, 2, 3}, qs[2]: set(), qs[3]: {2}}
    verdicts = [verdict(q, s, "correct" if s in keep[q] else "wrong", model="smol") for q in qs for s in range(4)]
    rates = [rate(qs[0], 0.75), rate(qs[1], 0.5), rate(qs[2], 0.0), rate(qs[3], None)]
    return qs, problems, samples, verdicts, rates


def build(variant, domain="math", **settings):
    qs, problems, samples, verdicts, rates = fixture_domain(domain)
    settings = CorpusSettings(**{"threshold": 0.5, "per_question": 2, "unit": "char", "workers": 1, **settings})
    rows, stats = build_corpus(variant, teacher="T", domain=domain, samples=samples, verdicts=verdicts,
                               problems=problems, pass_rates=rates, settings=settings)
    validate_records(rows, CORPUS_ROW)
    return rows, stats


def test_full_right_and_right_hard():
    rows, stats = build("full")
    assert ids(rows) == [("math1", 0), ("math2", 0), ("math3", 0), ("math4", 0)]
    # Training rows carry the prompt as sampling showed it, instruction included.
    assert rows[0]["prompt"].startswith("question math1\n\n") and "\\boxed{}" in rows[0]["prompt"]
    assert rows[0]["response"] == "wrong" and rows[0]["teacher"] == "T"
    assert stats["rows"] == 4 and stats["questions"] == 4 and stats["chars"] == len("wrong" "same text here" "n0" "m0")
    rows, stats = build("right")
    assert ids(rows) == [("math1", 1), ("math2", 0), ("math4", 2)]
    assert stats["dropped_questions"] == {"no_verified_sample": 1}
    rows, stats = build("right_hard")
    assert ids(rows) == [("math2", 0), ("math4", 2)]
    assert stats["dropped_questions"] == {"compressed": 1, "no_verified_sample": 1}


def test_ded_corpus_and_length_ablations():
    rows, stats = build("right_hard_diverse")
    # math2: "x" is far from everything; with "totally different words" the farthest pair.
    assert ids(rows) == [("math2", 2), ("math2", 3), ("math4", 2)]
    assert stats["corpus"] == "math-right_hard_diverse" and stats["completion_tokens"] == 3 + 1 + 3
    rows, _ = build("longest")
    assert ids(rows) == [("math2", 0), ("math2", 1), ("math4", 2)]  # three 3-word samples: smaller ids win
    rows, _ = build("shortest")
    assert ids(rows) == [("math2", 0), ("math2", 3), ("math4", 2)]  # "x", then the 3-word tie to id 0
    rows, _ = build("longest", length_by="chars")
    assert ids(rows) == [("math2", 1), ("math2", 2), ("math4", 2)]


def test_paper_shape_ded_longest_and_shortest_corpora_differ():
    """With paper.yaml's M and P, each question has more verified samples than P, so diversity and
    length pick different sets (with P >= M they would all be every verified sample)."""
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    m, p = paper["sampling"]["samples_per_question"], paper["diversity"]["trajectories_per_question"]
    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    qs = [f"q{i}" for i in range(6)]
    problems = [problem(q) for q in qs]
    samples = []
    for q in qs:
        for s in range(m):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 40)))
            samples.append(
                sample(
                    q,
                    s,
                    text=text,
                    completion_tokens=len(text.split()),
                    model="T",
                    reasoning="r",
                    answer="a",
                    parsed=True,
                )
            )
    verdicts = [
        verdict(q, s, "wrong" if s == 0 else "correct", model="smol") for q in qs for s in range(m)
    ]  # M - 1 verified
    rates = [rate(q, 0.25) for q in qs]
    settings = dataclasses.replace(
        CorpusSettings.from_config(resolved(paper), workers=1), unit="char"
    )  # no tokenizer here
    built = {}
    for variant in ("right_hard_diverse", "longest", "shortest"):
        rows, stats = build_corpus(variant, teacher="T", domain="math", samples=samples, verdicts=verdicts,
                                   problems=problems, pass_rates=rates, settings=settings)
        assert stats["rows"] == len(qs) * p
        built[variant] = set(ids(rows))
    assert len(set(map(frozenset, built.values()))) == 3, built


def test_config_refuses_p_not_below_m():
    from ded.config import ConfigError, check_p_below_m

    for name in ("config.yaml", "paper.yaml"):
        check_p_below_m(yaml.safe_load((ROOT / "config" / name).read_text()))
    config = {"sampling": {"samples_per_question": 4}, "diversity": {"trajectories_per_question": 4},
              "corpora": {"variants": ["full", "right_hard_diverse"]}}
    with pytest.raises(
        ConfigError, match=r"diversity.trajectories_per_question = 4 .*sampling.samples_per_question = 4"
    ):
        check_p_below_m(config)
    check_p_below_m(dict(config, corpora={"variants": ["full", "right", "right_hard"]}))  # nothing picks P


def test_mixed_takes_half_of_each_domain_by_question():
    math_rows, _ = build("right_hard_diverse", per_question=1)
    code_rows, _ = build("right_hard_diverse", domain="code", per_question=1)
    extra = [dict(r, question_id=f"{r['question_id']}x") for r in math_rows]  # 4 math questions
    ded = {"math": math_rows + extra, "code": code_rows}
    rows, stats = build_corpus("mixed", teacher="T", ded_corpora=ded, settings=CorpusSettings(seed=3))
    validate_records(rows, CORPUS_ROW)
    math_q = {r["question_id"] for r in rows if r["domain"] == "math"}
    code_q = {r["question_id"] for r in rows if r["domain"] == "code"}
    assert len(math_q) == 2 and len(code_q) == 1  # ceil(4/2), ceil(2/2)
    assert stats["dropped_questions"] == {"code_not_drawn": 1, "math_not_drawn": 2}
    again, _ = build_corpus("mixed", teacher="T", ded_corpora=ded, settings=CorpusSettings(seed=3))
    assert again == rows
    others = {frozenset(r["question_id"] for r in build_corpus("mixed", teacher="T", ded_corpora=ded,
                                                                settings=CorpusSettings(seed=s))[0]) for s in range(8)}
    assert len(others) > 1  # the seed matters


def test_variant_registry_and_names():
    assert list(VARIANTS) == ["full", "right", "right_hard", "right_hard_diverse", "longest", "shortest", "mixed"]
    names = corpus_names(["math", "code"])
    assert "math-right_hard_diverse" in names and "code-full" in names and names[-1] == "mixed"
    assert "mixed" not in corpus_names(["math"])
    for name in names:
        variant, domain = parse_corpus_name(name)
        assert corpus_name(variant, domain) == name
    with pytest.raises(ValueError, match="not a corpus name"):
        parse_corpus_name("math-mixed")
    with pytest.raises(ValueError, match="unknown corpus variant"):
        build("everything")


def test_corpus_input_errors():
    qs, problems, samples, verdicts, rates = fixture_domain()
    with pytest.raises(ValueError, match="needs the student's pass rates"):
        build_corpus("right_hard", teacher="T", domain="math", samples=samples, verdicts=verdicts, problems=problems)
    with pytest.raises(ValueError, match="has no seed problem"):
        build_corpus("full", teacher="T", domain="math", samples=samples, verdicts=verdicts, problems=problems[:1])
    with pytest.raises(ValueError, match="not in the samples"):
        build_corpus("right", teacher="T", domain="math", samples=samples[:1], verdicts=verdicts, problems=problems)


def test_smoke_corpus_takes_the_lowest_kept_sample():
    qs, problems, samples, verdicts, _ = fixture_domain()
    rows = teacher.smoke_corpus(verdicts, samples, problems, "T", "math")
    validate_records(rows, CORPUS_ROW)
    assert ids(rows) == [("math1", 1), ("math2", 0), ("math4", 2)]
    assert rows[0]["response"] == "aaaa aaaa"


def test_config_sections_validate_and_match_code_defaults():
    import jsonschema

    schema = load_schema()
    for name in ("config.yaml", "paper.yaml"):
        jsonschema.validate(yaml.safe_load((ROOT / "config" / name).read_text()), schema)
    props = schema["properties"]
    assert CorpusSettings() == CorpusSettings.from_config(resolved())  # a field's default is the schema's
    assert props["diversity"]["properties"]["exact_limit"]["default"] == diversity.DEFAULT_EXACT_LIMIT
    assert props["diversity"]["properties"]["unit"]["enum"] == list(diversity.UNITS)
    assert props["corpora"]["properties"]["variants"]["default"] == list(VARIANTS)
    assert props["corpora"]["properties"]["variants"]["items"]["enum"] == list(VARIANTS)
    assert props["corpora"]["properties"]["length_by"]["enum"] == list(corpora.LENGTH_BY)
    assert props["teacher_selection"]["properties"]["rule"]["enum"] == list(teacher.RULES)
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    settings = CorpusSettings.from_config(resolved(config), workers=1)
    assert (settings.per_question, settings.threshold, settings.unit) == (2, 0.5, "token")


def run_cli(args, stdin):
    return subprocess.run([sys.executable, "-m", "ded", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_cli_select_diverse_end_to_end():
    rng = random.Random(11)
    groups = {f"q{i}": random_items(rng, rng.randint(1, 6)) for i in range(12)}
    lines = [json.dumps({"question_id": q, "sample_id": s, "text": t, "extra": 1})
             for q, items in groups.items() for s, t in items]
    rng.shuffle(lines)  # questions interleaved: output follows first appearance
    proc = run_cli(["select", "diverse", "--p", "2", "--unit", "char", "--workers", "2"], "\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    first_seen = list(dict.fromkeys(json.loads(line)["question_id"] for line in lines))
    assert [o["question_id"] for o in out] == first_seen
    for o in out:
        assert o["sample_ids"] == select_diverse(groups[o["question_id"]], 2, unit="char")


def test_cli_names_the_bad_line():
    good = json.dumps({"question_id": "q", "sample_id": 0, "text": "a"})
    proc = run_cli(["select", "diverse", "--p", "2"], good + "\n" + json.dumps({"question_id": "q", "sample_id": 1}))
    assert proc.returncode == 2
    assert "<stdin>, line 2: field 'text': missing required field" in proc.stderr


def test_cli_pass_rates_and_teacher(tmp_path):
    verdicts = [
        verdict("a", 0, "correct", model="smol"),
        verdict("a", 1, "timeout", model="smol"),
        verdict("a", 2, "wrong", model="smol"),
    ]
    proc = run_cli(["select", "pass-rates"], "".join(json.dumps(x) + "\n" for x in verdicts))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pass_rate"] == 0.5
    path = tmp_path / "scores.tsv"
    path.write_text(
        "model\tbenchmark\tmetric\tvalue\tn\n"
        + "".join(f"{r['model']}\t{r['benchmark']}\t{r['metric']}\t{r['value']}\t{r['n']}\n" for r in SCORES)
    )
    proc = run_cli(["select", "teacher", "--scores", str(path), "--student", "smol",
                    "--metric", "arith/pass@1", "--metric", "stdio/pass@1"], "")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["teacher"] == "verbose"
    assert proc.stderr.splitlines()[1].startswith("1\tverbose\t0.35")
