"""Teacher sampling: prompts, normalisation, the hf / vllm / corpus backends, the resumable runner."""


from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from support.sampling import CODE, math_problem

from ded.io import read_records
from ded.sample import (
    Completion,
    Request,
    SamplingParams,
    build_messages,
    sample_problems,
    sample_record,
    teacher_settings,
    user_message,
)
from ded.sample.base import sample_seed
from ded.sample.corpus import CorpusBackend
from ded.sample.prompts import (
    CODE_INSTRUCTION,
    FUNCTIONAL_INSTRUCTION,
    TeacherSpecError,
    render_prompt,
)
from ded.sample.runner import SamplingIncomplete
from ded.sample.vllm_backend import (
    completions_from_output,
    engine_kwargs,
    sampling_kwargs,
)

CHOICE = {"id": "g0", "domain": "science", "source": "t", "prompt": "Which gas do plants take in?", "gold": "B",
          "gold_kind": "choice", "options": ["Oxygen", "Carbon dioxide", "Helium", "Neon"]}


def test_prompts_per_kind():
    assert "\\boxed{}" in user_message(math_problem()) and user_message(math_problem()).startswith("What is 0 + 0?")
    code = user_message(CODE)
    assert "Python 3" in code and "standard input" in code and "```python" in code
    choice = user_message(CHOICE)
    assert "A) Oxygen" in choice and "D) Neon" in choice and "letter" in choice
    leetcode = dict(CODE, prompt="Two Sum\n\nStarter code:\nclass Solution:\n    def twoSum(self, nums, target):",
                    tests=[{"input": "[2, 7]\n9", "output": "[0, 1]", "testtype": "functional"}])
    functional = user_message(leetcode)
    assert functional.endswith(FUNCTIONAL_INSTRUCTION) and CODE_INSTRUCTION not in functional


def test_choice_options_not_repeated_when_shown():
    shown = dict(CHOICE, prompt="Which gas?\n\nA) Oxygen\nB) Carbon dioxide\nC) Helium\nD) Neon")
    assert user_message(shown).count("Oxygen") == 1


def test_system_prompt_and_messages():
    assert build_messages(math_problem()) == [{"role": "user", "content": user_message(math_problem())}]
    msgs = build_messages(math_problem(), "Think first.")
    assert msgs[0] == {"role": "system", "content": "Think first."} and msgs[1]["role"] == "user"


def test_teacher_settings_defaults_and_errors():
    s = teacher_settings({"model": "x", "max_tokens": 64})
    assert s["backend"] == "hf" and s["max_tokens"] == 64 and s["top_p"] == 0.95 and s["model"] == "x"
    with pytest.raises(TeacherSpecError, match=r"teachers.t.backend = 'tgi'"):
        teacher_settings({"backend": "tgi"}, where="teachers.t")
    with pytest.raises(TeacherSpecError, match="top_p"):
        teacher_settings({"top_p": 0})


class _Tok:
    """The only part of a tokenizer render_prompt uses: a chat template."""

    chat_template = "x"

    def __init__(self, suffix=""):
        self.suffix = suffix

    def apply_chat_template(self, messages, tokenize, add_generation_prompt, chat_template=None):
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>" + self.suffix


def test_render_prompt_prefill():
    text, prefilled = render_prompt(_Tok(), [{"role": "user", "content": "q"}])
    assert (text, prefilled) == ("<user>q<assistant>", False)
    text, prefilled = render_prompt(_Tok(), [{"role": "user", "content": "q"}], prefill_think=True)
    assert text.endswith("<assistant><think>\n") and prefilled
    # a template that opens <think> itself (QwQ-32B, R1-Distill) is detected, not opened twice
    text, prefilled = render_prompt(_Tok("<think>\n"), [{"role": "user", "content": "q"}], prefill_think=True)
    assert text.count("<think>") == 1 and prefilled
    text, _ = render_prompt(_Tok(), [{"role": "user", "content": "q"}], chat_template="raw")
    assert text == "q\n\n"


