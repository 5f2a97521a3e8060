"""Database blips: transient errors retried for a bounded window, a real PostgreSQL server stopped mid-run."""

import math
import os
import shlex
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter

import optuna
import pytest
import sqlalchemy as sa

from sweep.study.patience import DatabaseGone, Patience, outage, reason, transient
from tests.conftest import sweep_process
from tests.test_faults import finished, run_args, wait_for

COMPLETE, RUNNING = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING


class PgError(Exception):
    def __init__(self, text, pgcode):
        super().__init__(text)
        self.pgcode = pgcode


def operational(text="server closed the connection unexpectedly", pgcode=None):
    return sa.exc.OperationalError("UPDATE ...", {}, PgError(text, pgcode))


def test_what_counts_as_transient():
    assert transient(operational())
    assert transient(sa.exc.DBAPIError("SELECT 1", {}, PgError("could not serialize access", "40001")))
    wrapped = optuna.exceptions.StorageInternalError("An exception is raised during the commit.")
    wrapped.__cause__ = operational("terminating connection due to administrator command", "57P01")
    assert transient(wrapped) and reason(wrapped) == "terminating connection due to administrator command"
    assert transient(sa.exc.OperationalError("x", {}, sqlite3.OperationalError("database is locked")))
    # A lost SQLite file or a bad statement does not pass by waiting.
    assert not transient(sa.exc.OperationalError("x", {}, sqlite3.OperationalError("no such table: trials")))
    assert not transient(sa.exc.IntegrityError("INSERT ...", {}, PgError("duplicate key", "23505")))
    # The server answered with a reason that waiting does not cure: a full disk, a bad password.
    assert not transient(operational("could not extend file: No space left on device", "53100"))
    assert not transient(operational("password authentication failed", "28P01"))
    assert not transient(ValueError("not a database error"))
    # Contention is worth a retry but is no outage: it starts no grace period before others' cells are taken.
    assert outage(operational()) and outage(wrapped)
    assert not outage(sa.exc.DBAPIError("SELECT 1", {}, PgError("could not serialize access", "40001")))
    assert not outage(sa.exc.OperationalError("x", {}, sqlite3.OperationalError("database is locked")))


def test_patience_retries_says_once_and_gives_up_after_its_window():
    said, calls = [], []

    def flaky(fails):
        calls.append(1)
        if len(calls) <= fails:
            raise operational()
        return "ok"

    patient = Patience(window=30, say=said.append, first_delay=0.001, max_delay=0.01)
    assert patient(flaky, 5) == "ok" and len(calls) == 6
    assert len(said) == 2 and said[0].startswith("sweep: database unreachable (server closed the connection")
    assert said[1].startswith("sweep: database back after")
    calls.clear()
    with pytest.raises(sa.exc.IntegrityError):  # not transient: at once, no retry
        patient(lambda: calls.append(1) or (_ for _ in ()).throw(sa.exc.IntegrityError("x", {}, PgError("d", "23505"))))
    assert len(calls) == 1
    t0 = time.monotonic()
    troubles = []
    with pytest.raises(DatabaseGone) as gone:
        Patience(window=0.3, say=said.append, first_delay=0.01, max_delay=0.05, on_trouble=lambda: troubles.append(1))(
            flaky, 10 ** 9)
    assert time.monotonic() - t0 >= 0.3 and troubles
    assert isinstance(gone.value.__cause__, sa.exc.OperationalError) and "after 0.3 s of retries" in str(gone.value)


# ------------------------------------------------------------------ a real server, stopped mid-run

@pytest.fixture
def postgres_ctl(postgres_url):
    """The command that stops and starts the test server (.ci/run sets SWEEP_TEST_POSTGRES_CTL)."""
    ctl = os.environ.get("SWEEP_TEST_POSTGRES_CTL")
    if not ctl:
        if os.environ.get("CI"):
            pytest.fail("CI must say how to restart its PostgreSQL server (SWEEP_TEST_POSTGRES_CTL); .ci/run does")
        pytest.skip("set SWEEP_TEST_POSTGRES_CTL to a command taking stop/start, e.g. 'pg_ctlcluster 15 main'")

    def control(action: str) -> None:
        # Starting a running server fails harmlessly; the connection below is what counts.
        subprocess.run([*shlex.split(ctl), action], check=action == "stop", capture_output=True, timeout=60)
        if action == "start":
            engine = sa.create_engine(postgres_url)
            for _ in range(60):
                try:
                    with engine.connect():
                        break
                except sa.exc.OperationalError:
                    time.sleep(0.5)
            engine.dispose()

    yield control
    control("start")  # whatever happened, the server is up for the tests after this one


