"""The grid as Optuna's own trial queue: one state machine per cell, its trial's.

Every cell of the study (one ε and seed; or one numbered slot when ε is sampled) is an Optuna trial with
its parameters fixed from the start, so the dashboard shows what is left as WAITING trials. A cell's
state is the state of its latest attempt's trial:

    from        to         event                                      by               how
    ---------   --------   ----------------------------------------   --------------   ----------------------------
    (none)      WAITING    enqueue: the cell's first attempt          any worker       trial + attempt row, one tx
    WAITING     RUNNING    pop                                        its worker       UPDATE … WHERE state=WAITING
    RUNNING     RUNNING    take up again: a pop whose answer was lost its worker       found by its `sweep_holds` row
    RUNNING     COMPLETE   tell: the cell is done, for good           its worker       set_trial_state_values
    RUNNING     FAIL       hand back: a signal, an error              its worker       conditional UPDATE
    RUNNING     FAIL       expire: heartbeat older than its grace     another worker   conditional UPDATE (row lock)
    FAIL        WAITING    requeue: the next attempt, a new trial     any worker       as enqueue

What Optuna lacks is kept in `sweep_attempts(study, cell, attempt, trial_id)`. A row is inserted with its
trial in one transaction and never changes; a new attempt is made only once the latest is FAIL, and the
primary key refuses a second row of one number, so a cell never has two live trials and two workers
that enqueue at once cannot double it. Enqueueing is idempotent, and runs at the start of every run
and in every claim that finds a cell without a live attempt, so a crash between failing a trial and
requeueing its cell loses nothing. The SQL of these steps is in attempts.py.

A pop is one compare-and-set on the trial's state, in one transaction with its holder and heartbeat (a
`sweep_holds` row): a RUNNING trial always has a heartbeat, and a worker killed at any point leaves a
trial that goes stale. Heartbeats are on the database's clock in UTC (workers on many machines never
compare their own clocks), one UPDATE per interval for every trial a worker holds, training or waiting
its turn. A RUNNING trial
whose heartbeat is older than its holder's grace period belongs to a dead worker: the next worker to
reach its cell fails it and requeues the cell, which resumes from its checkpoint where one is on that
machine. Telling and
expiring meet on the trial's row lock (Optuna's tell reads the state FOR UPDATE on PostgreSQL; on SQLite
every transaction of a worker's storage takes the file's write lock at BEGIN): a worker taken for dead
finds its trial FAIL when it tells, and keeps nothing.

Studies made before this queue (sweep 0.4.0 and 0.5.0) go on: see attempts.py.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

import optuna
import sqlalchemy as sa

from . import attempts
from .attempts import COMPLETE, RUNNING, WAITING, Attempt
from .clock import new_worker_id
from .patience import database_error
from .space import EPS_PARAM, Cell, block_cells
from .storage import BLOCKS

GRACE_BEATS = 3  # a worker silent for this many heartbeat intervals is taken as dead
OUTAGE_GRACE_MIN = 5.0  # seconds at least after an outage before a silent worker's trial is expired
RELEASE_WITHIN = 8.0  # seconds a worker that is ending gives the database to take its trials back


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
        self.held: dict[str, int] = {}  # cell key -> trial id, for the cells this worker holds (and beats for)
        self.unreturned: set[str] = set()  # cells popped by a claim that has not returned them yet
        self.lock = threading.Lock()  # `held` is read by the heartbeat thread
        self.counts: dict = {"done": 0, "busy": []}  # the study's cells done (how many) and held (keys), last look
        self.trouble_at = -math.inf  # when this worker last failed to reach the database (monotonic clock)

    # ------------------------------------------------------------ looking
    def look(self) -> dict[str, Attempt]:
        """Every cell's latest attempt, in one round trip (the seed blocks decided so far read with it)."""
        with self.storage.engine.connect() as conn:
            found = attempts.latest(conn, self.dialect, self.sid)
            if self.epsilons:
                self._add_blocks(conn.execute(sa.select(BLOCKS.c.seed).where(BLOCKS.c.study_id == self.sid)).scalars())
        states = [self._state(found.get(c.key)) for c in self.cells]
        self.counts = {"done": states.count("done"),
                       "busy": [c.key for c, s in zip(self.cells, states) if s == "busy"]}
        return found

    def status(self) -> dict[str, list[Cell]]:
        """Cells by state: 'done', 'busy' (held by a live worker), 'open' (waiting, to queue, or stale)."""
        found = self.look()
        out: dict[str, list[Cell]] = {"done": [], "busy": [], "open": []}
        for cell in self.cells:
            out[self._state(found.get(cell.key))].append(cell)
        return out

    def _state(self, a: Attempt | None) -> str:
        if a is not None and a.state == COMPLETE:
            return "done"
        if a is not None and a.state == RUNNING and not a.stale(self.grace):
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

    # ------------------------------------------------------------ popping
    def claim(self, k: int) -> list[Held]:
        """Pop up to k waiting cells in the cells' order, queueing every cell that needs an attempt first. A cell
        whose trial is stale is expired and requeued as it is reached (not within the grace after an outage).
        Trials this worker popped and has not handed to its caller (the pop's answer lost in a blip, or a claim
        cut short by one and retried) come first: they are its own, and beat from the pop on."""
        found = self.look()
        if any(c.key not in found or found[c.key].state == attempts.FAIL for c in self.cells):
            self.enqueue()
            found = self.look()
        own = [c for c in self.cells if (a := found.get(c.key)) is not None and a.state == RUNNING
               and a.worker == self.worker and (c.key not in self.held or c.key in self.unreturned)]
        got = [self._take(cell, found[cell.key]) for cell in own]
        for cell in self.cells:
            if len(got) >= k:
                break
            a = found.get(cell.key)
            if a is None or cell.key in self.held or cell in own:
                continue
            if a.stale(self.grace) and a.worker != self.worker:
                if self.in_outage_grace() or not self._expire(a.trial_id):
                    continue
                self.enqueue()
                a = self.look()[cell.key]
            if a.state == WAITING and self._pop(a.trial_id):
                with self.lock:
                    self.held[cell.key] = a.trial_id
                self.unreturned.add(cell.key)
                got.append(self._take(cell, a))
        with self.lock:
            self.held.update({h.cell.key: h.trial_id for h in got})
        self.unreturned.clear()
        return got

    def _pop(self, trial_id: int) -> bool:
        with self.storage.engine.begin() as conn:
            return attempts.pop(conn, self.dialect, trial_id, self.worker, self.grace)

    def _take(self, cell: Cell, a: Attempt) -> Held:
        """A popped trial's ε: a sampled one is drawn now (TPE seeded by the slot), or read back if it was."""
        eps = cell.eps
        if eps is None:
            study = optuna.Study(self.study.study_name, self.storage,
                                 sampler=optuna.samplers.TPESampler(seed=cell.seed))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                eps = optuna.Trial(study, a.trial_id).suggest_float(EPS_PARAM, *self.eps_range)
        return Held(cell, a.trial_id, a.number, float(eps), cell.seed, a.attempt)

    def enqueue(self) -> int:
        """Queue every cell without a live attempt; returns how many (see `attempts.enqueue`)."""
        with self.storage.engine.begin() as conn:
            return attempts.enqueue(conn, self.sid, self.dialect, self.cells, self.eps_range)

    def _expire(self, trial_id: int) -> bool:
        """FAIL a silent worker's trial, if it is still RUNNING and still silent once its row is locked."""
        with self.storage.engine.begin() as conn:
            attempts.lock_trial(conn, trial_id)
            (a,) = attempts.latest(conn, self.dialect, self.sid, trial_id).values()
            return a.stale(self.grace) and attempts.fail(conn, trial_id, "taken_over")

    # ------------------------------------------------------------ holding and letting go
    def beat(self) -> None:
        """One heartbeat for every trial this worker holds: one UPDATE of their rows."""
        with self.lock:
            ids = sorted(self.held.values())
        if ids:
            with self.storage.engine.begin() as conn:
                attempts.beat(conn, self.dialect, self.worker, ids)

    def let_go(self, h: Held) -> None:
        """Stop holding (and beating for) a trial: finished, or taken over by another worker."""
        with self.lock:
            self.held.pop(h.cell.key, None)

    def complete(self, h: Held, value: float) -> bool:
        """Tell Optuna the trial is done; False (nothing kept) if another worker took the cell over meanwhile.
        Repeated after a lost answer, it finds its own COMPLETE and says True."""
        try:
            self.storage.set_trial_state_values(h.trial_id, COMPLETE, [value])
            done = True
        except optuna.exceptions.UpdateFinishedTrialError:  # told already (an answer lost), or failed by another
            done = self.storage.get_trial(h.trial_id).state == COMPLETE
        self.let_go(h)
        return done

    def fail(self, h: Held, mark: str | None = None) -> None:
        """Hand one cell back: FAIL its trial (noting why in `mark`) and queue its next attempt at once."""
        with self.storage.engine.begin() as conn:
            attempts.fail(conn, h.trial_id, mark)
        self.let_go(h)
        self.enqueue()

    def release_all(self, mark: str | None = None, within: float = RELEASE_WITHIN) -> bool:
        """On the way out (a signal, an error): FAIL every trial this worker holds, or popped and did not hear so,
        and queue their next attempts, so that a rerun takes them at once. One try, for at most `within` seconds
        (a database that does not answer must not hold up a scheduler's grace period): False if it did not
        finish, and then the trials go stale and the next worker to reach them requeues them."""
        result: list = []

        def release() -> None:
            try:
                with self.lock:
                    ids = set(self.held.values())
                with self.storage.engine.begin() as conn:
                    for trial_id in sorted(ids | attempts.held_by(conn, self.sid, self.worker)):
                        attempts.fail(conn, trial_id, mark)  # a trial told COMPLETE already stays so
                with self.lock:
                    self.held.clear()
                result.append(True)
                self.enqueue()  # at once where it can; else the next run or claim queues them first thing
            except Exception as e:
                result.append(e)

        thread = threading.Thread(target=release, daemon=True)
        thread.start()
        thread.join(within)
        if result and isinstance(result[0], Exception) and not database_error(result[0]):
            raise result[0]  # a bug, not the database: say so
        return bool(result) and result[0] is True

    def tidy(self) -> int:
        """FAIL an older sweep's RUNNING trials that no attempt names, and forget attempts that are not this
        study's own (see `attempts.tidy`); returns how many trials were failed."""
        with self.storage.engine.begin() as conn:
            return attempts.tidy(conn, self.sid)

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
