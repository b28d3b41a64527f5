"""The openai backend against servers on 127.0.0.1: a scripted one for faults, and a real one.

The scripted server answers each call with the next action of its script
(429, 500, a body that is not JSON, a body without choices, a reply slower
than the client's timeout) and a good reply once the script is spent. Every
loop is bounded and every server stops at the end of its test.
"""


from __future__ import annotations

from support.openai_problems import numbered_problem
from support.servers import served_model

from ded.io import read_records
from ded.sample import sample_problems


def test_real_server_process_on_loopback(smollm2_dir, tmp_path):
    """The backend against a real model behind an HTTP server in another process (ded.sample.serve)."""
    with served_model("ded.sample.serve", "--model-path", str(smollm2_dir), "--model-name", "smol",
                      "--reasoning-parser", "think", "--prefill-think") as api_base:
        problems = [numbered_problem(i) for i in range(2)]
        spec = {"backend": "openai", "api_base": api_base, "max_tokens": 8, "temperature": 0.7,
                "prefill_think": True}
        n = sample_problems(problems, spec, model_name="smol", n=2, out_path=tmp_path / "o.jsonl",
                            progress_path=tmp_path / "p.jsonl")
        recs = read_records(tmp_path / "o.jsonl", "sample")
        assert n == 4 and [(r["question_id"], r["sample_id"]) for r in recs] == [
            ("q0", 0), ("q0", 1), ("q1", 0), ("q1", 1)]
        for r in recs:
            assert r["raw_text"].strip() and 1 <= r["completion_tokens"] <= 8 and r["prompt_tokens"] > 10
            assert r["finish_reason"] in ("stop", "length") and r["model_revision"].startswith("sha256:")
        # the seed goes over the wire: the same pair twice gives the same text
        again = sample_problems(problems[:1], spec, model_name="smol", n=1, out_path=tmp_path / "o2.jsonl",
                                progress_path=tmp_path / "p2.jsonl")
        assert again == 1 and read_records(tmp_path / "o2.jsonl")[0]["raw_text"] == recs[0]["raw_text"]
