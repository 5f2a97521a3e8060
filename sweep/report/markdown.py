"""reports/README.md: the answer first, then the protocol, the tables, the tests behind each word, the plots.

Every word of direction ("higher", "rises", "equivalent") comes from a test in `analysis.py`; the
per-ε means are listed as they are, without words of their own.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd

from .. import __version__
from .analysis import Curve, shape_short, shape_words
from .plotting import seeds_label
from .tables import CLAIMS, HEADLINE, TARGET_TRAIN, TARGET_VAL, UNITS, diff_unit, digits, scale, state_counts

WIDER = {"gap", "nll_gap"}  # metrics whose "higher" reads as "wider"


def _name(metric: str) -> str:
    name = UNITS[metric][0]
    return name[0].upper() + name[1:]


def signed(row, metric, unit: bool = True) -> str:
    """A difference with its 95 % CI where it has one, in the metric's shown unit."""
    s, d = scale(metric), digits(metric)
    text = f"{row['diff'] * s:+.{d}f}"
    if not pd.isna(row.get("lo")):
        text += f" [{row['lo'] * s:+.{d}f}, {row['hi'] * s:+.{d}f}]"
    return f"{text} {diff_unit(metric)}" if unit else text


def _eps_list(values) -> str:
    values = [v if isinstance(v, str) else f"{v:g}" for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


# ---------------------------------------------------------------- the answer

def headline(comparisons: pd.DataFrame, curves: dict[str, Curve]) -> list[str]:
    """3–5 sentences from the tests: the design, then per headline metric its direction, size and CI."""
    tested = comparisons[comparisons.p.notna()]
    if not len(tested):
        return ["No ε is compared with ε = 0 yet (it needs two seeds at ε = 0 and at another ε); the shape over ε: "
                + "; ".join(f"{UNITS[m][0]}: {shape_short(curves[m])}" for m in HEADLINE) + "."]
    paired = tested[tested.method == "paired t"]
    k = tested.eps.nunique()
    if len(paired) == len(tested):
        n = _eps_list(sorted(set(paired.n)))
        design = (f"A seed fixes the initial weights and the batch order at every ε, so each ε is compared with ε = 0 "
                  f"seed by seed (paired t-tests over {n} seeds, Holm-adjusted over the {k} ε within each metric); "
                  "differences are mean [95 % CI].")
    else:
        design = ("Seeds are not shared across every ε, so some comparisons with ε = 0 are unpaired (Welch), as the "
                  f"table below says per row; p-values are Holm-adjusted over the {k} ε within each metric; differences are "
                  "mean [95 % CI].")
    return [design] + [_metric_sentence(tested[tested.metric == m], m, curves[m]) for m in HEADLINE
                       if (tested.metric == m).any()]


def _metric_sentence(rows: pd.DataFrame, metric: str, c: Curve) -> str:
    up, down = ("wider", "narrower") if metric in WIDER else ("higher", "lower")
    margin = f"±{rows.margin.iloc[0] * scale(metric):g} {diff_unit(metric)}"
    sig, equiv = rows.significant.astype(bool), rows.equivalent.astype(bool)
    groups = []
    for label, mask, why in ((f"{up} than at ε = 0", sig & (rows["diff"] > 0), ""),
                             (f"{down} than at ε = 0", sig & (rows["diff"] < 0), ""),
                             ("equivalent to ε = 0", ~sig & equiv, f"within {margin}"),
                             ("inconclusive", ~sig & ~equiv, f"neither significant nor within {margin}")):
        part = rows[mask]
        if len(part):
            sizes = _eps_list([signed(r, metric, unit=False) for _, r in part.iterrows()]) + f" {diff_unit(metric)}"
            column, name = ("p_tost_holm", "TOST Holm p") if label.startswith("equivalent") else ("p_holm", "Holm p")
            p = f"{name} {'≤' if len(part) > 1 else '='} {part[column].max():.2g}"
            groups.append(f"{label} at ε = {_eps_list(part.eps)}: {sizes} ({why + '; ' if why else ''}{p})")
    return f"{_name(metric)}: {'; '.join(groups)}; over ε, {shape_short(c)}."


# ---------------------------------------------------------------- sections

def protocol_lines(study: optuna.Study, summary: pd.DataFrame, storage_url, here, margin, recorded) -> list[str]:
    from ..storage import mask_url

    proto, counts = study.user_attrs.get("protocol", {}), state_counts(study)
    subset, source = proto.get("subset"), here(study.user_attrs.get("data_source", "?"))
    jpeg = " — CIFAR-10 (JPEG q75 copy), not the original pixels" if "jpeg" in source.lower() else ""
    epochs = proto.get("epochs")
    lines = [
        "## Protocol actually used", "",
        f"- data: `{source}`{jpeg} (fingerprint `{proto.get('data_fingerprint')}`)",
        f"- training images: {'all 50,000' if not subset else f'a stratified subset of {subset} (protocol changed)'}; "
        f"validation: {'the 10,000 test images' if not subset else f'{subset // 5} of the test images (protocol changed)'}",
        f"- epochs: {epochs}{'' if epochs == 10 else ' (protocol changed: 10 is the protocol)'}; "
        f"batch {proto.get('batch_size')}, Adam lr {proto.get('lr')}, precision {proto.get('precision')}",
        f"- train accuracy and NLL: eval mode on a fixed sample of up to {proto.get('train_eval_size')} training images;"
        f" ECE with {proto.get('ece_bins')} equal-width bins",
        f"- sampling: {proto.get('sampling')}; study made by sweep {proto.get('sweep_version')}, this report by sweep "
        f"{__version__}" + (f"; storage `{here(mask_url(storage_url))}`" if storage_url else ""),
        f"- equivalence margins: ±{margin['pp'] * 100:g} pp (accuracies, gap, ECE), ±{margin['nats']:g} nats (NLL, "
        "NLL gap), " + ("fixed with the study before its first trial" if recorded else
                        "the defaults: this study was made before margins were recorded with it"),
        f"- trials: {counts.get('COMPLETE', 0)} complete (used), {counts.get('RUNNING', 0)} running, "
        f"{counts.get('FAIL', 0)} failed, {counts.get('PRUNED', 0)} pruned (not used)",
    ]
    if len(summary):
        lines.append("- seeds per ε: " + ", ".join(f"{r.eps:g}: {seeds_label(int(r.n))}" for _, r in summary.iterrows()))
    return lines


def _pm(row, metric) -> str:
    mean, lo, hi, s = row[f"{metric}_mean"], row[f"{metric}_ci_lo"], row[f"{metric}_ci_hi"], scale(metric)
    return f"{mean * s:.2f}" if math.isnan(lo) else f"{mean * s:.2f} ± {(hi - lo) / 2 * s:.2f}"


def results_table(summary: pd.DataFrame) -> list[str]:
    lines = ["## Per-ε results (mean ± 95 % CI half-width over seeds, t-interval; one seed: the value alone)", "",
             "| ε | n | train acc % | val acc % | gap (pp) | val NLL | NLL gap | ECE % |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        n = f"{int(r.n)}" + (" (one seed)" if r.n == 1 else "")
        lines.append(f"| {r.eps:g} | {n} | {_pm(r, 'train_acc')} | {_pm(r, 'val_acc')} | {_pm(r, 'gap')} | "
                     f"{_pm(r, 'val_nll')} | {_pm(r, 'nll_gap')} | {_pm(r, 'val_ece')} |")
    return lines + [""]


def comparison_section(comparisons: pd.DataFrame, curves: dict[str, Curve], target: float) -> list[str]:
    lines = ["## Each ε against ε = 0", ""]
    if not len(comparisons):
        return lines + ["No ε = 0 trials, or no other ε: nothing to compare against.", ""]
    if comparisons.p.isna().all():
        return lines + ["Not tested: every ε compared, or ε = 0, has a single seed (no spread to test).", ""]
    lines += ["Paired t-test over the seeds that ε and ε = 0 share (Welch's where fewer than two are shared), "
              "two-sided; Holm's adjustment over the ε compared, per metric; **significant** when the adjusted "
              "p < 0.05. Equivalence: two one-sided tests (TOST) against the margin, Holm-adjusted the same way; "
              "**equivalent** when that p < 0.05 (unadjusted, this is the 90 % CI lying inside ±margin). Neither: "
              "inconclusive. The CIs shown are unadjusted 95 % intervals. The "
              f"last column is the seeds that would make the 95 % CI half-width {target:g} × the margin, from the "
              "observed SD of the per-seed differences (planning, not a test).", "",
              "| metric | ε | test | n | difference [95 % CI] | p | Holm p | TOST Holm p | verdict | seeds for "
              f"±{target:g}·margin |", "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in comparisons.iterrows():
        name = f"{UNITS[r.metric][0]} ({diff_unit(r.metric)})"
        if pd.isna(r.p):
            lines.append(f"| {name} | {r.eps:g} | – | {r.n} / {r.n_zero} | {signed(r, r.metric)} | – | – | – | "
                         f"{r.note} | – |")
            continue
        verdict = f"**{r.verdict}**" if r.significant or r.equivalent else r.verdict
        seeds = "–" if pd.isna(r.seeds_for_target) else f"{int(r.seeds_for_target)}"
        note = f" ({r.note})" if r.note else ""
        lines.append(f"| {name} | {r.eps:g} | {r.method} | {int(r.n)} | {signed(r, r.metric)} | {r.p:.2g} | "
                     f"{r.p_holm:.2g} | {r.p_tost_holm:.2g} | {verdict}{note} | {seeds} |")
    lines += ["", "Which analysis, and why (the correlation of the seeds' values across ε: the higher it is, the more "
              "of the spread the seed explains and the more pairing narrows the CIs):", ""]
    for metric, c in curves.items():
        rows = comparisons[(comparisons.metric == metric) & comparisons.p.notna()]
        methods = ", ".join(sorted(set(rows.method))) or "none"
        corr = "no seed present at every ε" if math.isnan(c.correlation) else \
            f"mean correlation across ε {c.correlation:.2f} over {c.blocks} seeds present at every ε"
        lines.append(f"- {UNITS[metric][0]}: {methods}; {corr}")
    return lines + [""]


def findings(summary: pd.DataFrame, curves: dict[str, Curve]) -> list[str]:
    lines = ["## The shape over ε", "",
             "The means per ε as measured, then what the tests say of their shape: an F-test of any ε effect in a "
             "model with the seed as a block (where seeds repeat), and its linear and quadratic terms for the actual "
             "ε spacing (orthogonal polynomials); a peak or trough is located only where the quadratic term is "
             "significant, the fitted vertex lies inside the span, and the extreme mean sits at an inner ε beyond "
             "both ends of the grid (paired tests), with a bootstrap CI over seeds. Without a significant test the "
             "means are not called "
             "rising, falling or different.", ""]
    if len(summary) < 2:
        return lines + ["- Only one ε in this study: nothing to compare yet.", ""]
    for metric, c in curves.items():
        means = summary[f"{metric}_mean"].to_numpy() * scale(metric)
        values = ", ".join(f"{v:.{digits(metric)}f} (ε = {e:g})" for e, v in zip(summary.eps, means) if not np.isnan(v))
        lines.append(f"- {_name(metric)} ({UNITS[metric][1]}): {values}; {shape_words(c)}.")
    lines += ["- Smoothed losses are not comparable across ε (their floor H(q) rises with ε); compare NLL instead."]
    return lines + claims_lines(summary) + [""]


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
