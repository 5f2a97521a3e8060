"""The report: reads a study and writes CSV tables, PNG plots and a README to a folder.

It only reads the study (plus one dashboard note that points at the report).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

METRICS = ("train_acc", "val_acc", "gap", "train_nll", "val_nll", "nll_gap", "val_loss", "val_ece", "seconds")
TARGET_VAL, TARGET_TRAIN = 0.85, 0.92  # the tutorial's claim at ε = 0.1: validation above 85 %, train below 92 %
CLAIMS = {0.0: (0.95, 0.80), 0.1: (0.90, 0.87)}  # the tutorial's (train, val) accuracy claims
NUM_CLASSES = 10


# ---------------------------------------------------------------- tables

def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per COMPLETE trial with its ε, seed and final metrics."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        row = {"trial": t.number, "eps": float(t.params["label_smoothing"]), "seed": int(t.params["seed"])}
        row.update({m: t.user_attrs.get(m, np.nan) for m in METRICS})
        row["device"] = t.user_attrs.get("device")
        rows.append(row)
    cols = ["trial", "eps", "seed", *METRICS, "device"]
    return pd.DataFrame(rows, columns=cols).sort_values(["eps", "seed"]).reset_index(drop=True)


def epochs_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per COMPLETE trial x epoch (reliability-diagram bins as lists)."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        for h in t.user_attrs.get("history", []):
            rows.append({"trial": t.number, "eps": float(t.params["label_smoothing"]),
                         "seed": int(t.params["seed"]), **h})
    return pd.DataFrame(rows)


def t_interval(values) -> tuple[float, float, float, float]:
    """(mean, sd, lo, hi): the 95 % t-interval over seeds; NaN bounds for a single value."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (math.nan,) * 4
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(x) - 1)) * sd / math.sqrt(len(x))
    return mean, sd, mean - half, mean + half


def summary_frame(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per ε: n and, for every metric, mean, sd and the 95 % CI over seeds."""
    rows = []
    for eps, group in trials.groupby("eps"):
        row = {"eps": eps, "n": len(group)}
        for m in METRICS:
            row[f"{m}_mean"], row[f"{m}_sd"], row[f"{m}_ci_lo"], row[f"{m}_ci_hi"] = t_interval(group[m])
        rows.append(row)
    return pd.DataFrame(rows)


def per_epsilon_table(trials: pd.DataFrame) -> pd.DataFrame:
    """The short table printed after a run."""
    return trials.groupby("eps").agg(n=("val_acc", "size"), train_acc=("train_acc", "mean"),
                                     val_acc=("val_acc", "mean"), gap=("gap", "mean"))


def smoothed_loss_floor(eps: float, classes: int = NUM_CLASSES) -> float:
    """H(q): the least smoothed cross-entropy any model can reach at this ε."""
    on, off = 1 - eps + eps / classes, eps / classes
    h = -on * math.log(on)
    if off > 0:
        h -= (classes - 1) * off * math.log(off)
    return h


def compare_to_baseline(trials: pd.DataFrame, eps: float, metric: str = "val_acc") -> dict | None:
    """Welch's t-test of `metric` at ε against ε = 0 (None without two seeds in each)."""
    a = trials.loc[trials.eps == eps, metric].dropna().to_numpy()
    b = trials.loc[trials.eps == 0.0, metric].dropna().to_numpy()
    if len(a) < 2 or len(b) < 2:
        return None
    test = stats.ttest_ind(a, b, equal_var=False)
    return {"eps": eps, "diff": float(a.mean() - b.mean()), "t": float(test.statistic),
            "p": float(test.pvalue), "significant": bool(test.pvalue < 0.05)}


# ---------------------------------------------------------------- plots

def _is_grid(trials: pd.DataFrame) -> bool:
    return trials.groupby("eps").size().max() > 1 or trials.eps.nunique() <= 8


def _mean_ci(ax, trials, summary, metric, label, color, grid):
    ax.scatter(trials.eps, trials[metric], color=color, alpha=0.3, s=14, label=f"{label}: each seed")
    if grid:
        lo, hi = summary[f"{metric}_ci_lo"], summary[f"{metric}_ci_hi"]
        mean = summary[f"{metric}_mean"]
        yerr = np.vstack([mean - lo, hi - mean])
        ax.errorbar(summary.eps, mean, yerr=np.nan_to_num(yerr), color=color, marker="o", capsize=4,
                    label=f"{label}: mean ± 95 % CI")
    elif len(trials) >= 2:
        coef = np.polyfit(trials.eps, trials[metric], deg=min(2, len(trials) - 1))
        xs = np.linspace(trials.eps.min(), trials.eps.max(), 100)
        ax.plot(xs, np.polyval(coef, xs), color=color, label=f"{label}: trend (polynomial fit)")


def _style(ax, title, ylabel, percent=False, symbol="%"):
    ax.set_title(title)
    ax.set_xlabel("label smoothing ε")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if percent:
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, symbol=symbol))
    ax.legend(fontsize=8)


