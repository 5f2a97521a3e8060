"""Scale-out: the claim protocol, runs started together, mixed resumes, GPU scheduling arithmetic."""

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
import torch

from sweep.cells import CELLS, CellBoard
from sweep.space import grid_cells
from sweep.launch import MAX_BATCH_TRIALS, PER_TRIAL_BYTES, plan_batch_trials, plan_workers, share_of
from sweep.storage import open_storage, prepare_study
from tests.conftest import ROOT, sweep_process, write_pickles

COMPLETE, FAIL, RUNNING = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL,
                           optuna.trial.TrialState.RUNNING)
GiB = 2**30


# ------------------------------------------------------------------ scheduling arithmetic

def test_gpu_workers_take_an_even_share_of_the_cells_as_far_as_it_fits():
    assert plan_workers("auto", "cuda", gpus=4, cores=16, open_cells=20) == 4
    assert plan_workers("auto", "cuda", gpus=8, cores=16, open_cells=3) == 3  # no idle GPU worker
    assert share_of(20, 4) == 5 and share_of(21, 4) == 6 and share_of(3, 8) == 1
    # 80 GiB free: the share fits; the cap holds for a huge share; little memory limits it.
    assert plan_batch_trials("auto", "cuda", share=5, free_bytes=80 * GiB) == 5
    assert plan_batch_trials("auto", "cuda", share=1000, free_bytes=80 * GiB) == MAX_BATCH_TRIALS
    assert plan_batch_trials("auto", "cuda", share=100, free_bytes=4 * GiB) == int(4 * GiB * 0.8) // PER_TRIAL_BYTES
    assert plan_batch_trials("auto", "cuda", share=100, free_bytes=100 * 2**20) == 1
    assert plan_batch_trials(3, "cuda", share=100, free_bytes=80 * GiB) == 3
    # Three workers on one GPU split its memory: none sizes itself as if it were alone.
    assert plan_batch_trials("auto", "cuda", share=64, free_bytes=80 * GiB, peers=3) == int(
        80 * GiB * 0.8 / 3) // PER_TRIAL_BYTES
    for cells, gpus in ((20, 4), (21, 4), (64, 3), (1, 8), (200, 8)):
        workers = plan_workers("auto", "cuda", gpus=gpus, cores=16, open_cells=cells)
        share = share_of(cells, workers)
        assert workers * share >= cells and (workers - 1) * share < cells  # all covered, none idle


def test_cpu_workers_are_one_per_core_and_one_trial_at_a_time():
    assert plan_workers("auto", "cpu", gpus=0, cores=2, open_cells=20) == 2
    assert plan_workers("auto", "cpu", gpus=0, cores=64, open_cells=20) == 8
    assert plan_workers("auto", "cpu", gpus=0, cores=16, open_cells=1) == 1
    assert plan_workers(5, "cpu", gpus=0, cores=2, open_cells=1) == 5
    assert plan_batch_trials("auto", "cpu", share=10) == 1


def test_the_parent_spawns_gpu_workers_without_touching_a_gpu(cli, monkeypatch):
    """With faked GPUs, the parent counts them and hands each worker its share, and nothing more."""
    import sweep.launch as launch

    def touched(*args, **kwargs):
        raise AssertionError("the parent process touched the GPU")

    for name in ("mem_get_info", "init", "set_device", "synchronize"):
        monkeypatch.setattr(torch.cuda, name, touched)
    monkeypatch.setattr(torch.Tensor, "cuda", touched)
    spawned = {}
    monkeypatch.setattr(launch, "_gpu_count", lambda device: 4)
    monkeypatch.setattr(launch, "_spawn_workers",
                        lambda args, device, workers, share, progress: spawned.update(workers=workers, share=share)
                        or [0] * workers)  # every worker's exit code
    monkeypatch.setattr("sweep.cli.resolve_device", lambda name: torch.device("cuda"))
    code, out, err = cli("run", "--trials", "10", "--epochs", "1", "--no-report", "--workers", "auto")
    assert code == 0, err
    assert spawned == {"workers": 4, "share": 3} and "(4 workers)" in out


# ------------------------------------------------------------------ the claim protocol, step by step