def census(url: str, name: str) -> tuple[Counter, list]:
    trials = optuna.load_study(study_name=name, storage=url).trials
    return Counter((t.params["label_smoothing"], t.params["seed"]) for t in trials if t.state == COMPLETE), \
        [t.state for t in trials]


def test_a_server_stopped_for_seconds_mid_run_is_waited_for(postgres_url, postgres_ctl, slow_data, tmp_path):
    name = f"blip-{uuid.uuid4().hex[:8]}"
    args = run_args(slow_data, "--trials", "4", "--epochs", "3", "--workers", "2", "--storage", postgres_url,
                    "--study-name", name)
    proc = sweep_process(*args, cwd=tmp_path)
    wait_for(lambda: checkpoints_of(tmp_path, name), proc)
    postgres_ctl("stop")
    time.sleep(10)  # over two epochs, and over three heartbeat intervals: every worker meets the outage
    postgres_ctl("start")
    code, out, err = finished(proc)
    assert code == 0 and "Traceback" not in err, err
    assert "sweep: database unreachable" in err and "sweep: database back after" in err
    # Nobody's cell was taken for dead because its heartbeat aged during the outage.
    assert "taken over" not in err and "restarting" not in err, err
    done, states = census(postgres_url, name)
    assert set(done) == {(e, s) for e in (0.0, 0.05, 0.1, 0.2) for s in (0,)} and set(done.values()) == {1}
    assert RUNNING not in states


def test_a_server_gone_past_the_window_ends_in_one_line_and_a_rerun_finishes(postgres_url, postgres_ctl, slow_data,
                                                                            tmp_path):
    name = f"gone-{uuid.uuid4().hex[:8]}"
    args = run_args(slow_data, "--trials", "2", "--epochs", "3", "--storage", postgres_url, "--study-name", name,
                    "--db-patience", "3")
    proc = sweep_process(*args, cwd=tmp_path)
    wait_for(lambda: checkpoints_of(tmp_path, name), proc)
    postgres_ctl("stop")
    try:
        code, out, err = finished(proc, timeout=120)
    finally:
        postgres_ctl("start")
    said = [line for line in err.splitlines() if line.startswith("sweep:")]
    assert code == 1 and "Traceback" not in err, err
    assert len(said) == 2 and said[0].startswith("sweep: database unreachable"), said
    assert said[1].startswith("sweep: database error:") and "still unreachable after 3 s" in said[1], said
    code, out, err = finished(sweep_process(*args, cwd=tmp_path))
    assert code == 0, err
    done, states = census(postgres_url, name)
    assert set(done) == {(0.0, 0), (0.05, 0)} and set(done.values()) == {1} and RUNNING not in states


def test_sigterm_during_an_outage_ends_within_30_s_and_a_rerun_finishes_every_cell_once(
        postgres_url, postgres_ctl, slow_data, tmp_path):
    """With the server down, the worker trains on while its epoch records wait for the database (patience
    300 s): a scheduler's SIGTERM must still end the run inside its grace period, leaving its trials to go stale,
    and a rerun finishes each cell. One worker, in the process signalled: no parent's kill after 25 s hides a
    wait."""
    name = f"term-{uuid.uuid4().hex[:8]}"
    args = run_args(slow_data, "--trials", "2", "--epochs", "12", "--storage", postgres_url, "--study-name", name)
    proc = sweep_process(*args, cwd=tmp_path, start_new_session=True)
    wait_for(lambda: checkpoints_of(tmp_path, name), proc)
    postgres_ctl("stop")
    try:
        time.sleep(3)  # every worker meets the outage: its epoch records and heartbeats retry
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        code, out, err = finished(proc, timeout=120)
        took = time.monotonic() - t0
    finally:
        postgres_ctl("start")
    assert took < 30 and code == 143 and "Traceback" not in err, (took, err)
    said = [line for line in err.splitlines() if line.startswith("sweep: stopped")]
    assert len(said) == 1, err
    code, out, err = finished(sweep_process(*args, cwd=tmp_path))
    assert code == 0, err
    done, states = census(postgres_url, name)
    assert set(done) == {(0.0, 0), (0.05, 0)} and set(done.values()) == {1}
    assert RUNNING not in states and optuna.trial.TrialState.WAITING not in states


