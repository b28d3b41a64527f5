"""Analysis stage: token entropy, PCA centroid shift, Tables 1-7, figures, and the rules end to end."""


from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ded.analysis import tables as T
from ded.analysis.entropy import ScoringRow, scoring_rows, summarize, topk_entropy
from ded.analysis.modeling import AnalysisError
from ded.analysis.pca import centroid_shift, resolve_layers

ROOT = Path(__file__).resolve().parents[2]


def scores_fixture() -> pd.DataFrame:
    rows = []

    def add(model, bench, acc, tokens):
        rows.append((model, bench, "pass@1", acc, 16))
        rows.append((model, bench, "mean_tokens", tokens, 16))

    for bench, base in (("aime24", 0.30), ("math500", 0.60)):
        add("base/qwen", bench, base, 9000)
        add("teacher/r1", bench, base + 0.40, 12000)
        add("teacher/qwq", bench, base + 0.35, 13000)
        add("smoke/qwen/r1", bench, base + 0.10, 10000)
        add("smoke/qwen/qwq", bench, base + 0.15, 11000)
        for i, stage in enumerate(["full", "right", "right_hard", "right_hard_diverse"]):
            add(f"trained/qwen/qwq/math-{stage}", bench, base + 0.10 + 0.05 * i, 11000 - 300 * i)
        add("trained/qwen/qwq/math-longest", bench, base + 0.20, 14000)
        add("trained/qwen/qwq/math-shortest", bench, base + 0.10, 6000)
        add("trained/qwen/qwq/mixed", bench, base + 0.28, 11000)
    rows.append(("base/qwen", "mmlu", "acc", 0.70, 14042))
    rows.append(("base/qwen", "mmlu", "acc_stderr", 0.01, 14042))
    rows.append(("trained/qwen/qwq/math-right_hard_diverse", "mmlu", "acc", 0.72, 14042))
    rows.append(("trained/qwen/qwq/math-right_hard_diverse", "gsm8k", "exact_match:strict-match", 0.9, 1319))
    rows.append(("trained/qwen/qwq/math-right_hard_diverse", "gsm8k", "exact_match:flexible-extract", 0.95, 1319))
    rows.append(("trained/qwen/qwq/math-right_hard_diverse", "math500:Level 5", "pass@1", 0.4, 134))
    rows.append(("trained/qwen/qwq/math-right_hard_diverse", "math500", "delta_pass@1", 0.25, 500))
    return pd.DataFrame(rows, columns=list(T.SCORE_COLUMNS))


def stats_fixture() -> pd.DataFrame:
    rows = [("qwen", "qwq", c, r, q, r * chars) for c, r, q, chars in (
        ("math-full", 16000, 1000, 30000), ("math-right", 9000, 900, 28000), ("math-right_hard", 4000, 500, 32000),
        ("math-right_hard_diverse", 800, 400, 31000), ("math-longest", 400, 400, 50000),
        ("math-shortest", 400, 400, 12000), ("mixed", 1700, 850, 26000))]
    return pd.DataFrame(rows, columns=list(T.CORPUS_STATS_COLUMNS))


SETTINGS = {"benchmarks": ["aime24", "math500"]}


METHODS = [{"name": "s1-32B", "student": "Qwen2.5-32B-Instruct", "corpus_size": 1000,
            "scores": {"aime24": 56.7, "math500": 93.0}, "source": "s1 paper"}]


def test_topk_entropy_bounds():
    p = {"a": 0.5, "b": 0.3, "c": 0.2}
    exact = -sum(v * math.log(v) for v in p.values())
    full = [{k: math.log(v) for k, v in p.items()}]
    assert topk_entropy(full)[0] == pytest.approx(exact)
    top2 = [{"a": math.log(0.5), "b": math.log(0.3)}]
    # lumped: the missing 0.2 is one outcome, which here is exactly the truth
    assert topk_entropy(top2, "lumped")[0] == pytest.approx(exact)
    q = np.array([0.5, 0.3]) / 0.8
    assert topk_entropy(top2, "renormalized")[0] == pytest.approx(float(-(q * np.log(q)).sum()))
    with pytest.raises(AnalysisError):
        topk_entropy(top2, "guess")
    # the sample records' form: [[token, logprob], ...] per generated token, ids or texts as tokens
    pairs = [[[7, math.log(0.5)], [3, math.log(0.3)]], [["a", 0.0]]]
    assert topk_entropy(pairs).tolist() == pytest.approx([exact, 0.0])
    with pytest.raises(AnalysisError, match="pairs"):
        topk_entropy([[0.5, 0.3]])