def board_pair(tmp_path, interval=10.0):
    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    study = prepare_study(storage, "s", {"protocol": "test"}, "test")
    cells = grid_cells([0.0, 0.1], 2)
    a = CellBoard(study, storage, cells, None, interval, worker="a")
    b = CellBoard(study, storage, cells, None, interval, worker="b")
    return storage, study, a, b


def age_heartbeats(storage, seconds: float) -> None:
    with storage.engine.begin() as conn:
        conn.execute(CELLS.update().values(beat_at=CELLS.c.beat_at - seconds))


def test_a_cell_is_held_while_its_worker_beats_and_taken_over_once_it_is_silent(tmp_path):
    storage, study, a, b = board_pair(tmp_path)
    held = a.claim(2)
    assert [c.cell.key for c in held] == ["eps=0/seed=0", "eps=0.1/seed=0"]
    assert b.claim(2) == [] and len(b.status()["busy"]) == 2
    age_heartbeats(storage, 100)
    a.beat()  # one beat covers every cell a holds, the one training and the one waiting alike
    assert b.claim(2) == [] and len(b.status()["busy"]) == 2

    age_heartbeats(storage, 100)  # a falls silent: its cells reopen, b takes the first over
    assert len(b.status()["open"]) == 2
    (taken,) = b.claim(1)
    assert taken.cell == held[0].cell and taken.attempt == 1
    assert study._storage.get_trial(held[0].trial._trial_id).state == FAIL
    assert a.complete(held[0], 0.5) is False  # a learns it lost the cell, and tells Optuna nothing
    assert a.complete(held[1], 0.6) is True  # silent but not taken over: still a's to finish
    assert b.complete(taken, 0.7) is True
    done = Counter(t.user_attrs["cell"] for t in study.get_trials(states=(COMPLETE,)))
    assert done == Counter({"eps=0/seed=0": 1, "eps=0.1/seed=0": 1})
    assert b.status()["done"] == a.cells


def test_a_failed_cell_reopens_at_once_under_the_next_attempt(tmp_path):
    storage, study, a, b = board_pair(tmp_path)
    first = a.claim(1)[0]
    a.fail(first, mark="interrupted")
    assert study._storage.get_trial(first.trial._trial_id).state == FAIL
    again = b.claim(1)[0]
    assert again.cell == first.cell and again.attempt == 1


def test_a_signal_between_telling_optuna_and_recording_the_cell_does_not_reopen_it(tmp_path):
    """SIGTERM after `study.tell` committed but before the claim says done: the hand-back on the way out must
    find the trial COMPLETE and record the cell done, or the rerun trains it again (two COMPLETE trials)."""
    storage, study, a, b = board_pair(tmp_path)
    held = a.claim(1)[0]
    study.tell(held.trial, 0.5)  # complete()'s first step, committed; the signal lands before its second
    a.release_all(mark="interrupted")
    assert study._storage.get_trial(held.trial._trial_id).state == COMPLETE
    assert held.cell in b.status()["done"] and held.cell not in b.status()["open"]
    assert all(c.cell != held.cell for c in b.claim(2))  # the rerun leaves it alone


def test_a_trial_orphaned_by_a_kill_after_ask_is_failed_once_its_claim_is_stale(tmp_path):
    """SIGKILL between creating the trial and naming it in the claim row: no claim names that trial."""
    storage, study, a, b = board_pair(tmp_path)
    live = a.claim(1)[0]  # a's trial is named by its claim and must stay RUNNING throughout
    with storage.engine.begin() as conn:  # what the dead worker left: its claim row, still empty ...
        conn.execute(CELLS.insert().values(study_id=study._study_id, cell="eps=0.1/seed=0", attempt=0, worker="dead",
                                           state="running", claimed_at=0.0, grace=30.0,
                                           beat_at=conn.execute(sa.select(b.now)).scalar()))
    orphan = study.ask()  # ... and the trial it made
    assert b.tidy() == 0  # an empty claim not yet expired: its worker may be between the two steps
    age_heartbeats(storage, 100)
    a.beat()
    (taken,) = b.claim(1)  # the next claimant expires the dead claim, and with it fails the orphan
    assert taken.cell.key == "eps=0.1/seed=0" and taken.attempt == 1
    assert study._storage.get_trial(orphan._trial_id).state == FAIL
    states = {t._trial_id: t.state for t in study.get_trials()}
    assert states[live.trial._trial_id] == RUNNING and states[taken.trial._trial_id] == RUNNING


