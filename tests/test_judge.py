"""The filter's LLM judge: which answers it decides, what the verdicts keep, and the filter_samples rule
with a judge served by `python -m ded serve` (the local OpenAI-compatible server)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import served_model
import yaml

from ded.config import ConfigError, check_references
from ded.io import read_records, write_records
from ded.records import VERDICT
from ded.filter import summarize_verdicts, verify_samples
from ded.filter.judge import (DEFAULT_DECIDES, Judge, judge_generation_spec, judge_trigger, parse_verdict)

ROOT = Path(__file__).resolve().parents[1]


def problem(qid: str, gold_kind: str, gold=None, **kw) -> dict:
    return {"id": qid, "domain": "math", "source": "test", "prompt": f"question {qid}", "gold": gold,
            "gold_kind": gold_kind, **kw}


def sample(qid: str, answer: str, sid: int = 0, **kw) -> dict:
    text = kw.pop("text", None) or f"<think>some reasoning</think>{answer}"
    return {"question_id": qid, "sample_id": sid, "model": "teacher", "raw_text": text, "text": text,
            "reasoning": None, "answer": None, **kw}


# --- routing: which answers go to the judge (a pure function) -------------------------------------------

PROOF = problem("p", "none")
MATH = problem("m", "math", "4")
MATH_NO_GOLD = problem("g", "math", None)
CHOICE = problem("c", "choice", "B", options=["1", "2", "3"])
CODE = problem("t", "tests", None, domain="code", tests=[{"input": "1\n", "output": "1\n"}])
CODE_NO_TESTS = problem("u", "tests", None, domain="code", tests=[])
ALL = ("no_gold", "unparseable", "wrong")


@pytest.mark.parametrize("prob, rules, decides, expected", [
    # no checkable gold: a proof, a math problem without gold, a code problem without tests
    (PROOF, "undecided", DEFAULT_DECIDES, "no_gold"),
    (MATH_NO_GOLD, "unparseable", DEFAULT_DECIDES, "no_gold"),
    (CODE_NO_TESTS, "infra_error", DEFAULT_DECIDES, "no_gold"),
    (PROOF, "undecided", ("unparseable", "wrong"), None),
    # the rules could not read or compare the answer
    (MATH, "unparseable", DEFAULT_DECIDES, "unparseable"),
    (MATH, "timeout", DEFAULT_DECIDES, "unparseable"),
    (CHOICE, "unparseable", DEFAULT_DECIDES, "unparseable"),
    (MATH, "unparseable", ("no_gold",), None),
    (CODE, "infra_error", ALL, None),  # a broken sandbox is fixed, not judged
    # a second opinion on `wrong` only when asked for, and never on failed tests
    (MATH, "wrong", DEFAULT_DECIDES, None),
    (MATH, "wrong", ALL, "wrong"),
    (CHOICE, "wrong", ALL, "wrong"),
    (CODE, "wrong_answer", ALL, None),
    (CODE, "runtime_error", ALL, None),
    # what the rules decided stands
    (MATH, "correct", ALL, None),
    (CODE, "accepted", ALL, None),
])
def test_judge_trigger(prob, rules, decides, expected):
    assert judge_trigger(prob, rules, decides) == expected


def test_default_decides_and_unknown_trigger():
    assert DEFAULT_DECIDES == ("no_gold", "unparseable")
    from ded.settings import load_schema

    schema = load_schema()
    judge = schema["properties"]["filter"]["properties"]["judge"]["oneOf"][1]["properties"]
    assert judge["decides"]["default"] == list(DEFAULT_DECIDES)  # the schema is where defaults live
    assert judge["decides"]["items"]["enum"] == list(ALL)
    with pytest.raises(ValueError, match="maybe"):
        Judge(generate=lambda ps: ps, decides=("no_gold", "maybe"))


def _scripted(replies: dict[str, str], seen: list[str]):
    """A generate(prompts) -> texts that answers by the first key found in each prompt."""
    def generate(prompts):
        seen.extend(prompts)
        return [next(text for key, text in replies.items() if key in p) for p in prompts]
    return generate


def test_verify_samples_routes_rules_then_judge():
    problems = {"p": problem("p", "none", prompt="Prove that 1 + 1 = 2."),
                "c": problem("c", "choice", "B", options=["1", "2", "3"]),
                "z": problem("z", "choice", "Z", options=["1", "2"])}  # a gold the rules cannot read
    samples = [sample("p", "A good proof.", 0), sample("p", "A bad proof.", 1), sample("p", "A vague proof.", 2),
               sample("c", "Answer: (B)", 0), sample("c", "Answer: (C) equivalent", 1),
               sample("c", "Answer: (A)", 2), sample("z", "Answer: (A)", 0),
               sample("c", "x", 3, finish_reason="length")]
    seen: list[str] = []
    generate = _scripted({"good proof": "Fine.\nVERDICT: YES", "bad proof": "VERDICT: NO",
                          "vague": "I cannot tell.", "equivalent": "VERDICT: YES", "(A)": "VERDICT: NO"}, seen)
    judge = Judge(generate, decides=ALL, model="grader")
    v = verify_samples(samples, problems, workers=1, judge=judge)
    assert [x["verdict"] for x in v] == ["correct", "wrong", "undecided", "correct", "correct", "wrong", "wrong",
                                         "truncated"]
    triggers = [x["checks"].get("judge", {}).get("trigger") for x in v]
    assert triggers == ["no_gold", "no_gold", "no_gold", None, "wrong", "wrong", "unparseable", None]
    assert len(seen) == 6  # one prompt per judged answer, none for a rule `correct` or a cut response
    for x in v:
        assert not VERDICT.problems(x)
        j = x["checks"].get("judge")
        if j is None:
            continue
        # what the judge was asked, what it said, what was read from it, and what it overrode
        assert j["model"] == "grader" and j["prompt"] in seen and j["output"]
        assert j["decision"] == parse_verdict(j["output"])
        assert j["verdict"] == {"YES": "correct", "NO": "wrong", None: "undecided"}[j["decision"]]
        assert set(j["rules"]) == {"verdict", "reason"}
        assert x["reason"].startswith(f"judge ({j['trigger']}) said") or j["decision"] is None
    assert "Prove that 1 + 1 = 2." in v[0]["checks"]["judge"]["prompt"]
    assert "Reference answer" in v[4]["checks"]["judge"]["prompt"]  # the gold goes to the judge
    assert v[4]["checks"]["judge"]["rules"]["verdict"] == "wrong" and v[4]["keep"]  # the second opinion
    assert v[4]["checks"]["answer"]["extracted"] == "C"  # the rules' details stay
    # no decision: the rules' verdict stands, and the record says why
    assert v[2]["checks"]["judge"]["decision"] is None and "no YES/NO verdict" in v[2]["reason"]
    assert v[6]["checks"]["judge"]["rules"]["verdict"] == "unparseable" and not v[6]["keep"]
    assert summarize_verdicts(v)[-1]["keep"] == 3

    # the default `decides`: the rules' `wrong` stands and no prompt is built for it
    seen.clear()
    v = verify_samples(samples, problems, workers=1, judge=Judge(generate, model="grader"))
    assert [x["verdict"] for x in v][3:7] == ["correct", "wrong", "wrong", "wrong"]
    assert "judge" not in v[4]["checks"] and len(seen) == 4
    # no judge: nothing is judged, proofs stay undecided
    v = verify_samples(samples, problems, workers=1)
    assert not any("judge" in x["checks"] for x in v) and v[0]["verdict"] == "undecided"


def test_judge_generation_spec_and_config_checks():
    config = {"models": {"big": {"source": {"hub": "org/big"}, "materialize": False},
                         "t": {"source": {"hub": "org/t"}}},
              "teachers": {"t": {"model": "t", "backend": "vllm", "temperature": 0.6, "warm_start": None}},
              "evaluation": {"backend": "hf"}}
    spec = {"model": "big", "backend": "openai", "api_base": "http://127.0.0.1:8002/v1", "api_model": "org/big",
            "api_key_env": None, "concurrency": 4, "engine_args": {}, "decides": ["no_gold"]}
    assert judge_generation_spec(spec, config) == {"model": "big", "backend": "openai", "engine_args": {},
                                                   "api_base": "http://127.0.0.1:8002/v1", "api_model": "org/big",
                                                   "concurrency": 4}
    # backend null: as the first teacher on the model does, else the evaluation backend
    assert judge_generation_spec({"model": "t", "backend": None, "api_base": "x"}, config)["backend"] == "vllm"
    assert judge_generation_spec({"model": "big"}, config) == {"model": "big", "backend": "hf"}
    check_references({**config, "filter": {"judge": spec}})
    with pytest.raises(ConfigError, match="filter.judge.model = 'nope'"):
        check_references({**config, "filter": {"judge": {"model": "nope"}}})
    with pytest.raises(ConfigError, match="filter.judge.engine_args.tensor_parallel_size"):
        check_references({**config, "filter": {"judge": {"model": "t", "engine_args": {"tensor_parallel_size": 2}}}})


def test_paper_config_names_a_served_judge():
    from ded.settings import resolve_config

    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    resolve_config(paper)
    judge = paper["filter"]["judge"]
    assert judge["model"] in paper["models"] and judge["backend"] == "openai" and judge["api_base"]
    assert judge["decides"] == ["no_gold", "unparseable"]
    check_references(paper)
    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    assert default["filter"]["judge"] is None  # a judge on 2 CPU cores costs more than it tells


# --- the rule -----------------------------------------------------------------------------------------

PROBLEMS = [
    {"id": "proof", "domain": "math", "source": "test", "prompt": "Prove that the sum of two even numbers is even.",
     "gold": None, "gold_kind": "none"},
    {"id": "sum", "domain": "math", "source": "test", "prompt": "What is 2 + 2?", "gold": "4", "gold_kind": "math"},
]
ANSWERS = [  # (question, answer after </think>)
    ("proof", "Let a = 2m and b = 2n. Then a + b = 2(m + n), which is even."),
    ("sum", "The answer is \\boxed{4}."),
    ("sum", "The answer is \\boxed{5}."),
]


def _teacher_sample(i: int, qid: str, answer: str) -> dict:
    text = f"<think>Work it out.</think>{answer}"
    return {"question_id": qid, "sample_id": i, "model": "t", "raw_text": text, "text": text,
            "reasoning": "Work it out.", "answer": answer, "completion_tokens": 20, "finish_reason": "stop"}


def _workflow(dst: Path, config: dict) -> Path:
    for name in ("rules", "scripts", "ded", "config", "envs", "report"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "Snakefile", dst / "Snakefile")
    (dst / "cfg.yaml").write_text(yaml.safe_dump(config))
    return dst


def _config(judge: dict) -> dict:
    # The teacher and the student are never run: the samples are written by the test.
    return {
        "models": {"student": {"source": {"hub": "org/student"}, "materialize": False},
                   "judge": {"source": {"hub": "org/judge"}, "materialize": False},
                   "local-judge": {"source": {"hub": "org/local-judge"}}},
        "students": {"s": {"model": "student"}},
        "teachers": {"t": {"model": "student", "backend": "openai", "api_base": "http://127.0.0.1:9/v1"}},
        "seeds": {"math": {"source": "procedural", "n": 2, "seed": 1}},
        "benchmarks": {"arith": {"loader": "procedural_math", "n": 2, "seed": 101}},
        "teacher_selection": {"pinned": "t"},
        "filter": {"workers": 1, "judge": judge},
    }


VERDICTS = "results/filter/t/math/verdicts.jsonl"


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Only filter_samples may run: the seeds and samples the test wrote stand in for their rules."""
    return subprocess.run([sys.executable, "-m", "snakemake", "--configfile", "cfg.yaml", "--cores", "1", *args,
                           "--allowed-rules", "filter_samples"], cwd=workdir, capture_output=True, text=True,
                          timeout=600)


