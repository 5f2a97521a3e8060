"""The grid as Optuna's own trial queue: one state machine per cell, its trial's.

Every cell of the study (one ε and seed; or one numbered slot when ε is sampled) is an Optuna trial with
its parameters fixed from the start, so the dashboard shows what is left as WAITING trials. A cell's
state is the state of its latest attempt's trial:

    from        to         event                                      by               how
    ---------   --------   ----------------------------------------   --------------   ----------------------------
    (none)      WAITING    enqueue: the cell's first attempt          any worker       trial + attempt row, one tx
    WAITING     RUNNING    pop                                        its worker       UPDATE … WHERE state=WAITING
    RUNNING     COMPLETE   tell: the cell is done, for good           its worker       Optuna's tell (row lock)
    RUNNING     FAIL       hand back: a signal, an error              its worker       conditional UPDATE
    RUNNING     FAIL       expire: heartbeat older than its grace     another worker   conditional UPDATE (row lock)
    FAIL        WAITING    requeue: the next attempt, a new trial     any worker       as enqueue, on every look

What Optuna lacks is kept in `sweep_attempts(study, cell, attempt, trial_id)`. A row is inserted with its
trial in one transaction and never changes; a new attempt is made only once the latest is FAIL, and the
primary key refuses a second row of one number, so a cell never has two live trials and two workers
that enqueue at once cannot double it. Enqueueing is idempotent and runs on every look, so a crash
between failing a trial and requeueing its cell loses nothing.

A pop is one compare-and-set on the trial's state, in one transaction with its heartbeat row and its
holder (`worker`, `heartbeat_grace` user attributes): a RUNNING trial always has a heartbeat, and a
worker killed at any point leaves a trial that goes stale. Heartbeats are Optuna's `trial_heartbeats`
rows, on the database's clock in UTC (workers on many machines never compare their own clocks), one
UPDATE per interval for every trial a worker holds, training or waiting its turn. A RUNNING trial
whose heartbeat is older than its holder's grace period belongs to a dead worker: the next look fails
it and requeues the cell, which resumes from its checkpoint where one is on that machine. Telling and
expiring meet on the trial's row lock: a worker taken for dead finds its trial FAIL when it tells, and
keeps nothing.

Studies made before this queue (sweep 0.4.0 and older) go on: a COMPLETE trial that carries a cell is
that cell's attempt, and their RUNNING trials that no attempt names are failed by `tidy`.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

import optuna
import sqlalchemy as sa
from optuna.trial import TrialState

from .clock import age, new_worker_id, utc_now
from .records import ATTRS, HEARTBEATS, STUDIES, TRIALS, insert_trial, set_user_attrs
from .space import EPS_PARAM, Cell, block_cells, declared
from .storage import ATTEMPTS, BLOCKS

GRACE_BEATS = 3  # a worker silent for this many heartbeat intervals is taken as dead
OUTAGE_GRACE_MIN = 5.0  # seconds at least after an outage before a silent worker's trial is expired
WAITING, RUNNING, COMPLETE, FAIL = TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE, TrialState.FAIL


# ---------------------------------------------------------------- what a look sees

@dataclass(frozen=True)
class Attempt:
    """A cell's latest attempt, as one look saw it."""
    attempt: int
    trial_id: int
    number: int
    state: TrialState
    worker: str | None  # who popped it (None while WAITING)
    beat_age: float  # seconds since its last heartbeat (inf without one)
    grace: float  # its holder's grace period, seconds

    @property
    def stale(self) -> bool:
        return self.state == RUNNING and self.beat_age > self.grace


@dataclass(frozen=True)
class Held:
    """A cell this worker popped: its trial, and the ε and seed it trains."""
    cell: Cell
    trial_id: int
    number: int
    eps: float
    seed: int
    attempt: int


