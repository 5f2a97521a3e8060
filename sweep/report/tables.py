"""A study's trials as tables: one row per trial, per trial × epoch, per ε; and what each metric is."""

from __future__ import annotations

import datetime
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from ..metrics import METRICS
from ..stats import epoch_noise, t_interval

# Per trial, from its history: where validation NLL was lowest, how far it rose after, and whether that rise
# stands out from the trial's own epoch-to-epoch noise; and the validation accuracy at an epoch chosen
# without the trial's own validation scores.
ONSET = ("best_epoch", "val_nll_min", "nll_rise", "nll_noise", "rises", "stop_epoch", "stopped_val_acc")
NUM_CLASSES = 10
CLAIMS = {0.0: (0.95, 0.80), 0.1: (0.90, 0.87)}  # the tutorial's (train, val) accuracy claims
TARGET_VAL, TARGET_TRAIN = 0.85, 0.92  # its target at ε = 0.1: validation above 85 %, train below 92 %
# A rise counts when it exceeds this many times the trial's epoch-to-epoch noise SD: a rule of thumb, not a
# test (ten epochs give the noise estimate only a few degrees of freedom).
RISE_NOISE = 3.0


# ---------------------------------------------------------------- per trial

def by_epoch(history) -> list[dict]:
    """The epochs that have a validation NLL, in order."""
    return sorted((h for h in history if _finite(h.get("val_nll"))), key=lambda h: h["epoch"])


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def nll_onset(history) -> int:
    """The epoch of the lowest validation NLL (the first one on ties): where overfitting starts to cost NLL."""
    rows = by_epoch(history)
    if not rows:
        raise ValueError("no epoch with a validation NLL")
    return int(min(rows, key=lambda h: h["val_nll"])["epoch"])


NOISE_EPOCHS = 5  # the fewest epochs whose second half holds the 3 values a second difference needs


