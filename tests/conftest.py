"""Tiny CIFAR-shaped data written in both supported layouts, and helpers to run the CLI."""

import hashlib
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sweep.cli import main
from sweep.training.data import CLASSES

ROOT = Path(__file__).resolve().parents[1]


def make_images(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 32, 32, 3) uint8 images whose class shows in colour and a stripe, plus noise: learnable."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in range(len(CLASSES)):
        base = np.array([(c * 25) % 256, (c * 70) % 256, (255 - c * 25) % 256], dtype=float)
        for _ in range(per_class):
            img = base + rng.normal(0, 40, size=(32, 32, 3))
            img[:, 3 * c:3 * c + 3] = 255
            images.append(np.clip(img, 0, 255).astype(np.uint8))
            labels.append(c)
    return np.stack(images), np.array(labels)


def write_folders(root: Path, train_per_class=30, test_per_class=10) -> Path:
    for split, n, seed in (("train", train_per_class, 0), ("test", test_per_class, 1)):
        x, y = make_images(n, seed)
        for i, (img, label) in enumerate(zip(x, y)):
            folder = root / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{i:04d}.png")
    return root


def write_pickles(root: Path, train_per_class=30, test_per_class=10) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    x, y = make_images(train_per_class, 0)
    flat = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
    for i, part in enumerate(np.array_split(np.arange(len(x)), 5), start=1):
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({b"data": flat[part], b"labels": y[part].tolist()}, f)
    x, y = make_images(test_per_class, 1)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": x.transpose(0, 3, 1, 2).reshape(len(x), -1), b"labels": y.tolist()}, f)
    return root


def pytest_runtest_setup(item):
    """Tests marked `cuda` skip without a GPU, unless SWEEP_REQUIRE_CUDA=1 says one must be there: then each
    fails, so that a GPU machine whose CUDA pytest cannot see (a driver or build mismatch) is not a pass."""
    if item.get_closest_marker("cuda") is None:
        return
    import torch

    if torch.cuda.is_available():
        return
    if os.environ.get("SWEEP_REQUIRE_CUDA") == "1":
        pytest.fail("SWEEP_REQUIRE_CUDA=1, and torch.cuda.is_available() is False here", pytrace=False)
    pytest.skip("needs a CUDA GPU: run `python -m pytest -m cuda` there")


@pytest.fixture(scope="session")
def folder_data(tmp_path_factory) -> Path:
    """600 training and 200 test images: room for the smallest --subset (500: 10 test images per class)."""
    return write_folders(tmp_path_factory.mktemp("folders"), train_per_class=60, test_per_class=20)


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """300 training and 100 test images: the fake data tests/data/*.sql studies were recorded on, and less than
    the bench needs."""
    return write_folders(tmp_path_factory.mktemp("small"), train_per_class=30, test_per_class=10)


@pytest.fixture(scope="session")
def pickle_data(tmp_path_factory) -> Path:
    return write_pickles(tmp_path_factory.mktemp("pickles"), train_per_class=60, test_per_class=20)  # = folder_data


@pytest.fixture(scope="session")
def slow_data(tmp_path_factory) -> Path:
    """Enough images that an epoch lasts long enough to be interrupted in its middle."""
    return write_pickles(tmp_path_factory.mktemp("slow"), train_per_class=150, test_per_class=20)


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server's URL; CI must have one (.ci/run starts it)."""
    url = os.environ.get("SWEEP_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must provide a PostgreSQL server (SWEEP_TEST_POSTGRES_URL); .ci/run starts one")
        pytest.skip("no PostgreSQL server: set SWEEP_TEST_POSTGRES_URL (.ci/run starts one)")
    return url


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(workdir, folder_data, capsys):
    """Run `python -m sweep` in-process in a fresh folder; returns (exit code, stdout, stderr)."""

    def run(*args, data=True):
        argv = list(args)
        if data and argv[0] == "run" and "--data-dir" not in argv:
            argv += ["--data-dir", str(folder_data), "--device", "cpu"]
        if argv[0] == "run" and "--workers" not in argv:
            argv += ["--workers", "1"]  # in this process; the auto default spawns workers
        code = main(named_study(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _default_sigint() -> None:
    # A run started in the background (`cmd &`) inherits SIGINT ignored, and Python then never
    # raises KeyboardInterrupt; one started under nohup inherits SIGHUP ignored, and sweep keeps an
    # ignored signal ignored: give the worker what a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def named_study(argv: list[str]) -> list[str]:
    """A test's run names its study `label-smoothing` (so reports/ and studies/label-smoothing.db) unless it
    names one: the name a quick run picks for itself is tests/test_first_hour.py's to check."""
    if argv and argv[0] == "run" and not any(a.startswith("--study-name") for a in argv):
        return [argv[0], "--study-name", "label-smoothing", *argv[1:]]
    return argv


def sweep_main(argv: list[str]) -> int:
    """`sweep.cli.main` in this process, the study named as `named_study` says."""
    return main(named_study(list(argv)))


def sweep_process(*args, cwd, env_extra=None, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "sweep", *named_study(list(args))], cwd=cwd, env=env, preexec_fn=_default_sigint,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).exists() else "absent"


def dashboard_detail(url: str) -> dict:
    """The study's page as the real optuna-dashboard serves it to a browser (its JSON API), for the one study
    in `url`."""
    import json
    import threading
    import urllib.request
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import optuna
    from optuna_dashboard import wsgi

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, wsgi(optuna.storages.RDBStorage(url)), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        get = lambda path: json.loads(urllib.request.urlopen(  # noqa: E731
            f"http://127.0.0.1:{server.server_port}{path}", timeout=30).read())
        (summary,) = get("/api/studies")["study_summaries"]
        return {**get(f"/api/studies/{summary['study_id']}?after=0"), "study_name": summary["study_name"]}
    finally:
        server.shutdown()
