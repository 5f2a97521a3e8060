"""The ways a command ends early on purpose; `cli.main` turns each into one line and an exit code."""


class UsageError(Exception):
    """A bad input or state the user can fix; the message is one line (exit 2)."""


class Interrupted(Exception):
    """Ctrl-C ended a trial; its cell is retried (from its checkpoint) on the next run (exit 130)."""


class DataError(Exception):
    """Data that cannot be used; the message names the file or folder and fits on one line (exit 2)."""
