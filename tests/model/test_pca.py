"""Figure 4 by the published method (Huan et al. 2025, analyse_PCA_Shift.py), its teacher comparison and its jobs.

The reference computations here follow their script line by line (numpy, scikit-learn, and the model called
as they call it), independently of ded.analysis.pca.
"""


from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.pca import their_shift

from ded.analysis.jobs import run_pca_comparison, run_pca_shift
from ded.analysis.pca import (
    HUAN2025,
    huan_encode,
    huan_features_many,
    huan_shift,
    load_shifts,
)


@pytest.fixture(scope="module")
def trained_dirs(tiny_llama_dir, tmp_path_factory):
    """Two 'trained' versions of the tiny llama: its weights moved by different small random amounts."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = []
    for k, scale in ((1, 0.05), (2, 0.2)):
        model = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir))
        gen = torch.Generator().manual_seed(k)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * scale * p.detach().std().clamp(min=1e-3))
        path = tmp_path_factory.mktemp("models") / f"trained-{k}"
        model.save_pretrained(str(path))
        AutoTokenizer.from_pretrained(str(tiny_llama_dir)).save_pretrained(str(path))
        out.append(path)
    return out


TEXTS = ["What is 2 + 3?", "Find x such that x^2 = 49 and x > 0.", "Hi.",
         "A long question about many things: " + "apples and oranges " * 10, "Compute 17 * 23.",
         "Write a function that returns the sum of a list.", "Is 91 prime?"]


def _their_features(model_dir: Path, tokenizer_dir: Path, texts, max_length: int) -> list[np.ndarray]:
    """Their extract_features (L135-144) with their tokenizer set-up (L147-150), every layer (L181, L184)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    inputs = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length)
    with torch.no_grad():
        outputs = model(**inputs, output_hidden_states=True)
    return [outputs.hidden_states[layer].to(torch.float32).mean(dim=1).numpy()
            for layer in range(model.config.num_hidden_layers + 1)]


def test_feature_extraction_and_shift_equal_a_direct_forward(tiny_llama_dir, trained_dirs):
    from transformers import AutoTokenizer

    max_length = 12  # cuts the long text; the short ones are left-padded
    tok = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    ids, mask = huan_encode(tok, TEXTS, max_length)
    assert ids.shape == (len(TEXTS), max_length) and int(mask[2].sum()) < max_length and mask[2, 0] == 0  # left pad
    encoded = {"b": (ids, mask)}
    base_f, layers = huan_features_many(tiny_llama_dir, encoded, batch_size=3, dtype="float32")
    trained_f, _ = huan_features_many(trained_dirs[0], encoded, batch_size=3, dtype="float32")
    assert layers == [0, 1, 2]  # embedding output + 2 decoder layers

    base_want = _their_features(tiny_llama_dir, tiny_llama_dir, TEXTS, max_length)
    trained_want = _their_features(trained_dirs[0], tiny_llama_dir, TEXTS, max_length)
    for j in layers:
        np.testing.assert_allclose(base_f["b"][:, j], base_want[j], atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(trained_f["b"][:, j], trained_want[j], atol=1e-5, rtol=1e-5)
    want, _ = their_shift(base_want, trained_want)
    got = huan_shift(base_f["b"], trained_f["b"]).summary
    assert got > 0 and got == pytest.approx(want, abs=1e-6)
    # the same shift from their arrays through our function: the arithmetic alone to 1e-6
    assert huan_shift(np.stack(base_want, 1), np.stack(trained_want, 1)).summary == pytest.approx(want, abs=1e-6)

    # without padding in the mean, the features differ exactly where padding is
    unpadded, _ = huan_features_many(tiny_llama_dir, encoded, batch_size=3, pool_padding=False, dtype="float32")
    full = mask.sum(dim=1).numpy() == max_length
    np.testing.assert_allclose(unpadded["b"][full], base_f["b"][full], atol=1e-5)
    assert not np.allclose(unpadded["b"][~full], base_f["b"][~full], atol=1e-4)


def _problems(path: Path, texts) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "domain": "math", "source": "test", "prompt": t,
                                        "gold": "1", "gold_kind": "math"}) + "\n" for i, t in enumerate(texts)))
    return path


