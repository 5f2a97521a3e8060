"""One study against another, cell by cell: what differs in their protocols, the levels per ε, the ε effects,
and each study's own verdicts side by side. Pure functions of trials frames and protocol dicts.

A cell (ε, seed) fixes the initial weights and the batch order, so the same cell in two studies differs only
in what the user changed (math mode, machine, sweep version): every test pairs by cell. "Does B give A's
answer?" is asked of the ε effects (each ε − ε = 0, seed by seed), the quantity the study is about; the
levels say whether B also reproduces A's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..protocol import DEFAULT_PRIMARY
from .analysis import comparisons_frame, margins
from .compare_stats import contrast, decide, family_verdict, mean_ci
from .tables import COMPARED, margin_kind

# May differ between the two studies: what a user changes on purpose to ask whether the answer holds (the
# training revision moves with the sweep version), and the analysis fixed with each study, which is not the
# training: the comparison uses the narrower of the two margins. Anything else is refused.
ALLOWED = ("precision", "sweep_version", "training_revision", "equivalence_margin_pp", "equivalence_margin_nats",
           "primary")
STAT_COLUMNS = ["n", "diff", "lo", "hi", "p", "p_adj", "lo_adj", "hi_adj", "margin", "p_tost", "significant",
                "equivalent", "verdict"]
LEVEL_COLUMNS = ["metric", "eps", "mean_a", "mean_b", *STAT_COLUMNS]
EFFECT_COLUMNS = ["metric", "eps", "effect_a", "effect_a_lo", "effect_a_hi", "effect_b", "effect_b_lo", "effect_b_hi",
                  *STAT_COLUMNS]
VERDICT_COLUMNS = ["metric", "eps", "diff_a", "lo_a", "hi_a", "verdict_a", "call_a", "diff_b", "lo_b", "hi_b",
                   "verdict_b", "call_b", "agree"]


# ---------------------------------------------------------------- protocols

def normalised(protocol: dict, epsilons) -> dict:
    """The fields compared: the recorded protocol (revision 1 where unrecorded) plus the ε grid the trials used
    (none where ε was sampled from a range: its values are no grid, and pairing finds what cells match)."""
    grid = {} if protocol.get("sampling") == "range" else {"epsilons": sorted(float(e) for e in set(epsilons))}
    return {**protocol, "training_revision": protocol.get("training_revision", 1),
            "primary": protocol.get("primary") or DEFAULT_PRIMARY, **grid}  # as a rerun reads a study older than both


def protocol_differences(a: dict, b: dict) -> tuple[list[tuple], list[tuple]]:
    """(allowed, refused): (field, A's value, B's value) for every field whose values differ."""
    diffs = [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return [d for d in diffs if d[0] in ALLOWED], [d for d in diffs if d[0] not in ALLOWED]


def shared_margin(a: dict, b: dict) -> dict[str, float]:
    """The narrower of the two studies' margins, per kind, in stored units ({'pp': fraction, 'nats': nats})."""
    ma, mb = margins(a)[0], margins(b)[0]
    return {k: min(ma[k], mb[k]) for k in ma}


# ---------------------------------------------------------------- cells

def paired_cells(trials_a: pd.DataFrame, trials_b: pd.DataFrame, metrics=COMPARED) -> pd.DataFrame:
    """One row per cell (ε, seed) COMPLETE in both studies: each metric as <metric>_a and <metric>_b."""
    cols = ["eps", "seed", *metrics]
    return (trials_a[cols].merge(trials_b[cols], on=["eps", "seed"], suffixes=("_a", "_b"))
            .sort_values(["eps", "seed"]).reset_index(drop=True))


def _stat_row(c, d, margin: float) -> dict:
    if c is None:
        return {"margin": margin}
    return {"n": c.n, "diff": c.diff, "lo": c.lo, "hi": c.hi, "p": c.p, "p_adj": d.p_adj, "lo_adj": d.lo_adj,
            "hi_adj": d.hi_adj, "margin": margin, "p_tost": c.p_tost, "significant": d.significant,
            "equivalent": d.equivalent, "verdict": d.verdict}


def _family(rows: list[dict], pairs: list[tuple], margin: float) -> list[dict]:
    """Contrasts of one metric's rows, Bonferroni over those that could be tested; `pairs`: (b, a) values."""
    contrasts = [contrast(b, a, margin) for b, a in pairs]
    tested = [c for c in contrasts if c is not None]
    decisions = iter(decide(tested, margin))
    return [{**row, **_stat_row(c, next(decisions) if c is not None else None, margin)}
            for row, c in zip(rows, contrasts)]


def levels_frame(cells: pd.DataFrame, metrics=COMPARED, margin: dict | None = None) -> pd.DataFrame:
    """Per metric and ε: B − A over the seeds both studies have at that ε; Bonferroni over the ε of a metric."""
    margin = margin or margins({})[0]
    out = []
    for metric in metrics:
        rows, pairs = [], []
        for eps, g in cells.groupby("eps"):
            g = g.dropna(subset=[f"{metric}_a", f"{metric}_b"])
            rows.append({"metric": metric, "eps": eps, "mean_a": g[f"{metric}_a"].mean(),
                         "mean_b": g[f"{metric}_b"].mean(), "n": len(g)})
            pairs.append((g[f"{metric}_b"].to_numpy(), g[f"{metric}_a"].to_numpy()))
        out += _family(rows, pairs, margin[margin_kind(metric)])
    return pd.DataFrame(out, columns=LEVEL_COLUMNS)


