"""The arithmetic of a run, before anything trains: how many workers, how many cells each holds, how many
trials one trains at once; and the bf16 tip where it was measured to pay."""

from __future__ import annotations

import math

PER_TRIAL_BYTES = 512 * 2**20  # generous GPU memory per batched trial: a 128-image step plus Adam state
MAX_BATCH_TRIALS = 64
MAX_CPU_WORKERS = 8


# ---------------------------------------------------------------- the arithmetic

def plan_workers(choice: int | str, device_type: str, gpus: int, cores: int, open_cells: int) -> int:
    """Worker processes on this machine: as asked, or one per GPU, or one single-threaded one per core."""
    if choice != "auto":
        return choice
    if device_type == "cuda":
        return max(1, min(open_cells, gpus))
    # Small convolutions use one core well and two cores less than twice as well, so on a CPU
    # single-threaded workers, one per core, train more trials per hour: see `python -m sweep bench`.
    return max(1, min(open_cells, cores, MAX_CPU_WORKERS))


def share_of(open_cells: int, workers: int) -> int:
    """The most cells one of `workers` workers should hold at once: an even split, rounded up."""
    return max(1, math.ceil(open_cells / max(1, workers)))


def plan_batch_trials(choice: int | str, device_type: str, share: int, free_bytes: int | None = None,
                      peers: int = 1) -> int:
    """Trials one worker trains at once: as asked, or on a GPU its share of the cells as far as they fit
    in its part of the GPU's free memory (`peers` workers share that GPU)."""
    if choice != "auto":
        return choice
    if device_type == "cuda":
        fit = int((free_bytes or 0) * 0.8 / max(1, peers)) // PER_TRIAL_BYTES
        return max(1, min(share, MAX_BATCH_TRIALS, fit))
    # On CPU a batched step costs each model as much as training it alone (the convolutions
    # are compute-bound) plus the batching, so trials go one by one: see `python -m sweep bench`.
    return 1


# ---------------------------------------------------------------- bf16 where it was measured to pay

# Measured side by side on one machine (`sweep compare` of the two studies); update together when re-measured.
# The speed-up is from the unrounded wall times.
BF16_MEASURED = {
    "machine": "a 2-core AMD EPYC with AVX-512 bf16", "study": "the 20-trial default study",
    "fp32": "32 min 58 s", "bf16": "18 min 4 s", "speedup": 1.83,
    "result": "`sweep compare` found no ε effect on the accuracy gap or validation accuracy that differed from "
              "fp32's (equivalent within ±1 pp at ε = 0.2, inconclusive at 0.05 and 0.1), while calibration moved: "
              "ECE 0.7 pp lower at ε = 0, its effect at ε = 0.1 about 1 pp smaller (reports/compare-fp32-bf16)",
    "report": "reports/compare-fp32-bf16",
}


def bf16_tip(flags, device_type: str, precision: str, chosen: bool) -> str | None:
    """Two lines recommending bf16 where it was measured to pay: a CPU with bf16 units training in fp32 because
    that is the default (the caller shows it for a new study only: a study's math mode is fixed with it). The
    default stays fp32: bf16 moves ECE."""
    from .runtime import has_bf16_units

    if device_type != "cpu" or precision != "fp32" or chosen or not has_bf16_units(flags):
        return None
    m = BF16_MEASURED
    return (f"tip: this CPU has bf16 units: `--precision bf16` (a study of its own) ran {m['study']} "
            f"{m['speedup']:.2f}x faster on {m['machine']}\n"
            f"     (fp32 {m['fp32']}, bf16 {m['bf16']}); no ε effect on the gap differed from fp32's, ECE moved "
            f"({m['report']}); the default stays fp32")