def _set_judge(workdir: Path, **changes) -> None:
    cfg = yaml.safe_load((workdir / "cfg.yaml").read_text())
    cfg["filter"]["judge"] = changes.pop("judge") if "judge" in changes else {**cfg["filter"]["judge"], **changes}
    (workdir / "cfg.yaml").write_text(yaml.safe_dump(cfg))


def test_judge_model_folder_is_a_filter_input(tmp_path):
    wf = _workflow(tmp_path, _config({"model": "local-judge", "backend": "hf"}))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--configfile", "cfg.yaml", "-n", VERDICTS],
                          cwd=wf, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "resources/models/local-judge" in proc.stdout and "prepare_model" in proc.stdout
    _set_judge(wf, judge={"model": "judge", "backend": "openai", "api_base": "http://127.0.0.1:9/v1"})
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--configfile", "cfg.yaml", "-n", VERDICTS],
                          cwd=wf, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "resources/models/" not in proc.stdout  # an API judge has no folder


@pytest.fixture
def served_judge(smollm2_dir):
    """SmolLM2-135M-Instruct behind `python -m ded serve`, as an OpenAI-compatible endpoint on 127.0.0.1."""
    with served_model("ded", "serve", "--model-path", str(smollm2_dir), "--model-name", "smol-judge",
                      "--batch-size", "4") as api_base:
        yield api_base


