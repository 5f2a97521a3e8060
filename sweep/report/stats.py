"""Statistics as pure functions of arrays, each returning a number or a small record.

Nothing here knows about studies or metrics: `analysis.py` decides which test fits which data.
Every function is checked in tests/test_stats.py against scipy or statsmodels, or by hand.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import stats

ALPHA = 0.05


class Interval(NamedTuple):
    mean: float
    sd: float
    lo: float
    hi: float


@dataclass(frozen=True)
class Difference:
    """mean(a) − mean(b) with its 95 % CI, from a paired or a Welch t-test."""
    method: str  # "paired t" or "Welch"
    n: int  # pairs (paired) or values of a (Welch)
    n_zero: int  # pairs (paired) or values of b (Welch)
    diff: float
    se: float
    df: float
    t: float
    p: float
    lo: float
    hi: float
    sd: float  # SD of the paired differences; for Welch, the pooled-per-group SD sqrt((s_a² + s_b²)/2)


def t_interval(values) -> Interval:
    """Mean, SD and the 95 % t-interval of the mean; NaN where one value gives no spread."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if len(x) < 2:
        return Interval(mean, math.nan, math.nan, math.nan)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(x) - 1)) * sd / math.sqrt(len(x))
    return Interval(mean, sd, mean - half, mean + half)


def _difference(method, n, n_zero, diff, se, df, sd, size) -> Difference:
    """`size`: the largest magnitude among the values, so that rounding (not real spread) counts as none."""
    tiny = 1e-12 * max(size, 1e-300)
    if se <= tiny:  # no spread at all: the difference is exact
        diff = 0.0 if abs(diff) <= tiny else diff
        sd = 0.0
        t = math.copysign(math.inf, diff) if diff else 0.0
        return Difference(method, n, n_zero, diff, 0.0, df, t, 0.0 if diff else 1.0, diff, diff, sd)
    half = float(stats.t.ppf(0.975, df)) * se
    t = diff / se
    return Difference(method, n, n_zero, diff, se, df, t, float(2 * stats.t.sf(abs(t), df)), diff - half,
                      diff + half, sd)


def paired_t(a, b) -> Difference:
    """Paired t-test of a − b, position by position (a[i] and b[i] share a seed)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = a - b
    if len(d) < 2:
        raise ValueError("a paired t-test needs at least two pairs")
    sd = float(d.std(ddof=1))
    size = float(max(np.abs(a).max(), np.abs(b).max()))
    return _difference("paired t", len(d), len(d), float(d.mean()), sd / math.sqrt(len(d)), len(d) - 1.0, sd, size)


def welch(a, b) -> Difference:
    """Welch's t-test of mean(a) − mean(b): se = sqrt(s_a²/n_a + s_b²/n_b), Welch–Satterthwaite df."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's test needs at least two values on each side")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb else len(a) + len(b) - 2.0
    sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    size = float(max(np.abs(a).max(), np.abs(b).max()))
    return _difference("Welch", len(a), len(b), float(a.mean() - b.mean()), math.sqrt(va + vb), float(df), sd, size)


def tost(d: Difference, margin: float) -> float:
    """Two one-sided tests of |true difference| < margin: the larger of the two one-sided p-values.

    p < α is the same as the (1 − 2α) CI lying inside ±margin: "equivalent within the margin".
    """
    if d.se == 0:
        return 0.0 if abs(d.diff) < margin else 1.0
    p_low = float(stats.t.sf((d.diff + margin) / d.se, d.df))  # H0: difference ≤ −margin
    p_high = float(stats.t.cdf((d.diff - margin) / d.se, d.df))  # H0: difference ≥ +margin
    return max(p_low, p_high)


