"""sweep's own SQL: the queue's steps that no public Optuna call makes safe, each one transaction inside the
caller's (see queue.py for the state machine). Everything else goes through Optuna's public API: telling a
trial COMPLETE (`set_trial_state_values`), per-epoch records (`set_trial_intermediate_value`,
`set_trial_user_attr`), a sampled ε (`Trial.suggest_float`), and every read of a trial the report makes.

The statements, and why each is sweep's own:

- `enqueue`: INSERT a WAITING trial with its parameters and attributes, and its `sweep_attempts` row, under
  the study row's lock. The trial and the row must be one transaction: Optuna's `create_new_trial`
  commits alone, and two workers queueing at once would each make a trial for one cell.
- `pop`: UPDATE trials SET state = RUNNING WHERE state = WAITING (a compare-and-set), with its
  `sweep_holds` row. Optuna's `set_trial_state_values` reads the state and then writes it, safe only where
  the read holds a lock (SQLite drops its FOR UPDATE), and commits alone: a RUNNING trial with no
  heartbeat yet would look dead to every other worker.
- `fail`: UPDATE trials SET state = FAIL WHERE state = RUNNING, with the attribute saying why. Optuna
  refuses attributes on a finished trial and commits the two apart; `release_all` fails every trial a
  worker holds in one transaction, within its bound.
- `lock_trial` + `fail` (expire): the trial's row locked, its heartbeat's age read again, then failed, so
  that a worker's tell and another's expiry of the same trial meet on one lock.
- `tidy`: fail RUNNING trials that no attempt names (an older sweep's dead workers'), and forget attempts
  whose trial is gone (SQLite reuses a deleted study's ids).

Heartbeats and holders are sweep's own table (`sweep_holds`), on the database's clock; every datetime
written into Optuna's tables is what Optuna itself writes, naive UTC. Studies made before the queue
(sweep 0.4.0 and 0.5.0 kept claims in a table of their own) join it as they are: a COMPLETE trial that
carries a cell is adopted as that cell's attempt, a later attempt is numbered after every older one, and
their RUNNING trials that no attempt names are failed by `tidy`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import sqlalchemy as sa
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.trial import TrialState

from .clock import age, utc_naive, utc_now
from .schema import ATTRS, PARAMS, STUDIES, TRIALS
from .space import EPS_PARAM, Cell, declared
from .storage import ATTEMPTS, HOLDS

WAITING, RUNNING, COMPLETE, FAIL = TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE, TrialState.FAIL


@dataclass(frozen=True)
class Attempt:
    """A cell's latest attempt, as one look saw it."""
    attempt: int
    trial_id: int
    number: int
    state: TrialState
    worker: str | None  # who popped it (None while WAITING)
    beat_age: float  # seconds since its last heartbeat, by the database's clock (inf without one)
    grace: float | None  # its holder's grace period, seconds (None while WAITING)

    def stale(self, default_grace: float) -> bool:
        return self.state == RUNNING and self.beat_age > (self.grace or default_grace)


def latest(conn, dialect: str, study_id: int, trial_id: int | None = None) -> dict[str, Attempt]:
    """Each cell's latest attempt (or only the attempt that is `trial_id`), with its trial's state, holder and
    heartbeat's age, in one query (Optuna's `get_all_trials` would read every trial's histories at each look)."""
    query = (sa.select(ATTEMPTS.c.cell, ATTEMPTS.c.attempt, ATTEMPTS.c.trial_id, TRIALS.c.number, TRIALS.c.state,
                       HOLDS.c.worker, HOLDS.c.grace, age(dialect, HOLDS.c.heartbeat).label("age"))
             .select_from(ATTEMPTS.join(TRIALS, TRIALS.c.trial_id == ATTEMPTS.c.trial_id)
                          .outerjoin(HOLDS, HOLDS.c.trial_id == ATTEMPTS.c.trial_id))
             .where(ATTEMPTS.c.study_id == study_id))
    if trial_id is not None:
        query = query.where(ATTEMPTS.c.trial_id == trial_id)
    out: dict[str, Attempt] = {}
    for r in conn.execute(query):
        if r.cell not in out or r.attempt > out[r.cell].attempt:
            out[r.cell] = Attempt(r.attempt, r.trial_id, r.number, state_of(r.state), r.worker,
                                  math.inf if r.age is None else float(r.age), r.grace)
    return out