def test_sample_record_prefilled_think():
    c = Completion(raw_text="2 plus 2 is 4.</think>\nThe answer is \\boxed{4}.", prefilled_think=True,
                   finish_reason="stop", completion_tokens=12)
    rec = sample_record(math_problem(2), 0, "t", "hf", c)
    assert rec["raw_text"] == c.raw_text
    assert rec["text"] == "<think>2 plus 2 is 4.</think>\nThe answer is \\boxed{4}."
    assert rec["reasoning"] == "2 plus 2 is 4." and rec["answer"] == "The answer is \\boxed{4}."


def test_sample_record_reasoning_content():
    c = Completion(raw_text="The answer is \\boxed{4}.", reasoning_content="  2+2=4  ")
    rec = sample_record(math_problem(2), 1, "t", "openai", c)
    assert rec["raw_text"] == "The answer is \\boxed{4}."
    assert rec["text"] == "<think>2+2=4</think>\nThe answer is \\boxed{4}."
    assert (rec["reasoning"], rec["answer"]) == ("2+2=4", "The answer is \\boxed{4}.")


def test_sample_record_broken_format_keeps_text():
    rec = sample_record(math_problem(), 0, "t", "hf", Completion(raw_text="no tags at all", finish_reason="length"))
    assert rec["text"] == "no tags at all" and rec["reasoning"] is None and rec["answer"] is None
    rec = sample_record(math_problem(), 0, "t", "hf", Completion(raw_text="<think>a</think><think>b</think>c"))
    assert rec["answer"] is None


def test_sample_seed_depends_only_on_pair():
    assert sample_seed(0, "q", 1) == sample_seed(0, "q", 1)
    assert len({sample_seed(0, "q", 0), sample_seed(0, "q", 1), sample_seed(1, "q", 0), sample_seed(0, "r", 0)}) == 4


def test_vllm_module_imports_without_vllm():
    import importlib.util

    import ded.sample.vllm_backend  # noqa: F401 - the import is the test
    if importlib.util.find_spec("vllm") is None:
        from ded.sample.vllm_backend import VLLMBackend

        with pytest.raises(ImportError, match="vllm"):
            VLLMBackend("/nonexistent")


def test_vllm_sampling_and_engine_mapping():
    kw = sampling_kwargs(SamplingParams(n=4, temperature=0.6, top_p=0.95, max_tokens=16384, seed=7))
    assert kw == {"n": 4, "temperature": 0.6, "top_p": 0.95, "max_tokens": 16384, "seed": 7}
    assert sampling_kwargs(SamplingParams(logprobs=5))["logprobs"] == 5
    eng = engine_kwargs("/m", tensor_parallel_size=4, seed=3, engine_args={"max_model_len": 20480})
    assert eng == {"model": "/m", "tokenizer": "/m", "tensor_parallel_size": 4, "seed": 3, "max_model_len": 20480}
    assert engine_kwargs("/m", 0)["tensor_parallel_size"] == 1


def test_vllm_output_mapping():
    # The attributes of vllm.RequestOutput / CompletionOutput that the backend reads.
    out = SimpleNamespace(prompt_token_ids=[1, 2, 3], outputs=[
        SimpleNamespace(text="a</think>b", token_ids=[5, 6], finish_reason="stop", logprobs=None),
        SimpleNamespace(text="c", token_ids=[7] * 9, finish_reason="length", logprobs=None)])
    comps = completions_from_output(out, True, "rev", 1.5, 11)
    assert [(c.raw_text, c.prompt_tokens, c.completion_tokens, c.finish_reason) for c in comps] == [
        ("a</think>b", 3, 2, "stop"), ("c", 3, 9, "length")]
    assert all(c.prefilled_think and c.model_revision == "rev" and c.seed == 11 for c in comps)
    assert all(c.top_logprobs is None for c in comps)
    # logprobs=2: vLLM lists the top 2 and the sampled token when it is not among them; the top 2 are kept
    lp = lambda x: SimpleNamespace(logprob=x, rank=None)  # noqa: E731
    out = SimpleNamespace(prompt_token_ids=[1], outputs=[SimpleNamespace(
        text="ab", token_ids=[5, 8], finish_reason="length",
        logprobs=[{9: lp(-2.5), 5: lp(-0.1)}, {3: lp(-0.7), 4: lp(-0.9), 8: lp(-4.123456)}])])
    [c] = completions_from_output(out, False, None, 0.1, 0, logprobs=2)
    assert c.top_logprobs == [[[5, -0.1], [9, -2.5]], [[3, -0.7], [4, -0.9]]]