def per_seed_effects(cells: pd.DataFrame, metric: str, eps: float) -> pd.DataFrame:
    """Seeds with both ε and ε = 0 in both studies: each study's effect ε − ε = 0 for that seed."""
    cols = [f"{metric}_a", f"{metric}_b"]
    at = cells[cells.eps == eps].set_index("seed")[cols]
    zero = cells[cells.eps == 0.0].set_index("seed")[cols]
    effects = (at - zero.reindex(at.index)).dropna()
    return effects.rename(columns={cols[0]: "a", cols[1]: "b"})


def effects_frame(cells: pd.DataFrame, metrics=COMPARED, margin: dict | None = None) -> pd.DataFrame:
    """Per metric and ε ≠ 0: B's per-seed effect − A's, paired by seed; each study's effect with its 95 % CI
    over those seeds; Bonferroni over the ε of a metric."""
    margin = margin or margins({})[0]
    others = sorted(set(cells.eps) - {0.0}) if (cells.eps == 0.0).any() else []
    out = []
    for metric in metrics:
        rows, pairs = [], []
        for eps in others:
            e = per_seed_effects(cells, metric, eps)
            (ea, ea_lo, ea_hi), (eb, eb_lo, eb_hi) = mean_ci(e.a), mean_ci(e.b)
            rows.append({"metric": metric, "eps": eps, "effect_a": ea, "effect_a_lo": ea_lo, "effect_a_hi": ea_hi,
                         "effect_b": eb, "effect_b_lo": eb_lo, "effect_b_hi": eb_hi, "n": len(e)})
            pairs.append((e.b.to_numpy(), e.a.to_numpy()))
        out += _family(rows, pairs, margin[margin_kind(metric)])
    return pd.DataFrame(out, columns=EFFECT_COLUMNS)


# ---------------------------------------------------------------- each study's own verdicts

def call(row) -> str:
    """What a report's verdict says, without its wording: higher, lower, equivalent, inconclusive, untested."""
    if not isinstance(row.get("verdict"), str):
        return "untested"
    if bool(row["equivalent"]):  # a detectable shift inside the margin is still "the same", as `decide` has it
        return "equivalent"
    if bool(row["significant"]):
        return "higher" if row["diff"] > 0 else "lower"
    return "inconclusive"


def verdicts_frame(a, b, metrics=COMPARED) -> pd.DataFrame:
    """Each study's own comparisons with ε = 0, from all its complete trials as its report makes them, side
    by side; `agree` is False where the two calls differ. lo/hi are the interval the report reads its verdicts
    off where it gives one (lo_adj/hi_adj; attrs["interval"] says "adjusted"), else its unadjusted CI."""
    keep = ["metric", "eps", "diff", "lo", "hi", "significant", "equivalent", "verdict"]
    sides, adjusted = [], True
    for side, tag in ((a, "a"), (b, "b")):  # each a compare_text.Side
        full = comparisons_frame(side.trials, metrics, side.margin, primary=side.protocol.get("primary") or DEFAULT_PRIMARY,
                                 n0=side.first_stage)
        adjusted = adjusted and {"lo_adj", "hi_adj"} <= set(full.columns)
        if {"lo_adj", "hi_adj"} <= set(full.columns):
            full = full.drop(columns=["lo", "hi"]).rename(columns={"lo_adj": "lo", "hi_adj": "hi"})
        frame = full[keep].copy()
        frame["call"] = [call(r) for r in frame.to_dict("records")]
        sides.append(frame.drop(columns=["significant", "equivalent"]).rename(
            columns={c: f"{c}_{tag}" for c in ("diff", "lo", "hi", "verdict", "call")}))
    merged = sides[0].merge(sides[1], on=["metric", "eps"], how="outer")
    merged = merged.fillna({"call_a": "untested", "call_b": "untested"})
    merged["agree"] = merged.call_a == merged.call_b
    order = {m: i for i, m in enumerate(metrics)}
    merged = merged.sort_values(["metric", "eps"], key=lambda s: s.map(order) if s.name == "metric" else s)
    merged = merged.reset_index(drop=True)[VERDICT_COLUMNS]
    merged.attrs["interval"] = "adjusted" if adjusted else "unadjusted"
    return merged


# ---------------------------------------------------------------- the answer

@dataclass(frozen=True)
class Answer:
    """Per metric: one word for its levels and one for its ε effects (see `family_verdict`), and whether B gives
    A's answer: "yes" (every effect equivalent), "no" (one differs) or "not shown"."""
    metric: str
    levels: str
    effects: str
    gives: str

    def words(self) -> str:
        said = {"equivalent": "equivalent", "different": "differ", "inconclusive": "inconclusive",
                "incomplete": "equivalent where tested", "untested": "not tested"}
        return f"levels {said[self.levels]}, effects {said[self.effects]}"


def answers(levels: pd.DataFrame, effects: pd.DataFrame, metrics) -> list[Answer]:
    out = []
    for metric in metrics:
        lv = family_verdict(levels.verdict[levels.metric == metric])
        ef = family_verdict(effects.verdict[effects.metric == metric])
        gives = {"equivalent": "yes", "different": "no"}.get(ef, "not shown")
        out.append(Answer(metric, lv, ef, gives))
    return out
