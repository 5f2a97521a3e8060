"""Statistics as pure functions of arrays, each returning a number or a small record.

Nothing here knows about studies or metrics: `report/analysis.py` decides which test fits which data, and
`study/precision.py` sizes a study with Stein's rule. The tests are scipy's; what scipy lacks (Stein's
interval, the sign change, epoch noise, the guard that takes rounding for no spread) is written here.
Every function is checked in tests/test_stats.py against scipy or statsmodels, or by hand.
"""

from __future__ import annotations

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
    """Mean, SD and the 95 % t-interval of the mean (scipy's one-sample t); NaN where one value gives no
    spread."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if len(x) < 2:
        return Interval(mean, math.nan, math.nan, math.nan)
    sd = float(x.std(ddof=1))
    if sd <= 1e-12 * max(float(np.abs(x).max()), 1e-300):  # rounding is no spread (as in `_difference`)
        return Interval(mean, 0.0, mean, mean)
    lo, hi = stats.ttest_1samp(x, 0.0).confidence_interval(1 - ALPHA)
    return Interval(mean, sd, float(lo), float(hi))


def _difference(method, n, n_zero, diff, sd, size, *, se, df, test=None) -> Difference:
    """The record of a t-test: t, p, df and the 95 % CI read off scipy's result (`test()`, called only where
    there is spread), or for Stein's interval, which scipy lacks, from `se` and `df`. `size`: the largest
    magnitude among the values, so that rounding (not real spread) counts as none, where scipy would call a
    difference of 1e-17 significant."""
    tiny = 1e-12 * max(size, 1e-300)
    if se <= tiny:  # no spread at all: the difference is exact
        diff = 0.0 if abs(diff) <= tiny else diff
        t = math.copysign(math.inf, diff) if diff else 0.0
        return Difference(method, n, n_zero, diff, 0.0, df, t, 0.0 if diff else 1.0, diff, diff, 0.0)
    if test is None:
        half = float(stats.t.ppf(1 - ALPHA / 2, df)) * se
        return Difference(method, n, n_zero, diff, se, df, diff / se, float(2 * stats.t.sf(abs(diff / se), df)),
                          diff - half, diff + half, sd)
    r = test()
    lo, hi = r.confidence_interval(1 - ALPHA)
    return Difference(method, n, n_zero, diff, se, float(r.df), float(r.statistic), float(r.pvalue), float(lo),
                      float(hi), sd)


def paired_t(a, b) -> Difference:
    """Paired t-test of a − b, position by position (a[i] and b[i] share a seed): scipy's ttest_rel."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = a - b
    if len(d) < 2:
        raise ValueError("a paired t-test needs at least two pairs")
    sd = float(d.std(ddof=1))
    size = float(max(np.abs(a).max(), np.abs(b).max()))
    return _difference("paired t", len(d), len(d), float(d.mean()), sd, size, se=sd / math.sqrt(len(d)),
                       df=len(d) - 1.0, test=lambda: stats.ttest_rel(a, b))