class Queue:
    """One worker's side of the queue: looking, popping, beating, finishing and handing back its cells."""

    def __init__(self, study: optuna.Study, storage: optuna.storages.RDBStorage, cells: Sequence[Cell],
                 eps_range: tuple[float, float] | None, heartbeat_interval: float, worker: str | None = None,
                 epsilons: Sequence[float] | None = None):
        """`epsilons`: the grid, when seed blocks added by `--until-precise` (sweep_blocks) count as cells too."""
        self.study, self.storage, self.base, self.eps_range = study, storage, list(cells), eps_range
        self.cells, self.epsilons = list(cells), list(epsilons) if epsilons else None
        self.interval, self.grace = heartbeat_interval, GRACE_BEATS * heartbeat_interval
        self.worker = worker or new_worker_id()
        self.sid = study._study_id
        self.dialect = storage.engine.dialect.name
        self.held: dict[str, int] = {}  # cell key -> trial id, for the cells this worker holds
        self.lock = threading.Lock()  # `held` is read by the heartbeat thread
        self.counts = {"done": 0, "busy": 0}  # the study's cells done and held by others, at the last look
        self.trouble_at = -math.inf  # when this worker last failed to reach the database (monotonic clock)

    # ------------------------------------------------------------ looking
    def look(self) -> dict[str, Attempt]:
        """Every cell's latest attempt, in one round trip (the seed blocks decided so far read with it)."""
        worker, grace = ATTRS.alias("w"), ATTRS.alias("g")
        query = (sa.select(ATTEMPTS.c.cell, ATTEMPTS.c.attempt, ATTEMPTS.c.trial_id, TRIALS.c.number, TRIALS.c.state,
                           worker.c.value_json.label("worker"), grace.c.value_json.label("grace"),
                           age(self.dialect, HEARTBEATS.c.heartbeat).label("age"))
                 .select_from(ATTEMPTS.join(TRIALS, TRIALS.c.trial_id == ATTEMPTS.c.trial_id)
                              .outerjoin(HEARTBEATS, HEARTBEATS.c.trial_id == ATTEMPTS.c.trial_id)
                              .outerjoin(worker, (worker.c.trial_id == ATTEMPTS.c.trial_id) & (worker.c.key == "worker"))
                              .outerjoin(grace, (grace.c.trial_id == ATTEMPTS.c.trial_id)
                                         & (grace.c.key == "heartbeat_grace")))
                 .where(ATTEMPTS.c.study_id == self.sid))
        with self.storage.engine.connect() as conn:
            rows = conn.execute(query).all()
            if self.epsilons:
                self._add_blocks(conn.execute(sa.select(BLOCKS.c.seed).where(BLOCKS.c.study_id == self.sid)).scalars())
        latest: dict[str, Attempt] = {}
        for r in rows:
            if r.cell not in latest or r.attempt > latest[r.cell].attempt:
                latest[r.cell] = Attempt(r.attempt, r.trial_id, r.number, TrialState[_name(r.state)],
                                         _json(r.worker), math.inf if r.age is None else float(r.age),
                                         float(_json(r.grace) or self.grace))
        states = [self._state(latest.get(c.key)) for c in self.cells]
        self.counts = {"done": states.count("done"), "busy": states.count("busy")}
        return latest

    def status(self) -> dict[str, list[Cell]]:
        """Cells by state: 'done', 'busy' (held by a live worker), 'open' (waiting, to queue, or stale)."""
        latest = self.look()
        out: dict[str, list[Cell]] = {"done": [], "busy": [], "open": []}
        for cell in self.cells:
            out[self._state(latest.get(cell.key))].append(cell)
        return out

    def _state(self, a: Attempt | None) -> str:
        if a is not None and a.state == COMPLETE:
            return "done"
        if a is not None and a.state == RUNNING and not a.stale:
            return "busy"
        return "open"

    def _add_blocks(self, seeds: Iterable[int]) -> None:
        """The study's cells: the base grid plus every seed block decided so far, in seed order."""
        known = {c.key for c in self.base}
        extra = [c for seed in sorted(set(seeds)) for c in block_cells(self.epsilons, seed) if c.key not in known]
        order = {e: i for i, e in enumerate(self.epsilons)}
        self.cells = sorted(self.base + extra, key=lambda c: (c.seed, order.get(c.eps, len(order))))

    # ------------------------------------------------------------ outages
    def troubled(self) -> None:
        """Note a failed database step: see `in_outage_grace`."""
        self.trouble_at = time.monotonic()

    def in_outage_grace(self) -> bool:
        """Whether this worker failed to reach the database less than a grace period ago. Until the grace has
        passed it expires nobody's trial: after an outage every live worker's heartbeat is as old as the outage,
        and each needs a beat or two to show it is alive."""
        return time.monotonic() - self.trouble_at < max(self.grace, OUTAGE_GRACE_MIN)

    # ------------------------------------------------------------ claiming
    def claim(self, k: int) -> list[Held]:
        """Pop up to k waiting cells in the cells' order, queueing every cell that needs an attempt first. A cell
        whose trial is stale is expired and requeued as it is reached (not within the grace after an outage).
        A trial this worker popped but does not hold (the pop's answer lost in a blip) is taken up again."""
        latest = self.look()
        if self._needs_queue(latest):
            self.enqueue()
            latest = self.look()
        got: list[Held] = []
        for cell in self.cells:
            if len(got) == k:
                break
            a = latest.get(cell.key)
            if a is None or cell.key in self.held:
                continue
            if a.stale and a.worker != self.worker:
                if self.in_outage_grace() or not self._expire(a.trial_id):
                    continue
                self.enqueue()
                a = self.look().get(cell.key)
            if a.state == RUNNING and a.worker == self.worker or a.state == WAITING and self._pop(a.trial_id):
                got.append(self._take(cell, a))
        return got

    def _needs_queue(self, latest: dict[str, Attempt]) -> bool:
        return any(c.key not in latest or latest[c.key].state == FAIL for c in self.cells)

    def _pop(self, trial_id: int) -> bool:
        """WAITING -> RUNNING, with its heartbeat and holder, in one transaction; False if another worker won."""
        with self.storage.engine.begin() as conn:
            won = conn.execute(TRIALS.update().where(TRIALS.c.trial_id == trial_id, TRIALS.c.state == WAITING)
                               .values(state=RUNNING, datetime_start=datetime.now())).rowcount == 1
            if won:
                conn.execute(HEARTBEATS.insert().values(trial_id=trial_id, heartbeat=utc_now(self.dialect)))
                set_user_attrs(conn, trial_id, {"worker": self.worker, "heartbeat_grace": self.grace})
        return won

    def _take(self, cell: Cell, a: Attempt) -> Held:
        """Hold a popped trial; a sampled ε is drawn now (TPE seeded by the slot), or read back if it was."""
        eps = cell.eps
        with self.lock:
            self.held[cell.key] = a.trial_id
        if eps is None:
            study = optuna.Study(self.study.study_name, self.storage,
                                 sampler=optuna.samplers.TPESampler(seed=cell.seed))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                eps = optuna.Trial(study, a.trial_id).suggest_float(EPS_PARAM, *self.eps_range)
        return Held(cell, a.trial_id, a.number, float(eps), cell.seed, a.attempt)

    def enqueue(self) -> int:
        """Give every cell without a live attempt (none yet, or its latest FAIL) a WAITING trial, as its next
        attempt; returns how many. Under the study row's lock (all of SQLite's, by BEGIN IMMEDIATE), so that
        the reads and the inserts are one step: repeated, it adds nothing."""
        with self.storage.engine.begin() as conn:
            conn.execute(sa.select(STUDIES.c.study_id).where(STUDIES.c.study_id == self.sid).with_for_update())
            latest: dict[str, tuple[int, TrialState]] = {}
            for r in conn.execute(sa.select(ATTEMPTS.c.cell, ATTEMPTS.c.attempt, TRIALS.c.state)
                                  .join(TRIALS, TRIALS.c.trial_id == ATTEMPTS.c.trial_id)
                                  .where(ATTEMPTS.c.study_id == self.sid)):
                if r.cell not in latest or r.attempt > latest[r.cell][0]:
                    latest[r.cell] = (r.attempt, TrialState[_name(r.state)])
            legacy = self._legacy(conn) if any(c.key not in latest for c in self.cells) else {}
            todo = []
            for cell in self.cells:
                if cell.key in latest:
                    attempt, state = latest[cell.key]
                    if state == FAIL:
                        todo.append((cell, attempt + 1))
                elif cell.key in legacy and legacy[cell.key][1] is not None:  # done by an older sweep: adopted
                    conn.execute(ATTEMPTS.insert().values(study_id=self.sid, cell=cell.key,
                                                          attempt=legacy[cell.key][0], trial_id=legacy[cell.key][1]))
                else:
                    todo.append((cell, legacy[cell.key][0] + 1 if cell.key in legacy else 0))
            if todo:
                number = conn.execute(sa.select(sa.func.count()).select_from(TRIALS)
                                      .where(TRIALS.c.study_id == self.sid)).scalar()
                for i, (cell, attempt) in enumerate(todo):
                    tid = insert_trial(conn, self.sid, number + i, WAITING, declared(cell, self.cells),
                                       {"cell": cell.key, "attempt": attempt})
                    conn.execute(ATTEMPTS.insert().values(study_id=self.sid, cell=cell.key, attempt=attempt,
                                                          trial_id=tid))
        return len(todo)

    def _legacy(self, conn) -> dict[str, tuple[int, int | None]]:
        """Cells of trials that no attempt names (an older sweep's): cell -> (highest attempt, a COMPLETE trial)."""
        named = sa.select(ATTEMPTS.c.trial_id).where(ATTEMPTS.c.study_id == self.sid)
        cell, attempt = ATTRS.alias("c"), ATTRS.alias("a")
        rows = conn.execute(sa.select(TRIALS.c.trial_id, TRIALS.c.state, cell.c.value_json.label("cell"),
                                      attempt.c.value_json.label("attempt"))
                            .join(cell, (cell.c.trial_id == TRIALS.c.trial_id) & (cell.c.key == "cell"))
                            .outerjoin(attempt, (attempt.c.trial_id == TRIALS.c.trial_id) & (attempt.c.key == "attempt"))
                            .where(TRIALS.c.study_id == self.sid, TRIALS.c.trial_id.not_in(named))).all()
        out: dict[str, tuple[int, int | None]] = {}
        for r in rows:
            key, n = _json(r.cell), int(_json(r.attempt) or 0)
            top, done = out.get(key, (-1, None))
            out[key] = (max(top, n), r.trial_id if TrialState[_name(r.state)] == COMPLETE and done is None else done)
        return out

    def _expire(self, trial_id: int) -> bool:
        """FAIL a silent worker's trial, if it is still RUNNING and still silent when its row is locked."""
        grace = ATTRS.alias("g")
        with self.storage.engine.begin() as conn:
            state = conn.execute(sa.select(TRIALS.c.state).where(TRIALS.c.trial_id == trial_id).with_for_update()).scalar()
            row = conn.execute(sa.select(age(self.dialect, HEARTBEATS.c.heartbeat).label("age"),
                                         grace.c.value_json.label("grace"))
                               .select_from(TRIALS.outerjoin(HEARTBEATS, HEARTBEATS.c.trial_id == TRIALS.c.trial_id)
                                            .outerjoin(grace, (grace.c.trial_id == TRIALS.c.trial_id)
                                                       & (grace.c.key == "heartbeat_grace")))
                               .where(TRIALS.c.trial_id == trial_id)).one()
            silent = row.age is None or float(row.age) > float(_json(row.grace) or self.grace)
            if TrialState[_name(state)] != RUNNING or not silent:
                return False
            return _fail(conn, trial_id, "taken_over")

    # ------------------------------------------------------------ holding and letting go
    def beat(self) -> None:
        """One heartbeat for every trial this worker holds: one UPDATE of their rows."""
        with self.lock:
            ids = sorted(self.held.values())
        if ids:
            with self.storage.engine.begin() as conn:
                conn.execute(HEARTBEATS.update().where(HEARTBEATS.c.trial_id.in_(ids))
                             .values(heartbeat=utc_now(self.dialect)))

    def _drop(self, key: str) -> None:
        with self.lock:
            self.held.pop(key, None)

    def let_go(self, h: Held) -> None:
        """Stop beating for a trial another worker took over (found FAIL at a write)."""
        self._drop(h.cell.key)

    def complete(self, h: Held, value: float) -> bool:
        """Tell Optuna the trial is done; False (nothing kept) if another worker took the cell over meanwhile.
        Repeated after a lost answer, it finds its own COMPLETE and says True."""
        try:
            self.storage.set_trial_state_values(h.trial_id, COMPLETE, [value])
        except optuna.exceptions.UpdateFinishedTrialError:
            pass
        done = self.storage.get_trial(h.trial_id).state == COMPLETE
        self._drop(h.cell.key)
        return done

    def fail(self, h: Held, mark: str | None = None) -> None:
        """Hand the cell back: FAIL its trial (noting why in `mark`) and queue its next attempt at once."""
        with self.storage.engine.begin() as conn:
            _fail(conn, h.trial_id, mark)
        self._drop(h.cell.key)
        self.enqueue()

    def release_all(self, mark: str | None = None) -> None:
        """On the way out (a signal, an error): FAIL every trial this worker holds, or popped and did not hear so,
        and queue their next attempts, so that a rerun takes them at once. One try, no retries: with the
        database away, the trials go stale and the next look requeues them."""
        with self.lock:
            ids = set(self.held.values())
        try:
            with self.storage.engine.begin() as conn:
                ids |= set(conn.execute(sa.select(TRIALS.c.trial_id).join(ATTRS, ATTRS.c.trial_id == TRIALS.c.trial_id)
                                        .where(TRIALS.c.study_id == self.sid, TRIALS.c.state == RUNNING,
                                               ATTRS.c.key == "worker", ATTRS.c.value_json == json.dumps(self.worker)))
                           .scalars())
                for tid in sorted(ids):
                    _fail(conn, tid, mark)  # a trial told COMPLETE already stays so: the cell is done
            with self.lock:
                self.held.clear()
            self.enqueue()
        except Exception:
            return

    def tidy(self) -> int:
        """FAIL RUNNING trials that no attempt names: an older sweep's, whose worker died. Returns how many."""
        named = sa.select(ATTEMPTS.c.trial_id).where(ATTEMPTS.c.study_id == self.sid)
        with self.storage.engine.begin() as conn:
            ids = conn.execute(sa.select(TRIALS.c.trial_id).where(
                TRIALS.c.study_id == self.sid, TRIALS.c.state == RUNNING, TRIALS.c.trial_id.not_in(named))).scalars().all()
            return sum(_fail(conn, tid, None) for tid in ids)

    # ------------------------------------------------------------ until-precise blocks
    def add_blocks(self, seeds: Sequence[int], record: str) -> None:
        """Record the decision to add these seed blocks (once per seed, whoever decides) and queue their cells."""
        for seed in seeds:
            with contextlib.suppress(sa.exc.IntegrityError):  # the same plan, recorded by another worker
                with self.storage.engine.begin() as conn:
                    conn.execute(BLOCKS.insert().values(study_id=self.sid, seed=seed, decided_at=time.time(),
                                                        worker=self.worker, record=record))
        self.look()
        self.enqueue()

    def blocks(self) -> list:
        """The seed blocks decided so far: (seed, record) in seed order."""
        with self.storage.engine.connect() as conn:
            return conn.execute(sa.select(BLOCKS.c.seed, BLOCKS.c.record).where(BLOCKS.c.study_id == self.sid)
                                .order_by(BLOCKS.c.seed)).all()


def _fail(conn, trial_id: int, mark: str | None) -> bool:
    """RUNNING -> FAIL inside the caller's transaction; False if the trial had finished already."""
    failed = conn.execute(TRIALS.update().where(TRIALS.c.trial_id == trial_id, TRIALS.c.state == RUNNING)
                          .values(state=FAIL, datetime_complete=datetime.now())).rowcount == 1
    if failed and mark:
        set_user_attrs(conn, trial_id, {mark: True})
    return failed


def _name(state) -> str:
    """A trial state as stored: the enum, or its name where the column was read without its type."""
    return state.name if isinstance(state, TrialState) else str(state)


def _json(text):
    return None if text is None else json.loads(text)
