"""Format and length checks (cheap; run in the calling process)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..think import CLOSE, lenient_answer, split


def check_format(sample: dict, lenient: bool = False) -> tuple[str | None, str, str | None]:
    """(verdict or None when fine, reason, answer text to check).

    Strict (the training corpus): a response cut by the token limit
    (finish_reason 'length') is 'truncated' whatever its text; otherwise exactly
    one <think>...</think> pair and a non-empty answer are required.
    Lenient (scoring answers): `ded.think.lenient_answer`; a cut response is
    judged on whatever answer it has, since scores compare models, not formats.
    """
    text = sample.get("text") or ""
    cut = sample.get("finish_reason") == "length"
    if lenient:
        answer, problem = lenient_answer(text)
        if problem:
            return "format", problem, None
        how = "the answer after </think>" if CLOSE in text else "no <think> tags: the whole response"
        return None, how + (" (cut at the token limit)" if cut else ""), answer
    if cut:
        return "truncated", "generation stopped at the token limit (finish_reason=length)", None
    parts = split(text)
    if parts.problem:
        return "format", parts.problem, None
    return None, "one <think>...</think> pair and an answer", parts.answer


@lru_cache(maxsize=4)
def load_tokenizer(path: str):
    """A tokenizer from a Hugging Face folder: the `tokenizers` file when there is one (fast, no
    transformers import), else AutoTokenizer."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"tokenizer folder {path} does not exist")
    if (p / "tokenizer.json").exists():
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(p / "tokenizer.json"))
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(p))


def count_tokens(texts: list[str], tokenizer_path: str, batch: int = 256) -> list[int]:
    """Token counts without special tokens (the completion as the student would train on it)."""
    tok = load_tokenizer(str(tokenizer_path))
    out: list[int] = []
    if hasattr(tok, "encode_batch"):
        enc = getattr(tok, "encode_batch_fast", None) or tok.encode_batch
        for i in range(0, len(texts), batch):
            out.extend(len(e.ids) for e in enc(texts[i:i + batch], add_special_tokens=False))
        return out
    for i in range(0, len(texts), batch):
        ids = tok(texts[i:i + batch], add_special_tokens=False)["input_ids"]
        out.extend(len(x) for x in ids)
    return out


def surely_within(text: str, max_tokens: int) -> bool:
    """True when no tokenizer can exceed `max_tokens` on `text`, so counting can be skipped:
    byte-level BPE gives at most one token per UTF-8 byte and SentencePiece at most one per
    character plus a leading '▁'; hence UTF-8 bytes + 1 bounds both."""
    return len(text) + 1 <= max_tokens and len(text.encode("utf-8")) + 1 <= max_tokens


def length_checks(samples: list[dict], tokenizer: str | None, max_tokens: int | None) -> list[dict | None]:
    """Per sample {tokens, limit, ok, how} (None when no limit is set)."""
    if max_tokens is None:
        return [None] * len(samples)
    out: list[dict | None] = [None] * len(samples)
    todo = []
    for i, s in enumerate(samples):
        text = s.get("text") or ""
        if tokenizer is None:
            n = s.get("completion_tokens")
            if n is None:
                raise ValueError(
                    f"sample {s.get('question_id')}#{s.get('sample_id')}: no tokenizer given and no "
                    f"'completion_tokens' field, so its length cannot be checked")
            out[i] = {"tokens": n, "limit": max_tokens, "ok": n <= max_tokens, "how": "completion_tokens"}
        elif surely_within(text, max_tokens):
            out[i] = {"tokens": None, "limit": max_tokens, "ok": True, "how": "bytes bound"}
        else:
            todo.append(i)
    if todo:
        counts = count_tokens([samples[i].get("text") or "" for i in todo], tokenizer)
        name = os.path.basename(str(tokenizer).rstrip("/"))
        for i, n in zip(todo, counts):
            out[i] = {"tokens": n, "limit": max_tokens, "ok": n <= max_tokens, "how": f"tokenizer {name}"}
    return out
