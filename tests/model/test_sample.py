"""Teacher sampling: prompts, normalisation, the hf / vllm / corpus backends, the resumable runner."""


from __future__ import annotations

import json

import pytest
from support.config import resolved
from support.sampling import CODE, math_problem

from ded.io import read_records
from ded.sample import Request, SamplingParams, build_messages, sample_problems
from ded.sample.base import sample_seed


@pytest.fixture(scope="module")
def smol_backend(smollm2_dir):
    from ded.sample.hf import HFBackend

    return HFBackend(str(smollm2_dir), batch_size=4)


def test_hf_generates_real_tokens(smol_backend):
    reqs = [Request(tuple(build_messages(math_problem(3))), SamplingParams(temperature=0, max_tokens=12, seed=0)),
            Request(tuple(build_messages(CODE)), SamplingParams(n=2, temperature=0.7, top_p=0.9, max_tokens=6,
                                                                seed=1))]
    greedy, sampled = smol_backend.generate(reqs)
    c = greedy[0]
    assert c.raw_text.strip() and c.prompt_tokens > 20 and 1 <= c.completion_tokens <= 12
    assert c.finish_reason in ("stop", "length") and c.model_revision.startswith("sha256:")
    # a real instruct model answers in words, not random sub-words
    assert sum(ch.isalpha() or ch.isspace() for ch in c.raw_text) / len(c.raw_text) > 0.6
    assert len(sampled) == 2 and all(s.completion_tokens <= 6 for s in sampled)
    # greedy is deterministic; a seeded sample reproduces alone and in another batch
    again = smol_backend.generate(reqs[:1])[0][0]
    assert again.raw_text == c.raw_text
    alone = smol_backend.generate([Request(reqs[1].messages, SamplingParams(n=2, temperature=0.7, top_p=0.9,
                                                                            max_tokens=6, seed=1))])[0]
    assert [s.raw_text for s in alone] == [s.raw_text for s in sampled]


def test_hf_prefill_think_prompt(smol_backend):
    text, prefilled = smol_backend.render(build_messages(math_problem()))
    assert not prefilled and "<|im_start|>assistant\n" in text
    smol_backend.prefill_think = True
    try:
        text, prefilled = smol_backend.render(build_messages(math_problem()))
        assert prefilled and text.endswith("<|im_start|>assistant\n<think>\n")
    finally:
        smol_backend.prefill_think = False


def test_runner_resumes_and_matches_uninterrupted(tiny_llama_dir, tmp_path):
    from ded.sample.hf import HFBackend

    backend = HFBackend(str(tiny_llama_dir), batch_size=3)
    problems = [math_problem(i) for i in range(4)] + [CODE]
    spec = {"max_tokens": 8, "top_p": 1.0}
    kw = dict(model_name="tiny", n=2, backend=backend, model_path=str(tiny_llama_dir))
    full = sample_problems(problems, spec, out_path=tmp_path / "full.jsonl", progress_path=tmp_path / "pf", **kw)
    assert full == 10
    reference = read_records(tmp_path / "full.jsonl", "sample")
    assert [(r["question_id"], r["sample_id"]) for r in reference] == [
        (p["id"], s) for p in problems for s in range(2)]

    # a partial progress file with a torn last line: the rerun keeps whole lines and fills the rest
    lines = (tmp_path / "pf").read_text().splitlines(keepends=True)
    (tmp_path / "pp").write_text("".join(lines[:3]) + lines[3][:25])
    sample_problems(problems, spec, out_path=tmp_path / "resumed.jsonl", progress_path=tmp_path / "pp", **kw)
    resumed = read_records(tmp_path / "resumed.jsonl", "sample")
    strip = lambda rs: [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rs]  # noqa: E731
    assert strip(resumed) == strip(reference)
    assert len(read_records(tmp_path / "pp")) == 10

    # other settings: the old progress is dropped, not mixed in
    sample_problems(problems, {**spec, "temperature": 0.0}, out_path=tmp_path / "greedy.jsonl",
                    progress_path=tmp_path / "pp", **kw)
    greedy = read_records(tmp_path / "greedy.jsonl", "sample")
    assert len(greedy) == 10 and greedy[0]["raw_text"] == greedy[1]["raw_text"]
    assert len(read_records(tmp_path / "pp")) == 10

    # raising M keeps the samples already drawn
    sample_problems(problems, spec, out_path=tmp_path / "m3.jsonl", progress_path=tmp_path / "pf",
                    **{**kw, "n": 3})
    m3 = read_records(tmp_path / "m3.jsonl", "sample")
    assert strip([r for r in m3 if r["sample_id"] < 2]) == strip(reference)


