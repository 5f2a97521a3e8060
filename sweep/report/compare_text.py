"""`sweep compare A B`, its words and its plot: the refusals, then README.md (the answer first, then the
tables), the CSVs and one figure, in a folder of their own.

Every word ("equivalent", "differ", "inconclusive") comes from a test in `compare.py`, read off the adjusted
interval printed beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..metrics import COMPARED, HEADLINE, UNITS, diff_unit, digits, margin_kind, scale
from ..study.storage import writable_folder
from .answer import eps_list
from .compare import (ALLOWED, Side, answers, effects_frame, levels_frame, open_read_only, paired_cells,
                      protocol_differences, same_place, shared_margin, side, urls, verdicts_frame)
from .paths import portable_paths
from .plotting import eps_colors, plt, save, style
from .tables import duration

PLOT = "effects_a_vs_b.png"


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


# ---------------------------------------------------------------- the command

def compare(a: str, b: str, storage: str | None, storage_b: str | None, out: str | None) -> tuple[Path, list]:
    """Write the comparison; returns its folder and the protocol fields that differ, (field, A's, B's)."""
    url_a, url_b = urls(a, b, storage, storage_b)
    if a == b and same_place(url_a, url_b):
        raise UsageError(f"'{a}' is compared with itself: name two studies (or the same name in two storages)")
    if out is None and any("/" in n or ".." in n for n in (a, b)):
        raise UsageError(f"'{a}', '{b}': a study name with '/' or '..' makes no folder name; give --out")
    folder = Path(out or f"reports/compare-{a}-{b}")
    if (folder.exists() and not folder.is_dir()) or not writable_folder(folder.expanduser().resolve()):
        raise UsageError(f"--out {folder}: cannot create or write this folder (or it is a file)")
    opened_a, opened_b = open_read_only(a, url_a), open_read_only(b, url_b)  # both, before either is read
    side_a, side_b = side(a, url_a, *opened_a), side(b, url_b, *opened_b)
    allowed, refused = protocol_differences(side_a.protocol, side_b.protocol)
    if refused:
        what = "; ".join(f"{k}: {a} {va!r}, {b} {vb!r}" for k, va, vb in refused)
        raise UsageError(f"'{a}' and '{b}' differ in their training protocol ({what}); compare studies that differ "
                         "only in precision, sweep version or training revision")
    if not len(paired_cells(side_a.trials, side_b.trials, ())):
        raise UsageError(f"'{a}' and '{b}' have no cell (ε, seed) complete in both: nothing to pair")
    margin = shared_margin(side_a.protocol, side_b.protocol)
    return write_comparison(side_a, side_b, margin, folder, cwd=Path.cwd()), allowed


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
    for tag, one in (("A", a), ("B", b)):
        wall = "not recorded" if one.wall_seconds is None else duration(one.wall_seconds)
        lines.append(f"- {tag} `{one.name}` (storage `{here(one.storage)}`): {len(one.trials)} complete trials, "
                     f"wall time {wall}; ran on {'; '.join(one.machines) or 'not recorded'}")
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


# ---------------------------------------------------------------- the plot

def plot_effects(effects, path, name_a: str, name_b: str) -> bool:
    """Each ε's effect (ε − ε = 0 over the shared seeds, mean ± 95 % CI) in A (x) and in B (y); where B gives
    A's answer the points sit on y = x, inside the band of ± the equivalence margin around it. False when
    there is nothing to draw."""
    rows = effects[effects.metric.isin(HEADLINE) & effects.effect_a.notna() & effects.effect_b.notna()]
    if not len(rows):
        return False
    colors = eps_colors(rows.eps.unique())
    fig, axes = plt.subplots(1, len(HEADLINE), figsize=(4.2 * len(HEADLINE), 4.4))
    for ax, metric in zip(axes, HEADLINE):
        part = rows[rows.metric == metric]
        if not len(part):
            ax.axis("off")
            continue
        s, unit = scale(metric), diff_unit(metric)
        _diagonal(ax, part, s, part.margin.iloc[0] * s, unit)
        for _, r in part.iterrows():
            x, y = r.effect_a * s, r.effect_b * s
            xerr = _err(r.effect_a, r.effect_a_lo, r.effect_a_hi, s)
            yerr = _err(r.effect_b, r.effect_b_lo, r.effect_b_hi, s)
            filled = r.verdict == "equivalent"
            ax.errorbar([x], [y], xerr=xerr, yerr=yerr, color=colors[r.eps], marker="o", capsize=3, ls="none",
                        mfc=colors[r.eps] if filled else "white",
                        label=f"ε = {r.eps:g} ({r.verdict if isinstance(r.verdict, str) else 'not tested'})")
        style(ax, f"{UNITS[metric][0]}: effect of ε (vs ε = 0)", f"effect in {name_b} ({unit})",
              xlabel=f"effect in {name_a} ({unit})")
    fig.suptitle(f"ε effects in {name_b} against {name_a}: mean ± 95 % CI over shared seeds; filled: equivalent "
                 "(adjusted CI of B − A inside the margin)", fontweight="bold")
    save(fig, path)
    return True


def _diagonal(ax, part, s: float, m: float, unit: str) -> None:
    values = np.concatenate([part[c].to_numpy(dtype=float) * s for c in
                             ("effect_a_lo", "effect_a_hi", "effect_b_lo", "effect_b_hi", "effect_a", "effect_b")])
    values = values[np.isfinite(values)]
    lo, hi = values.min(), values.max()
    pad = 0.1 * (hi - lo) + m
    xs = np.array([lo - pad, hi + pad])
    ax.fill_between(xs, xs - m, xs + m, color="C2", alpha=0.12, label=f"y = x ± {m:g} {unit} (equivalence margin)")
    ax.plot(xs, xs, color="k", lw=0.8, label="y = x (same effect)")
    ax.set_xlim(*xs)
    ax.set_ylim(*xs)


def _err(mean, lo, hi, s):
    if not np.isfinite(lo):
        return None
    return [[(mean - lo) * s], [(hi - mean) * s]]