def welch(a, b) -> Difference:
    """Welch's t-test of mean(a) − mean(b): scipy's ttest_ind with unequal variances (Welch–Satterthwaite df).
    The standard error is worked out here too, for the rounding guard."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's test needs at least two values on each side")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb else len(a) + len(b) - 2.0
    sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)  # the pooled-per-group SD, for planning
    size = float(max(np.abs(a).max(), np.abs(b).max()))
    return _difference("Welch", len(a), len(b), float(a.mean() - b.mean()), sd, size, se=math.sqrt(va + vb),
                       df=float(df), test=lambda: stats.ttest_ind(a, b, equal_var=False))


def tost(d: Difference, margin: float) -> float:
    """Two one-sided tests of |true difference| < margin: the larger of the two one-sided p-values.

    p < α is the same as the (1 − 2α) CI lying inside ±margin: "equivalent within the margin". From the
    record rather than two of scipy's one-sided tests, so that it holds for Welch and Stein's interval alike.
    """
    if d.se == 0:
        return 0.0 if abs(d.diff) < margin else 1.0
    p_low = float(stats.t.sf((d.diff + margin) / d.se, d.df))  # H0: difference ≤ −margin
    p_high = float(stats.t.cdf((d.diff - margin) / d.se, d.df))  # H0: difference ≥ +margin
    return max(p_low, p_high)


def adjusted(d: Difference, k: int) -> tuple[float, float]:
    """The Bonferroni-adjusted CI of one of k comparisons: the (1 − α/k) interval. It excludes 0 exactly when
    k · p < α, so a verdict read off it ("higher", "lower", "equivalent" when it lies inside ±margin) cannot
    contradict the interval printed beside it."""
    if d.se == 0:
        return d.diff, d.diff
    half = float(stats.t.ppf(1 - ALPHA / (2 * k), d.df)) * d.se
    return d.diff - half, d.diff + half


def bonferroni(p: float, k: int) -> float:
    return min(1.0, p * k)


class Verdict(NamedTuple):
    """What an adjusted interval says against ±margin; both at once is a detectable shift within the margin."""
    significant: bool  # it excludes 0
    equivalent: bool  # it lies inside ±margin


def verdict(lo_adj: float, hi_adj: float, margin: float) -> Verdict:
    """The one verdict rule, read off the adjusted interval that is printed beside it (report and compare)."""
    return Verdict(bool(lo_adj > 0 or hi_adj < 0), bool(-margin < lo_adj and hi_adj < margin))


# ---------------------------------------------------------------- Stein's two-stage procedure

def stein_seeds(sd0: float, n0: int, halfwidth: float, k: int = 1) -> int:
    """Stein's second stage: the seeds whose interval t(1 − α/2k, n0 − 1) · sd0 / √n is at most `halfwidth`,
    from the first stage's n0 seeds and their SD; never fewer than n0. The number depends on sd0 alone, so the
    final interval (`stein`) covers exactly 1 − α/k however the number falls."""
    if n0 < 2:
        raise ValueError("Stein's procedure needs a first stage of at least two seeds")
    if sd0 == 0:
        return n0
    c = float(stats.t.ppf(1 - ALPHA / (2 * k), n0 - 1))
    return max(n0, math.ceil((c * sd0 / halfwidth) ** 2 - 1e-9))


def stein(a, b, n0: int) -> Difference:
    """Paired difference a − b after Stein's two stages: the mean over every pair, the SD of the first n0 pairs
    only, t on n0 − 1 degrees of freedom. Exact for normal differences when the number of pairs was set from
    that first-stage SD (and nothing later); `adjusted` then gives its Bonferroni form."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = a - b
    if n0 < 2 or len(d) < n0:
        raise ValueError("Stein's interval needs the whole first stage, at least two pairs")
    sd = float(d[:n0].std(ddof=1))
    size = float(max(np.abs(a).max(), np.abs(b).max()))
    return _difference("Stein two-stage", len(d), len(d), float(d.mean()), sd, size, se=sd / math.sqrt(len(d)),
                       df=n0 - 1.0)


