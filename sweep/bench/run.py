"""`python -m sweep bench`: the seed's training loop against this project's paths, side by side.

Every path trains on the same images on the same device. The paths take turns: each round runs a
block of `steps` steps of every path, so that a busy neighbour or a change of clock slows all of
them alike, and the table reports the median block. Warm-up is excluded. The seed's loop is
reproduced as it was: a torchvision-style dataset that makes a PIL image per item and applies
ToTensor + Normalize, a DataLoader with two workers (one iterator across blocks, a new one each
epoch; its workers keep prefetching between blocks, which if anything favours the seed's loop),
`.to(device)` per batch, `.item()` every step, and its evaluation loop (batch 100).

Each path's achieved GFLOP/s (from its images per second and the network's training FLOPs per
image) is set against a large matmul timed in the same rounds, as the device's practical peak.

    python -m sweep bench --data-dir ~/cifar10 --device cpu --steps 20 --rounds 2 --ks 2
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .peak import Peak
from .report import EPOCH_IMAGES, PEAK_CALLS, PEAK_WARMUP, MeasuredRows, render, train_flops_per_image
from ..training.data import Cifar
from ..protocol import Protocol
from ..training.runtime import cpu_cores, keep_freed_memory
from ..training.train import Stack, evaluate, prepared, sync, train, train_eval_indices

SEED_WARMUP = 3  # steps per block before the clock starts

class SeedCNN(nn.Module):
    """The seed's module as written: conv -> ReLU -> pool, NCHW."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1, self.fc2 = nn.Linear(64 * 8 * 8, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc2(F.relu(self.fc1(x.view(-1, 64 * 8 * 8))))


class SeedDataset(torch.utils.data.Dataset):
    """torchvision.datasets.CIFAR10's __getitem__: a PIL image per item, then the transform."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        import torchvision.transforms as T

        self.x, self.y = x.permute(0, 2, 3, 1).numpy(), y.tolist()
        self.transform = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.x[i])), self.y[i]


def seed_loop(data: Cifar, device: torch.device) -> Callable[[int], float]:
    """A block of the seed's training loop: `block(steps)` returns the seconds of `steps` steps."""
    torch.manual_seed(0)
    model = SeedCNN().to(device)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(SeedDataset(data.train_x, data.train_y), batch_size=128, shuffle=True,
                                         num_workers=2)

    batches = iter(())

    def next_batch():
        nonlocal batches
        try:
            return next(batches)
        except StopIteration:  # a new epoch: reshuffled, as in the seed's loop
            batches = iter(loader)
            return next(batches)

    def block(steps: int) -> float:
        running_loss, correct, total, t0 = 0.0, 0, 0, None
        for i in range(SEED_WARMUP + steps):
            if i == SEED_WARMUP:
                sync(device)
                t0 = time.perf_counter()
            inputs, labels = next_batch()
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            _, predicted = outputs.max(1)
            total += labels.size(0)
            correct += predicted.eq(labels).sum().item()
        sync(device)
        return time.perf_counter() - t0

    return block


def seed_eval(data: Cifar, device: torch.device) -> float:
    """Seconds of the seed's evaluation loop over the 10,000 test images (batch 100)."""
    model = SeedCNN().to(device)
    loader = torch.utils.data.DataLoader(SeedDataset(data.test_x, data.test_y), batch_size=100, shuffle=False,
                                         num_workers=2)
    t0 = time.perf_counter()
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            _, predicted = model(inputs).max(1)
            total += labels.size(0)
            correct += predicted.eq(labels).sum().item()
    sync(device)
    return time.perf_counter() - t0


def project_path(data: Cifar, device: torch.device, k: int, precision: str = "fp32",
                 engine: str = "grouped", compile: bool = False) -> Callable[[int], float]:
    """A block of `train` for K trials at once (evaluation excluded); `block(steps)` returns seconds."""
    protocols = [Protocol(epochs=1, seed=s, label_smoothing=0.1, precision=precision, train_eval_size=256)
                 for s in range(k)]
    g = torch.Generator().manual_seed(0)

    def block(steps: int) -> float:
        sub = _sample(data, steps * 128, g, test=256)
        return train(protocols, sub, device, engine=engine, compile=compile)[0][0]["epoch_seconds"]

    return block


