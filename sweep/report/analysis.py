"""Which test fits how the trials were made, applied to the report's metrics.

A seed fixes the initial weights and the batch order, so trials that share a seed across ε differ
only in ε: each ε is compared with ε = 0 seed by seed (paired t), and the shape over ε is tested in
a model with the seed as a block. Where seeds do not repeat (`--eps-range`, missing partners) the
unpaired tests stand in, and each row says which was used. "Equivalent" only through TOST at the
margins recorded with the study; otherwise a difference that is not significant is "inconclusive".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..protocol import MARGIN_NATS, MARGIN_PP
from . import stats as S
from .tables import COMPARED, diff_unit, margin_kind, seed_matrix, scale

ALPHA = S.ALPHA
COLUMNS = ["metric", "eps", "method", "n", "n_zero", "mean", "mean_zero", "diff", "lo", "hi", "halfwidth", "df", "t",
           "p", "p_holm", "significant", "margin", "p_tost", "p_tost_holm", "equivalent", "verdict", "sd_diff",
           "seeds_for_target", "note"]


def margins(protocol: dict) -> tuple[dict[str, float], bool]:
    """Equivalence margins in a metric's stored units ({'pp': fraction, 'nats': nats}) and whether the
    study recorded them (studies made before margins were recorded get the defaults)."""
    pp, nats = protocol.get("equivalence_margin_pp"), protocol.get("equivalence_margin_nats")
    recorded = pp is not None and nats is not None
    return {"pp": (pp if recorded else MARGIN_PP) / 100, "nats": nats if recorded else MARGIN_NATS}, recorded


def _values(trials: pd.DataFrame, eps: float, metric: str) -> pd.Series:
    return trials.loc[trials.eps == eps].set_index("seed")[metric].dropna()


def difference(trials: pd.DataFrame, eps: float, metric: str) -> tuple[S.Difference | None, str]:
    """ε against ε = 0: paired over the seeds both have, else Welch; (None, why) where nothing can be tested."""
    a, b = _values(trials, eps, metric), _values(trials, 0.0, metric)
    shared = a.index.intersection(b.index)
    if len(shared) >= 2:
        left = len(a) + len(b) - 2 * len(shared)
        note = f"{left} trial{'s' * (left > 1)} without a partner seed left out" if left else ""
        return S.paired_t(a[shared].to_numpy(), b[shared].to_numpy()), note
    if len(a) >= 2 and len(b) >= 2:
        return S.welch(a.to_numpy(), b.to_numpy()), "unpaired: fewer than two seeds shared with ε = 0"
    n, side = min((len(a), f"ε = {eps:g}"), (len(b), "ε = 0"))
    return None, f"not tested: {'one seed' if n == 1 else 'no value'} at {side} (no spread to test)"


def _verdict(d: S.Difference, significant: bool, equivalent: bool, margin: float, metric: str) -> str:
    shown = f"±{margin * scale(metric):g} {diff_unit(metric)}"
    if significant:
        word = "higher" if d.diff > 0 else "lower"
        return f"{word}, within {shown}" if equivalent else word
    return f"equivalent within {shown}" if equivalent else f"inconclusive (not significant, not within {shown})"


def comparisons_frame(trials: pd.DataFrame, metrics=COMPARED, margin: dict | None = None,
                      target: float = 0.5) -> pd.DataFrame:
    """Each ε ≠ 0 against ε = 0, per metric: difference, 95 % CI and p (paired where seeds are shared, else
    Welch); Holm over the ε of one metric, for the difference and for equivalence (TOST) alike; and the seeds
    a 95 % CI half-width of `target` × the margin would take, from the observed SD of the differences."""
    margin = margin or margins({})[0]
    others = sorted(set(trials.eps) - {0.0}) if (trials.eps == 0.0).any() else []
    rows = []
    for metric in metrics:
        m = margin[margin_kind(metric)]
        family = []
        for eps in others:
            d, note = difference(trials, eps, metric)
            a, b = _values(trials, eps, metric), _values(trials, 0.0, metric)
            row = {"metric": metric, "eps": eps, "mean": a.mean(), "mean_zero": b.mean(), "margin": m, "note": note,
                   "n": len(a), "n_zero": len(b), "diff": a.mean() - b.mean()}
            if d is not None:
                sd = d.sd if d.method == "paired t" else d.sd * math.sqrt(2)  # SD of one seed's difference
                row.update(method=d.method, n=d.n, n_zero=d.n_zero, diff=d.diff, lo=d.lo, hi=d.hi,
                           halfwidth=(d.hi - d.lo) / 2, df=d.df, t=d.t, p=d.p, p_tost=S.tost(d, m), sd_diff=sd,
                           seeds_for_target=S.seeds_for_halfwidth(sd, target * m), _d=d)
            family.append(row)
        tested = [r for r in family if "_d" in r]
        for r, p, q in zip(tested, S.holm([r["p"] for r in tested]), S.holm([r["p_tost"] for r in tested])):
            r["p_holm"], r["p_tost_holm"] = p, q
            r["significant"], r["equivalent"] = bool(p < ALPHA), bool(q < ALPHA)
            r["verdict"] = _verdict(r.pop("_d"), r["significant"], r["equivalent"], m, metric)
        rows += family
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------- the shape over ε

@dataclass(frozen=True)
class Curve:
    """How one metric varies over ε: the model that tested it, and where a peak or trough lies."""
    metric: str
    shape: S.Shape | None
    vertex: S.Vertex | None  # only where the quadratic term is significant and the vertex lies inside the span
    correlation: float  # mean correlation across ε of the seeds' values (complete blocks); NaN without them
    blocks: int  # seeds present at every ε
    dropped: int = 0  # trials left out of the blocked model: their seed lacks a value at some ε


def curve(trials: pd.DataFrame, metric: str) -> Curve:
    """Blocked by seed where at least two seeds have a value at every ε, else on all trials unblocked."""
    data = trials[["eps", "seed", metric]].dropna()
    if data.eps.nunique() < 2:
        return Curve(metric, None, None, math.nan, 0)
    matrix = seed_matrix(data, metric)
    if len(matrix) >= 2:
        long = matrix.reset_index().melt(id_vars="seed", var_name="eps", value_name="y")
        shape = S.shape_test(long.y, long.eps.astype(float), blocks=long.seed)
        correlation = S.mean_correlation(matrix.to_numpy())
    else:
        replicated = data.groupby("eps").size().min() >= 2
        shape = S.shape_test(data[metric], data.eps, degree=None if replicated else 2)
        correlation = math.nan
    vertex = None
    if shape and len(matrix) >= 2 and shape.p < ALPHA and shape.quadratic_p < ALPHA:
        v = S.bootstrap_vertex(matrix.to_numpy(), matrix.columns.to_numpy(dtype=float))
        if matrix.columns.min() < v.at < matrix.columns.max() and interior_extremum(matrix, v.kind):
            vertex = v
    dropped = len(data) - matrix.size if len(matrix) >= 2 else 0
    return Curve(metric, shape, vertex, correlation, len(matrix), dropped)


def interior_extremum(matrix: pd.DataFrame, kind: str) -> bool:
    """A parabola's vertex inside the span is not yet a peak: a curve that rises and flattens has one too.
    Required as well: the highest (lowest, for a trough) mean lies at an inner ε and is above (below) the
    means at both ends of the grid, each by a paired t-test, Holm over the two."""
    means = matrix.mean(axis=0).to_numpy()
    j = int(np.argmax(means) if kind == "peak" else np.argmin(means))
    if j in (0, len(means) - 1):
        return False
    sign = 1 if kind == "peak" else -1
    tests = [S.paired_t(matrix.iloc[:, j].to_numpy(), matrix.iloc[:, end].to_numpy()) for end in (0, -1)]
    return all(sign * d.diff > 0 and p < ALPHA for d, p in zip(tests, S.holm([d.p for d in tests])))


def shape_words(c: Curve) -> str:
    """What the tests say of the shape; "rises"/"falls" only on a significant linear term."""
    s = c.shape
    if s is None:
        return "shape not tested (one ε, or no residual degrees of freedom)"
    test = f"{'seed-blocked' if s.blocked else 'unblocked'} F({s.df1}, {s.df2}) = {s.f:.3g}, p = {s.p:.2g}"
    if c.dropped:
        test += f", {c.dropped} trials of seeds missing an ε left out"
    if s.p >= ALPHA:
        return f"no effect of ε detected ({test})"
    trend = ""
    if s.linear_p < ALPHA:
        trend = f"{'rises' if s.linear_t > 0 else 'falls'} with ε overall (linear term p = {s.linear_p:.2g})"
    if c.vertex is not None:
        v = c.vertex
        where = (f"a {v.kind} near ε ≈ {v.at:.3f} (95 % bootstrap CI over seeds {v.lo:.3f}–{v.hi:.3f}, from the "
                 f"{v.inside:.0%} of resamples with a {v.kind} inside the span; quadratic term p = {s.quadratic_p:.2g})")
        return f"{test}: {where}" + (f"; {trend}" if trend else "")
    if s.quadratic_p < ALPHA:
        where = ("no peak or trough within the grid (the fitted vertex lies outside the span, or the extreme "
                 "mean is not beyond both ends by paired tests)") if c.blocks >= 2 else \
            "the vertex is not located (no seeds repeat across ε to resample)"
        curved = f"curved (quadratic term p = {s.quadratic_p:.2g}); {where}"
        return f"{test}: {curved}" + (f"; {trend}" if trend else "")
    if trend:
        return f"{test}: {trend}, no curvature detected"
    return f"{test}: ε matters, but neither a linear nor a quadratic trend is significant"


def shape_short(c: Curve) -> str:
    """shape_words without the statistics, for the opening paragraph."""
    s = c.shape
    if s is None:
        return "its shape is not tested"
    if s.p >= ALPHA:
        return f"no effect of ε is detected (p = {s.p:.2g})"
    if c.vertex is not None:
        v = c.vertex
        places = next((d for d in (2, 3, 4) if f"{v.lo:.{d}f}" != f"{v.hi:.{d}f}"), 4)  # a narrow CI shows its width
        return f"a {v.kind} near ε ≈ {v.at:.{places}f} (bootstrap 95 % CI {v.lo:.{places}f}–{v.hi:.{places}f})"
    trend = f"it {'rises' if s.linear_t > 0 else 'falls'} with ε" if s.linear_p < ALPHA else ""
    if s.quadratic_p < ALPHA:
        return (f"{trend} overall and is curved" if trend else "it is curved") + \
            (", with no peak or trough within the grid" if c.blocks >= 2 else "")
    if trend:
        return trend
    return "ε matters, without a linear or quadratic trend"


# ---------------------------------------------------------------- over time

def onset_tests(trials: pd.DataFrame) -> pd.DataFrame:
    """Per ε ≠ 0 against ε = 0: the onset epoch by a permutation test (sign flips over shared seeds, else
    relabelling; exact up to 2¹⁶ rearrangements), Holm over ε. Integer epochs with ties make a t-test's p
    unreliable at five seeds."""
    others = sorted(set(trials.eps) - {0.0}) if (trials.eps == 0.0).any() else []
    rows = []
    for eps in others:
        a, b = _values(trials, eps, "best_epoch"), _values(trials, 0.0, "best_epoch")
        shared = a.index.intersection(b.index)
        row = {"eps": eps, "mean": a.mean(), "mean_zero": b.mean()}
        if len(shared) >= 2:
            row.update(method="sign flips over shared seeds", n=len(shared), diff=(a[shared] - b[shared]).mean(),
                       p=S.permutation_paired(a[shared].to_numpy(), b[shared].to_numpy()),
                       p_min=2 / 2 ** len(shared))
        elif len(a) >= 2 and len(b) >= 2:
            row.update(method="relabelling, unpaired", n=len(a), diff=a.mean() - b.mean(),
                       p=S.permutation_independent(a.to_numpy(), b.to_numpy()),
                       p_min=2 / math.comb(len(a) + len(b), len(a)))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["eps", "method", "n", "mean", "mean_zero", "diff", "p", "p_min"])
    tested = frame.p.notna()
    frame["p_holm"] = np.nan
    if tested.any():
        frame.loc[tested, "p_holm"] = S.holm(frame.p[tested])
    return frame
