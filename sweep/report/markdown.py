"""reports/README.md's sections after the answer: method, protocol, the tables, the tests behind each word.

Every word of direction ("higher", "up", "equivalent") comes from a test in `analysis.py`; the
per-ε means are listed as they are, without words of their own.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd

from .. import __version__
from .analysis import Shape, shape_words
from .plotting import seeds_label
from ..stats import Crossing
from ..metrics import UNITS, diff_unit, digits, scale
from .tables import CLAIMS, TARGET_TRAIN, TARGET_VAL, state_counts


def _name(metric: str) -> str:
    name = UNITS[metric][0]
    return name[0].upper() + name[1:]


def signed(row, metric, unit: bool = True, adjusted: bool = False) -> str:
    """A difference with its 95 % CI (or its adjusted CI) where it has one, in the metric's shown unit."""
    s, d = scale(metric), digits(metric)
    lo, hi = ("lo_adj", "hi_adj") if adjusted else ("lo", "hi")
    text = f"{row['diff'] * s:+.{d}f}"
    if not pd.isna(row.get(lo)):
        text += f" [{row[lo] * s:+.{d}f}, {row[hi] * s:+.{d}f}]"
    return f"{text} {diff_unit(metric)}" if unit else text


# ---------------------------------------------------------------- sections

def protocol_lines(study: optuna.Study, summary: pd.DataFrame, storage_url, here, margin, recorded) -> list[str]:
    from ..study.storage import mask_url

    proto, counts = study.user_attrs.get("protocol", {}), state_counts(study)
    subset, source = proto.get("subset"), here(study.user_attrs.get("data_source", "?"))
    jpeg = " — CIFAR-10 (JPEG q75 copy), not the original pixels" if "jpeg" in source.lower() else ""
    epochs = proto.get("epochs")
    lines = [
        "## Protocol actually used", "",
        f"- data: `{source}`{jpeg} (fingerprint `{proto.get('data_fingerprint')}`)",
        image_line(subset, study.user_attrs.get("images")),
        f"- epochs: {epochs}{'' if epochs == 10 else ' (protocol changed: 10 is the protocol)'}; "
        f"batch {proto.get('batch_size')}, Adam lr {proto.get('lr')}, precision {proto.get('precision')}",
        f"- train accuracy and NLL: eval mode on a fixed sample of up to {proto.get('train_eval_size')} training images;"
        f" ECE with {proto.get('ece_bins')} equal-width bins",
        f"- sampling: {proto.get('sampling')}; study made by sweep {proto.get('sweep_version')}, this report by sweep "
        f"{__version__}" + (f"; storage `{here(mask_url(storage_url))}`" if storage_url else ""),
        f"- primary comparison: {UNITS[proto.get('primary') or 'gap'][0]} against ε = 0"
        + ("" if proto.get("primary") else " (the default: this study was made before the primary was recorded)"),
        f"- equivalence margins: ±{margin['pp'] * 100:g} pp (accuracies, gap, ECE), ±{margin['nats']:g} nats (NLL, "
        "NLL gap), " + ("fixed with the study before its first trial" if recorded else
                        "the defaults: this study was made before margins were recorded with it"),
        f"- trials: {counts.get('COMPLETE', 0)} complete (used), {counts.get('RUNNING', 0)} running, "
        + (f"{counts['WAITING']} waiting, " if counts.get("WAITING") else "") +
        f"{counts.get('FAIL', 0)} failed, {counts.get('PRUNED', 0)} pruned (not used)",
    ]
    if len(summary):
        lines.append("- seeds per ε: " + ", ".join(f"{r.eps:g}: {seeds_label(int(r.n))}" for _, r in summary.iterrows()))
    return lines


def image_line(subset, images) -> str:
    """The images trained and validated on: CIFAR-10's 50,000 and 10,000, a subset, or (as counted by the run,
    from 0.7.0) whatever other data the study was made on."""
    if subset:
        return (f"- training images: a stratified subset of {subset:,} (protocol changed); validation: "
                f"{subset // 5:,} of the test images (protocol changed)")
    if images and list(images) != [50_000, 10_000]:
        return (f"- training images: {images[0]:,}; validation: {images[1]:,} test images (not CIFAR-10's 50,000 and "
                "10,000: protocol changed)")
    return "- training images: all 50,000; validation: the 10,000 test images"


def _pm(row, metric) -> str:
    mean, lo, hi, s = row[f"{metric}_mean"], row[f"{metric}_ci_lo"], row[f"{metric}_ci_hi"], scale(metric)
    return f"{mean * s:.2f}" if math.isnan(lo) else f"{mean * s:.2f} ± {(hi - lo) / 2 * s:.2f}"


