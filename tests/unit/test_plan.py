"""The compute plan's arithmetic (ded/plan/estimate.py), its job counts against a dry run's, and its command line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from support.config import resolved
from support.workflow import (
    copy_workflow,
    dry_run,
    job_counts,
    offline_env,
    planned_jobs,
)

from ded import jobs
from ded.jobs import smoke_eval_benchmarks
from ded.plan import cli as plan_cli
from ded.plan.estimate import (
    PlanError,
    Row,
    Settings,
    Stage,
    attach_profile,
    checkpoint_bytes,
    checkpoints_on_disk,
    compute_plan,
    corpus_rows,
    dataset_size,
    disk_totals,
    duration_hours,
    example_tokens,
    format_plan,
    generation_tokens,
    gpu_hours,
    job_lists,
    jobs_per_rule,
    jsonl_bytes,
    load_config,
    model_bytes,
    nodes_by_rule,
    optimizer_steps,
    training_tokens,
)
from ded.settings import schema_default

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600


def test_gpu_hours_scale_with_tokens_and_model_size():
    assert gpu_hours(1200 * HOUR, 1200, 32, 32) == pytest.approx(1.0)
    assert gpu_hours(1200 * HOUR, 1200, 16, 32) == pytest.approx(0.5)
    assert gpu_hours(1200 * HOUR, 1200, 64, 32) == pytest.approx(2.0)
    with pytest.raises(PlanError):
        gpu_hours(1, 0, 32, 32)


def test_generation_tokens_cap_each_sample_at_max_tokens():
    assert generation_tokens(100, 4, 8000, None) == 3_200_000
    assert generation_tokens(100, 4, 8000, 512) == 204_800
    assert generation_tokens(100, 4, 300, 512) == 120_000


def test_training_tokens_from_epochs_or_steps():
    assert training_tokens(1000, 2000, 10, None, 48) == 20_000_000
    assert training_tokens(1000, 2000, 0.5, None, 48) == 1_000_000
    assert training_tokens(1000, 2000, 10, 30, 16) == 30 * 16 * 2000  # max_steps wins
    assert example_tokens(400, 8000, 16384) == 8400
    assert example_tokens(400, 8000, 4096) == 4096


def test_corpus_rows_per_corpus_from_its_domains_questions():
    args = dict(questions_by_domain={"math": 1000, "code": 200}, samples_per_question=2, per_question=4,
                verified_fraction=0.5, kept_question_fraction=0.25)
    assert corpus_rows("math-full", **args) == 1000  # one sample per question
    assert corpus_rows("code-full", **args) == 200
    assert corpus_rows("math-right", **args) == 750  # one verified sample per question with one: 1 - 0.5^2
    assert corpus_rows("math-right_hard", **args) == 250  # one per question left after compression
    assert corpus_rows("math-right_hard_diverse", **args) == 1000  # 250 questions x P=4
    assert corpus_rows("math-longest", **args) == corpus_rows("math-shortest", **args) == 1000
    assert corpus_rows("mixed", **args) == (1000 + 200) / 2  # half of each domain's DED corpus
    with pytest.raises(PlanError, match="'widest' is not a corpus name"):
        corpus_rows("widest", **args)
    with pytest.raises(PlanError, match="'full' is not a corpus name"):
        corpus_rows("full", **args)  # a per-domain variant needs its domain
    with pytest.raises(PlanError, match="domain 'chem'"):
        corpus_rows("chem-full", **args)


def test_dataset_size_names_the_key_it_cannot_size():
    sizes = {"s1k": 1000}
    assert dataset_size({"source": "procedural", "n": 12}, "seeds", "math", sizes) == 12
    assert dataset_size({"source": "s1k", "n": None}, "seeds", "math", sizes) == 1000
    with pytest.raises(PlanError, match=r"seeds\.code .*set seeds\.code\.n or plan\.dataset_sizes\.codeforces"):
        dataset_size({"source": "codeforces"}, "seeds", "code", sizes)


def test_settings_read_the_resolved_config():
    assert schema_default("plan.generation_tokens_per_gpu_s") == 1200
    assert schema_default("plan.dataset_sizes")["gpqa"] == 198
    with pytest.raises(KeyError):
        schema_default("plan.no_such_key")
    s = Settings(resolved({"sampling": {"samples_per_question": 16}, "teachers": {"t": {"model": "m"}}}))
    assert s.get("sampling.samples_per_question") == 16
    assert s.get("teachers.t.max_tokens") == schema_default("teachers.*.max_tokens")  # filled by resolution
    with pytest.raises(PlanError, match="config key plan.gpu is not set"):
        Settings({}).get("plan.gpu")


def test_plan_maps_add_to_their_defaults():
    s = Settings(resolved({"plan": {"dataset_sizes": {"codeforces": 9000}}}))
    sizes = s.plan("dataset_sizes")
    assert sizes["codeforces"] == 9000 and sizes["s1k"] == 1000


def _tiny_config(**plan):
    return {
        "models": {"m32": {"source": {"hub": "a"}}, "m16": {"source": {"hub": "b"}},
                   "api": {"source": {"hub": "c"}, "materialize": False}},
        "students": {"s": {"model": "m16"}},
        "teachers": {"t": {"model": "m32", "max_tokens": 1000}, "r": {"model": "api", "max_tokens": 4000}},
        "seeds": {"math": {"source": "procedural", "n": 10}, "code": {"source": "procedural", "n": 20}},
        "benchmarks": {"b": {"loader": "aime", "samples": 4, "max_tokens": 2000}},
        "sampling": {"samples_per_question": 2},
        "compression": {"samples": 3},
        "diversity": {"trajectories_per_question": 2},
        "corpora": {"variants": ["full", "right_hard_diverse"]},
        "train": {"num_train_epochs": 2, "cutoff_len": 16384,
                  "smoke": {"num_train_epochs": 1, "cutoff_len": 4096}},
        "evaluation": {"models": {"base": True, "teachers": True, "smoke": False, "trained": True}},
        "plan": {"model_params_b": {"m16": 16}, "mean_output_tokens": 1500, "mean_prompt_tokens": 100,
                 "verified_fraction": 0.5, "kept_question_fraction": 0.5, **plan},
    }


def test_compute_plan_by_hand():
    stages = {st.rule: st for st in compute_plan(resolved(_tiny_config()))}
    gen = 1200 * HOUR  # tokens per GPU-hour of the 32B reference

    teacher = {r.job: r for r in stages["sample_teacher"].rows}
    assert teacher["t"].tokens == 30 * 2 * 1000  # capped at the teacher's max_tokens
    assert teacher["t"].jobs == 2  # one job per seed domain
    assert teacher["t"].gpu_hours == pytest.approx(60_000 / gen)
    assert teacher["t"].max_job_hours == pytest.approx(40_000 / gen)  # the code domain
    assert teacher["r"].api and teacher["r"].gpu_hours == 0 and teacher["r"].tokens == 30 * 2 * 1500
    assert stages["sample_teacher"].api_tokens == 90_000

    student = stages["sample_student"].rows[0]
    assert student.tokens == 30 * 3 * 1500
    assert student.gpu_hours == pytest.approx(135_000 / (2 * gen))  # 16B: twice as fast

    smoke = stages["train_smoke"].rows[0]
    assert smoke.jobs == 2  # one per teacher
    # one verified sample of each of 30 q that has one (1 - 0.5^2 with M = 2), 1 epoch, prompt + response
    assert smoke.tokens == 2 * int(30 * 0.75 * 1600)
    assert smoke.gpu_hours == pytest.approx(smoke.tokens / (2 * 700 * HOUR))

    train = {r.job: r for r in stages["train_student"].rows}
    assert set(train) == {"s / {math,code}-full", "s / {math,code}-right_hard_diverse"}  # no mixed among variants
    full = train["s / {math,code}-full"]
    assert full.jobs == 2 and full.tokens == 30 * 1600 * 2  # one sample of each of 10 + 20 q, 2 epochs
    assert full.max_job_hours == pytest.approx(20 * 1600 * 2 / (2 * 700 * HOUR))  # the code corpus
    assert train["s / {math,code}-right_hard_diverse"].tokens == 15 * 2 * 1600 * 2  # half the q x P = 2

    evaluation = {r.job: r for r in stages["generate_eval"].rows}
    per_model = 30 * 4 * 1500  # AIME's 30 questions (plan.dataset_sizes) x 4 samples
    assert evaluation["base/s"].tokens == per_model
    assert evaluation["teacher/r"].api and evaluation["teacher/t"].gpu_hours == pytest.approx(per_model / gen)
    assert evaluation["trained/s/*/*"].jobs == 4 and evaluation["trained/s/*/*"].tokens == 4 * per_model
    # evaluation.models.smoke is off, but the teacher choice still scores each smoke model on its benchmarks
    assert evaluation["smoke/s/*"].jobs == 2

    entropy = {r.job: r for r in stages["token_entropy"].rows}
    assert entropy["t"].jobs == 2  # one job per (teacher, domain)
    assert entropy["t"].tokens == 30 * 2 * 0.5 * (100 + 1000)  # responses cut at the teacher's max_tokens
    assert entropy["r"].tokens == 30 * 2 * 0.5 * (100 + 1500)
    assert entropy["t"].gpu_hours == pytest.approx(entropy["t"].tokens / (2 * 4000 * HOUR))  # scored by the 16B s

    counts = jobs_per_rule(list(stages.values()))
    assert counts == {"sample_teacher": 4, "train_smoke": 2, "sample_student": 2, "train_student": 4,
                      "generate_eval": 9, "ood_eval": 0, "aider_eval": 0, "token_entropy": 4,
                      "pca_shift": 1 + 2}  # the DED run, and Figure 4's comparison of both smoke students


def test_disk_arithmetic():
    assert jsonl_bytes(1000, 10, 4.5, 2000) == 4500 + 20_000
    assert model_bytes(32) == 64e9 and model_bytes(7, 4) == 28e9  # bf16; fp32
    assert checkpoint_bytes(32, 14) == 448e9  # about 0.45 TB for a 32B full fine-tune
    assert checkpoint_bytes(32, 14, "lora") == 0
    assert optimizer_steps(100, 2, None, 16) == 13 and optimizer_steps(100, 2, 7, 16) == 7
    # every 2 steps: 5 saved; the trainer writes the third before removing the first beyond the limit of 2
    assert checkpoints_on_disk(10, 2, 2, keep=False) == (3, 0)
    assert checkpoints_on_disk(10, 2, 2, keep=True) == (3, 2)
    assert checkpoints_on_disk(10, 20, 2, keep=True) == (0, 0)  # shorter than save_steps: none
    stages = [Stage("a", "a", [Row("x", 1, "", 0, 0, disk_bytes=10, scratch_bytes=5)]),
              Stage("b", "b", [Row("y", 3, "", 0, 0, disk_bytes=100, scratch_bytes=7, held_bytes=30)])]
    assert stages[1].peak_disk_bytes(1) == 100 + 30 + 7 and stages[1].peak_disk_bytes(2) == 100 + 30 + 14
    assert disk_totals(stages, 1) == (110, 10 + 137)  # the later stage's peak on top of what the first left


def test_disk_per_stage_by_hand():
    config = _tiny_config()
    config["train"].update(global_batch_size=4, save_steps=2)
    stages = {st.rule: st for st in compute_plan(resolved(config))}
    record = schema_default("plan.jsonl_record_bytes")
    per_token = schema_default("plan.jsonl_bytes_per_token")
    assert schema_default("plan.checkpoint_bytes_per_param") == 14

    teacher = {r.job: r for r in stages["sample_teacher"].rows}
    assert teacher["t"].disk_bytes == 60_000 * per_token + 30 * 2 * record  # 30 q x 2 samples of 1,000 tokens
    assert teacher["r"].disk_bytes == 90_000 * per_token + 60 * record  # samples of an API teacher are ours too
    assert stages["sample_student"].disk_bytes == 135_000 * per_token + 30 * 3 * record

    # smoke: 2 steps (23 rows, global batch 16), none saved at save_steps 500; each model 16B x 2 bytes (bf16)
    smoke = stages["train_smoke"].rows[0]
    assert (smoke.disk_bytes, smoke.scratch_bytes, smoke.held_bytes) == (2 * 32e9, 0, 0)

    train = {r.job: r for r in stages["train_student"].rows}
    full = train["s / {math,code}-full"]
    # the code corpus: 20 rows x 2 epochs / 4 = 10 steps, 5 checkpoints, 3 at once, none kept
    assert full.disk_bytes == 2 * 32e9 and full.scratch_bytes == 3 * 16e9 * 14
    assert stages["train_student"].peak_disk_bytes(1) == 4 * 32e9 + 3 * 224e9
    assert stages["train_student"].peak_disk_bytes(2) == 4 * 32e9 + 6 * 224e9

    evaluation = {r.job: r for r in stages["generate_eval"].rows}
    assert evaluation["base/s"].disk_bytes == 30 * 4 * 1500 * per_token + 30 * 4 * record
    assert stages["token_entropy"].disk_bytes == stages["pca_shift"].disk_bytes == 0  # small outputs

    config["train"]["keep_checkpoints"] = True
    full = {r.job: r for r in {st.rule: st for st in compute_plan(resolved(config))}["train_student"].rows}[
        "s / {math,code}-full"]
    assert full.disk_bytes == 2 * 32e9 + 2 * 2 * 224e9 and full.scratch_bytes == 224e9  # 2 kept of each run

    # teacher_selection.keep_smoke_models: false removes the smoke models once read: held, not left
    config["teacher_selection"] = {"keep_smoke_models": False}
    stages = {st.rule: st for st in compute_plan(resolved(config))}
    smoke = stages["train_smoke"]
    assert (smoke.disk_bytes, smoke.rows[0].held_bytes, smoke.peak_disk_bytes(1)) == (0, 64e9, 64e9)
    text = format_plan(list(stages.values()), {**Settings(resolved(config)).config["plan"], "gpu": "H100",
                                                "concurrent_jobs": 1})
    assert "64.0 GB of models removed once read" in text


def test_keep_smoke_models_switch_marks_the_smoke_output_temp():
    default = resolved({})
    assert default["teacher_selection"]["keep_smoke_models"] is True  # today's behaviour by default
    assert jobs.smoke_model_flags(default) == ()
    config = _tiny_config()
    config["teacher_selection"] = {"keep_smoke_models": False}
    config = resolved(config)
    assert jobs.smoke_model_flags(config) == ("temp",)
    # every reader of a smoke model, asked for before the teacher choice (rules/common.smk
    # smoke_consumer_targets): the choice's benchmark (the only one), Figure 4's comparison
    assert sorted(jobs.smoke_model_consumers(config)) == sorted(
        [(f"smoke/s/{t}", what) for t in ("r", "t") for what in ("b", "pca")])
    config["evaluation"]["out_of_domain"]["enabled"] = True
    config["evaluation"]["models"]["smoke"] = True
    assert ("smoke/s/t", "ood") in jobs.smoke_model_consumers(config)
    config["teacher_selection"]["pinned"] = "t"
    assert jobs.smoke_model_consumers(config) == []  # no smoke test
    paper = load_config(ROOT / "config/paper.yaml")
    assert jobs.smoke_model_flags(paper) == ("temp",)
    text = (ROOT / "rules/train.smk").read_text()
    assert "smoke_model_output()" in text.split("rule train_smoke:")[1].split("rule ")[0]


def test_a_pinned_teacher_plans_no_smoke_test_and_trains_on_it():
    config = _tiny_config()
    config["teacher_selection"] = {"pinned": "t"}
    config["corpora"]["variants"].append("mixed")
    config["teachers"]["r"].update(backend="openai", api_base="http://x/v1")
    stages = {st.rule: st for st in compute_plan(resolved(config))}
    counts = jobs_per_rule(list(stages.values()))
    assert counts["train_smoke"] == 0 and stages["train_smoke"].rows == []
    assert counts["train_student"] == 5  # two domains x two per-domain variants, and mixed
    assert counts["sample_teacher"] == counts["sample_teacher_api"] == 2  # r is sampled through an endpoint
    assert {r.job for r in stages["train_student"].rows} == {
        "s / {math,code}-full", "s / {math,code}-right_hard_diverse", "s / mixed"}
    assert {r.job for r in stages["generate_eval"].rows} == {"base/s", "teacher/t", "teacher/r", "trained/s/t/*"}


def test_ood_eval_by_hand():
    config = _tiny_config(ood_tasks={"gsm8k": {"examples": 10, "forward_tokens": 100, "generated_tokens": 50},
                                     "mmlu": {"examples": 20, "forward_tokens": 200, "generated_tokens": 0}})
    config["evaluation"]["out_of_domain"] = {"enabled": True, "tasks": [{"name": "gsm8k"}, {"name": "mmlu"}]}
    rows = {r.job: r for r in {st.rule: st for st in compute_plan(resolved(config))}["ood_eval"].rows}
    forward, generated = 10 * 100 + 20 * 200, 10 * 50
    assert set(rows) == {"base/s", "teacher/t", "trained/s/*/*"}  # teacher r is not materialised: no weights
    per_16b = forward / (2 * 4000 * HOUR) + generated / (2 * 1200 * HOUR)
    assert rows["base/s"].tokens == forward + generated and rows["base/s"].gpu_hours == pytest.approx(per_16b)
    assert rows["teacher/t"].gpu_hours == pytest.approx(2 * per_16b)  # 32B: half the speed
    assert rows["trained/s/*/*"].jobs == 4 and rows["trained/s/*/*"].gpu_hours == pytest.approx(4 * per_16b)
    assert rows["trained/s/*/*"].hours_per_job == pytest.approx(per_16b)

    config["evaluation"]["out_of_domain"]["limit"] = 0.5
    rows = {r.job: r for r in {st.rule: st for st in compute_plan(resolved(config))}["ood_eval"].rows}
    assert rows["base/s"].tokens == (forward + generated) // 2

    config["evaluation"]["out_of_domain"]["tasks"] = [{"name": "arc_easy"}]
    with pytest.raises(PlanError, match=r"plan\.ood_tasks\.arc_easy"):
        compute_plan(resolved(config))
    config["evaluation"]["out_of_domain"]["enabled"] = False
    assert {st.rule: st for st in compute_plan(resolved(config))}["ood_eval"].rows == []


def test_pca_shift_by_hand():
    config = _tiny_config()
    # Figure 4's teacher comparison (analysis.pca.compare) adds a job per smoke student, and trains nothing
    stages = {st.rule: st for st in compute_plan(resolved(config))}
    assert [(r.job, r.jobs) for r in stages["pca_shift"].rows] == [("s", 3)]
    assert jobs_per_rule(list(stages.values()))["train_student"] == 4
    config["analysis"] = {"pca": {"compare": {"teachers": []}}}
    stage = {st.rule: st for st in compute_plan(resolved(config))}["pca_shift"]
    # one run per student: its DED corpus (analysis.tables.ded_corpus, math-right_hard_diverse by default)
    [row] = stage.rows
    tokens = 2 * 30 * 100  # base and trained model x AIME's 30 prompts x mean_prompt_tokens
    assert (row.job, row.jobs, row.tokens) == ("s", 1, tokens)
    assert row.gpu_hours == pytest.approx(tokens / (2 * 4000 * HOUR))  # 16B student
    config["analysis"] = {"pca": {"runs": ["s/t/math-full", "s/t/code-full"], "max_prompts": 8, "max_tokens": 64,
                                  "compare": {"teachers": []}}}
    [row] = {st.rule: st for st in compute_plan(resolved(config))}["pca_shift"].rows
    assert (row.jobs, row.tokens) == (2, 2 * 2 * 8 * 64)
    config["analysis"] = {"tables": {"ded_corpus": "math-right"},  # not among corpora.variants: no PCA job
                          "pca": {"compare": {"teachers": []}}}
    assert {st.rule: st for st in compute_plan(resolved(config))}["pca_shift"].rows == []
    config["analysis"] = {"pca": {"runs": ["s/t/math-right_hard_diverse"]}}
    config["teacher_selection"] = {"pinned": "r"}  # a run of another teacher than the pinned one trains its own model
    stages = {st.rule: st for st in compute_plan(resolved(config))}
    assert jobs_per_rule(list(stages.values()))["train_student"] == 4 + 1
    assert "s / math-right_hard_diverse <- t" in {r.job for r in stages["train_student"].rows}


def test_duration_hours_reads_profile_values():
    assert duration_hours("2h") == 2
    assert duration_hours('"2h"') == 2
    assert duration_hours(90) == 1.5
    assert duration_hours("1h30m") == 1.5
    assert duration_hours("2d") == 48
    assert duration_hours('str(12 * attempt) + "h"') == 12
    assert duration_hours('str(12 * attempt) + "h"', attempt=2) == 24
    assert duration_hours("60 * attempt") == 1
    assert duration_hours("input.size_mb * 2") is None


def test_profile_limits_are_compared_with_the_longest_job():
    stage = Stage("s", "sample_teacher", [Row("t", 2, "", 0, 40.0, max_job_hours=30.0)])
    attach_profile([stage], {"default-resources": {"runtime": "2h"},
                             "set-resources": {"sample_teacher": {"gpu": 4, "runtime": 'str(6 * attempt) + "h"'}}})
    assert (stage.gpus_per_job, stage.runtime_hours) == (4, 6)
    assert stage.longest_job_hours == pytest.approx(7.5)
    text = format_plan([stage], {"gpu": "H100", "reference_params_b": 32, "generation_tokens_per_gpu_s": 1,
                                 "training_tokens_per_gpu_s": 1, "forward_tokens_per_gpu_s": 1,
                                 "mean_output_tokens": 1})
    assert "EXCEEDS" in text and "--set-resources sample_teacher:runtime=" in text
    assert "Total: 40.0 GPU-hours on H100" in text
    assert "Disk: 0 B left at the end, peak about 0 B" in text


def test_paper_config_validates_with_its_plan_section():
    config = load_config(ROOT / "config/paper.yaml")
    assert config["plan"]["model_params_b"]["phi-4"] == 14
    total = sum(st.gpu_hours for st in compute_plan(config))
    assert total > 100  # 32B-class training dominates


def test_cli_prints_every_stage_and_a_total(capsys):
    assert plan_cli.main(["plan", "--configfile", str(ROOT / "config/paper.yaml")]) == 0
    out = capsys.readouterr().out
    for rule in ("sample_teacher", "train_smoke", "sample_student", "train_student", "generate_eval",
                 "ood_eval", "token_entropy", "pca_shift"):
        assert f"[{rule}]" in out
    assert "profile: 8 GPU(s) per job" in out  # train_student in profiles/slurm
    ood = out.split("[ood_eval]")[1].split("\n\n")[0]
    assert "base/phi-4" in ood and "profile: 2 GPU(s) per job" in ood  # Table 6 on every local model
    assert out.strip().splitlines()[-1].startswith("Total: ")
    # disk: a column per row, the smoke models removed once read (paper.yaml), a 32B run's checkpoints
    # (3 x 448 GB at its peak), and the whole plan's
    smoke = out.split("[train_smoke]")[1].split("\n\n")[0]
    assert "disk: 0 B left, peak 624.0 GB" in smoke  # 12 smoke models: 2 x 4 x 64 GB + 4 x 28 GB
    train = out.split("[train_student]")[1].split("\n\n")[0]
    assert "up to 1.3 TB of checkpoints per job" in train
    disk = out.strip().splitlines()[-2]
    assert disk.startswith("Disk: 2.0 TB left at the end, peak about 3.4 TB")


def test_cli_names_a_mistyped_plan_key(tmp_path, capsys):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["plan"] = {"generation_tokens_per_gpu_s": "fast"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert plan_cli.main(["plan", "--configfile", str(path), "--no-profile"]) == 2
    err = capsys.readouterr().err
    assert "plan.generation_tokens_per_gpu_s" in err and "'fast'" in err


# --- the plan against the DAG ------------------------------------------------------------------------------

#: Rules the plan costs (every GPU rule of the paper setup, and the endpoint teachers' sampling).
PLANNED_RULES = ("sample_teacher", "sample_teacher_api", "sample_student", "train_smoke", "train_student",
                 "generate_eval", "ood_eval", "token_entropy", "pca_shift")
PINNED_TEACHER = "qwq-32b"


def _paper_dry_run(tmp_path_factory, pinned: str | None) -> tuple[dict, dict, list, set]:
    """(validated config, the dry run's job counts per rule, its (rule, wildcards) jobs, the temporary outputs it
    would remove) of config/paper.yaml."""
    tmp = tmp_path_factory.mktemp("plan-dag")
    (tmp / "wf").mkdir()
    workflow = copy_workflow(tmp / "wf")
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    paper["teacher_selection"]["pinned"] = pinned
    path = tmp / "paper.yaml"
    path.write_text(yaml.safe_dump(paper))
    proc = dry_run(workflow, "--configfile", str(path), env=offline_env(tmp))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    removed = {line.split("Would remove temporary output ", 1)[1].strip() for line in proc.stdout.splitlines()
               if "Would remove temporary output " in line}
    return load_config(path), job_counts(proc.stdout), planned_jobs(proc.stdout), removed


def _job_set(wildcards: list[dict]) -> Counter:
    return Counter(frozenset(w.items()) for w in wildcards)


@pytest.fixture(scope="module")
def pinned_dag(tmp_path_factory):
    return _paper_dry_run(tmp_path_factory, PINNED_TEACHER)


@pytest.fixture(scope="module")
def unpinned_dag(tmp_path_factory):
    return _paper_dry_run(tmp_path_factory, None)


def test_plan_counts_the_jobs_of_a_pinned_paper_dry_run(pinned_dag):
    """A pinned teacher makes the whole DAG known: the plan's jobs per rule are the dry run's, job by job."""
    config, counts, dag_jobs, removed = pinned_dag
    assert not any(f.startswith("results/smoke/") for f in removed)  # pinned: no smoke models
    assert PINNED_TEACHER in config["teachers"]
    plan = jobs_per_rule(compute_plan(resolved(config)))
    assert {r: plan.get(r, 0) for r in PLANNED_RULES} == {r: counts.get(r, 0) for r in PLANNED_RULES}
    # 3 students x (6 per-domain variants x math, code + mixed), and for Figure 4's comparison of QwQ-32B and
    # DeepSeek-R1 (analysis.pca.compare) each student on DeepSeek-R1's DED corpus
    assert plan["train_student"] == 39 + 3
    assert plan["pca_shift"] == 3 * 2  # each student's DED run of both teachers
    assert plan["train_smoke"] == 0  # pinned: no smoke test
    planned = job_lists(config)
    for rule in PLANNED_RULES:
        assert _job_set(planned[rule]) == _job_set([w for r, w in dag_jobs if r == rule]), rule


def test_plan_counts_the_jobs_of_the_default_dry_run(tmp_path):
    """The embedded default, its teacher pinned so the DAG is whole: the plan's jobs are the dry run's."""
    workflow = copy_workflow(tmp_path / "wf")
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["teacher_selection"]["pinned"] = "verbose"
    (tmp_path / "pinned.yaml").write_text(yaml.safe_dump(config))
    proc = dry_run(workflow, "--configfile", str(tmp_path / "pinned.yaml"), env=offline_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    planned, dag_jobs = job_lists(load_config(tmp_path / "pinned.yaml")), planned_jobs(proc.stdout)
    for rule in PLANNED_RULES:
        assert _job_set(planned[rule]) == _job_set([w for r, w in dag_jobs if r == rule]), rule
    assert planned["train_student"]  # something is compared


def test_plan_matches_an_unpinned_paper_dry_run_up_to_the_checkpoint(unpinned_dag):
    """Unpinned, a dry run lists only the jobs up to the select_teacher checkpoint; the plan counts the rest too.

    Known before the checkpoint, and equal job by job: teacher sampling (both rules), the smoke training
    runs, token entropy (it scores every teacher's corpus), the student pass rates (sample_student: they do
    not depend on the chosen teacher, so `rule all` asks for them up front), and each smoke model's
    evaluation on the benchmarks the teacher choice reads (teacher_selection.metrics).

    Hidden by the checkpoint, and counted by the plan with one chosen teacher per student: training on the
    corpora (train_student, `trained/<student>/*/<corpus>`), the base and trained models' evaluation on every
    benchmark (collect_scores asks
    for them), their out-of-domain suites and Figure 4 (pca_shift). The smoke models' evaluations on every
    benchmark and out-of-domain suites come before it: paper.yaml removes the smoke models once read
    (teacher_selection.keep_smoke_models: false), so every reader is asked for up front.
    """
    config, counts, dag_jobs, removed = unpinned_dag
    # teacher_selection.keep_smoke_models: false marks every smoke model temp()
    assert {f for f in removed if f.startswith("results/smoke/")} == {
        f"results/smoke/{s}/{t}/model" for s in config["students"] for t in config["teachers"]}
    planned = job_lists(config)
    plan = jobs_per_rule(compute_plan(resolved(config)))
    for rule in ("sample_teacher", "sample_teacher_api", "train_smoke", "token_entropy", "sample_student"):
        assert plan.get(rule, 0) == counts.get(rule, 0), rule
        assert _job_set(planned[rule]) == _job_set([w for r, w in dag_jobs if r == rule]), rule
    assert plan["train_smoke"] == 3 * 4  # every student with every teacher

    selection = set(smoke_eval_benchmarks(config))
    assert selection and selection < set(config["benchmarks"])
    smoke_evals = [w for w in planned["generate_eval"] if w["model"].startswith("smoke/")]
    dag_evals = [w for r, w in dag_jobs if r == "generate_eval"]
    assert config["teacher_selection"]["keep_smoke_models"] is False
    # every reader of a smoke model before the checkpoint: the choice's benchmarks and the rest
    # (evaluation.models.smoke), and the out-of-domain suites
    assert _job_set(smoke_evals) == _job_set(dag_evals)
    later = [w for w in smoke_evals if w["benchmark"] not in selection]
    assert len(later) == 3 * 4 * len(set(config["benchmarks"]) - selection)
    assert {w["model"] for r, w in dag_jobs if r == "ood_eval"} == {w["model"] for w in smoke_evals}
    assert counts["ood_eval"] == 3 * 4

    assert "train_student" not in counts and plan["train_student"] > 0
    # Figure 4's comparison of the QwQ-32B and DeepSeek-R1 smoke students comes before the checkpoint; the
    # chosen teacher's DED run after it
    assert _job_set([w for r, w in dag_jobs if r == "pca_shift"]) == _job_set(
        [w for w in planned["pca_shift"] if w["corpus"] == "smoke"])
    assert counts["pca_shift"] == 3 * 2 and plan["pca_shift"] == 3 * 2 + 3
    assert plan["train_student"] == 39
    assert {w["teacher"] for w in planned["train_student"]} == {"*"}  # the choice, unknown before the checkpoint
    # ... and the plan's totals are the pinned DAG's, plus the smoke test and its evaluations
    pinned = dict(config, teacher_selection=dict(config["teacher_selection"], pinned=PINNED_TEACHER))
    pinned_plan = jobs_per_rule(compute_plan(pinned))
    assert plan["generate_eval"] == pinned_plan["generate_eval"] + len(smoke_evals)
    assert plan["ood_eval"] == pinned_plan["ood_eval"] + 3 * 4


@pytest.mark.parametrize("subset", ["table3", "table4"])
def test_subset_configs_plan_what_their_dry_run_runs(tmp_path, subset):
    """A subset config layered on paper.yaml: the workflow and the plan narrow the study alike."""
    (tmp_path / "wf").mkdir()
    workflow = copy_workflow(tmp_path / "wf")
    files = [ROOT / "config/paper.yaml", ROOT / f"config/subsets/{subset}.yaml"]
    proc = dry_run(workflow, "--configfile", *map(str, files), env=offline_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    stages = compute_plan(load_config(files))
    counts = job_counts(proc.stdout)
    plan = jobs_per_rule(stages)
    assert {r: plan.get(r, 0) for r in PLANNED_RULES} == {r: counts.get(r, 0) for r in PLANNED_RULES}
    assert plan["train_student"] == 4 and plan["train_smoke"] == 0 and counts["prepare_model"] == 2
    whole = sum(st.gpu_hours for st in compute_plan(load_config(ROOT / "config/paper.yaml")))
    assert 0 < sum(st.gpu_hours for st in stages) < whole / 10


def test_a_subset_names_what_it_keeps():
    from ded.config import ConfigError, apply_subset

    config = load_config([ROOT / "config/paper.yaml", ROOT / "config/subsets/table3.yaml"])
    apply_subset(config)
    assert list(config["students"]) == ["r1-distill-qwen-32b"] and list(config["seeds"]) == ["math"]
    assert sorted(config["models"]) == ["qwen2.5-72b-instruct", "qwq-32b", "r1-distill-qwen-32b"]  # judge kept
    assert [m["benchmark"] for m in config["teacher_selection"]["metrics"]] == ["aime24", "aime25", "math500"]
    config = load_config(ROOT / "config/paper.yaml")
    config["subset"] = {"teachers": ["qwq-32b", "gpt-5"]}
    with pytest.raises(ConfigError, match=r"subset.teachers names 'gpt-5', not a key of `teachers`"):
        apply_subset(config)
    config = load_config(ROOT / "config/paper.yaml")
    config["subset"] = {"benchmarks": ["gpqa_diamond"]}
    with pytest.raises(ConfigError, match="teacher_selection.pinned"):
        apply_subset(config)


def test_a_training_job_over_several_nodes_holds_their_gpus():
    """train.nodes multiplies the profile's GPUs per node: the wall-clock estimate divides by all of them."""
    config = load_config(ROOT / "config/paper.yaml")
    config["train"]["nodes"] = 2
    assert nodes_by_rule(config)["train_student"] == 2
    stage = Stage("t", "train_student", [Row("x", 1, "", 0, 64.0)])
    attach_profile([stage], {"set-resources": {"train_student": {"gpu": 8}}}, nodes_by_rule(config))
    assert (stage.nodes, stage.gpus_per_job) == (2, 16)
    assert stage.longest_job_hours == pytest.approx(4.0)
    text = format_plan([stage], {"gpu": "H100", "reference_params_b": 32, "generation_tokens_per_gpu_s": 1,
                                 "training_tokens_per_gpu_s": 1, "forward_tokens_per_gpu_s": 1,
                                 "mean_output_tokens": 1})
    assert "profile: 16 GPU(s) per job (2 nodes x 8)" in text
