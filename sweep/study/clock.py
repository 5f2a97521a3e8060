"""The database's clock, which every worker's heartbeat and every judgement of silence uses (workers on many
machines never compare their own clocks), a worker's name, and the thread that beats.

Heartbeats are rows of sweep's `sweep_holds`, written in UTC by the database. Optuna's own heartbeat
(`record_heartbeat`, `fail_stale_trials`) is not public for ask-and-tell and is never turned on (the
storage has no heartbeat interval). The datetimes sweep writes into Optuna's trials are this machine's
clock as naive UTC, as Optuna 5 writes them.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from .patience import outage


def utc_now(dialect: str) -> sa.ColumnElement:
    """The database's clock, UTC, as a timestamp: what a heartbeat records."""
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m-%d %H:%M:%f", "now")
    if dialect == "postgresql":
        return sa.func.timezone("UTC", sa.func.clock_timestamp())
    if dialect in ("mysql", "mariadb"):
        return sa.func.utc_timestamp(6)
    raise NotImplementedError(f"no database clock for {dialect}")


def utc_naive() -> datetime:
    """Now, as Optuna 5 keeps a trial's datetimes: naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def age(dialect: str, column) -> sa.ColumnElement:
    """Seconds since the timestamp in `column`, by the database's clock (None where it is NULL).

    On PostgreSQL no heartbeat counts as older than the server's start: a restart held every worker's beats
    back, and a worker that starts just after it (with no outage of its own to remember) must not take
    them for dead."""
    if dialect == "sqlite":
        return (sa.func.julianday("now") - sa.func.julianday(column)) * 86400.0
    if dialect == "postgresql":
        since = sa.case((column.is_(None), None),  # GREATEST would skip a NULL: no heartbeat stays no heartbeat
                        else_=sa.func.greatest(column, sa.func.timezone("UTC", sa.func.pg_postmaster_start_time())))
        return sa.func.extract("epoch", sa.func.timezone("UTC", sa.func.clock_timestamp()) - since)
    if dialect in ("mysql", "mariadb"):
        return sa.func.timestampdiff(sa.literal_column("MICROSECOND"), column, sa.func.utc_timestamp(6)) / 1e6
    raise NotImplementedError(f"no database clock for {dialect}")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Heartbeat:
    """Beats for all of a worker's trials from a thread, from the first pop to the end."""

    def __init__(self, queue):
        self.queue = queue
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        wait = self.queue.interval
        while not self.stop.wait(wait):
            try:
                self.queue.beat()
                wait = self.queue.interval
            except Exception as e:
                # Retried within a second: after a blip the first beat must come before others judge this worker.
                if outage(e):
                    self.queue.troubled()
                wait = min(1.0, self.queue.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, kind, *exc):
        self.stop.set()
        if kind is None:  # ending on an error or a signal, a beat stuck on a silent database holds nothing up
            self.thread.join()