def drain(pipe, into: list) -> None:
    for line in pipe:
        into.append(line)


def test_a_server_down_at_start_up_is_waited_for_and_the_run_goes_on(postgres_url, postgres_ctl, folder_data,
                                                                     tmp_path):
    """A job started while its database restarts waits for it within --db-patience, instead of ending as bad
    input (exit 2) that a job array would not retry."""
    name = f"late-{uuid.uuid4().hex[:8]}"
    args = ["run", "--trials", "2", "--epochs", "1", "--storage", postgres_url, "--study-name", name, "--data-dir",
            str(folder_data), "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "--workers", "1",
            "--no-report", "--db-patience", "120"]
    postgres_ctl("stop")
    proc = sweep_process(*args, cwd=tmp_path)
    lines = []  # stderr as it comes; stdout drained beside it, so that neither pipe fills
    readers = [threading.Thread(target=drain, args=(pipe, into), daemon=True)
               for pipe, into in ((proc.stderr, lines), (proc.stdout, []))]
    for reader in readers:
        reader.start()
    try:
        # The server comes back only once the job has met it stopped: a slow start-up (imports on a loaded
        # machine) must not let it find the server up at its first try.
        end = time.monotonic() + 120
        while not any("sweep: database unreachable" in line for line in lines):
            assert proc.poll() is None and time.monotonic() < end, "".join(lines)
            time.sleep(0.05)
        time.sleep(1)
        assert proc.poll() is None, "".join(lines)  # still waiting, not refused
    except BaseException:
        proc.kill()
        raise
    finally:
        postgres_ctl("start")
    code = proc.wait(timeout=300)
    for reader in readers:
        reader.join(timeout=60)
        assert not reader.is_alive()
    err = "".join(lines)
    assert code == 0 and "Traceback" not in err, err
    assert "sweep: database unreachable" in err and "sweep: database back after" in err
    done, states = census(postgres_url, name)
    assert set(done) == {(0.0, 0), (0.05, 0)} and set(done.values()) == {1}


def test_a_worker_starting_just_after_a_restart_expires_no_trial_the_outage_held_back(postgres_url, postgres_ctl):
    """a holds a cell and cannot beat while the server is down (longer than its grace); b starts right after the
    restart, having seen no outage itself. b leaves a's cell alone until a has had its grace since the restart,
    and takes it over only once a stays silent past that."""
    from sweep.study.queue import Queue
    from sweep.study.space import grid_cells
    from sweep.study.storage import open_storage, prepare_study

    interval, name = 4.0, f"grace-{uuid.uuid4().hex[:8]}"  # grace: 3 beats, 12 s (b claims well within it)
    storage = open_storage(postgres_url)
    cells = grid_cells([0.0, 0.1], 2)
    a = Queue(prepare_study(storage, name, {"protocol": "test"}, "test"), storage, cells, None, interval, worker="a")
    (held,) = a.claim(1)
    storage.engine.dispose()
    postgres_ctl("stop")
    time.sleep(3 * interval + 2)  # a's last beat is now older than its grace
    postgres_ctl("start")
    fresh = open_storage(postgres_url)
    b = Queue(optuna.load_study(study_name=name, storage=fresh), fresh, cells, None, interval, worker="b")
    assert not b.in_outage_grace()  # b saw no outage of its own
    assert [h.cell.key for h in b.claim(2)] == ["eps=0.1/seed=0"]  # a's cell stays a's
    time.sleep(3 * interval + 1)  # a stays silent past its grace since the restart
    (taken,) = b.claim(1)
    assert taken.cell == held.cell and taken.attempt == 1
    fresh.engine.dispose()


def checkpoints_of(cwd, name):
    return list((cwd / "studies" / name / "checkpoints").glob("*.pt"))


