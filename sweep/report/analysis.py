"""Which test fits how the trials were made, applied to the report's metrics.

A seed fixes the initial weights and the batch order, so trials that share a seed across ε differ
only in ε: each ε is compared with ε = 0 seed by seed (paired t), and the shape over ε is read off
steps between neighbouring ε, paired the same way. Where seeds do not repeat (`--eps-range`, missing
partners) the unpaired tests stand in, and each row says which was used. Every verdict is read off
the Bonferroni-adjusted interval printed beside it: "higher"/"lower" where it excludes 0,
"equivalent" where it lies inside the margin recorded with the study, else "inconclusive". The
primary metric (the gap, unless the study names another) is one family; each secondary another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..protocol import DEFAULT_PRIMARY, MARGIN_NATS, MARGIN_PP
from .. import stats as S
from ..metrics import COMPARED, diff_unit, digits, margin_kind, scale
from .tables import seed_matrix

COLUMNS = ["metric", "family", "eps", "method", "n", "n_zero", "mean", "mean_zero", "diff", "lo", "hi", "lo_adj",
           "hi_adj", "halfwidth", "df", "t", "p", "p_adj", "significant", "margin", "p_tost", "equivalent", "verdict",
           "sd_diff", "seeds_for_target", "note"]


def margins(protocol: dict) -> tuple[dict[str, float], bool]:
    """Equivalence margins in a metric's stored units ({'pp': fraction, 'nats': nats}) and whether the
    study recorded them (studies made before margins were recorded get the defaults)."""
    pp, nats = protocol.get("equivalence_margin_pp"), protocol.get("equivalence_margin_nats")
    recorded = pp is not None and nats is not None
    return {"pp": (pp if recorded else MARGIN_PP) / 100, "nats": nats if recorded else MARGIN_NATS}, recorded


def primary_metric(protocol: dict) -> str:
    return protocol.get("primary") or DEFAULT_PRIMARY


def first_stage(attrs: dict) -> int | None:
    """The seeds of Stein's first stage where `--until-precise` ran its two-stage rule, else None."""
    rule = attrs.get("until_precise") or {}
    return rule.get("first_stage_seeds") if rule.get("procedure") == "stein" else None


def _values(trials: pd.DataFrame, eps: float, metric: str) -> pd.Series:
    return trials.loc[trials.eps == eps].set_index("seed")[metric].dropna()


def difference(trials: pd.DataFrame, eps: float, metric: str, n0: int | None = None) -> tuple[S.Difference | None, str]:
    """ε against ε = 0: paired over the seeds both have (Stein's form where the study ran a two-stage rule with
    a first stage of n0 seeds), else Welch; (None, why) where nothing can be tested."""
    a, b = _values(trials, eps, metric), _values(trials, 0.0, metric)
    shared = a.index.intersection(b.index).sort_values()
    if len(shared) >= 2:
        left = len(a) + len(b) - 2 * len(shared)
        note = f"{left} trial{'s' * (left > 1)} without a partner seed left out" if left else ""
        if n0 and n0 >= 2 and all(s in shared for s in range(n0)):
            return S.stein(a[shared].to_numpy(), b[shared].to_numpy(), n0), note
        return S.paired_t(a[shared].to_numpy(), b[shared].to_numpy()), note
    if len(a) >= 2 and len(b) >= 2:
        return S.welch(a.to_numpy(), b.to_numpy()), "unpaired: fewer than two seeds shared with ε = 0"
    n, side = min((len(a), f"ε = {eps:g}"), (len(b), "ε = 0"))
    return None, f"not tested: {'one seed' if n == 1 else 'no value'} at {side} (no spread to test)"


def word(significant: bool, equivalent: bool, diff: float, up: str = "higher", down: str = "lower",
         within: str = ", within the margin") -> str:
    """The one wording of a verdict (report and compare): the direction where the adjusted interval excludes
    0, `within` added where it also lies inside the margin; else "equivalent" or "inconclusive"."""
    if significant:
        return (up if diff > 0 else down) + (within if equivalent else "")
    return "equivalent" if equivalent else "inconclusive"


