"""`python -m sweep ARGS...`, held at a gate: lets a test start many runs at the same instant.

    python -m tests.gated_run GATE ARGS...

Imports everything first, then says it is ready (GATE.ready.<pid>) and waits for GATE to exist.
"""

import os
import sys
import time
from pathlib import Path

import matplotlib  # noqa: F401  (the slow imports happen before the gate)
import optuna  # noqa: F401
import pandas  # noqa: F401
import torch  # noqa: F401

from tests.conftest import sweep_main as main

gate = Path(sys.argv[1])
Path(f"{gate}.ready.{os.getpid()}").touch()
while not gate.exists():
    time.sleep(0.001)
sys.exit(main(sys.argv[2:]))