def _s1k_corpus(tmp_path):
    rows = [{"question": "What is  1 + 1?", "solution": "2", "deepseek_thinking_trajectory": "one and one",
             "deepseek_attempt": "\\boxed{2}"},
            {"question": "what is 2 + 2?", "solution": "4", "deepseek_thinking_trajectory": "two and two",
             "deepseek_attempt": "\\boxed{4}"}]
    path = tmp_path / "s1k11.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_corpus_replays_s1k_traces(tmp_path):
    path = _s1k_corpus(tmp_path)
    problems = [math_problem(1), math_problem(2, prompt="What is 2 + 2?")]
    n = sample_problems(problems, {"backend": "corpus", "corpus_path": str(path)}, model_name="r1", n=1,
                        out_path=tmp_path / "out.jsonl", progress_path=tmp_path / "p.jsonl")
    recs = read_records(tmp_path / "out.jsonl", "sample")
    assert n == 2 and [r["question_id"] for r in recs] == ["m1", "m2"]
    assert recs[0]["text"] == "<think>one and one</think>\n\\boxed{2}"
    assert recs[1]["reasoning"] == "two and two" and recs[1]["backend"] == "corpus"
    assert recs[0]["model_revision"].startswith("s1k11.jsonl@sha256:")


def test_corpus_by_id_and_missing(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"qid": "m5", "q": "?", "response": "<think>r</think>a"}) + "\n")
    backend = CorpusBackend(str(path), fields={"id": "qid", "question": "q", "text": "response"})
    reqs = [Request((), SamplingParams(), problem=math_problem(5)), Request((), SamplingParams(), problem=math_problem(6)),
            Request((), SamplingParams(), problem=math_problem(5), first_sample=1)]
    outcomes = sorted(backend.stream(reqs), key=lambda o: o.index)
    assert outcomes[0].completions[0].raw_text == "<think>r</think>a"
    assert "has 0 trace(s)" in str(outcomes[1].error) and "has 1 trace(s)" in str(outcomes[2].error)
    skip = CorpusBackend(str(path), fields={"id": "qid", "question": "q", "text": "response"}, missing="skip")
    assert [o.skipped is not None for o in skip.stream(reqs)] == [False, True, True]
    with pytest.raises(Exception, match="field 'question' missing"):
        CorpusBackend(str(path))


def test_corpus_missing_fails_run_but_keeps_progress(tmp_path):
    path = _s1k_corpus(tmp_path)
    problems = [math_problem(1), math_problem(9)]
    spec = {"backend": "corpus", "corpus_path": str(path)}
    with pytest.raises(SamplingIncomplete, match="1 of 2"):
        sample_problems(problems, spec, model_name="r1", n=1, out_path=tmp_path / "o.jsonl",
                        progress_path=tmp_path / "p.jsonl")
    assert not (tmp_path / "o.jsonl").exists()
    assert [r["question_id"] for r in read_records(tmp_path / "p.jsonl")] == ["m1"]
    n = sample_problems(problems, {**spec, "corpus_missing": "skip"}, model_name="r1", n=1,
                        out_path=tmp_path / "o.jsonl", progress_path=tmp_path / "p.jsonl")
    assert n == 1