@pytest.mark.slow
def test_filter_rule_with_a_served_judge(tmp_path, served_judge):
    judge = {"model": "judge", "backend": "openai", "api_base": served_judge, "api_model": "smol-judge",
             "max_new_tokens": 24, "decides": ["no_gold", "unparseable", "wrong"], "concurrency": 2}
    wf = _workflow(tmp_path, _config(judge))
    write_records(wf / "results/data/seeds/math.jsonl", PROBLEMS, "problem")
    write_records(wf / "results/samples/t/math.jsonl",
                  [_teacher_sample(i, q, a) for i, (q, a) in enumerate(ANSWERS)], "sample")
    started = time.monotonic()
    proc = _snakemake(wf, VERDICTS)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"filter_samples with a served judge: {time.monotonic() - started:.1f} s")
    verdicts = read_records(wf / VERDICTS, "verdict")
    by_id = {v["sample_id"]: v for v in verdicts}
    # the proof (no gold) and the wrong sum (a second opinion) went to the judge; the right sum did not
    assert by_id[1]["verdict"] == "correct" and "judge" not in by_id[1]["checks"]
    assert by_id[0]["checks"]["judge"]["trigger"] == "no_gold"
    assert by_id[2]["checks"]["judge"]["trigger"] == "wrong"
    assert by_id[2]["checks"]["judge"]["rules"]["verdict"] == "wrong"
    for i in (0, 2):
        j, v = by_id[i]["checks"]["judge"], by_id[i]
        assert j["model"] == "judge" and PROBLEMS[0 if i == 0 else 1]["prompt"] in j["prompt"]
        assert ANSWERS[i][1] in j["prompt"] and isinstance(j["output"], str) and j["output"].strip()
        assert j["decision"] == parse_verdict(j["output"]) and j["decision"] in ("YES", "NO", None)
        expected = {"YES": "correct", "NO": "wrong"}.get(j["decision"], j["rules"]["verdict"])
        assert v["verdict"] == expected and v["keep"] == (expected == "correct")
    kept = read_records(wf / "results/filter/t/math/kept.jsonl", "sample")
    assert [s["sample_id"] for s in kept] == [i for i in range(3) if by_id[i]["keep"]]
    log = (wf / "logs/filter_samples/t/math.log").read_text()
    assert "the judge (judge) decides 2 answer(s): 1 no_gold, 1 wrong" in log

    # the judge is part of the filter's inputs: what it decides reruns the filter, how calls are made does not
    _set_judge(wf, concurrency=1, timeout_s=30)
    proc = _snakemake(wf, "-n", VERDICTS)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-2000:]
    _set_judge(wf, decides=["no_gold"])
    proc = _snakemake(wf, "-n", VERDICTS)
    assert proc.returncode == 0 and "filter_samples" in proc.stdout, proc.stdout[-2000:]
    _set_judge(wf, decides=["no_gold", "unparseable", "wrong"], api_model="another-judge")
    proc = _snakemake(wf, "-n", VERDICTS)
    assert proc.returncode == 0 and "filter_samples" in proc.stdout, proc.stdout[-2000:]
