"""Per-epoch checkpoints of running trials: a retried cell resumes from its last finished epoch."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import torch

from .space import Cell
from .train import Checkpoint


def checkpoint_path(folder: Path, cell: Cell) -> Path:
    return folder / (re.sub(r"[^A-Za-z0-9.=_-]+", "_", cell.key) + ".pt")


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
