"""`python -m sweep ARGS...` that dies at once (os._exit, as a SIGKILL would) right after the n-th call to one
of Optuna's public trial setters has committed: a death in the gap between two of them.

    python -m tests.killed_run N TRACE ARGS...

Every call, as it returns, is appended to TRACE ("setter key"); N = 0 never dies (a run that shows the calls).
"""

import os
import sys
import threading

from optuna.storages import RDBStorage

from tests.conftest import sweep_main as main

SETTERS = ("set_trial_intermediate_value", "set_trial_user_attr", "set_trial_state_values")


def dying_after(n: int, trace: str) -> None:
    calls, lock = [0], threading.Lock()  # the records are written from a worker's writer thread

    def wrap(name):
        real = getattr(RDBStorage, name)

        def setter(self, trial_id, *args, **kwargs):
            out = real(self, trial_id, *args, **kwargs)
            with lock:
                calls[0] += 1
                with open(trace, "a") as f:
                    f.write(f"{name} {args[0] if name != 'set_trial_state_values' else args[0].name}\n")
                if calls[0] == n:
                    os._exit(9)
            return out

        return setter

    for name in SETTERS:
        setattr(RDBStorage, name, wrap(name))


if __name__ == "__main__":
    dying_after(int(sys.argv[1]), sys.argv[2])
    sys.exit(main(sys.argv[3:]))