def holm(pvalues) -> list[float]:
    """Holm's step-down adjustment: the k-th smallest of m p-values times (m − k + 1), made non-decreasing
    in that order and capped at 1. Controls the chance of any false "significant" across the family. Written
    here: statsmodels' multipletests, its reference in the tests, is not a dependency for these six lines."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    out = np.empty(len(p))
    out[order] = adjusted
    return out.tolist()


def _two_sided(null: np.ndarray, observed: float) -> float:
    """Twice the smaller tail of an exact null distribution (scipy's convention), with a relative tolerance so
    that rearrangements equal to the observed statistic in exact arithmetic count as equal: the p of a
    rearrangement scipy's test did not observe."""
    tol = 1e-12 * max(1.0, abs(observed))
    less, greater = np.mean(null <= observed + tol), np.mean(null >= observed - tol)
    return float(min(1.0, 2 * min(less, greater)))


EXACT_LIMIT = 2 ** 16  # rearrangements enumerated in full; past this, a seeded Monte-Carlo sample of as many


def _permutation(a, b, kind: str) -> tuple[np.ndarray, float]:
    """scipy's permutation null of the mean difference and the observed one, paired ("samples": every sign pattern
    of the differences) or not ("independent": every split of the pooled values); exact up to EXACT_LIMIT
    rearrangements, a seeded sample of as many past that. The p is `_two_sided`'s, not scipy's: scipy's tie
    tolerance is relative to the observed statistic, so at a statistic near 0 it misses rearrangements equal
    to it in exact arithmetic (a p of 0.91 for two groups holding the same values, not 1)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    statistic = (lambda x, y, axis: np.mean(x - y, axis=axis)) if kind == "samples" else \
        (lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis))
    null = stats.permutation_test((a, b), statistic, permutation_type=kind, n_resamples=EXACT_LIMIT,
                                  vectorized=True, random_state=0).null_distribution
    return null, float(statistic(a, b, axis=0))


def permutation_paired(a, b) -> float:
    """Permutation test of mean(a − b) = 0 for pairs. With n pairs the smallest two-sided p it can give is
    2 / 2ⁿ (0.0625 for five seeds)."""
    return _two_sided(*_permutation(a, b, "samples"))


def permutation_independent(a, b) -> float:
    """Permutation test of mean(a) − mean(b) = 0 over the splits of the pooled values into groups of their
    sizes."""
    return _two_sided(*_permutation(a, b, "independent"))


def smallest_p_paired(a, b) -> float:
    """The smallest p `permutation_paired` can give for these pairs: a zero difference flips to itself, so
    only the m non-zero ones count, 2 / 2ᵐ (1 with none)."""
    m = int(np.count_nonzero(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)))
    return min(1.0, 2 / 2 ** m)


def smallest_p_independent(a, b) -> float:
    """The smallest p `permutation_independent` can give for these values (ties make it larger than
    2 / C(n_a + n_b, n_a)): the p of the most extreme rearrangement."""
    null, _ = _permutation(a, b, "independent")
    return min(_two_sided(null, float(null.max())), _two_sided(null, float(null.min())))


def seeds_for_halfwidth(sd: float, halfwidth: float, cap: int = 10_000, k: int = 1) -> int | None:
    """The fewest seeds n whose t-interval half-width t_{1 − α/2k, n−1} · sd / √n is at most `halfwidth` (sd: the
    SD of one seed's value, e.g. of a paired difference; k: comparisons in its Bonferroni family); None past
    `cap`."""
    if not math.isfinite(sd) or halfwidth <= 0:
        return None
    for n in range(2, cap + 1):
        if stats.t.ppf(1 - ALPHA / (2 * k), n - 1) * sd / math.sqrt(n) <= halfwidth:
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


def contrast_test(matrix, levels) -> Difference:
    """The linear trend over ε tested against its own spread over seeds: each seed's score is the orthonormal
    linear contrast of its values (for the actual spacing), and the scores get a one-sample t-test. A pooled
    ANOVA error would borrow the other contrasts' spread; this uses only the trend's."""
    m = np.asarray(matrix, dtype=float)
    scores = m @ orthogonal_polynomials(levels, 1)[:, 0]
    return paired_t(scores, np.zeros_like(scores))


@dataclass(frozen=True)
class Crossing:
    """Where a seeds × ε matrix changes sign, seed by seed, by linear interpolation between grid points."""
    seeds: int  # seeds with values at every ε
    crossing: int  # seeds whose values change sign exactly once along the grid
    lo_eps: float  # the grid points bracketing every crossing (NaN where seeds cross in different intervals)
    hi_eps: float
    at: Interval  # mean ε of the crossings and its 95 % t-interval over those seeds


def sign_change(matrix, levels) -> Crossing:
    """Each seed's ε where its values cross zero (one crossing between neighbouring grid points, interpolated
    linearly), then the mean and 95 % t-interval over the seeds that cross once. A seed that never crosses, or
    crosses more than once, locates nothing and is counted out."""
    m, x = np.asarray(matrix, dtype=float), np.asarray(levels, dtype=float)
    found, brackets = [], set()
    for row in m:
        flips = [j for j in range(len(x) - 1) if np.sign(row[j]) != np.sign(row[j + 1]) and row[j] != 0]
        if len(flips) != 1:
            continue
        j = flips[0]
        found.append(x[j] + (x[j + 1] - x[j]) * row[j] / (row[j] - row[j + 1]))
        brackets.add(j)
    lo, hi = (x[j], x[j + 1]) if len(brackets) == 1 else (math.nan, math.nan)
    return Crossing(len(m), len(found), float(lo), float(hi), t_interval(found))


# ---------------------------------------------------------------- noise within one trial

def epoch_noise(values) -> float:
    """SD of a trial's epoch-to-epoch noise, from its second differences: for a smooth curve plus independent
    noise of SD σ, each second difference has SD σ√6, while a slowly bending trend adds little. NaN below
    three values."""
    v = np.asarray(values, dtype=float)
    if len(v) < 3:
        return math.nan
    return float(math.sqrt(np.mean(np.diff(v, 2) ** 2) / 6))
