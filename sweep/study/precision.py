"""`run --until-precise`: Stein's two-stage rule, sized on the primary comparison, decided once in the database.

The first stage is the seeds of the grid the rule began on (n0 per ε). Once every cell is done, the
SD of each targeted comparison's paired differences against ε = 0 over those n0 seeds sets the seeds
it needs: the fewest n with t(1 − α/2k, n0 − 1) · SD / √n within the target, k being the ε compared
(the Bonferroni-adjusted interval the report prints beside the verdict). The study takes the most any
targeted comparison needs, under the cap, as seed blocks (one new seed for every ε, so the pairing
by seed is kept), all decided at that one look. The number depends on the first stage's SD alone,
never on an estimate or a later SD, so the report's Stein intervals (the mean over every seed, the
first-stage SD, t on n0 − 1 df) cover exactly their nominal level however the number falls.

By default only the primary comparison (the accuracy gap, unless the study names another) is
targeted; `--until-precise-secondary` targets the other headline comparisons too.

Each block is an insert into `sweep_blocks` keyed by its seed, and its cells are queued as WAITING trials:
every worker that finds the first stage done computes the same plan from the same trials, and the
primary keys keep one row per seed and one attempt per cell.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Mapping

import optuna
from optuna.trial import TrialState

from ..metrics import HEADLINE, UNITS, margin_kind, scale
from ..stats import paired_t, stein_seeds

METRICS = {m: margin_kind(m) for m in HEADLINE}  # the headline comparisons, each with its margin's unit


@dataclass(frozen=True)
class Rule:
    target_pp: float  # adjusted 95 % CI half-width wanted for comparisons in pp (gap, accuracies, ECE)
    target_nats: float  # the same for the NLL gap, nats
    max_trials: int  # no block is added that would take the study past this many cells
    metrics: tuple[str, ...] = ("gap",)  # the comparisons that size the study: the primary by default
    first_stage: int = 0  # seeds per ε in Stein's first stage (the grid the rule began on)

    def target(self, metric: str) -> float:
        return self.target_pp if METRICS[metric] == "pp" else self.target_nats


@dataclass(frozen=True)
class Need:
    """What one comparison's first stage asks for."""
    metric: str
    eps: float
    seeds: int  # first-stage seeds shared with ε = 0
    sd: float  # SD of the first stage's paired differences, in the metric's unit
    k: int  # comparisons in its family (Bonferroni)
    target: float
    needed: int | None  # seeds for the target; None with fewer than two first-stage pairs

    def text(self) -> str:
        unit = METRICS[self.metric]
        if self.needed is None:
            return f"{UNITS[self.metric][0]}, ε = {self.eps:g}: no first-stage SD yet"
        return (f"{UNITS[self.metric][0]}, ε = {self.eps:g}: first-stage SD {self.sd:.3g} {unit} over {self.seeds} seeds "
                f"needs {self.needed} seeds for ±{self.target:g} {unit}")


@dataclass(frozen=True)
class Decision:
    action: str  # "add": blocks were (or are being) added; "precise": the plan is met; "cap": stopped by the cap
    seeds: tuple[int, ...]  # the added blocks' seeds
    needed: int | None  # seeds per ε the plan asks for (before the cap)
    widest: Need | None  # the comparison that asks for the most

    def text(self, seeds: int) -> str:
        """`seeds`: seeds per ε before this decision."""
        why = self.widest.text() if self.widest else "nothing to compare yet"
        if self.action == "add":
            capped = f" of the {self.needed} needed, capped by --max-trials" if self.needed > self.seeds[-1] + 1 else ""
            return (f"adding seeds {self.seeds[0]}–{self.seeds[-1]} to every ε ({seeds} → {self.seeds[-1] + 1} seeds"
                    f"{capped}, decided once from the first stage): {why}")
        how = "precise" if self.action == "precise" else "stopped by --max-trials"
        return f"{how} with {seeds} seeds per ε: {why}"


