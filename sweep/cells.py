"""The search space and who holds which cell of it.

A cell is one (ε, seed) pair of the grid, or one numbered slot when ε is sampled from a range.
Workers claim a cell by inserting (study, cell, attempt) into `sweep_cells`, beside Optuna's
tables; the primary key makes the claim atomic on SQLite and PostgreSQL alike, so a cell is never
run twice at once (Optuna's GridSampler and enqueued trials can both hand one grid point to two
workers). The row also holds the claim's state and heartbeat:

- `running`: a worker holds it and beats for it (one UPDATE per interval for all its cells, from
  claim to end, whether a cell is training or waiting for its turn);
- `done`: finished; `failed`: a crash, Ctrl-C, or a silent worker;
- `expiring`: a claimant is checking a silent worker's trial before taking the cell back.

A `running` row whose heartbeat is older than the grace period, by the database's clock (workers
on many machines never compare their own clocks), belongs to a dead worker: the next claimant
marks it `failed` (a conditional UPDATE, so only one does), fails its Optuna trial, and runs the
cell again under the next attempt number, from its checkpoint where it has one. A worker finishes
a cell by telling Optuna first: that fails if an expirer failed the trial meanwhile (the two meet
on the trial's row lock), so a worker declared dead learns that it lost the cell and keeps
nothing, and a cell completes once. Each row carries its holder's grace period, so workers
started with different heartbeat intervals judge each other fairly.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Sequence

import optuna
import sqlalchemy as sa
from optuna.trial import TrialState

from .patience import outage, transient
from .space import Cell, _sampler, block_cells, suggest
from .storage import BLOCKS, CELLS

GRACE_BEATS = 3  # a worker silent for this many heartbeat intervals is taken as dead
SETTLE_MIN = 5.0  # seconds at least after an outage before a silent worker's cell is taken (heartbeats retry each 1 s)


# ---------------------------------------------------------------- claims

def db_now(dialect: str) -> sa.ColumnElement:
    """The database's clock in seconds since 1970, so that workers on many machines agree."""
    if dialect == "sqlite":
        return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Double)
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Double)
    if dialect in ("mysql", "mariadb"):
        return sa.func.unix_timestamp(sa.func.now(6))
    raise NotImplementedError(f"no database clock for {dialect}")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Claimed:
    cell: Cell
    trial: optuna.Trial
    eps: float
    seed: int
    attempt: int


