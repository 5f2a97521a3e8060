"""Riding out database blips: a restarted server, a dropped connection, a serialisation failure.

Every database step of a worker (pops, epoch records, telling Optuna, heartbeats, block decisions)
goes through `Patience`: a transient error is retried with backoff for a bounded window, saying once
that it waits; only past the window does the error end the run (one line, exit 1, and a rerun goes
on). Each step is safe to repeat: a worker takes up a trial it popped whose answer was lost (see
`Queue.claim`), queueing adds nothing twice, Optuna's reports and attributes overwrite themselves, and a repeated
`tell` finds its trial COMPLETE.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Callable, TypeVar

import optuna
import sqlalchemy as sa

from .. import progress

T = TypeVar("T")
PATIENCE = 300.0  # seconds a worker waits for its database before it gives up
# PostgreSQL's SQLSTATEs worth a retry: connection exceptions, serialisation failure, deadlock, server going
# away (admin shutdown, crash shutdown, cannot connect now).
TRANSIENT_CODES = {"08000", "08001", "08003", "08004", "08006", "40001", "40P01", "57P01", "57P02", "57P03"}
# A server that refuses a connection for good says so in words only (libpq gives no SQLSTATE at connect time):
# waiting cures neither a bad password nor a missing role or database.
REFUSED_FOR_GOOD = ("authentication failed", "no password supplied", "does not exist", "permission denied",
                    "no pg_hba.conf entry", "password is required", "too many connections for role")


def _chain(e: BaseException):
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def transient(e: BaseException) -> bool:
    """Whether the error may pass by itself: the database unreachable, restarting or busy, not a bad statement."""
    for x in _chain(e):
        orig = getattr(x, "orig", None)
        if isinstance(orig, sqlite3.Error):  # a local file: only its lock passes by itself, not a lost file
            return "locked" in str(orig) or "busy" in str(orig)
        code = _sqlstate(orig) or _sqlstate(x)
        if code:  # the server said what went wrong: a full disk or a bad password does not pass by waiting
            return code in TRANSIENT_CODES
        if any(words in str(orig or x) for words in REFUSED_FOR_GOOD):
            return False
        if isinstance(x, sa.exc.DBAPIError) and x.connection_invalidated:
            return True
        if isinstance(x, (sa.exc.OperationalError, sa.exc.InterfaceError)):
            return True  # no code: no answer from a server at all (refused, reset, timed out)
    return False


def outage(e: BaseException) -> bool:
    """A transient error from not reaching the server at all (not contention: a lock, a serialisation failure)."""
    if not transient(e):
        return False
    codes = [_sqlstate(getattr(x, "orig", None)) or _sqlstate(x) for x in _chain(e)]
    locks = [x for x in _chain(e) if isinstance(getattr(x, "orig", None), sqlite3.Error)]
    return not locks and not any(c in ("40001", "40P01") for c in codes)


def _sqlstate(x) -> str | None:
    return getattr(x, "sqlstate", None) or getattr(x, "pgcode", None)  # psycopg 3, psycopg2


def reason(e: BaseException) -> str:
    """The first line of the database's own words, past Optuna's wrapper."""
    inner = next((x for x in _chain(e) if isinstance(x, sa.exc.SQLAlchemyError)), e)
    inner = getattr(inner, "orig", None) or inner
    text = str(inner).strip()
    return text.splitlines()[0] if text else type(inner).__name__


class DatabaseGone(Exception):
    """The database stayed unreachable for the whole window; the error that ended it is the cause."""

    def __init__(self, window: float):
        super().__init__(f"still unreachable after {window:g} s of retries" if window else "unreachable")
        self.window = window


class Patience:
    """Call a database step, retrying transient errors with backoff for up to `window` seconds."""

    def __init__(self, window: float = PATIENCE, say: Callable[[str], None] | None = None,
                 first_delay: float = 0.5, max_delay: float = 10.0, on_trouble: Callable[[], None] | None = None):
        self.window, self.first_delay, self.max_delay, self.on_trouble = window, first_delay, max_delay, on_trouble
        self.say = say or progress.say
        self.waiting = False  # said that it waits, and not yet that the database is back
        self.lock = threading.Lock()
        self.abandoned = threading.Event()  # set by `abandon`: no step retries any more

    def abandon(self) -> None:
        """Stop retrying, in every thread that calls through this Patience: a run that is ending (a signal
        during an outage) must not wait out the window. A step waiting for its next try gives up at once."""
        self.abandoned.set()

    def __call__(self, step: Callable[..., T], *args, **kwargs) -> T:
        start, delay = None, self.first_delay
        while True:
            try:
                result = step(*args, **kwargs)
            except Exception as e:
                if not transient(e):
                    raise
                if self.on_trouble is not None and outage(e):
                    self.on_trouble()
                now = time.monotonic()
                start = now if start is None else start
                if now - start >= self.window or self.abandoned.is_set():
                    raise DatabaseGone(self.window) from e
                with self.lock:
                    if not self.waiting:
                        self.waiting = True
                        self.say(f"sweep: database unreachable ({reason(e)}); retrying for up to "
                                 f"{self.window:g} s")
                if self.abandoned.wait(min(delay, max(0.0, start + self.window - now))):
                    raise DatabaseGone(self.window) from e
                delay = min(delay * 2, self.max_delay)
                continue
            if start is not None:
                with self.lock:
                    if self.waiting:
                        self.waiting = False
                        self.say(f"sweep: database back after {time.monotonic() - start:.0f} s")
            return result


def database_error(e: BaseException) -> bool:
    return isinstance(e, (sa.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError, DatabaseGone))
