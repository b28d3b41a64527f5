"""The same inputs and seed give byte-identical outputs: sampling, filtering, pass rates, corpus building.

Each test runs the library functions the rules call twice, into two folders,
and compares every file byte for byte. The teacher below answers in a random
order with random call times, and programs take the time they take, so a
measured value or an order that leaked into a record would show. Progress
files (not declared outputs) keep the call times and are left out.
"""


from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Iterator

from support.determinism import CODE, MATH, assert_identical

from ded.filter import summarize_verdicts, verify_samples, write_summary_tsv
from ded.io import read_records, write_json, write_records
from ded.sample import Backend, Completion, Outcome, Request, sample_problems
from ded.select.compression import pass_rates
from ded.select.corpora import VARIANTS, CorpusSettings, build_corpus, corpus_name
from ded.select.teacher import smoke_corpus

PROBLEMS = {"math": MATH, "code": CODE}


def _answer(problem: dict, sample_id: int, seed: int) -> str:
    """A teacher's text: right, wrong, or (code) crashing, by sample id and problem; the seed shows in it."""
    pick = (sample_id + int(problem["id"][1:])) % 3
    if problem["gold_kind"] == "math":
        value = int(problem["gold"]) + (pick == 2)
        return f"<think>Add them up, {seed}.</think>The answer is \\boxed{{{value}}}."
    factor = int(problem["id"][1:]) + 2 + (pick == 1)
    body = "print(int(input()) * %d)" % factor if pick != 2 else "print(1 // 0)"
    return f"<think>Multiply, {seed}.</think>\n```python\n{body}\n```"


class Clocked(Backend):
    """Answers from each pair's seed, in a random order, each call taking a random time."""

    name = "clocked"
    revision = "clocked-1"

    def stream(self, requests: list[Request]) -> Iterator[Outcome]:
        order = list(enumerate(requests))
        random.shuffle(order)
        for i, req in order:
            text = _answer(req.problem, req.first_sample, req.params.seed)
            yield Outcome(i, req, completions=[Completion(
                raw_text=text, prompt_tokens=9, completion_tokens=len(text.split()), finish_reason="stop",
                elapsed_s=round(random.uniform(0.01, 5.0), 4), model_revision=self.revision,
                seed=req.params.seed)])


def _clocked(problems, name, out, progress):
    return sample_problems(problems, {"max_tokens": 64}, model_name=name, n=2, out_path=out,
                           progress_path=progress, seed=7, backend=Clocked())


def _pipeline(root: Path, scratch: Path, sample) -> list[dict]:
    """sample_teacher, filter_samples, sample_student, verify_student, pass_rates, smoke_corpus and
    build_corpus on both domains, as their scripts write them; returns the code checks' timings."""
    timings: list[dict] = []
    ded = {}
    for domain, problems in PROBLEMS.items():
        samples_path = root / f"samples/{domain}.jsonl"
        sample(problems, "teacher", samples_path, scratch / f"progress-{domain}.jsonl")
        samples = read_records(samples_path, "sample")
        by_id = {p["id"]: p for p in problems}
        verdicts = verify_samples(samples, by_id, workers=2, max_tokens=60, timings=timings)
        write_records(root / f"verdicts/{domain}.jsonl", verdicts, "verdict")
        write_summary_tsv(root / f"verdicts/{domain}.summary.tsv", summarize_verdicts(verdicts))
        write_records(root / f"kept/{domain}.jsonl", [s for s, v in zip(samples, verdicts) if v["keep"]], "sample")

        student_path = root / f"student/{domain}.jsonl"
        sample(problems, "base/student", student_path, scratch / f"student-{domain}.jsonl")
        student = verify_samples(read_records(student_path, "sample"), by_id, workers=2, lenient=True,
                                 timings=timings)
        write_records(root / f"student/{domain}.verdicts.jsonl", student, "verdict")
        rates = pass_rates(read_records(root / f"student/{domain}.verdicts.jsonl", "verdict"))
        write_records(root / f"pass_rates/{domain}.jsonl", rates, "pass_rate")

        write_records(root / f"smoke/{domain}.jsonl", smoke_corpus(verdicts, samples, problems, "teacher", domain),
                      "corpus_row")
        settings = CorpusSettings(threshold=0.5, per_question=2, unit="char", workers=2)
        for variant, spec in VARIANTS.items():
            if not spec.per_domain:
                continue
            rows, stats = build_corpus(variant, teacher="teacher", domain=domain, samples=samples,
                                       verdicts=verdicts, problems=problems, pass_rates=rates, settings=settings)
            name = corpus_name(variant, domain)
            write_records(root / f"corpus/{name}.jsonl", rows, "corpus_row")
            write_json(root / f"corpus/{name}.stats.json", stats)
            if variant == "right_hard_diverse":
                ded[domain] = read_records(root / f"corpus/{name}.jsonl", "corpus_row")
    rows, stats = build_corpus("mixed", teacher="teacher", ded_corpora=ded, settings=CorpusSettings(seed=3))
    write_records(root / "corpus/mixed.jsonl", rows, "corpus_row")
    write_json(root / "corpus/mixed.stats.json", stats)
    return timings


