"""Plots against ε: the differences from ε = 0 (the answer), the gap with each seed's line, accuracy, loss."""

from __future__ import annotations

import numpy as np

from .plotting import plt, save, style
from ..metrics import HEADLINE, UNITS, diff_unit, scale
from .tables import TARGET_TRAIN, TARGET_VAL, smoothed_loss_floor


def is_grid(trials) -> bool:
    return trials.groupby("eps").size().max() > 1 or trials.eps.nunique() <= 8


def mean_ci(ax, trials, summary, metric, label, color, grid, seed_lines=False):
    """Each seed's value (joined across ε when `seed_lines`, since a seed pairs the trials), and the mean ± 95 %
    CI over seeds; a hollow marker without error bar for a one-seed ε; a quadratic trend off the grid."""
    if seed_lines and grid:
        for i, (_, g) in enumerate(trials.sort_values("eps").groupby("seed")):
            ax.plot(g.eps, g[metric], color=color, alpha=0.25, lw=0.8, marker=".", ms=4,
                    label=f"{label}: each seed (a line joins one seed's trials)" if i == 0 else None)
    else:
        ax.scatter(trials.eps, trials[metric], color=color, alpha=0.3, s=14, label=f"{label}: each seed")
    if grid:
        mean = summary[f"{metric}_mean"]
        ax.plot(summary.eps, mean, color=color, lw=1.5)
        many, one = summary.n >= 2, summary.n < 2
        if many.any():
            yerr = np.vstack([mean - summary[f"{metric}_ci_lo"], summary[f"{metric}_ci_hi"] - mean])[:, many]
            ax.errorbar(summary.eps[many], mean[many], yerr=np.nan_to_num(yerr), color=color, marker="o",
                        ls="none", capsize=4, label=f"{label}: mean ± 95 % CI over seeds")
        if one.any():
            ax.plot(summary.eps[one], mean[one], color=color, marker="D", mfc="white", ls="none",
                    label=f"{label}: one seed (no error bar)")
    elif len(trials) >= 2:
        coef = np.polyfit(trials.eps, trials[metric], deg=min(2, len(trials) - 1))
        xs = np.linspace(trials.eps.min(), trials.eps.max(), 100)
        ax.plot(xs, np.polyval(coef, xs), color=color, label=f"{label}: trend (polynomial fit)")


def plot_differences(comparisons, path, primary: str = "gap") -> bool:
    """Per headline metric, each ε minus ε = 0 with the adjusted CI its verdict is read off, the zero line and the
    equivalence margin; the primary metric first."""
    tested = comparisons[comparisons.metric.isin(HEADLINE) & comparisons.p.notna()]
    if not len(tested):
        return False
    metrics = [primary] + [m for m in HEADLINE if m != primary]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 4))
    for ax, metric in zip(axes, metrics):
        rows = tested[tested.metric == metric]
        s, name = scale(metric), UNITS[metric][0]
        if len(rows):
            m = rows.margin.iloc[0] * s
            ax.axhspan(-m, m, color="C2", alpha=0.12, label=f"equivalence margin ±{m:g} {diff_unit(metric)}")
            ax.axhline(0, color="k", lw=0.8)
            sig = rows.significant.astype(bool)
            for mask, label in ((sig, "significant"), (~sig, "not significant")):
                r = rows[mask]
                ax.errorbar(r.eps, r["diff"] * s, yerr=[(r["diff"] - r.lo_adj) * s, (r.hi_adj - r["diff"]) * s],
                            marker="o", mfc="C0" if label == "significant" else "white", color="C0",
                            ls="none", capsize=4, label=f"{label}: difference, adjusted 95 % CI" if len(r) else None)
            ax.set_xticks(sorted(rows.eps))
            role = "primary" if metric == primary else "secondary"
            style(ax, f"{name} ({role}): ε minus ε = 0", f"difference ({diff_unit(metric)})")
        else:
            ax.axis("off")
    fig.suptitle("Each ε against ε = 0: differences with Bonferroni-adjusted 95 % CIs (over the ε of one metric); "
                 "the shaded band is the equivalence margin", fontweight="bold")
    save(fig, path)
    return True


def plot_gap(trials, summary, path, grid):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    mean_ci(a1, trials, summary, "gap", "train − val accuracy", "C3", grid, seed_lines=True)
    style(a1, "Accuracy gap: train (eval mode) − validation accuracy", "gap (pp)", percent=True, symbol=" pp")
    mean_ci(a2, trials, summary, "nll_gap", "val NLL − train NLL", "C4", grid, seed_lines=True)
    style(a2, "NLL gap: validation − train NLL (unsmoothed, eval mode)", "gap (nats)")
    fig.suptitle("Overfitting at the last epoch against label smoothing ε", fontweight="bold")
    save(fig, path)


def plot_accuracy(trials, summary, path, grid):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lo = min(trials[["train_acc", "val_acc"]].min().min(), TARGET_VAL) - 0.02
    ax.fill_between([trials.eps.min() - 0.01, trials.eps.max() + 0.01], TARGET_VAL, 1.0, color="C2", alpha=0.08,
                    label="claimed region: validation > 85 %")
    ax.axhline(TARGET_TRAIN, color="C2", ls=":", label="claimed: train < 92 % (below this line)")
    mean_ci(ax, trials, summary, "train_acc", "train (eval mode)", "C0", grid)
    mean_ci(ax, trials, summary, "val_acc", "validation", "C1", grid)
    ax.set_ylim(lo, min(1.0, max(trials.train_acc.max(), TARGET_TRAIN) + 0.02))
    style(ax, "Accuracy at the last epoch against label smoothing ε", "accuracy (%)", percent=True)
    save(fig, path)


def plot_loss(trials, summary, path, grid):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    mean_ci(ax, trials, summary, "val_nll", "validation NLL (unsmoothed)", "C0", grid)
    mean_ci(ax, trials, summary, "val_loss", "validation smoothed loss", "C1", grid)
    xs = np.linspace(0, max(trials.eps.max(), 0.01), 100)
    ax.plot(xs, [smoothed_loss_floor(x) for x in xs], color="k", ls="--", label="floor of the smoothed loss, H(q)")
    style(ax, "Validation loss at the last epoch against ε:\nsmoothed losses have an ε-dependent floor",
          "loss (nats)")
    save(fig, path)
