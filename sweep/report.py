"""The report: reads a study and writes CSV tables, PNG plots and a README to a folder.

It only reads the study (plus one dashboard note that points at the report). Nothing it writes under
the output folder names a machine path: the report is meant to be shared, and the data's fingerprint
already identifies the data.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path, PurePosixPath

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402
from scipy import stats  # noqa: E402

METRICS = ("train_acc", "val_acc", "gap", "train_nll", "val_nll", "nll_gap", "val_loss", "val_ece", "seconds")
ONSET = ("best_epoch", "best_val_acc", "val_nll_min", "nll_rise")  # per trial, from its history
HEADLINE = ("val_acc", "gap", "val_nll", "val_ece")  # tested against ε = 0 in comparisons.csv
CURVES = ("val_acc", "gap", "val_nll", "nll_gap", "val_ece")  # described over the whole ε range
TARGET_VAL, TARGET_TRAIN = 0.85, 0.92  # the tutorial's claim at ε = 0.1: validation above 85 %, train below 92 %
CLAIMS = {0.0: (0.95, 0.80), 0.1: (0.90, 0.87)}  # the tutorial's (train, val) accuracy claims
NUM_CLASSES = 10
ALPHA, POWER = 0.05, 0.8
# (name, unit of a value); differences of a % are in pp
UNITS = {"train_acc": ("train accuracy", "%"), "val_acc": ("validation accuracy", "%"), "gap": ("accuracy gap", "pp"),
         "train_nll": ("train NLL", "nats"), "val_nll": ("validation NLL", "nats"), "nll_gap": ("NLL gap", "nats"),
         "val_loss": ("validation smoothed loss", "nats"), "val_ece": ("ECE", "%"), "seconds": ("time", "s"),
         "best_epoch": ("onset epoch", "epochs"), "best_val_acc": ("validation accuracy at the best-NLL epoch", "%"),
         "val_nll_min": ("lowest validation NLL", "nats"), "nll_rise": ("validation NLL rise", "nats")}
PLOTS = (("gap_vs_epsilon", "Train − validation gap against ε (headline)"),
         ("accuracy_vs_epsilon", "Accuracy against ε, with the claimed region"),
         ("overfitting_over_time", "Overfitting over time: validation NLL, accuracies and gaps per epoch"),
         ("loss_vs_epsilon", "Validation NLL and smoothed loss against ε"),
         ("calibration", "Calibration: ECE and reliability diagrams"))


# ---------------------------------------------------------------- paths

# An absolute path: after "sqlite:///", or at the start of a token (also after "=" or a "layout:" prefix);
# "//" right after the start is a URL's authority (postgresql://host/db), not a path.
_ABS_PATH = re.compile(r"(sqlite:///|(?<![^\s=:'\"`]))(/(?!/)[^\s'\"`]*)")


def portable_paths(text: str, cwd: str | os.PathLike) -> str:
    """`text` with every absolute path relative to `cwd` when under it, else reduced to its last component.

    "folders:/abs/x" -> "folders:x"; "sqlite:////cwd/studies/x.db" -> "sqlite:///studies/x.db";
    "--data-dir=/abs/x" -> "--data-dir=x". Pure: it never looks at the file system.
    """
    base = PurePosixPath(os.path.normpath(cwd))

    def shorten(match: re.Match) -> str:
        path = PurePosixPath(os.path.normpath(match.group(2)))
        if path == base:
            return match.group(1) + "."
        return match.group(1) + (str(path.relative_to(base)) if path.is_relative_to(base) else path.name or "/")

    return _ABS_PATH.sub(shorten, text)


# ---------------------------------------------------------------- tables

def _by_epoch(history) -> list[dict]:
    """The epochs that have a validation NLL, in order."""
    return sorted((h for h in history if _finite(h.get("val_nll"))), key=lambda h: h["epoch"])


def _lowest(rows: list[dict]) -> dict:
    return min(rows, key=lambda h: h["val_nll"])  # min keeps the first of equals: the earliest epoch


def nll_onset(history) -> int:
    """The epoch of the lowest validation NLL (the first one on ties): where overfitting starts to cost NLL."""
    rows = _by_epoch(history)
    if not rows:
        raise ValueError("no epoch with a validation NLL")
    return int(_lowest(rows)["epoch"])


def onset_fields(history) -> dict:
    """best_epoch, best_val_acc (there), val_nll_min and nll_rise (final − lowest); NaN without a history."""
    rows = _by_epoch(history)
    if not rows:
        return {k: math.nan for k in (*ONSET, "last_epoch")}
    best = _lowest(rows)
    return {"best_epoch": int(best["epoch"]), "best_val_acc": best.get("val_acc", math.nan),
            "val_nll_min": best["val_nll"], "nll_rise": rows[-1]["val_nll"] - best["val_nll"],
            "last_epoch": int(rows[-1]["epoch"])}


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per COMPLETE trial with its ε, seed, final metrics and where its validation NLL was lowest."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        row = {"trial": t.number, "eps": float(t.params["label_smoothing"]), "seed": int(t.params["seed"])}
        row.update({m: t.user_attrs.get(m, np.nan) for m in METRICS})
        row.update(onset_fields(t.user_attrs.get("history", [])))
        row["device"], row["machine"] = t.user_attrs.get("device"), t.user_attrs.get("machine")
        rows.append(row)
    cols = ["trial", "eps", "seed", *METRICS, *ONSET, "last_epoch", "device", "machine"]
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
        for m in (*METRICS, *ONSET):
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


# ---------------------------------------------------------------- statistics

def _welch_df(va: float, na: int, vb: float, nb: int) -> float:
    """Welch–Satterthwaite df from the squared standard errors va = s_a²/n_a and vb = s_b²/n_b."""
    return (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))


def welch(a, b) -> dict:
    """Welch's two-sided t-test of mean(a) − mean(b), with the 95 % CI of that difference.

    se = sqrt(s_a²/n_a + s_b²/n_b), df = se⁴ / ((s_a²/n_a)²/(n_a−1) + (s_b²/n_b)²/(n_b−1)),
    t = diff/se, p = 2·P(T_df > |t|), CI = diff ± t_{0.975,df}·se. Needs two values on each side.
    Without any spread on either side (se = 0) the difference is exact: p = 0 if it is non-zero, else 1.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's test needs at least two values on each side")
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return {"diff": diff, "lo": diff, "hi": diff, "df": float(len(a) + len(b) - 2),
                "t": math.copysign(math.inf, diff) if diff else 0.0, "p": 0.0 if diff else 1.0}
    se, df = math.sqrt(va + vb), _welch_df(va, len(a), vb, len(b))
    half = float(stats.t.ppf(0.975, df)) * se
    return {"diff": diff, "lo": diff - half, "hi": diff + half, "df": df, "t": diff / se,
            "p": float(2 * stats.t.sf(abs(diff / se), df))}


