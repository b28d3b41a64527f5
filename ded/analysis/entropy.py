"""Token entropy of a corpus under a scoring model (the paper's Figure 3).

For each response token t of a (prompt, response) pair, the entropy of the
scoring model's full next-token distribution at the position that predicts
t, in nats:

    H_t = -sum_v p(v | prompt, response_<t) log p(v | prompt, response_<t)

The model is teacher-forced: the prompt goes through the model's chat
template (with the generation prompt), the response follows it verbatim, and
only response positions are scored. Truncation: at most `max_tokens`
response tokens are scored per row (the first ones); the prompt is always
kept whole, so a forward pass covers len(prompt) + max_tokens tokens.

Logits are never held for a whole batch at once: the decoder's last hidden
states are projected through the output head in chunks of positions, so a
152k-word vocabulary over 16k positions fits in memory.

`topk_entropy` is the documented approximation for samples whose generation
recorded only the top-k logprobs of each token (the `top_logprobs` field the
sampler writes when a teacher's `logprobs` is set): see its docstring for the
bias.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..progress import progress
from .modeling import AnalysisError, chat_prompt, encode, load_model, pad_id, padded_batch

log = logging.getLogger(__name__)

#: Positions projected through the output head at once (bounds logits memory).
HEAD_CHUNK = 1024


@dataclass(frozen=True)
class ScoringRow:
    """One (prompt, response) pair to score, with ids that trace it back to its record."""

    prompt: str
    response: str
    question_id: str = ""
    sample_id: int = 0


def scoring_rows(records: Iterable[Mapping], problems: Iterable[Mapping] | None = None,
                 where: str = "<records>") -> list[ScoringRow]:
    """Rows to score from corpus_row records (prompt + response) or sample records.

    Sample records carry no prompt: their question's `prompt` comes from
    `problems` (problem records keyed by `id`), and the response is the
    normalised `text`.
    """
    by_id = {p["id"]: p["prompt"] for p in problems} if problems is not None else None
    out = []
    for i, rec in enumerate(records, start=1):
        if "prompt" in rec and "response" in rec:
            out.append(ScoringRow(rec["prompt"], rec["response"], rec.get("question_id", ""), rec.get("sample_id", 0)))
        elif "text" in rec:
            if by_id is None:
                raise AnalysisError(f"{where}, record {i}: a sample record has no prompt; pass the problems file")
            qid = rec["question_id"]
            if qid not in by_id:
                raise AnalysisError(f"{where}, record {i}: field 'question_id': {qid!r} is not in the problems file")
            out.append(ScoringRow(by_id[qid], rec["text"], qid, rec.get("sample_id", 0)))
        else:
            raise AnalysisError(f"{where}, record {i}: neither a corpus_row (prompt, response) nor a sample (text)")
    return out


def encode_row(tokenizer, row: ScoringRow, max_tokens: int) -> tuple[list[int], int, bool]:
    """(input ids, index of the first response token, whether the response was truncated)."""
    prompt_ids = encode(tokenizer, chat_prompt(tokenizer, row.prompt))
    response_ids = encode(tokenizer, row.response)
    truncated = len(response_ids) > max_tokens
    if not prompt_ids:  # the first response token needs a position before it
        raise AnalysisError(f"question {row.question_id!r}: the prompt encodes to no tokens")
    return prompt_ids + response_ids[:max_tokens], len(prompt_ids), truncated


def entropy_from_logits(logits):
    """Entropy in nats of softmax(logits) along the last axis, computed in float32 (torch tensor in and out)."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


def _output_transform(model):
    """Post-processing some architectures apply to the head's output (softcapping, scaling)."""
    cfg = model.config
    cap = getattr(cfg, "final_logit_softcapping", None)
    scale = getattr(cfg, "logit_scale", None)

    def apply(logits):
        import torch

        if scale is not None:
            logits = logits * scale
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    return apply


def _batch_entropies(model, ids: list[list[int]], starts: list[int], pad: int, device: str,
                     head_chunk: int) -> list[np.ndarray]:
    import torch

    input_ids, mask = padded_batch(ids, pad)
    input_ids, mask = input_ids.to(device), mask.to(device)
    head = model.get_output_embeddings()
    transform = _output_transform(model)
    with torch.inference_mode():
        hidden = model.get_decoder()(input_ids=input_ids, attention_mask=mask).last_hidden_state
        out = []
        for i, x in enumerate(ids):
            # The distribution over response token j sits at position j - 1.
            h = hidden[i, starts[i] - 1:len(x) - 1]
            parts = [entropy_from_logits(transform(head(h[k:k + head_chunk])))
                     for k in range(0, h.shape[0], head_chunk)]
            out.append(torch.cat(parts).cpu().numpy().astype(np.float32) if parts else np.zeros(0, np.float32))
    return out


def token_entropies(model_dir: str | Path, rows: Sequence[ScoringRow], max_tokens: int = 2048,
                    batch_size: int = 4, device: str | None = None, dtype: str | None = None,
                    head_chunk: int = HEAD_CHUNK) -> tuple[list[np.ndarray], int]:
    """Per-row arrays of response-token entropies (nats), in the order of `rows`, and the number of truncated rows.

    Rows are batched by length (longest first, so an out-of-memory error
    shows up on the first batch) and right-padded.
    """
    if max_tokens < 1 or batch_size < 1:
        raise AnalysisError(f"max_tokens ({max_tokens}) and batch_size ({batch_size}) must be at least 1")
    model, tok, device = load_model(model_dir, device, dtype)
    encoded = [encode_row(tok, r, max_tokens) for r in rows]
    truncated = sum(e[2] for e in encoded)
    order = sorted(range(len(rows)), key=lambda i: -len(encoded[i][0]))
    result: list[np.ndarray | None] = [None] * len(rows)
    with progress(total=len(order), desc="token entropy", unit="row", logger=log) as bar:
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            values = _batch_entropies(model, [encoded[i][0] for i in idx], [encoded[i][1] for i in idx],
                                      pad_id(tok), device, head_chunk)
            for i, v in zip(idx, values):
                result[i] = v
            bar.update(len(idx))
    return [r for r in result], truncated  # type: ignore[misc]


