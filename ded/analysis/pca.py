"""PCA centroid shift of hidden states before and after training (the paper's Figure 4).

The paper cites Huan et al. 2025 ("Does Math Reasoning Improve General LLM
Capabilities?") for this analysis. Two methods, `analysis.pca.method`:

``huan2025`` (the default) follows their released script,
ReasoningTransfer/Transferability-of-LLM-Reasoning,
``analyse_PCA_Shift/analyse_PCA_Shift.py`` (commit 1d3407d; "L<n>" below are
its line numbers), with ``PCA_shift.sh`` for its settings:

- items: the benchmark's texts shuffled with Python's ``random`` seeded 42
  and the first K kept (L45, L116-117; ``random.seed(42)`` then
  ``random.shuffle(texts); texts[:k]``); K = 100 (PCA_shift.sh ``K=100``; the
  script's own default is 30, L34). Here the seed is `analysis.pca.seed`
  (default 42: the same permutation as theirs, so the same items where a
  benchmark lists them in the dataset's order) and K is
  `analysis.pca.max_prompts` (default 100) -> `sample_texts`.
- text: raw text, no chat template (L113, L140). Their text joins the
  dataset's columns with two spaces, which for some datasets holds the
  reference solution or answer (L52-90, L113); the project's benchmark
  records keep the problem only, so here the text is the problem's
  ``prompt`` as the benchmarks show it (a deviation, for AIME/MATH-500 it
  leaves out their appended solution).
- tokens: the base model's tokenizer for both models (L147), pad token the
  EOS token when the tokenizer has none (L148-149), left padding (L150), all
  K texts in one batch padded to the longest (``padding=True``), cut to the
  first 128 tokens (``truncation=True, max_length=128`` with the
  tokenizer's own truncation side, right for the usual tokenizers: the
  start of the text is kept), special tokens added as the tokenizer does
  (L140-141) -> `huan_encode`; the cut is `analysis.pca.max_tokens`
  (default 128). Here the batch goes through the model in slices of
  `analysis.pca.batch_size` rows, every row padded to the same width, so
  each row sees what it sees in their single batch (up to rounding).
- forward: ``model(input_ids, attention_mask, output_hidden_states=True)``,
  no position ids (L142), hidden states cast to float32 (L143). Weights in
  bfloat16 (L159) here too on a GPU (`analysis.pca.dtype: auto`; float32 on
  a CPU).
- layers: every entry of ``hidden_states``, the embedding output included:
  ``num_hidden_layers + 1`` of them, index 0 the embedding output (L181,
  L184, L143). The ``layer`` numbers of this method are those indices.
- pooling: ``hs.mean(dim=1)``, the mean over every position of the padded
  batch, padding included (L144). `analysis.pca.pool_padding: false` takes
  the mean over the attended tokens instead. What a pad position holds
  depends on the attention kernel (theirs: flash-attention 2, L161); with
  padding pooled the features of the shorter texts follow it.
- PCA: ``PCA(n_components=2)`` fitted on the base model's features of each
  layer only (L190); the trained model's features are projected onto the
  base model's components. Projections are plain dot products with the
  components, not centred (L192-193, L214-215); the shift is the same either
  way. Their sklearn picks the randomized solver for K x hidden inputs
  (K = 100, hidden > 500) seeded by ``np.random.seed(42)`` (L46); here the
  exact SVD (``svd_solver="full"``), which the randomized one approximates.
  Component signs follow scikit-learn's ``svd_flip`` (since 1.5 the largest
  entry of each component is positive), which matters below.
- result: per layer the shift of the mean projections, (pc1_u - pc1_o,
  pc2_u - pc2_o) (L216-220: their "Original" point is (0, pc2_o), "Updated"
  (pc1_u - pc1_o, pc2_u)); the figure of a benchmark is the norm of the
  layer-averaged shift, ``np.linalg.norm(mean_over_layers(updated) -
  mean_over_layers(original))`` (L167-177, L260) -> `CentroidShift.summary`.
  Averaging signed shifts over layers makes the figure depend on the
  per-layer signs of the components.

``chat_template_decoder_layers`` is this workflow's earlier variant: every
prompt inside the model's chat template with the generation prompt, its
last `max_tokens` tokens, the decoder layers only (no embedding output),
the mean over attended tokens, a centred 2-component PCA of the base
features per layer, and as the figure the mean over layers of the per-layer
centroid distances (never smaller than the norm of the mean shift).

Two parts, so the arithmetic can be checked by hand:
- features: `huan_features_many` / `hidden_features_many` -> arrays
  [n_prompts, n_layers, hidden] (need torch and the model);
- `huan_shift(base, trained)` / `centroid_shift(base, trained)` ->
  `CentroidShift` (numpy and scikit-learn only).

Layers of ``chat_template_decoder_layers`` are numbered from 0 for the first
decoder layer's output; negative indices count from the end.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..progress import progress
from .modeling import AnalysisError, chat_prompt, encode, load_model, pad_id, padded_batch

log = logging.getLogger(__name__)

#: analysis.pca.method values (config/schema.yaml): the published method first (the default).
METHODS = ("huan2025", "chat_template_decoder_layers")
HUAN2025 = "huan2025"


def resolve_layers(layers: str | Sequence[int] | None, n_layers: int, kind: str = "decoder layers") -> list[int]:
    """Layer indices (0-based) from "all"/None or a list that may hold negative indices."""
    if layers is None or layers == "all":
        return list(range(n_layers))
    if isinstance(layers, str):
        raise AnalysisError(f"layers must be 'all' or a list of integers, got {layers!r}")
    out = []
    for layer in layers:
        i = layer + n_layers if layer < 0 else layer
        if not 0 <= i < n_layers:
            raise AnalysisError(f"layer {layer} is out of range for a model with {n_layers} {kind}")
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


def sample_texts(texts: Sequence[str], k: int | None, seed: int) -> list[str]:
    """The K items of huan2025: `texts` shuffled by ``random.Random(seed)``, the first `k` kept (all when None).

    Their L45 and L116-117 (``random.seed(42); random.shuffle(texts); texts[:k]``): with seed 42 the same
    permutation as theirs.
    """
    out = list(texts)
    random.Random(seed).shuffle(out)
    return out[:k] if k else out


def huan_encode(tokenizer, texts: Sequence[str], max_tokens: int = 128):
    """(input_ids, attention_mask) of huan2025 (their L140-141, L148-150): left padding to the longest text,
    EOS as the pad token when there is none, the first `max_tokens` tokens, the tokenizer's special tokens."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    enc = tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=max_tokens)
    return enc["input_ids"], enc["attention_mask"]