def holm(pvalues) -> list[float]:
    """Holm's step-down adjustment: the k-th smallest of m p-values times (m − k + 1), made non-decreasing
    in that order and capped at 1. Controls the chance of any false "significant" across the family."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    out = np.empty(len(p))
    out[order] = adjusted
    return out.tolist()


def _two_sided(null: np.ndarray, observed: float) -> float:
    """Twice the smaller tail of an exact null distribution (scipy's convention), with a relative tolerance so
    that rearrangements equal to the observed statistic in exact arithmetic count as equal."""
    tol = 1e-12 * max(1.0, abs(observed))
    less, greater = np.mean(null <= observed + tol), np.mean(null >= observed - tol)
    return float(min(1.0, 2 * min(less, greater)))


EXACT_LIMIT = 2 ** 16  # rearrangements enumerated in full; past this, a seeded Monte-Carlo sample of as many


def permutation_paired(a, b) -> float:
    """Permutation test of mean(a − b) = 0 for pairs: every one of the 2ⁿ sign patterns of the differences
    (exact), or EXACT_LIMIT random ones past 16 pairs.

    With n pairs the smallest two-sided p it can give is 2 / 2ⁿ (0.0625 for five seeds).
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if 2 ** len(d) <= EXACT_LIMIT:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    else:
        signs = np.random.default_rng(0).choice((1.0, -1.0), size=(EXACT_LIMIT, len(d)))
    return _two_sided((signs * d).mean(axis=1), float(d.mean()))


def permutation_independent(a, b) -> float:
    """Permutation test of mean(a) − mean(b) = 0: every split of the pooled values into groups of their sizes
    (exact), or EXACT_LIMIT random splits where there are more."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    pooled, n = np.concatenate([a, b]), len(a)
    if math.comb(len(pooled), n) <= EXACT_LIMIT:
        masks = np.zeros((math.comb(len(pooled), n), len(pooled)), dtype=bool)
        for row, idx in enumerate(itertools.combinations(range(len(pooled)), n)):
            masks[row, list(idx)] = True
    else:
        rng = np.random.default_rng(0)
        masks = np.array([np.isin(np.arange(len(pooled)), rng.permutation(len(pooled))[:n])
                          for _ in range(EXACT_LIMIT)])
    null = (masks * pooled).sum(axis=1) / n - (~masks * pooled).sum(axis=1) / (len(pooled) - n)
    return _two_sided(null, float(a.mean() - b.mean()))


def seeds_for_halfwidth(sd: float, halfwidth: float, cap: int = 10_000) -> int | None:
    """The fewest seeds n whose 95 % t-interval half-width t_{0.975, n−1} · sd / √n is at most `halfwidth`
    (sd: the SD of one seed's value, e.g. of a paired difference); None past `cap`."""
    if not math.isfinite(sd) or halfwidth <= 0:
        return None
    for n in range(2, cap + 1):
        if stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) <= halfwidth:
            return n
    return None


def mean_correlation(matrix) -> float:
    """Mean Pearson correlation between the columns (ε) of a seeds × ε matrix: how much the seed sets the value."""
    m = np.asarray(matrix, dtype=float)
    pairs = [(i, j) for i in range(m.shape[1]) for j in range(i + 1, m.shape[1])]
    values = [np.corrcoef(m[:, i], m[:, j])[0, 1] for i, j in pairs if m[:, i].std() > 0 and m[:, j].std() > 0]
    return float(np.mean(values)) if values else math.nan


# ---------------------------------------------------------------- the shape over ε

def orthogonal_polynomials(levels, degree: int) -> np.ndarray:
    """Columns 1..degree of orthonormal polynomials over the given (possibly unevenly spaced) levels, each
    orthogonal to the constant: the contrasts for the actual spacing (as R's poly(levels, degree))."""
    x = np.asarray(levels, dtype=float)
    q, r = np.linalg.qr(np.vander(x - x.mean(), degree + 1, increasing=True))
    return q[:, 1:] * np.sign(np.diag(r)[1:])  # signs fixed so that a rising trend has a positive coefficient


@dataclass(frozen=True)
class Shape:
    """The ε effect in a linear model: y = (seed block or intercept) + orthogonal polynomials in ε."""
    blocked: bool  # seed as a block (complete blocks only) or not
    n: int  # observations used
    degree: int  # polynomial terms; with every level replicated, levels − 1 (the same fit as ε as a factor)
    f: float  # overall test of ε
    df1: int
    df2: int
    p: float
    linear_t: float
    linear_p: float
    quadratic_t: float  # NaN with fewer than three levels
    quadratic_p: float


def _fit(X: np.ndarray, y: np.ndarray):
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    return coef, float(resid @ resid), len(y) - np.linalg.matrix_rank(X)


def shape_test(y, eps, blocks=None, degree: int | None = None) -> Shape | None:
    """F-test of any ε effect and t-tests of its linear and quadratic terms; None without residual df.

    `blocks` (one label per observation) adds a fixed effect per seed. `degree` defaults to levels − 1,
    which makes the overall test the ANOVA F of ε as a factor.
    """
    y, eps = np.asarray(y, dtype=float), np.asarray(eps, dtype=float)
    levels = np.unique(eps)
    degree = len(levels) - 1 if degree is None else min(degree, len(levels) - 1)
    if degree < 1:
        return None
    poly = orthogonal_polynomials(levels, degree)[np.searchsorted(levels, eps)]
    base = np.ones((len(y), 1)) if blocks is None else \
        (np.asarray(blocks)[:, None] == np.unique(blocks)[None, :]).astype(float)
    X = np.hstack([base, poly])
    coef, ssr, df2 = _fit(X, y)
    if df2 < 1:
        return None
    _, ssr_base, _ = _fit(base, y)
    s2 = ssr / df2
    if s2 == 0:
        f = math.inf if ssr_base > 0 else 0.0
        p = 0.0 if ssr_base > 0 else 1.0
    else:
        f = (ssr_base - ssr) / degree / s2
        p = float(stats.f.sf(f, degree, df2))
    cov = s2 * np.linalg.pinv(X.T @ X)
    terms = []
    for j in range(base.shape[1], base.shape[1] + min(2, degree)):
        se = math.sqrt(cov[j, j])
        t = coef[j] / se if se else (math.copysign(math.inf, coef[j]) if coef[j] else 0.0)
        terms.append((float(t), float(2 * stats.t.sf(abs(t), df2))))
    if len(terms) < 2:
        terms.append((math.nan, math.nan))
    return Shape(blocks is not None, len(y), degree, float(f), degree, int(df2), p, *terms[0], *terms[1])


def quadratic_vertex(x, y) -> tuple[float, float]:
    """(ε at the vertex, curvature) of the least-squares parabola through (x, y); curvature < 0 is a peak."""
    c2, c1, _ = np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 2)
    return (-c1 / (2 * c2) if c2 else math.nan), float(c2)