def comparisons_frame(trials: pd.DataFrame, metrics=COMPARED, margin: dict | None = None, target: float = 0.5,
                      primary: str = DEFAULT_PRIMARY, n0: int | None = None) -> pd.DataFrame:
    """Each ε ≠ 0 against ε = 0, per metric: difference, 95 % CI and p (paired where seeds are shared, else
    Welch); the verdict from the Bonferroni-adjusted CI over the ε of one metric (`lo_adj`, `hi_adj`: it
    excludes 0 exactly when `significant`, and lies inside ±margin exactly when `equivalent`). The primary
    metric is its own family, each secondary another; and the seeds an adjusted half-width of `target` × the
    margin would take at the observed SD of the differences."""
    margin = margin or margins({})[0]
    others = sorted(set(trials.eps) - {0.0}) if (trials.eps == 0.0).any() else []
    rows = []
    for metric in metrics:
        m = margin[margin_kind(metric)]
        family = []
        for eps in others:
            d, note = difference(trials, eps, metric, n0)
            a, b = _values(trials, eps, metric), _values(trials, 0.0, metric)
            family.append({"metric": metric, "family": "primary" if metric == primary else "secondary", "eps": eps,
                           "mean": a.mean(), "mean_zero": b.mean(), "margin": m, "note": note, "n": len(a),
                           "n_zero": len(b), "diff": a.mean() - b.mean(), "_d": d})
        k = sum(r["_d"] is not None for r in family)
        for r in family:
            d = r.pop("_d")
            if d is None:
                continue
            lo_adj, hi_adj = S.adjusted(d, k)
            sd = d.sd if d.method != "Welch" else d.sd * math.sqrt(2)  # SD of one seed's difference
            r.update(method=d.method, n=d.n, n_zero=d.n_zero, diff=d.diff, lo=d.lo, hi=d.hi, lo_adj=lo_adj,
                     hi_adj=hi_adj, halfwidth=(hi_adj - lo_adj) / 2, df=d.df, t=d.t, p=d.p,
                     p_adj=S.bonferroni(d.p, k), p_tost=S.tost(d, m), sd_diff=sd,
                     seeds_for_target=S.seeds_for_halfwidth(sd, target * m, k=k))
            v = S.verdict(lo_adj, hi_adj, m)
            r.update(significant=v.significant, equivalent=v.equivalent, verdict=word(*v, d.diff))
        rows += family
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------- the shape over ε

@dataclass(frozen=True)
class Step:
    """One step along the grid, ε_lo → ε_hi, paired over the seeds present at every ε."""
    lo_eps: float
    hi_eps: float
    diff: float
    lo_adj: float  # Bonferroni over the steps of one metric, as the comparisons with ε = 0
    hi_adj: float
    p_adj: float
    word: str  # "up", "down", "flat" (inside ±margin) or "unclear"


@dataclass(frozen=True)
class Shape:
    """How one metric moves along the grid: adjacent steps, the linear trend against its own per-seed spread,
    and an extremum only as the grid interval the steps bracket."""
    metric: str
    seeds: int  # seeds present at every ε (complete blocks); 0: shape not tested
    steps: tuple[Step, ...] = ()
    trend: S.Difference | None = None  # the per-seed linear contrast's one-sample t
    trend_word: str = ""  # "rises" / "falls", only where the trend is significant and no step goes against it
    extremum: str = ""  # e.g. "a peak between ε = 0.05 and 0.2 (highest mean at 0.1)"


def _step_word(d: S.Difference, lo: float, hi: float, margin: float) -> str:
    said = word(*S.verdict(lo, hi, margin), d.diff, up="up", down="down", within="")
    return {"equivalent": "flat", "inconclusive": "unclear"}.get(said, said)


def shape(trials: pd.DataFrame, metric: str, margin: float) -> Shape:
    """Steps between neighbouring ε, paired by seed; a trend word needs the linear contrast significant over
    seeds *and* no step significantly the other way (a V on an uneven grid has a linear component too)."""
    matrix = seed_matrix(trials[["eps", "seed", metric]].dropna(), metric)
    if len(matrix) < 2 or matrix.shape[1] < 2:
        return Shape(metric, 0)
    levels = matrix.columns.to_numpy(dtype=float)
    k = len(levels) - 1
    steps = []
    for j in range(k):
        d = S.paired_t(matrix.iloc[:, j + 1].to_numpy(), matrix.iloc[:, j].to_numpy())
        lo, hi = S.adjusted(d, k)
        steps.append(Step(levels[j], levels[j + 1], d.diff, lo, hi, S.bonferroni(d.p, k),
                          _step_word(d, lo, hi, margin)))
    trend = S.contrast_test(matrix.to_numpy(), levels) if len(levels) >= 3 else None
    word = ""
    if trend is not None and trend.p < S.ALPHA:
        against = "down" if trend.diff > 0 else "up"
        word = "" if any(s.word == against for s in steps) else ("rises" if trend.diff > 0 else "falls")
    return Shape(metric, len(matrix), tuple(steps), trend, word, _extremum(steps, matrix.mean(axis=0)))