def corpus_entropy(model_dir: str | Path, rows: Sequence[ScoringRow], max_tokens: int = 2048,
                   batch_size: int = 4, device: str | None = None, dtype: str | None = None,
                   bins: int = 50) -> dict:
    """Token entropies of a corpus: {summary (mean, median, ...), values (per row), histogram, truncated_rows}."""
    values, truncated = token_entropies(model_dir, rows, max_tokens, batch_size, device, dtype)
    summary = summarize(values)
    summary["truncated_rows"] = truncated
    return {"summary": summary, "values": values, "histogram": histogram(values, bins), "truncated_rows": truncated}


def _step_logprobs(step) -> list[float]:
    """The logprobs of one token's top-k: a {token: logprob} dict or [[token, logprob], ...] pairs."""
    if isinstance(step, Mapping):
        return list(step.values())
    if isinstance(step, (list, tuple)) and all(isinstance(e, (list, tuple)) and len(e) == 2 for e in step):
        return [e[1] for e in step]
    raise AnalysisError(f"a token's top logprobs must be a {{token: logprob}} dict or a list of "
                        f"[token, logprob] pairs, got {str(step)[:80]}")


def topk_entropy(top_logprobs: Sequence[Mapping[str, float] | Sequence], tail: str = "lumped") -> np.ndarray:
    """Approximate per-token entropy (nats) from generation-time top-k logprobs.

    `top_logprobs` holds, per generated token, the k most likely tokens at
    that step with their logprobs: a sample record's [[token, logprob], ...]
    pairs (ded/records.py) or a {token: logprob} dict.
    The mass outside the top k, r = 1 - sum(p), is unknown in shape:

    - `tail="lumped"` (default) counts r as one extra outcome. Merging
      outcomes never raises entropy, so this is a lower bound of the true
      entropy; it is exact when r = 0.
    - `tail="renormalized"` drops r and renormalises the top k to sum to one:
      the entropy of the truncated distribution, also an underestimate when
      the tail is spread thin, but comparable across k.

    Both are biased low for flat distributions; compare corpora only with the
    same k and method.
    """
    if tail not in ("lumped", "renormalized"):
        raise AnalysisError(f"tail must be 'lumped' or 'renormalized', got {tail!r}")
    out = np.zeros(len(top_logprobs), dtype=np.float64)
    for i, step in enumerate(top_logprobs):
        lp = np.array(_step_logprobs(step), dtype=np.float64)
        if lp.size == 0:
            out[i] = np.nan
            continue
        p = np.exp(lp)
        if tail == "renormalized":
            p = p / p.sum()
            out[i] = -np.sum(p * np.log(p))
        else:
            rest = max(0.0, 1.0 - p.sum())
            out[i] = -np.sum(p * lp) - (rest * math.log(rest) if rest > 0 else 0.0)
    return out


def summarize(values: Sequence[np.ndarray]) -> dict:
    """Corpus-level statistics over all scored tokens (and per-row means)."""
    flat = np.concatenate(values) if len(values) else np.zeros(0, np.float32)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return {"rows": len(values), "tokens": 0, "mean": None, "median": None, "p10": None, "p90": None,
                "row_mean_median": None}
    row_means = [float(np.mean(v)) for v in values if len(v)]
    return {
        "rows": len(values),
        "tokens": int(flat.size),
        "mean": float(np.mean(flat)),
        "median": float(np.median(flat)),
        "p10": float(np.percentile(flat, 10)),
        "p90": float(np.percentile(flat, 90)),
        "row_mean_median": float(np.median(row_means)),
    }


def histogram(values: Sequence[np.ndarray], bins: int = 50, upper: float | None = None) -> dict:
    """Counts of token entropies in equal bins on [0, upper] (upper: the largest value unless given)."""
    flat = np.concatenate(values) if len(values) else np.zeros(0, np.float32)
    hi = float(upper if upper is not None else (flat.max() if flat.size else 1.0)) or 1.0
    counts, edges = np.histogram(flat, bins=bins, range=(0.0, hi))
    return {"edges": edges.tolist(), "counts": counts.astype(int).tolist()}


def save_values(path: str | Path, rows: Sequence[ScoringRow], values: Sequence[np.ndarray]) -> None:
    """Token-level values as .npz: `values` (all tokens, float32) and `offsets` (row i is values[offsets[i]:offsets[i+1]])."""
    from ..io import atomic_path

    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(v) for v in values])
    flat = np.concatenate(values).astype(np.float32) if len(values) else np.zeros(0, np.float32)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, values=flat, offsets=offsets,
                            question_id=np.array([r.question_id for r in rows], dtype=str),
                            sample_id=np.array([r.sample_id for r in rows], dtype=np.int64))


def load_values(path: str | Path) -> list[np.ndarray]:
    with np.load(path) as data:
        flat, offsets = data["values"], data["offsets"]
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
