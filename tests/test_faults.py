"""Real processes: workers racing on PostgreSQL, SIGKILL and Ctrl-C mid-trial, resume from checkpoints."""

import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa

from sweep.cells import CELLS
from tests.conftest import sweep_process, write_pickles

COMPLETE = optuna.trial.TrialState.COMPLETE


@pytest.fixture(scope="module")
def slow_data(tmp_path_factory) -> Path:
    """Enough images that an epoch lasts long enough to be interrupted in its middle."""
    return write_pickles(tmp_path_factory.mktemp("slow"), train_per_class=150, test_per_class=20)


def run_args(data: Path, *extra: str) -> list[str]:
    return ["run", "--data-dir", str(data), "--cache-dir", str(data / "cache"), "--device", "cpu",
            "--heartbeat-interval", "1", "--no-report", "--workers", "1", *extra]


def wait_for(predicate, proc, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("timed out")


def finished(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def final(trial) -> dict:
    return {k: trial.user_attrs[k] for k in ("train_acc", "val_acc", "val_nll", "train_nll", "val_ece")}


@pytest.fixture(scope="module")
def reference(slow_data, tmp_path_factory) -> dict:
    """The uninterrupted run of the cell the fault tests interrupt."""
    cwd = tmp_path_factory.mktemp("reference")
    code, _, err = finished(sweep_process(*run_args(slow_data, "--trials", "1", "--epochs", "3"), cwd=cwd))
    assert code == 0, err
    study = optuna.load_study(study_name="label-smoothing", storage=f"sqlite:///{cwd}/studies/label-smoothing.db")
    return final(study.trials[0])


def checkpoints(cwd: Path) -> list[Path]:
    return list((cwd / "studies" / "label-smoothing" / "checkpoints").glob("*.pt"))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_or_interrupted_trial_resumes_to_the_uninterrupted_result(sig, slow_data, reference, tmp_path):
    args = run_args(slow_data, "--trials", "1", "--epochs", "3")
    proc = sweep_process(*args, cwd=tmp_path)
    wait_for(lambda: checkpoints(tmp_path), proc)
    proc.send_signal(sig)
    code, _, err = finished(proc)
    url = f"sqlite:///{tmp_path}/studies/label-smoothing.db"
    states = [t.state for t in optuna.load_study(study_name="label-smoothing", storage=url).trials]
    if sig == signal.SIGINT:
        assert code == 130
        said = [line for line in err.splitlines() if line.startswith("sweep:")]  # beside the progress lines
        assert len(said) == 1 and "rerun the same command" in said[0] and "Traceback" not in err
        assert states == [optuna.trial.TrialState.FAIL]
    else:
        assert code == -signal.SIGKILL
        assert states == [optuna.trial.TrialState.RUNNING]  # until its heartbeat goes stale
    assert checkpoints(tmp_path)

    code, out, err = finished(sweep_process(*args, cwd=tmp_path))
    assert code == 0, err
    trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL, COMPLETE]
    done = trials[1]
    assert done.user_attrs["resumed_from_epoch"] >= 1 and done.user_attrs["attempt"] == 1
    assert sorted(done.intermediate_values) == [1, 2, 3]
    assert final(done) == reference
    assert not checkpoints(tmp_path)


def claims(url: str, study: str) -> list:
    sid = optuna.load_study(study_name=study, storage=url)._study_id
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(CELLS).where(CELLS.c.study_id == sid)).all()
    engine.dispose()
    return rows


def test_three_workers_on_postgres_run_each_of_12_cells_exactly_once(postgres_url, folder_data, tmp_path):
    name = f"race-{uuid.uuid4().hex[:8]}"
    args = ["run", "--trials", "12", "--epochs", "1", "--workers", "3", "--storage", postgres_url,
            "--study-name", name, "--data-dir", str(folder_data), "--device", "cpu", "--no-report"]
    code, out, err = finished(sweep_process(*args, cwd=tmp_path))
    assert code == 0, err
    assert "sweep:sweep@" not in out + err  # the password is masked
    trials = optuna.load_study(study_name=name, storage=postgres_url).trials
    cells = Counter((t.params["label_smoothing"], t.params["seed"]) for t in trials)
    assert len(trials) == 12 and all(t.state == COMPLETE for t in trials)
    assert set(cells) == {(e, s) for e in (0.0, 0.05, 0.1, 0.2) for s in range(3)}
    assert max(cells.values()) == 1
    rows = claims(postgres_url, name)
    assert len(rows) == 12 and {r.attempt for r in rows} == {0} and {r.state for r in rows} == {"done"}