def test_hf_saves_top_logprobs_per_generated_token(tiny_llama_dir, tmp_path, capsys):
    """Generation-time top-k logprobs reach the sample records and `entropy-topk` reads them back."""
    import torch
    from transformers import AutoModelForCausalLM

    from ded.__main__ import main
    from ded.sample.hf import HFBackend

    backend = HFBackend(str(tiny_llama_dir), batch_size=4)
    problems = [math_problem(i) for i in range(3)]
    spec = {"max_tokens": 7, "temperature": 0, "logprobs": 5}
    sample_problems(problems, spec, model_name="tiny", n=1, backend=backend, out_path=tmp_path / "o.jsonl",
                    progress_path=tmp_path / "p.jsonl")
    recs = read_records(tmp_path / "o.jsonl", "sample")
    for r in recs:
        top = r["top_logprobs"]
        assert len(top) == r["completion_tokens"] and all(len(step) == 5 for step in top)
        for step in top:
            ids, lps = [e[0] for e in step], [e[1] for e in step]
            assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 5
            assert all(lp <= 0 for lp in lps) and lps == sorted(lps, reverse=True)
        # greedy: each generated token is its step's most likely one, so the entries line up with the text
        body = [step[0][0] for step in top][: r["completion_tokens"] - (r["finish_reason"] == "stop")]
        assert backend.tokenizer.decode(body, skip_special_tokens=True) == r["raw_text"]

    # the first step's values are the model's log-softmax at the end of the prompt (no temperature applied)
    text, _ = backend.render(build_messages(problems[0]))
    ids = backend.tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir))(ids).logits[0, -1]
    ref = torch.topk(torch.log_softmax(logits.double(), -1), 5)
    assert [e[0] for e in recs[0]["top_logprobs"][0]] == ref.indices.tolist()
    assert [e[1] for e in recs[0]["top_logprobs"][0]] == pytest.approx(ref.values.tolist(), abs=2e-4)

    # the analysis command reads what the sampler wrote
    assert main(["analysis", "entropy-topk", "--samples", str(tmp_path / "o.jsonl")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tokens"] == sum(r["completion_tokens"] for r in recs) and summary["mean"] > 0

    # rows of one batch ask for different k or none; the default saves none
    reqs = [Request(tuple(build_messages(math_problem(1))), SamplingParams(temperature=0.7, max_tokens=4, seed=1,
                                                                    logprobs=2)),
            Request(tuple(build_messages(math_problem(2))), SamplingParams(temperature=0.7, max_tokens=4, seed=2))]
    [[a], [b]] = backend.generate(reqs)
    assert len(a.top_logprobs) == a.completion_tokens and all(len(step) == 2 for step in a.top_logprobs)
    assert b.top_logprobs is None
    sample_problems(problems[:1], {"max_tokens": 3}, model_name="tiny", n=1, backend=backend,
                    out_path=tmp_path / "d.jsonl", progress_path=tmp_path / "pd.jsonl")
    assert "top_logprobs" not in read_records(tmp_path / "d.jsonl", "sample")[0]


def test_spec_model_dir_and_seed_and_make_generate(tiny_llama_dir, tmp_path):
    from ded.sample import make_generate

    # the evaluation stage passes the model folder and the seed inside the spec
    spec = {"model": "tiny", "model_dir": str(tiny_llama_dir), "seed": 3, "max_tokens": 4, "template": "chatml"}
    sample_problems([math_problem(1)], spec, model_name="base/s", n=2, out_path=tmp_path / "o.jsonl",
                    progress_path=tmp_path / "p.jsonl")
    recs = read_records(tmp_path / "o.jsonl", "sample")
    assert [r["seed"] for r in recs] == [sample_seed(3, "m1", 0), sample_seed(3, "m1", 1)]
    # the filter's LLM judge: generate(prompts) -> texts over a `models` entry
    config = resolved({"models": {"tiny": {"source": {"path": "x"}}}, "teachers": {}})
    generate = make_generate("tiny", config, max_new_tokens=3, model_dir=str(tiny_llama_dir))
    texts = generate(["Is 2 + 2 = 4? Answer YES or NO.", "Is 1 = 2?"])
    assert len(texts) == 2 and all(isinstance(t, str) and t for t in texts)
    assert generate(["Is 2 + 2 = 4? Answer YES or NO."]) == texts[:1]  # greedy