@dataclass(frozen=True)
class Vertex:
    at: float  # ε of the parabola's peak or trough, fitted to the means
    kind: str  # "peak" or "trough"
    lo: float  # 2.5 and 97.5 percentiles over the resamples that have a vertex of the same kind inside the span
    hi: float
    inside: float  # the share of resamples that do


def bootstrap_vertex(matrix, levels, resamples: int = 2000, seed: int = 0) -> Vertex:
    """The vertex of the parabola through the per-ε means of a seeds × ε matrix, and its percentile CI from
    resampling seeds (whole rows, so each resample keeps the pairing). Resamples whose parabola bends the other
    way or puts its vertex outside the span have no such vertex: they are left out of the CI and counted in
    `inside`. With few seeds a percentile interval runs narrow: read it as a rough range."""
    m, x = np.asarray(matrix, dtype=float), np.asarray(levels, dtype=float)
    at, curve = quadratic_vertex(x, m.mean(axis=0))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(m), size=(resamples, len(m)))
    fits = [quadratic_vertex(x, m[r].mean(axis=0)) for r in rows]
    same = np.array([a for a, c in fits if np.sign(c) == np.sign(curve) and x.min() < a < x.max()])
    lo, hi = np.percentile(same, [2.5, 97.5]) if len(same) else (math.nan, math.nan)
    return Vertex(float(at), "peak" if curve < 0 else "trough", float(lo), float(hi), len(same) / resamples)


# ---------------------------------------------------------------- noise within one trial

def epoch_noise(values) -> float:
    """SD of a trial's epoch-to-epoch noise, from its second differences: for a smooth curve plus independent
    noise of SD σ, each second difference has SD σ√6, while a slowly bending trend adds little. NaN below
    three values."""
    v = np.asarray(values, dtype=float)
    if len(v) < 3:
        return math.nan
    return float(math.sqrt(np.mean(np.diff(v, 2) ** 2) / 6))
