"""`sweep bench`'s figures and its Markdown: the network's FLOPs, the peak's size, the table, the decisions."""

from __future__ import annotations

import math
import platform
import statistics
from pathlib import Path

import torch

from ..training.data import Cifar
from ..training.runtime import machine_name

# The fixed CNN's convolutions and linear layers, per image: (multiply-adds, whether the backward pass
# computes the layer's input gradient). conv1 reads the images, which need no gradient.
LAYERS = {
    "conv1": (32 * 32 * 32 * 3 * 9, False),  # 3x3, 3 -> 32 channels at 32x32
    "conv2": (16 * 16 * 64 * 32 * 9, True),  # 3x3, 32 -> 64 channels at 16x16 (after the first pool)
    "fc1": (64 * 8 * 8 * 128, True),
    "fc2": (128 * 10, True),
}
PEAK_SIZE = {"cuda": 4096, "cpu": 2048}  # n of the n x n matmul that stands for the device's peak
PEAK_WARMUP, PEAK_CALLS = 2, 3  # matmul calls before the rounds; timed calls in each round
# On a CPU the size doubles from a 256 probe, up to PEAK_SIZE, while a call's estimated time stays within this
# many seconds (a CPU without bf16 units would take a minute per call at full size).
PEAK_PROBE_N, PEAK_CALL_S = 256, 1.0
EPOCH_IMAGES = 50_000


def train_flops_per_image(layers: dict[str, tuple[int, bool]] = LAYERS) -> int:
    """Training FLOPs per image in the convolutions and linear layers.

    2 FLOPs per multiply-add; the forward pass once, the backward pass once for the weight gradient
    and once more for the input gradient where there is one (so about 3x the forward pass).
    Biases, ReLU, pooling, the loss and Adam are elementwise and not counted.
    """
    return sum(2 * macs * (3 if input_grad else 2) for macs, input_grad in layers.values())


def peak_n(device: torch.device) -> int:
    return PEAK_SIZE["cuda" if device.type == "cuda" else "cpu"]


def decisions(rows: list[dict]) -> list[str]:
    """What the figures support, each from paths timed side by side in the same rounds."""
    by = {(r["path"], r["K"]): r for r in rows}
    out = []
    for (path, k), r in by.items():
        if path.endswith(", compiled") and (eager := by.get((path.removesuffix(", compiled"), k))):
            ratio = eager["s_per_epoch_per_trial"] / r["s_per_epoch_per_trial"]
            faster = "compiled" if ratio > 1 else "eager"
            out.append(f"- torch.compile, {eager['path']}, K = {k}: eager {eager['s_per_epoch_per_trial']:.3g} vs "
                       f"compiled {r['s_per_epoch_per_trial']:.3g} s/epoch per trial: {faster} is "
                       f"{max(ratio, 1 / ratio):.2f}x faster (compilation took {r['warmup_s']:.0f} s once per "
                       "process and batch shape)")
    ones = [r for r in rows if r["K"] == 1 and r["path"].startswith("one trial, ") and "compiled" not in r["path"]]
    if len(ones) > 1:
        best = min(ones, key=lambda r: r["s_per_epoch_per_trial"])
        out.append("- math mode, one trial: " + ", ".join(f"{r['path'].split(', ')[1]} {r['s_per_epoch_per_trial']:.3g}"
                                                          for r in ones)
                   + f" s/epoch; fastest: {best['path'].split(', ')[1]}")
    for prec in sorted({r["path"].split(", ")[-1] for r in rows if r["path"].startswith("batched (grouped), ")
                        and "compiled" not in r["path"]}):
        curve = sorted(((r["K"], r["s_per_epoch_per_trial"]) for r in rows
                        if r["path"] in (f"batched (grouped), {prec}", f"one trial, {prec}")), key=lambda x: x[0])
        if len(curve) > 1:
            best = min(t for _, t in curve)
            knee = next(k for k, t in curve if t <= 1.1 * best)
            out.append(f"- trials at once ({prec}, grouped): " + ", ".join(f"K = {k}: {t:.3g}" for k, t in curve)
                       + f" s/epoch per trial; within 10 % of the best from K = {knee}")
    return ["## Decisions these figures support", "", *out, ""] if out else []


def render(rows, evals, device, steps, rounds, data: Cifar, load_seconds: float, peaks: list) -> str:
    from ..report.paths import portable_paths

    threads = "" if device.type == "cuda" else f", {torch.get_num_threads()} threads"
    lines = ["# Benchmark: the seed's training loop against this project's paths", "",
             f"- machine: {machine_name(device)} ({platform.machine()}); device: {device}{threads}; "
             f"torch {torch.__version__}",
             f"- data: {portable_paths(data.source, Path.cwd())} (fingerprint {data.fingerprint}; "
             f"{len(data.train_y)} training images), decoded-tensor cache loaded in {load_seconds:.2f} s",
             f"- {rounds} round(s); each round runs {steps} steps of batch 128 of every path in turn, after warm-up; "
             "the table gives the median round (and the range); seconds per epoch are for 50,000 images, per "
             "trial (time / K); evaluation excluded"]
    lines += [f"- peak (matmul): {p.label(device)}: {statistics.median(p.gflops):.1f} GFLOP/s "
              f"({min(p.gflops):.1f}–{max(p.gflops):.1f}; {p.n}x{p.n})" for p in peaks]
    return "\n".join(lines + [""] + _table(rows) + [""] + decisions(rows) + _notes(rows, evals, device, peaks))