def process_path(data: Cifar, workers: int) -> tuple[Callable[[int], float], Callable[[], float], Callable[[], None]]:
    """`workers` single-threaded processes on the CPU, one trial each, trained at the same time.

    Returns (block, peak, close); `block(steps)` is the wall time, seen from here, for every
    worker's `steps` steps (each worker also receives its images, builds its model and scores a
    few images in that time, so this slightly overstates); `peak()` is the workers' summed peak RSS
    in the last block.
    """
    ctx = torch.multiprocessing.get_context("spawn")
    jobs, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(jobs, results), daemon=True) for _ in range(workers)]
    for p in procs:
        p.start()
    g = torch.Generator().manual_seed(0)
    peaks: list[float] = []

    def block(steps: int) -> float:
        subs = [_sample(data, steps * 128, g, test=64) for _ in range(workers)]
        t0 = time.perf_counter()
        for w, sub in enumerate(subs):
            jobs.put((w, sub))
        peaks[:] = [results.get() for _ in range(workers)]
        return time.perf_counter() - t0

    def close() -> None:
        for _ in procs:
            jobs.put(None)
        for p in procs:
            p.join()

    return block, lambda: sum(peaks), close


def _sample(data: Cifar, n: int, g: torch.Generator, test: int) -> Cifar:
    """n training images drawn from all of them (as an epoch's batches are), and `test` test images.

    Copies, not views: a view sent to a worker process would move all of `data` into shared
    memory, from under the arrays that the seed loop's dataset reads.
    """
    idx = torch.randperm(len(data.train_y), generator=g)[:n].to(data.train_y.device)
    return replace(data, train_x=data.train_x[idx], train_y=data.train_y[idx], test_x=data.test_x[:test].clone(),
                   test_y=data.test_y[:test].clone())


def _process_worker(jobs, results) -> None:
    keep_freed_memory()
    torch.set_num_threads(1)
    while (job := jobs.get()) is not None:
        seed, sub = job
        _reset_peak(torch.device("cpu"))
        train([Protocol(epochs=1, seed=seed, label_smoothing=0.1, train_eval_size=64)], sub, "cpu")
        results.put(_peak_mib(torch.device("cpu")))


def project_eval(data: Cifar, device: torch.device) -> float:
    """Seconds of one trial's per-epoch evaluation: the training sample and the test images, with ECE."""
    p = Protocol()
    stack = Stack([0], device)
    eps = torch.tensor([0.1], device=device)
    idx = train_eval_indices(len(data.train_y), p.train_eval_size, device)
    t0 = time.perf_counter()
    evaluate(stack, prepared(data.train_x[idx], torch.float32), data.train_y[idx], eps, p.ece_bins)
    evaluate(stack, prepared(data.test_x, torch.float32), data.test_y, eps, p.ece_bins)
    sync(device)
    return time.perf_counter() - t0


@dataclass
class Bench:
    name: str
    k: int
    block: Callable[[int], float]
    seconds: list[float]
    peak_mib: float = 0.0
    peak: Callable[[], float] | None = None  # where the memory is not this process's
    close: Callable[[], None] = lambda: None
    precision: str = "fp32"
    threads: int = field(default_factory=torch.get_num_threads)  # CPU threads, over all its processes
    warmup_s: float = 0.0  # the warm-up block: kernel selection, and for a compiled path its compilation


def peaks_for(benches: list[Bench]) -> dict[tuple[str, int], Peak]:
    """One peak per (precision, threads) that a path runs with."""
    return {(b.precision, b.threads): Peak(b.precision, b.threads) for b in benches}


SEED_PATH = "seed loop (DataLoader, PIL)"


def paths(data: Cifar, on_device: Cifar, device: torch.device, ks: list[int], precisions, engines,
          compile: bool = False, seed: bool = True) -> list[Bench]:
    out = [Bench(SEED_PATH, 1, seed_loop(data, device), [])] if seed else []
    cores = cpu_cores()
    for precision in precisions:
        out.append(Bench(f"one trial, {precision}", 1, project_path(on_device, device, 1, precision), [],
                         precision=precision))
        if compile:
            out.append(Bench(f"one trial, {precision}, compiled", 1,
                             project_path(on_device, device, 1, precision, compile=True), [], precision=precision))
        if device.type == "cpu" and precision == "fp32" and cores > 1:
            block, peak, close = process_path(data, cores)
            out.append(Bench(f"{cores} processes x 1 thread, one trial each, fp32", cores, block, [], peak=peak,
                             close=close, threads=cores))
        for k in (k for k in ks if k > 1):
            for engine in engines:
                out.append(Bench(f"batched ({engine}), {precision}", k,
                                 project_path(on_device, device, k, precision, engine), [], precision=precision))
            if compile and "grouped" in engines:
                out.append(Bench(f"batched (grouped), {precision}, compiled", k,
                                 project_path(on_device, device, k, precision, "grouped", compile=True), [],
                                 precision=precision))
    return out