def test_scoring_rows_from_samples_need_their_problems():
    problems = [{"id": "q1", "prompt": "What is 1+1?"}]
    samples = [{"question_id": "q1", "sample_id": 3, "text": "<think>1+1</think>2"}]
    rows = scoring_rows(samples, problems)
    assert rows == [ScoringRow("What is 1+1?", "<think>1+1</think>2", "q1", 3)]
    with pytest.raises(AnalysisError, match="pass the problems file"):
        scoring_rows(samples)
    with pytest.raises(AnalysisError, match="record 1: field 'question_id'"):
        scoring_rows([{"question_id": "q9", "sample_id": 0, "text": "x"}], problems, where="kept.jsonl")


def test_summarize_of_nothing_is_explicit():
    s = summarize([])
    assert s["tokens"] == 0 and s["mean"] is None


def test_centroid_shift_by_hand():
    # Layer 0: base spread along y (variance 2) then x, so PC1 = y, PC2 = x. The trained features move by
    # (0.3, 0.4, 5.0): the z part is orthogonal to the plane and vanishes, leaving |(0.4, 0.3)| = 0.5.
    base0 = np.array([[1, 0, 0], [-1, 0, 0], [0, 2, 0], [0, -2, 0]], dtype=float)
    trained0 = base0 + [0.3, 0.4, 5.0]
    # Layer 1: a shift of 3 along x, inside the plane.
    base1 = base0.copy()
    trained1 = base1 + [3.0, 0.0, 0.0]
    base = np.stack([base0, base1], axis=1)  # [4 prompts, 2 layers, 3 hidden]
    trained = np.stack([trained0, trained1], axis=1)
    sh = centroid_shift(base, trained)
    np.testing.assert_allclose(sh.distances, [0.5, 3.0], atol=1e-9)
    assert sh.mean_distance == pytest.approx(1.75)
    np.testing.assert_allclose(sh.base_centroid, 0.0, atol=1e-9)  # PCA centres on the base features
    np.testing.assert_allclose(np.abs(sh.base_proj[:, 0]), [[0, 1], [0, 1], [2, 0], [2, 0]], atol=1e-9)
    np.testing.assert_allclose(np.abs(sh.trained_centroid[0]), [0.4, 0.3], atol=1e-9)
    np.testing.assert_allclose(sh.explained_variance_ratio[0], [0.8, 0.2], atol=1e-9)


def test_centroid_shift_rejects_bad_shapes():
    with pytest.raises(AnalysisError, match="at least 2 prompts"):
        centroid_shift(np.zeros((1, 2, 4)), np.zeros((1, 2, 4)))
    with pytest.raises(AnalysisError, match="matching layers"):
        centroid_shift(np.zeros((3, 2, 4)), np.zeros((3, 3, 4)))


def test_resolve_layers():
    assert resolve_layers("all", 4) == [0, 1, 2, 3]
    assert resolve_layers([-1, 0], 4) == [0, 3]
    with pytest.raises(AnalysisError, match="out of range"):
        resolve_layers([4], 4)


def test_table1_deltas_against_the_base():
    t1 = T.table1_teacher_student(scores_fixture(), SETTINGS)
    qwq = t1[t1["teacher"] == "qwq"].iloc[0]
    assert qwq["aime24 pass@1 (%)"] == pytest.approx(45.0)
    assert qwq["aime24 Δ vs base (pp)"] == pytest.approx(15.0)
    assert qwq["avg Δ vs base (pp)"] == pytest.approx(15.0)
    assert qwq["math500 tokens"] == 11000
    assert qwq["teacher's own avg pass@1 (%)"] == pytest.approx((65.0 + 95.0) / 2)
    assert list(t1["teacher"]) == ["(base, no distillation)", "r1", "qwq"]


