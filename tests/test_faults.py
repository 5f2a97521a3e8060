"""Real processes: workers racing on PostgreSQL, SIGKILL and Ctrl-C mid-trial, resume from checkpoints."""

import datetime
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa

from sweep.study.storage import ATTEMPTS
from tests.conftest import sweep_process

COMPLETE, WAITING = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.WAITING


def run_args(data: Path, *extra: str) -> list[str]:
    return ["run", "--study-name", "label-smoothing", "--data-dir", str(data), "--cache-dir", str(data / "cache"),
            "--device", "cpu", "--heartbeat-interval", "1", "--no-report", "--workers", "1", *extra]


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


# Between two of Optuna's public setters, each of which commits alone (tests/killed_run.py shows the calls):
# the first epoch's records begun, an intermediate value without its history, between two epochs, the final
# metrics half written, all written but not told, told.
GAPS = ("set_trial_user_attr device", "set_trial_intermediate_value 1", "set_trial_user_attr history",
        "set_trial_user_attr train_acc", "set_trial_user_attr seconds", "set_trial_state_values COMPLETE")


def test_a_death_in_each_gap_between_optunas_setters_is_repaired_by_the_next_run(folder_data, tmp_path):
    """A worker dies (os._exit, as SIGKILL) right after each of the gaps' calls in turn; the plain rerun leaves
    the cell COMPLETE once, with every record, and nothing RUNNING."""
    args = run_args(folder_data, "--trials", "1", "--epochs", "2")
    trace = tmp_path / "trace"
    code = subprocess_run(["0", str(trace), *args], tmp_path / "traced")
    assert code == 0
    calls = trace.read_text().splitlines()
    assert calls[-1] == "set_trial_state_values COMPLETE" and "set_trial_intermediate_value 2" in calls
    for gap in GAPS:
        at = calls.index(gap) + 1  # the first such call
        cwd = tmp_path / f"killed-after-{at}"
        assert subprocess_run([str(at), str(cwd / "trace"), *args], cwd) == 9
        assert (cwd / "trace").read_text().splitlines()[-1] == gap  # died where it was told
        code, out, err = finished(sweep_process(*args, cwd=cwd))
        assert code == 0 and "Traceback" not in err, (gap, err)
        url = f"sqlite:///{cwd}/studies/label-smoothing.db"
        trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
        complete = [t for t in trials if t.state == COMPLETE]
        assert len(complete) == 1 and {t.state for t in trials} <= {COMPLETE, optuna.trial.TrialState.FAIL}, gap
        (t,) = complete
        assert set(t.intermediate_values) == {1, 2} and len(t.user_attrs["history"]) == 2, gap
        assert all(k in t.user_attrs for k in ("train_acc", "val_acc", "gap", "seconds")), gap
        assert len(trials) == (1 if gap.endswith("COMPLETE") else 2), (gap, [t.state for t in trials])


def subprocess_run(argv: list[str], cwd: Path) -> int:
    cwd.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "tests.killed_run", *argv], cwd=cwd, env=env, capture_output=True,
                          timeout=300).returncode


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
        assert states == [optuna.trial.TrialState.FAIL, WAITING]  # handed back: its next attempt waits
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
    """The study's attempts, each with its trial's state."""
    from sweep.study.schema import TRIALS

    sid = optuna.load_study(study_name=study, storage=url)._study_id
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(ATTEMPTS, TRIALS.c.state).join(TRIALS, TRIALS.c.trial_id == ATTEMPTS.c.trial_id)
                            .where(ATTEMPTS.c.study_id == sid)).all()
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
    assert len(rows) == 12 and {r.attempt for r in rows} == {0} and {r.state for r in rows} == {COMPLETE}


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


