"""Figure 4 by the published method (Huan et al. 2025, analyse_PCA_Shift.py), its teacher comparison and its jobs.

The reference computations here follow their script line by line (numpy, scikit-learn, and the model called
as they call it), independently of ded.analysis.pca.
"""


from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import yaml
from support.pca import their_shift

from ded import jobs as ded_jobs
from ded.analysis.pca import HUAN2025, huan_shift, sample_texts, shift_table

ROOT = Path(__file__).resolve().parents[2]


def test_published_method_on_given_hidden_states_equals_their_script():
    rng = np.random.default_rng(0)
    n, layers, hidden = 12, 5, 16
    scales = np.linspace(3.0, 0.2, hidden)  # distinct variances: well-defined components
    base = rng.normal(size=(n, layers, hidden)) * scales
    trained = base * 1.1 + rng.normal(scale=0.3, size=(n, layers, hidden)) + rng.normal(size=(1, layers, hidden))
    want, df = their_shift([base[:, i] for i in range(layers)], [trained[:, i] for i in range(layers)])

    sh = huan_shift(base, trained)
    assert sh.method == HUAN2025
    assert sh.summary == pytest.approx(want, abs=1e-6)
    updated = df[df["state"] == "Updated"].reset_index(drop=True)
    original = df[df["state"] == "Original"].reset_index(drop=True)
    shift = sh.trained_centroid - sh.base_centroid
    np.testing.assert_allclose(shift[:, 0], updated["shift"], atol=1e-6)
    np.testing.assert_allclose(shift[:, 1], updated["principle"] - original["principle"], atol=1e-6)
    np.testing.assert_allclose(sh.base_centroid[:, 1], original["principle"], atol=1e-6)  # raw, uncentred dot products
    # the norm of the layer-averaged shift, not the mean of per-layer norms (at least as large)
    assert sh.summary < sh.mean_distance
    table = shift_table({"b": sh}, list(range(layers)))
    mean = table[table["layer"] == "mean"].iloc[0]
    assert mean["distance"] == pytest.approx(want, abs=1e-6) and mean["method"] == HUAN2025
    assert np.hypot(mean["shift_pc1"], mean["shift_pc2"]) == pytest.approx(want, abs=1e-6)


def test_item_sample_is_their_seeded_shuffle():
    texts = [f"item {i}" for i in range(40)]
    theirs = list(texts)
    random.seed(42)
    random.shuffle(theirs)  # their L45, L116-117
    assert sample_texts(texts, 10, 42) == theirs[:10]
    assert sample_texts(texts, 10, 42) == sample_texts(texts, 10, 42)  # reproducible
    assert sample_texts(texts, 10, 7) != theirs[:10]
    assert sorted(sample_texts(texts, None, 42)) == sorted(texts) and len(sample_texts(texts, 100, 42)) == 40


def _config(name: str) -> dict:
    """A shipped config, resolved as the workflow resolves it (ded.settings)."""
    from ded.settings import resolve_config

    return resolve_config(yaml.safe_load((ROOT / "config" / name).read_text()))


def test_comparison_runs_default_to_the_smoke_students_of_every_candidate():
    cfg = _config("config.yaml")
    assert ded_jobs.pca_comparison_runs(cfg) == [("smol", "terse", "smoke"), ("smol", "verbose", "smoke")]
    runs = ded_jobs.pca_runs(cfg, lambda: [("smol", "terse", "math-right_hard_diverse"), ("smol", "terse", "mixed")])
    assert runs == [("smol", "terse", "math-right_hard_diverse"), ("smol", "terse", "smoke"),
                    ("smol", "verbose", "smoke")]
    cfg["teacher_selection"]["pinned"] = "verbose"  # no smoke test: the pinned teacher's DED student
    assert ded_jobs.pca_comparison_runs(cfg) == [("smol", "verbose", "math-right_hard_diverse")]
    cfg["analysis"]["pca"]["compare"] = {"teachers": ["terse", "verbose"], "corpus": "math-full"}
    assert ded_jobs.pca_comparison_runs(cfg) == [("smol", "terse", "math-full"), ("smol", "verbose", "math-full")]
    cfg["analysis"]["pca"]["compare"] = {"teachers": [], "corpus": None}
    assert ded_jobs.pca_comparison_runs(cfg) == []
    cfg["analysis"]["pca"]["compare"] = {"teachers": ["nobody"], "corpus": None}
    with pytest.raises(ValueError, match="nobody"):
        ded_jobs.pca_comparison_runs(cfg)


def test_paper_config_compares_qwq_and_r1_students():
    cfg = _config("paper.yaml")
    runs = ded_jobs.pca_comparison_runs(cfg)
    assert {t for _, t, _ in runs} == {"qwq-32b", "deepseek-r1"} and {c for _, _, c in runs} == {"smoke"}
    assert {s for s, _, _ in runs} == set(cfg["students"])
    cfg["teacher_selection"]["pinned"] = "qwq-32b"
    assert {(t, c) for _, t, c in ded_jobs.pca_comparison_runs(cfg)} == {
        ("qwq-32b", "math-right_hard_diverse"), ("deepseek-r1", "math-right_hard_diverse")}
