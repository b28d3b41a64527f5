"""The LLM judge of the quality filter: it decides what the rules cannot.

The paper verifies samples "via rule verification and LLM-as-a-judge". The
rules (math-verify, option letters, the sandboxed tests) run first; the judge
then decides the answers the config hands it (`filter.judge.decides`), each
for one reason (`trigger`):

- no_gold      the problem has nothing a rule can check against: gold_kind
               none (proofs, open answers), a math or choice problem without a
               gold, a code problem without tests;
- unparseable  the rules could not read or compare the answer (verdict
               unparseable, or timeout: math-verify ran out of time);
- wrong        a second opinion on a math or choice answer the rules found
               different from the gold (math-verify misses some equivalent
               forms). Programs that failed their tests are never overridden.

`judge_trigger` is that routing, a pure function. The caller provides
`generate(prompts: list[str]) -> list[str]` (any generation backend wrapped as
such); the judge builds one prompt per answer, calls it once per batch, and
parses a YES/NO decision from the reply (after </think> when the judge
reasons). A YES makes the sample `correct`, a NO `wrong`; a reply with neither
leaves the rules' verdict. Every judged verdict record keeps, under
`checks.judge`, the trigger, the rules' verdict and reason, the judge's model,
its prompt, its reply and the parsed decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..redact import config_secrets, redact, redact_error
from ..settings import schema_default
from ..think import CLOSE

Generate = Callable[[list[str]], list[str]]

#: Reasons the judge may be asked to decide an answer (`filter.judge.decides`; see the module doc).
TRIGGERS = ("no_gold", "unparseable", "wrong")
#: What the judge decides when the config does not say (filter.judge.decides in config/schema.yaml).
DEFAULT_DECIDES = tuple(schema_default("filter.judge.decides"))
#: Rule verdicts that mean "the rules could not read or compare the answer" (trigger `unparseable`).
#: Not infra_error: a broken sandbox is fixed, not judged.
RULES_UNDECIDED = frozenset({"unparseable", "timeout"})
#: Gold kinds whose rule verdict `wrong` the judge may overturn (trigger `wrong`): a compared value,
#: never a program that failed its tests.
SECOND_OPINION_KINDS = frozenset({"math", "choice"})

TEMPLATE = """You are grading a student's answer to a problem. Decide whether the answer is correct and complete.
{reference_block}
## Problem
{problem}

## Student's answer
{answer}