def needs(values: Mapping[tuple[float, int], Mapping[str, float]], rule: Rule) -> list[Need]:
    """Each targeted comparison's need, from the first-stage trials (`values[(eps, seed)]`, seeds < n0)."""
    first = {key: v for key, v in values.items() if key[1] < rule.first_stage}
    epsilons = sorted({e for e, _ in first} - {0.0})
    zero = {s: m for (e, s), m in first.items() if e == 0.0}
    out = []
    for metric in rule.metrics:
        factor = scale(metric)
        for eps in epsilons:
            shared = sorted(s for (e, s) in first if e == eps and s in zero
                            and math.isfinite(first[(eps, s)][metric]) and math.isfinite(zero[s][metric]))
            if len(shared) < 2:
                out.append(Need(metric, eps, len(shared), math.nan, len(epsilons), rule.target(metric), None))
                continue
            d = paired_t([first[(eps, s)][metric] * factor for s in shared], [zero[s][metric] * factor for s in shared])
            out.append(Need(metric, eps, len(shared), d.sd, len(epsilons), rule.target(metric),
                            stein_seeds(d.sd, len(shared), rule.target(metric), len(epsilons))))
    return out


def widest(ns: list[Need]) -> Need | None:
    """The comparison that asks for the most seeds, the one that decides."""
    known = [n for n in ns if n.needed is not None]
    return max(known, key=lambda n: (n.needed, n.metric, n.eps)) if known else None


def decide(ns: list[Need], rule: Rule, seeds: int, grid: int) -> Decision:
    """`seeds`: seeds per ε now. Add every block up to the plan's number under the cap, or say why not."""
    w = widest(ns)
    needed = w.needed if w else None
    if needed is None or needed <= seeds:
        return Decision("precise", (), needed, w)
    goal = min(needed, rule.max_trials // grid)
    if goal <= seeds:
        return Decision("cap", (), needed, w)
    return Decision("add", tuple(range(seeds, goal)), needed, w)


# ---------------------------------------------------------------- the study

def finished_values(study: optuna.Study, keys: set[str]) -> dict[tuple[float, int], dict[str, float]]:
    """The finished trials of the given cells, by (ε, seed)."""
    out = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get("cell") in keys and all(m in t.user_attrs for m in METRICS):
            out[(float(t.params["label_smoothing"]), int(t.params["seed"]))] = {m: t.user_attrs[m] for m in METRICS}
    return out


def extend(queue, rule: Rule, epsilons: list[float]) -> Decision:
    """Called by a worker that found every cell done: plan from the first stage, record each block once and
    queue its cells as WAITING trials."""
    seeds = len({c.seed for c in queue.cells})
    values = finished_values(queue.study, {c.key for c in queue.cells})
    ns = needs(values, rule)
    decision = decide(ns, rule, seeds, len(epsilons))
    record = json.dumps({"widest": asdict(decision.widest) if decision.widest else None, "rule": asdict(rule),
                         "needed": decision.needed, "cells_before": len(queue.cells)})
    # For the report and the dashboard, whatever the decision; every worker writes the same plan.
    queue.study.set_user_attr("precise_plan", {"needs": [asdict(n) for n in ns], "action": decision.action,
                                               **json.loads(record)})
    if decision.seeds:
        queue.add_blocks(decision.seeds, record)
    return decision


def check_frozen(study: optuna.Study, rule: Rule) -> None:
    """Stein's intervals are exact only if the target was not chosen after seeing the first stage: once a plan
    is recorded, a rerun must ask for the same targets (a higher cap only lets the plan finish)."""
    from ..errors import UsageError

    recorded = study.user_attrs.get("until_precise")
    if recorded is not None and recorded.get("procedure") != "stein":
        raise UsageError("--until-precise: this study was extended by the sequential rule of sweep 0.4.0, whose "
                         "seeds Stein's two-stage rule cannot take as a first stage; use another --study-name")
    plan = study.user_attrs.get("precise_plan")
    if not plan:
        return
    r = plan["rule"]
    if (r["target_pp"], r["target_nats"], tuple(r["metrics"])) != (rule.target_pp, rule.target_nats, rule.metrics):
        raise UsageError(f"--until-precise: this study's plan was fixed at its first look (±{r['target_pp']:g} pp, "
                         f"±{r['target_nats']:.3g} nats, for {', '.join(r['metrics'])}); rerun with those targets "
                         "(a higher --max-trials is fine), or use another --study-name")


def latest_block(queue) -> str:
    """What the decision to add blocks said, read back by a worker that did not make it."""
    rows = queue.blocks()
    if not rows:
        return ""
    record = json.loads(rows[-1].record)
    w = record.get("widest")
    before = len({c.seed for c in queue.cells if c.seed < rows[0].seed})
    return Decision("add", tuple(r.seed for r in rows), record.get("needed"),
                    Need(**w) if w and "needed" in w else None).text(before)
