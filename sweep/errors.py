"""The ways a command ends early on purpose; `cli.main` turns each into one line and an exit code."""


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