Check every step that matters. Reply with your reasoning, then a last line that is exactly
VERDICT: YES
if the answer is correct and complete, or
VERDICT: NO
otherwise."""

_VERDICT = re.compile(r"\bVERDICT\s*:\s*\**\s*(YES|NO)\b", re.I)
_WORD = re.compile(r"\b(YES|NO)\b")


def has_gold(problem: dict) -> bool:
    """Whether a rule has something to check an answer against: a gold for math and choice, tests for code."""
    kind = problem.get("gold_kind")
    if kind in ("math", "choice"):
        return bool(problem.get("gold"))
    if kind == "tests":
        return bool(problem.get("tests"))
    return False


def judge_trigger(problem: dict, rules_verdict: str, decides=DEFAULT_DECIDES) -> str | None:
    """Why the judge decides this answer ('no_gold', 'unparseable' or 'wrong'), or None when the rules'
    verdict stands. `rules_verdict` is what the answer check said (format, truncation and length
    failures never reach the judge: call this only for answers that reached the answer check)."""
    if "no_gold" in decides and not has_gold(problem):
        return "no_gold"
    if "unparseable" in decides and rules_verdict in RULES_UNDECIDED:
        return "unparseable"
    if "wrong" in decides and rules_verdict == "wrong" and problem.get("gold_kind") in SECOND_OPINION_KINDS:
        return "wrong"
    return None


def check_decides(decides) -> tuple[str, ...]:
    unknown = [d for d in decides if d not in TRIGGERS]
    if unknown:
        raise ValueError(f"filter.judge.decides: {unknown} not among {list(TRIGGERS)}")
    return tuple(decides)


@dataclass
class Judge:
    generate: Generate
    template: str = TEMPLATE
    max_answer_chars: int = 12000  # long answers are cut in the middle to bound the prompt
    batch_size: int = 64
    decides: tuple[str, ...] = DEFAULT_DECIDES
    model: str | None = None  # the `models` key that judges, for the records

    def __post_init__(self) -> None:
        self.decides = check_decides(self.decides)

    def trigger(self, problem: dict, rules_verdict: str) -> str | None:
        return judge_trigger(problem, rules_verdict, self.decides)

    def prompt(self, problem: dict, answer: str) -> str:
        ref = problem.get("gold") or (problem.get("meta") or {}).get("reference")
        block = f"\n## Reference answer (may be one of several correct answers)\n{ref}\n" if ref else ""
        return self.template.format(problem=problem.get("prompt", ""), answer=_clip(answer, self.max_answer_chars),
                                    reference_block=block)

    def judge(self, items: list[tuple[dict, str]]) -> list[dict]:
        """[(problem, answer)] -> [{verdict: correct|wrong|undecided, decision: YES|NO|None, reason, prompt,
        output}]."""
        prompts = [self.prompt(p, a) for p, a in items]
        outputs: list[str] = []
        for i in range(0, len(prompts), self.batch_size):
            chunk = prompts[i:i + self.batch_size]
            got = list(self.generate(chunk))
            if len(got) != len(chunk):
                raise RuntimeError(f"judge generate() returned {len(got)} texts for {len(chunk)} prompts")
            outputs.extend(got)
        out = []
        for prompt, text in zip(prompts, outputs):
            word = parse_verdict(text)
            verdict = {"YES": "correct", "NO": "wrong"}.get(word, "undecided")
            reason = f"judge said {word}" if word else "judge reply has no YES/NO verdict"
            out.append({"verdict": verdict, "decision": word, "reason": reason, "prompt": prompt, "output": text})
        return out


def parse_verdict(text: str | None) -> str | None:
    """'YES', 'NO' or None: an explicit 'VERDICT: X' wins, else the last YES/NO word of the reply."""
    if not text:
        return None
    if CLOSE in text:
        text = text.rsplit(CLOSE, 1)[1]
    hits = _VERDICT.findall(text)
    if hits:
        return hits[-1].upper()
    words = _WORD.findall(text.upper()[-400:])
    return words[-1] if words else None


def _clip(text: str, n: int) -> str:
    if len(text) <= n:
        return text
    half = n // 2
    return text[:half] + "\n[... cut ...]\n" + text[-half:]


def as_judge(judge) -> Judge | None:
    """Accept a Judge, a bare generate callable, or None."""
    if judge is None or isinstance(judge, Judge):
        return judge
    if callable(judge):
        return Judge(generate=judge)
    raise TypeError(f"judge must be a Judge or a generate(prompts) -> texts callable, got {type(judge).__name__}")


#: filter.judge keys that say how to reach the judge's model (teacher keys of the same meaning; see
#: config/schema.yaml). With `backend` null the judge is reached as `ded.sample.simple.generation_spec`
#: says (the first teacher on its model, else the evaluation backend) and these keys are ignored.
GENERATION_KEYS = ("backend", "system_prompt", "chat_template", "prefill_think", "engine_args", "api_base",
                   "api_key_env", "api_model", "api_extra_body", "concurrency", "timeout_s", "max_retries")


def judge_generation_spec(spec: dict, config: dict) -> dict:
    """The generation spec (teacher keys) that reaches the judge's model."""
    from ..sample.simple import generation_spec

    if not spec.get("backend"):
        return generation_spec(spec["model"], config)
    return {"model": spec["model"]} | {k: spec[k] for k in GENERATION_KEYS if spec.get(k) is not None}


def judge_from_config(spec: dict, config: dict, *, model_dir: str | None = None,
                      backend_options: dict | None = None) -> Judge:
    """A Judge from the resolved `filter.judge` config section, over `ded.sample.make_generate` (greedy, each
    prompt one user message). model_dir: the judge model's local folder (hf and vllm backends);
    backend_options: the job's allocation (`ded.sample.allocation_options`)."""
    from ..sample import make_generate

    if spec["model"] not in config.get("models", {}):
        raise ValueError(f"config: filter.judge.model = {spec['model']!r} is not a key of `models`")
    gen = make_generate(spec["model"], config, max_new_tokens=spec["max_new_tokens"], model_dir=model_dir,
                        backend_options=backend_options, spec=judge_generation_spec(spec, config))
    return Judge(generate=redacting(gen, config_secrets(config)), max_answer_chars=spec["max_answer_chars"],
                 decides=tuple(spec["decides"]), model=spec["model"])


def redacting(generate: Generate, secrets) -> Generate:
    """`generate` whose replies and errors have `secrets` redacted: the judge's replies go into the
    verdict records and its errors into the rule's log, and an API judge may quote its key back."""
    secrets = tuple(secrets)

    def wrapped(prompts: list[str]) -> list[str]:
        try:
            texts = generate(prompts)
        except Exception as exc:  # noqa: BLE001 - re-raised, redacted
            raise redact_error(exc, secrets) from None
        return [redact(t, secrets) if isinstance(t, str) else t for t in texts]

    return wrapped