def plot_gap(trials, summary, path, grid):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    _mean_ci(a1, trials, summary, "gap", "train − val accuracy", "C3", grid)
    _style(a1, "Overfitting gap: train − validation accuracy", "accuracy gap (percentage points)", percent=True,
           symbol=" pp")
    _mean_ci(a2, trials, summary, "nll_gap", "val NLL − train NLL", "C4", grid)
    _style(a2, "NLL gap (unsmoothed, both in eval mode)", "NLL gap (nats)")
    fig.suptitle("How the train/validation gap varies with ε", fontweight="bold")
    _save(fig, path)


def plot_accuracy(trials, summary, path, grid):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lo = min(trials[["train_acc", "val_acc"]].min().min(), TARGET_VAL) - 0.02
    ax.fill_between([trials.eps.min() - 0.01, trials.eps.max() + 0.01], TARGET_VAL, 1.0, color="C2", alpha=0.08,
                    label="claimed region: validation > 85 %")
    ax.axhline(TARGET_TRAIN, color="C2", ls=":", label="claimed: train < 92 % (below this line)")
    _mean_ci(ax, trials, summary, "train_acc", "train (eval mode)", "C0", grid)
    _mean_ci(ax, trials, summary, "val_acc", "validation", "C1", grid)
    ax.set_ylim(lo, min(1.0, max(trials.train_acc.max(), TARGET_TRAIN) + 0.02))
    _style(ax, "Accuracy against ε", "accuracy", percent=True)
    _save(fig, path)


