"""Analysis stage: token entropy, PCA centroid shift, Tables 1-7, figures, and the rules end to end."""


from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ded.analysis.entropy import ScoringRow, corpus_entropy, encode_row, token_entropies
from ded.analysis.pca import hidden_features

ROWS = [
    ScoringRow("What is 2+3?", "<think>2+3=5</think>The answer is \\boxed{5}.", "q1", 0),
    ScoringRow("Say hi.", "hi there", "q2", 0),
    ScoringRow("Write a long sentence.", "<think>ok</think>" + "the quick brown fox jumps over the lazy dog " * 3,
               "q3", 1),
]


def _numpy_entropies(model_dir: Path, row: ScoringRow, max_tokens: int) -> np.ndarray:
    """Reference: the model's full logits for one unpadded row, softmax and entropy in float64 numpy."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    ids, start, _ = encode_row(tok, row, max_tokens)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].double().numpy()
    logits -= logits.max(axis=-1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=-1, keepdims=True)
    h = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)
    return h[start - 1:len(ids) - 1]  # position i predicts token i + 1


def test_token_entropy_matches_numpy_on_a_tiny_model(sharp_llama_dir):
    # batch of 2 with padding, chunked output head (3 positions a chunk), one row truncated at 8 tokens
    values, truncated = token_entropies(sharp_llama_dir, ROWS, max_tokens=8, batch_size=2, head_chunk=3)
    assert truncated == 2  # rows 1 and 3 have more than 8 response tokens; "hi" row has fewer
    for row, got in zip(ROWS, values):
        want = _numpy_entropies(sharp_llama_dir, row, max_tokens=8)
        assert got.shape == want.shape and 0 < got.size <= 8
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    flat = np.concatenate(values)
    assert flat.max() - flat.min() > 0.5, "the sharpened model should give entropies far apart"
    assert (flat >= 0).all() and (flat <= math.log(49152) + 1e-3).all()


def test_corpus_entropy_summary(sharp_llama_dir):
    result = corpus_entropy(sharp_llama_dir, ROWS, max_tokens=6, batch_size=3, bins=10)
    flat = np.concatenate(result["values"])
    s = result["summary"]
    assert s["tokens"] == flat.size == sum(min(6, v.size) for v in result["values"])
    assert s["mean"] == pytest.approx(float(flat.mean()), rel=1e-6)
    assert s["median"] == pytest.approx(float(np.median(flat)), rel=1e-6)
    assert sum(result["histogram"]["counts"]) == flat.size


def test_hidden_features_pool_over_prompt_tokens(tiny_llama_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ded.analysis.modeling import chat_prompt, encode

    prompts = ["What is 2+2?", "Name a prime number larger than ten, please.", "hi"]
    feats, layers = hidden_features(tiny_llama_dir, prompts, batch_size=2)
    assert feats.shape == (3, 2, 64) and layers == [0, 1]
    alone, _ = hidden_features(tiny_llama_dir, prompts[1:2], layers=[-1], batch_size=1)
    np.testing.assert_allclose(alone[0, 0], feats[1, 1], atol=1e-5)  # padding does not leak into the mean
    tok = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir))
    ids = encode(tok, chat_prompt(tok, prompts[0]))
    with torch.no_grad():
        hs = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
    np.testing.assert_allclose(feats[0, 0], hs[1][0].mean(dim=0).numpy(), atol=1e-5)
