"""Each statistic against scipy or statsmodels, and on crafted data whose answer is known."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import AnovaRM, anova_lm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

from sweep.report.stats import (bootstrap_vertex, epoch_noise, holm, mean_correlation, orthogonal_polynomials,
                                paired_t, permutation_independent, permutation_paired, quadratic_vertex,
                                seeds_for_halfwidth, shape_test, t_interval, tost, welch)

RNG = np.random.default_rng(7)
A, B = RNG.normal(0.71, 0.01, 5), RNG.normal(0.70, 0.012, 5)


def test_t_interval_matches_scipy():
    mean, sd, lo, hi = t_interval(A)
    assert (lo, hi) == pytest.approx(stats.t.interval(0.95, 4, loc=A.mean(), scale=stats.sem(A)))
    assert sd == pytest.approx(A.std(ddof=1)) and mean == pytest.approx(A.mean())
    assert math.isnan(t_interval([0.5]).lo)


def test_paired_t_matches_scipy_ttest_rel():
    d, ref = paired_t(A, B), stats.ttest_rel(A, B)
    assert d.p == pytest.approx(ref.pvalue) and d.t == pytest.approx(ref.statistic) and d.df == 4
    assert (d.lo, d.hi) == pytest.approx(tuple(ref.confidence_interval(0.95)))
    assert d.method == "paired t" and d.n == 5


def test_welch_matches_scipy_ttest_ind():
    d, ref = welch(A, B[:4]), stats.ttest_ind(A, B[:4], equal_var=False)
    assert d.p == pytest.approx(ref.pvalue) and d.t == pytest.approx(ref.statistic) and d.df == pytest.approx(ref.df)
    assert (d.lo, d.hi) == pytest.approx(tuple(ref.confidence_interval(0.95)))


def test_no_spread_is_an_exact_difference():
    d = paired_t([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    assert (d.diff, d.lo, d.hi, d.p) == (0.5, 0.5, 0.5, 0.0)
    assert tost(d, 1.0) == 0.0 and tost(d, 0.4) == 1.0


def test_tost_matches_statsmodels():
    margin = 0.015
    assert tost(paired_t(A, B), margin) == pytest.approx(ttost_paired(A, B, -margin, margin)[0])
    assert tost(welch(A, B[:4]), margin) == pytest.approx(
        ttost_ind(A, B[:4], -margin, margin, usevar="unequal")[0])


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.2, 0.0005]
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist())


def test_exact_permutation_tests_match_scipy():
    a, b = np.array([7.0, 8, 8, 7, 8]), np.array([5.0, 5, 7, 7, 5])
    ref = stats.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples",
                                 n_resamples=np.inf, vectorized=False)
    assert permutation_paired(a, b) == pytest.approx(ref.pvalue) == 0.125  # 4 of 32 sign patterns, doubled
    ref = stats.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y), permutation_type="independent",
                                 n_resamples=np.inf, vectorized=False)
    assert permutation_independent(a, b) == pytest.approx(ref.pvalue)
    assert permutation_paired([1.0, 2, 3, 4, 5], [0.0] * 5) == pytest.approx(2 / 32)  # the least five pairs give


def test_seeds_for_halfwidth_by_hand():
    n = seeds_for_halfwidth(1.0, 0.5)
    assert stats.t.ppf(0.975, n - 1) / math.sqrt(n) <= 0.5 < stats.t.ppf(0.975, n - 2) / math.sqrt(n - 1)
    assert n == 18 and seeds_for_halfwidth(math.nan, 0.5) is None


def test_mean_correlation():
    m = np.column_stack([A, A * 2 + 1, -A])
    assert mean_correlation(m) == pytest.approx((1 - 1 - 1) / 3)


def blocked_frame(effect, seeds=6, noise=0.002, seed_sd=0.02, levels=(0.0, 0.05, 0.1, 0.2), rng_seed=3):
    rng = np.random.default_rng(rng_seed)
    seed_effect = rng.normal(0, seed_sd, seeds)
    rows = [{"eps": e, "seed": s, "y": effect(e) + seed_effect[s] + rng.normal(0, noise)}
            for s in range(seeds) for e in levels]
    return pd.DataFrame(rows)


def test_blocked_shape_matches_statsmodels_anova_and_contrasts():
    df = blocked_frame(lambda e: 0.03 * e - 0.4 * (e - 0.08) ** 2, noise=0.004)
    shape = shape_test(df.y, df.eps, blocks=df.seed)
    table = anova_lm(ols("y ~ C(eps) + C(seed)", df).fit(), typ=2)
    assert shape.f == pytest.approx(table.loc["C(eps)", "F"]) and shape.p == pytest.approx(table.loc["C(eps)", "PR(>F)"])
    rm = AnovaRM(df, "y", "seed", within=["eps"]).fit().anova_table
    assert shape.p == pytest.approx(rm.loc["eps", "Pr > F"]) and shape.df2 == rm.loc["eps", "Den DF"] == 15
    # The linear and quadratic terms are the orthogonal-polynomial contrasts of the ε means, tested with the
    # blocked model's residual: statsmodels' t_test of the same contrasts on ε as a factor.
    fit = ols("y ~ C(eps) + C(seed)", df).fit()
    levels = sorted(df.eps.unique())
    for column, (t, p) in enumerate([(shape.linear_t, shape.linear_p), (shape.quadratic_t, shape.quadratic_p)]):
        c = orthogonal_polynomials(levels, 3)[:, column]
        r = np.zeros(len(fit.params))
        for level, weight in zip(levels[1:], c[1:]):
            r[list(fit.params.index).index(f"C(eps)[T.{level}]")] = weight
        ref = fit.t_test(r)
        assert t == pytest.approx(ref.tvalue.item()) and p == pytest.approx(ref.pvalue.item())


def test_unblocked_shape_is_one_way_anova():
    df = blocked_frame(lambda e: 0.1 * e, seed_sd=0.0, noise=0.01)
    shape = shape_test(df.y, df.eps)
    ref = stats.f_oneway(*[g.y for _, g in df.groupby("eps")])
    assert shape.f == pytest.approx(ref.statistic) and shape.p == pytest.approx(ref.pvalue) and not shape.blocked


def test_orthogonal_polynomials_for_uneven_spacing():
    q = orthogonal_polynomials([0.0, 0.05, 0.1, 0.2], 3)
    assert q.T @ q == pytest.approx(np.eye(3)) and q.sum(axis=0) == pytest.approx(np.zeros(3), abs=1e-12)
    assert np.all(np.diff(q[:, 0]) > 0)  # the linear column rises with ε, in proportion to the spacing
    assert q[:, 0] == pytest.approx((np.array([0, 0.05, 0.1, 0.2]) - 0.0875) / np.linalg.norm([0, 0.05, 0.1, 0.2]
                                                                                              - np.array(0.0875)))


def test_a_seed_effect_hides_a_small_eps_effect_from_the_unblocked_test():
    df = blocked_frame(lambda e: 0.02 * e, seed_sd=0.02, noise=0.0005)
    assert shape_test(df.y, df.eps, blocks=df.seed).p < 1e-6
    assert shape_test(df.y, df.eps).p > 0.5


def test_flat_noisy_means_have_no_trend():
    df = blocked_frame(lambda e: 0.0, noise=0.003, rng_seed=15)  # p well clear of 0.05
    means = df.groupby("eps").y.mean().to_numpy()
    shape = shape_test(df.y, df.eps, blocks=df.seed)
    assert shape.p > 0.05 and shape.linear_p > 0.05 and shape.quadratic_p > 0.05
    assert np.any(np.diff(means) != 0)  # the means differ, as noise makes them: no test calls that a trend


def test_vertex_of_a_crafted_peak_and_its_bootstrap_interval():
    x = np.array([0.0, 0.05, 0.1, 0.2])
    assert quadratic_vertex(x, -(x - 0.08) ** 2)[0] == pytest.approx(0.08)
    df = blocked_frame(lambda e: -2.0 * (e - 0.08) ** 2, seeds=8, noise=0.0002)
    matrix = df.pivot(index="seed", columns="eps", values="y").to_numpy()
    v = bootstrap_vertex(matrix, x)
    assert v.kind == "peak" and v.at == pytest.approx(0.08, abs=0.005) and v.lo <= v.at <= v.hi
    assert v.inside > 0.99 and v.hi - v.lo < 0.02
    assert bootstrap_vertex(-matrix, x).kind == "trough"


def test_epoch_noise_recovers_the_noise_of_a_smooth_curve():
    rng = np.random.default_rng(0)
    epochs = np.arange(1, 401)
    values = 1.0 - 0.3 * np.log(epochs) / 6 + rng.normal(0, 0.01, len(epochs))
    assert epoch_noise(values) == pytest.approx(0.01, rel=0.1)
    assert epoch_noise(0.5 + 0.01 * epochs) == pytest.approx(0.0, abs=1e-12)  # a straight line has none


def test_rounding_is_not_spread():
    a = np.array([0.1, 0.2, 0.3]) + 0.2  # 0.1 + 0.2 is not 0.3 in floating point
    b = np.array([0.3, 0.4, 0.5])
    d = paired_t(a, b)
    assert (d.diff, d.p, d.lo, d.hi) == (0.0, 1.0, 0.0, 0.0)  # not "significant" on a rounding error


def test_many_pairs_use_a_seeded_monte_carlo_sample():
    a, b = np.arange(1.0, 21.0), np.zeros(20)
    assert permutation_paired(a, b) < 1e-3 and permutation_paired(a, b) == permutation_paired(a, b)
    assert permutation_independent(a, b) < 1e-3  # C(40, 20) splits: sampled, not enumerated