def huan_hidden(model, input_ids, attention_mask, layers: Sequence[int] | None = None, batch_size: int = 4,
                pool_padding: bool = True, device: str | None = None) -> np.ndarray:
    """Per row, the mean over positions of each selected ``hidden_states`` entry (0 = embedding output):
    [n_rows, n_layers, hidden] float32. `pool_padding` True averages every position of the padded row, as
    their L144 (``hs.mean(dim=1)``); False only the attended ones."""
    import torch

    device = device or str(next(model.parameters()).device)
    n_states = model.config.num_hidden_layers + 1
    chosen = list(range(n_states)) if layers is None else list(layers)
    out = np.zeros((input_ids.shape[0], len(chosen), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for b in range(0, input_ids.shape[0], batch_size):
            ids, mask = input_ids[b:b + batch_size].to(device), attention_mask[b:b + batch_size].to(device)
            hs = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            m = mask.unsqueeze(-1).float()
            for j, layer in enumerate(chosen):
                h = hs[layer].to(torch.float32)
                pooled = h.mean(dim=1) if pool_padding else (h * m).sum(dim=1) / m.sum(dim=1)
                out[b:b + ids.shape[0], j] = pooled.cpu().numpy()
    return out


def huan_features_many(model_dir: str | Path, encoded: Mapping[str, tuple], layers: str | Sequence[int] | None = "all",
                       batch_size: int = 4, pool_padding: bool = True, device: str | None = None,
                       dtype: str | None = None) -> tuple[dict[str, np.ndarray], list[int]]:
    """`huan_hidden` of one model for several benchmarks' (input_ids, attention_mask), loading the model once;
    layers index ``hidden_states`` (0 = embedding output, "all" = every one)."""
    model, _, device = load_model(model_dir, device, dtype)
    chosen = resolve_layers(layers, model.config.num_hidden_layers + 1, "hidden states (embedding output + layers)")
    out = {}
    for name, (ids, mask) in encoded.items():
        log.info("features of %s: %d texts x %d tokens", name, ids.shape[0], ids.shape[1])
        out[name] = huan_hidden(model, ids, mask, chosen, batch_size, pool_padding, device)
    del model
    _release_memory(device)
    return out, chosen


def huan_shift(base: np.ndarray, trained: np.ndarray) -> "CentroidShift":
    """huan2025's shift per layer: a 2-component PCA of the base features (their L190), both models' features
    projected onto its components by plain dot products (L192-193, L214-215); the centroids are the mean
    projections, and `CentroidShift.summary` is the norm of the layer-averaged shift (L167-177, L260)."""
    from sklearn.decomposition import PCA

    base, trained = _check_features(base, trained)
    n_layers = base.shape[1]
    bp, tp = np.zeros((base.shape[0], n_layers, 2)), np.zeros((trained.shape[0], n_layers, 2))
    evr = np.zeros((n_layers, 2))
    for layer in range(n_layers):
        pca = PCA(n_components=2, svd_solver="full").fit(base[:, layer])
        comps = pca.components_[:2]  # [2, hidden]: comp1, comp2
        bp[:, layer] = base[:, layer] @ comps.T
        tp[:, layer] = trained[:, layer] @ comps.T
        evr[layer] = pca.explained_variance_ratio_
    bc, tc = bp.mean(axis=0), tp.mean(axis=0)
    return CentroidShift(np.linalg.norm(tc - bc, axis=1), bp, tp, bc, tc, evr, method=HUAN2025)


def _check_features(base, trained) -> tuple[np.ndarray, np.ndarray]:
    base, trained = np.asarray(base, dtype=np.float64), np.asarray(trained, dtype=np.float64)
    if base.ndim != 3 or trained.ndim != 3 or base.shape[1:] != trained.shape[1:]:
        raise AnalysisError(f"features must be [n_prompts, n_layers, hidden] with matching layers and width; "
                            f"got {base.shape} and {trained.shape}")
    if base.shape[0] < 2 or base.shape[2] < 2:
        raise AnalysisError(f"a 2-component PCA needs at least 2 prompts and 2 hidden units; got {base.shape}")
    return base, trained


@dataclass
class CentroidShift:
    """Per-layer result of `centroid_shift`; arrays are indexed [..., layer, ...] in the features' layer order."""

    distances: np.ndarray  # [n_layers]
    base_proj: np.ndarray  # [n_base, n_layers, 2]
    trained_proj: np.ndarray  # [n_trained, n_layers, 2]
    base_centroid: np.ndarray  # [n_layers, 2]
    trained_centroid: np.ndarray  # [n_layers, 2]
    explained_variance_ratio: np.ndarray  # [n_layers, 2]
    method: str = "chat_template_decoder_layers"

    @property
    def mean_distance(self) -> float:
        """Mean over layers of the per-layer centroid distances."""
        return float(np.mean(self.distances))

    @property
    def layer_mean_shift(self) -> np.ndarray:
        """[2]: the centroid shift (PC1, PC2) averaged over layers."""
        return (self.trained_centroid - self.base_centroid).mean(axis=0)

    @property
    def summary(self) -> float:
        """The method's figure for a benchmark: huan2025 the norm of the layer-averaged shift, otherwise the
        mean of the per-layer distances."""
        if self.method == HUAN2025:
            return float(np.linalg.norm(self.layer_mean_shift))
        return self.mean_distance

    @property
    def summary_name(self) -> str:
        return "norm of the layer-averaged shift" if self.method == HUAN2025 else "mean of per-layer shifts"


def centroid_shift(base: np.ndarray, trained: np.ndarray) -> CentroidShift:
    """Distance, per layer, between the centroids of base and trained features in the base model's 2-D PCA plane."""
    from sklearn.decomposition import PCA

    base, trained = _check_features(base, trained)
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
    return CentroidShift(np.linalg.norm(tc - bc, axis=1), bp, tp, bc, tc, evr, method=METHODS[1])


_FIELDS = ("distances", "base_proj", "trained_proj", "base_centroid", "trained_centroid", "explained_variance_ratio")


def save_shifts(path: str | Path, shifts: Mapping[str, CentroidShift], layers: Sequence[int]) -> None:
    """Several benchmarks' shifts in one .npz: keys '{benchmark}/{field}', 'layers' and 'method'."""
    from ..io import atomic_path

    methods = {sh.method for sh in shifts.values()}
    arrays = {"layers": np.asarray(layers), "method": np.asarray(next(iter(methods)) if methods else HUAN2025)}
    for bench, sh in shifts.items():
        for field in _FIELDS:
            arrays[f"{bench}/{field}"] = getattr(sh, field)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_shifts(path: str | Path) -> tuple[dict[str, CentroidShift], list[int]]:
    with np.load(path) as d:
        method = str(d["method"]) if "method" in d.files else METHODS[1]
        benches = list(dict.fromkeys(k.split("/")[0] for k in d.files if "/" in k))
        shifts = {b: CentroidShift(*(d[f"{b}/{f}"] for f in _FIELDS), method=method) for b in benches}
        return shifts, [int(x) for x in d["layers"]]


#: Columns of shift.tsv (and, with student/teacher/corpus/label in front, of the comparison table).
SHIFT_COLUMNS = ["benchmark", "layer", "method", "shift_pc1", "shift_pc2", "distance", "pc1_variance",
                 "pc2_variance"]


def shift_table(shifts: Mapping[str, CentroidShift], layers: Sequence[int]):
    """Long table, per benchmark: one row per layer (the centroid shift along PC1 and PC2, its norm
    `distance`, the variance the base model's PC1 and PC2 explain), then a row with layer 'mean': the shift
    averaged over layers and, as `distance`, the method's figure (`CentroidShift.summary`: huan2025 the norm
    of the layer-averaged shift, chat_template_decoder_layers the mean of the per-layer distances)."""
    import pandas as pd

    rows = []
    for bench, sh in shifts.items():
        delta = sh.trained_centroid - sh.base_centroid
        for j, layer in enumerate(layers):
            rows.append({"benchmark": bench, "layer": str(layer), "method": sh.method,
                         "shift_pc1": float(delta[j, 0]), "shift_pc2": float(delta[j, 1]),
                         "distance": float(sh.distances[j]),
                         "pc1_variance": float(sh.explained_variance_ratio[j, 0]),
                         "pc2_variance": float(sh.explained_variance_ratio[j, 1])})
        mean = sh.layer_mean_shift
        rows.append({"benchmark": bench, "layer": "mean", "method": sh.method,
                     "shift_pc1": float(mean[0]), "shift_pc2": float(mean[1]), "distance": sh.summary,
                     "pc1_variance": float(sh.explained_variance_ratio[:, 0].mean()),
                     "pc2_variance": float(sh.explained_variance_ratio[:, 1].mean())})
    return pd.DataFrame(rows, columns=SHIFT_COLUMNS)