def test_a_failed_database_write_mid_run_fails_the_trials_with_one_line(cli, monkeypatch):
    import sweep.worker

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sweep.worker, "_jsonable", full_disk)  # the epoch's record, written beside the database
    code, out, err = cli("run", "--trials", "2", "--epochs", "2", "--batch-trials", "2", "--no-report")
    said = [line for line in err.splitlines() if line.startswith("sweep:")]  # beside the progress lines
    assert code == 1 and len(said) == 1 and "No space left" in said[0] and "Traceback" not in err
    study = optuna.load_study(study_name="label-smoothing", storage="sqlite:///studies/label-smoothing.db")
    # The two trials FAIL, and their cells wait again as the next attempts' trials.
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2 + [WAITING] * 2


def test_a_checkpoint_that_cannot_be_written_is_a_warning_and_leaves_no_temporary_file(cli, monkeypatch):
    import torch

    import sweep.training.checkpoint

    real_save = torch.save

    def full_disk(obj, path):
        if "checkpoints" not in str(path):  # the data cache is written as usual
            return real_save(obj, path)
        Path(path).write_bytes(b"half a checkpoint")
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(sweep.training.checkpoint.torch, "save", full_disk)
    code, out, err = cli("run", "--trials", "2", "--epochs", "3", "--batch-trials", "2", "--no-report")
    warnings = [line for line in err.splitlines() if line.startswith("sweep:")]
    assert code == 0 and len(warnings) == 1 and "cannot write checkpoint" in warnings[0] and "Traceback" not in err
    study = optuna.load_study(study_name="label-smoothing", storage="sqlite:///studies/label-smoothing.db")
    assert [t.state for t in study.trials] == [COMPLETE] * 2
    assert not [p for p in Path("studies").rglob("*") if p.is_file() and ".tmp" in p.name]


def test_an_unreadable_checkpoint_is_named_removed_and_the_cell_restarts(tmp_path):
    from sweep.training.checkpoint import load_checkpoint

    path = tmp_path / "eps=0.1_seed=0.pt"
    path.write_bytes(b"truncated")
    ckpt, why = load_checkpoint(path, {"study": "s"})
    assert ckpt is None and "eps=0.1_seed=0.pt was unreadable" in why and not path.exists()
    assert load_checkpoint(path, {"study": "s"}) == (None, "")  # none at all: nothing to say


def test_a_retry_without_its_checkpoint_says_it_restarts_from_epoch_0(tmp_path, capsys):
    """A cell taken over on a machine that cannot see the first attempt's checkpoint, or one whose checkpoint
    was unreadable: each restart says why, in one line; a first attempt says nothing."""
    import torch

    from sweep.study.queue import Held
    from sweep.protocol import Protocol
    from sweep.study.space import grid_cells
    from sweep.worker import RunConfig, _by_start_epoch

    cells = grid_cells([0.0, 0.1], 2)
    cfg = RunConfig(protocol=Protocol(epochs=2), cells=cells, eps_range=None, batch_trials=2, checkpoint_dir=tmp_path,
                    device=torch.device("cpu"))
    (tmp_path / "eps=0.1_seed=0.pt").write_bytes(b"truncated")
    claimed = [Held(cells[0], 1, 0, 0.0, 0, attempt=1), Held(cells[1], 2, 1, 0.1, 0, attempt=0)]
    groups = list(_by_start_epoch(claimed, cfg, lambda p: {"study": "s"}).values())
    assert [[c.cell.key for c, ckpt in g if ckpt is None] for g in groups] == [["eps=0/seed=0", "eps=0.1/seed=0"]]
    said = capsys.readouterr().err.splitlines()
    assert said[0] == ("sweep: restarting eps=0/seed=0 from epoch 0 (its checkpoint is not here: none was written "
                       "yet, or it is on another machine)")
    assert said[1].startswith("sweep: restarting eps=0.1/seed=0 from epoch 0 (") and "unreadable" in said[1]
    assert len(said) == 2