def _table(rows: list[dict]) -> list[str]:
    base = "seed loop" if rows[0]["path"].startswith("seed loop") else rows[0]["path"]
    lines = [f"| path | K | img/s, all K trials | s/epoch per trial (range) | vs {base} | GFLOP/s | % of peak "
             "| peak memory (MiB) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, lo, hi = (_fixed(r[key], 2, 3) for key in ("s_per_epoch_per_trial", "lo", "hi"))
        lines.append(f"| {r['path']} | {r['K']} | {_fixed(r['img_s'], 0, 3)} | {s} ({lo}–{hi}) | {r['speedup']:.2f}x "
                     f"| {_fixed(r['gflops'], 1, 3)} | {_fixed(r['pct_peak'], 1, 2)} | {r['peak_mib']:.0f} |")
    return lines


def _fixed(x: float, places: int, digits: int) -> str:
    """x with `places` decimals, or more where it needs them to keep `digits` significant digits.

    A GPU epoch can take a fraction of a second and a path a fraction of a percent of the peak.
    """
    lead = math.floor(math.log10(abs(x))) if x and math.isfinite(x) else 0
    return f"{x:.{max(places, digits - 1 - lead)}f}"


def _notes(rows, evals, device, peaks: list) -> list[str]:
    seeded = rows[0]["path"].startswith("seed loop")
    one = next((r for r in rows if r["K"] == 1 and not r["path"].startswith("seed loop")), None)
    if seeded and one is not None:
        seed_epoch = rows[0]["s_per_epoch_per_trial"] + evals["seed"]
        own_epoch = one["s_per_epoch_per_trial"] + evals["project"]
        whole = (f"The seed's loop scores the 10,000 test images in {evals['seed']:.2f} s; this project scores "
                 f"10,000 training and 10,000 test images, with calibration bins, in {evals['project']:.2f} s. A whole "
                 f"epoch with its evaluation: seed loop {seed_epoch:.1f} s, {one['path']} {own_epoch:.1f} s "
                 f"({seed_epoch / own_epoch:.2f}x).")
    else:
        whole = (f"This project scores 10,000 training and 10,000 test images, with calibration bins, in "
                 f"{evals['project']:.2f} s (the seed's loop was not timed).")
    forward = sum(macs for macs, _ in LAYERS.values())
    n = peak_n(device)
    mem = ("torch.cuda.max_memory_allocated" if device.type == "cuda"
           else "peak RSS (VmHWM, reset per block) of this process, or the sum over the worker processes "
                "of the multi-process path; the seed loader's worker processes not included")
    return ["",
            "img/s, all K trials: the images the K trials train on together per second, 50,000 / (s/epoch per "
            "trial); each trial on its own advances at 1/K of that, so one trial's epoch, when K train together, "
            "takes K x s/epoch per trial.", "",
            f"GFLOP/s: img/s x {train_flops_per_image():,} training FLOPs per image, counted from the architecture "
            f"in its convolutions and linear layers at 2 FLOPs per multiply-add: forward {forward:,} multiply-adds "
            f"({2 * forward / 1e6:.2f} MFLOP); backward twice the forward (weight and input gradients) except that "
            "conv1 computes no input gradient (the images need none), which is left out; biases, ReLU, pooling, "
            "the loss and Adam not counted. The time includes whatever else a path does (the seed loop's data "
            "loading, the worker processes' set-up), so this is the rate each path achieves end to end.", "",
            f"% of peak: GFLOP/s over the peak (matmul): {n}x{n} matmuls in the path's math mode"
            + ("" if device.type == "cuda" else f" (smaller where a call at that size would take over "
                                               f"{PEAK_CALL_S:g} s: the size is in each peak's line)")
            + f", {PEAK_WARMUP} warm-up calls, then {PEAK_CALLS} timed calls in each round after the paths; the "
            "median call, with the range. On a CPU the matmul runs on the path's threads: this process's, or for "
            "the multi-process path one thread per worker process, all in one process.", "",
            f"Peak memory: {mem}.", "",
            "Evaluation, once per epoch (measured once): " + whole, ""]


class MeasuredRows:
    """Each block's time, appended to the output file the moment it is measured."""

    HEAD = ["## Rows as measured", "",
            "Each block as it was timed (warm-up blocks include kernel selection, and for a compiled path its "
            "compilation); the full table, written once every round is done, gives each path's median round.", "",
            "| when | path | K | steps | seconds | s/epoch per trial |", "|---|---|---|---|---|---|"]

    def __init__(self, out: Path, device: torch.device, steps: int):
        self.out, self.lines = out, list(self.HEAD)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"# Benchmark in progress on {device} ({steps} steps per block)\n\n" + "\n".join(self.HEAD)
                       + "\n")

    def add(self, when: str, b, seconds: float, steps: int) -> None:
        per_epoch = seconds / (steps * 128) * EPOCH_IMAGES / b.k
        line = f"| {when} | {b.name} | {b.k} | {steps} | {seconds:.4f} | {per_epoch:.4g} |"
        self.lines.append(line)
        with open(self.out, "a") as f:
            f.write(line + "\n")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