def holm(pvalues) -> list[float]:
    """Holm's step-down adjustment: the k-th smallest of m p-values times (m − k + 1), made non-decreasing
    in that order and capped at 1. Controls the chance of any false "significant" across the family."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    out = np.empty(len(p))
    out[order] = adjusted
    return out.tolist()


def min_detectable_difference(sd_a: float, n_a: int, sd_b: float, n_b: int, alpha: float = ALPHA,
                              power: float = POWER) -> float:
    """The smallest true difference of means a two-sided Welch test at `alpha` finds with probability `power`:

        MDD = (t_{1−α/2, df} + t_{power, df}) · sqrt(sd_a²/n_a + sd_b²/n_b),

    df the Welch–Satterthwaite df of the same SDs and n (the normal-approximation power formula with
    t quantiles for z). A "not significant" difference says little about effects smaller than this.
    """
    va, vb = sd_a ** 2 / n_a, sd_b ** 2 / n_b
    if va + vb == 0:
        return 0.0
    df = _welch_df(va, n_a, vb, n_b)
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * math.sqrt(va + vb))


def _against_zero(trials: pd.DataFrame, eps: float, metric: str) -> dict:
    a = trials.loc[trials.eps == eps, metric].dropna().to_numpy(dtype=float)
    b = trials.loc[trials.eps == 0.0, metric].dropna().to_numpy(dtype=float)
    row = {"metric": metric, "eps": eps, "n": len(a), "n_zero": len(b), "mean": a.mean() if len(a) else math.nan,
           "mean_zero": b.mean() if len(b) else math.nan}
    if len(a) < 2 or len(b) < 2:
        side = f"ε = {eps:g}" if len(a) < 2 else "ε = 0"
        why = f"not tested: {'one seed' if min(len(a), len(b)) == 1 else 'no value'} at {side} (no spread to test)"
        return {**row, "diff": row["mean"] - row["mean_zero"], "note": why}
    return {**row, **welch(a, b), "sd": a.std(ddof=1), "sd_zero": b.std(ddof=1), "note": ""}


def comparisons_frame(trials: pd.DataFrame, metrics=HEADLINE) -> pd.DataFrame:
    """Each ε ≠ 0 against ε = 0, per metric: Welch difference, 95 % CI and p; Holm-adjusted p over the ε
    tested (one family per metric); significant only when that is below α; the MDD where it is not."""
    cols = ["metric", "eps", "n", "n_zero", "mean", "mean_zero", "diff", "lo", "hi", "df", "t", "p", "p_holm",
            "significant", "mdd", "note"]
    others = sorted(set(trials.eps) - {0.0}) if (trials.eps == 0.0).any() else []
    rows = []
    for metric in metrics:
        family = [_against_zero(trials, eps, metric) for eps in others]
        tested = [r for r in family if not r["note"]]
        for r, p_holm in zip(tested, holm([r["p"] for r in tested])):
            r["p_holm"], r["significant"] = p_holm, bool(p_holm < ALPHA)
            if not r["significant"]:
                r["mdd"] = min_detectable_difference(r["sd"], r["n"], r["sd_zero"], r["n_zero"])
        rows += family
    return pd.DataFrame(rows, columns=cols)


def trend_words(values) -> str:
    """How a sequence moves: 'rises monotonically', 'falls monotonically', 'flat', or its turns."""
    moves = [s for s in np.sign(np.diff(np.asarray(values, dtype=float))) if s != 0]
    if not moves:
        return "flat"
    runs = [moves[0]] + [s for prev, s in zip(moves, moves[1:]) if s != prev]
    if len(runs) == 1:
        return "rises monotonically" if runs[0] > 0 else "falls monotonically"
    if len(runs) > 3:
        return f"not monotone: changes direction {len(runs) - 1} times"
    return "not monotone: " + ", then ".join("rises" if s > 0 else "falls" for s in runs)


# ---------------------------------------------------------------- plots

def _is_grid(trials: pd.DataFrame) -> bool:
    return trials.groupby("eps").size().max() > 1 or trials.eps.nunique() <= 8


def _seeds(n: int) -> str:
    return "one seed" if n == 1 else f"n = {n}"


def _eps_colors(eps_values) -> dict:
    """One colour per ε, the same in every plot; a sequential map once there are more than ten."""
    eps_values = sorted(eps_values)
    if len(eps_values) <= 10:
        return {e: f"C{i}" for i, e in enumerate(eps_values)}
    cmap = matplotlib.colormaps["viridis"]
    return {e: cmap(i / (len(eps_values) - 1)) for i, e in enumerate(eps_values)}


def _mean_ci(ax, trials, summary, metric, label, color, grid):
    ax.scatter(trials.eps, trials[metric], color=color, alpha=0.3, s=14, label=f"{label}: each seed")
    if grid:
        mean = summary[f"{metric}_mean"]
        ax.plot(summary.eps, mean, color=color, lw=1)
        # A one-seed ε has no spread to show: a hollow marker, no error bar.
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


def _style(ax, title, ylabel, percent=False, symbol="%", xlabel="label smoothing ε"):
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, symbol=symbol))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def plot_gap(trials, summary, path, grid):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    _mean_ci(a1, trials, summary, "gap", "train − val accuracy", "C3", grid)
    _style(a1, "Accuracy gap: train (eval mode) − validation accuracy", "gap (pp)", percent=True, symbol=" pp")
    _mean_ci(a2, trials, summary, "nll_gap", "val NLL − train NLL", "C4", grid)
    _style(a2, "NLL gap: validation − train NLL (unsmoothed, eval mode)", "gap (nats)")
    fig.suptitle("Overfitting at the last epoch against label smoothing ε", fontweight="bold")
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
    _style(ax, "Accuracy at the last epoch against label smoothing ε", "accuracy (%)", percent=True)
    _save(fig, path)


def _epoch_curve(ax, g, metric, color, label):
    """Mean over the seeds of one ε at each epoch, shaded 95 % t-CI; no band for one seed."""
    per_epoch = g.groupby("epoch")[metric]
    rows = [t_interval(v) for _, v in per_epoch]
    x = np.array(list(per_epoch.groups))
    ax.plot(x, [r[0] for r in rows], color=color, marker=".", label=label)
    if g.trial.nunique() > 1:
        ax.fill_between(x, [r[2] for r in rows], [r[3] for r in rows], color=color, alpha=0.15)


def plot_overfitting_over_time(epochs, path):
    epochs = epochs.assign(gap=epochs.train_acc - epochs.val_acc, nll_gap=epochs.val_nll - epochs.train_nll)
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    panels = (("val_nll", "Validation NLL (unsmoothed)", "NLL (nats)", None),
              ("val_acc", "Validation accuracy", "accuracy (%)", "%"),
              ("train_acc", "Train accuracy (eval mode)", "accuracy (%)", "%"),
              ("gap", "Accuracy gap: train − validation", "gap (pp)", " pp"),
              ("nll_gap", "NLL gap: validation − train", "gap (nats)", None))
    colors = _eps_colors(epochs.eps.unique())
    for ax, (metric, title, ylabel, symbol) in zip(axes.flat, panels):
        for eps, g in epochs.groupby("eps"):
            _epoch_curve(ax, g, metric, colors[eps], f"ε = {eps:g} ({_seeds(g.trial.nunique())})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _style(ax, title, ylabel, percent=symbol is not None, symbol=symbol or "%", xlabel="epoch")
        ax.get_legend().remove()
    legend_ax = axes.flat[-1]
    legend_ax.axis("off")
    legend_ax.legend(*axes.flat[0].get_legend_handles_labels(), loc="center", title="label smoothing",
                     fontsize=9, title_fontsize=9)
    fig.suptitle("Overfitting over time: mean over seeds per ε, shaded 95 % t-CI (none for one seed)",
                 fontweight="bold")
    _save(fig, path)


def plot_loss(trials, summary, path, grid):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _mean_ci(ax, trials, summary, "val_nll", "validation NLL (unsmoothed)", "C0", grid)
    _mean_ci(ax, trials, summary, "val_loss", "validation smoothed loss", "C1", grid)
    xs = np.linspace(0, max(trials.eps.max(), 0.01), 100)
    ax.plot(xs, [smoothed_loss_floor(x) for x in xs], color="k", ls="--", label="floor of the smoothed loss, H(q)")
    _style(ax, "Validation loss at the last epoch against ε:\nsmoothed losses have an ε-dependent floor",
           "loss (nats)")
    _save(fig, path)


def plot_calibration(trials, summary, epochs, path, grid):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    _mean_ci(a1, trials, summary, "val_ece", "validation ECE", "C5", grid)
    _style(a1, "Expected calibration error at the last epoch (15 bins)", "ECE (%)", percent=True)
    last = epochs[epochs.epoch == epochs.epoch.max()]
    colors = _eps_colors(last.eps.unique())
    a2.plot([0, 1], [0, 1], color="k", ls="--", lw=1, label="perfect calibration")
    for eps, g in last.groupby("eps"):
        count = np.sum([np.asarray(c, dtype=float) for c in g.val_bin_count], axis=0)
        hits = np.sum([np.nan_to_num(np.asarray(a, dtype=float)) * np.asarray(c) for a, c in
                       zip(g.val_bin_acc, g.val_bin_count)], axis=0)
        conf = np.sum([np.nan_to_num(np.asarray(f, dtype=float)) * np.asarray(c) for f, c in
                       zip(g.val_bin_conf, g.val_bin_count)], axis=0)
        keep = count > 0
        a2.plot(conf[keep] / count[keep], hits[keep] / count[keep], marker="o", ms=3, color=colors[eps],
                label=f"ε = {eps:g} ({_seeds(g.trial.nunique())})")
    a2.xaxis.set_major_formatter(PercentFormatter(1.0))
    _style(a2, "Reliability diagram (validation, last epoch, seeds pooled)", "accuracy per bin (%)", percent=True,
           xlabel="confidence, mean per bin (%)")
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- the whole report

def write_report(study: optuna.Study, out: Path, storage_url: str | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    trials, epochs = trials_frame(study), epochs_frame(study)
    summary, comparisons = summary_frame(trials), comparisons_frame(trials)
    trials.to_csv(out / "trials.csv", index=False)
    epochs.to_csv(out / "epochs.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    comparisons.to_csv(out / "comparisons.csv", index=False)
    if len(trials):
        grid = _is_grid(trials)
        plot_gap(trials, summary, out / "gap_vs_epsilon.png", grid)
        plot_accuracy(trials, summary, out / "accuracy_vs_epsilon.png", grid)
        plot_overfitting_over_time(epochs, out / "overfitting_over_time.png")
        plot_loss(trials, summary, out / "loss_vs_epsilon.png", grid)
        plot_calibration(trials, summary, epochs, out / "calibration.png", grid)
    readme = render_readme(study, trials, summary, comparisons, storage_url, cwd=Path.cwd())
    (out / "README.md").write_text(readme)
    _dashboard_note(study, out)
    return out


def state_counts(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def _pm(summary_row, metric) -> str:
    mean, lo, hi = summary_row[f"{metric}_mean"], summary_row[f"{metric}_ci_lo"], summary_row[f"{metric}_ci_hi"]
    scale = _scale(metric)
    if math.isnan(lo):
        return f"{mean * scale:.2f}"
    return f"{mean * scale:.2f} ± {(hi - lo) / 2 * scale:.2f}"


def _scale(metric: str) -> float:
    return 100.0 if UNITS[metric][1] in ("%", "pp") else 1.0


def _diff_unit(metric: str) -> str:
    return "pp" if UNITS[metric][1] in ("%", "pp") else UNITS[metric][1]


def _digits(metric: str) -> int:
    """Decimals shown: 2 for percentages and pp, 3 for nats, 1 for anything else (epochs)."""
    return 2 if _scale(metric) == 100 else 3 if UNITS[metric][1] == "nats" else 1


def _duration(seconds: float) -> str:
    minutes, s = divmod(round(seconds), 60)
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if h else f"{m} min {s} s" if m else f"{s} s"


def run_lines(study: optuna.Study, trials: pd.DataFrame) -> list[str]:
    """Where and how long the sweep ran: wall time from the trials' datetimes, machines from their attrs."""
    all_trials = study.get_trials(deepcopy=False)
    starts = [t.datetime_start for t in all_trials if t.datetime_start]
    ends = [t.datetime_complete for t in all_trials if t.datetime_complete]
    lines = []
    if starts and ends:
        first, last = min(starts), max(ends)
        summed = (f"; {_duration(trials.seconds.sum())} of training summed over the complete trials"
                  if trials.seconds.notna().any() else "")
        lines.append(f"- wall time: {_duration((last - first).total_seconds())}, from the first trial's start "
                     f"({first:%Y-%m-%d %H:%M}) to the last trial's completion ({last:%Y-%m-%d %H:%M}), pauses "
                     f"between reruns included{summed}")
    else:
        lines.append("- wall time: not recorded")
    if len(trials):
        where = trials.fillna({"machine": "machine not recorded", "device": "?"}).groupby(["machine", "device"]).size()
        lines.append("- ran on: " + "; ".join(f"{m} (device {d}): {k} trial{'s' * (k > 1)}"
                                              for (m, d), k in where.items()))
    return lines