def _extremum(steps: list[Step], means: pd.Series) -> str:
    """A peak (trough) only between a significant step up (down) and a later significant step down (up) with
    nothing significant between them: the extreme lies between the first step's start and the second's end,
    and the grid cannot place it finer."""
    moves = [(j, st.word) for j, st in enumerate(steps) if st.word in ("up", "down")]
    for (i, a), (j, b) in zip(moves, moves[1:]):
        if a != b:
            kind = "peak" if a == "up" else "trough"
            inner = means.iloc[i + 1:j + 1]
            at = inner.idxmax() if kind == "peak" else inner.idxmin()
            return (f"a {kind} between ε = {steps[i].lo_eps:g} and {steps[j].hi_eps:g} "
                    f"({'highest' if kind == 'peak' else 'lowest'} mean at {at:g})")
    return ""


def step_words(sh: Shape, metric: str) -> str:
    """"up from 0 to 0.05, flat from 0.05 to 0.1, …" with each step's difference and adjusted CI."""
    s, dg, unit = scale(metric), digits(metric), diff_unit(metric)
    return ", ".join(f"{st.word} from {st.lo_eps:g} to {st.hi_eps:g} ({st.diff * s:+.{dg}f} "
                     f"[{st.lo_adj * s:+.{dg}f}, {st.hi_adj * s:+.{dg}f}] {unit})" for st in sh.steps)


def shape_words(sh: Shape) -> str:
    """What the tests say of the shape, for the shape section."""
    if not sh.seeds:
        return "shape not tested (no two seeds present at every ε)"
    text = step_words(sh, sh.metric)
    if sh.trend is not None:
        t = sh.trend
        if sh.trend_word:
            text += f"; it {sh.trend_word} with ε overall (linear contrast over seeds, p = {t.p:.2g})"
        elif t.p < S.ALPHA:
            text += (f"; no overall trend: the linear contrast is significant (p = {t.p:.2g}) but a step goes the "
                     "other way")
        else:
            text += f"; no overall trend shown (linear contrast over seeds, p = {t.p:.2g})"
    if sh.extremum:
        text += f"; {sh.extremum}"
    return text


# ---------------------------------------------------------------- over time

def onset_tests(trials: pd.DataFrame) -> pd.DataFrame:
    """Per ε ≠ 0 against ε = 0: the onset epoch by a permutation test (sign flips over shared seeds, else
    relabelling; exact up to 2¹⁶ rearrangements), Holm over ε; no p where the smallest p the test can give is
    above α (five seeds: 0.0625). Integer epochs with ties make a t-test's p unreliable at few seeds."""
    others = sorted(set(trials.eps) - {0.0}) if (trials.eps == 0.0).any() else []
    rows = []
    for eps in others:
        a, b = _values(trials, eps, "best_epoch"), _values(trials, 0.0, "best_epoch")
        shared = a.index.intersection(b.index)
        row = {"eps": eps, "mean": a.mean(), "mean_zero": b.mean()}
        if len(shared) >= 2:
            row.update(method="sign flips over shared seeds", n=len(shared), diff=(a[shared] - b[shared]).mean(),
                       p=S.permutation_paired(a[shared].to_numpy(), b[shared].to_numpy()),
                       p_min=S.smallest_p_paired(a[shared].to_numpy(), b[shared].to_numpy()))
        elif len(a) >= 2 and len(b) >= 2:
            row.update(method="relabelling, unpaired", n=len(a), diff=a.mean() - b.mean(),
                       p=S.permutation_independent(a.to_numpy(), b.to_numpy()),
                       p_min=S.smallest_p_independent(a.to_numpy(), b.to_numpy()))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["eps", "method", "n", "mean", "mean_zero", "diff", "p", "p_min"])
    frame.loc[frame.p_min > S.ALPHA, "p"] = np.nan  # a test that cannot reject is described, not run
    tested = frame.p.notna()
    frame["p_holm"] = np.nan
    if tested.any():
        frame.loc[tested, "p_holm"] = S.holm(frame.p[tested])
    return frame