def enqueue(conn, study_id: int, dialect: str, cells: Sequence[Cell],
            eps_range: tuple[float, float] | None) -> int:
    """A WAITING trial, as its next attempt, for every cell without a live one (none yet, or the latest FAIL);
    returns how many. Under the study row's lock (all of SQLite's, by BEGIN IMMEDIATE), so that the reads and
    the inserts are one step: repeated, it adds nothing."""
    conn.execute(sa.select(STUDIES.c.study_id).where(STUDIES.c.study_id == study_id).with_for_update())
    now = latest(conn, dialect, study_id)
    older = _older(conn, study_id) if any(c.key not in now for c in cells) else {}
    todo = []
    for cell in cells:
        a = now.get(cell.key)
        if a is not None:
            if a.state == FAIL:
                todo.append((cell, a.attempt + 1, a.trial_id))
        elif older.get(cell.key, (0, None, None))[1] is not None:  # finished by an older sweep: adopted as it is
            attempt, trial_id, _ = older[cell.key]
            conn.execute(ATTEMPTS.insert().values(study_id=study_id, cell=cell.key, attempt=attempt, trial_id=trial_id))
        elif cell.key in older:
            todo.append((cell, older[cell.key][0] + 1, older[cell.key][2]))
        else:
            todo.append((cell, 0, None))
    if not todo:
        return 0
    # A sampled ε is kept from the latest attempt, so that the retry resumes from that attempt's checkpoint (one
    # outside this run's --eps-range is drawn anew).
    kept = _sampled_eps(conn, [t for _, _, t in todo if t is not None], eps_range) if eps_range else {}
    number = conn.execute(sa.select(sa.func.count()).select_from(TRIALS).where(TRIALS.c.study_id == study_id)).scalar()
    for i, (cell, attempt, previous) in enumerate(todo):
        trial_id = insert_trial(conn, study_id, number + i, WAITING, declared(cell, cells, eps_range, kept.get(previous)),
                                {"cell": cell.key, "attempt": attempt})
        conn.execute(ATTEMPTS.insert().values(study_id=study_id, cell=cell.key, attempt=attempt, trial_id=trial_id))
    return len(todo)


def _sampled_eps(conn, trial_ids: list[int], eps_range: tuple[float, float]) -> dict[int, float]:
    if not trial_ids:
        return {}
    rows = conn.execute(sa.select(PARAMS.c.trial_id, PARAMS.c.param_value)
                        .where(PARAMS.c.trial_id.in_(trial_ids), PARAMS.c.param_name == EPS_PARAM))
    return {r.trial_id: float(r.param_value) for r in rows if eps_range[0] <= float(r.param_value) <= eps_range[1]}


def pop(conn, dialect: str, trial_id: int, worker: str, grace: float) -> bool:
    """WAITING -> RUNNING, with its holder and first heartbeat; False if the trial was not WAITING (another
    worker won)."""
    won = conn.execute(TRIALS.update().where(TRIALS.c.trial_id == trial_id, TRIALS.c.state == WAITING)
                       .values(state=RUNNING, datetime_start=utc_naive())).rowcount == 1
    if won:  # a hold left on a reused id (SQLite gives a deleted trial's id to the next) is not this pop's
        conn.execute(HOLDS.delete().where(HOLDS.c.trial_id == trial_id))
        conn.execute(HOLDS.insert().values(trial_id=trial_id, worker=worker, grace=grace, heartbeat=utc_now(dialect)))
    return won


def fail(conn, trial_id: int, mark: str | None) -> bool:
    """RUNNING -> FAIL (noting why in the user attribute `mark`); False if the trial had finished already."""
    failed = conn.execute(TRIALS.update().where(TRIALS.c.trial_id == trial_id, TRIALS.c.state == RUNNING)
                          .values(state=FAIL, datetime_complete=utc_naive())).rowcount == 1
    if failed and mark:
        set_user_attrs(conn, trial_id, {mark: True})
    return failed


def lock_trial(conn, trial_id: int) -> None:
    """Hold the trial's row until the transaction ends (PostgreSQL, MySQL; SQLite holds the whole file from BEGIN
    IMMEDIATE on)."""
    conn.execute(sa.select(TRIALS.c.trial_id).where(TRIALS.c.trial_id == trial_id).with_for_update())


def held_by(conn, study_id: int, worker: str) -> set[int]:
    """The study's RUNNING trials that `worker` popped, heard of or not."""
    return set(conn.execute(sa.select(TRIALS.c.trial_id).join(HOLDS, HOLDS.c.trial_id == TRIALS.c.trial_id)
                            .where(TRIALS.c.study_id == study_id, TRIALS.c.state == RUNNING,
                                   HOLDS.c.worker == worker)).scalars())


def beat(conn, dialect: str, worker: str, trial_ids: Sequence[int]) -> None:
    """One heartbeat for each of these trials: one UPDATE of their holds."""
    conn.execute(HOLDS.update().where(HOLDS.c.worker == worker, HOLDS.c.trial_id.in_(list(trial_ids)))
                 .values(heartbeat=utc_now(dialect)))