def test_same_seed_gives_byte_identical_outputs(tmp_path):
    timings = [_pipeline(tmp_path / f"run{k}", tmp_path / f"progress{k}", _clocked) for k in (1, 2)]
    files = assert_identical(tmp_path / "run1", tmp_path / "run2")
    assert len(files) == 2 * (8 + 2 * 6) + 2
    # the inputs exercise every stage: kept and dropped samples, code verdicts, non-empty corpora
    verdicts = [v for d in PROBLEMS for v in read_records(tmp_path / f"run1/verdicts/{d}.jsonl", "verdict")]
    assert {v["verdict"] for v in verdicts} >= {"correct", "wrong", "accepted", "wrong_answer", "runtime_error"}
    assert read_records(tmp_path / "run1/corpus/mixed.jsonl", "corpus_row")
    # what was measured went elsewhere: call times to the progress file, program times to `timings`
    assert not any(b"elapsed_s" in data or b"cpu_s" in data or b"wall_s" in data for data in files.values())
    progress = [read_records(tmp_path / f"progress{k}/progress-math.jsonl") for k in (1, 2)]
    assert all(isinstance(r["elapsed_s"], float) for r in progress[0])
    assert [r["elapsed_s"] for r in progress[0]] != [r["elapsed_s"] for r in progress[1]]
    assert len(timings[0]) == 2 * 2 * 2 and all(t["wall_s"] > 0 for t in timings[0] if t["verdict"] != "no_code")
    assert [t["question_id"] for t in timings[0]] == [t["question_id"] for t in timings[1]]


def test_old_sample_files_with_elapsed_s_still_read(tmp_path):
    rec = {"question_id": "m0", "sample_id": 0, "model": "t", "raw_text": "x", "text": "x", "reasoning": None,
           "answer": None, "elapsed_s": 1.25}
    (tmp_path / "old.jsonl").write_text(json.dumps(rec) + "\n")
    assert read_records(tmp_path / "old.jsonl", "sample")[0]["elapsed_s"] == 1.25


def test_a_model_revision_names_the_weights_not_the_training_run(tmp_path):
    """The same weights trained in two folders (whose Trainer arguments, training_args.bin, name the folder)
    get one revision, so the samples they write are the same bytes; other weights get another."""
    from ded.sample.base import model_fingerprint

    folders = []
    for name, weights in (("a", b"w" * 10), ("b", b"w" * 10), ("c", b"v" * 10)):
        d = tmp_path / name
        d.mkdir()
        (d / "config.json").write_text('{"model_type": "llama"}')
        (d / "model.safetensors").write_bytes(weights)
        (d / "training_args.bin").write_bytes(f"output_dir={d}".encode())
        folders.append(d)
    a, b, c = map(model_fingerprint, folders)
    assert a == b and a != c
    (folders[1] / "pytorch_model.bin").write_bytes(b"x")  # a weight file in .bin counts
    assert model_fingerprint(folders[1]) != a
