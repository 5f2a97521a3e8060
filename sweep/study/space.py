"""The search space: the cells of a study, and the parameters each trial declares to Optuna.

A cell is one (ε, seed) pair of the grid, or one numbered slot when ε is sampled from a range; a
seed block (`run --until-precise`) is one new seed for every ε of the grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from optuna.distributions import FloatDistribution, IntDistribution

EPS_PARAM, SEED_PARAM = "label_smoothing", "seed"


@dataclass(frozen=True)
class Cell:
    key: str  # stable name of the cell, e.g. "eps=0.1/seed=3" or "slot=7"
    seed: int
    eps: float | None  # None: sampled by TPE from the range


def grid_cells(epsilons: Sequence[float], n: int) -> list[Cell]:
    """n cells filled round-robin over ε: seeds 0, 1, ... for each ε in turn."""
    return [Cell(f"eps={_fmt(epsilons[i % len(epsilons)])}/seed={i // len(epsilons)}",
                 seed=i // len(epsilons), eps=float(epsilons[i % len(epsilons)])) for i in range(n)]


def block_cells(epsilons: Sequence[float], seed: int) -> list[Cell]:
    """One seed for every ε of the grid: the cells `--until-precise` adds at a time."""
    return [Cell(f"eps={_fmt(e)}/seed={seed}", seed=seed, eps=float(e)) for e in epsilons]


def range_cells(n: int) -> list[Cell]:
    return [Cell(f"slot={i}", seed=i, eps=None) for i in range(n)]


def _fmt(x: float) -> str:
    return format(float(x), ".10g")


def declared(cell: Cell, cells: Sequence[Cell], eps_range: tuple[float, float] | None = None,
             eps: float | None = None) -> dict:
    """The parameters a cell's trial carries from the start, {name: (value, distribution)}: a grid cell's ε and
    seed; a slot's seed, and its ε only where an earlier attempt drew one (`eps`), else it is drawn at the pop.
    Declared with the ranges the study samples, so the dashboard's plots span the study itself: a range, not
    the grid's values as categories (Optuna refuses categorical choices that change within a study, and a
    rerun may add cells)."""
    seeds = IntDistribution(0, max(c.seed for c in cells))
    if cell.eps is not None:
        grid = [c.eps for c in cells if c.eps is not None]
        return {EPS_PARAM: (cell.eps, FloatDistribution(min(grid), max(grid))), SEED_PARAM: (cell.seed, seeds)}
    if eps is None:
        return {SEED_PARAM: (cell.seed, seeds)}
    return {EPS_PARAM: (eps, FloatDistribution(*eps_range)), SEED_PARAM: (cell.seed, seeds)}


def grid_of(study) -> tuple[list[float] | None, bool]:
    """The ε grid a study was run on and whether it was recorded (from 0.7.0). Before that only the ε its
    trials carry are known, which may be part of its grid; (None, False) for a new study."""
    recorded = study.user_attrs.get("grid")
    if recorded is not None:
        return [float(e) for e in recorded], True
    found = {float(t.params[EPS_PARAM]) for t in study.get_trials(deepcopy=False) if EPS_PARAM in t.params}
    return sorted(found) or None, False


def next_grid(known: Sequence[float] | None, asked: Sequence[float], extend: bool,
              recorded: bool = True) -> list[float] | None:
    """The grid this run goes on with, or None where it would change the study's without `extend` (a rerun
    that quietly added cells would leave a report mixing ε at different numbers of seeds). A grid not recorded
    is known only by the ε run so far: any grid holding them all may be the one it was run on."""
    if known is None:
        return list(asked)
    if not recorded and set(known) <= set(asked):
        return list(asked)
    if set(asked) <= set(known) and (extend or set(asked) == set(known)):
        return list(known)
    return sorted(set(known) | set(asked)) if extend else None


def grid_text(epsilons: Sequence[float]) -> str:
    return ",".join(_fmt(e) for e in epsilons)
