"""Figures 1, 3 and 4 as PNG and PDF (matplotlib, Agg backend: no display needed).

Sized for a page: 7 inches wide at most, fonts of 9 pt or more, 200 dpi PNGs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .tables import NOT_RUN, Scores

PAGE_WIDTH_IN = 7.0
PNG_DPI = 200


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
                         "xtick.labelsize": 8, "ytick.labelsize": 8, "savefig.bbox": "tight"})
    return plt


def save(fig, png: str | Path | None, pdf: str | Path | None) -> None:
    """Write PNG and PDF atomically, then close the figure."""
    from ..io import atomic_path

    for path, fmt in ((png, "png"), (pdf, "pdf")):
        if path is None:
            continue
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=PNG_DPI)
    _pyplot().close(fig)


def _message_axes(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10, color="0.35", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


# ---------------------------------------------------------------- Figure 1


def figure1_points(scores: pd.DataFrame, corpus_stats: pd.DataFrame | None, benchmark: str) -> pd.DataFrame:
    """This run's trained students: corpus size (rows) against accuracy (%) on `benchmark`.

    Runs whose corpus size is unknown (no corpus-stats row) or that were not
    evaluated on the benchmark are left out.
    """
    idx = Scores(scores, corpus_stats)
    out = []
    for m in idx.of_kind("trained"):
        size = idx.corpus(m["student"], m["teacher"], m["corpus"]).get("rows")
        acc = idx.accuracy(m["model"], benchmark)
        if size and acc is not None:
            out.append({"label": f"{m['student']} ← {m['teacher']} ({m['corpus']})", "student": m["student"],
                        "teacher": m["teacher"], "corpus": m["corpus"], "corpus_size": int(size), "accuracy": acc})
    return pd.DataFrame(out, columns=["label", "student", "teacher", "corpus", "corpus_size", "accuracy"])


def literature_points(literature: Sequence[Mapping], benchmark: str) -> pd.DataFrame:
    """Literature entries that report `benchmark` (keys aime24 / aime25 of `analysis.literature`)."""
    out = [{"label": e["name"], "corpus_size": e["corpus_size"], "accuracy": e[benchmark],
            "source": e.get("source", "")}
           for e in literature if e.get(benchmark) is not None and e.get("corpus_size")]
    return pd.DataFrame(out, columns=["label", "corpus_size", "accuracy", "source"])


LIT_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "h", "p", "8")


def plot_figure1(panels: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], png=None, pdf=None,
                 title: str | None = None) -> None:
    """One panel per benchmark: accuracy against training-corpus size (log x), this run beside the literature.

    Points are told apart by marker and colour with one legend under the
    panels (names written beside points collide when corpora have equal sizes).
    """
    plt = _pyplot()
    n = max(1, len(panels))
    fig, axes = plt.subplots(1, n, figsize=(min(PAGE_WIDTH_IN, 3.6 * n + 0.4), 3.2), squeeze=False)
    if not panels:
        _message_axes(axes[0][0], f"Figure 1: {NOT_RUN}\n(no benchmark to plot)")
    lit_names = list(dict.fromkeys(name for _, lit in panels.values() for name in lit["label"]))
    our_names = list(dict.fromkeys(name for ours, _ in panels.values() for name in ours["label"]))
    colours = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7]  # grey is the literature's
    handles: dict[str, object] = {}
    for ax, (bench, (ours, lit)) in zip(axes[0], panels.items()):
        ax.set_title(bench)
        if ours.empty and lit.empty:
            _message_axes(ax, f"{NOT_RUN}:\nno trained run with a corpus size,\nno literature point")
            continue
        for _, p in lit.iterrows():
            k = lit_names.index(p["label"])
            handles[f"{p['label']} (reported)"] = ax.scatter(
                p["corpus_size"], p["accuracy"], marker=LIT_MARKERS[k % len(LIT_MARKERS)], s=30,
                color=str(0.25 + 0.4 * (k % 3) / 2), zorder=2)
        for _, p in ours.iterrows():
            k = our_names.index(p["label"])
            handles[f"{p['label']} (this workflow)"] = ax.scatter(
                p["corpus_size"], p["accuracy"], marker="*", s=120, color=colours[k % len(colours)], edgecolor="black",
                linewidth=0.5, zorder=3)
        ax.set_xscale("log")
        sizes = pd.concat([ours["corpus_size"], lit["corpus_size"]]).astype(float)
        accs = pd.concat([ours["accuracy"], lit["accuracy"]]).astype(float)
        ax.set_xlim(10 ** (math.floor(math.log10(sizes.min()) - 0.1)), 10 ** (math.ceil(math.log10(sizes.max()) + 0.1)))
        span = max(accs.max() - accs.min(), 10.0)
        ax.set_ylim(max(0.0, accs.min() - 0.15 * span), min(100.0, accs.max() + 0.15 * span))
        ax.set_xlabel("training corpus size (examples, log scale)")
        ax.set_ylabel(f"{bench} accuracy, pass@1 (%)")
        ax.grid(True, which="major", alpha=0.3)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=2 if len(handles) > 4 else 1, frameon=False, fontsize=7.5)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, png, pdf)


# ---------------------------------------------------------------- Figure 3


def plot_entropy(corpora: Mapping[str, Sequence[np.ndarray]], png=None, pdf=None, title: str | None = None,
                 xlabel: str = "token entropy (nats)", bins: int = 40) -> None:
    """Distribution of token entropy per corpus (label -> per-row arrays), mean and median marked.

    Token entropies pile up near zero with a long tail, so each corpus is a
    step histogram of the fraction of tokens on a log y axis; the mean
    (dashed) and median (dotted) are vertical lines in the corpus's colour and
    are printed in the legend. Labels "domain: teacher" share one panel per domain.
    """
    plt = _pyplot()
    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for label, values in corpora.items():
        domain, _, name = label.partition(": ") if ": " in label else ("", "", label)
        flat = np.concatenate(list(values)) if len(values) else np.zeros(0)
        groups.setdefault(domain, []).append((name, flat[np.isfinite(flat)]))
    n = max(1, len(groups))
    fig, axes = plt.subplots(2, n, figsize=(min(PAGE_WIDTH_IN, 3.5 * n + 0.3), 5.6), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 2]})
    if not groups:
        _message_axes(axes[0][0], f"token entropy: {NOT_RUN}")
        axes[1][0].set_visible(False)
    palette = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7]  # grey reads as "missing"
    names = list(dict.fromkeys(name for items in groups.values() for name, _ in items))
    colour_of = {name: palette[k % len(palette)] for k, name in enumerate(names)}  # one colour per teacher
    for col, (domain, items) in enumerate(groups.items()):
        ax, bars = axes[0][col], axes[1][col]
        hi = max([float(v.max()) for _, v in items if v.size] or [1.0])
        edges = np.linspace(0.0, 1.02 * hi if hi > 0 else 1.0, bins + 1)  # the largest value inside the last bin
        stats = []
        for name, v in items:
            colour = colour_of[name]
            if v.size == 0:
                stats.append((name, None, None, colour))
                continue
            mean, median = float(np.mean(v)), float(np.median(v))
            stats.append((name, mean, median, colour))
            ax.hist(v, bins=edges, weights=np.full(v.size, 1.0 / v.size), histtype="step", linewidth=1.4,
                    color=colour, label=f"{name} ({v.size:,} tokens)")
            ax.axvline(mean, color=colour, linestyle="--", linewidth=1)
            ax.axvline(median, color=colour, linestyle=":", linewidth=1.2)
        ax.set_yscale("log")
        fractions = [np.histogram(v, bins=edges)[0] / v.size for _, v in items if v.size]
        smallest = min([f[f > 0].min() for f in fractions] or [1e-3])
        # Head room on the log axis so the legend covers no bars; room below the rarest bin so it shows.
        ax.set_ylim(smallest / 2, 30)
        from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation

        sci = LogFormatterSciNotation()
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, pos: sci(y, pos) if y <= 1.0 else ""))  # a fraction
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of tokens (log)")
        ax.set_xlim(0, edges[-1])
        ax.set_title(f"{domain} corpora" if domain else "corpora")
        ax.grid(True, alpha=0.3)
        ax.plot([], [], color="black", linestyle="--", linewidth=1, label="mean")
        ax.plot([], [], color="black", linestyle=":", linewidth=1.2, label="median")
        ax.legend(loc="upper right", fontsize=7)
        # Mean and median side by side per corpus: the comparison the histogram's crowded lines cannot show.
        x = np.arange(len(stats))
        for k, (name, mean, median, colour) in enumerate(stats):
            if mean is None:
                bars.text(k, 0, "no tokens", ha="center", va="bottom", fontsize=8, color="0.4")
                continue
            for off, val, hatch in ((-0.2, mean, None), (0.2, median, "///")):
                bars.bar(k + off, val, width=0.38, color=colour, alpha=0.85 if hatch is None else 0.45,
                         hatch=hatch, edgecolor="black", linewidth=0.5)
                bars.annotate(f"{val:.2f}", (k + off, val), xytext=(0, 2), textcoords="offset points",
                              ha="center", fontsize=7)
        bars.set_xticks(x)
        bars.set_xticklabels([s_[0] for s_ in stats], rotation=20 if len(stats) > 3 else 0)
        bars.set_xlabel("teacher corpus")
        bars.set_ylabel(xlabel.replace("token entropy", "entropy"))
        bars.grid(True, axis="y", alpha=0.3)
        top = max([v for st in stats for v in st[1:3] if v is not None] or [1.0])
        bars.set_ylim(0, top * 1.5)  # room for the legend above the bars
        bars.set_xlim(-0.6, len(stats) - 0.4)
        from matplotlib.patches import Patch

        bars.legend(handles=[Patch(facecolor="0.45", edgecolor="black", label="mean"),
                             Patch(facecolor="0.85", edgecolor="black", hatch="///", label="median")],
                    loc="upper right", fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, png, pdf)


# ---------------------------------------------------------------- Figure 4


def plot_pca_shift(shifts: Mapping[str, object], layers: Sequence[int], layer: int = -1, png=None, pdf=None,
                   title: str | None = None, base_label: str = "base", trained_label: str = "trained") -> None:
    """Per benchmark: the base and trained features in the base model's PCA plane for one layer, centroids marked,
    that layer's centroid distance and the mean over layers in the panel title; a bottom panel plots the
    distance per layer.

    `shifts` maps a benchmark to a `ded.analysis.pca.CentroidShift`; `layer`
    indexes `layers` (default: the last analysed layer).
    """
    plt = _pyplot()
    from matplotlib.lines import Line2D

    cols = max(1, min(len(shifts), 3))
    rows = math.ceil(len(shifts) / cols) if shifts else 0
    fig = plt.figure(figsize=(PAGE_WIDTH_IN, 2.7 * rows + 2.6))
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[1.0] * rows + [0.85])
    j = layer if layer >= 0 else len(layers) + layer
    for k, (bench, sh) in enumerate(shifts.items()):
        ax = fig.add_subplot(grid[k // cols, k % cols])
        b, t = sh.base_proj[:, j], sh.trained_proj[:, j]
        ax.scatter(b[:, 0], b[:, 1], s=12, alpha=0.55, color="tab:blue")
        ax.scatter(t[:, 0], t[:, 1], s=12, alpha=0.55, color="tab:orange")
        bc, tc = sh.base_centroid[j], sh.trained_centroid[j]
        ax.annotate("", xy=tc, xytext=bc, arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.2})
        ax.scatter(*bc, marker="X", s=80, color="navy", edgecolor="white", zorder=3)
        ax.scatter(*tc, marker="X", s=80, color="darkred", edgecolor="white", zorder=3)
        evr = sh.explained_variance_ratio[j]
        ax.set_xlabel(f"PC1 ({100 * evr[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC2 ({100 * evr[1]:.0f}%)")
        ax.set_title(f"{bench}, layer {layers[j]}\nshift {sh.distances[j]:.3g}; all layers {sh.summary:.3g}",
                     fontsize=9)
        ax.grid(True, alpha=0.25)
    ax = fig.add_subplot(grid[rows, :])
    for bench, sh in shifts.items():
        ax.plot(layers, sh.distances, marker="o", markersize=3, label=f"{bench} (all layers {sh.summary:.3g})")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    huan = any(sh.method == "huan2025" for sh in shifts.values())
    ax.set_xlabel("hidden state (0 = embedding output)" if huan else "decoder layer (0 = first)")
    ax.set_ylabel("centroid shift\n(PCA units)")
    summary = next(iter(shifts.values())).summary_name if shifts else ""
    ax.set_title(f"centroid shift per layer; 'all layers': {summary}")
    ax.grid(True, alpha=0.3)
    if shifts:
        ax.legend(fontsize=7, ncol=min(3, len(shifts)))
        handles = [Line2D([], [], marker="o", linestyle="", color="tab:blue", alpha=0.6, label=f"{base_label} prompts"),
                   Line2D([], [], marker="o", linestyle="", color="tab:orange", alpha=0.6,
                          label=f"{trained_label} prompts"),
                   Line2D([], [], marker="X", linestyle="", color="navy", markersize=8, label=f"{base_label} centroid"),
                   Line2D([], [], marker="X", linestyle="", color="darkred", markersize=8,
                          label=f"{trained_label} centroid")]
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), frameon=False,
                   ncol=4 if len(trained_label) < 12 else 2)
    else:
        _message_axes(ax, f"PCA shift: {NOT_RUN}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, png, pdf)


def plot_pca_comparison(table: pd.DataFrame, png=None, pdf=None, title: str | None = None) -> None:
    """Figure 4 as the paper draws it: per benchmark one bar per run (its 'mean' row, the method's figure), and
    per benchmark a panel of the per-layer shift of each run.

    `table` is ded.analysis.jobs.run_pca_comparison's: columns label, benchmark, layer, method, distance, ...
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    benches = list(dict.fromkeys(table["benchmark"])) if len(table) else []
    labels = list(dict.fromkeys(table["label"])) if len(table) else []
    cols = max(1, min(len(benches), 3))
    rows = math.ceil(len(benches) / cols) if benches else 0
    fig = plt.figure(figsize=(PAGE_WIDTH_IN, 3.0 + 2.4 * rows))
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[1.25] + [1.0] * rows)
    ax = fig.add_subplot(grid[0, :])
    if not benches:
        _message_axes(ax, f"PCA shift comparison: {NOT_RUN}")
        save(fig, png, pdf)
        return
    method = str(table["method"].iloc[0])
    huan = method == "huan2025"
    colors = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    summary = table[table["layer"].astype(str) == "mean"]
    width = 0.8 / max(1, len(labels))
    x = np.arange(len(benches))
    for i, label in enumerate(labels):
        got = summary[summary["label"] == label].set_index("benchmark")["distance"]
        heights = [float(got.get(b, np.nan)) for b in benches]
        bars = ax.bar(x - 0.4 + width * (i + 0.5), heights, width, label=label, color=colors[label])
        ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=1)
    ax.set_xticks(x, benches)
    ax.set_ylabel("PCA shift\n" + ("(norm of layer-averaged shift)" if huan else "(mean of per-layer shifts)"))
    ax.set_title("PCA shift per benchmark")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(title="student of teacher", fontsize=8, ncol=min(4, len(labels)))
    ax.margins(y=0.15)
    for k, bench in enumerate(benches):
        ax = fig.add_subplot(grid[1 + k // cols, k % cols])
        per_layer = table[(table["benchmark"] == bench) & (table["layer"].astype(str) != "mean")]
        for label in labels:
            run = per_layer[per_layer["label"] == label]
            ax.plot(run["layer"].astype(int), run["distance"], marker="o", markersize=3, label=label,
                    color=colors[label])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("hidden state (0 = embedding output)" if huan else "decoder layer (0 = first)")
        ax.set_ylabel("shift at the layer")
        ax.set_title(bench, fontsize=9)
        ax.grid(True, alpha=0.3)
    fig.suptitle(title or f"Figure 4: PCA shift of the students ({method})")
    fig.tight_layout()
    save(fig, png, pdf)
