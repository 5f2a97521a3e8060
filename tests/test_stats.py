"""Each statistic against scipy or statsmodels, and on crafted data whose answer is known."""

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

from sweep.stats import (adjusted, bonferroni, contrast_test, epoch_noise, holm, mean_correlation,
                                orthogonal_polynomials, paired_t, permutation_independent, permutation_paired,
                                seeds_for_halfwidth, sign_change, smallest_p_independent, smallest_p_paired,
                                t_interval, tost, welch)

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


def test_orthogonal_polynomials_for_uneven_spacing():
    q = orthogonal_polynomials([0.0, 0.05, 0.1, 0.2], 3)
    assert q.T @ q == pytest.approx(np.eye(3)) and q.sum(axis=0) == pytest.approx(np.zeros(3), abs=1e-12)
    assert np.all(np.diff(q[:, 0]) > 0)  # the linear column rises with ε, in proportion to the spacing
    assert q[:, 0] == pytest.approx((np.array([0, 0.05, 0.1, 0.2]) - 0.0875) / np.linalg.norm([0, 0.05, 0.1, 0.2]
                                                                                              - np.array(0.0875)))


@pytest.mark.parametrize("k", [1, 3, 6])
def test_the_adjusted_interval_is_scipys_at_the_bonferroni_level_and_agrees_with_its_p(k):
    for rng_seed in range(20):
        rng = np.random.default_rng(rng_seed)
        a, b = rng.normal(0.71, 0.01, 5), rng.normal(0.70, 0.01, 5)
        d = paired_t(a, b)
        ci = stats.ttest_rel(a, b).confidence_interval(1 - 0.05 / k)
        assert adjusted(d, k) == pytest.approx((ci.low, ci.high))
        lo, hi = adjusted(d, k)
        assert (lo > 0 or hi < 0) == (bonferroni(d.p, k) < 0.05)  # the interval cannot contradict the verdict


def test_bonferroni_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.5]
    assert [bonferroni(x, 4) for x in p] == pytest.approx(multipletests(p, method="bonferroni")[1].tolist())


def test_seeds_for_an_adjusted_halfwidth_by_hand():
    n = seeds_for_halfwidth(1.0, 0.5, k=3)
    q = 1 - 0.05 / 6
    assert stats.t.ppf(q, n - 1) / math.sqrt(n) <= 0.5 < stats.t.ppf(q, n - 2) / math.sqrt(n - 1)
    assert n > seeds_for_halfwidth(1.0, 0.5)


def test_the_trend_contrast_is_a_one_sample_t_over_the_seeds_scores():
    levels = np.array([0.0, 0.05, 0.1, 0.2])
    rng = np.random.default_rng(5)
    matrix = rng.normal(0, 0.01, (6, 4)) + rng.normal(0, 0.05, (6, 1)) + 0.03 * levels
    scores = matrix @ orthogonal_polynomials(levels, 1)[:, 0]
    ref = stats.ttest_1samp(scores, 0.0)
    d = contrast_test(matrix, levels)
    assert d.t == pytest.approx(ref.statistic) and d.p == pytest.approx(ref.pvalue) and d.df == 5
    # A seed's own level leaves its score unchanged: the contrast is orthogonal to the constant.
    assert contrast_test(matrix + 5.0, levels).t == pytest.approx(d.t)


def test_a_sign_change_is_located_between_the_right_grid_points():
    levels = [0.0, 0.05, 0.1, 0.2]
    rows = np.array([[11.0, 3.0, -2.0, -11.0], [12.0, 4.0, -3.0, -10.0], [10.0, 2.0, -1.0, -12.0]])
    c = sign_change(rows, levels)
    at = [0.05 + 0.05 * 3 / 5, 0.05 + 0.05 * 4 / 7, 0.05 + 0.05 * 2 / 3]  # linear between 0.05 and 0.1, by hand
    ref = stats.t.interval(0.95, 2, loc=np.mean(at), scale=stats.sem(at))
    assert (c.seeds, c.crossing, c.lo_eps, c.hi_eps) == (3, 3, 0.05, 0.1)
    assert c.at.mean == pytest.approx(np.mean(at)) and (c.at.lo, c.at.hi) == pytest.approx(ref)
    # A seed that never changes sign, or changes it twice, locates nothing.
    c = sign_change(np.vstack([rows, [5.0, 4.0, 3.0, 1.0], [1.0, -1.0, 1.0, -1.0]]), levels)
    assert (c.seeds, c.crossing) == (5, 3)
    # Seeds crossing in different intervals have no common bracket, but each still counts.
    c = sign_change(np.array([[1.0, -1.0, -2.0, -3.0], [2.0, 1.0, -1.0, -2.0]]), levels)
    assert c.crossing == 2 and math.isnan(c.lo_eps)


def test_the_smallest_p_a_permutation_test_can_give_counts_zeros_and_ties():
    # Five pairs, one of them tied: only 2⁴ sign patterns differ, so the best p is 2 / 16, not 2 / 32.
    a, b = [3, 4, 5, 6, 2], [2, 3, 4, 5, 2]
    assert smallest_p_paired(a, b) == 0.125 == permutation_paired(a, b)  # every non-zero difference one way
    assert smallest_p_paired([1, 2], [1, 2]) == 1.0
    assert smallest_p_paired(A, B) == 2 / 32
    # Groups of three, all apart: 2 / C(6, 3); ties among the values leave fewer distinct splits.
    assert smallest_p_independent([4, 5, 6], [1, 2, 3]) == pytest.approx(0.1) == permutation_independent([4, 5, 6],
                                                                                                          [1, 2, 3])
    assert smallest_p_independent([1, 1, 2], [1, 1, 1]) > 0.1


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


def test_groups_holding_the_same_values_give_p_one_whatever_the_rounding():
    # Every split's mean difference is 0 in exact arithmetic, none of them exactly 0.0 in floating point.
    a, b = [0.3, 0.1, 0.2, 0.6], [0.1, 0.3, 0.6, 0.2]
    assert permutation_independent(a, b) == 1.0 and permutation_paired(a, a[::-1]) == 1.0
    assert smallest_p_independent(a, b) == pytest.approx(2 / math.comb(8, 4))


def test_the_verdict_rule_at_its_edges():
    """An interval touching 0 excludes nothing; one touching the margin is not inside it."""
    from sweep.stats import verdict

    assert verdict(0.0, 0.5, 1.0) == (False, True) and verdict(1e-9, 0.5, 1.0) == (True, True)
    assert verdict(-1.0, 0.5, 1.0) == (False, False) and verdict(-2.0, -1e-9, 1.0) == (True, False)