def _run(base, trained, problems, out: Path, **kw):
    out.mkdir(parents=True, exist_ok=True)
    run_pca_shift(base, trained, problems, out / "shift.tsv", out / "projections.npz", out / "figure4.png",
                  out / "figure4.pdf", max_prompts=5, max_tokens=10, batch_size=2, dtype="float32", seed=3, **kw)
    return out / "shift.tsv"


def test_pca_shift_job_samples_seeded_items_and_matches_their_script(tiny_llama_dir, trained_dirs, tmp_path):
    problems = {"alpha": _problems(tmp_path / "alpha.jsonl", TEXTS),
                "beta": _problems(tmp_path / "beta.jsonl", [t.upper() for t in TEXTS])}
    shift_tsv = _run(tiny_llama_dir, trained_dirs[1], problems, tmp_path / "run")
    table = pd.read_csv(shift_tsv, sep="\t", dtype={"layer": str})
    assert list(table["layer"][:4]) == ["0", "1", "2", "mean"] and set(table["method"]) == {HUAN2025}
    for bench, path in problems.items():
        texts = [json.loads(line)["prompt"] for line in path.read_text().splitlines()]
        chosen = list(texts)
        random.Random(3).shuffle(chosen)
        chosen = chosen[:5]
        want, _ = their_shift(_their_features(tiny_llama_dir, tiny_llama_dir, chosen, 10),
                               _their_features(trained_dirs[1], tiny_llama_dir, chosen, 10))
        got = table[(table["benchmark"] == bench) & (table["layer"] == "mean")]["distance"].item()
        assert got == pytest.approx(want, abs=1e-6), bench
    shifts, layers = load_shifts(tmp_path / "run/projections.npz")
    assert layers == [0, 1, 2] and shifts["alpha"].method == HUAN2025
    assert (tmp_path / "run/figure4.png").stat().st_size > 0

    # the earlier variant stays available, named for what it does
    legacy = _run(tiny_llama_dir, trained_dirs[1], problems, tmp_path / "legacy", method="chat_template_decoder_layers")
    legacy = pd.read_csv(legacy, sep="\t", dtype={"layer": str})
    assert list(legacy["layer"][:3]) == ["0", "1", "mean"] and set(legacy["method"]) == {"chat_template_decoder_layers"}
    with pytest.raises(ValueError, match="analysis.pca.method"):
        _run(tiny_llama_dir, trained_dirs[1], problems, tmp_path / "bad", method="nope")


def test_comparison_of_two_runs(tiny_llama_dir, trained_dirs, tmp_path):
    problems = {"alpha": _problems(tmp_path / "alpha.jsonl", TEXTS),
                "beta": _problems(tmp_path / "beta.jsonl", TEXTS[::-1])}
    tables = [_run(tiny_llama_dir, d, problems, tmp_path / f"run{k}") for k, d in enumerate(trained_dirs)]
    out = tmp_path / "cmp"
    table = run_pca_comparison(tables, ["s/near/smoke", "s/far/smoke"], out / "comparison.tsv",
                               out / "comparison.png", out / "comparison.pdf")
    assert list(dict.fromkeys(table["label"])) == ["near", "far"]
    written = pd.read_csv(out / "comparison.tsv", sep="\t", dtype={"layer": str})
    assert list(written.columns[:4]) == ["student", "teacher", "corpus", "label"] and len(written) == 2 * 2 * 4
    for path, label in zip(tables, ["near", "far"]):
        own = pd.read_csv(path, sep="\t", dtype={"layer": str})
        mine = written[written["label"] == label].reset_index(drop=True)
        np.testing.assert_allclose(mine["distance"], own["distance"], atol=1e-12)
    summary = written[written["layer"] == "mean"].pivot(index="benchmark", columns="label", values="distance")
    assert list(summary.index) == ["alpha", "beta"] and (summary > 0).all().all()
    assert (out / "comparison.png").stat().st_size > 10_000 and (out / "comparison.pdf").stat().st_size > 0

    legacy = _run(tiny_llama_dir, trained_dirs[0], problems, tmp_path / "legacy", method="chat_template_decoder_layers")
    with pytest.raises(ValueError, match="different methods"):
        run_pca_comparison([tables[0], legacy], ["s/a/smoke", "s/b/smoke"], out / "x.tsv")