def test_a_worker_too_slow_to_name_its_trial_loses_the_claim_and_keeps_nothing(tmp_path):
    """a is starved between creating its trial and naming it; b takes the cell for dead meanwhile."""
    storage, study, a, _ = board_pair(tmp_path)
    b = CellBoard(optuna.load_study(study_name="s", storage=storage), storage, a.cells, None, 10.0, worker="b")
    real_ask, taken = study.ask, []

    def starved_ask(*args, **kw):
        trial = real_ask(*args, **kw)
        if not taken:  # the first claim only
            age_heartbeats(storage, 100)
            taken.extend(b.claim(1))
        return trial

    study.ask = starved_ask
    assert a.claim(1)[0].cell.key == "eps=0.1/seed=0"  # lost the first cell, went on to the next
    assert [c.cell.key for c in taken] == ["eps=0/seed=0"] and taken[0].attempt == 1
    first = [t for t in study.get_trials() if t.number == 0][0]
    assert first.state == FAIL  # a's trial for the lost cell: failed by a itself, never told COMPLETE


def test_no_reader_takes_a_cell_for_open_while_its_trial_is_being_checked(tmp_path):
    """A silent worker told Optuna just before it was taken for dead: the cell is done, never run again."""
    storage, study, a, b = board_pair(tmp_path)
    held = a.claim(1)[0]
    study.tell(held.trial, 0.5)  # a told Optuna, then stalled before marking its cell done
    age_heartbeats(storage, 100)
    seen = []
    real_fail = b._fail_trial

    def checking(trial_id):  # while b checks the trial, a third reader looks at the cell
        seen.append(CellBoard(study, storage, a.cells, None, 10.0, worker="c")._latest()[0]["eps=0/seed=0"].state)
        return real_fail(trial_id)

    b._fail_trial = checking
    claimed = b.claim(1)
    assert seen == ["expiring"] and [c.cell.key for c in claimed] == ["eps=0.1/seed=0"]
    assert "eps=0/seed=0" in [c.key for c in b.status()["done"]]


# ------------------------------------------------------------------ whole runs racing

@pytest.fixture
def empty_database(postgres_url):
    """A new, empty PostgreSQL database (no Optuna tables yet), dropped afterwards."""
    name = f"sweep_empty_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def start_together(argvs: list[list[str]], cwd: Path) -> list[subprocess.Popen]:
    """One `python -m sweep` process per argv, released at the same instant once all have imported."""
    gate = cwd / f"gate-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.gated_run", str(gate), *args], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in argvs]
    end = time.time() + 180
    while len(list(cwd.glob(f"{gate.name}.ready.*"))) < len(argvs):
        assert time.time() < end and all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.05)
    gate.touch()
    return procs


def test_six_runs_started_at_the_same_instant_on_an_empty_database_all_proceed(empty_database, folder_data,
                                                                                tmp_path):
    from sweep.data import load

    cache = tmp_path / "cache"
    load(folder_data, cache)  # decoded once here, so the six read one cache
    for study in ("first", "second"):  # an empty database, then a fresh study in the same database
        args = ["run", "--trials", "6", "--epochs", "1", "--workers", "1", "--storage", empty_database,
                "--study-name", study, "--data-dir", str(folder_data), "--cache-dir", str(cache),
                "--device", "cpu", "--no-report"]
        results = [p.communicate(timeout=300) + (p.returncode,) for p in start_together([args] * 6, tmp_path)]
        for out, err, code in results:
            assert code == 0 and "Traceback" not in err, err
        trials = optuna.load_study(study_name=study, storage=empty_database).trials
        assert Counter(t.user_attrs["cell"] for t in trials if t.state == COMPLETE) == Counter(
            c.key for c in grid_cells([0.0, 0.05, 0.1, 0.2], 6))
        assert len(trials) == 6  # no trial was started and abandoned