def test_table2_marks_literature_rows_reported():
    t2 = T.table2_methods(scores_fixture(), stats_fixture(), METHODS + [
        {"name": "LIMO", "corpus_size": 817, "scores": {"aime24": 57.1}, "source": "LIMO paper"}], SETTINGS)
    s1 = t2[t2["method"] == "s1-32B"].iloc[0]
    assert s1["source"] == "reported (s1 paper)" and s1["aime24 pass@1 (%)"] == 56.7
    limo = t2[t2["method"] == "LIMO"].iloc[0]
    assert limo["math500 pass@1 (%)"] == "not reported"
    ded = t2[t2["method"].str.startswith("DED")].iloc[0]
    assert ded["source"] == "this run" and ded["corpus rows"] == 800
    assert ded["aime24 pass@1 (%)"] == pytest.approx(55.0)


def test_tables3_and_4_corpus_stages():
    t3 = T.table3_math_stages(scores_fixture(), stats_fixture(), SETTINGS)
    assert list(t3["corpus"]) == ["math-full", "math-right", "math-right_hard", "math-right_hard_diverse"]
    assert list(t3["corpus rows"]) == [16000, 9000, 4000, 800]
    assert t3.iloc[3]["aime24 pass@1 (%)"] == pytest.approx(55.0)
    t4 = T.table4_code_stages(scores_fixture(), stats_fixture(), SETTINGS)  # no code runs in the fixture
    assert len(t4) == 4 and (t4["aime24 pass@1 (%)"] == T.NOT_RUN).all()
    assert (t4["student"] == T.NOT_RUN).all()


def test_rows_of_untrained_variants_say_why():
    settings = {**SETTINGS, "trained_variants": ["full", "right_hard_diverse", "mixed"]}
    scores = scores_fixture()
    scores = scores[scores["model"] != "trained/qwen/qwq/math-right"]  # as a run that did not train it
    t3 = T.table3_math_stages(scores, stats_fixture(), settings)
    right = t3[t3["corpus"] == "math-right"].iloc[0]
    assert right["aime24 pass@1 (%)"] == T.NOT_TRAINED and right["stage"] == "+ correctness"
    assert right["corpus rows"] == 9000  # what the run did measure stays
    assert t3[t3["corpus"] == "math-right_hard_diverse"].iloc[0]["aime24 pass@1 (%)"] == pytest.approx(55.0)
    assert "not trained" in T.to_markdown(t3)
    t7 = T.table7_length(scores_fixture(), stats_fixture(), settings)  # scores present are shown, whatever the config
    assert t7[t7["selection"] == "longest"].iloc[0]["math500 pass@1 (%)"] == pytest.approx(80.0)


def test_table5_domains_marks_missing_code_run():
    t5 = T.table5_domains(scores_fixture(), stats_fixture(), SETTINGS)
    assert list(t5["training data"]) == ["none (base)", "math", "code", "mixed"]
    code = t5[t5["training data"] == "code"].iloc[0]
    assert code["aime24 pass@1 (%)"] == T.NOT_RUN and code["corpus rows"] == T.NOT_RUN
    mixed = t5[t5["training data"] == "mixed"].iloc[0]
    assert mixed["math500 pass@1 (%)"] == pytest.approx(88.0)


def test_table6_out_of_domain_from_lm_eval_metrics():
    # per-difficulty rows (math500:Level 5) are in-domain; each suite shows one metric, named
    t6 = T.table6_out_of_domain(scores_fixture(), {}, in_domain=["aime24", "math500"])
    assert list(t6.columns) == ["student", "model", "mmlu acc (%)", "gsm8k exact_match:strict-match (%)", "avg (%)"]
    assert list(t6["model"]) == ["base", "qwq / math-right_hard_diverse"]
    assert t6.iloc[1]["mmlu acc (%)"] == pytest.approx(72.0)
    assert t6.iloc[1]["gsm8k exact_match:strict-match (%)"] == pytest.approx(90.0)
    assert t6.iloc[1]["avg (%)"] == pytest.approx(81.0)
    assert t6.iloc[0]["gsm8k exact_match:strict-match (%)"] == T.NOT_RUN
    empty = T.table6_out_of_domain(scores_fixture(), {"ood_benchmarks": ["bbh"]}, in_domain=["aime24"])
    assert len(empty) == 1 and empty.iloc[0]["student"] == T.NOT_RUN


def test_table7_length_ablation():
    t7 = T.table7_length(scores_fixture(), stats_fixture(), SETTINGS)
    assert list(t7["selection"]) == ["longest", "shortest", "DED (diverse)"]
    assert list(t7["mean response chars"]) == [50000, 12000, 31000]
    assert t7.iloc[1]["math500 tokens"] == 6000


