"""Sharded sampling (ded/sample/shards.py): the split, the merge, and a sharded run byte for byte an unsharded one.

sampling.shards, compression.shards and evaluation.shards split each sampling job into that many jobs of
the same rule (the {shard} wildcard), which a gather rule merges into the declared output.
"""


from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from support.workflow import (
    copy_workflow,
    dry_run,
    job_counts,
    offline_env,
    planned_jobs,
)

from ded.io import read_records
from ded.plan.estimate import compute_plan, job_lists, jobs_per_rule, load_config
from ded.sample import (
    Backend,
    Completion,
    Outcome,
    Request,
    SamplingIncomplete,
    sample_problems,
)
from ded.sample.shards import (
    ShardError,
    merge_lines,
    merge_shard_files,
    parse_shard,
    shard_names,
    shard_of,
    shard_path,
    take_shard,
)

ROOT = Path(__file__).resolve().parents[2]


PROBLEMS = [{"id": f"m{i}", "domain": "math", "source": "t", "prompt": f"What is {i} + {i}?", "gold": str(2 * i),
             "gold_kind": "math"} for i in range(7)]


@pytest.mark.parametrize("count", [0, 1, 2, 5, 7, 12])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 8])
def test_the_shards_cover_every_question_exactly_once(count, n):
    items = list(range(count))
    parts = [take_shard(items, name) for name in shard_names(n)]
    assert sorted(i for part in parts for i in part) == items
    for k, part in enumerate(parts, 1):
        assert part == sorted(part) and all(shard_of(i, n) == k for i in part)  # round robin, in order
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert take_shard(items, None) == items


def test_shard_names_and_paths():
    assert shard_names(3) == ["1-of-3", "2-of-3", "3-of-3"]
    assert parse_shard("2-of-3") == (2, 3)
    for bad in ("0-of-3", "4-of-3", "2of3", "1-of-0"):
        with pytest.raises(ShardError):
            parse_shard(bad)
    assert shard_path("results/samples/{teacher}/{domain}.jsonl") == \
        "results/samples/{teacher}/{domain}.shards/{shard}.jsonl"
    assert shard_path("results/eval/{model}/{benchmark}/samples.jsonl") == \
        "results/eval/{model}/{benchmark}/samples.shards/{shard}.jsonl"
    assert shard_path("logs/x/{domain}.log") == "logs/x/{domain}.shards/{shard}.log"


def _line(qid: str, s: int) -> str:
    return json.dumps({"question_id": qid, "sample_id": s}) + "\n"


def test_merge_puts_the_records_back_in_question_then_sample_order():
    ids = [f"q{i}" for i in range(5)]
    whole = [_line(q, s) for q in ids for s in range(2) if (q, s) != ("q3", 1)]  # one pair left out
    whole = [line for line in whole if '"q1"' not in line]  # and every pair of one question
    shards = [[line for line in whole if shard_of(ids.index(json.loads(line)["question_id"]), 2) == k]
              for k in (1, 2)]
    assert list(merge_lines(ids, shards)) == whole
    assert list(merge_lines(ids, [whole])) == whole  # one shard: the file itself


def test_merge_refuses_records_out_of_place():
    ids = ["q0", "q1", "q2"]
    with pytest.raises(ShardError, match="2-of-2, line 1.*'q0'"):  # q0 belongs to shard 1
        list(merge_lines(ids, [[_line("q2", 0)], [_line("q0", 0)]]))
    with pytest.raises(ShardError, match="1-of-2, line 2"):  # shard 1's questions out of order
        list(merge_lines(ids, [[_line("q2", 0), _line("q0", 0)], [_line("q1", 0)]]))
    with pytest.raises(ShardError, match="not a sample record"):
        list(merge_lines(ids, [["{}\n"]]))