def test_logprobs_enter_the_run_signature_only_when_set():
    from ded.sample.runner import run_signature

    settings = teacher_settings({"model": "x"})
    base = run_signature(settings, "t", 0, None)
    assert run_signature({k: v for k, v in settings.items() if k != "logprobs"}, "t", 0, None) == base
    assert run_signature({**settings, "logprobs": 5}, "t", 0, None) != base


def test_runner_rejects_bad_problems(tmp_path):
    with pytest.raises(Exception, match="duplicate id 'm0'"):
        sample_problems([math_problem(0), math_problem(0)], {"backend": "corpus"}, model_name="t", n=1,
                        out_path=tmp_path / "o", progress_path=tmp_path / "p")
    with pytest.raises(Exception, match="field 'gold_kind'"):
        sample_problems([{"id": "x", "domain": "math", "source": "s", "prompt": "p", "gold": None}],
                        {"backend": "corpus"}, model_name="t", n=1, out_path=tmp_path / "o",
                        progress_path=tmp_path / "p")


def test_row_sampler_draws_the_top_p_distribution(monkeypatch):
    import torch

    from ded.sample import hf

    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    scores = probs.log().repeat(4000, 1)
    sampler = hf._row_sampler_class()(range(4000), [1.0] * 4000, [0.9] * 4000, "cpu")
    tokens = sampler(None, scores).argmax(-1)
    freq = torch.bincount(tokens, minlength=4).float() / 4000
    # nucleus 0.9 keeps the first three tokens: 0.5, 0.3, 0.15 renormalised; never the fourth
    assert freq[3] == 0
    assert torch.allclose(freq[:3], torch.tensor([0.5, 0.3, 0.15]) / 0.95, atol=0.03)
    # the top-k shortcut draws exactly what a full sort draws, rows with a wide nucleus included
    torch.manual_seed(0)
    logits = torch.randn(16, 3000) * torch.linspace(0.5, 8, 16)[:, None]
    make = lambda: hf._row_sampler_class()(range(16), [0.7] * 16, [0.95] * 16, "cpu")  # noqa: E731
    monkeypatch.setattr(hf, "NUCLEUS_CANDIDATES", 64)
    short = make()(None, logits).argmax(-1)
    monkeypatch.setattr(hf, "NUCLEUS_CANDIDATES", 3000)
    assert torch.equal(short, make()(None, logits).argmax(-1))
    # greedy rows take the argmax whatever their draw
    greedy = hf._row_sampler_class()([1, 2], [0.0, 0.0], [0.95, 1.0], "cpu")(None, logits[:2])
    assert torch.equal(greedy.argmax(-1), logits[:2].argmax(-1))


def test_cli_sample_with_teacher_spec_file(tmp_path, capsys):
    from ded.__main__ import main
    from ded.io import write_records

    corpus = _s1k_corpus(tmp_path)
    write_records(tmp_path / "p.jsonl", [math_problem(1), math_problem(2, prompt="What is 2 + 2?")], "problem")
    (tmp_path / "teacher.yaml").write_text(f"backend: corpus\ncorpus_path: {corpus}\n")
    rc = main(["sample", "--problems", str(tmp_path / "p.jsonl"), "--teacher-spec", str(tmp_path / "teacher.yaml"),
               "--model-name", "r1", "--out", str(tmp_path / "o.jsonl")])
    assert rc == 0 and "2 samples written" in capsys.readouterr().err
    assert [r["model"] for r in read_records(tmp_path / "o.jsonl", "sample")] == ["r1", "r1"]
    assert (tmp_path / "o.jsonl.progress").exists()
    # a question the corpus lacks: exit status 3, the reason on stderr, no output
    write_records(tmp_path / "p2.jsonl", [math_problem(7)], "problem")
    rc = main(["sample", "--problems", str(tmp_path / "p2.jsonl"), "--teacher-spec", str(tmp_path / "teacher.yaml"),
               "--out", str(tmp_path / "o2.jsonl")])
    assert rc == 3 and "has 0 trace(s) for question 'm7'" in capsys.readouterr().err
    assert not (tmp_path / "o2.jsonl").exists()