def test_every_table_survives_missing_inputs(tmp_path):
    tables = T.paper_tables(T.read_scores(tmp_path / "absent.tsv"), T.read_corpus_stats(None), [], SETTINGS)
    assert sorted(tables) == [f"table{i}" for i in range(1, 8)]
    for name, df in tables.items():
        assert len(df) >= 1, name
        assert (df == T.NOT_RUN).to_numpy().any(), f"{name} does not say what was not run"


def test_bad_scores_name_the_line_and_field(tmp_path):
    path = tmp_path / "scores.tsv"
    path.write_text("model\tbenchmark\tmetric\tvalue\tn\nbase/q\taime24\tpass@1\t0.5\t16\n"
                    "trained/q/t\taime24\tpass@1\t0.4\t16\n")
    with pytest.raises(T.TableInputError, match=r"line 3: field 'model'"):
        T.read_scores(path)
    path.write_text("model\tbenchmark\tmetric\tvalue\tn\nbase/q\taime24\tpass@1\thigh\t16\n")
    with pytest.raises(T.TableInputError, match=r"line 2: field 'value'"):
        T.read_scores(path)


def test_writers(tmp_path):
    df = T.table1_teacher_student(scores_fixture(), SETTINGS)
    T.write_table(df, tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "t.tex", decimals=1, caption="Teachers")
    assert pd.read_csv(tmp_path / "t.csv").shape == df.shape
    md = (tmp_path / "t.md").read_text()
    cells = " ".join(md.split())  # the columns are padded to equal widths
    assert cells.startswith("| student | teacher |") and "| 45.0 | 15.0 | 11000 |" in cells
    tex = (tmp_path / "t.tex").read_text()
    assert r"\begin{tabular}" in tex and r"pass@1 (\%)" in tex and r"$\Delta$" in tex


def _nonempty(*paths):
    for p in paths:
        assert Path(p).exists() and Path(p).stat().st_size > 1000, p


def test_figures_are_written(tmp_path):
    from ded.analysis.figures import (
        figure1_points,
        literature_points,
        plot_entropy,
        plot_figure1,
        plot_pca_shift,
    )

    lit = [{"name": "s1-32B", "corpus_size": 1000, "aime24": 56.7, "aime25": None, "source": "s1"},
           {"name": "Light-R1-32B", "corpus_size": 76000, "aime24": 76.6, "aime25": 64.6, "source": "light-r1"}]
    sc, st = scores_fixture(), stats_fixture()
    points = figure1_points(sc, st, "aime24")
    assert len(points) == 7 and set(points["corpus_size"]) >= {800, 16000}
    assert list(literature_points(lit, "aime25")["label"]) == ["Light-R1-32B"]
    plot_figure1({b: (figure1_points(sc, st, b), literature_points(lit, b)) for b in ("aime24", "aime25")},
                 tmp_path / "f1.png", tmp_path / "f1.pdf")
    rng = np.random.default_rng(0)
    plot_entropy({"math: r1": [rng.gamma(0.3, 1.0, 200)], "math: qwq": [rng.gamma(0.3, 0.7, 200)],
                  "code: r1": []}, tmp_path / "f3.png", tmp_path / "f3.pdf")
    base = rng.normal(size=(10, 3, 8))
    sh = {"arith": centroid_shift(base, base + 0.5), "stdio": centroid_shift(base, base - 0.2)}
    plot_pca_shift(sh, [0, 1, 2], png=tmp_path / "f4.png", pdf=tmp_path / "f4.pdf")
    _nonempty(*(tmp_path / f"f{i}.{ext}" for i in (1, 3, 4) for ext in ("png", "pdf")))
    # nothing to plot is a figure that says so, not an error
    plot_figure1({"aime24": (figure1_points(T.empty_scores(), None, "aime24"), literature_points([], "aime24"))},
                 tmp_path / "e1.png", None)
    plot_entropy({}, tmp_path / "e3.png", None)
    _nonempty(tmp_path / "e1.png", tmp_path / "e3.png")


@pytest.fixture(scope="module")
def paper_config() -> dict:
    """config/paper.yaml with the schema's defaults filled in, as the workflow sees it."""
    from ded.settings import resolve_config

    cfg = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    resolve_config(cfg)
    return cfg