def test_a_study_with_another_protocol_is_refused_in_one_line_when_started_together(postgres_url, folder_data,
                                                                                   tmp_path):
    from sweep.data import load

    cache = tmp_path / "cache"
    load(folder_data, cache)
    name = f"together-{uuid.uuid4().hex[:8]}"
    base = ["run", "--trials", "2", "--storage", postgres_url, "--study-name", name, "--data-dir", str(folder_data),
            "--cache-dir", str(cache), "--device", "cpu", "--no-report", "--workers", "1"]
    argvs = [base + ["--epochs", "1"]] * 2 + [base + ["--epochs", "2"]]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in start_together(argvs, tmp_path)]
    winners = {args[-1] for args, (_, _, code) in zip(argvs, results) if code == 0}
    assert len(winners) == 1  # whichever protocol came first, only its runs proceed
    for args, (out, err, code) in zip(argvs, results):
        if args[-1] in winners:
            assert code == 0, err
        else:
            assert code == 2 and len(err.strip().splitlines()) == 1 and "another protocol" in err, err


@pytest.fixture(scope="module")
def slow_data(tmp_path_factory) -> Path:
    return write_pickles(tmp_path_factory.mktemp("slow"), train_per_class=150, test_per_class=20)


def test_a_rerun_mixing_resumed_and_fresh_cells_with_a_racing_worker_completes_each_cell_once(slow_data, tmp_path):
    """Cell 0 resumes from epoch 2 beside a fresh cell (K = 2); the fresh one waits its turn, beating.

    The resumed group trains 6 epochs, longer than the 6 s grace of a 2 s heartbeat: a waiting cell
    without heartbeats would be taken over by the racing worker meanwhile.
    """
    common = ["run", "--data-dir", str(slow_data), "--cache-dir", str(slow_data / "cache"), "--device", "cpu",
              "--heartbeat-interval", "2", "--no-report", "--workers", "1", "--epochs", "8"]
    first = sweep_process(*common, "--trials", "1", cwd=tmp_path)
    ckpt = tmp_path / "studies" / "label-smoothing" / "checkpoints" / "eps=0_seed=0.pt"

    def saved_epoch():
        try:
            return torch.load(ckpt, weights_only=True)["checkpoint"]["epoch"]
        except Exception:
            return 0

    end = time.time() + 120
    while saved_epoch() < 2:
        assert time.time() < end and first.poll() is None, first.communicate()
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    resume_at = saved_epoch()
    url = f"sqlite:///{tmp_path}/studies/label-smoothing.db"
    storage = open_storage(url)
    age_heartbeats(storage, 1000)  # the killed worker is taken for dead at once: the first claim takes its cell
    procs = [sweep_process(*common, "--trials", "4", "--batch-trials", "2", cwd=tmp_path) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "Traceback" not in err and "taken over" not in err, err
    trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
    done = [t for t in trials if t.state == COMPLETE]
    assert Counter(t.user_attrs["cell"] for t in done) == Counter(c.key for c in grid_cells([0.0, 0.05, 0.1, 0.2], 4))
    resumed = [t for t in done if t.user_attrs["cell"] == "eps=0/seed=0"][0]
    assert resumed.user_attrs["resumed_from_epoch"] == resume_at and resumed.user_attrs["attempt"] == 1
    assert sorted(resumed.intermediate_values) == list(range(1, 9))
    assert any(t.user_attrs["trials_together"] == 1 and t.user_attrs["resumed_from_epoch"] == 0 for t in done), \
        "the resumed cell's fresh partner trained as a group of its own, after waiting"
    assert sum(t.state == FAIL for t in trials) == 1  # only the killed attempt


# ------------------------------------------------------------------ the claim protocol under load

def test_sixteen_workers_race_over_a_thousand_cells_with_kills_and_each_cell_completes_once(postgres_url):
    from tests.claim_load import load_test

    r = load_test(postgres_url, workers=16, cells=1000, kill=3, heartbeat=3.0)
    assert r["killed"] == 3
    assert sorted(r["codes"]) == [-signal.SIGKILL] * 3 + [0] * 13, r["stderr"]
    per_cell = r["complete_per_cell"]
    assert len(per_cell) == 1000 and set(per_cell.values()) == {1}
