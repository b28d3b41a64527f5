"""An LLM judge for answers rules cannot check (gold_kind 'none': proofs, open answers).

Off by default. The caller provides `generate(prompts: list[str]) -> list[str]`
(any generation backend wrapped as such); the judge builds one prompt per
answer, calls it once for the whole batch, and parses a YES/NO verdict from
the last such word of each reply (after </think> when the judge reasons).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..redact import config_secrets, redact, redact_error
from ..think import CLOSE

Generate = Callable[[list[str]], list[str]]

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


@dataclass
class Judge:
    generate: Generate
    template: str = TEMPLATE
    max_answer_chars: int = 12000  # long answers are cut in the middle to bound the prompt
    batch_size: int = 64

    def prompt(self, problem: dict, answer: str) -> str:
        ref = problem.get("gold") or (problem.get("meta") or {}).get("reference")
        block = f"\n## Reference answer (may be one of several correct answers)\n{ref}\n" if ref else ""
        return self.template.format(problem=problem.get("prompt", ""), answer=_clip(answer, self.max_answer_chars),
                                    reference_block=block)

    def judge(self, items: list[tuple[dict, str]]) -> list[dict]:
        """[(problem, answer)] -> [{verdict: correct|wrong|undecided, reason, prompt, output}]."""
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
            out.append({"verdict": verdict, "reason": reason, "prompt": prompt, "output": text})
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


def judge_from_config(spec: dict, config: dict) -> Judge:
    """A Judge from the `filter.judge` config section. The generation stage owns the backends:
    it must provide `ded.generate.make_generate(model_name, config, max_new_tokens=...)`
    returning a generate(prompts) -> texts callable."""
    try:
        from ..generate import make_generate  # type: ignore[attr-defined]
    except ImportError as exc:
        raise NotImplementedError(
            "config filter.judge is set, but ded.generate.make_generate(model, config, max_new_tokens) "
            f"is not available to build the judge's backend ({exc}); set filter.judge to null") from exc
    if spec["model"] not in config.get("models", {}):
        raise ValueError(f"config: filter.judge.model = {spec['model']!r} is not a key of `models`")
    gen = make_generate(spec["model"], config, max_new_tokens=spec.get("max_new_tokens", 1024))
    return Judge(generate=redacting(gen, config_secrets(config)), max_answer_chars=spec.get("max_answer_chars", 12000))


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