def test_paper_config_quotes_literature_with_sources(paper_config):
    lit, methods = paper_config["analysis"]["literature"], paper_config["analysis"]["methods"]
    assert {e["name"] for e in lit} >= {"DeepSeek-R1-Distill-Qwen-32B", "s1-32B", "LIMO", "Sky-T1-32B-Preview"}
    assert {m["name"] for m in methods} == {e["name"] for e in lit}
    for row in lit + methods:
        assert row["source"].strip() and row["corpus_size"] >= 1, row["name"]
    for m in methods:
        # every reported score is a benchmark this config evaluates, so it lands in a Table 2 column
        assert set(m["scores"]) <= set(paper_config["benchmarks"]), m["name"]
        assert all(0 < v <= 100 for v in m["scores"].values()), m["name"]
        same = next(e for e in lit if e["name"] == m["name"])
        assert same["aime24"] == m["scores"]["aime24"] and same["corpus_size"] == m["corpus_size"]


def test_table2_and_figure1_show_the_paper_configs_literature(paper_config, tmp_path):
    from ded.analysis.jobs import run_figure1

    analysis = paper_config["analysis"]
    settings = {"benchmarks": list(paper_config["benchmarks"])}
    t2 = T.table2_methods(scores_fixture(), stats_fixture(), analysis["methods"], settings)
    reported = t2[t2["source"].str.startswith("reported")]
    assert len(reported) == len(analysis["methods"])
    r1 = reported[reported["method"] == "DeepSeek-R1-Distill-Qwen-32B"].iloc[0]
    assert r1["source"] == "reported (DeepSeek-R1 report (arXiv 2501.12948))"
    assert (r1["aime24 pass@1 (%)"], r1["livecodebench pass@1 (%)"], r1["corpus rows"]) == (72.6, 57.2, 800000)
    s1 = reported[reported["method"] == "s1-32B"].iloc[0]
    assert s1["livecodebench pass@1 (%)"] == "not reported" and s1["aime25 pass@1 (%)"] == "not reported"
    assert s1["avg pass@1 (%)"] == "not reported"  # an average over the columns a source gives would mislead
    # this run's rows sit beside them, unchanged
    assert t2[t2["method"].str.startswith("DED")].iloc[0]["aime24 pass@1 (%)"] == pytest.approx(55.0)

    scores, stats = tmp_path / "scores.tsv", tmp_path / "corpus_stats.tsv"
    scores_fixture().to_csv(scores, sep="\t", index=False)
    stats_fixture().to_csv(stats, sep="\t", index=False)
    points = run_figure1(scores, stats, ["aime24", "aime25"], analysis["literature"], tmp_path / "f1.png",
                         None, tmp_path / "points.tsv")
    lit = points[points["origin"] == "reported"]
    assert set(lit["benchmark"]) == {"aime24"}  # no source here gives AIME 2025
    assert sorted(zip(lit["label"], lit["corpus_size"], lit["accuracy"])) == sorted(
        (e["name"], e["corpus_size"], e["aime24"]) for e in analysis["literature"])
    ours = points[points["origin"] == "this workflow"]
    assert len(ours) == 7 and set(ours["benchmark"]) == {"aime24"}  # the fixture scores no AIME 2025
    _nonempty(tmp_path / "f1.png")