def test_two_workers_on_postgres_one_killed_the_other_finishes_its_cell(postgres_url, slow_data, tmp_path):
    name = f"kill-{uuid.uuid4().hex[:8]}"
    args = run_args(slow_data, "--trials", "2", "--epochs", "3", "--storage", postgres_url, "--study-name", name)
    for sub in "ab":
        (tmp_path / sub).mkdir()
    a, b = sweep_process(*args, cwd=tmp_path / "a"), sweep_process(*args, cwd=tmp_path / "b")

    def running_in_a():
        return any((tmp_path / "a" / "studies" / name / "checkpoints").glob("*.pt"))

    wait_for(running_in_a, a)
    a.kill()
    finished(a)
    code, out, err = finished(b)
    assert code == 0, err
    trials = optuna.load_study(study_name=name, storage=postgres_url).trials
    done = Counter((t.params["label_smoothing"], t.params["seed"]) for t in trials if t.state == COMPLETE)
    assert done == Counter({(0.0, 0): 1, (0.05, 0): 1})
    assert sum(t.state == optuna.trial.TrialState.FAIL for t in trials) == 1  # the killed attempt


def test_epoch_writer_keeps_order_and_hands_back_the_first_error():
    from sweep.worker import EpochWriter

    done = []

    def fail():
        raise OSError("disk full")

    writer = EpochWriter()
    for job in (lambda: done.append(1), lambda: time.sleep(0.05) or done.append(2), fail, lambda: done.append(3)):
        writer.submit(job)
    writer.close()
    assert done == [1, 2] and isinstance(writer.error, OSError)  # nothing runs after a failure
    with pytest.raises(OSError, match="disk full"):
        writer.submit(lambda: done.append(4))


def test_a_failed_write_mid_run_fails_the_trials_with_one_line(cli, monkeypatch):
    import sweep.worker

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sweep.worker, "save_checkpoint", full_disk)
    code, out, err = cli("run", "--trials", "2", "--epochs", "2", "--batch-trials", "2", "--no-report")
    said = [line for line in err.splitlines() if line.startswith("sweep:")]  # beside the progress lines
    assert code == 1 and len(said) == 1 and "No space left" in said[0] and "Traceback" not in err
    study = optuna.load_study(study_name="label-smoothing", storage="sqlite:///studies/label-smoothing.db")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2


def test_ctrl_c_stops_every_worker_with_one_line_and_a_rerun_resumes(slow_data, tmp_path):
    """Ctrl-C lands wherever each worker is (importing, claiming, training): one line, nothing lost."""
    args = run_args(slow_data, "--trials", "2", "--epochs", "3", "--workers", "2")  # the last --workers counts
    proc = sweep_process(*args, cwd=tmp_path, start_new_session=True)
    wait_for(lambda: checkpoints(tmp_path), proc)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    code, out, err = finished(proc)
    assert code == 130 and "(2 workers)" in out and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("sweep:")] == [
        "sweep: interrupted: 2 workers stopped; rerun the same command to resume from the last finished epoch"]
    url = f"sqlite:///{tmp_path}/studies/label-smoothing.db"
    trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
    assert COMPLETE not in {t.state for t in trials}
    assert any(t.state == optuna.trial.TrialState.FAIL and t.user_attrs.get("interrupted") for t in trials)
    code, _, err = finished(sweep_process(*args, cwd=tmp_path))
    assert code == 0, err
    done = [t for t in optuna.load_study(study_name="label-smoothing", storage=url).trials if t.state == COMPLETE]
    assert len(done) == 2 and max(t.user_attrs["resumed_from_epoch"] for t in done) >= 1