def test_progress_counts_cells_finished_by_other_runs_as_they_finish():
    import io

    from sweep.progress import Progress

    p = Progress(total=6, done=0, busy=["eps=0.1/seed=0", "eps=0.2/seed=0", "eps=0/seed=1"], epochs=2,
                 stream=io.StringIO(), live=False)
    assert p.elsewhere == 3 and p.left() == 3
    p.started(["eps=0/seed=0"])
    p.census(done=2, busy=["eps=0/seed=0", "eps=0/seed=1"])  # another run finished two of its three, holds one
    assert p.done == 2 and p.elsewhere == 1 and p.left() == 2
    p.finished("eps=0/seed=0", "trial 0 ...")
    p.census(done=3, busy=["eps=0/seed=1"])  # ours counted once, not twice
    assert p.done == 3 and p.elsewhere == 1 and p.left() == 2


def test_progress_of_several_workers_matches_held_cells_whatever_order_their_events_reach_the_parent():
    """Worker b's census (it sees a's cell held) can reach the parent before a's `started`, and a census read
    before a's trial ended can arrive after its `finished`: neither is a cell held elsewhere."""
    import io

    from sweep.progress import Progress

    p = Progress(total=2, done=0, busy=[], epochs=3, stream=io.StringIO(), live=False)
    p.census(done=0, busy=["a"])  # from b, before a's `started`
    assert p.elsewhere == 1  # all the parent knows so far
    p.started(["a"])
    p.census(done=0, busy=["a"])  # a's own
    p.started(["b"])
    assert p.elsewhere == 0 and p.left() == 0 and "elsewhere" not in p.summary()
    p.finished("a", "trial 0 ...")
    p.census(done=0, busy=["a", "b"])  # b's, read just before a's trial was told
    assert p.elsewhere == 0 and p.done == 1 and p.left() == 0
    p.finished("b", "trial 1 ... was taken over", counted=False)
    p.census(done=1, busy=["b"])  # another run holds b now
    assert p.elsewhere == 1 and p.left() == 0


def test_spawned_workers_are_told_when_their_parent_last_found_the_database_away(monkeypatch):
    """The parent waited out an outage while opening or queueing: each worker it spawns gives the others their
    grace from then, as a single-process run does (its own queue starts from the same moment)."""
    import io
    import types

    import torch

    from sweep import launch
    from sweep.progress import Progress

    seen = []

    def popen(argv, **kw):
        seen.append(argv)
        return types.SimpleNamespace(stdout=io.StringIO(""), wait=lambda: 0)

    monkeypatch.setattr(launch.subprocess, "Popen", popen)
    progress = Progress(total=2, done=0, busy=[], epochs=1, stream=io.StringIO(), live=False)
    args = types.SimpleNamespace(argv=["run", "--trials", "2"])
    launch._spawn_workers(args, torch.device("cpu"), 2, 1, progress, time.monotonic() - 7)
    launch._spawn_workers(args, torch.device("cpu"), 2, 1, progress, -math.inf)  # no outage: no flag
    ago = [float(argv[argv.index("--trouble-ago") + 1]) for argv in seen[:2]]
    assert len(seen) == 4 and all(7 <= a < 30 for a in ago)
    assert not any("--trouble-ago" in argv for argv in seen[2:])


def test_a_worker_told_of_an_outage_takes_no_cell_as_stale_within_the_grace(folder_data, workdir):
    import torch

    from sweep import launch
    from sweep.cli import build_parser
    from sweep.study.queue import Queue

    argv = ["worker", "--trials", "2", "--epochs", "1", "--data-dir", str(folder_data), "--cache-dir", "cache",
            "--no-report", "--trouble-ago", "7", "--study-name", "label-smoothing"]
    args = build_parser().parse_args(argv)
    args.argv = argv
    o = launch._open(args, torch.device("cpu"))
    assert time.monotonic() - 12 < o.trouble_at <= time.monotonic() - 7
    queue = Queue(o.study, o.storage, o.cells, None, args.heartbeat_interval)  # grace: 3 beats, 60 s by default
    queue.trouble_at = o.trouble_at  # as run_worker does with the config `_train_here` makes from it
    assert queue.in_outage_grace()
    o.storage.engine.dispose()
