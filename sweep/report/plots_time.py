"""Plots over epochs and of calibration: overfitting over time per ε, ECE and reliability diagrams."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import PercentFormatter

from .plots_eps import mean_ci
from .plotting import epoch_axis, eps_colors, plt, save, seeds_label, style
from ..stats import t_interval


def _epoch_curve(ax, g, metric, color, label):
    """Mean over the seeds of one ε at each epoch, shaded 95 % t-CI; no band for one seed."""
    per_epoch = g.groupby("epoch")[metric]
    rows = [t_interval(v) for _, v in per_epoch]
    x = np.array(list(per_epoch.groups))
    ax.plot(x, [r.mean for r in rows], color=color, marker=".", label=label)
    if g.trial.nunique() > 1:
        ax.fill_between(x, [r.lo for r in rows], [r.hi for r in rows], color=color, alpha=0.15)


def plot_overfitting_over_time(epochs, path):
    epochs = epochs.assign(gap=epochs.train_acc - epochs.val_acc, nll_gap=epochs.val_nll - epochs.train_nll)
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    panels = (("val_nll", "Validation NLL (unsmoothed)", "NLL (nats)", None),
              ("val_acc", "Validation accuracy", "accuracy (%)", "%"),
              ("train_acc", "Train accuracy (eval mode)", "accuracy (%)", "%"),
              ("gap", "Accuracy gap: train − validation", "gap (pp)", " pp"),
              ("nll_gap", "NLL gap: validation − train", "gap (nats)", None))
    colors = eps_colors(epochs.eps.unique())
    for ax, (metric, title, ylabel, symbol) in zip(axes.flat, panels):
        for eps, g in epochs.groupby("eps"):
            _epoch_curve(ax, g, metric, colors[eps], f"ε = {eps:g} ({seeds_label(g.trial.nunique())})")
        epoch_axis(ax, epochs.epoch)
        style(ax, title, ylabel, percent=symbol is not None, symbol=symbol or "%", xlabel="epoch")
        ax.get_legend().remove()
    legend_ax = axes.flat[-1]
    legend_ax.axis("off")
    legend_ax.legend(*axes.flat[0].get_legend_handles_labels(), loc="center", title="label smoothing",
                     fontsize=9, title_fontsize=9)
    fig.suptitle("Overfitting over time: mean over seeds per ε, shaded 95 % t-CI (none for one seed)",
                 fontweight="bold")
    save(fig, path)


def plot_calibration(trials, summary, epochs, path, grid):
    fig, (a0, a1, a2) = plt.subplots(1, 3, figsize=(16, 4.5))
    mean_ci(a0, trials, summary, "val_sce", "confidence − accuracy", "C3", grid, seed_lines=True)
    a0.axhline(0, color="k", lw=0.8)
    style(a0, "Signed calibration error: above 0 over-confident,\nbelow 0 under-confident", "confidence − accuracy "
          "(pp)", percent=True, symbol=" pp")
    mean_ci(a1, trials, summary, "val_ece", "validation ECE", "C5", grid)
    style(a1, "Expected calibration error at the last epoch (15 bins)", "ECE (%)", percent=True)
    last = epochs[epochs.epoch == epochs.epoch.max()]
    colors = eps_colors(last.eps.unique())
    a2.plot([0, 1], [0, 1], color="k", ls="--", lw=1, label="perfect calibration")
    for eps, g in last.groupby("eps"):
        count = np.sum([np.asarray(c, dtype=float) for c in g.val_bin_count], axis=0)
        hits = np.sum([np.nan_to_num(np.asarray(a, dtype=float)) * np.asarray(c) for a, c in
                       zip(g.val_bin_acc, g.val_bin_count)], axis=0)
        conf = np.sum([np.nan_to_num(np.asarray(f, dtype=float)) * np.asarray(c) for f, c in
                       zip(g.val_bin_conf, g.val_bin_count)], axis=0)
        keep = count > 0
        a2.plot(conf[keep] / count[keep], hits[keep] / count[keep], marker="o", ms=3, color=colors[eps],
                label=f"ε = {eps:g} ({seeds_label(g.trial.nunique())})")
    a2.xaxis.set_major_formatter(PercentFormatter(1.0))
    style(a2, "Reliability diagram (validation, last epoch, seeds pooled)", "accuracy per bin (%)", percent=True,
          xlabel="confidence, mean per bin (%)")
    save(fig, path)