ENDINGS = {  # how the signal arrives -> (exit code, the parent's one line)
    "ctrl-c": (lambda p: os.killpg(p.pid, signal.SIGINT), 130, "sweep: interrupted: 2 workers stopped; rerun the "
               "same command to resume from the last checkpoint"),
    "sigterm-parent": (lambda p: p.send_signal(signal.SIGTERM), 143, "sweep: stopped by SIGTERM: 2 workers stopped; "
                       "rerun the same command to resume from the last checkpoint"),
    "sigterm-group": (lambda p: os.killpg(p.pid, signal.SIGTERM), 143, "sweep: stopped by SIGTERM: 2 workers "
                      "stopped; rerun the same command to resume from the last checkpoint"),
    "sighup-parent": (lambda p: p.send_signal(signal.SIGHUP), 129, "sweep: stopped by SIGHUP: 2 workers stopped; "
                      "rerun the same command to resume from the last checkpoint"),
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_a_signal_stops_every_worker_with_one_line_and_a_rerun_resumes_at_once(ending, slow_data, tmp_path):
    """Ctrl-C, or a scheduler's SIGTERM to the job's main process or its whole group, wherever each worker is
    (importing, claiming, training): one line, no worker left, no trial RUNNING, and a rerun that resumes
    without waiting for heartbeats to go stale."""
    send, expected_code, expected_line = ENDINGS[ending]
    args = run_args(slow_data, "--trials", "2", "--epochs", "3", "--workers", "2", "--heartbeat-interval", "600")
    proc = sweep_process(*args, cwd=tmp_path, start_new_session=True)
    wait_for(lambda: checkpoints(tmp_path), proc)
    t0 = time.time()
    send(proc)
    code, out, err = finished(proc)
    assert time.time() - t0 < 30  # well inside a scheduler's grace period
    assert code == expected_code and "(2 workers)" in out and "Traceback" not in err, err
    assert [line for line in err.splitlines() if line.startswith("sweep:")] == [expected_line]
    assert not _group_alive(proc.pid)  # no orphan worker
    url = f"sqlite:///{tmp_path}/studies/label-smoothing.db"
    trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
    assert COMPLETE not in {t.state for t in trials} and optuna.trial.TrialState.RUNNING not in {t.state for t in trials}
    assert any(t.state == optuna.trial.TrialState.FAIL and t.user_attrs.get("interrupted") for t in trials)
    # Every unfinished cell waits in the queue as a trial of its own, as the dashboard shows it.
    waiting = optuna.load_study(study_name="label-smoothing", storage=url).get_trials(states=(WAITING,))
    assert sorted(t.user_attrs["cell"] for t in waiting) == ["eps=0.05/seed=0", "eps=0/seed=0"]
    # A 600 s heartbeat interval: a rerun that had to wait for stale heartbeats would time out here.
    code, _, err = finished(sweep_process(*args, cwd=tmp_path), timeout=240)
    assert code == 0, err
    trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
    done = [t for t in trials if t.state == COMPLETE]
    assert len(done) == 2 and max(t.user_attrs["resumed_from_epoch"] for t in done) >= 1
    assert Counter(t.user_attrs["cell"] for t in done) == Counter(["eps=0/seed=0", "eps=0.05/seed=0"])
    assert WAITING not in {t.state for t in trials} and optuna.trial.TrialState.RUNNING not in {t.state for t in trials}


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, oldest first (from /proc: no tool needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(fields[19]), int(stat.parent.name)))  # start time, pid
    return [p for _, p in sorted(found)]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_to_one_worker_leaves_the_rest_to_the_others_and_the_report_is_written(slow_data, tmp_path):
    args = run_args(slow_data, "--trials", "2", "--epochs", "3", "--workers", "2")
    args.remove("--no-report")
    proc = sweep_process(*args, cwd=tmp_path, start_new_session=True)
    wait_for(lambda: checkpoints(tmp_path), proc)
    os.kill(_children(proc.pid)[0], signal.SIGTERM)
    code, out, err = finished(proc)
    assert code == 0, err
    assert "note: worker 1 (ended by SIGTERM) ended early; the other workers finished its cells" in out
    assert (tmp_path / "reports" / "README.md").is_file() and "Traceback" not in err
    url = f"sqlite:///{tmp_path}/studies/label-smoothing.db"
    states = [t.state for t in optuna.load_study(study_name="label-smoothing", storage=url).trials]
    assert states.count(COMPLETE) == 2 and optuna.trial.TrialState.RUNNING not in states


