"""The comparison's one plot: per headline metric, B's ε effects against A's, with the line y = x."""

from __future__ import annotations

import numpy as np

from .plotting import eps_colors, plt, save, style
from .tables import HEADLINE, UNITS, diff_unit, scale


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