def onset_fields(history) -> dict:
    """best_epoch, val_nll_min, nll_rise (last − lowest), nll_noise and whether the rise exceeds RISE_NOISE × it.

    The noise is measured on the second half of the epochs, where the curve bends least, so that the fast
    early fall is not taken for noise.
    """
    rows = by_epoch(history)
    if not rows:
        return {k: math.nan for k in ("best_epoch", "val_nll_min", "nll_rise", "nll_noise", "rises", "last_epoch")}
    best = min(rows, key=lambda h: h["val_nll"])  # min keeps the first of equals: the earliest epoch
    rise = rows[-1]["val_nll"] - best["val_nll"]
    noise = epoch_noise([h["val_nll"] for h in rows[len(rows) // 2:]])
    return {"best_epoch": int(best["epoch"]), "val_nll_min": best["val_nll"], "nll_rise": rise, "nll_noise": noise,
            "rises": float(rise > RISE_NOISE * noise) if math.isfinite(noise) else math.nan,
            "last_epoch": int(rows[-1]["epoch"])}


def signed_calibration(history) -> float:
    """Mean confidence − accuracy on the validation images at the last epoch, from its reliability bins:
    positive is over-confident, negative under-confident (ECE is the same sum with |·| per bin). NaN
    without bins."""
    rows = by_epoch(history)
    last = rows[-1] if rows else {}
    count, acc, conf = (last.get(f"val_bin_{k}") for k in ("count", "acc", "conf"))
    if not count or not sum(count):
        return math.nan
    total = sum(count)
    return float(sum(n * (c - a) for n, a, c in zip(count, acc, conf) if n) / total)


def trials_frame(study: optuna.Study, epochs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per COMPLETE trial with its ε, seed, final metrics, onset fields and stopped accuracy
    (`epochs`: the study's epochs_frame, where the caller has read it already)."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        row = {"trial": t.number, "eps": float(t.params["label_smoothing"]), "seed": int(t.params["seed"])}
        row.update({m: t.user_attrs.get(m, np.nan) for m in METRICS})
        row["val_sce"] = signed_calibration(t.user_attrs.get("history", []))
        row.update(onset_fields(t.user_attrs.get("history", [])))
        row["device"], row["machine"] = t.user_attrs.get("device"), t.user_attrs.get("machine")
        rows.append(row)
    cols = ["trial", "eps", "seed", *METRICS, *ONSET, "last_epoch", "device", "machine"]
    frame = pd.DataFrame(rows, columns=[c for c in cols if c not in ("stop_epoch", "stopped_val_acc")])
    frame = frame.sort_values(["eps", "seed"]).reset_index(drop=True)
    return add_stopping(frame, epochs_frame(study) if epochs is None else epochs)[cols]


def epochs_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per COMPLETE trial x epoch (reliability-diagram bins as lists)."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        for h in t.user_attrs.get("history", []):
            rows.append({"trial": t.number, "eps": float(t.params["label_smoothing"]),
                         "seed": int(t.params["seed"]), **h})
    return pd.DataFrame(rows)


def add_stopping(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """stop_epoch and stopped_val_acc: each trial stopped where the mean validation accuracy of the *other*
    seeds at its ε is highest (the first such epoch), so that no trial's stopping epoch is chosen on its own
    validation scores, and the epoch is picked on the quantity it reports, the same rule at every ε (picking
    it on NLL would stop ε = 0 early, where NLL turns up long before accuracy peaks). NaN where its ε has no
    other seed."""
    stop, acc = [], []
    for _, r in trials.iterrows():
        same = epochs[(epochs.eps == r.eps) & (epochs.trial != r.trial)] if len(epochs) else epochs
        curve = same.groupby("epoch").val_acc.mean().dropna() if len(same) and "val_acc" in same else pd.Series()
        own = epochs[epochs.trial == r.trial].drop_duplicates("epoch", keep="last").set_index("epoch") \
            if len(epochs) else None
        if not len(curve) or own is None or curve.idxmax() not in own.index:
            stop.append(math.nan)
            acc.append(math.nan)
            continue
        stop.append(int(curve.idxmax()))
        acc.append(own.loc[curve.idxmax(), "val_acc"])
    return trials.assign(stop_epoch=stop, stopped_val_acc=acc)


# ---------------------------------------------------------------- per ε

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


def seed_matrix(trials: pd.DataFrame, metric: str) -> pd.DataFrame:
    """seeds × ε of one metric, only the seeds that have a value at every ε (complete blocks)."""
    wide = trials.pivot_table(index="seed", columns="eps", values=metric, aggfunc="first")
    return wide.dropna()


def smoothed_loss_floor(eps: float, classes: int = NUM_CLASSES) -> float:
    """H(q): the least smoothed cross-entropy any model can reach at this ε."""
    on, off = 1 - eps + eps / classes, eps / classes
    h = -on * math.log(on)
    if off > 0:
        h -= (classes - 1) * off * math.log(off)
    return h


def duration(seconds: float) -> str:
    # Words (1 h 2 min) for prose; the progress line's `progress.fmt_duration` is a clock that ticks in place.
    minutes, s = divmod(round(seconds), 60)
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if h else f"{m} min {s} s" if m else f"{s} s"


@dataclass(frozen=True)
class WallSpan:
    first: datetime.datetime  # the first trial's start (this machine's local time, as Optuna reads it)
    last: datetime.datetime  # the last trial's completion
    corrected: int = 0  # trials whose start was written in local time (sweep <= 0.6.0 outside UTC), set right
    shift: datetime.timedelta = datetime.timedelta(0)  # how far their starts were moved (the most common shift)

    @property
    def seconds(self) -> float:
        return (self.last - self.first).total_seconds()


ZONE_STEP = datetime.timedelta(minutes=15)  # every time zone's offset from UTC is a multiple of this


def start_skew(t) -> datetime.timedelta:
    """How far a complete trial's recorded start is off, to the nearest 15 min: 0 for every trial sweep wrote
    in UTC (a trial carrying the `sweep` attribute, from 0.7.0 on, is never moved). sweep 0.6.0 wrote starts
    in local time (and Optuna's tell the completion in UTC), so such a trial lasts longer than the training
    it recorded for itself by the zone's offset (its own epochs, those after a checkpoint it resumed from,
    plus seconds of set-up: far below 7.5 min)."""
    history = t.user_attrs.get("history") or []
    if "sweep" in t.user_attrs or not (history and t.datetime_start and t.datetime_complete):
        return datetime.timedelta(0)
    resumed = t.user_attrs.get("resumed_from_epoch") or 0
    trained = sum((h.get("epoch_seconds") or 0) + (h.get("eval_seconds") or 0) for h in history
                  if h.get("epoch", 0) > resumed)
    skew = _aware(t.datetime_complete) - _aware(t.datetime_start) - datetime.timedelta(seconds=trained)
    return round(skew / ZONE_STEP) * ZONE_STEP


def _aware(naive: datetime.datetime) -> datetime.datetime:
    # Optuna hands back naive local time: with its offset attached, a span across a DST change is right.
    return naive.astimezone()


def wall_span(study: optuna.Study) -> WallSpan | None:
    """The first trial's start to the last trial's completion, or None where neither is recorded. Where some
    trials' starts were written in local time, those are set right by their own record and only complete
    trials count (a failed one's times cannot be checked)."""
    trials = study.get_trials(deepcopy=False)
    skews = {t.number: start_skew(t) for t in trials if t.state == optuna.trial.TrialState.COMPLETE}
    shifted = Counter(s for s in skews.values() if s)
    if shifted:
        trials = [t for t in trials if t.number in skews]
    starts = [_aware(t.datetime_start) + skews.get(t.number, datetime.timedelta(0)) for t in trials if t.datetime_start]
    ends = [_aware(t.datetime_complete) for t in trials if t.datetime_complete]
    if not (starts and ends):
        return None
    shift = shifted.most_common(1)[0][0] if shifted else datetime.timedelta(0)
    return WallSpan(min(starts), max(ends), sum(shifted.values()), shift)


def machines(trials: pd.DataFrame) -> list[str]:
    """"machine (device d): k trials" for the complete trials, grouped."""
    where = trials.fillna({"machine": "machine not recorded", "device": "?"}).groupby(["machine", "device"]).size()
    return [f"{m} (device {d}): {k} trial{'s' * (k > 1)}" for (m, d), k in where.items()]


def state_counts(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts
