"""Analyses of the paper: token entropy (Figure 3), PCA centroid shift
(Figure 4), Tables 1-7 and the corpus-size scatter (Figure 1).

- `entropy`: per-token entropy of a scoring model's next-token distribution
  over a corpus, teacher-forced; a top-k logprob approximation.
- `pca`: hidden-state features of two models and the shift of their centroids
  in the base model's PCA plane (Huan et al. 2025).
- `tables`: the paper's tables from the long-form scores table and the
  corpus-stats table; pure DataFrame functions and CSV/Markdown/LaTeX writers.
- `figures`: Figure 1 and the plots of Figures 3 and 4 (matplotlib, Agg).

torch and transformers are imported inside the functions that load a model,
so tables and figures need neither.
"""
