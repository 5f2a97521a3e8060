"""A worker's records of the trials it trains, through Optuna's public API: an epoch's report (the
intermediate value) and history (a user attribute) per trial, and a trial's final metrics.

Each call commits on its own. None needs to be one transaction with another: a worker that dies between
two of them leaves a RUNNING trial whose heartbeat goes stale, and the cell is retried whole (from its
checkpoint), its records overwritten step by step and key by key. A repeat of the same write (a retry
after a lost commit answer) leaves the same rows. As Optuna refuses to write a finished trial (a worker
that took over its cell has failed it), such a trial's id is returned, for the caller to let it go.
"""

from __future__ import annotations

from typing import Any

import optuna


def write_records(storage: optuna.storages.BaseStorage,
                  rows: dict[int, tuple[dict[int, float], dict[str, Any]]]) -> set[int]:
    """`rows`: trial id -> ({step: intermediate value}, {user attribute: JSON-able value}); returns the ids of
    trials not written because they are finished."""
    gone = set()
    for trial_id in sorted(rows):
        values, attrs = rows[trial_id]
        try:
            for step, value in values.items():
                storage.set_trial_intermediate_value(trial_id, step, value)
            for key, value in attrs.items():
                storage.set_trial_user_attr(trial_id, key, value)
        except optuna.exceptions.UpdateFinishedTrialError:
            gone.add(trial_id)
    return gone
