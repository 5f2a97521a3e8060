"""Per-epoch checkpoints of running trials: a retried cell resumes from its last finished epoch."""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from .cells import Cell
from .train import Checkpoint


def checkpoint_path(folder: Path, cell: Cell) -> Path:
    return folder / (re.sub(r"[^A-Za-z0-9.=_-]+", "_", cell.key) + ".pt")


def checkpoint_key(study_name: str, study_protocol: dict | None, eps: float, seed: int) -> dict:
    """What a checkpoint must match to be resumed: the study, its protocol and the cell."""
    return {"study": study_name, "protocol": study_protocol, "eps": eps, "seed": seed}


def save_checkpoint(path: Path, ckpt: Checkpoint, key: dict) -> None:
    """Written to a temporary file and renamed: a kill mid-write leaves the previous checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"key": key, "checkpoint": ckpt.as_dict()}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, key: dict) -> Checkpoint | None:
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:
        return None  # unreadable: start the cell afresh
    if blob.get("key") != key:
        return None
    return Checkpoint(**blob["checkpoint"])