def test_sigterm_reaches_a_run_that_is_pid_1_of_its_namespace(slow_data, tmp_path):
    """In a container the run is PID 1, and the kernel drops signals PID 1 has no handler for."""
    import shutil
    import subprocess

    unshare = shutil.which("unshare")
    if not unshare or subprocess.run([unshare, "--pid", "--fork", "--mount-proc", "--kill-child", "true"],
                                     capture_output=True).returncode != 0:
        pytest.skip("cannot make a PID namespace here (needs unshare and the right to use it)")
    args = run_args(slow_data, "--trials", "1", "--epochs", "3")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([unshare, "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable, "-m", "sweep",
                             *args],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: checkpoints(tmp_path), proc)
    os.kill(_children(proc.pid)[0], signal.SIGTERM)  # what `docker stop` or the kubelet sends to PID 1
    code, out, err = finished(proc, timeout=60)
    assert code == 143 and "sweep: stopped by SIGTERM" in err and "Traceback" not in err, err
    url = f"sqlite:///{tmp_path}/studies/label-smoothing.db"
    states = [t.state for t in optuna.load_study(study_name="label-smoothing", storage=url).trials]
    assert optuna.trial.TrialState.RUNNING not in states and COMPLETE not in states


def test_a_broken_progress_pipe_never_fails_a_trial():
    import io

    from sweep.progress import EventPipe

    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    pipe = EventPipe(Gone())
    pipe.started(["eps=0/seed=0"])
    pipe.finished("eps=0/seed=0", "trial 0: ...")  # nothing raised, nothing more tried
    assert pipe.stream is None

# ------------------------------------------------------------------ studies of older versions, checkpoints left

def test_a_study_left_by_sweep_0_4_0_resumes_each_cell_once(small_data, tmp_path):
    """tests/data/study-0.4.0.sql (made by tests/old_study.py under sweep 0.4.0): two cells COMPLETE, one handed
    back (FAIL), one held by a worker that died (RUNNING, no heartbeat in Optuna's table). The newer sweep keeps
    the finished trials as they are, fails the dead worker's trial and runs the two open cells, each once."""
    import sqlite3
    from contextlib import closing

    db = tmp_path / "studies" / "label-smoothing.db"
    db.parent.mkdir()
    with closing(sqlite3.connect(db)) as con:
        con.executescript((Path(__file__).parent / "data" / "study-0.4.0.sql").read_text())
    url = f"sqlite:///{db}"
    before = {t.number: (t.state, t.user_attrs.get("cell"), t.user_attrs.get("val_acc"))
              for t in optuna.load_study(study_name="label-smoothing", storage=url).trials}
    args = ["run", "--trials", "4", "--epochs", "1", "--data-dir", str(small_data), "--cache-dir",
            str(tmp_path / "cache"), "--device", "cpu", "--workers", "1", "--no-report"]
    code, out, err = finished(sweep_process(*args, cwd=tmp_path))
    assert code == 0 and "Traceback" not in err, err
    assert "4 cells, 2 done" in out
    trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
    done = Counter(t.user_attrs["cell"] for t in trials if t.state == COMPLETE)
    assert done == Counter(["eps=0/seed=0", "eps=0.05/seed=0", "eps=0.1/seed=0", "eps=0.2/seed=0"])
    for t in trials[:2]:  # the finished trials, untouched
        assert (t.state, t.user_attrs["cell"], t.user_attrs["val_acc"]) == before[t.number]
    assert [t.state for t in trials[2:4]] == [optuna.trial.TrialState.FAIL] * 2  # the dead worker's, failed
    assert {t.user_attrs["cell"]: t.user_attrs["attempt"] for t in trials[4:]} == {"eps=0.1/seed=0": 1,
                                                                                   "eps=0.2/seed=0": 1}
    assert {t.state for t in trials} == {COMPLETE, optuna.trial.TrialState.FAIL}
    code, out, _ = finished(sweep_process(*args, cwd=tmp_path))  # and the next rerun has nothing left to do
    assert code == 0 and "4 cells, 4 done" in out
    assert len(optuna.load_study(study_name="label-smoothing", storage=url).trials) == 6


