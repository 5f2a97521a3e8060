"""End to end on the real CIFAR-10 (JPEG q75 copy) where the shared archive is present."""

import tarfile
from pathlib import Path

import optuna
import pytest

from tests.conftest import sweep_main as main

ARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpeg.tar.gz"


@pytest.mark.skipif(not ARCHIVE.is_file(), reason="the JPEG copy of CIFAR-10 is not on this machine")
def test_a_short_run_on_real_cifar10_beats_chance_by_far(workdir):
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(workdir / "jpeg", filter="data")
    code = main(["run", "--trials", "1", "--epochs", "1", "--subset", "5000", "--device", "cpu", "--no-report",
                 "--data-dir", str(workdir / "jpeg")])
    assert code == 0
    trial = optuna.load_study(study_name="label-smoothing", storage="sqlite:///studies/label-smoothing.db").trials[0]
    assert trial.user_attrs["val_acc"] > 0.25  # chance is 0.10
    assert trial.user_attrs["train_acc"] > 0.25
