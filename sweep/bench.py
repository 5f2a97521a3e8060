"""`python -m sweep bench`: the seed's training loop against this project's paths, side by side.

Every path trains on the same images on the same device for the same number of steps (after a
warm-up), and reports per-trial throughput, seconds per epoch per trial, the ratio to the seed's
loop and peak memory. The seed's loop is reproduced as it was: a torchvision-style dataset that
makes a PIL image per item and applies ToTensor + Normalize, a DataLoader with two workers,
`.to(device)` per batch and `.item()` every step.
"""

from __future__ import annotations

import platform
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import Cifar
from .protocol import Protocol
from .train import train

EPOCH_IMAGES = 50_000


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


def seed_loop(data: Cifar, device: torch.device, steps: int, warmup: int = 5) -> float:
    """Seconds for `steps` steps of the seed's loop, after `warmup` steps."""
    torch.manual_seed(0)
    model = SeedCNN().to(device)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(SeedDataset(data.train_x, data.train_y), batch_size=128, shuffle=True,
                                         num_workers=2)
    running_loss, correct, total, t0 = 0.0, 0, 0, None
    for i, (inputs, labels) in enumerate(loader):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        if i == warmup + steps:
            break
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
    _sync(device)
    return time.perf_counter() - t0


def project_path(data: Cifar, device: torch.device, k: int, steps: int, precision: str = "fp32") -> float:
    """Seconds of training (evaluation excluded) for `steps` steps of K trials trained together."""
    n = steps * 128
    sub = replace(data, train_x=data.train_x[:n], train_y=data.train_y[:n], test_x=data.test_x[:500],
                  test_y=data.test_y[:500])
    protocols = [Protocol(epochs=1, seed=s, label_smoothing=0.1, precision=precision, train_eval_size=500)
                 for s in range(k)]
    warm = replace(sub, train_x=sub.train_x[:5 * 128], train_y=sub.train_y[:5 * 128])
    train(protocols, warm, device)
    return train(protocols, sub, device)[0][0]["epoch_seconds"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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


def run_bench(data: Cifar, device: torch.device, steps: int | None, ks: list[int], out: Path,
              load_seconds: float = float("nan"), precisions=("fp32",)) -> list[dict]:
    steps = steps or -(-len(data.train_y) // 128)
    steps = min(steps, len(data.train_y) // 128 - 6)
    rows = []

    def record(name, k, seconds):
        per_trial = steps * 128 / seconds  # images per second seen by each trial
        rows.append({"path": name, "K": k, "img_s_per_trial": per_trial, "img_s_total": per_trial * k,
                     "s_per_epoch_per_trial": EPOCH_IMAGES / per_trial / k, "peak_mib": _peak_mib(device)})
        r = rows[-1]
        print(f"{name:<28} K={k:<3} {r['img_s_total']:>9.0f} img/s total  {r['s_per_epoch_per_trial']:>8.2f} s/epoch/trial"
              f"  peak {r['peak_mib']:.0f} MiB", flush=True)

    _reset_peak(device)
    record("seed loop (DataLoader, PIL)", 1, seed_loop(data, device, steps))
    for precision in precisions:
        for k in [1, *[k for k in ks if k > 1]]:
            _reset_peak(device)
            name = ("one trial" if k == 1 else "batched (vmap)") + f", {precision}"
            record(name, k, project_path(data.to(device), device, k, steps, precision))
    base = rows[0]["s_per_epoch_per_trial"]
    for r in rows:
        r["speedup"] = base / r["s_per_epoch_per_trial"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(rows, device, steps, data, load_seconds))
    print(f"speed-up of the best path over the seed's loop: {max(r['speedup'] for r in rows):.2f}x; written to {out}")
    return rows


def render(rows, device, steps, data: Cifar, load_seconds: float) -> str:
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    lines = ["# Benchmark: the seed's training loop against this project's paths", "",
             f"- machine: {platform.node() or '?'} ({platform.machine()}, {platform.processor() or platform.system()}); "
             f"device: {device} ({dev}); torch {torch.__version__}",
             f"- data: {data.source} ({len(data.train_y)} training images), decoded-tensor cache loaded in "
             f"{load_seconds:.2f} s",
             f"- {steps} timed steps of batch 128 per path after warm-up; evaluation excluded; "
             "seconds per epoch are for 50,000 images, per trial (total time / K)", "",
             "| path | K | img/s (all trials) | s/epoch per trial | vs seed loop | peak memory (MiB) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['path']} | {r['K']} | {r['img_s_total']:.0f} | {r['s_per_epoch_per_trial']:.2f} | "
                     f"{r['speedup']:.2f}x | {r['peak_mib']:.0f} |")
    mem = "torch.cuda.max_memory_allocated" if device.type == "cuda" else "process peak RSS (VmHWM, reset per path)"
    lines += ["", f"Peak memory: {mem}.", ""]
    return "\n".join(lines)
