"""Where a run's time goes: phase timings, written as JSON when SWEEP_TIMINGS names a file, and their summary.

    SWEEP_TIMINGS=run.json python -m sweep run ...      # records, in the process that trains
    python -m sweep.bench.summary run.json --title "bf16"     # prints the summary's sections

Recorded: the fixed overhead in phases (import, CUDA start, data load, opening the study, data to the
device, the first step with its kernel autotuning, the per-epoch database writes, checkpoints, the
report), per training step the GPU time from CUDA events, the host's wall time and the training
thread's CPU time, and a `torch.profiler` window of PROFILE_STEPS steps in the second epoch (the first
where there is one epoch) with its top kernels. The window's steps are left out of the per-step
figures, and that epoch is slower by the profiler's overhead. Off (no file named), nothing is recorded
and each hook costs one test per step.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

ENV = "SWEEP_TIMINGS"
PROFILE_STEPS = 20
TOP_KERNELS = 12


class Recorder:
    """A process's timings; `add` is safe from any thread."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.phases: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.notes: dict[str, object] = {}
        self.steps: list[dict] = []  # per step: epoch, gpu_ms (None on CPU), wall_ms, cpu_ms, first, profiled
        self.epochs: list[dict] = []
        self.kernels: dict | None = None

    def add(self, name: str, seconds: float, count: int = 1) -> None:
        with self.lock:
            self.phases[name] = self.phases.get(name, 0.0) + seconds
            self.counts[name] = self.counts.get(name, 0) + count

    def write(self) -> None:
        self.notes.setdefault("total_s", process_age())
        blob = {"phases": self.phases, "counts": self.counts, "notes": self.notes, "steps": self.steps,
                "epochs": self.epochs, "kernels": self.kernels}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(blob, indent=1))


def _from_env() -> Recorder | None:
    name = os.environ.get(ENV)
    if not name:
        return None
    path = Path(name)
    if sys.argv[1:2] == ["worker"]:  # a spawned worker: its own file beside the parent's
        path = path.with_name(f"{path.name}.{os.getpid()}")
    return Recorder(path)


_recorder = _from_env()


def active() -> Recorder | None:
    return _recorder


@contextlib.contextmanager
def phase(name: str):
    if _recorder is None:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _recorder.add(name, time.perf_counter() - t0)


def add(name: str, seconds: float, count: int = 1) -> None:
    if _recorder is not None:
        _recorder.add(name, seconds, count)


def process_age() -> float | None:
    """Seconds since this process started (Linux), so that the import phase includes the interpreter's start."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- per step

def step_probe(device, steps_per_epoch: int, epochs: int, k: int, precision: str) -> "StepProbe | None":
    if _recorder is None:
        return None
    _recorder.notes.update(device=device.type, trials_together=k, precision=precision)
    return StepProbe(_recorder, device, steps_per_epoch, epochs)


class StepProbe:
    """Times each training step of one `train` call: CUDA events around it (read once the epoch has synced),
    host wall and training-thread CPU time; the first step of the process between two syncs (its kernels'
    autotuning); a profiler window in the second epoch of the process's first call."""

    def __init__(self, rec: Recorder, device, steps_per_epoch: int, epochs: int):
        import torch

        self.torch, self.rec, self.cuda = torch, rec, device.type == "cuda"
        self.device, self.epoch, self.step, self.pending = device, 0, 0, []
        first_call = "profile_window" not in rec.notes
        self.window, self.profile_epoch = None, 1 if epochs > 1 else 0
        if first_call:
            n = min(PROFILE_STEPS, steps_per_epoch)
            start = max(0, min(10, steps_per_epoch - n))
            self.window = (start, start + n)
            rec.notes["profile_window"] = {"steps": n, "first_step": start, "epoch": self.profile_epoch + 1}
        self.profiler = None

    def begin(self) -> None:
        self.first = not self.rec.steps and not self.pending
        if self.first:
            self._sync()
        if self.window and self.epoch == self.profile_epoch and self.step == self.window[0]:
            self._start_profiler()
        self.t_wall, self.t_cpu = time.perf_counter(), time.thread_time()
        if self.cuda:
            self.ev0 = self.torch.cuda.Event(enable_timing=True)
            self.ev0.record()

    def end(self) -> None:
        ev1 = None
        if self.cuda:
            ev1 = self.torch.cuda.Event(enable_timing=True)
            ev1.record()
        if self.first:
            self._sync()
        wall, cpu = time.perf_counter() - self.t_wall, time.thread_time() - self.t_cpu
        profiled = self.profiler is not None
        self.pending.append({"epoch": self.epoch, "wall_ms": 1e3 * wall, "cpu_ms": 1e3 * cpu, "first": self.first,
                             "profiled": profiled, "events": (self.ev0, ev1) if self.cuda else None})
        if self.first:
            self.rec.add("first step (autotune)", wall)
        self.step += 1
        if profiled and self.step == self.window[1]:
            self._stop_profiler()

    def epoch_done(self, train_s: float, eval_s: float) -> None:
        """After the epoch's sync: every event has completed."""
        if self.profiler is not None:
            self._stop_profiler()
        for s in self.pending:
            events = s.pop("events")
            s["gpu_ms"] = events[0].elapsed_time(events[1]) if events else None
            self.rec.steps.append(s)
        self.rec.epochs.append({"train_s": train_s, "eval_s": eval_s, "steps": len(self.pending)})
        self.pending, self.step = [], 0
        self.epoch += 1

    def _sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize(self.device)

    def _start_profiler(self) -> None:
        from torch.profiler import ProfilerActivity, profile

        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.cuda else [])
        self.profiler = profile(activities=acts)
        self.profiler.start()
        self.profiled_from = self.step

    def _stop_profiler(self) -> None:
        self._sync()
        self.profiler.stop()
        self.rec.kernels = top_kernels(self.profiler, self.cuda, self.step - self.profiled_from, self.epoch + 1)
        self.profiler, self.window = None, None


def top_kernels(prof, cuda: bool, steps: int, epoch: int) -> dict:
    """The profiler's events with the most self time on the device (GPU kernels and copies), or on a CPU the
    operators with the most self CPU time."""
    rows = []
    for e in prof.key_averages():
        own = (getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0)) if cuda \
            else e.self_cpu_time_total
        if own > 0:
            rows.append({"name": e.key, "calls": e.count, "self_ms": own / 1e3})
    total = sum(r["self_ms"] for r in rows) or 1.0
    rows.sort(key=lambda r: -r["self_ms"])
    for r in rows:
        r["pct"] = 100 * r["self_ms"] / total
    return {"device": "cuda" if cuda else "cpu", "steps": steps, "epoch": epoch, "total_ms": total,
            "rows": rows[:TOP_KERNELS]}