def tidy(conn, study_id: int) -> int:
    """FAIL RUNNING trials that no attempt names (an older sweep's, whose worker died), and forget attempts, of any
    study, whose trial is gone or is another study's or cell's: SQLite reuses the ids of a deleted study and its
    trials for the next ones. Returns how many trials were failed."""
    cell = ATTRS.alias("c")
    foreign = conn.execute(
        sa.select(ATTEMPTS.c.study_id, ATTEMPTS.c.cell, ATTEMPTS.c.attempt, ATTEMPTS.c.trial_id)
        .select_from(ATTEMPTS.outerjoin(TRIALS, TRIALS.c.trial_id == ATTEMPTS.c.trial_id)
                     .outerjoin(cell, (cell.c.trial_id == ATTEMPTS.c.trial_id) & (cell.c.key == "cell")))
        .where(sa.or_(TRIALS.c.study_id.is_(None), TRIALS.c.study_id != ATTEMPTS.c.study_id, cell.c.value_json.is_(None),
                      cell.c.value_json != sa.literal('"') + ATTEMPTS.c.cell + sa.literal('"')))).all()
    for r in foreign:
        conn.execute(ATTEMPTS.delete().where(ATTEMPTS.c.study_id == r.study_id, ATTEMPTS.c.cell == r.cell,
                                             ATTEMPTS.c.attempt == r.attempt, ATTEMPTS.c.trial_id == r.trial_id))
    conn.execute(HOLDS.delete().where(HOLDS.c.trial_id.not_in(sa.select(TRIALS.c.trial_id))))
    named = sa.select(ATTEMPTS.c.trial_id).where(ATTEMPTS.c.study_id == study_id)
    ids = conn.execute(sa.select(TRIALS.c.trial_id).where(TRIALS.c.study_id == study_id, TRIALS.c.state == RUNNING,
                                                          TRIALS.c.trial_id.not_in(named))).scalars().all()
    return sum(fail(conn, trial_id, None) for trial_id in ids)


def _older(conn, study_id: int) -> dict[str, tuple[int, int | None, int]]:
    """Cells of trials that no attempt names (an older sweep's): cell -> (its highest attempt, a COMPLETE trial
    or None, the trial of its highest attempt)."""
    named = sa.select(ATTEMPTS.c.trial_id).where(ATTEMPTS.c.study_id == study_id)
    cell, attempt = ATTRS.alias("c"), ATTRS.alias("a")
    rows = conn.execute(sa.select(TRIALS.c.trial_id, TRIALS.c.state, cell.c.value_json.label("cell"),
                                  attempt.c.value_json.label("attempt"))
                        .join(cell, (cell.c.trial_id == TRIALS.c.trial_id) & (cell.c.key == "cell"))
                        .outerjoin(attempt, (attempt.c.trial_id == TRIALS.c.trial_id) & (attempt.c.key == "attempt"))
                        .where(TRIALS.c.study_id == study_id, TRIALS.c.trial_id.not_in(named))
                        .order_by(TRIALS.c.trial_id)).all()
    out: dict[str, tuple[int, int | None, int]] = {}
    for r in rows:
        key, n = _json(r.cell), int(_json(r.attempt) or 0)
        highest, complete, last = out.get(key, (-1, None, r.trial_id))
        if state_of(r.state) == COMPLETE and complete is None:
            complete = r.trial_id
        out[key] = (n, complete, r.trial_id) if n >= highest else (highest, complete, last)
    return out


def state_of(state) -> TrialState:
    """A trial state as read: the enum, or its name where the column was read without its type."""
    return state if isinstance(state, TrialState) else TrialState[str(state)]


def _json(text):
    return None if text is None else json.loads(text)


def insert_trial(conn, study_id: int, number: int, state: TrialState,
                 params: dict[str, tuple[Any, BaseDistribution]], user_attrs: dict[str, Any]) -> int:
    """A new trial of the study with its parameters and attributes, encoded as Optuna encodes them; returns its id.
    `number` must be the study's count of trials so far, read under the study row's lock (as Optuna does)."""
    trial_id = conn.execute(TRIALS.insert().values(number=number, study_id=study_id, state=state,
                                                   datetime_start=None, datetime_complete=None)).inserted_primary_key[0]
    if params:
        conn.execute(PARAMS.insert(), [{"trial_id": trial_id, "param_name": name,
                                        "param_value": dist.to_internal_repr(value),
                                        "distribution_json": distribution_to_json(dist)}
                                       for name, (value, dist) in params.items()])
    set_user_attrs(conn, trial_id, user_attrs)
    return trial_id


def set_user_attrs(conn, trial_id: int, attrs: dict[str, Any]) -> None:
    """Trial user attributes, overwriting, inside the caller's transaction."""
    if attrs:
        conn.execute(ATTRS.delete().where(ATTRS.c.trial_id == trial_id, ATTRS.c.key.in_(list(attrs))))
        conn.execute(ATTRS.insert(), [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                                      for k, v in attrs.items()])
