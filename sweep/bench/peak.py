"""The device's practical peak: a large matmul at a path's precision and CPU threads, timed in the same
rounds as the paths (`run.run_bench`), for each path's share of it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from .report import PEAK_CALL_S, PEAK_PROBE_N, peak_n
from ..training.runtime import math_mode
from ..training.train import sync

DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16}


@dataclass
class Peak:
    """A large matmul at one precision and CPU thread count: the practical peak GFLOP/s to compare with."""

    precision: str
    threads: int
    gflops: list[float] = field(default_factory=list)
    n: int = 0  # the matmul's size, set by `fit` (0: not yet)

    def label(self, device: torch.device) -> str:
        if device.type != "cuda":
            return f"{self.precision}, {self.threads} CPU thread(s)"
        return {"fp32": "fp32 (IEEE)", "tf32": "TF32 tensor cores"}.get(self.precision, self.precision)

    def fit(self, device: torch.device) -> None:
        """The largest size up to `peak_n` whose call stays within PEAK_CALL_S at a small probe's rate.

        A CPU without bf16 units emulates a bf16 matmul at well under 1 GFLOP/s: at full size each call would
        take a minute, the peak's calls far longer than the paths they stand beside.
        """
        self.n = peak_n(device)
        if device.type == "cuda":  # fast at any precision; a small probe would time the launch, not the math
            return
        self.n = min(PEAK_PROBE_N, self.n)
        seconds = self._time(device, 2)[-1]  # the first call warms up
        rate = 2 * self.n**3 / max(seconds, 1e-9)
        while self.n * 2 <= peak_n(device) and 2 * (self.n * 2) ** 3 / rate <= PEAK_CALL_S:
            self.n *= 2

    def block(self, device: torch.device, calls: int, keep: bool = True) -> None:
        """Time `calls` matmuls with this peak's threads (a warm-up when not `keep`)."""
        if not self.n:
            self.fit(device)
        seconds = self._time(device, calls)
        if keep:
            self.gflops += [2 * self.n**3 / s / 1e9 for s in seconds]

    def _time(self, device: torch.device, calls: int) -> list[float]:
        n = self.n
        a, b = (torch.randn(n, n, device=device).to(DTYPES[self.precision]) for _ in range(2))
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        out = []
        try:
            with math_mode(device, self.precision):
                for _ in range(calls):
                    sync(device)
                    t0 = time.perf_counter()
                    torch.mm(a, b)
                    sync(device)
                    out.append(time.perf_counter() - t0)
        finally:
            torch.set_num_threads(before)
        return out
