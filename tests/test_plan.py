"""The compute plan's arithmetic (ded/plan.py) and its command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ded import plan_cli
from ded.plan import (
    PlanError, Row, Settings, Stage, attach_profile, compute_plan, corpus_rows, dataset_size, duration_hours,
    example_tokens, format_plan, generation_tokens, gpu_hours, load_config, schema_default, training_tokens,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "config/schema.yaml").read_text())
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


def test_corpus_rows_per_variant():
    args = dict(questions=1000, samples_per_question=8, keep=4, verified_fraction=0.5, kept_question_fraction=0.25)
    assert corpus_rows("full", **args) == 8000
    assert corpus_rows("right", **args) == 4000
    assert corpus_rows("right_hard", **args) == 1000
    assert corpus_rows("right_hard_diverse", **args) == 1000  # 250 questions x P=4
    assert corpus_rows("longest", **args) == corpus_rows("shortest", **args) == 1000
    assert corpus_rows("mixed", **args) == 500
    assert corpus_rows("math-right", **args) == 4000
    with pytest.raises(PlanError, match="unknown corpus variant 'widest'"):
        corpus_rows("widest", **args)


def test_dataset_size_names_the_key_it_cannot_size():
    sizes = {"s1k": 1000}
    assert dataset_size({"source": "procedural", "n": 12}, "seeds", "math", sizes) == 12
    assert dataset_size({"source": "s1k", "n": None}, "seeds", "math", sizes) == 1000
    with pytest.raises(PlanError, match=r"seeds\.code .*set seeds\.code\.n or plan\.dataset_sizes\.codeforces"):
        dataset_size({"source": "codeforces"}, "seeds", "code", sizes)


def test_defaults_come_from_the_schema_then_the_fallbacks():
    assert schema_default(SCHEMA, "plan.generation_tokens_per_gpu_s") == 1200
    assert schema_default(SCHEMA, "plan.dataset_sizes")["gpqa"] == 198
    with pytest.raises(KeyError):
        schema_default(SCHEMA, "plan.no_such_key")
    s = Settings({"sampling": {"samples_per_question": 16}}, SCHEMA)
    assert s.get("sampling.samples_per_question") == 16
    assert Settings({}, {}).get("sampling.samples_per_question") == 8
    assert Settings({}, {}).get("teachers.t.max_tokens", "teachers.*.max_tokens") == 512
    with pytest.raises(PlanError, match="no default for config key plan.gpu"):
        Settings({}, {}).get("plan.gpu")


def test_plan_maps_add_to_their_defaults():
    s = Settings({"plan": {"dataset_sizes": {"codeforces": 9000}}}, SCHEMA)
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
        "diversity": {"keep": 2},
        "corpora": {"variants": ["full", "right_hard_diverse"]},
        "train": {"num_train_epochs": 2, "cutoff_len": 16384,
                  "smoke": {"num_train_epochs": 1, "cutoff_len": 4096}},
        "evaluation": {"models": {"base": True, "teachers": True, "smoke": False, "trained": True}},
        "plan": {"model_params_b": {"m16": 16}, "mean_output_tokens": 1500, "mean_prompt_tokens": 100,
                 "verified_fraction": 0.5, "kept_question_fraction": 0.5, **plan},
    }


def test_compute_plan_by_hand():
    stages = {st.rule: st for st in compute_plan(_tiny_config(), SCHEMA)}
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
    assert smoke.tokens == 2 * 15 * 1600  # 30 q x 0.5 verified, 1 epoch, prompt + response
    assert smoke.gpu_hours == pytest.approx(smoke.tokens / (2 * 700 * HOUR))

    train = {r.job: r for r in stages["train_student"].rows}
    assert train["s / full"].tokens == 30 * 2 * 1600 * 2
    assert train["s / right_hard_diverse"].tokens == 15 * 2 * 1600 * 2

    evaluation = {r.job: r for r in stages["generate_eval"].rows}
    per_model = 30 * 4 * 1500  # AIME's 30 questions (plan.dataset_sizes) x 4 samples
    assert evaluation["base/s"].tokens == per_model
    assert evaluation["teacher/r"].api and evaluation["teacher/t"].gpu_hours == pytest.approx(per_model / gen)
    assert evaluation["trained/s/*/*"].jobs == 2 and evaluation["trained/s/*/*"].tokens == 2 * per_model
    assert not any(j.startswith("smoke/") for j in evaluation)

    entropy = stages["token_entropy"].rows
    assert [r.tokens for r in entropy] == [30 * 2 * 0.5 * 1600] * 2


def test_ood_eval_by_hand():
    config = _tiny_config(ood_tasks={"gsm8k": {"examples": 10, "forward_tokens": 100, "generated_tokens": 50},
                                     "mmlu": {"examples": 20, "forward_tokens": 200, "generated_tokens": 0}})
    config["evaluation"]["out_of_domain"] = {"enabled": True, "tasks": [{"name": "gsm8k"}, {"name": "mmlu"}]}
    rows = {r.job: r for r in {st.rule: st for st in compute_plan(config, SCHEMA)}["ood_eval"].rows}
    forward, generated = 10 * 100 + 20 * 200, 10 * 50
    assert set(rows) == {"base/s", "teacher/t", "trained/s/*/*"}  # teacher r is not materialised: no weights
    per_16b = forward / (2 * 4000 * HOUR) + generated / (2 * 1200 * HOUR)
    assert rows["base/s"].tokens == forward + generated and rows["base/s"].gpu_hours == pytest.approx(per_16b)
    assert rows["teacher/t"].gpu_hours == pytest.approx(2 * per_16b)  # 32B: half the speed
    assert rows["trained/s/*/*"].jobs == 2 and rows["trained/s/*/*"].gpu_hours == pytest.approx(2 * per_16b)
    assert rows["trained/s/*/*"].hours_per_job == pytest.approx(per_16b)

    config["evaluation"]["out_of_domain"]["limit"] = 0.5
    rows = {r.job: r for r in {st.rule: st for st in compute_plan(config, SCHEMA)}["ood_eval"].rows}
    assert rows["base/s"].tokens == (forward + generated) // 2

    config["evaluation"]["out_of_domain"]["tasks"] = [{"name": "arc_easy"}]
    with pytest.raises(PlanError, match=r"plan\.ood_tasks\.arc_easy"):
        compute_plan(config, SCHEMA)
    config["evaluation"]["out_of_domain"]["enabled"] = False
    assert {st.rule: st for st in compute_plan(config, SCHEMA)}["ood_eval"].rows == []


def test_pca_shift_by_hand():
    config = _tiny_config()
    stage = {st.rule: st for st in compute_plan(config, SCHEMA)}["pca_shift"]
    # one run per student: its DED corpus (analysis.tables.ded_corpus, math-right_hard_diverse by default)
    [row] = stage.rows
    tokens = 2 * 30 * 100  # base and trained model x AIME's 30 prompts x mean_prompt_tokens
    assert (row.job, row.jobs, row.tokens) == ("s", 1, tokens)
    assert row.gpu_hours == pytest.approx(tokens / (2 * 4000 * HOUR))  # 16B student
    config["analysis"] = {"pca": {"runs": ["s/t/math-full", "s/t/code-full"], "max_prompts": 8, "max_tokens": 64}}
    [row] = {st.rule: st for st in compute_plan(config, SCHEMA)}["pca_shift"].rows
    assert (row.jobs, row.tokens) == (2, 2 * 2 * 8 * 64)
    config["analysis"] = {"tables": {"ded_corpus": "math-right"}}  # not among corpora.variants: no PCA job
    assert {st.rule: st for st in compute_plan(config, SCHEMA)}["pca_shift"].rows == []


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


def test_paper_config_validates_with_its_plan_section():
    config, schema = load_config(ROOT / "config/paper.yaml")
    assert config["plan"]["model_params_b"]["phi-4"] == 14
    total = sum(st.gpu_hours for st in compute_plan(config, schema))
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


def test_cli_names_a_mistyped_plan_key(tmp_path, capsys):
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["plan"] = {"generation_tokens_per_gpu_s": "fast"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert plan_cli.main(["plan", "--configfile", str(path), "--no-profile"]) == 2
    err = capsys.readouterr().err
    assert "plan.generation_tokens_per_gpu_s" in err and "'fast'" in err