class Seeded(Backend):
    """Answers from each pair's seed alone, in reverse order; fails on the pairs in `fail` (a killed job)."""

    name = "seeded"
    revision = "seeded-1"

    def __init__(self, fail: set[tuple[str, int]] = frozenset()):
        self.fail, self.asked = set(fail), []

    def stream(self, requests: list[Request]) -> Iterator[Outcome]:
        for i, req in reversed(list(enumerate(requests))):
            pair = (req.problem["id"], req.first_sample)
            self.asked.append(pair)
            if pair in self.fail:
                yield Outcome(i, req, error=RuntimeError("killed"))
                continue
            text = f"<think>seed {req.params.seed}</think>\\boxed{{{req.params.seed % 97}}}"
            yield Outcome(i, req, completions=[Completion(raw_text=text, prompt_tokens=5, completion_tokens=3,
                                                          finish_reason="stop", elapsed_s=0.1, seed=req.params.seed)])


def _sample(problems, out: Path, progress: Path, backend: Backend | None = None) -> int:
    return sample_problems(problems, {"max_tokens": 16}, model_name="t", n=3, out_path=out, progress_path=progress,
                           seed=11, backend=backend or Seeded())


def _sharded(tmp_path: Path, n: int) -> Path:
    files = []
    for name in shard_names(n):
        files.append(tmp_path / f"{n}/{name}.jsonl")
        _sample(take_shard(PROBLEMS, name), files[-1], tmp_path / f"{n}/{name}.progress")
    merge_shard_files([p["id"] for p in PROBLEMS], files, tmp_path / f"{n}/merged.jsonl")
    return tmp_path / f"{n}/merged.jsonl"


def test_a_sharded_run_is_byte_identical_to_an_unsharded_one(tmp_path):
    _sample(PROBLEMS, tmp_path / "whole.jsonl", tmp_path / "whole.progress")
    whole = (tmp_path / "whole.jsonl").read_bytes()
    assert whole.count(b"\n") == len(PROBLEMS) * 3
    for n in (2, 3, 7, 9):  # 9 > questions: two shards have none
        assert _sharded(tmp_path, n).read_bytes() == whole, n