def render_readme(study: optuna.Study, trials: pd.DataFrame, summary: pd.DataFrame, comparisons: pd.DataFrame,
                  storage_url: str | None, cwd: str | os.PathLike = "/") -> str:
    from .storage import mask_url, recorded_commands

    here = lambda text: portable_paths(text, cwd)  # noqa: E731
    proto = study.user_attrs.get("protocol", {})
    counts = state_counts(study)
    lines = [f"# Label smoothing and overfitting: study `{study.study_name}`", ""]
    lines += ["Question: how does label smoothing (ε) change the train/validation gap of a fixed CNN on CIFAR-10?", ""]
    lines += ["## Protocol actually used", ""]
    subset = proto.get("subset")
    source = here(study.user_attrs.get("data_source", "?"))
    jpeg = " — CIFAR-10 (JPEG q75 copy), not the original pixels" if "jpeg" in source.lower() else ""
    lines += [
        f"- data: `{source}`{jpeg} (fingerprint `{proto.get('data_fingerprint')}`)",
        f"- training images: {'all 50,000' if not subset else f'a stratified subset of {subset} (protocol changed)'}; "
        f"validation: {'the 10,000 test images' if not subset else f'{subset // 5} of the test images (protocol changed)'}",
        f"- epochs: {proto.get('epochs')}{'' if proto.get('epochs') == 10 else ' (protocol changed: 10 is the protocol)'}; "
        f"batch {proto.get('batch_size')}, Adam lr {proto.get('lr')}, precision {proto.get('precision')}",
        f"- train accuracy and NLL: eval mode on a fixed sample of up to {proto.get('train_eval_size')} training images;"
        f" ECE with {proto.get('ece_bins')} equal-width bins",
        f"- sampling: {proto.get('sampling')}; sweep {proto.get('sweep_version')}"
        + (f"; storage `{here(mask_url(storage_url))}`" if storage_url else ""),
        f"- trials: {counts.get('COMPLETE', 0)} complete (used), {counts.get('RUNNING', 0)} running, "
        f"{counts.get('FAIL', 0)} failed, {counts.get('PRUNED', 0)} pruned (not used)",
    ]
    if len(summary):
        lines.append("- seeds per ε: " + ", ".join(f"{r.eps:g}: {_seeds(int(r.n))}" for _, r in summary.iterrows()))
    lines += run_lines(study, trials) + [""]
    commands = [here(c) for c in recorded_commands(study)]
    if commands:
        lines += ["Made by these commands, in order:", "", "```", *commands, "python -m sweep report", "```", ""]
    if not len(trials):
        return "\n".join(lines + ["No complete trial yet.", ""])
    if summary.n.max() < 2:
        lines += ["One seed per ε: no confidence intervals, and no significance test.", ""]
    lines += _results_table(summary)
    lines += ["", "## Findings", ""] + _curve_lines(summary)
    lines += ["- Smoothed losses are not comparable across ε (their floor H(q) rises with ε); compare NLL instead."]
    lines += _verdict(summary) + [""]
    lines += _comparison_section(comparisons) + _onset_section(trials, summary) + ["## Plots", ""]
    for name, caption in PLOTS:
        lines += [f"### {caption}", "", f"![{caption}]({name}.png)", ""]
    lines += ["Tables: `trials.csv` (one row per trial, with its onset epoch and NLL rise), `epochs.csv` "
              "(trial × epoch), `summary.csv` (per ε), `comparisons.csv` (each ε against ε = 0, in the metrics' "
              "raw units: accuracies as fractions).", ""]
    return "\n".join(lines)