def test_a_study_left_by_sweep_0_6_0_in_new_york_resumes_and_its_wall_time_is_set_right(small_data, tmp_path):
    """tests/data/study-0.6.0-new-york.sql (made by tests/zoned_study.py under sweep 0.6.0, TZ=America/New_York):
    three cells COMPLETE whose starts 0.6.0 wrote in local time, so each reads back as lasting 5 h more. The
    report sets each start right from the training time the trial recorded, and says so; the study goes on
    under this sweep in another zone, the fourth cell run once with true times."""
    import re
    import sqlite3
    from contextlib import closing

    db = tmp_path / "studies" / "label-smoothing.db"
    db.parent.mkdir()
    with closing(sqlite3.connect(db)) as con:
        con.executescript((Path(__file__).parent / "data" / "study-0.6.0-new-york.sql").read_text())
    url = f"sqlite:///{db}"
    old = optuna.load_study(study_name="label-smoothing", storage=url).trials
    assert [round(t.duration.total_seconds() / 3600) for t in old] == [5, 5, 5]  # what Optuna reads back
    code, out, err = finished(sweep_process("report", "--out", str(tmp_path / "old-report"), cwd=tmp_path))
    assert code == 0, err
    text = (tmp_path / "old-report" / "README.md").read_text()
    assert re.search(r"- wall time: \d+ s,", text), text
    assert "3 trial starts had been written in local time" in text and "+5 h" in text

    args = ["run", "--trials", "4", "--epochs", "1", "--data-dir", str(small_data), "--cache-dir",
            str(tmp_path / "cache"), "--device", "cpu", "--workers", "1", "--report-dir", str(tmp_path / "report")]
    code, out, err = finished(sweep_process(*args, cwd=tmp_path, env_extra={"TZ": "Asia/Tokyo"}))
    assert code == 0 and "4 cells, 3 done" in out, out + err
    trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
    assert Counter(t.user_attrs["cell"] for t in trials if t.state == COMPLETE) == Counter(
        ["eps=0/seed=0", "eps=0.05/seed=0", "eps=0.1/seed=0", "eps=0.2/seed=0"])
    assert len(trials) == 4 and datetime.timedelta(0) < trials[3].duration < datetime.timedelta(minutes=2)
    assert "3 trial starts had been written in local time" in (tmp_path / "report" / "README.md").read_text()


def test_a_cells_checkpoint_is_removed_where_it_finishes_and_by_tidy_on_the_machine_that_left_it(slow_data,
                                                                                                 tmp_path):
    """Machine A is killed mid-cell (its checkpoint stays in A's folder); machine B, with its own folder, takes
    the cell over and finishes it (B's checkpoints go as it finishes). A's next run finds the cell done and
    removes A's checkpoint."""
    common = run_args(slow_data, "--trials", "1", "--epochs", "3")
    a_dir, b_dir = tmp_path / "a-checkpoints", tmp_path / "b-checkpoints"
    a = sweep_process(*common, "--checkpoint-dir", str(a_dir), cwd=tmp_path)
    wait_for(lambda: list(a_dir.glob("*.pt")), a)
    a.send_signal(signal.SIGKILL)
    finished(a)
    code, out, err = finished(sweep_process(*common, "--checkpoint-dir", str(b_dir), cwd=tmp_path))
    assert code == 0 and "restarting eps=0/seed=0 from epoch 0" in err, err  # A's checkpoint is not B's to see
    assert not list(b_dir.glob("*.pt")) and list(a_dir.glob("*.pt"))
    code, out, err = finished(sweep_process(*common, "--checkpoint-dir", str(a_dir), cwd=tmp_path))
    assert code == 0 and "1 cells, 1 done" in out, out + err
    assert not list(a_dir.glob("*.pt"))