class CellBoard:
    """One worker's view of the cells: their states, its claims, its heartbeats."""

    def __init__(self, study: optuna.Study, storage: optuna.storages.RDBStorage, cells: Sequence[Cell],
                 eps_range: tuple[float, float] | None, heartbeat_interval: float, worker: str | None = None,
                 epsilons: Sequence[float] | None = None):
        """`epsilons`: the grid, when seed blocks added by `--until-precise` (sweep_blocks) count as cells too."""
        self.study, self.storage, self.base, self.eps_range = study, storage, list(cells), eps_range
        self.cells, self.epsilons = list(cells), list(epsilons) if epsilons else None
        self.held: set[str] = set()  # cells this worker has claimed and not yet finished or handed back
        self.counts = {"done": 0, "busy": 0}  # the study's cells done and held, at the last read
        self.trouble_at = -math.inf  # when this worker last failed to reach the database (monotonic clock)
        self.interval, self.grace = heartbeat_interval, GRACE_BEATS * heartbeat_interval
        self.worker = worker or new_worker_id()
        self.now = db_now(storage.engine.dialect.name)
        self.sid = study._study_id

    # ------------------------------------------------------------ reading
    def status(self) -> dict[str, list[Cell]]:
        """Cells by state: 'done', 'busy' (held by a live worker), 'open' (to run now)."""
        _, states = self._read()
        out: dict[str, list[Cell]] = {"done": [], "busy": [], "open": []}
        for cell in self.cells:
            out["open" if states[cell.key] == "stale" else states[cell.key]].append(cell)
        return out

    def _read(self) -> tuple[dict, dict[str, str]]:
        """Each cell's latest claim row and its state, in one round trip; the counts are kept for progress."""
        latest, now = self._latest()
        states = {c.key: self._state(latest.get(c.key), now) for c in self.cells}
        found = list(states.values())
        self.counts = {"done": found.count("done"), "busy": found.count("busy")}
        return latest, states

    def _latest(self) -> tuple[dict, float]:
        """Each cell's latest attempt, and the database's clock, in one round trip."""
        query = sa.select(CELLS, self.now.label("now")).where(CELLS.c.study_id == self.sid)
        with self.storage.engine.connect() as conn:
            rows = conn.execute(query).all()
            if self.epsilons:
                self._add_blocks(conn.execute(sa.select(BLOCKS.c.seed).where(BLOCKS.c.study_id == self.sid)).scalars())
        if not rows:
            return {}, 0.0
        latest: dict = {}
        for r in rows:
            if r.cell not in latest or r.attempt > latest[r.cell].attempt:
                latest[r.cell] = r
        return latest, rows[0].now

    def troubled(self) -> None:
        """Note a failed database step: see `settled`."""
        self.trouble_at = time.monotonic()

    def settled(self) -> bool:
        """Whether a grace period has passed since this worker last failed to reach the database. Until then it
        takes no silent worker's cell: after an outage every live worker's heartbeat is as old as the outage,
        and each needs a beat or two to show it is alive."""
        return time.monotonic() - self.trouble_at >= max(self.grace, SETTLE_MIN)

    def _add_blocks(self, seeds) -> None:
        """The study's cells: the base grid plus every seed block decided so far, in seed order."""
        known = {c.key for c in self.base}
        extra = [c for seed in sorted(set(seeds)) for c in block_cells(self.epsilons, seed) if c.key not in known]
        order = {e: i for i, e in enumerate(self.epsilons)}
        self.cells = sorted(self.base + extra, key=lambda c: (c.seed, order.get(c.eps, len(order))))

    def _state(self, row, now: float) -> str:
        if row is None or row.state == "failed":
            return "open"
        if row.state == "done":
            return "done"
        return "busy" if now - row.beat_at < row.grace else "stale"  # judged by the holder's own grace

    # ------------------------------------------------------------ claiming
    def claim(self, k: int) -> list[Claimed]:
        """Claim up to k open cells, in order; each becomes a new RUNNING trial. A claim of this worker's own
        that it does not hold (its answer lost in a database blip) is taken up again first."""
        latest, states = self._read()
        got: list[Claimed] = []
        expired = False
        try:
            for cell in self.cells:
                if len(got) == k:
                    break
                row, state = latest.get(cell.key), states[cell.key]
                if state == "busy" and row.state == "running" and row.worker == self.worker and cell.key not in self.held:
                    if claimed := self._open(cell, row.attempt, row.trial_id):
                        got.append(claimed)
                    continue
                if state == "stale" and self.settled() and self._expire(row):
                    state = "open"
                    expired = True
                if state == "open" and (claimed := self._claim_one(cell, 0 if row is None else row.attempt + 1)):
                    got.append(claimed)
        except BaseException as e:  # Ctrl-C or a database error mid-claim: hand back what was taken
            if not transient(e):  # with the database away, they stay ours and are taken up on the retry
                for c in got:
                    self.fail(c)
            raise
        self.held.update(c.cell.key for c in got)
        if expired:  # a dead worker may have left a trial that no claim names; best effort, the next claim retries
            with contextlib.suppress(Exception):
                self.tidy()
        return got

    def _claim_one(self, cell: Cell, attempt: int) -> Claimed | None:
        try:
            with self.storage.engine.begin() as conn:
                conn.execute(CELLS.insert().values(
                    study_id=self.sid, cell=cell.key, attempt=attempt, worker=self.worker, state="running",
                    claimed_at=self.now, beat_at=self.now, grace=self.grace))
        except sa.exc.IntegrityError:
            return None  # another worker claimed it first (or this one, its answer lost: taken up next time)
        return self._open(cell, attempt, None)

    def _open(self, cell: Cell, attempt: int, trial_id: int | None) -> Claimed | None:
        """The claimed cell's trial: made and named now, or, for a claim taken up again, the one it names."""
        trial = None
        try:  # a signal right after the claim's commit still hands the cell back
            with warnings.catch_warnings():  # PartialFixedSampler is experimental in name only: stable in use
                warnings.simplefilter("ignore")
                self.study.sampler = _sampler(cell, self.eps_range)  # this cell's ε and seed, however the trial came
            if trial_id is not None:
                state = self.storage.get_trial(trial_id).state
                if state != TrialState.RUNNING:  # told already (its answer lost too), or failed meanwhile
                    self._settle(cell.key, attempt, "done" if state == TrialState.COMPLETE else "failed")
                    return None
                trial = optuna.Trial(self.study, trial_id)
            else:
                with warnings.catch_warnings():  # ask-and-tell on purpose
                    warnings.simplefilter("ignore")
                    trial = self.study.ask()
                with self.storage.engine.begin() as conn:  # at once: an expirer can then fail this trial
                    named = conn.execute(self._where(cell.key, attempt, CELLS.update())
                                         .where(CELLS.c.worker == self.worker, CELLS.c.state == "running")
                                         .values(trial_id=trial._trial_id)).rowcount == 1
                if not named:  # taken for dead meanwhile (too slow to beat): the cell is another worker's now
                    self._fail_trial(trial._trial_id)
                    return None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                eps, seed = suggest(trial, self.cells, self.eps_range)
            if seed != cell.seed or (cell.eps is not None and eps != cell.eps):  # never train the wrong cell
                self._release(cell.key, attempt, trial)
                return None
            trial.set_user_attr("cell", cell.key)
            trial.set_user_attr("attempt", attempt)
            trial.set_user_attr("worker", self.worker)
        except BaseException as e:
            if not transient(e):
                self._release(cell.key, attempt, trial)
            raise
        return Claimed(cell, trial, eps, seed, attempt)

    def _release(self, cell: str, attempt: int, trial: optuna.Trial | None) -> None:
        self._settle(cell, attempt, "failed")
        if trial is not None:
            self._fail_trial(trial._trial_id)

    def _expire(self, row) -> bool:
        """Take a dead worker's cell back; False if it beat meanwhile, another worker took it first, or
        its trial turned out COMPLETE (it died between telling Optuna and marking the cell done).

        The row reads 'expiring' while its trial is checked, so that no other reader takes the cell for
        open before that trial's fate is known (its worker may have told Optuna a moment ago). An expirer
        that dies there leaves the row stale, and the next one takes it over.
        """
        where = self._where(row.cell, row.attempt, CELLS.update())
        with self.storage.engine.begin() as conn:
            taken = conn.execute(where.where(CELLS.c.state.in_(("running", "expiring")),
                                             CELLS.c.beat_at < self.now - CELLS.c.grace)
                                 .values(state="expiring")).rowcount == 1
            trial_id = conn.execute(self._where(row.cell, row.attempt, sa.select(CELLS.c.trial_id))).scalar()
        if not taken:
            return False
        # No trial named yet: its worker, if alive, finds the claim lost when it tries to name one.
        state = TrialState.FAIL if trial_id is None else self._fail_trial(trial_id)
        final = "done" if state == TrialState.COMPLETE else "failed"
        with self.storage.engine.begin() as conn:
            conn.execute(where.values(state=final))
        return final == "failed"

    def _fail_trial(self, trial_id: int) -> TrialState:
        """FAIL the trial unless it has finished already; returns its state in the end."""
        try:
            self.storage.set_trial_state_values(trial_id, TrialState.FAIL)
            return TrialState.FAIL
        except optuna.exceptions.UpdateFinishedTrialError:
            return self.storage.get_trial(trial_id).state

    def _where(self, cell: str, attempt: int, stmt):
        return stmt.where(CELLS.c.study_id == self.sid, CELLS.c.cell == cell, CELLS.c.attempt == attempt)

    # ------------------------------------------------------------ holding and letting go
    def beat(self) -> None:
        """One heartbeat for every cell this worker holds."""
        with self.storage.engine.begin() as conn:
            conn.execute(CELLS.update().where(CELLS.c.study_id == self.sid, CELLS.c.worker == self.worker,
                                              CELLS.c.state == "running")
                         .values(beat_at=self.now))

    def _settle(self, cell: str, attempt: int, state: str) -> bool:
        """Move our running claim to `state`; False if it is no longer ours (declared dead meanwhile)."""
        self.held.discard(cell)
        with self.storage.engine.begin() as conn:
            return conn.execute(self._where(cell, attempt, CELLS.update())
                                .where(CELLS.c.worker == self.worker, CELLS.c.state == "running")
                                .values(state=state)).rowcount == 1

    def complete(self, c: Claimed, value: float) -> bool:
        """Finish the cell and its trial; False (nothing kept) if another worker took the cell over.

        Optuna first: an expirer fails the trial before rerunning the cell, so exactly one of the
        two wins on the trial's row lock. A crash between the two steps leaves a COMPLETE trial
        whose cell an expirer then marks done (see `_expire`).
        """
        self.held.discard(c.cell.key)
        try:
            self.study.tell(c.trial, value)
        except BaseException as e:
            state = self.storage.get_trial(c.trial._trial_id).state
            if state == TrialState.COMPLETE:  # told after all (the error came after the commit)
                self._settle(c.cell.key, c.attempt, "done")
                if isinstance(e, KeyboardInterrupt):
                    raise
                return True
            if state == TrialState.FAIL and not isinstance(e, KeyboardInterrupt):
                return False  # an expirer failed it first: the cell is another worker's now
            raise
        self._settle(c.cell.key, c.attempt, "done")
        return True

    def fail(self, c: Claimed, mark: str | None = None) -> None:
        """Hand the cell back (it reruns from its checkpoint) and fail its trial, noting why in `mark`."""
        self.held.discard(c.cell.key)
        if self._settle(c.cell.key, c.attempt, "failed"):
            try:
                if mark:
                    c.trial.set_user_attr(mark, True)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass
            self._fail_trial(c.trial._trial_id)

    def release_all(self, mark: str | None = None) -> None:
        """Hand back every cell this worker still holds and fail its trials (noting why in `mark`), whatever
        step a signal interrupted: a rerun or another worker takes them at once, without waiting for
        heartbeats to go stale. Best effort: with the database gone, they reopen once stale."""
        try:
            with self.storage.engine.begin() as conn:
                rows = conn.execute(sa.select(CELLS.c.cell, CELLS.c.attempt, CELLS.c.trial_id).where(
                    CELLS.c.study_id == self.sid, CELLS.c.worker == self.worker, CELLS.c.state == "running")).all()
        except Exception:
            return
        for row in rows:
            with contextlib.suppress(Exception):  # each row on its own: one error must not keep the rest
                # Told already (a signal between `complete`'s two steps): the cell is done, not handed back.
                # Only this worker tells its trials, so the state read here cannot change before the settle.
                if row.trial_id is not None and self.storage.get_trial(row.trial_id).state == TrialState.COMPLETE:
                    self._settle(row.cell, row.attempt, "done")
                    continue
                if not self._settle(row.cell, row.attempt, "failed") or row.trial_id is None:
                    continue
                if mark:
                    with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                        self.storage.set_trial_user_attr(row.trial_id, mark, True)
                self._fail_trial(row.trial_id)
        with contextlib.suppress(Exception):
            self.tidy()  # a trial made by a claim cut short before it was named

    def tidy(self) -> int:
        """FAIL trials left RUNNING whose cell is no longer running (a worker died between two steps), and
        orphans: trials that no claim names (a worker killed between creating its trial and recording it)."""
        with self.storage.engine.connect() as conn:
            ids = set(conn.execute(sa.select(CELLS.c.trial_id).where(
                CELLS.c.study_id == self.sid, CELLS.c.state == "failed", CELLS.c.trial_id.is_not(None))).scalars())
        running = {t._trial_id for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        stuck = sorted(running & ids)
        stuck += sorted(self._orphans(running) - set(stuck))
        for tid in stuck:
            self._fail_trial(tid)
        return len(stuck)

    def _orphans(self, running: set[int]) -> set[int]:
        """RUNNING trials that no claim row names, unless some claim row is still empty and not failed. A claim
        row is inserted (trial_id empty) before its trial exists and names it right after, and the rows are
        read after the trials: a worker's new trial is either named by then, or its row is still empty, which
        makes this wait until that row is named or, its worker dead, expired (and then failed)."""
        if not running:
            return set()
        query = sa.select(CELLS.c.trial_id, CELLS.c.state).where(CELLS.c.study_id == self.sid)
        with self.storage.engine.connect() as conn:
            rows = conn.execute(query).all()
        if any(r.trial_id is None and r.state in ("running", "expiring") for r in rows):
            return set()  # live, or dead and not yet expired: the expiry comes first
        return running - {r.trial_id for r in rows}


class Heartbeat:
    """Beats for all of a worker's cells from a thread, from the first claim to the end."""

    def __init__(self, board: CellBoard):
        self.board = board
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        wait = self.board.interval
        while not self.stop.wait(wait):
            try:
                self.board.beat()
                wait = self.board.interval
            except Exception as e:
                # Retried within a second: after a blip the first beat must come before others judge this worker.
                if outage(e):
                    self.board.troubled()
                wait = min(1.0, self.board.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