def plot_learning_curves(epochs, path):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for i, (eps, g) in enumerate(epochs.groupby("eps")):
        for ax, metric in ((a1, "train_acc"), (a2, "val_acc")):
            per_epoch = g.groupby("epoch")[metric]
            rows = [t_interval(v) for _, v in per_epoch]
            x = np.array(list(per_epoch.groups))
            mean = np.array([r[0] for r in rows])
            ax.plot(x, mean, color=f"C{i}", marker=".", label=f"ε = {eps:g} (n = {g.trial.nunique()})")
            ax.fill_between(x, [r[2] for r in rows], [r[3] for r in rows], color=f"C{i}", alpha=0.15)
    for ax, title in ((a1, "Train accuracy (eval mode)"), (a2, "Validation accuracy")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Learning curves: mean over seeds, shaded 95 % CI", fontweight="bold")
    _save(fig, path)


def plot_loss(trials, summary, path, grid):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _mean_ci(ax, trials, summary, "val_nll", "validation NLL (unsmoothed)", "C0", grid)
    _mean_ci(ax, trials, summary, "val_loss", "validation smoothed loss", "C1", grid)
    xs = np.linspace(0, max(trials.eps.max(), 0.01), 100)
    ax.plot(xs, [smoothed_loss_floor(x) for x in xs], color="k", ls="--", label="floor of the smoothed loss, H(q)")
    _style(ax, "Validation loss against ε: smoothed losses have an ε-dependent floor", "loss (nats)")
    _save(fig, path)


def plot_calibration(trials, summary, epochs, path, grid):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    _mean_ci(a1, trials, summary, "val_ece", "validation ECE", "C5", grid)
    _style(a1, "Expected calibration error (15 bins)", "ECE")
    last = epochs[epochs.epoch == epochs.epoch.max()]
    a2.plot([0, 1], [0, 1], color="k", ls="--", lw=1, label="perfect calibration")
    for i, (eps, g) in enumerate(last.groupby("eps")):
        count = np.sum([np.asarray(c, dtype=float) for c in g.val_bin_count], axis=0)
        hits = np.sum([np.nan_to_num(np.asarray(a, dtype=float)) * np.asarray(c) for a, c in
                       zip(g.val_bin_acc, g.val_bin_count)], axis=0)
        conf = np.sum([np.nan_to_num(np.asarray(f, dtype=float)) * np.asarray(c) for f, c in
                       zip(g.val_bin_conf, g.val_bin_count)], axis=0)
        keep = count > 0
        a2.plot(conf[keep] / count[keep], hits[keep] / count[keep], marker="o", ms=3, color=f"C{i}",
                label=f"ε = {eps:g}")
    a2.set_title("Reliability diagram (validation, last epoch, seeds pooled)")
    a2.set_xlabel("confidence (mean per bin)")
    a2.set_ylabel("accuracy per bin")
    a2.grid(alpha=0.3)
    a2.legend(fontsize=8)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- the whole report

def write_report(study: optuna.Study, out: Path, storage_url: str | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    trials, epochs = trials_frame(study), epochs_frame(study)
    summary = summary_frame(trials)
    trials.to_csv(out / "trials.csv", index=False)
    epochs.to_csv(out / "epochs.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    if len(trials):
        grid = _is_grid(trials)
        plot_gap(trials, summary, out / "gap_vs_epsilon.png", grid)
        plot_accuracy(trials, summary, out / "accuracy_vs_epsilon.png", grid)
        plot_learning_curves(epochs, out / "learning_curves.png")
        plot_loss(trials, summary, out / "loss_vs_epsilon.png", grid)
        plot_calibration(trials, summary, epochs, out / "calibration.png", grid)
    (out / "README.md").write_text(render_readme(study, trials, summary, storage_url))
    _dashboard_note(study, out)
    return out


def state_counts(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def _pm(summary_row, metric, pct=True) -> str:
    mean, lo, hi = summary_row[f"{metric}_mean"], summary_row[f"{metric}_ci_lo"], summary_row[f"{metric}_ci_hi"]
    scale, unit = (100, "") if pct else (1, "")
    if math.isnan(lo):
        return f"{mean * scale:.2f}{unit}"
    return f"{mean * scale:.2f} ± {(hi - lo) / 2 * scale:.2f}{unit}"


def render_readme(study: optuna.Study, trials: pd.DataFrame, summary: pd.DataFrame, storage_url: str | None) -> str:
    from .study import mask_url

    proto = study.user_attrs.get("protocol", {})
    counts = state_counts(study)
    lines = [f"# Label smoothing and overfitting: study `{study.study_name}`", ""]
    lines += ["Question: how does label smoothing (ε) change the train/validation gap of a fixed CNN on CIFAR-10?", ""]
    lines += ["## Protocol actually used", ""]
    subset = proto.get("subset")
    device = ", ".join(sorted(trials.device.dropna().unique())) if len(trials) else "-"
    source = study.user_attrs.get("data_source", "?")
    jpeg = " — CIFAR-10 (JPEG q75 copy), not the original pixels" if "jpeg" in source.lower() else ""
    lines += [
        f"- data: `{source}`{jpeg} (fingerprint `{proto.get('data_fingerprint')}`)",
        f"- training images: {'all 50,000' if not subset else f'a stratified subset of {subset} (protocol changed)'}; "
        f"validation: {'the 10,000 test images' if not subset else f'{subset // 5} of the test images (protocol changed)'}",
        f"- epochs: {proto.get('epochs')}{'' if proto.get('epochs') == 10 else ' (protocol changed: 10 is the protocol)'}; "
        f"batch {proto.get('batch_size')}, Adam lr {proto.get('lr')}, precision {proto.get('precision')}, device {device}",
        f"- train accuracy and NLL: eval mode on a fixed sample of up to {proto.get('train_eval_size')} training images;"
        f" ECE with {proto.get('ece_bins')} equal-width bins",
        f"- sampling: {proto.get('sampling')}; sweep {proto.get('sweep_version')}"
        + (f"; storage `{mask_url(storage_url)}`" if storage_url else ""),
        f"- trials: {counts.get('COMPLETE', 0)} complete (used), {counts.get('RUNNING', 0)} running, "
        f"{counts.get('FAIL', 0)} failed, {counts.get('PRUNED', 0)} pruned (not used)",
        "",
    ]
    commands = study.user_attrs.get("commands", [])
    if commands:
        lines += ["Made by these commands, in order:", "", "```", *commands, "python -m sweep report", "```", ""]
    if not len(trials):
        return "\n".join(lines + ["No complete trial yet.", ""])
    one_seed = summary.n.max() < 2
    if one_seed:
        lines += ["One seed per ε: no confidence intervals, and no significance test.", ""]
    lines += ["## Per-ε results (mean ± 95 % CI half-width over seeds, t-interval)", "",
              "| ε | n | train acc % | val acc % | gap (pp) | val NLL | ECE % |", "|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        lines.append(f"| {r.eps:g} | {int(r.n)} | {_pm(r, 'train_acc')} | {_pm(r, 'val_acc')} | {_pm(r, 'gap')} | "
                     f"{_pm(r, 'val_nll', pct=False)} | {_pm(r, 'val_ece')} |")
    best = summary.loc[summary.val_acc_mean.idxmax()]
    lines += ["", "## Findings", ""]
    lines.append(f"- Best mean validation accuracy: ε = {best.eps:g} ({best.val_acc_mean * 100:.2f} %).")
    cmp = compare_to_baseline(trials, float(best.eps)) if best.eps != 0.0 else None
    if best.eps == 0.0:
        lines.append("- That is the unsmoothed baseline itself: smoothing did not improve validation accuracy here.")
    elif cmp is None:
        lines.append("- Significance against ε = 0: not tested (needs at least two seeds at both ε, and ε = 0 in the study).")
    else:
        lines.append(f"- Against ε = 0 (Welch's t-test, two-sided, α = 0.05): difference {cmp['diff'] * 100:+.2f} pp, "
                     f"t = {cmp['t']:.2f}, p = {cmp['p']:.3g}: "
                     f"{'significant' if cmp['significant'] else 'not significant'}.")
    lines += _verdict(summary) + [""] + _plain_words(summary) + [""]
    lines += ["## Plots", ""]
    for name, caption in (("gap_vs_epsilon", "Train − validation gap against ε (headline)"),
                          ("accuracy_vs_epsilon", "Accuracy against ε, with the claimed region"),
                          ("learning_curves", "Learning curves per ε"),
                          ("loss_vs_epsilon", "Validation NLL and smoothed loss against ε"),
                          ("calibration", "Calibration: ECE and reliability diagrams")):
        lines += [f"### {caption}", "", f"![{caption}]({name}.png)", ""]
    lines += ["Tables: `trials.csv` (one row per trial), `epochs.csv` (trial × epoch), `summary.csv` (per ε).", ""]
    return "\n".join(lines)


def _verdict(summary: pd.DataFrame) -> list[str]:
    out = []
    for eps, (claim_train, claim_val) in CLAIMS.items():
        row = summary[np.isclose(summary.eps, eps)]
        if len(row):
            r = row.iloc[0]
            out.append(f"- Tutorial's claim at ε = {eps:g}: train {claim_train:.0%} / val {claim_val:.0%}; measured "
                       f"train {r.train_acc_mean:.1%} / val {r.val_acc_mean:.1%} "
                       f"({(r.train_acc_mean - claim_train) * 100:+.1f} / {(r.val_acc_mean - claim_val) * 100:+.1f} pp).")
    target = [r for _, r in summary.iterrows() if r.val_acc_mean > TARGET_VAL and r.train_acc_mean < TARGET_TRAIN]
    best = summary.loc[summary.val_acc_mean.idxmax()]
    if target:
        out.append(f"- Target (val > 85 %, train < 92 %): met at ε = {', '.join(f'{r.eps:g}' for r in target)}.")
    else:
        out.append(f"- Target (val > 85 %, train < 92 %): not met; the best ε = {best.eps:g} reaches val "
                   f"{best.val_acc_mean:.1%}, {(TARGET_VAL - best.val_acc_mean) * 100:.1f} pp short.")
    return out


def _plain_words(summary: pd.DataFrame) -> list[str]:
    lo, hi = summary.iloc[0], summary.iloc[-1]
    if lo.eps == hi.eps:
        return ["- Only one ε in this study: nothing to compare yet."]
    d = lambda m: hi[f"{m}_mean"] - lo[f"{m}_mean"]  # noqa: E731
    return [
        f"- From ε = {lo.eps:g} to ε = {hi.eps:g}, the accuracy gap went from {lo.gap_mean * 100:.1f} to "
        f"{hi.gap_mean * 100:.1f} pp ({d('gap') * 100:+.1f}) and validation accuracy changed by {d('val_acc') * 100:+.1f} pp.",
        f"- Unsmoothed validation NLL changed by {d('val_nll'):+.3f} nats and the NLL gap by {d('nll_gap'):+.3f}; "
        f"ECE went from {lo.val_ece_mean * 100:.1f} % to {hi.val_ece_mean * 100:.1f} %.",
        "- Smoothed losses are not comparable across ε (their floor H(q) rises with ε); compare NLL instead.",
    ]


def _dashboard_note(study: optuna.Study, out: Path) -> None:
    try:
        from optuna_dashboard import save_note
    except ImportError:
        return
    save_note(study, f"# Report\n\nPlots and tables: `{out.resolve()}/README.md` "
                     "(written by `python -m sweep report`).\n")
