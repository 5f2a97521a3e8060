"""`sweep compare`'s folder: README.md (the answer first, then the tables), CSVs and the one plot.

Every word ("equivalent", "differ", "inconclusive") comes from a test in `compare.py`, read off the adjusted
interval printed beside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .answer import eps_list
from .compare import ALLOWED, answers, effects_frame, levels_frame, paired_cells, verdicts_frame
from .paths import portable_paths
from .plots_compare import plot_effects
from .tables import COMPARED, HEADLINE, UNITS, diff_unit, digits, duration, margin_kind, scale

PLOT = "effects_a_vs_b.png"


@dataclass(frozen=True)
class Side:
    """One study as the comparison needs it."""
    name: str
    storage: str  # masked URL
    protocol: dict  # normalised: with the ε grid
    trials: pd.DataFrame  # trials_frame of its COMPLETE trials
    margin: dict  # its own equivalence margins, stored units
    wall_seconds: float | None = None  # first trial's start to last trial's completion
    machines: list[str] = field(default_factory=list)  # "machine (device)" of its complete trials
    first_stage: int | None = None  # Stein's first stage where `--until-precise` sized the study


def write_comparison(a: Side, b: Side, margin: dict, out: Path, cwd: str | os.PathLike = ".") -> Path:
    """Tables, the plot and README.md in `out`; reads nothing but its arguments."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"comparison folder {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    metrics = measured(a.trials, b.trials)
    cells = paired_cells(a.trials, b.trials, metrics)
    levels, effects = levels_frame(cells, metrics, margin), effects_frame(cells, metrics, margin)
    verdicts = verdicts_frame(a, b, metrics)
    for name, frame in (("cells", cells), ("levels", levels), ("effects", effects), ("verdicts", verdicts)):
        frame.to_csv(out / f"{name}.csv", index=False)
    plotted = plot_effects(effects, out / PLOT, a.name, b.name)
    text = render(a, b, margin, cells, levels, effects, verdicts, plotted, cwd)
    (out / "README.md").write_text(text)
    return out


def measured(trials_a: pd.DataFrame, trials_b: pd.DataFrame) -> list[str]:
    """The compared metrics both studies recorded (a study from an older sweep may lack a newer metric)."""
    return [m for m in COMPARED if m in trials_a and m in trials_b and trials_a[m].notna().any()
            and trials_b[m].notna().any()]


def render(a: Side, b: Side, margin, cells, levels, effects, verdicts, plotted: bool, cwd) -> str:
    lines = [f"# `{b.name}` against `{a.name}`: does B give A's answer?", ""]
    lines += answer_lines(a, b, margin, cells, levels, effects) + difference_lines(a, b, cells, cwd)
    lines += effects_table(effects) + levels_table(levels) + verdicts_table(verdicts, a.name, b.name)
    if plotted:
        lines += ["## Plot", "", f"![ε effects in {b.name} against {a.name}]({PLOT})", ""]
    lines += ["Tables: `cells.csv` (the cells both studies have, each metric as `_a` and `_b`), `levels.csv`, "
              "`effects.csv`, `verdicts.csv` (in the metrics' raw units: accuracies as fractions).", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- words

def _v(x, metric, sign=True) -> str:
    return f"{x * scale(metric):{'+' if sign else ''}.{digits(metric)}f}"


def _span(lo, hi, metric) -> str:
    return "–" if pd.isna(lo) else f"[{_v(lo, metric)}, {_v(hi, metric)}]"


def _margin_text(metric: str, margin: dict) -> str:
    return f"±{margin[margin_kind(metric)] * scale(metric):g} {diff_unit(metric)}"


def _cis(rows, one: str, many: str) -> str:
    return f"adjusted CI {one}" if len(rows) == 1 else f"adjusted CIs {many}"


def _groups(rows: pd.DataFrame, metric: str, margin: dict) -> str:
    """Rows of one metric by verdict, each with the interval that decided it."""
    shown, unit, parts = _margin_text(metric, margin), diff_unit(metric), []
    diff = rows[rows.verdict == "different"]
    if len(diff):
        parts.append(f"differ at ε = {eps_list(diff.eps)} (B − A " + ", ".join(
            f"{_v(r['diff'], metric)} {_span(r.lo_adj, r.hi_adj, metric)}" for _, r in diff.iterrows())
            + f" {unit}: {_cis(diff, 'excludes', 'exclude')} 0)")
    same = rows[rows.verdict == "equivalent"]
    if len(same):
        shift = same[same.significant.astype(bool)]
        note = f"; a detectable shift within the margin at ε = {eps_list(shift.eps)}" if len(shift) else ""
        widest = max(max(abs(r.lo_adj), abs(r.hi_adj)) for _, r in same.iterrows())
        parts.append(f"equivalent within {shown} at ε = {eps_list(same.eps)} ({_cis(same, 'lies', 'lie')} within "
                     f"±{widest * scale(metric):.{digits(metric)}f} {unit}){note}")
    unsure = rows[rows.verdict == "inconclusive"]
    if len(unsure):
        parts.append(f"inconclusive at ε = {eps_list(unsure.eps)} (B − A " + ", ".join(
            f"{_v(r['diff'], metric)} {_span(r.lo_adj, r.hi_adj, metric)}" for _, r in unsure.iterrows())
            + f" {unit}: {_cis(unsure, 'includes', 'include')} 0 and {'reaches' if len(unsure) == 1 else 'reach'} "
              f"beyond {shown})")
    untested = rows[rows.verdict.isna()]
    if len(untested):
        parts.append(f"not tested at ε = {eps_list(untested.eps)} (fewer than two shared seeds)")
    return "; ".join(parts) or "nothing to compare"


def answer_lines(a: Side, b: Side, margin, cells, levels, effects) -> list[str]:
    seeds = cells.groupby("eps").seed.nunique()
    n = eps_list(sorted(set(seeds))) if len(seeds) else "0"
    lines = ["## The answer", "",
             f"B = `{b.name}`, A = `{a.name}`. Compared cell by cell: the same ε and seed in both studies "
             f"({len(cells)} cells, {n} seeds per ε), B − A by paired t-tests over seeds. Each verdict is read off a "
             "Bonferroni-adjusted CI over the ε of its metric (printed beside it): **different** where it excludes "
             f"0, **equivalent** where it lies inside the studies' margin, ±{margin['pp'] * 100:g} pp (accuracies, "
             f"gap, ECE) or ±{margin['nats']:g} nats (NLLs), else **inconclusive**. "
             "**Effects** are each ε − ε = 0 within one seed: whether B gives A's answer to the question. "
             "**Levels** are the values per ε: whether B also gives A's numbers.", ""]
    for ans in answers(levels, effects, HEADLINE):
        name = UNITS[ans.metric][0]
        ef, lv = effects[effects.metric == ans.metric], levels[levels.metric == ans.metric]
        lines.append(f"- **{name[0].upper() + name[1:]}: {ans.gives}** ({ans.words()}). Effects: "
                     f"{_groups(ef, ans.metric, margin)}. Levels: {_groups(lv, ans.metric, margin)}.")
    return lines + [""]


def difference_lines(a: Side, b: Side, cells, cwd) -> list[str]:
    here = lambda text: portable_paths(text, cwd)  # noqa: E731
    changed = [(k, a.protocol.get(k), b.protocol.get(k)) for k in ALLOWED if a.protocol.get(k) != b.protocol.get(k)]
    lines = ["## What differs", ""]
    lines += [f"- {k}: A `{va}`, B `{vb}`" for k, va, vb in changed] or ["- no protocol field"]
    for tag, side in (("A", a), ("B", b)):
        wall = "not recorded" if side.wall_seconds is None else duration(side.wall_seconds)
        lines.append(f"- {tag} `{side.name}` (storage `{here(side.storage)}`): {len(side.trials)} complete trials, "
                     f"wall time {wall}; ran on {'; '.join(side.machines) or 'not recorded'}")
    same = {k: v for k, v in a.protocol.items() if k not in ALLOWED}
    lines += ["- the same in both: " + ", ".join(f"{k} `{v}`" for k, v in sorted(same.items())),
              f"- compared: {len(cells)} cells complete in both; cells only one study has are left out", ""]
    return lines


# ---------------------------------------------------------------- tables

INTERVALS = ("B − A is the mean over seeds with its unadjusted 95 % CI. The adjusted CI is the (1 − 0.05/k) "
             "interval, k the ε compared for that metric (Bonferroni): the verdict is read off it, **different** "
             "where it excludes 0, **equivalent** where it lies inside ±margin (two one-sided tests, each at "
             "0.05/2k), else inconclusive. Adjusted p = min(1, k · p); TOST p is the unadjusted equivalence p.")


def _stat_cells(r, metric) -> str:
    if pd.isna(r.verdict):
        return f"{_v(r['diff'], metric) if not pd.isna(r['diff']) else '–'} | – | – | – | not tested |"
    verdict = f"**{r.verdict}**" if r.verdict != "inconclusive" else r.verdict
    shift = " (a shift within the margin)" if r.verdict == "equivalent" and r.significant else ""
    return (f"{_v(r['diff'], metric)} {_span(r.lo, r.hi, metric)} | {_span(r.lo_adj, r.hi_adj, metric)} | "
            f"{r.p_adj:.2g} | {r.p_tost:.2g} | {verdict}{shift} |")


def _metric_label(metric: str) -> str:
    return f"{UNITS[metric][0]} ({diff_unit(metric)})"


def effects_table(effects: pd.DataFrame) -> list[str]:
    lines = ["## ε effects: B's against A's", "",
             "Each ε − ε = 0 within a seed, in each study over the seeds both have at both ε; B − A is B's per-seed "
             "effect minus A's. " + INTERVALS, "",
             "| metric | ε | n | A's effect [95 % CI] | B's effect [95 % CI] | B − A [95 % CI] | adjusted CI | "
             "adjusted p | TOST p | verdict |", "|---|---|---|---|---|---|---|---|---|---|"]
    if not len(effects):
        return lines[:2] + ["No ε = 0 in the shared cells, or no other ε: no effect to compare.", ""]
    for _, r in effects.iterrows():
        m = r.metric
        lines.append(f"| {_metric_label(m)} | {r.eps:g} | {int(r.n)} | {_v(r.effect_a, m)} "
                     f"{_span(r.effect_a_lo, r.effect_a_hi, m)} | {_v(r.effect_b, m)} "
                     f"{_span(r.effect_b_lo, r.effect_b_hi, m)} | {_stat_cells(r, m)}")
    return lines + [""]


def levels_table(levels: pd.DataFrame) -> list[str]:
    lines = ["## Levels per ε: B − A", "", "Per cell, B's value minus A's, over the seeds both have at that ε. "
             + INTERVALS, "",
             "| metric | ε | n | A | B | B − A [95 % CI] | adjusted CI | adjusted p | TOST p | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in levels.iterrows():
        m = r.metric
        lines.append(f"| {_metric_label(m)} | {r.eps:g} | {int(r.n)} | {_v(r.mean_a, m, False)} | "
                     f"{_v(r.mean_b, m, False)} | {_stat_cells(r, m)}")
    return lines + [""]


def verdicts_table(verdicts: pd.DataFrame, name_a: str, name_b: str) -> list[str]:
    # Beside a verdict only the interval it was read off: the report's adjusted one where it gives it.
    adjusted = verdicts.attrs.get("interval") == "adjusted"
    shown = "difference [adjusted CI]" if adjusted else "difference"
    lines = ["## Each study's own verdicts against ε = 0", "",
             "As each study's report makes them, from all its complete trials and at its own margins"
             + ("" if adjusted else " (the interval behind each verdict is in that study's report)")
             + ". A row is marked where the two calls (higher, lower, equivalent, inconclusive) differ.", "",
             f"| metric | ε | `{name_a}`: {shown} | verdict | `{name_b}`: {shown} | verdict | calls |",
             "|---|---|---|---|---|---|---|"]
    for _, r in verdicts.iterrows():
        m = r.metric
        sides = [f"{'–' if pd.isna(d) else _v(d, m)} {_span(lo, hi, m) if adjusted else ''} | "
                 f"{v if isinstance(v, str) else 'not tested'}"
                 for d, lo, hi, v in ((r.diff_a, r.lo_a, r.hi_a, r.verdict_a), (r.diff_b, r.lo_b, r.hi_b, r.verdict_b))]
        mark = "agree" if r.agree else f"**disagree** ({r.call_a} / {r.call_b})"
        lines.append(f"| {_metric_label(m)} | {r.eps:g} | {sides[0]} | {sides[1]} | {mark} |")
    disagree = int((~verdicts.agree.astype(bool)).sum())
    return lines + ["", f"{disagree} of {len(verdicts)} rows disagree." if len(verdicts) else "No verdicts.", ""]
