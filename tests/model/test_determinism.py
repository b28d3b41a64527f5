"""The same inputs and seed give byte-identical outputs: sampling, filtering, pass rates, corpus building.

Each test runs the library functions the rules call twice, into two folders,
and compares every file byte for byte. The teacher below answers in a random
order with random call times, and programs take the time they take, so a
measured value or an order that leaked into a record would show. Progress
files (not declared outputs) keep the call times and are left out.
"""


from __future__ import annotations

import pytest
from support.determinism import CODE, MATH, assert_identical

from ded.io import read_records
from ded.sample import sample_problems


@pytest.mark.slow
def test_hf_sampling_twice_gives_byte_identical_outputs(tiny_llama_dir, tmp_path):
    """Two sampling jobs with the hf backend, each loading the model afresh (the stages after sampling
    are covered above)."""
    for k in (1, 2):
        sample_problems(MATH + CODE, {"backend": "hf", "max_tokens": 12, "top_p": 0.9}, model_name="tiny", n=2,
                        out_path=tmp_path / f"run{k}/samples.jsonl", progress_path=tmp_path / f"progress{k}.jsonl",
                        seed=11, batch_size=3, model_path=str(tiny_llama_dir), backend_options={"threads": 2})
    files = assert_identical(tmp_path / "run1", tmp_path / "run2")
    assert len(read_records(tmp_path / "run1/samples.jsonl", "sample")) == 10
    assert b"elapsed_s" not in files["samples.jsonl"]
    assert all("elapsed_s" in r for r in read_records(tmp_path / "progress1.jsonl"))