def run_bench(data: Cifar, device: torch.device, steps: int | None, ks: list[int], out: Path,
              load_seconds: float = float("nan"), precisions=("fp32",), engines=("grouped", "vmap"),
              rounds: int = 3, compile: bool = False, seed: bool = True) -> list[dict]:
    """Time every path in `rounds` interleaved blocks of `steps` steps (None: a whole epoch, once).

    Each block's time is appended to `out` as soon as it is measured, so that a run stopped part way
    leaves what it measured; the full table, with its decisions, replaces the file at the end and keeps
    those rows below it. `seed=False` leaves the seed's loop out (the ratios are then to the first path).
    """
    if steps is None:
        steps, rounds = len(data.train_y) // 128 - SEED_WARMUP, 1
    steps = max(1, min(steps, len(data.train_y) // 128 - SEED_WARMUP))
    on_device = data.to(device)
    log = MeasuredRows(out, device, steps)
    benches = paths(data, on_device, device, ks, precisions, engines, compile, seed)
    peaks = peaks_for(benches)
    for b in benches:
        if b.name == SEED_PATH:  # its warm-up is inside each block
            continue
        t0 = time.perf_counter()
        b.block(min(steps, 3))  # warm-up: oneDNN/cuDNN pick and cache their kernels; torch.compile compiles
        b.warmup_s = time.perf_counter() - t0
        log.add("warm-up", b, b.warmup_s, min(steps, 3))
    for p in peaks.values():
        p.block(device, PEAK_WARMUP, keep=False)
    try:
        for r in range(rounds):
            for b in benches:
                _reset_peak(device)
                b.seconds.append(b.block(steps))
                b.peak_mib = max(b.peak_mib, b.peak() if b.peak else _peak_mib(device))
                log.add(f"round {r + 1}", b, b.seconds[-1], steps)
            for p in peaks.values():  # in the same rounds, so that the same noise hits it
                p.block(device, PEAK_CALLS)
            print(f"round {r + 1}/{rounds}: " + ", ".join(f"{b.seconds[-1]:.2f}" for b in benches) + " s", flush=True)
    finally:
        for b in benches:
            b.close()
    rows = _rows(benches, steps, peaks, device)
    evals = {"seed": seed_eval(data, device) if seed else float("nan"), "project": project_eval(on_device, device)}
    out.write_text(render(rows, evals, device, steps, rounds, data, load_seconds, list(peaks.values()))
                   + "\n" + log.text())
    best = max(rows[1:] or rows, key=lambda r: r["speedup"])
    seed_part = f"seed loop {evals['seed']:.2f} s (10,000 test images), " if seed else ""
    print(f"evaluation per epoch: {seed_part}this project {evals['project']:.2f} s (10,000 training + 10,000 test "
          "images, with calibration)")
    print(f"best path: {best['path']} (K={best['K']}), {best['speedup']:.2f}x {rows[0]['path']} per trial; "
          f"written to {out}")
    return rows


def _rows(benches: list[Bench], steps: int, peaks: dict[tuple[str, int], Peak], device: torch.device) -> list[dict]:
    for p in peaks.values():
        print(f"peak (matmul): {p.label(device)}: {statistics.median(p.gflops):.1f} GFLOP/s", flush=True)
    rows = [_row(b, steps, peaks[b.precision, b.threads]) for b in benches]
    for r in rows:
        r["speedup"] = rows[0]["s_per_epoch_per_trial"] / r["s_per_epoch_per_trial"]
        print(f"{r['path']:<44} K={r['K']:<3} {r['img_s']:>8.0f} img/s (all K)  {r['s_per_epoch_per_trial']:>7.2f} "
              f"s/epoch/trial  {r['speedup']:>6.2f}x  {r['gflops']:>7.1f} GFLOP/s ({r['pct_peak']:.1f} % of peak)  "
              f"peak {r['peak_mib']:.0f} MiB", flush=True)
    return rows


def _row(b: Bench, steps: int, peak: Peak) -> dict:
    images = steps * 128  # per trial
    # Seconds per 50,000 images per trial, as time / K: the K trials' epochs share the block's time.
    per_epoch = [s / images * EPOCH_IMAGES / b.k for s in b.seconds]
    median = statistics.median(per_epoch)
    img_s = EPOCH_IMAGES / median  # all K trials together: K * images / time
    gflops = img_s * train_flops_per_image() / 1e9
    return {"path": b.name, "K": b.k, "img_s": img_s, "s_per_epoch_per_trial": median, "lo": min(per_epoch),
            "hi": max(per_epoch), "peak_mib": b.peak_mib, "gflops": gflops,
            "pct_peak": 100 * gflops / statistics.median(peak.gflops), "warmup_s": b.warmup_s}


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        try:  # Linux: "5" resets the process's peak RSS (VmHWM)
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