def test_a_killed_shard_resumes_from_its_own_progress(tmp_path):
    _sample(PROBLEMS, tmp_path / "whole.jsonl", tmp_path / "whole.progress")
    shard = take_shard(PROBLEMS, "2-of-3")
    out, progress = tmp_path / "2-of-3.jsonl", tmp_path / "2-of-3.progress"
    lost = {(shard[0]["id"], 2), (shard[1]["id"], 0)}
    with pytest.raises(SamplingIncomplete):
        _sample(shard, out, progress, Seeded(fail=lost))
    assert not out.exists() and len(read_records(progress)) == len(shard) * 3 - 2
    again = Seeded()
    _sample(shard, out, progress, again)
    assert sorted(again.asked) == sorted(lost)  # only the missing pairs are drawn again
    files = [tmp_path / f"{k}.jsonl" for k in shard_names(3)]
    for name, path in zip(shard_names(3), files):
        if name != "2-of-3":
            _sample(take_shard(PROBLEMS, name), path, tmp_path / f"{name}.progress")
    merge_shard_files([p["id"] for p in PROBLEMS], files, tmp_path / "merged.jsonl")
    assert (tmp_path / "merged.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


SHARDED = {"sample_teacher": "gather_samples", "sample_teacher_api": "gather_samples",
           "sample_student": "gather_student_samples", "generate_eval": "gather_eval_samples"}


def _units(jobs: list[tuple[str, dict]], rule: str) -> Counter:
    return Counter(frozenset((k, v) for k, v in w.items() if k != "shard") for r, w in jobs if r == rule)


def test_default_dry_run_with_two_shards(workflow_copy, tmp_path):
    plain = dry_run(workflow_copy, env=offline_env(tmp_path))
    assert plain.returncode == 0, plain.stderr[-3000:]
    proc = dry_run(workflow_copy, "--config", 'sampling={"shards": 2}', 'evaluation={"shards": 3}',
                    env=offline_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    before, after = job_counts(plain.stdout), job_counts(proc.stdout)
    jobs = planned_jobs(proc.stdout)
    assert not any(r.startswith("gather_") for r in before)  # unsharded: no merge jobs, as before
    assert after["sample_teacher"] == 2 * before["sample_teacher"]
    assert after["gather_samples"] == before["sample_teacher"]
    assert after["generate_eval"] == 3 * before["generate_eval"]
    assert after["gather_eval_samples"] == before["generate_eval"]
    # 2 sampling jobs per (teacher, domain), shards 1-of-2 and 2-of-2, and one merge
    shards = Counter((w["teacher"], w["domain"], w["shard"]) for r, w in jobs if r == "sample_teacher")
    units = {(t, d) for t, d, _ in shards}
    assert shards == Counter((t, d, k) for t, d in units for k in ("1-of-2", "2-of-2"))
    assert sorted((w["teacher"], w["domain"]) for r, w in jobs if r == "gather_samples") == sorted(units)
    same = [r for r in before if r not in SHARDED and r != "total"]
    assert {r: after[r] for r in same} == {r: before[r] for r in same}  # nothing else changes
    # the plan counts the same jobs
    config = load_config(ROOT / "config/config.yaml")
    config["sampling"]["shards"], config["evaluation"]["shards"] = 2, 3
    plan = jobs_per_rule(compute_plan(config))
    assert plan["sample_teacher"] == after["sample_teacher"]
    planned = job_lists(config)
    assert Counter(frozenset(w.items()) for w in planned["sample_teacher"]) == \
        Counter(frozenset(w.items()) for r, w in jobs if r == "sample_teacher")


def test_paper_plan_counts_the_shards_of_a_pinned_dry_run(tmp_path):
    """config/paper.yaml, a pinned teacher, every sampling stage in 4 shards: the plan's jobs are the dry run's."""
    (tmp_path / "wf").mkdir()
    workflow = copy_workflow(tmp_path / "wf")
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    paper["teacher_selection"]["pinned"] = "qwq-32b"
    for section in ("sampling", "compression", "evaluation"):
        paper.setdefault(section, {})["shards"] = 4
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(paper))
    proc = dry_run(workflow, "--configfile", str(path), env=offline_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts, jobs = job_counts(proc.stdout), planned_jobs(proc.stdout)
    config = load_config(path)
    plan = jobs_per_rule(compute_plan(config))
    planned = job_lists(config)
    print("paper DAG, 4 shards:", counts)
    for rule, gather in SHARDED.items():
        assert plan.get(rule, 0) == counts.get(rule, 0), rule
        assert Counter(frozenset(w.items()) for w in planned[rule]) == \
            Counter(frozenset(w.items()) for r, w in jobs if r == rule), rule
        assert all(n == 4 for n in _units(jobs, rule).values()), rule
    gathered = sum(len(_units(jobs, r)) for r in SHARDED)
    assert sum(counts.get(g, 0) for g in set(SHARDED.values())) == gathered


def test_the_plan_splits_each_job_and_keeps_the_totals():
    config = load_config(ROOT / "config/paper.yaml")
    whole = {st.rule: st for st in compute_plan(config)}
    for section in ("sampling", "compression", "evaluation"):
        config[section]["shards"] = 4
    split = {st.rule: st for st in compute_plan(config)}
    for rule in ("sample_teacher", "sample_student", "generate_eval"):
        assert split[rule].jobs == 4 * whole[rule].jobs, rule
        assert split[rule].gpu_hours == pytest.approx(whole[rule].gpu_hours), rule
        assert split[rule].tokens == whole[rule].tokens, rule
        assert split[rule].longest_job_hours == pytest.approx(whole[rule].longest_job_hours / 4), rule
    assert split["train_student"] == whole["train_student"]
