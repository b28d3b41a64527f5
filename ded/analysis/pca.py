"""PCA centroid shift of hidden states before and after training (the paper's Figure 4).

Following Huan et al. 2025 ("Does Math Reasoning Improve General LLM
Capabilities?"): feed the same benchmark prompts to the base and the trained
model, mean-pool each layer's hidden states over the prompt's tokens, fit a
2-component PCA on the base model's features of a layer, project the trained
model's features of that layer onto it, and measure the Euclidean distance
between the two centroids in that plane. A larger distance means training
moved the representation further.

Two parts, so the arithmetic can be checked by hand:
- `hidden_features(model_dir, prompts, ...)` -> array [n_prompts, n_layers, hidden]
  (needs torch and the model);
- `centroid_shift(base, trained)` -> `CentroidShift` (numpy and scikit-learn only).

Layers are numbered from 0 for the first decoder layer's output; the
embedding output is not a layer here. Negative indices count from the end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..progress import progress
from .modeling import AnalysisError, chat_prompt, encode, load_model, pad_id, padded_batch

log = logging.getLogger(__name__)


def resolve_layers(layers: str | Sequence[int] | None, n_layers: int) -> list[int]:
    """Decoder layer indices (0-based) from "all"/None or a list that may hold negative indices."""
    if layers is None or layers == "all":
        return list(range(n_layers))
    if isinstance(layers, str):
        raise AnalysisError(f"layers must be 'all' or a list of integers, got {layers!r}")
    out = []
    for layer in layers:
        i = layer + n_layers if layer < 0 else layer
        if not 0 <= i < n_layers:
            raise AnalysisError(f"layer {layer} is out of range for a model with {n_layers} decoder layers")
        out.append(i)
    return sorted(set(out))


def hidden_features(model_dir: str | Path, prompts: Sequence[str], layers: str | Sequence[int] | None = "all",
                    batch_size: int = 4, max_tokens: int = 2048, device: str | None = None,
                    dtype: str | None = None) -> tuple[np.ndarray, list[int]]:
    """Mean over prompt tokens of each selected layer's hidden state: ([n_prompts, n_layers, hidden] float32, layer ids).

    Each prompt goes through the model's chat template with the generation
    prompt (what the model reads before answering); prompts longer than
    `max_tokens` keep their last `max_tokens` tokens (the end of the template
    is what the answer is conditioned on).
    """
    feats, chosen = hidden_features_many(model_dir, {"prompts": prompts}, layers, batch_size, max_tokens, device,
                                         dtype)
    return feats["prompts"], chosen


def hidden_features_many(model_dir: str | Path, prompt_sets: Mapping[str, Sequence[str]],
                         layers: str | Sequence[int] | None = "all", batch_size: int = 4, max_tokens: int = 2048,
                         device: str | None = None, dtype: str | None = None) -> tuple[dict[str, np.ndarray], list[int]]:
    """`hidden_features` for several prompt sets (e.g. benchmarks), loading the model once."""
    model, tok, device = load_model(model_dir, device, dtype)
    chosen = resolve_layers(layers, model.config.num_hidden_layers)
    out = {name: _pooled(model, tok, device, prompts, chosen, batch_size, max_tokens, desc=f"features of {name}")
           for name, prompts in prompt_sets.items()}
    del model  # free it before the next model loads: two 32B models do not fit one GPU together
    _release_memory(device)
    return out, chosen


def _pooled(model, tok, device, prompts, chosen, batch_size, max_tokens, desc: str = "features") -> np.ndarray:
    import torch

    encoded = [encode(tok, chat_prompt(tok, p))[-max_tokens:] for p in prompts]
    out = np.zeros((len(prompts), len(chosen), model.config.hidden_size), dtype=np.float32)
    pad = pad_id(tok)
    with progress(total=len(encoded), desc=desc, unit="prompt", logger=log) as bar:
        for b in range(0, len(encoded), batch_size):
            ids = encoded[b:b + batch_size]
            input_ids, mask = padded_batch(ids, pad)
            with torch.inference_mode():
                hs = model(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                           output_hidden_states=True).hidden_states
                m = mask.to(device).unsqueeze(-1).float()
                for j, layer in enumerate(chosen):
                    h = hs[layer + 1].float()  # hidden_states[0] is the embedding output
                    out[b:b + len(ids), j] = ((h * m).sum(dim=1) / m.sum(dim=1)).cpu().numpy()
            bar.update(len(ids))
    return out


def _release_memory(device: str) -> None:
    import gc

    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


@dataclass
class CentroidShift:
    """Per-layer result of `centroid_shift`; arrays are indexed [..., layer, ...] in the features' layer order."""

    distances: np.ndarray  # [n_layers]
    base_proj: np.ndarray  # [n_base, n_layers, 2]
    trained_proj: np.ndarray  # [n_trained, n_layers, 2]
    base_centroid: np.ndarray  # [n_layers, 2]
    trained_centroid: np.ndarray  # [n_layers, 2]
    explained_variance_ratio: np.ndarray  # [n_layers, 2]

    @property
    def mean_distance(self) -> float:
        return float(np.mean(self.distances))


