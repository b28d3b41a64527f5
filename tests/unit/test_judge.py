"""The filter's LLM judge: which answers it decides, what the verdicts keep, and the filter_samples rule
with a judge served by `python -m ded serve` (the local OpenAI-compatible server)."""


from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.judge import VERDICTS, judge_config, set_judge
from support.records import problem, sample
from support.workflow import copy_workflow, dry_run

from ded.config import ConfigError, check_references
from ded.filter import summarize_verdicts, verify_samples
from ded.filter.judge import (
    DEFAULT_DECIDES,
    Judge,
    judge_generation_spec,
    judge_trigger,
    parse_verdict,
)
from ded.records import VERDICT

ROOT = Path(__file__).resolve().parents[2]






PROOF = problem("p", gold_kind="none", gold=None)


MATH = problem("m", gold_kind="math", gold="4")


MATH_NO_GOLD = problem("g", gold_kind="math", gold=None)


CHOICE = problem("c", gold_kind="choice", gold="B", options=["1", "2", "3"])


CODE = problem("t", gold_kind="tests", gold=None, domain="code", tests=[{"input": "1\n", "output": "1\n"}])


CODE_NO_TESTS = problem("u", gold_kind="tests", gold=None, domain="code", tests=[])


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
    problems = {"p": problem("p", gold_kind="none", prompt="Prove that 1 + 1 = 2.", gold=None),
                "c": problem("c", gold_kind="choice", gold="B", options=["1", "2", "3"]),
                "z": problem("z", gold_kind="choice", gold="Z", options=["1", "2"])}  # a gold the rules cannot read
    samples = [
        sample("p", 0, answer="A good proof."),
        sample("p", 1, answer="A bad proof."),
        sample("p", 2, answer="A vague proof."),
        sample("c", 0, answer="Answer: (B)"),
        sample("c", 1, answer="Answer: (C) equivalent"),
        sample("c", 2, answer="Answer: (A)"),
        sample("z", 0, answer="Answer: (A)"),
        sample("c", 3, answer="x", finish_reason="length"),
    ]
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


def test_judge_model_folder_is_a_filter_input(tmp_path):
    wf = copy_workflow(tmp_path, config=judge_config({"model": "local-judge", "backend": "hf"}))
    proc = dry_run(wf, VERDICTS, configfile="cfg.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "resources/models/local-judge" in proc.stdout and "prepare_model" in proc.stdout
    set_judge(wf, judge={"model": "judge", "backend": "openai", "api_base": "http://127.0.0.1:9/v1"})
    proc = dry_run(wf, VERDICTS, configfile="cfg.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "resources/models/" not in proc.stdout  # an API judge has no folder