def results_table(summary: pd.DataFrame) -> list[str]:
    lines = ["## Per-ε results (mean ± 95 % CI half-width over seeds, t-interval; one seed: the value alone)", "",
             "| ε | n | train acc % | val acc % | gap (pp) | val NLL | NLL gap | ECE % | confidence − accuracy (pp) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        n = f"{int(r.n)}" + (" (one seed)" if r.n == 1 else "")
        lines.append(f"| {r.eps:g} | {n} | {_pm(r, 'train_acc')} | {_pm(r, 'val_acc')} | {_pm(r, 'gap')} | "
                     f"{_pm(r, 'val_nll')} | {_pm(r, 'nll_gap')} | {_pm(r, 'val_ece')} | {_pm(r, 'val_sce')} |")
    return lines + [""]


def method_lines(comparisons: pd.DataFrame, primary: str, n0: int | None, declared: bool = True) -> list[str]:
    """How the answer was reached and what limits it, after the answer itself."""
    tested = comparisons[comparisons.p.notna()]
    if not len(tested):
        return []
    k, seeds = tested.eps.nunique(), _seeds(tested)
    test = (f"Stein's two-stage paired t (the SD of the first {n0} seeds, t on {n0 - 1} degrees of freedom, so the "
            "intervals stay exact although the number of seeds was chosen from the data)") if n0 else "paired t"
    lines = ["## Method and caveats", "",
             f"- A seed fixes the initial weights and the batch order at every ε, so each ε is compared with ε = 0 "
             f"seed by seed ({test}, over {seeds} seeds). The seed, not the rerun, is the unit of replication: a "
             "rerun on the same kind of CPU repeats every trial bit for bit.",
             "- Primary comparison, " + ("fixed with the study before its first trial" if declared else
                                          "the question's own (this study was made before a primary was recorded)")
             + f": {UNITS[primary][0]} against ε = 0, one family of {k} comparisons. Every other metric is secondary, each its own family of {k}; no "
             "adjustment runs across families, so read a secondary verdict as support, not as a second answer.",
             "- The verdict table: each cell is ε minus ε = 0 (mean over seeds), its adjusted interval and the verdict "
             "read off it; the primary row answers the question, the secondary rows explain it.",
             f"- Each verdict is read off the Bonferroni-adjusted 95 % interval shown beside it (the (1 − 0.05/{k}) "
             "interval): it excludes 0 exactly when the Bonferroni p is below 0.05, and *equivalent* means it lies "
             "inside the margin (two one-sided tests at 0.025 each, adjusted the same way: stricter than the usual "
             "90 % rule). Unadjusted 95 % intervals are in the tables below and `comparisons.csv` for reference.",
             "- Shapes come from steps between neighbouring ε, paired and adjusted the same way; a trend word needs "
             "the linear contrast to be significant against its own spread over seeds and no step against it; a "
             "peak or trough is placed only between the grid points that bracket it.", ""]
    return lines


def _seeds(tested: pd.DataFrame) -> str:
    values = sorted({int(n) for n in tested.n})
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def comparison_section(comparisons: pd.DataFrame, target: float) -> list[str]:
    lines = ["## Each ε against ε = 0", ""]
    if not len(comparisons):
        return lines + ["No ε = 0 trials, or no other ε: nothing to compare against.", ""]
    if comparisons.p.isna().all():
        return lines + ["Not tested: every ε compared, or ε = 0, has a single seed (no spread to test).", ""]
    lines += ["Paired t-test over the seeds that ε and ε = 0 share (Welch's where fewer than two are shared), "
              "two-sided. The verdict is read off the Bonferroni-adjusted 95 % CI over the ε of its metric (the "
              "primary metric is one family; each secondary metric its own). The TOST p is unadjusted, for "
              f"reference. The last column is the seeds that would make the adjusted half-width {target:g} × the "
              "margin at the observed SD of the per-seed differences (planning, not a test).", "",
              "| metric | family | ε | test | n | difference [95 % CI] | adjusted CI | p | Bonferroni p | TOST p | "
              f"verdict | seeds for ±{target:g}·margin |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in comparisons.iterrows():
        name = f"{UNITS[r.metric][0]} ({diff_unit(r.metric)})"
        if pd.isna(r.p):
            lines.append(f"| {name} | {r.family} | {r.eps:g} | – | {r.n} / {r.n_zero} | {signed(r, r.metric)} | – | – "
                         f"| – | – | {r.note} | – |")
            continue
        verdict = f"**{r.verdict}**" if r.significant or r.equivalent else r.verdict
        seeds = "–" if pd.isna(r.seeds_for_target) else f"{int(r.seeds_for_target)}"
        note = f" ({r.note})" if r.note else ""
        adj = f"[{r.lo_adj * scale(r.metric):+.{digits(r.metric)}f}, {r.hi_adj * scale(r.metric):+.{digits(r.metric)}f}]"
        lines.append(f"| {name} | {r.family} | {r.eps:g} | {r.method} | {int(r.n)} | {signed(r, r.metric)} | {adj} | "
                     f"{r.p:.2g} | {r.p_adj:.2g} | {r.p_tost:.2g} | {verdict}{note} | {seeds} |")
    return lines + [""]


def findings(summary: pd.DataFrame, shapes: dict[str, Shape], correlations: dict[str, float]) -> list[str]:
    lines = ["## The shape over ε", "",
             "The means per ε as measured, then the steps between neighbouring ε (paired by seed, "
             "Bonferroni-adjusted over the steps of one metric): *up* or *down* where the adjusted CI excludes 0, "
             "*flat* where it lies inside the margin, *unclear* otherwise. The pairing pays where a seed's values "
             "correlate across ε (the mean correlation is given).", ""]
    if len(summary) < 2:
        return lines + ["- Only one ε in this study: nothing to compare yet.", ""]
    for metric, sh in shapes.items():
        means = summary[f"{metric}_mean"].to_numpy() * scale(metric)
        values = ", ".join(f"{v:.{digits(metric)}f} (ε = {e:g})" for e, v in zip(summary.eps, means) if not np.isnan(v))
        corr = correlations.get(metric, math.nan)
        corr = "" if math.isnan(corr) else f" (seed correlation across ε {corr:.2f})"
        lines.append(f"- {_name(metric)} ({UNITS[metric][1]}): {values}; {shape_words(sh)}{corr}.")
    lines += ["- Smoothed losses are not comparable across ε (their floor H(q) rises with ε); compare NLL instead."]
    return lines + claims_lines(summary) + [""]


def calibration_lines(summary: pd.DataFrame, crossing: Crossing | None) -> list[str]:
    """Over- and under-confidence per ε, where the seeds cross from one to the other, and what that says of ECE."""
    if "val_sce_mean" not in summary or summary.val_sce_mean.isna().all():
        return []
    lines = ["## Calibration: over- or under-confident", "",
             "Signed calibration error: mean confidence − accuracy on the validation images at the last epoch, from "
             "the reliability bins (positive: over-confident). ECE sums the same per-bin gaps without their sign, "
             "so it is at least |signed error| and can only approach 0 where the signed error does.", ""]
    for _, r in summary.iterrows():
        ci = "" if math.isnan(r.val_sce_ci_lo) else f" [{r.val_sce_ci_lo * 100:+.2f}, {r.val_sce_ci_hi * 100:+.2f}]"
        ci = f"{ci} (95 % CI over seeds)" if ci else f" ({seeds_label(int(r.n))})"
        lines.append(f"- ε = {r.eps:g}: {r.val_sce_mean * 100:+.2f} pp{ci}; ECE "
                     f"{r.val_ece_mean * 100:.2f} %")
    if crossing is not None and crossing.seeds:
        if crossing.crossing:
            at = crossing.at
            ci = "" if math.isnan(at.lo) else f", 95 % t-interval over those seeds [{at.lo:.3f}, {at.hi:.3f}]"
            where = f", every crossing between ε = {crossing.lo_eps:g} and {crossing.hi_eps:g}" \
                if not math.isnan(crossing.lo_eps) else ", in different grid intervals"
            lines += ["", f"- {crossing.crossing} of {crossing.seeds} seeds change sign once along the grid{where}; "
                          f"by linear interpolation between the bracketing grid points each seed crosses 0 at "
                          f"ε ≈ {at.mean:.3f} on average{ci}. The interpolation assumes the signed error is linear "
                          "between grid points. The grid cannot place ECE's minimum more finely than between its grid points."]
        else:
            lines += ["", f"- No seed's signed error changes sign exactly once along the grid ({crossing.seeds} seeds)."]
    return lines + [""]


def claims_lines(summary: pd.DataFrame) -> list[str]:
    out = []
    for eps, (claim_train, claim_val) in CLAIMS.items():
        row = summary[np.isclose(summary.eps, eps)]
        if len(row):
            r = row.iloc[0]
            inside = [f"{side} claim {'inside' if lo <= claim <= hi else 'outside'} the 95 % CI"
                      for side, claim, lo, hi in (("train", claim_train, r.train_acc_ci_lo, r.train_acc_ci_hi),
                                                  ("val", claim_val, r.val_acc_ci_lo, r.val_acc_ci_hi))
                      if not math.isnan(lo)]
            out.append(f"- Tutorial's claim at ε = {eps:g}: train {claim_train:.0%} / val {claim_val:.0%}; measured "
                       f"train {r.train_acc_mean:.1%} / val {r.val_acc_mean:.1%} "
                       f"({(r.train_acc_mean - claim_train) * 100:+.1f} / {(r.val_acc_mean - claim_val) * 100:+.1f} pp"
                       + (f"; {', '.join(inside)}" if inside else "") + ").")
    met = [r.eps for _, r in summary.iterrows() if r.val_acc_mean > TARGET_VAL and r.train_acc_mean < TARGET_TRAIN]
    where = f"met at ε = {', '.join(f'{e:g}' for e in met)}" if met else "not met at any ε"
    out.append(f"- Target (val > 85 %, train < 92 %, means over seeds): {where}.")
    return out + [f"  - {target_check(r.eps, r.val_acc_mean, r.train_acc_mean)}" for _, r in summary.iterrows()]


def target_check(eps: float, val: float, train: float) -> str:
    """Each side of the target on its own, so that a miss names the side that fails."""
    v = "meets: above 85 %" if val > TARGET_VAL else "fails: not above 85 %"
    t = "meets: below 92 %" if train < TARGET_TRAIN else "fails: not below 92 %"
    return f"ε = {eps:g}: val {val * 100:.1f} % ({v}), train {train * 100:.1f} % ({t})"
