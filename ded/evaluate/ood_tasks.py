"""A procedural out-of-domain suite for lm-evaluation-harness, for the embedded default.

The paper's Table 6 runs lm-eval suites (MMLU, GSM8K, ...) whose data comes
from the Hugging Face hub. The embedded default has no network, so the
project writes two small lm-eval tasks of the same two kinds itself, and
lm-eval runs them exactly as it runs its own:

- `ded_ood_wordmath`: grade-school word problems answered in free text,
  scored like gsm8k (`generate_until`, first number of the answer, exact
  match);
- `ded_ood_choice`: four-option questions scored by log-likelihood, like
  mmlu (`multiple_choice`, acc and acc_norm): which word belongs to a
  category, a question of everyday knowledge rather than arithmetic.

Each task is a YAML file plus a JSONL file in one folder (lm-eval's
`--include_path`); the YAML names its data file by a path relative to the
folder lm-eval runs in (the workflow's), which `write_suite` is told.
Everything is a pure function of (n, seed).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TASKS = ("ded_ood_wordmath", "ded_ood_choice")

_NAMES = ("Ana", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas")
_THINGS = ("marbles", "stickers", "apples", "stamps", "pencils", "cards", "shells", "coins")

CATEGORIES = {
    "a fruit": ("apple", "banana", "cherry", "grape", "mango", "pear", "plum", "lemon"),
    "an animal": ("horse", "tiger", "rabbit", "eagle", "salmon", "donkey", "wolf", "sheep"),
    "a colour": ("red", "green", "blue", "yellow", "purple", "brown", "pink", "grey"),
    "a musical instrument": ("piano", "violin", "guitar", "flute", "trumpet", "drum", "cello", "harp"),
    "a means of transport": ("bicycle", "train", "bus", "airplane", "ship", "tram", "truck", "scooter"),
    "a piece of furniture": ("chair", "table", "sofa", "wardrobe", "bed", "desk", "shelf", "stool"),
}


def _word_problem(r: random.Random) -> dict:
    name, thing = r.choice(_NAMES), r.choice(_THINGS)
    kind = r.randrange(4)
    if kind == 0:
        a, b, c = r.randint(10, 60), r.randint(1, 9), r.randint(1, 20)
        q = (f"{name} has {a} {thing}. {name} gives away {b} and then finds {c} more. "
             f"How many {thing} does {name} have now?")
        answer = a - b + c
    elif kind == 1:
        a, b = r.randint(3, 12), r.randint(2, 9)
        q = f"A box holds {a} {thing}. How many {thing} are there in {b} boxes?"
        answer = a * b
    elif kind == 2:
        per, n = r.randint(2, 9), r.randint(2, 8)
        q = f"{name} shares {per * n} {thing} equally among {n} friends. How many {thing} does each friend get?"
        answer = per
    else:
        speed, hours = r.randint(20, 90), r.randint(2, 6)
        q = f"A train travels at {speed} kilometres per hour for {hours} hours. How many kilometres does it travel?"
        answer = speed * hours
    return {"question": q, "answer": str(answer)}


def _choice_question(r: random.Random) -> dict:
    cats = sorted(CATEGORIES)
    target = r.choice(cats)
    others = r.sample([c for c in cats if c != target], 3)
    choices = [r.choice(CATEGORIES[target])] + [r.choice(CATEGORIES[c]) for c in others]
    r.shuffle(choices)
    right = next(i for i, w in enumerate(choices) if w in CATEGORIES[target])
    return {"question": f"Which of these words names {target}?", "choices": choices, "label": right}


def wordmath_docs(n: int, seed: int) -> list[dict]:
    r = random.Random(f"ded_ood_wordmath:{seed}")
    return [_word_problem(r) for _ in range(n)]


def choice_docs(n: int, seed: int) -> list[dict]:
    r = random.Random(f"ded_ood_choice:{seed}")
    return [_choice_question(r) for _ in range(n)]


def _task_yaml(task: str, data_file: str) -> str:
    head = (f"# Written by ded.evaluate.ood_tasks: a procedural task of the embedded default.\n"
            f"task: {task}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data_file}\n"
            f"test_split: test\n")
    if task == "ded_ood_wordmath":
        return head + (
            'output_type: generate_until\n'
            'doc_to_text: "Question: {{question}}\\nAnswer:"\n'
            'doc_to_target: "{{answer}}"\n'
            'generation_kwargs:\n  until: ["\\n\\n", "Question:"]\n  do_sample: false\n  max_gen_toks: 32\n'
            'metric_list:\n  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true\n'
            '    ignore_case: true\n'
            'filter_list:\n  - name: "first-number"\n    filter:\n      - function: "regex"\n'
            '        regex_pattern: "(-?[0-9]+)"\n      - function: "take_first"\n'
            'metadata:\n  version: 1.0\n')
    return head + (
        'output_type: multiple_choice\n'
        'doc_to_text: "Question: {{question}}\\nAnswer:"\n'
        'doc_to_choice: "{{choices}}"\n'
        'doc_to_target: label\n'
        'metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n'
        '  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true\n'
        'metadata:\n  version: 1.0\n')


def write_suite(out_dir: str | Path, n: int, seed: int, data_dir: str | None = None) -> list[str]:
    """Write both tasks (YAML and JSONL) into `out_dir`; return the task names.

    `data_dir` is how the YAML files name `out_dir` from the folder lm-eval
    runs in (default: `out_dir` as given, so pass a relative path when the
    workflow folder may move).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    where = data_dir if data_dir is not None else str(out_dir)
    for task, docs in (("ded_ood_wordmath", wordmath_docs(n, seed)), ("ded_ood_choice", choice_docs(n, seed))):
        (out / f"{task}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
        (out / f"{task}.yaml").write_text(_task_yaml(task, f"{where}/{task}.jsonl"), encoding="utf-8")
    return list(TASKS)
