import os
import sys

try:
    if os.environ.get("SWEEP_TIMINGS"):  # where the time goes: see sweep/bench/summary.py
        from .bench.summary import install

        install(sys.argv[1:])
    from .cli import main

    sys.exit(main())
except KeyboardInterrupt:
    # Ctrl-C before main() could catch it (while importing torch, say): quiet, like Ctrl-C later;
    # a spawned worker's parent speaks for it.
    sys.exit(130)
