"""Rows of Optuna's own tables, written as Optuna writes them, in one transaction with sweep's: a worker's
records for all the trials it trains, and the queue's new trials.

Optuna's API commits once per call: an epoch's report and history for 20 trials are 40 commits (each a
file sync on SQLite, a round trip on PostgreSQL), and a trial's final metrics a dozen more. Here the
same rows go into Optuna's own tables (`trial_intermediate_values`, `trial_user_attributes`), encoded
as Optuna encodes them, in one transaction. As with Optuna, a trial that is no longer RUNNING (a worker
that took over its cell has failed it) is not written; its id is returned so that the caller can let
it go. A repeat of the same write (a retry after a lost commit answer) leaves the same rows.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.storages._rdb import models
from optuna.trial import TrialState

STUDIES = models.StudyModel.__table__
TRIALS = models.TrialModel.__table__
PARAMS = models.TrialParamModel.__table__
VALUES = models.TrialIntermediateValueModel.__table__
ATTRS = models.TrialUserAttributeModel.__table__
HEARTBEATS = models.TrialHeartbeatModel.__table__


def write_records(storage, rows: dict[int, tuple[dict[int, float], dict[str, Any]]]) -> set[int]:
    """`rows`: trial id -> ({step: intermediate value}, {user attribute: JSON-able value}); returns the ids of
    trials not written because they are finished."""
    if not rows:
        return set()
    ids = sorted(rows)
    with storage.engine.begin() as conn:
        # FOR UPDATE (PostgreSQL): an expirer failing one of these trials waits for this transaction, or this
        # one sees the trial failed. SQLite locks the whole file on the first write anyway.
        found = conn.execute(sa.select(TRIALS.c.trial_id, TRIALS.c.state)
                             .where(TRIALS.c.trial_id.in_(ids)).with_for_update()).all()
        live = sorted(tid for tid, state in found if state == TrialState.RUNNING)
        values = [(tid, step, value) for tid in live for step, value in rows[tid][0].items()]
        attrs = [(tid, key, value) for tid in live for key, value in rows[tid][1].items()]
        # One delete per trial: a delete keyed on (trial, key) pairs would bind two parameters per row, past
        # old SQLite builds' limit of 999 at K = 64.
        for tid in live:
            steps, keys = list(rows[tid][0]), list(rows[tid][1])
            if steps:
                conn.execute(VALUES.delete().where(VALUES.c.trial_id == tid, VALUES.c.step.in_(steps)))
            if keys:
                conn.execute(ATTRS.delete().where(ATTRS.c.trial_id == tid, ATTRS.c.key.in_(keys)))
        if values:
            conn.execute(VALUES.insert(), [_value_row(tid, step, value) for tid, step, value in values])
        if attrs:
            conn.execute(ATTRS.insert(), [{"trial_id": tid, "key": key, "value_json": json.dumps(value)}
                                          for tid, key, value in attrs])
    return set(ids) - set(live)


def _value_row(trial_id: int, step: int, value: float) -> dict:
    stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(value)
    return {"trial_id": trial_id, "step": step, "intermediate_value": stored, "intermediate_value_type": kind}


def insert_trial(conn, study_id: int, number: int, state: TrialState,
                 params: dict[str, tuple[Any, BaseDistribution]], user_attrs: dict[str, Any]) -> int:
    """A new trial of the study with its parameters and attributes, inside the caller's transaction; returns its id.
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
