"""Per-epoch checkpoints of running trials: a retried cell resumes from its last checkpoint (`worth_saving`
says which epochs get one)."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch


@dataclass
class Checkpoint:
    """Everything needed to continue a trial after `epoch` finished epochs, on any device."""

    epoch: int
    model: dict  # SimpleCNN state_dict
    adam: dict  # {"step": float, "exp_avg": {name: tensor}, "exp_avg_sq": {name: tensor}}
    shuffle_rng: torch.Tensor  # torch.Generator state for the next epoch's permutation
    history: list  # per-epoch metrics so far

    def as_dict(self) -> dict:
        return self.__dict__.copy()


class Snapshot:
    """Every trial's weights, Adam moments and step, shuffle state and history after an epoch, taken in one copy.

    Taken on the training thread: one concatenation on the device (a copy, since the next epoch changes
    the weights in place), then, from a GPU, one asynchronous copy into pinned host memory, so that the
    next epoch starts at once. `trial(k)`, from any thread and later, waits for that copy and builds trial
    k's Checkpoint from its own row (a clone: saving one trial never writes the others' values).
    """

    def __init__(self, opt: torch.optim.Adam, stack, gens, histories: list[list[dict]]):
        names = list(stack.params)
        states = [opt.state.get(p, {}) for p in stack.params.values()]
        self.kinds = [("model", dict(stack.params))]
        if all(states):
            self.kinds += [(key, {n: st[key] for n, st in zip(names, states)}) for key in ("exp_avg", "exp_avg_sq")]
        parts = [t.detach().reshape(stack.k, -1) for _, group in self.kinds for t in group.values()]
        if all(states):  # the step rides in the same copy: reading it alone would be a sync of its own
            parts.append(states[0]["step"].detach().to(parts[0].device, parts[0].dtype).expand(stack.k, 1))
        block = torch.cat(parts, dim=1)
        self.ready = None
        if block.is_cuda:
            self.block = torch.empty(block.shape, dtype=block.dtype, pin_memory=True)
            self.block.copy_(block, non_blocking=True)
            self.ready = torch.cuda.Event()
            self.ready.record()
        else:
            self.block = block
        self.has_step = all(states)
        self.shapes = [(kind, [(n, t.shape[1:]) for n, t in group.items()]) for kind, group in self.kinds]
        self.rngs = [g.get_state() for g in gens]
        self.histories = [list(h) for h in histories]

    def trial(self, k: int) -> Checkpoint:
        if self.ready is not None:
            self.ready.synchronize()
        width = self.block.shape[1] - self.has_step  # the step's column is read on its own
        row, at, out = self.block[k, :width].clone(), 0, {}
        for kind, shapes in self.shapes:
            out[kind] = {}
            for name, shape in shapes:
                size = shape.numel()
                out[kind][name] = row[at:at + size].view(shape)
                at += size
        step = float(self.block[k, -1]) if self.has_step else 0.0
        adam = {"step": step, "exp_avg": out.get("exp_avg", {}), "exp_avg_sq": out.get("exp_avg_sq", {})}
        return Checkpoint(epoch=len(self.histories[k]), model=out["model"], adam=adam, shuffle_rng=self.rngs[k],
                          history=self.histories[k])


class Checkpoints:
    """What `on_epoch` gets: `take()` snapshots every trial now (see Snapshot); calling it with k builds trial
    k's Checkpoint at once, from one snapshot per epoch."""

    def __init__(self, take: Callable[[], Snapshot]):
        self.take, self._epoch, self._snap = take, None, None

    def __call__(self, k: int) -> Checkpoint:
        snap = self._snap
        if snap is None or self._epoch != self.epoch:
            snap = self._snap = self.take()
            self._epoch = self.epoch
        return snap.trial(k)

    epoch = 0  # set by train before each on_epoch



def worth_saving(epochs_left: int, epoch_seconds: float, save_seconds: float) -> bool:
    """Whether to checkpoint after an epoch: only if the checkpoint can pay off.

    A checkpoint saves time only on a retry, and only once it is on disk. So after epoch e of E it is
    written when the epochs left, at the last epoch's pace, take longer than writing it (with the
    checkpoints still queued before it): (E - e) x epoch seconds > save seconds. One that would land
    after the run has finished could never be resumed from, and is skipped; none is written after
    the last epoch. A retry then redoes at most the epochs since the last checkpoint written, which
    took no longer than writing one more would have.
    """
    return epochs_left > 0 and epochs_left * epoch_seconds > save_seconds


def checkpoint_path(folder: Path, cell: str) -> Path:
    """The checkpoint of the cell whose key is `cell` (e.g. "eps=0.1/seed=3")."""
    return folder / (re.sub(r"[^A-Za-z0-9.=_-]+", "_", cell) + ".pt")


def remove_checkpoints(folder: Path, cells) -> int:
    """Remove the checkpoints of finished cells (by key) found in `folder`; returns how many went. Best effort: a
    file that cannot be removed stays, and is tried again at the next tidy."""
    gone = 0
    for cell in cells:
        path = checkpoint_path(folder, cell)
        with contextlib.suppress(OSError):
            if path.exists():
                path.unlink()
                gone += 1
    return gone


def checkpoint_key(study_name: str, study_protocol: dict | None, eps: float, seed: int) -> dict:
    """What a checkpoint must match to be resumed: the study, its protocol and the cell."""
    return {"study": study_name, "protocol": study_protocol, "eps": eps, "seed": seed}


def save_checkpoint(path: Path, ckpt: Checkpoint, key: dict) -> bool:
    """Written to a temporary file and renamed: a kill mid-write leaves the previous checkpoint.

    A checkpoint only saves time on a retry, so a write that fails (a full or read-only disk) removes its
    temporary file and returns False; training goes on without it.
    """
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"key": key, "checkpoint": ckpt.as_dict()}, tmp)  # RuntimeError, not OSError, on a full disk
        os.replace(tmp, path)
        return True
    except (OSError, RuntimeError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return False


def load_checkpoint(path: Path, key: dict) -> tuple[Checkpoint | None, str]:
    """The checkpoint to resume from, or None and why not ('' where there is simply none here)."""
    if not path.is_file():
        return None, ""
    try:
        blob = torch.load(path, weights_only=True, map_location="cpu")
        if blob.get("key") != key:
            return None, f"its checkpoint {path.name} belongs to another study or protocol"
        return Checkpoint(**blob["checkpoint"]), ""
    except OSError as e:  # the file system, not the file: keep it for a later try
        return None, f"its checkpoint {path.name} could not be read ({e.strerror or type(e).__name__}); it is kept"
    except Exception as e:  # truncated, corrupt or not a checkpoint: it would fail the same way every time
        with contextlib.suppress(OSError):
            path.unlink()
        return None, f"its checkpoint {path.name} was unreadable ({type(e).__name__}) and is removed"
