"""From a problem record and a teacher spec to chat messages and a prompt text.

`user_message` is the one place that words the task for a model; every stage
that shows a problem to a model (teacher sampling, student pass rates,
evaluation, training rows) should use it, so the student is trained on the
prompts it is evaluated with.
"""

from __future__ import annotations

import re

from ..config import ConfigError
from ..think import OPEN

MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CODE_INSTRUCTION = (
    "Write a complete Python 3 program that reads the input from standard input and writes the "
    "answer to standard output. Think it through first, then give the whole program in one "
    "```python code block.")
# LeetCode-style problems (LiveCodeBench's functional tests) are judged by calling the starter
# code's method, so asking for a stdin program there would fail every answer.
FUNCTIONAL_INSTRUCTION = (
    "Complete the starter code above in Python 3: write the function or class method it declares, "
    "returning the answer rather than reading standard input or printing. Think it through first, "
    "then give the whole solution in one ```python code block.")
CHOICE_INSTRUCTION = (
    "Please reason step by step, and give the letter of the correct option as your final answer "
    "within \\boxed{}.")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

BACKENDS = ("hf", "vllm", "openai", "corpus")


class TeacherSpecError(ConfigError):
    """A teacher entry of the config is invalid; the message names the key."""


def teacher_settings(spec: dict, where: str = "teacher") -> dict:
    """The spec with every default of a teacher entry (config/schema.yaml, `teachers.<name>`) filled in,
    a null counting as left out; unknown backends fail naming the key.

    A spec may carry keys beyond a teacher entry (an evaluation's `template`, `seed`, `model_dir`)."""
    from ..settings import resolve_section, section_schema

    keys = section_schema("teachers.*")["properties"]
    out = resolve_section({k: v for k, v in (spec or {}).items() if v is not None or k not in keys},
                          "teachers.*", check=False)
    if out["backend"] not in BACKENDS:
        raise TeacherSpecError(f"{where}.backend = {out['backend']!r} is not one of {list(BACKENDS)}")
    if not 0 < float(out["top_p"]) <= 1:
        raise TeacherSpecError(f"{where}.top_p = {out['top_p']!r} must be in (0, 1]")
    if float(out["temperature"]) < 0:
        raise TeacherSpecError(f"{where}.temperature = {out['temperature']!r} must be >= 0")
    if int(out["max_tokens"]) < 1:
        raise TeacherSpecError(f"{where}.max_tokens = {out['max_tokens']!r} must be >= 1")
    return out


def _options_shown(prompt: str, options: list) -> bool:
    return bool(options) and all(re.search(rf"(^|\n)\s*\(?{LETTERS[k]}[).:]", prompt) for k in range(len(options)))


def user_message(problem: dict) -> str:
    """The question as a model sees it: the problem text plus what form the answer takes."""
    prompt = problem["prompt"].rstrip()
    if problem.get("gold_kind") == "choice":
        options = problem.get("options") or []
        if options and not _options_shown(prompt, options):
            prompt += "\n\n" + "\n".join(f"{LETTERS[k]}) {opt}" for k, opt in enumerate(options))
        return f"{prompt}\n\n{CHOICE_INSTRUCTION}"
    if any(t.get("testtype") == "functional" for t in problem.get("tests") or ()):
        return f"{prompt}\n\n{FUNCTIONAL_INSTRUCTION}"
    if problem.get("domain") == "code" or problem.get("gold_kind") == "tests":
        return f"{prompt}\n\n{CODE_INSTRUCTION}"
    return f"{prompt}\n\n{MATH_INSTRUCTION}"


def build_messages(problem: dict, system_prompt: str | None = None) -> list[dict]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": user_message(problem)})
    return messages


def render_prompt(tokenizer, messages: list[dict], chat_template: str | None = None,
                  prefill_think: bool = False) -> tuple[str, bool]:
    """(prompt text, whether it ends inside an opened <think>).

    `chat_template`: None uses the tokenizer's own template; "raw" joins the
    message contents (base models without a template); any other string is a
    Jinja template. `prefill_think` opens the reasoning block when the template
    does not already (QwQ-32B's and R1-Distill's templates do it themselves).
    """
    if chat_template == "raw":
        text = "\n\n".join(m["content"] for m in messages) + "\n\n"
    else:
        if chat_template is None and not getattr(tokenizer, "chat_template", None):
            raise TeacherSpecError(
                "the tokenizer has no chat template: set the teacher's `chat_template` "
                "(a Jinja template, or \"raw\" for a base model)")
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                             chat_template=chat_template)
    prefilled = text.rstrip().endswith(OPEN)
    if prefill_think and not prefilled:
        text += OPEN + "\n"
        prefilled = True
    return text, prefilled
