"""Process-wide settings that make training fast; they change speed, never results."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import platform
from pathlib import Path

import torch


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@functools.cache  # read once per process, not per trial
def machine_name(device: torch.device) -> str:
    """What trained a trial, for the report: the GPU's name, or the CPU's model, cores and vector ISA."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    info = cpuinfo()
    model, flags = info.get("model name") or platform.processor() or platform.machine(), set(info.get("flags", "").split())
    isa = ("AMX" if "amx_tile" in flags else "AVX-512 with bf16" if "avx512_bf16" in flags else "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags
           else None)
    return f"{model}, {cpu_cores()} cores" + (f", {isa}" if isa else "")


def keep_freed_memory() -> None:
    """Keep freed activation memory in the heap instead of returning it to the OS (glibc).

    A CPU step frees and reallocates ~30 MB of activations; once glibc hands such blocks back to
    the kernel, every step writes to fresh pages and page-faults on them (measured on a 2-core
    machine: up to 13,000 faults and 50 % more time per step). Blocks up to 32 MB now stay in the
    heap.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 2**20)
    libc.mallopt(m_trim_threshold, 2**31 - 1)


def use_fast_kernels(device: torch.device) -> None:
    """cuDNN times its algorithms once per shape (speed only: the math mode is `math_mode`'s)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def resolve_precision(choice: str, device: torch.device) -> str:
    """The protocol's math mode: `auto` is TF32 on a GPU and IEEE fp32 on a CPU, which has no TF32."""
    from ..errors import UsageError

    if choice == "auto":
        return "tf32" if device.type == "cuda" else "fp32"
    if choice == "tf32" and device.type != "cuda":
        raise UsageError("--precision tf32 is a GPU math mode (tensor cores); on a CPU use fp32 or bf16")
    return choice


@contextlib.contextmanager
def math_mode(device: torch.device, precision: str):
    """IEEE fp32 matmuls and convolutions unless the protocol says TF32, for the duration of a training call (then
    restored): the mode is the protocol's, never whatever an earlier caller left set. bf16 autocasts in train."""
    if torch.device(device).type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with bf16 arithmetic units


def cpuinfo(path: str = "/proc/cpuinfo") -> dict[str, str]:
    """The first CPU's fields (model name, flags, ...), read once for the machine's name and its bf16 check;
    empty where there is no such file (not Linux)."""
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip():
                fields.setdefault(key.strip(), value.strip())  # each field's first line: the first CPU's
    return fields


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    return set(cpuinfo(path).get("flags", "").split())


def has_bf16_units(flags) -> bool:
    return any(f in flags for f in BF16_FLAGS)
