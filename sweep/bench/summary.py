"""`SWEEP_TIMINGS`: the phases of a run wrapped at start-up, and the summary of the file it writes.

    SWEEP_TIMINGS=run.json python -m sweep run ...      # records, in the process that trains
    python -m sweep.bench.summary run.json --title "bf16"   # prints the summary's sections

The recorder itself (`sweep.training.timings`) is what training and the worker call.
"""

from __future__ import annotations

import argparse
import atexit
import json
import sys
import time
from pathlib import Path


# ---------------------------------------------------------------- the process's phases

def install(argv: list[str]) -> None:
    """Called by `python -m sweep` when SWEEP_TIMINGS is set: imports what a run imports (the import phase),
    starts CUDA on its own (the CUDA start phase), wraps the phases that `sweep run` goes through, and writes
    the file at exit."""
    from ..training.timings import active, process_age

    recorder = active()
    if recorder is None:
        return
    import optuna  # noqa: F401
    import torch

    from .. import launch, report, worker  # noqa: F401
    from ..study import storage
    from ..training import data, train  # noqa: F401

    recorder.notes["import_s"] = process_age()
    device = argv[argv.index("--device") + 1] if "--device" in argv[:-1] else "auto"
    if device != "cpu" and torch.cuda.is_available():
        t0 = time.perf_counter()
        torch.cuda.init()
        torch.empty(1, device=device if device.startswith("cuda") else "cuda")
        torch.cuda.synchronize()
        recorder.notes["cuda_start_s"] = time.perf_counter() - t0
    wrap(launch, "_load_data", "data load (decode or cache)")
    wrap(storage, "open_storage", "open study")
    wrap(storage, "prepare_study", "open study")
    wrap(data.Cifar, "to", "data to device")
    wrap(report, "write_report", "report")
    wrap(launch, "_finish", "finish (tidy, table, report)")
    atexit.register(recorder.write)


def wrap(owner, name: str, label: str) -> None:
    from ..training.timings import phase

    fn = getattr(owner, name)

    def timed(*args, **kwargs):
        with phase(label):
            return fn(*args, **kwargs)

    setattr(owner, name, timed)


# ---------------------------------------------------------------- the summary

def summary(blob: dict, title: str) -> str:
    """Every section, whatever was recorded: a value missing says why."""
    from .timings_text import sections

    return sections(blob, title)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sweep.bench.summary", description="summarise a SWEEP_TIMINGS file")
    p.add_argument("file")
    p.add_argument("--title", default="")
    args = p.parse_args(argv)
    try:
        blob = json.loads(Path(args.file).read_text())
    except (OSError, ValueError) as e:
        print(f"sweep: no timings in {args.file} ({type(e).__name__}); the run recorded none", file=sys.stderr)
        blob = {}
    print(summary(blob, args.title or Path(args.file).stem))
    return 0


if __name__ == "__main__":
    sys.exit(main())