def _results_table(summary: pd.DataFrame) -> list[str]:
    lines = ["## Per-ε results (mean ± 95 % CI half-width over seeds, t-interval; one seed: the value alone)", "",
             "| ε | n | train acc % | val acc % | gap (pp) | val NLL | NLL gap | ECE % |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        n = f"{int(r.n)}" + (" (one seed)" if r.n == 1 else "")
        lines.append(f"| {r.eps:g} | {n} | {_pm(r, 'train_acc')} | {_pm(r, 'val_acc')} | {_pm(r, 'gap')} | "
                     f"{_pm(r, 'val_nll')} | {_pm(r, 'nll_gap')} | {_pm(r, 'val_ece')} |")
    return lines


def _curve_lines(summary: pd.DataFrame) -> list[str]:
    """The whole curve over ε of each headline metric: every mean, where it peaks and dips, and its shape."""
    if len(summary) < 2:
        return ["- Only one ε in this study: nothing to compare yet."]
    out = []
    for m in CURVES:
        name, unit = UNITS[m]
        means = summary[f"{m}_mean"].to_numpy() * _scale(m)
        eps, means = summary.eps.to_numpy()[~np.isnan(means)], means[~np.isnan(means)]
        if len(means) < 2:
            continue
        values = ", ".join(f"{v:.{_digits(m)}f} (ε = {e:g})" for e, v in zip(eps, means))
        hi, lo = eps[int(np.argmax(means))], eps[int(np.argmin(means))]
        where = f"highest at ε = {hi:g}, lowest at ε = {lo:g}; " if trend_words(means) != "flat" else ""
        out.append(f"- {name[0].upper() + name[1:]} ({unit}): {values}; {where}{trend_words(means)} with ε.")
    return out


def _verdict(summary: pd.DataFrame) -> list[str]:
    out = []
    for eps, (claim_train, claim_val) in CLAIMS.items():
        row = summary[np.isclose(summary.eps, eps)]
        if len(row):
            r = row.iloc[0]
            out.append(f"- Tutorial's claim at ε = {eps:g}: train {claim_train:.0%} / val {claim_val:.0%}; measured "
                       f"train {r.train_acc_mean:.1%} / val {r.val_acc_mean:.1%} "
                       f"({(r.train_acc_mean - claim_train) * 100:+.1f} / {(r.val_acc_mean - claim_val) * 100:+.1f} pp).")
    met = [r.eps for _, r in summary.iterrows() if r.val_acc_mean > TARGET_VAL and r.train_acc_mean < TARGET_TRAIN]
    where = f"met at ε = {', '.join(f'{e:g}' for e in met)}" if met else "not met at any ε"
    out.append(f"- Target (val > 85 %, train < 92 %, means over seeds): {where}.")
    return out + [f"  - {target_check(r.eps, r.val_acc_mean, r.train_acc_mean)}" for _, r in summary.iterrows()]


def target_check(eps: float, val: float, train: float) -> str:
    """Each side of the target on its own, so that a miss names the side that fails."""
    v = "meets: above 85 %" if val > TARGET_VAL else "fails: not above 85 %"
    t = "meets: below 92 %" if train < TARGET_TRAIN else "fails: not below 92 %"
    return f"ε = {eps:g}: val {val * 100:.1f} % ({v}), train {train * 100:.1f} % ({t})"


def _signed(row, metric) -> str:
    s, digits = _scale(metric), _digits(metric)
    if "lo" not in row or pd.isna(row["lo"]):
        return f"{row['diff'] * s:+.{digits}f}"
    return f"{row['diff'] * s:+.{digits}f} [{row['lo'] * s:+.{digits}f}, {row['hi'] * s:+.{digits}f}]"


def _comparison_section(comparisons: pd.DataFrame) -> list[str]:
    lines = ["## Each ε against ε = 0", ""]
    if not len(comparisons):
        return lines + ["No ε = 0 trials, or no other ε: nothing to compare against.", ""]
    if comparisons.note.eq("").sum() == 0:
        return lines + ["Not tested: every ε compared, or ε = 0, has a single seed (no spread to test).", ""]
    k = comparisons.eps.nunique()
    lines += [f"Welch's t-test (unequal variances, Welch–Satterthwaite df), two-sided; p adjusted by Holm over the "
              f"{k} ε compared with ε = 0, separately for each metric; significant only when the adjusted p < 0.05. "
              "Where not significant, MDD is the smallest true difference these seeds would detect with 80 % power "
              "at α = 0.05 (two-sided): differences smaller than that may well have been missed.", "",
              "| metric | ε | n (ε / 0) | difference (95 % CI) | df | p | Holm p | verdict |",
              "|---|---|---|---|---|---|---|---|"]
    for _, r in comparisons.iterrows():
        name, unit = UNITS[r.metric][0], _diff_unit(r.metric)
        n = f"{r.n} / {r.n_zero}"
        if r.note:
            lines.append(f"| {name} ({unit}) | {r.eps:g} | {n} | {_signed(r, r.metric)} | – | – | – | {r.note} |")
            continue
        verdict = "**significant**" if r.significant else \
            f"not significant (MDD {r.mdd * _scale(r.metric):.{_digits(r.metric)}f})"
        lines.append(f"| {name} ({unit}) | {r.eps:g} | {n} | {_signed(r, r.metric)} | {r.df:.1f} | {r.p:.3g} | "
                     f"{r.p_holm:.3g} | {verdict} |")
    return lines + [""]


def _onset_section(trials: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    lines = ["## Overfitting over time", "",
             "Per trial, the onset is the epoch of its lowest validation NLL (unsmoothed; the first on ties) and the "
             "rise is the last epoch's validation NLL minus that lowest value.", ""]
    for _, r in summary.iterrows():
        g = trials[trials.eps == r.eps]
        before, _ = _before_last(trials, r.eps)
        if r.n < 2:
            lines.append(f"- ε = {r.eps:g} (one seed): lowest validation NLL at epoch {r.best_epoch_mean:g}"
                         f"{' before' if before else ', not before'} the last epoch ({g.last_epoch.max():g}); "
                         f"rise {r.nll_rise_mean:.3f} nats.")
            continue
        onset = f"{r.best_epoch_mean:.1f}" + ("" if math.isnan(r.best_epoch_ci_lo) else
                                               f" ± {(r.best_epoch_ci_hi - r.best_epoch_ci_lo) / 2:.1f}")
        lines.append(f"- ε = {r.eps:g} (n = {int(r.n)}): lowest validation NLL at epoch {onset} on average; "
                     f"{before} of {int(r.n)} seeds reach it before the last epoch ({g.last_epoch.max():g}); "
                     f"mean rise {r.nll_rise_mean:.3f} nats.")
    if (trials.eps == 0.0).any() and trials.eps.nunique() > 1:
        cmp = comparisons_frame(trials, ("best_epoch", "nll_rise", "val_acc", "best_val_acc"))
        lines += ["", _onset_verdict(trials, cmp), "", _early_stopping_verdict(cmp)]
    return lines + [""]


def _before_last(trials: pd.DataFrame, eps: float) -> tuple[int, int]:
    g = trials[trials.eps == eps]
    return int((g.best_epoch < g.last_epoch).sum()), len(g)


def _onset_verdict(trials: pd.DataFrame, cmp: pd.DataFrame) -> str:
    """One sentence: per ε, does smoothing delay or remove the rise of validation NLL seen at ε = 0?"""
    zero = trials[trials.eps == 0.0]
    k0, n0 = _before_last(trials, 0.0)
    parts = []
    for eps in sorted(set(trials.eps) - {0.0}):
        onset = cmp[(cmp.metric == "best_epoch") & (cmp.eps == eps)].iloc[0]
        rise = cmp[(cmp.metric == "nll_rise") & (cmp.eps == eps)].iloc[0]
        k, n = _before_last(trials, eps)
        if k == 0 and k0 > 0:
            parts.append(f"ε = {eps:g} removes the rise (no seed's validation NLL is lowest before the last epoch"
                         + (", but from one seed only)" if n < 2 else ")"))
        elif onset.note or rise.note:
            parts.append(f"ε = {eps:g} has onset epoch {onset['mean']:.1f} and rise {rise['mean']:.3f} nats, "
                         "not tested (one seed)")
        else:
            said = [f"{'delays' if onset['diff'] > 0 else 'brings forward'} the onset by {abs(onset['diff']):.1f} "
                    f"epochs (Holm p = {onset.p_holm:.2g})" if onset.significant else
                    f"does not significantly move the onset ({onset['diff']:+.1f} epochs, Holm p = {onset.p_holm:.2g})",
                    f"{'shrinks' if rise['diff'] < 0 else 'enlarges'} the rise by {abs(rise['diff']):.3f} nats "
                    f"(Holm p = {rise.p_holm:.2g})" if rise.significant else
                    f"does not significantly change the rise ({rise['diff']:+.3f} nats, Holm p = {rise.p_holm:.2g})"]
            parts.append(f"ε = {eps:g} {said[0]} and {said[1]}, with {k} of {n} seeds still rising")
    return (f"- Does smoothing delay or remove the rise of validation NLL? At ε = 0 the onset is at epoch "
            f"{zero.best_epoch.mean():.1f} and {k0} of {n0} seeds rise, by {zero.nll_rise.mean():.3f} nats on average; "
            + "; ".join(parts) + ".")


def _early_stopping_verdict(cmp: pd.DataFrame) -> str:
    """Would stopping each trial at its best-NLL epoch change the ε-vs-0 verdict on validation accuracy?"""
    final = cmp[(cmp.metric == "val_acc") & (cmp.note == "")].set_index("eps")
    best = cmp[(cmp.metric == "best_val_acc") & (cmp.note == "")].set_index("eps")
    both = final.index.intersection(best.index)
    head = ("- Stopping each trial at its lowest-validation-NLL epoch (best_val_acc; the epoch is chosen on the "
            "validation set itself, not on held-out data)")
    if not len(both):
        return head + ": not tested (needs two seeds at ε and at ε = 0)."
    word = lambda r: "significant" if r.significant else "not significant"  # noqa: E731
    changes, diffs = [], []
    for eps in both:
        f, b = final.loc[eps], best.loc[eps]
        diffs.append(f"ε = {eps:g}: {f['diff'] * 100:+.2f} → {b['diff'] * 100:+.2f} pp")
        if np.sign(f["diff"]) != np.sign(b["diff"]) or f.significant != b.significant:
            changes.append(f"ε = {eps:g} ({word(f)} → {word(b)}"
                           + (", the sign flips" if np.sign(f["diff"]) != np.sign(b["diff"]) else "") + ")")
    verdict = (f"would change the verdict on validation accuracy against ε = 0 at {', '.join(changes)}" if changes else
               "would not change the verdict on validation accuracy against ε = 0: the same sign and significance "
               "at every ε tested")
    return f"{head} {verdict}; differences from ε = 0, last epoch → best epoch: {'; '.join(diffs)}."


def _dashboard_note(study: optuna.Study, out: Path) -> None:
    try:
        from optuna_dashboard import save_note
    except ImportError:
        return
    # The database keeps the full record, so the note may name the folder in full.
    save_note(study, f"# Report\n\nPlots and tables: `{out.resolve()}/README.md` "
                     "(written by `python -m sweep report`).\n")
