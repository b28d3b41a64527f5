"""Huan et al.'s PCA-shift computation written out from their script, to check ded.analysis.pca against."""

from __future__ import annotations

import numpy as np
import pandas as pd


def their_components(feats: np.ndarray) -> np.ndarray:
    """PCA(n_components=2).fit(feats).components_ by hand: SVD of the centred features, each component's sign
    set so its largest-magnitude entry is positive (scikit-learn's svd_flip, u_based_decision=False)."""
    centred = feats - feats.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2].copy()
    for c in comps:
        c *= np.sign(c[np.argmax(np.abs(c))])
    return comps

def their_shift(base_by_layer, trained_by_layer) -> tuple[float, pd.DataFrame]:
    """Their Phase 1, Phase 2 and compute_centroid_distance (L179-260) on per-layer feature arrays."""
    orig_stats = []
    for feats_o in base_by_layer:
        comp1, comp2 = their_components(feats_o)
        orig_stats.append((comp1, comp2, float(feats_o.dot(comp1).mean()), float(feats_o.dot(comp2).mean())))
    records = []
    for layer, ((comp1, comp2, pc1_o, pc2_o), feats_u) in enumerate(zip(orig_stats, trained_by_layer)):
        pc1_u, pc2_u = float(feats_u.dot(comp1).mean()), float(feats_u.dot(comp2).mean())
        records.append({"layer": layer, "state": "Original", "shift": 0.0, "principle": pc2_o})
        records.append({"layer": layer, "state": "Updated", "shift": pc1_u - pc1_o, "principle": pc2_u})
    df = pd.DataFrame(records)
    orig = df[df["state"] == "Original"][["shift", "principle"]].mean().values
    other = df[df["state"] == "Updated"][["shift", "principle"]].mean().values
    return float(np.linalg.norm(other - orig)), df
