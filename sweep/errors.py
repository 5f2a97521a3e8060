"""The ways a command ends early on purpose (`cli.main` turns each into one line and an exit code), and the
signals that end a run."""

import contextlib
import signal


class UsageError(Exception):
    """A bad input or state the user can fix; the message is one line (exit 2)."""


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM, SIGHUP) ended a trial; its cell is retried (from its checkpoint) on the next run
    (exit 128 + the signal's number: 130 for Ctrl-C, 143 for SIGTERM)."""

    def __init__(self, message: str, signum: int = 2):
        super().__init__(message)
        self.signum = signum


class DataError(Exception):
    """Data that cannot be used; the message names the file or folder and fits on one line (exit 2)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a scheduler's time-out or preemption, a closed terminal): ended like Ctrl-C, so every
    path that hands cells back on Ctrl-C does so here too; the exit code is 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
ORPHAN_GRACE = 30  # seconds a worker whose parent died may spend handing its cells back


def end_on_signals() -> dict:
    """Ctrl-C, SIGTERM and SIGHUP end a run alike: cells handed back, checkpoints kept, one line. Installed
    even as PID 1 in a container, where the kernel drops signals that have no handler. A signal set to be
    ignored (nohup, a background job's SIGINT) stays ignored. Returns the handlers it replaced."""
    def stop(signum, frame):
        for other in ENDING_SIGNALS:
            signal.signal(other, signal.SIG_IGN)  # one ending: a second signal must not cut the clean-up short
        raise Terminated(signum)

    previous = {}
    for signum in ENDING_SIGNALS:
        if signal.getsignal(signum) != signal.SIG_IGN:
            previous[signum] = signal.signal(signum, stop)
    return previous


def die_with_parent() -> None:
    """A spawned worker never outlives its parent: SIGTERM when the parent dies (Linux's PR_SET_PDEATHSIG),
    and should that find it already ending and deaf to signals, a watchdog that exits after ORPHAN_GRACE."""
    import ctypes
    import os
    import threading
    import time

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    parent = int(os.environ.get("SWEEP_PARENT_PID") or os.getppid())
    if os.getppid() != parent:  # the parent died before the line above
        raise Terminated(signal.SIGTERM)

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        time.sleep(ORPHAN_GRACE)
        os._exit(128 + signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()
