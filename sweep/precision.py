"""`run --until-precise`: add seed blocks until every headline comparison with ε = 0 is precise enough.

A block is one new seed for every ε of the grid, so the pairing by seed is kept. Once every cell
of the study is done, the 95 % CI half-width of each headline comparison (the paired difference
against ε = 0 of the accuracy gap, validation accuracy, NLL gap and ECE, in the report's units) is
computed; while the widest is above its target and the cap leaves room, one block is added.

The rule looks at the half-widths alone, t(0.975, n−1) · SD of the paired differences / √n, never
at an estimate's sign or p-value, so it cannot stop on a result it likes. The report's tests stay
approximately valid: stopping when the SD happens to be small biases that SD a little low at the
stop, so the deciding CI covers somewhat less than its nominal 95 % (a Stein-type two-stage rule
would avoid this at the cost of fixing the final n after one look).

Each decision is an insert into `sweep_blocks` keyed by the new block's seed: however many workers
(on however many machines) find the study done at once, they compute the same half-widths from the
same trials and the same seed, and the primary key keeps one row. A worker whose view was stale
inserts a seed that exists already and simply goes on claiming, so no block is ever added twice.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping

import optuna
import sqlalchemy as sa
from optuna.trial import TrialState
from scipy import stats

from .storage import BLOCKS

# The question's answer, in the report's units: stored fractions are shown in pp (× 100).
METRICS = {"gap": "pp", "val_acc": "pp", "nll_gap": "nats", "val_ece": "pp"}
NAMES = {"gap": "accuracy gap", "val_acc": "validation accuracy", "nll_gap": "NLL gap", "val_ece": "ECE"}


@dataclass(frozen=True)
class Rule:
    target_pp: float  # widest 95 % CI half-width allowed for the gap, validation accuracy and ECE, pp
    target_nats: float  # the same for the NLL gap, nats
    max_trials: int  # no block is added that would take the study past this many cells

    def target(self, metric: str) -> float:
        return self.target_pp if METRICS[metric] == "pp" else self.target_nats


@dataclass(frozen=True)
class Width:
    metric: str
    eps: float
    seeds: int  # seeds shared with ε = 0
    halfwidth: float  # in the metric's unit; inf with fewer than two shared seeds
    target: float

    @property
    def ratio(self) -> float:
        return self.halfwidth / self.target

    def text(self) -> str:
        unit = METRICS[self.metric]
        shown = f"±{self.halfwidth:.3g} {unit}" if math.isfinite(self.halfwidth) else "no CI yet"
        return (f"widest 95 % CI {shown} ({NAMES[self.metric]}, ε = {self.eps:g}, {self.seeds} seeds) "
                f"vs target ±{self.target:g} {unit}")


@dataclass(frozen=True)
class Decision:
    action: str  # "add": a block was (or is being) added; "precise": every CI fits; "cap": no room for a block
    seed: int | None  # the added block's seed
    widest: Width | None

    def text(self, seeds: int) -> str:
        """`seeds`: seeds per ε before this decision."""
        widest = self.widest.text() if self.widest else "nothing to compare yet"
        if self.action == "add":
            return f"adding seed {self.seed} to every ε ({seeds} → {seeds + 1} seeds): {widest}"
        how = "precise" if self.action == "precise" else "stopped by --max-trials"
        return f"{how} with {seeds} seeds per ε: {widest}"


def halfwidth(diffs: Iterable[float]) -> float:
    """The 95 % t-interval half-width of a mean of paired differences (the report's paired t)."""
    d = [float(x) for x in diffs]
    n = len(d)
    if n < 2:
        return math.inf
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    return float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)


def widths(values: Mapping[tuple[float, int], Mapping[str, float]], rule: Rule) -> list[Width]:
    """Every headline comparison's half-width; `values[(eps, seed)]` holds a finished trial's metrics."""
    epsilons = sorted({e for e, _ in values})
    zero = {s: m for (e, s), m in values.items() if e == 0.0}
    out = []
    for metric, unit in METRICS.items():
        factor = 100.0 if unit == "pp" else 1.0
        for eps in epsilons:
            if eps == 0.0:
                continue
            # Seeds where both values exist, as the report's paired test takes them (a NaN drops its pair).
            shared = sorted(s for (e, s) in values if e == eps and s in zero
                            and math.isfinite(values[(eps, s)][metric]) and math.isfinite(zero[s][metric]))
            diffs = [(values[(eps, s)][metric] - zero[s][metric]) * factor for s in shared]
            out.append(Width(metric, eps, len(shared), halfwidth(diffs), rule.target(metric)))
    return out


def widest(ws: list[Width]) -> Width | None:
    """The comparison furthest from its target (relative to it), the one that decides."""
    return max(ws, key=lambda w: (w.ratio, w.metric, w.eps)) if ws else None


def decide(ws: list[Width], rule: Rule, cells: int, block: int, next_seed: int) -> Decision:
    """Stop when every half-width fits; else add a block if it fits under the cap."""
    w = widest(ws)
    if w is not None and w.ratio <= 1.0:
        return Decision("precise", None, w)
    if cells + block > rule.max_trials:
        return Decision("cap", None, w)
    return Decision("add", next_seed, w)


# ---------------------------------------------------------------- the study

def finished_values(study: optuna.Study, keys: set[str]) -> dict[tuple[float, int], dict[str, float]]:
    """The finished trials of the given cells, by (ε, seed)."""
    out = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get("cell") in keys and all(m in t.user_attrs for m in METRICS):
            out[(float(t.params["label_smoothing"]), int(t.params["seed"]))] = {m: t.user_attrs[m] for m in METRICS}
    return out


def extend(board, rule: Rule, epsilons: list[float]) -> Decision:
    """Called by a worker that found every cell done: decide, and record an added block once for all."""
    seeds = {c.seed for c in board.cells}
    values = finished_values(board.study, {c.key for c in board.cells})
    decision = decide(widths(values, rule), rule, len(board.cells), len(epsilons), max(seeds) + 1)
    if decision.action != "add":
        return decision
    record = json.dumps({"widest": asdict(decision.widest) if decision.widest else None, "rule": asdict(rule),
                         "cells_before": len(board.cells)})
    try:
        with board.storage.engine.begin() as conn:
            conn.execute(BLOCKS.insert().values(study_id=board.sid, seed=decision.seed, decided_at=board.now,
                                                worker=board.worker, record=record))
    except sa.exc.IntegrityError:  # decided already from the same trials: by another worker, or by this one
        with board.storage.engine.connect() as conn:  # whose answer was lost in a blip (then it records it)
            mine = conn.execute(sa.select(BLOCKS.c.worker).where(
                BLOCKS.c.study_id == board.sid, BLOCKS.c.seed == decision.seed)).scalar() == board.worker
        if not mine:
            return decision
    board.study.set_user_attr(f"block:{decision.seed:05d}", json.loads(record))  # for the report and dashboard
    return decision


def latest_block(board) -> str:
    """What the last decision to add a block said, read back by a worker that did not make it."""
    query = (sa.select(BLOCKS.c.seed, BLOCKS.c.record).where(BLOCKS.c.study_id == board.sid)
             .order_by(BLOCKS.c.seed.desc()).limit(1))
    with board.storage.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return ""
    w = json.loads(row.record).get("widest")
    seeds = len({c.seed for c in board.cells if c.seed < row.seed})
    return Decision("add", row.seed, Width(**w) if w else None).text(seeds)
