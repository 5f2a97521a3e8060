"""CIFAR-10 as uint8 tensors: read once, cached by a fingerprint of the source, batched on the device.

Two local layouts are read: torchvision's `cifar-10-batches-py/` pickles, and image folders
`train/<class>/*` + `test/<class>/*` with CIFAR-10's class names. Without `data_dir`, torchvision
downloads the original (with its integrity check) into `download_root`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp"}
CACHE_VERSION = 1


@dataclass(frozen=True)
class Cifar:
    train_x: torch.Tensor  # (N, 3, 32, 32) uint8
    train_y: torch.Tensor  # (N,) int64
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str  # where it came from, for the record
    fingerprint: str  # sha256 of the decoded tensors: same pixels and labels, same fingerprint

    def to(self, device: torch.device | str) -> "Cifar":
        """Move once; images stay uint8 there, and each training call normalises them once, on the device, into
        its compute dtype and channels-last layout (`train.prepared`)."""
        move = lambda t: t.to(device, non_blocking=True)  # noqa: E731
        return replace(self, train_x=move(self.train_x), train_y=move(self.train_y),
                       test_x=move(self.test_x), test_y=move(self.test_y))


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float in [-1, 1]: ToTensor then Normalize(mean=0.5, std=0.5)."""
    return x.float().div_(255).sub_(0.5).div_(0.5)


def load(data_dir: str | Path | None, cache_dir: str | Path, download_root: str | Path = "data") -> Cifar:
    """CIFAR-10 from `data_dir` (or torchvision's download), through a cache of decoded tensors."""
    if data_dir is None:
        root = _download(Path(download_root))
    else:
        root = Path(data_dir).expanduser()
    layout, root = _find_layout(root)
    key = _source_key(root)
    cache = Path(cache_dir) / f"cifar10-{key[:20]}.pt"
    if cache.is_file():
        try:
            blob = torch.load(cache, weights_only=True)
            if blob.get("version") == CACHE_VERSION:
                return Cifar(**blob["data"])
        except Exception:  # a damaged cache is rebuilt, never trusted
            pass
    train_x, train_y, test_x, test_y = (_read_pickles if layout == "pickles" else _read_folders)(root)
    data = Cifar(train_x, train_y, test_x, test_y, source=f"{layout}:{root.resolve()}",
                 fingerprint=fingerprint(train_x, train_y, test_x, test_y))
    _write_cache(cache, data)
    return data


