"""Pure statistics for one study against another: a paired contrast per row, and a family of rows judged by
Bonferroni-adjusted intervals, so that the interval printed beside a verdict is the one that decided it.

Within a family of k rows (the ε of one metric), each row's (1 − α/k) interval decides: "different" where it
excludes 0, "equivalent" where it lies inside ±margin (two one-sided tests at α/2k each), else "inconclusive".
A row can be both different and equivalent (a detectable shift within the margin): it is called "equivalent",
and `significant` says the rest.
"""

from __future__ import annotations

from dataclasses import dataclass


from .. import stats as S

ALPHA = S.ALPHA


@dataclass(frozen=True)
class Contrast:
    """mean(b − a) over pairs with its unadjusted 95 % CI, two-sided p and TOST p at the margin."""
    n: int
    diff: float
    se: float
    df: float
    sd: float
    lo: float
    hi: float
    p: float
    p_tost: float


@dataclass(frozen=True)
class Decision:
    """One row of a family of k: its Bonferroni-adjusted p, the adjusted interval and what it says."""
    p_adj: float  # min(1, k · p)
    lo_adj: float  # the (1 − α/k) interval: excludes 0 exactly when `significant`,
    hi_adj: float  # lies inside ±margin exactly when `equivalent`
    significant: bool
    equivalent: bool
    verdict: str  # "equivalent" (even when also significant), "different" or "inconclusive"


def contrast(b, a, margin: float) -> Contrast | None:
    """Paired t of b − a, position by position (a[i] and b[i] share a cell or a seed); None below two pairs."""
    if len(a) < 2:
        return None
    d = S.paired_t(b, a)
    return Contrast(d.n, d.diff, d.se, d.df, d.sd, d.lo, d.hi, d.p, S.tost(d, margin))


def decide(contrasts: list[Contrast], margin: float) -> list[Decision]:
    """Bonferroni over the family: every verdict read off its row's adjusted interval (a Contrast has what
    `sweep.stats.adjusted` reads of a Difference: diff, se, df)."""
    k, out = len(contrasts), []
    for c in contrasts:
        lo, hi = S.adjusted(c, k)
        significant, equivalent = bool(lo > 0 or hi < 0), bool(-margin < lo and hi < margin)
        verdict = "equivalent" if equivalent else "different" if significant else "inconclusive"
        out.append(Decision(min(1.0, k * c.p), lo, hi, significant, equivalent, verdict))
    return out


def family_verdict(verdicts) -> str:
    """One word for a metric's rows (NaN: a row not tested): "different" if any row is; "equivalent" if every
    row is tested and equivalent; "incomplete" if the tested ones are but some are not tested; "untested" if
    none is; else "inconclusive"."""
    verdicts = list(verdicts)
    tested = [v for v in verdicts if isinstance(v, str)]
    if not tested:
        return "untested"
    if "different" in tested:
        return "different"
    if any(v != "equivalent" for v in tested):
        return "inconclusive"
    return "equivalent" if len(tested) == len(verdicts) else "incomplete"


def mean_ci(values) -> tuple[float, float, float]:
    """Mean and 95 % t-interval; (mean, NaN, NaN) below two values."""
    i = S.t_interval(values)
    return i.mean, i.lo, i.hi
