"""Corpus rows -> LlamaFactory's sharegpt dataset, over-long examples dropped.

An example longer than the cutoff is dropped, never truncated: LlamaFactory
would otherwise cut the response mid-reasoning (or drop the final answer) and
train on it silently. Length is counted the way LlamaFactory will encode the
example: the student's tokenizer under the run's LlamaFactory template
(prompt and response turns with every special token the template adds).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..io import atomic_path, write_json

log = logging.getLogger(__name__)

#: Name of the dataset in the generated dataset_info.json.
DATASET_NAME = "ded_corpus"
DATA_FILE = "corpus.json"
INFO_FILE = "dataset_info.json"

USER_TAG, ASSISTANT_TAG = "human", "gpt"


@dataclass
class ExportResult:
    dataset_dir: Path
    dataset: str
    kept: int
    dropped: list[dict] = field(default_factory=list)  # {question_id, sample_id, tokens}
    max_tokens_kept: int = 0
    total_tokens_kept: int = 0

    def as_dict(self) -> dict:
        return {"dataset_dir": str(self.dataset_dir), "dataset": self.dataset, "kept": self.kept,
                "dropped": self.dropped, "max_tokens_kept": self.max_tokens_kept,
                "total_tokens_kept": self.total_tokens_kept}


def to_sharegpt(row: dict) -> dict:
    """One corpus row as a sharegpt conversation; the response keeps its <think>...</think> block verbatim."""
    return {"conversations": [{"from": USER_TAG, "value": row["prompt"]},
                              {"from": ASSISTANT_TAG, "value": row["response"]}]}


def dataset_info(data_file: str = DATA_FILE, name: str = DATASET_NAME) -> dict:
    return {name: {"file_name": data_file, "formatting": "sharegpt",
                   "columns": {"messages": "conversations"},
                   "tags": {"role_tag": "from", "content_tag": "value",
                            "user_tag": USER_TAG, "assistant_tag": ASSISTANT_TAG}}}


class TokenCounter:
    """Counts an example's tokens exactly as LlamaFactory's supervised processor encodes it."""

    def __init__(self, tokenizer_dir: str | Path, template: str):
        from .compat import ensure_torchaudio

        ensure_torchaudio()
        from llamafactory.data.template import get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
        try:
            self.template = get_template_and_fix_tokenizer(self.tokenizer, DataArguments(template=template))
        except ValueError as exc:
            raise ValueError(f"train template {template!r}: {exc}") from None

    def __call__(self, prompt: str, response: str) -> int:
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
        pairs = self.template.encode_multiturn(self.tokenizer, messages, None, None)
        return sum(len(s) + len(t) for s, t in pairs) + (1 if self.template.efficient_eos else 0)


def split_by_length(rows: Sequence[dict], lengths: Sequence[int], cutoff_len: int) -> tuple[list[int], list[dict]]:
    """Indices of rows that fit `cutoff_len`, and the dropped ones as {question_id, sample_id, tokens}."""
    kept, dropped = [], []
    for i, (row, n) in enumerate(zip(rows, lengths)):
        if n <= cutoff_len:
            kept.append(i)
        else:
            dropped.append({"question_id": row["question_id"], "sample_id": row["sample_id"], "tokens": n})
    return kept, dropped


def write_dataset(rows: Iterable[dict], dataset_dir: str | Path) -> Path:
    """Write the sharegpt JSON and its dataset_info.json (each atomically)."""
    dataset_dir = Path(dataset_dir)
    with atomic_path(dataset_dir / DATA_FILE) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump([to_sharegpt(r) for r in rows], fh, ensure_ascii=False)
    write_json(dataset_dir / INFO_FILE, dataset_info())
    return dataset_dir


def export_corpus(rows: Sequence[dict], dataset_dir: str | Path, tokenizer_dir: str | Path, template: str,
                  cutoff_len: int, counter: TokenCounter | None = None) -> ExportResult:
    """Export corpus rows for LlamaFactory, dropping (and reporting) examples over `cutoff_len` tokens."""
    counter = counter or TokenCounter(tokenizer_dir, template)
    lengths = [counter(r["prompt"], r["response"]) for r in rows]
    kept_idx, dropped = split_by_length(rows, lengths, cutoff_len)
    if dropped:
        log.warning("dropped %d of %d examples longer than cutoff_len=%d tokens (template %s): %s",
                    len(dropped), len(rows), cutoff_len, template,
                    ", ".join(f"{d['question_id']}#{d['sample_id']} ({d['tokens']})" for d in dropped[:20])
                    + (" ..." if len(dropped) > 20 else ""))
    else:
        log.info("all %d examples fit cutoff_len=%d tokens", len(rows), cutoff_len)
    if not kept_idx:
        raise ValueError(f"no training example fits train.cutoff_len={cutoff_len}: all {len(rows)} are longer "
                         f"(shortest {min(lengths) if lengths else 0} tokens)")
    kept_rows = [rows[i] for i in kept_idx]
    write_dataset(kept_rows, dataset_dir)
    kept_lengths = [lengths[i] for i in kept_idx]
    return ExportResult(Path(dataset_dir), DATASET_NAME, len(kept_rows), dropped,
                        max(kept_lengths), sum(kept_lengths))