def centroid_shift(base: np.ndarray, trained: np.ndarray) -> CentroidShift:
    """Distance, per layer, between the centroids of base and trained features in the base model's 2-D PCA plane."""
    from sklearn.decomposition import PCA

    base, trained = np.asarray(base, dtype=np.float64), np.asarray(trained, dtype=np.float64)
    if base.ndim != 3 or trained.ndim != 3 or base.shape[1:] != trained.shape[1:]:
        raise AnalysisError(f"features must be [n_prompts, n_layers, hidden] with matching layers and width; "
                            f"got {base.shape} and {trained.shape}")
    if base.shape[0] < 2 or base.shape[2] < 2:
        raise AnalysisError(f"a 2-component PCA needs at least 2 prompts and 2 hidden units; got {base.shape}")
    n_layers = base.shape[1]
    bp = np.zeros((base.shape[0], n_layers, 2))
    tp = np.zeros((trained.shape[0], n_layers, 2))
    evr = np.zeros((n_layers, 2))
    for layer in range(n_layers):
        pca = PCA(n_components=2, svd_solver="full").fit(base[:, layer])
        bp[:, layer] = pca.transform(base[:, layer])
        tp[:, layer] = pca.transform(trained[:, layer])
        evr[layer] = pca.explained_variance_ratio_
    bc, tc = bp.mean(axis=0), tp.mean(axis=0)
    return CentroidShift(np.linalg.norm(tc - bc, axis=1), bp, tp, bc, tc, evr)


def save_shifts(path: str | Path, shifts: Mapping[str, CentroidShift], layers: Sequence[int]) -> None:
    """Several benchmarks' shifts in one .npz: keys '{benchmark}/{field}' and 'layers'."""
    from ..io import atomic_path

    arrays = {"layers": np.asarray(layers)}
    for bench, sh in shifts.items():
        for field in ("distances", "base_proj", "trained_proj", "base_centroid", "trained_centroid",
                      "explained_variance_ratio"):
            arrays[f"{bench}/{field}"] = getattr(sh, field)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_shifts(path: str | Path) -> tuple[dict[str, CentroidShift], list[int]]:
    with np.load(path) as d:
        benches = list(dict.fromkeys(k.split("/")[0] for k in d.files if "/" in k))
        shifts = {b: CentroidShift(*(d[f"{b}/{f}"] for f in ("distances", "base_proj", "trained_proj",
                                                               "base_centroid", "trained_centroid",
                                                               "explained_variance_ratio")))
                  for b in benches}
        return shifts, [int(x) for x in d["layers"]]


def shift_table(shifts: Mapping[str, CentroidShift], layers: Sequence[int]):
    """Long table: benchmark, layer, distance, explained variance of PC1 and PC2; plus a 'mean' row per benchmark."""
    import pandas as pd

    rows = []
    for bench, sh in shifts.items():
        for j, layer in enumerate(layers):
            rows.append({"benchmark": bench, "layer": str(layer), "distance": float(sh.distances[j]),
                         "pc1_variance": float(sh.explained_variance_ratio[j, 0]),
                         "pc2_variance": float(sh.explained_variance_ratio[j, 1])})
        rows.append({"benchmark": bench, "layer": "mean", "distance": sh.mean_distance,
                     "pc1_variance": float(sh.explained_variance_ratio[:, 0].mean()),
                     "pc2_variance": float(sh.explained_variance_ratio[:, 1].mean())})
    return pd.DataFrame(rows, columns=["benchmark", "layer", "distance", "pc1_variance", "pc2_variance"])
