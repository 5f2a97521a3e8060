"""A SWEEP_TIMINGS file as the GPU check's summary sections (see sweep/bench/summary.py).

Every section is always written; a figure that was not recorded says why ("n/a (cpu)" for CUDA events
on a CPU, "not recorded" where the run ended before that phase).
"""

from __future__ import annotations

import statistics

SECTIONS = ("per step", "per epoch", "fixed overhead", "top kernels")
NA_CPU = "n/a (cpu)"
MISSING = "not recorded"

# (label, phase key in the file, what it covers)
OVERHEAD = [
    ("import", None, "process start to torch, Optuna and sweep imported (the report's libraries included)"),
    ("CUDA start", None, "context creation and the first allocation"),
    ("data load", "data load (decode or cache)", "decoded tensors read from the cache (or decoded)"),
    ("open study", "open study", "database opened, tables checked, protocol recorded"),
    ("data to device", "data to device", "images moved, normalised and laid out once per training call"),
    ("first-step autotune", "first step (autotune)", "the first step between two syncs: kernel selection, "
                                                       "lazy initialisation"),
    ("database writes", "database writes", "per-epoch records and final metrics, in the writer thread "
                                           "(overlaps training)"),
    ("database wait", "database wait", "training waiting for the writer at the end of its group"),
    ("checkpoint snapshots", "checkpoint snapshot", "on the training thread: the states copied for the saver"),
    ("checkpoint writes", "checkpoint write", "in the saver thread (overlaps training)"),
    ("checkpoint wait", "checkpoint wait", "training waiting for the saver at the end of its group"),
    ("report", "report", "plots, tables and README of the report"),
    ("finish", "finish (tidy, table, report)", "tidy, the per-ε table and the report"),
]


def _ms(values: list[float]) -> str:
    if not values:
        return MISSING
    q = statistics.quantiles(values, n=10) if len(values) > 1 else [values[0]] * 9
    return (f"median {statistics.median(values):.3f} ms (p10 {q[0]:.3f}, p90 {q[-1]:.3f}; {len(values)} steps, "
            f"sum {sum(values) / 1e3:.2f} s)")


def _s(value) -> str:
    return MISSING if value is None else f"{value:8.2f} s"


def steady(steps: list[dict]) -> list[dict]:
    """Steps that stand for the run: not the first (autotune), not in the profiler's window, past the first
    epoch where there is more than one; whatever there is otherwise."""
    for pick in (lambda s: not s["first"] and not s["profiled"] and s["epoch"] > 0,
                 lambda s: not s["first"] and not s["profiled"], lambda s: not s["first"], lambda s: True):
        chosen = [s for s in steps if pick(s)]
        if chosen:
            return chosen
    return []


def sections(blob: dict, title: str) -> str:
    notes, phases, counts = blob.get("notes", {}), blob.get("phases", {}), blob.get("counts", {})
    steps, epochs = blob.get("steps", []), blob.get("epochs", [])
    cpu = notes.get("device", "cpu") == "cpu" if notes else True
    lines = [f"== where the time goes: {title} =="]

    lines.append("-- per step --")
    chosen = steady(steps)
    gpu = [s["gpu_ms"] for s in chosen if s.get("gpu_ms") is not None]
    lines.append(f"  steps: {len(steps)} timed, {len(chosen)} in the figures below "
                 f"(K = {notes.get('trials_together', '?')} trials at once, {notes.get('device', '?')}, "
                 f"{notes.get('precision', '?')})")
    lines.append(f"  GPU time per step (CUDA events): {NA_CPU if cpu else _ms(gpu)}")
    lines.append(f"  host wall time per step (issuing; on a CPU the whole step): "
                 f"{_ms([s['wall_ms'] for s in chosen])}")
    lines.append(f"  CPU time per step (training thread): {_ms([s['cpu_ms'] for s in chosen])}")

    lines.append("-- per epoch --")
    if epochs:
        rest = epochs[1:] or epochs
        lines.append(f"  epochs: {len(epochs)}; first: train {epochs[0]['train_s']:.2f} s + eval "
                     f"{epochs[0]['eval_s']:.2f} s; median of the rest: train "
                     f"{statistics.median(e['train_s'] for e in rest):.2f} s + eval "
                     f"{statistics.median(e['eval_s'] for e in rest):.2f} s")
        window = notes.get("profile_window")
        if window:
            lines.append(f"  epoch {window['epoch']} carries the profiler's overhead ({window['steps']} steps)")
    else:
        lines.append(f"  {MISSING}")

    lines.append("-- fixed overhead --")
    for label, key, what in OVERHEAD:
        if label == "import":
            value = _s(notes.get("import_s"))
        elif label == "CUDA start":
            value = NA_CPU if cpu else _s(notes.get("cuda_start_s"))
        elif key in phases or not epochs:
            value = _s(phases.get(key))
        else:  # the run trained, and this never happened (no checkpoint in a one-epoch run, say)
            value = f"{0:8.2f} s (none)"
        n = counts.get(key) if key else None
        times = f" ({n}x)" if n and n > 1 else ""
        lines.append(f"  {label:<21} {value}{times}  {what}")
    if "checkpoints skipped" in counts or "checkpoint write" in counts:
        lines.append(f"  checkpoints: {counts.get('checkpoint write', 0)} written, "
                     f"{counts.get('checkpoints skipped', 0)} skipped (they would land after the run's end)")
    total = notes.get("total_s")
    trained = sum(e["train_s"] + e["eval_s"] for e in epochs)
    if total is not None:
        lines.append(f"  {'total wall':<21} {_s(total)}  of which training and evaluation {trained:.2f} s, "
                     f"the rest {total - trained:.2f} s")
    else:
        lines.append(f"  {'total wall':<21} {MISSING}")

    kernels = blob.get("kernels")
    lines.append("-- top kernels --")
    if kernels:
        where = "self time on the GPU" if kernels["device"] == "cuda" else "self CPU time (no GPU: operators)"
        lines.append(f"  torch.profiler, {kernels['steps']} steps of epoch {kernels['epoch']}, by {where}; "
                     f"{kernels['total_ms']:.1f} ms in all")
        lines.append(f"  {'ms':>9} {'%':>5} {'calls':>6}  name")
        for r in kernels["rows"]:
            lines.append(f"  {r['self_ms']:9.2f} {r['pct']:5.1f} {r['calls']:6d}  {r['name'][:100]}")
    else:
        lines.append(f"  {MISSING}")
    return "\n".join(lines)