def _render_caption(path: Path, cfg: dict, params: dict, wildcards: dict) -> str:
    """A caption as `snakemake --report` renders it (same Jinja2 settings), strictly: a misspelt name fails."""
    from types import SimpleNamespace

    import jinja2
    from docutils.core import publish_parts

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    snakemake = SimpleNamespace(config=cfg, params=SimpleNamespace(**params),
                                wildcards=SimpleNamespace(**wildcards), rule="r")
    text = env.from_string(path.read_text()).render(snakemake=snakemake)
    # halt on RST warnings too (an unbalanced ``literal``, a stray reference), as a reader would see them
    publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 5, "traceback": True})
    return text


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_report_captions_render_and_say_what_ran(configfile):
    from ded.report import RUN_PARAGRAPH, describe_run
    from ded.settings import resolve_config

    cfg = yaml.safe_load((ROOT / configfile).read_text())
    resolve_config(cfg)
    student, teacher = next(iter(cfg["students"])), next(iter(cfg["teachers"]))
    params = dict(
        run=describe_run(cfg, [configfile], {student: teacher}), scorer=student,
        benchmarks=list(cfg["benchmarks"]), max_prompts=4, plot_layer=-1, layers="all",
        settings={**cfg["analysis"]["tables"], "benchmarks": list(cfg["benchmarks"]), "ood_benchmarks": None},
        methods=cfg["analysis"]["methods"], literature=cfg["analysis"]["literature"],
        in_domain=list(cfg["benchmarks"]), paper_values=cfg["paper_values"], differs=[],
        m=cfg["sampling"]["samples_per_question"], per_question=cfg["diversity"]["trajectories_per_question"],
        threshold=cfg["compression"]["threshold"], method=cfg["analysis"]["pca"]["method"],
        max_tokens=cfg["analysis"]["pca"]["max_tokens"], seed=cfg["analysis"]["pca"]["seed"],
        pool_padding=cfg["analysis"]["pca"]["pool_padding"], teachers=[teacher], corpus=["smoke"], smoke_run="smoke",
        runs=[f"{student}/{teacher}/smoke"])
    wildcards = {"student": student, "teacher": teacher, "corpus": "math-right_hard_diverse"}
    # report/workflow.rst is the report's front page before rule front_page has run, not a caption
    captions = sorted(c for c in (ROOT / "report").glob("*.rst") if c.name != "workflow.rst")
    # every caption a rule names exists, and every caption is named by a rule
    named = set()
    for rules in (ROOT / "rules").glob("*.smk"):
        named |= set(re.findall(r'caption=f?"\.\./report/([^"]+)"', rules.read_text()))
    named = {n.replace("{t}", t) for n in named for t in ([f"table{i}" for i in range(1, 8)] if "{t}" in n else [n])}
    assert named == {c.name for c in captions}
    for caption in captions:
        text = _render_caption(caption, cfg, params, wildcards)
        assert RUN_PARAGRAPH in text, caption.name
        # the config file, the models (students, teachers, the chosen pair) and n per benchmark
        assert f"``{configfile}``" in text, caption.name
        for name in list(cfg["students"]) + list(cfg["teachers"]):
            assert f"``{name}``" in text, (caption.name, name)
        model = cfg["students"][student]["model"]
        if not caption.name.startswith("pca_comparison"):  # the comparison shows several teachers, none chosen
            assert f"``{student}`` ← ``{teacher}``" in text and (model == student or f"``{model}``" in text)
        for bench, spec in cfg["benchmarks"].items():
            n = f"{spec['n']} generated problems" if spec.get("n") else "all problems of"
            assert f"``{bench}``: {n}" in text and f"× {spec['samples']} sample" in text, (caption.name, bench)
    # a rule that does not know the chosen teacher says nothing about it
    params["run"] = describe_run(cfg, [configfile])
    assert "Chosen teacher" not in _render_caption(ROOT / "report/entropy.rst", cfg, params, wildcards)


def test_config_file_labels_are_relative_to_the_workflow(tmp_path):
    from ded.report import config_file_labels

    assert config_file_labels([tmp_path / "config/paper.yaml"], tmp_path) == ["config/paper.yaml"]
    assert config_file_labels(["config/config.yaml"], tmp_path) == ["config/config.yaml"]
    elsewhere = tmp_path.parent / "mine.yaml"
    assert config_file_labels([elsewhere], tmp_path, {"sampling": {}, "filter": {}}) == [
        elsewhere.as_posix(), "--config filter, sampling"]


def test_run_description_of_one_run_ignores_other_teachers():
    from ded.report import describe_run

    cfg = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    student, teacher = next(iter(cfg["students"])), next(iter(cfg["teachers"]))
    one = describe_run(cfg, ["config/paper.yaml"], {student: teacher}, only={"student": student, "teacher": teacher})
    more = dict(cfg, teachers={**cfg["teachers"], "another": cfg["teachers"][teacher]})
    # pca_shift's param: adding a candidate teacher must not rerun the PCA of a finished run
    assert describe_run(more, ["config/paper.yaml"], {student: teacher},
                        only={"student": student, "teacher": teacher}) == one
    assert f"``{teacher}``" in one["teachers"] and "``another``" not in one["teachers"]
