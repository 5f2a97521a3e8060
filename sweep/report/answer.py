"""The report's first screen: the question, a plain answer of at most 160 words, and the verdict table.

Every word of direction comes from a verdict in `comparisons.csv` (read off the adjusted interval shown
beside it) or, for calibration, from a 95 % interval over seeds; sizes are the estimates, rounded.
"""

from __future__ import annotations

import math

import pandas as pd

from ..protocol import DEFAULT_PRIMARY
from .analysis import word
from ..stats import Crossing
from ..metrics import HEADLINE, NAMES, UNITS, diff_unit, digits, scale

WIDER = {"gap", "nll_gap"}  # metrics whose "higher" reads as "wider"
TABLE = ("gap", "train_acc", "val_acc", "nll_gap", "val_ece")  # the verdict table's rows, primary first
MAX_WORDS = 160


def eps_list(values) -> str:
    values = [f"{v:g}" for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _size(rows: pd.DataFrame, metric: str) -> str:
    """"about 1.0 pp" or "1.0–1.2 pp": the estimates' magnitudes, as they are."""
    s, d = scale(metric), max(digits(metric) - 1, 1)
    sizes = sorted(abs(rows["diff"]) * s)
    lo, hi = f"{sizes[0]:.{d}f}", f"{sizes[-1]:.{d}f}"
    return f"about {lo} {diff_unit(metric)}" if lo == hi else f"{lo}–{hi} {diff_unit(metric)}"


def groups(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    tested = rows[rows.p.notna()]
    sig, eq = tested.significant.astype(bool), tested.equivalent.astype(bool)
    return {"up": tested[sig & (tested["diff"] > 0)], "down": tested[sig & (tested["diff"] < 0)],
            "same": tested[~sig & eq], "unclear": tested[~sig & ~eq]}


def _margin(rows: pd.DataFrame, metric: str) -> str:
    return f"±{rows.margin.iloc[0] * scale(metric):g} {diff_unit(metric)}"


def clause(rows: pd.DataFrame, metric: str) -> str:
    """One metric's verdicts in a few words: "higher at ε = 0.2 (about 0.8 pp), within ±1 pp at 0.05 and 0.1"."""
    g = groups(rows)
    up, down = ("wider", "narrower") if metric in WIDER else ("higher", "lower")
    parts = [f"{word} at ε = {eps_list(g[key].eps)} ({_size(g[key], metric)})"
             for key, word in (("up", up), ("down", down)) if len(g[key])]
    if len(g["same"]):
        parts.append(f"within {_margin(rows, metric)} at ε = {eps_list(g['same'].eps)}")
    if len(g["unclear"]):
        parts.append(f"inconclusive at ε = {eps_list(g['unclear'].eps)}")
    return ", ".join(parts) if parts else "not tested"


def primary_sentence(rows: pd.DataFrame, metric: str) -> str:
    """The primary verdict in words, the direction that answers the question first."""
    g = groups(rows)
    name = NAMES.get(metric, UNITS[metric][0])
    up, down = ("widened", "narrowed") if metric in WIDER else ("raised", "lowered")
    rest = [f"within {_margin(rows, metric)} of ε = 0 at ε = {eps_list(g['same'].eps)}"] if len(g["same"]) else []
    rest += [f"inconclusive at ε = {eps_list(g['unclear'].eps)}"] if len(g["unclear"]) else []
    tail = f"; {', '.join(rest)}" if rest else ""
    if len(g["up"]) and len(g["down"]):
        return (f"It depends on ε: smoothing {up} {name} at ε = {eps_list(g['up'].eps)} ({_size(g['up'], metric)}) "
                f"and {down} it at ε = {eps_list(g['down'].eps)} ({_size(g['down'], metric)}){tail}.")
    if metric == DEFAULT_PRIMARY and (len(g["up"]) or len(g["down"])):
        # "No" / "Yes" only where every ε tested says so; else what was shown, and where.
        everywhere = len(g["up"]) + len(g["down"]) == len(rows[rows.p.notna()])
        lead = ("No" if everywhere else "No shrinking shown at any ε") if len(g["up"]) else \
            ("Yes" if everywhere else "Yes, at some ε")
    else:
        lead = ""
    for key, verb in (("up", up), ("down", down)):
        if len(g[key]):
            text = f"smoothing {verb} {name} by {_size(g[key], metric)} at ε = {eps_list(g[key].eps)}{tail}."
            return f"{lead}: {text}" if lead else text[0].upper() + text[1:]
    if len(g["same"]) and not len(g["unclear"]):
        return f"No: {name} stayed within {_margin(rows, metric)} of ε = 0 at every ε tested."
    tested = rows[rows.p.notna()]
    if not len(tested):
        return f"Not tested yet: {name} needs two seeds at ε = 0 and at another ε."
    s, d = scale(metric), digits(metric)
    lo, hi = tested["diff"].min() * s, tested["diff"].max() * s
    moved = f"{lo:+.{d}f} {diff_unit(metric)}" if f"{lo:.{d}f}" == f"{hi:.{d}f}" else \
        f"{lo:+.{d}f} to {hi:+.{d}f} {diff_unit(metric)}"
    same = f"; within {_margin(rows, metric)} at ε = {eps_list(g['same'].eps)}" if len(g["same"]) else ""
    return (f"Not shown either way: {name} moved by {moved} against ε = 0, but no change is significant"
            + (f" and none is shown within {_margin(rows, metric)}" if not same else "") + f"{same}.")


def question(metric: str) -> str:
    if metric == "gap":
        return "Does label smoothing shrink the train–validation accuracy gap?"
    return f"Does label smoothing change {NAMES.get(metric, UNITS[metric][0])}?"


def calibration_sentence(summary: pd.DataFrame, crossing: Crossing | None) -> str:
    """Over- or under-confidence at the ends of the grid (a word only where the 95 % CI over seeds excludes 0),
    and where the seeds cross from one to the other."""
    if "val_sce_mean" not in summary or summary.val_sce_mean.isna().all():
        return ""
    ends = []
    for i, (_, r) in enumerate(summary.iloc[[0, -1]].iterrows()):
        lo, hi, mean = r.val_sce_ci_lo * 100, r.val_sce_ci_hi * 100, r.val_sce_mean * 100
        word = "over-confident" if lo > 0 else "under-confident" if hi < 0 else "not shown miscalibrated"
        ends.append(f"{word} at ε = {r.eps:g} ({'confidence − accuracy ' if i == 0 else ''}{mean:+.1f} pp)")
    text = f"Calibration: {ends[0]}, {ends[1]}"
    if crossing is not None and crossing.crossing >= 2 and not math.isnan(crossing.at.lo):
        every = crossing.crossing == crossing.seeds
        who = "every seed crosses" if every else f"{crossing.crossing} of {crossing.seeds} seeds cross"
        where = f" between ε = {crossing.lo_eps:g} and {crossing.hi_eps:g}" if not math.isnan(crossing.lo_eps) else ""
        text += (f"; {who} zero{where}, at ε ≈ {crossing.at.mean:.3f} [{crossing.at.lo:.3f}, {crossing.at.hi:.3f}] "
                 "by linear interpolation"
                 + ("" if every else " (over the seeds that cross)"))
    return text + "."


def answer_prose(comparisons: pd.DataFrame, summary: pd.DataFrame, primary: str, crossing: Crossing | None) -> str:
    rows = comparisons[comparisons.metric == primary]
    text = [f"**{question(primary)}**", primary_sentence(rows, primary)]
    secondary = [m for m in ("train_acc", "val_acc", "nll_gap") if m != primary and (comparisons.metric == m).any()
                 and comparisons[comparisons.metric == m].p.notna().any()]
    if secondary:
        text.append("How (secondary comparisons): " + "; ".join(
            f"{NAMES[m]} {clause(comparisons[comparisons.metric == m], m)}" for m in secondary) + ".")
    text.append(calibration_sentence(summary, crossing))
    # A long grid lengthens every list of ε: the secondaries and calibration give way first (the tables keep them).
    while word_count(" ".join(text)) > MAX_WORDS and len(text) > 2:
        text.pop(2 if len(text) > 3 and text[2].startswith("How") else -1)
    return " ".join(t for t in text if t)


def word_count(text: str) -> int:
    return len(text.replace("**", "").split())


def verdict_table(comparisons: pd.DataFrame, primary: str) -> list[str]:
    """One row per headline metric, one column per ε: estimate, the interval the verdict is read off, the verdict."""
    tested = comparisons[comparisons.p.notna()]
    eps = sorted(tested.eps.unique())
    if not eps:
        return []
    metrics = [primary] + [m for m in TABLE if m != primary]
    lines = ["| against ε = 0 | " + " | ".join(f"ε = {e:g}" for e in eps) + " |", "|---" * (len(eps) + 1) + "|"]
    for metric in metrics:
        rows = tested[tested.metric == metric].set_index("eps")
        if not len(rows):
            continue
        s, d = scale(metric), digits(metric)
        label = f"{UNITS[metric][0]} ({diff_unit(metric)})"
        label = f"**{label}, primary**" if metric == primary else f"{label}, secondary"
        cells = []
        for e in eps:
            if e not in rows.index:
                cells.append("–")
                continue
            r = rows.loc[e]
            word = _word(r, metric)
            cells.append(f"{r['diff'] * s:+.{d}f} [{r.lo_adj * s:+.{d}f}, {r.hi_adj * s:+.{d}f}] "
                         + (f"**{word}**" if r.significant or r.equivalent else word))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _word(r, metric: str) -> str:
    up, down = ("wider", "narrower") if metric in WIDER else ("higher", "lower")
    return word(bool(r.significant), bool(r.equivalent), r["diff"], up, down, within=", within margin")


__all__ = ["answer_prose", "verdict_table", "word_count", "MAX_WORDS", "HEADLINE"]
