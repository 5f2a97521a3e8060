"""`sweep compare A B`, its numbers: two studies opened read-only, what differs in their protocols, the levels
per ε, the ε effects, and each study's own verdicts side by side. The words and the plot are compare_text's.

A cell (ε, seed) fixes the initial weights and the batch order, so the same cell in two studies differs only
in what the user changed (math mode, machine, sweep version): every test pairs by cell. "Does B give A's
answer?" is asked of the ε effects (each ε − ε = 0, seed by seed), the quantity the study is about; the
levels say whether B also reproduces A's numbers. Within a family of k rows (the ε of one metric) each row's
(1 − α/k) interval decides, by the report's one rule: "different" where it excludes 0, "equivalent" where it
lies inside ±margin, else "inconclusive"; a row that is both is "equivalent", and `significant` says the rest.

Nothing here writes to either database, so a refusal or a crash leaves both files byte for byte as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd

from .. import stats as S
from ..errors import UsageError
from ..metrics import COMPARED, margin_kind
from ..protocol import DEFAULT_PRIMARY
from ..study.storage import default_url, load_study, mask_url, open_storage, recorded_protocol
from .analysis import comparisons_frame, first_stage, margins, word
from .tables import machines, trials_frame, wall_span

SQLITE = "sqlite:///"

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


# ---------------------------------------------------------------- the two studies, read-only

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


def urls(a: str, b: str, storage: str | None, storage_b: str | None) -> tuple[str, str]:
    """A's storage: --storage or its own default file; B's: --storage-b, else --storage, else its own file."""
    return storage or default_url(a), storage_b or storage or default_url(b)


def same_place(url_a: str, url_b: str) -> bool:
    """Whether two URLs name one database: SQLite files compared by their resolved path."""
    if url_a.startswith(SQLITE) and url_b.startswith(SQLITE):
        return Path(url_a[len(SQLITE):]).expanduser().resolve() == Path(url_b[len(SQLITE):]).expanduser().resolve()
    return url_a == url_b


def open_read_only(name: str, url: str) -> tuple[optuna.storages.RDBStorage, optuna.Study]:
    """The study, opened so that nothing can be written to it (a SQLite file in read-only mode)."""
    storage = open_storage(url, access="read")
    return storage, load_study(storage, name, url)


def side(name: str, url: str, storage, study: optuna.Study) -> Side:
    """The study as the comparison reads it; refused where sweep did not make it."""
    protocol = recorded_protocol(storage, study)
    if protocol is None:
        raise UsageError(f"study '{name}' was not made by sweep (no recorded protocol)")
    trials, span = trials_frame(study), wall_span(study)
    grid = [t.params["label_smoothing"] for t in study.get_trials(deepcopy=False) if "label_smoothing" in t.params]
    return Side(name, mask_url(url), normalised(protocol, grid), trials, margins(protocol)[0],
                span.seconds if span else None, machines(trials), first_stage(study.user_attrs))


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


# ---------------------------------------------------------------- paired tests, judged as a family

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
class Judged:
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


def judge(contrasts: list[Contrast], margin: float) -> list[Judged]:
    """Bonferroni over the family: every verdict read off its row's adjusted interval by the report's one rule
    (`sweep.stats.verdict`), a detectable shift within the margin called "equivalent"."""
    out = []
    for c in contrasts:
        lo, hi = S.adjusted(c, len(contrasts))  # a Contrast has what `adjusted` reads of a Difference
        v = S.verdict(lo, hi, margin)
        out.append(Judged(S.bonferroni(c.p, len(contrasts)), lo, hi, *v, said(*v, c.diff, different=True)))
    return out


def said(significant: bool, equivalent: bool, diff: float, different: bool = False) -> str:
    """A verdict in the comparison's words, equivalence first: "equivalent", then the direction ("higher",
    "lower"; "different" for either) where the interval excludes 0, else "inconclusive"."""
    up, down = ("different", "different") if different else ("higher", "lower")
    return word(significant and not equivalent, equivalent, diff, up, down)


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
    decisions = iter(judge(tested, margin))
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
            ia, ib = S.t_interval(e.a), S.t_interval(e.b)
            rows.append({"metric": metric, "eps": eps, "effect_a": ia.mean, "effect_a_lo": ia.lo, "effect_a_hi": ia.hi,
                         "effect_b": ib.mean, "effect_b_lo": ib.lo, "effect_b_hi": ib.hi, "n": len(e)})
            pairs.append((e.b.to_numpy(), e.a.to_numpy()))
        out += _family(rows, pairs, margin[margin_kind(metric)])
    return pd.DataFrame(out, columns=EFFECT_COLUMNS)


# ---------------------------------------------------------------- each study's own verdicts

def call(row) -> str:
    """What a report's verdict says, without its wording: higher, lower, equivalent, inconclusive, untested."""
    if not isinstance(row.get("verdict"), str):
        return "untested"
    return said(bool(row["significant"]), bool(row["equivalent"]), row["diff"])


def verdicts_frame(a, b, metrics=COMPARED) -> pd.DataFrame:
    """Each study's own comparisons with ε = 0, from all its complete trials as its report makes them, side
    by side; `agree` is False where the two calls differ. lo/hi are the interval the report reads its verdicts
    off where it gives one (lo_adj/hi_adj; attrs["interval"] says "adjusted"), else its unadjusted CI."""
    keep = ["metric", "eps", "diff", "lo", "hi", "significant", "equivalent", "verdict"]
    sides, adjusted = [], True
    for side, tag in ((a, "a"), (b, "b")):
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