def fingerprint(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def stratified_subset(data: Cifar, n: int, seed: int = 0) -> Cifar:
    """A fixed class-balanced sample of n training and n // 5 test images.

    Image-folder copies are sorted by class, so the first n images would be one class.
    """
    g = torch.Generator().manual_seed(seed)
    pick = lambda y, m, split: _stratified(y, m, g, split)  # noqa: E731
    tr, te = pick(data.train_y, n, "training"), pick(data.test_y, max(n // 5, 1), "test")
    return replace(data, train_x=data.train_x[tr], train_y=data.train_y[tr],
                   test_x=data.test_x[te], test_y=data.test_y[te])


def _stratified(y: torch.Tensor, n: int, g: torch.Generator, split: str) -> torch.Tensor:
    if n > len(y):
        raise DataError(f"--subset asks for {n} {split} images but the data has {len(y)}")
    picked = []
    for c in range(len(CLASSES)):
        members = torch.nonzero(y == c).flatten()
        want = n // len(CLASSES) + (1 if c < n % len(CLASSES) else 0)
        if want > len(members):
            raise DataError(f"--subset {n}: class {CLASSES[c]} has only {len(members)} {split} images")
        picked.append(members[torch.randperm(len(members), generator=g)[:want]])
    return torch.cat(picked).sort().values


def _download(root: Path) -> Path:
    from torchvision.datasets import CIFAR10

    try:
        for train in (True, False):
            CIFAR10(str(root), train=train, download=True)
    except Exception as e:  # no network, a proxy, a full disk: all end the same way for the user
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"could not download CIFAR-10 into {root} ({reason}); "
                        "pass --data-dir PATH to a local copy (cifar-10-batches-py/ or train/<class>/ + test/<class>/)")
    return root


def _find_layout(root: Path) -> tuple[str, Path]:
    if not root.is_dir():
        raise DataError(f"{root}: no such data folder")
    candidates = [root, root / "cifar-10-batches-py"] + sorted(p for p in root.iterdir() if p.is_dir())
    for c in candidates:
        if (c / "data_batch_1").is_file() or (c / "test_batch").is_file():
            return "pickles", c
        if (c / "train").is_dir() and (c / "test").is_dir():
            return "folders", c
    raise DataError(f"{root}: no CIFAR-10 here; expected cifar-10-batches-py/ or train/<class>/ and test/<class>/ folders")


def _source_key(root: Path) -> str:
    """Cheap identity of the files (paths, sizes, mtimes), for finding the decoded cache."""
    h = hashlib.sha256(f"v{CACHE_VERSION}:{root.resolve()}".encode())
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            st = os.stat(os.path.join(dirpath, name))
            h.update(f"{os.path.relpath(dirpath, root)}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _write_cache(path: Path, data: Cifar) -> None:
    """A cache that cannot be written (a read-only folder, a full disk) costs a decode next time, nothing else:
    one line of warning. torch.save raises RuntimeError, not OSError, for a file it cannot open."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"version": CACHE_VERSION, "data": data.__dict__}, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"sweep: warning: cannot write the decoded-data cache {path} ({first}); the images are decoded "
              "again next time", file=sys.stderr)


def _read_pickles(root: Path):
    def read(name: str):
        path = root / name
        if not path.is_file():
            raise DataError(f"{path}: missing")
        try:
            with open(path, "rb") as f:
                batch = pickle.load(f, encoding="bytes")
            x = np.asarray(batch[b"data"], dtype=np.uint8)
            y = np.asarray(batch[b"labels"], dtype=np.int64)
        except Exception as e:
            raise DataError(f"{path}: not a CIFAR-10 batch ({type(e).__name__}: {e})")
        if x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(y) != len(x):
            raise DataError(f"{path}: expected N x 3072 uint8 images and N labels, got {x.shape} and {len(y)}")
        return x, y

    parts = [read(f"data_batch_{i}") for i in range(1, 6)]
    test = read("test_batch")
    as_images = lambda x: torch.from_numpy(x.reshape(-1, 3, 32, 32).copy())  # noqa: E731
    train_x, train_y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    for y, name in ((train_y, "data_batch_*"), (test[1], "test_batch")):
        if y.min() < 0 or y.max() >= len(CLASSES) or len(np.unique(y)) != len(CLASSES):
            raise DataError(f"{root / name}: labels must cover the 10 classes 0-9")
    return as_images(train_x), torch.from_numpy(train_y), as_images(test[0]), torch.from_numpy(test[1])


def _read_folders(root: Path):
    from PIL import Image

    def read_split(split: str):
        split_dir = root / split
        found = {p.name for p in split_dir.iterdir() if p.is_dir()}
        if missing := [c for c in CLASSES if c not in found]:
            raise DataError(f"{split_dir}: missing class folders: {', '.join(missing)}")
        if extra := sorted(found - set(CLASSES)):
            raise DataError(f"{split_dir}: unexpected class folders: {', '.join(extra)} (CIFAR-10 has {', '.join(CLASSES)})")
        images, labels = [], []
        for label, cls in enumerate(CLASSES):
            files = sorted(p for p in (split_dir / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise DataError(f"{split_dir / cls}: no images")
            for path in files:
                try:
                    with Image.open(path) as im:
                        arr = np.asarray(im.convert("RGB"))
                except Exception as e:
                    raise DataError(f"{path}: unreadable image ({type(e).__name__})")
                if arr.shape != (32, 32, 3):
                    raise DataError(f"{path}: image is {arr.shape[1]}x{arr.shape[0]}, expected 32x32")
                images.append(arr)
            labels += [label] * len(files)
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        return x, torch.tensor(labels, dtype=torch.int64)

    return (*read_split("train"), *read_split("test"))
