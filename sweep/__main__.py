import sys

try:
    from .cli import main

    sys.exit(main())
except KeyboardInterrupt:
    # Ctrl-C before main() could catch it (while importing torch, say): quiet, like Ctrl-C later;
    # a spawned worker's parent speaks for it.
    sys.exit(130)
