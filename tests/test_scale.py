"""Scale-out: the queue, runs started together, mixed resumes, GPU scheduling arithmetic."""

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
import torch

from sweep.study.queue import Queue
from sweep.study.storage import HOLDS
from sweep.study.space import grid_cells
from sweep.training.plan import MAX_BATCH_TRIALS, PER_TRIAL_BYTES, plan_batch_trials, plan_workers, share_of
from sweep.study.storage import open_storage, prepare_study
from tests.conftest import ROOT, sweep_process, write_pickles

COMPLETE, FAIL, RUNNING, WAITING = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL,
                                    optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
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
                        lambda args, device, workers, share, progress, trouble_at: spawned.update(workers=workers, share=share)
                        or [0] * workers)  # every worker's exit code
    monkeypatch.setattr("sweep.cli.resolve_device", lambda name: torch.device("cuda"))
    code, out, err = cli("run", "--trials", "10", "--epochs", "1", "--no-report", "--workers", "auto")
    assert code == 0, err
    assert spawned == {"workers": 4, "share": 3} and "(4 workers)" in out


# ------------------------------------------------------------------ the queue, step by step

def board_pair(tmp_path, interval=10.0):
    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    study = prepare_study(storage, "s", {"protocol": "test"}, "test")
    cells = grid_cells([0.0, 0.1], 2)
    a = Queue(study, storage, cells, None, interval, worker="a")
    b = Queue(study, storage, cells, None, interval, worker="b")
    return storage, study, a, b


def age_heartbeats(storage, seconds: float) -> None:
    """Every heartbeat `seconds` older, as if its worker had fallen silent that long ago."""
    with storage.engine.begin() as conn:
        for tid, beat in conn.execute(sa.select(HOLDS.c.trial_id, HOLDS.c.heartbeat)).all():
            conn.execute(HOLDS.update().where(HOLDS.c.trial_id == tid)
                         .values(heartbeat=beat - datetime.timedelta(seconds=seconds)))


def states(study) -> list:
    return [t.state for t in study.get_trials()]


def test_every_cell_waits_as_a_trial_with_its_parameters_before_any_worker_takes_it(tmp_path):
    storage, study, a, b = board_pair(tmp_path)
    assert a.enqueue() == 2 and b.enqueue() == 0  # idempotent: a second starter adds nothing
    trials = study.get_trials()
    assert states(study) == [WAITING, WAITING]
    assert [(t.params["label_smoothing"], t.params["seed"], t.user_attrs["cell"]) for t in trials] == [
        (0.0, 0, "eps=0/seed=0"), (0.1, 0, "eps=0.1/seed=0")]


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
    assert study._storage.get_trial(held[0].trial_id).state == FAIL
    assert a.complete(held[0], 0.5) is False  # a learns it lost the cell, and tells Optuna nothing
    assert a.complete(held[1], 0.6) is True  # silent but not taken over: still a's to finish
    assert b.complete(taken, 0.7) is True
    done = Counter(t.user_attrs["cell"] for t in study.get_trials(states=(COMPLETE,)))
    assert done == Counter({"eps=0/seed=0": 1, "eps=0.1/seed=0": 1})
    assert b.status()["done"] == a.cells


def test_a_failed_cell_waits_again_at_once_under_the_next_attempt(tmp_path):
    storage, study, a, b = board_pair(tmp_path)
    first = a.claim(1)[0]
    a.fail(first, mark="interrupted")
    failed = study._storage.get_trial(first.trial_id)
    assert failed.state == FAIL and failed.user_attrs["interrupted"] is True
    assert states(study) == [FAIL, WAITING, WAITING]  # the cell's next attempt waits, with the untouched cell
    again = b.claim(1)[0]
    assert again.cell == first.cell and again.attempt == 1


def test_a_signal_between_telling_optuna_and_recording_the_cell_does_not_reopen_it(tmp_path):
    """SIGTERM right after the trial was told COMPLETE: the hand-back on the way out must leave the cell done,
    or the rerun trains it again (two COMPLETE trials)."""
    storage, study, a, b = board_pair(tmp_path)
    held = a.claim(1)[0]
    study.tell(held.number, 0.5)  # complete()'s step, committed; the signal lands before the worker hears
    a.release_all(mark="interrupted")
    assert study._storage.get_trial(held.trial_id).state == COMPLETE
    assert held.cell in b.status()["done"] and held.cell not in b.status()["open"]
    assert all(c.cell != held.cell for c in b.claim(2))  # the rerun leaves it alone


def test_two_workers_popping_the_same_waiting_trial_one_wins(tmp_path):
    """The pop is a compare-and-set on the trial's state: the loser moves on to the next cell."""
    storage, study, a, b = board_pair(tmp_path)
    a.enqueue()
    first = study.get_trials()[0]._trial_id
    assert a._pop(first) is True and b._pop(first) is False
    (got,) = b.claim(1)
    assert got.cell.key == "eps=0.1/seed=0"
    assert states(study) == [RUNNING, RUNNING]


def test_a_pop_whose_answer_was_lost_is_taken_up_again_not_stranded(tmp_path):
    """The pop committed but the worker never heard so: its retry takes up the same trial, not a second one."""
    storage, study, a, b = board_pair(tmp_path)
    a.enqueue()
    a._pop(study.get_trials()[0]._trial_id)  # committed; the answer lost
    (first,) = a.claim(1)
    assert first.cell.key == "eps=0/seed=0" and first.attempt == 0
    assert b.claim(2)[0].cell.key == "eps=0.1/seed=0"  # b neither takes it nor waits for it
    assert a.complete(first, 0.5)
    assert states(study).count(COMPLETE) == 1 and len(study.get_trials()) == 2
    assert a.claim(1) == [] and a.counts == {"done": 1, "busy": ["eps=0.1/seed=0"]}


def test_a_claim_cut_short_by_a_blip_returns_every_trial_it_popped_when_retried(tmp_path):
    """The second pop of a claim meets a dropped connection after the first committed: the retried claim must
    hand back both cells, not leave the first popped, beating and never trained."""
    from sweep.study.patience import Patience
    from tests.test_blips import operational

    storage, study, a, b = board_pair(tmp_path)
    real_pop, calls = a._pop, []

    def flaky_pop(trial_id):
        calls.append(trial_id)
        if len(calls) == 2:
            raise operational()
        return real_pop(trial_id)

    a._pop = flaky_pop
    got = Patience(5, say=lambda line: None, first_delay=0.01)(a.claim, 2)
    assert sorted(h.cell.key for h in got) == ["eps=0.1/seed=0", "eps=0/seed=0"]
    assert sorted(a.held) == ["eps=0.1/seed=0", "eps=0/seed=0"]
    assert all(a.complete(h, 0.5) for h in got) and a.status()["done"] == a.cells


def test_a_retried_claim_hands_back_its_own_pops_before_popping_cells_that_opened_meanwhile(tmp_path):
    """The claim is cut short after its first pop; before the retry, an earlier cell is handed back by another
    worker. The retry must still return the trial it popped, not fill up with new cells and leave it unheld."""
    from sweep.study.patience import Patience
    from tests.test_blips import operational

    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    study = prepare_study(storage, "s", {"protocol": "test"}, "test")
    cells = grid_cells([0.0, 0.1], 4)
    a, b = (Queue(study, storage, cells, None, 10.0, worker=w) for w in "ab")
    (first,) = b.claim(1)
    real_pop, calls = a._pop, []

    def flaky_pop(trial_id):
        calls.append(trial_id)
        if len(calls) == 2:
            b.fail(first)  # meanwhile, b hands its cell back
            raise operational()
        return real_pop(trial_id)

    a._pop = flaky_pop
    got = Patience(5, say=lambda line: None, first_delay=0.01)(a.claim, 2)
    assert [h.cell.key for h in got] == ["eps=0.1/seed=0", "eps=0/seed=0"]
    running = {t._trial_id for t in study.get_trials(states=(RUNNING,))}
    assert set(a.held.values()) == {h.trial_id for h in got} == running


def test_a_cell_told_complete_just_before_its_worker_fell_silent_is_never_run_again(tmp_path):
    """A silent worker told Optuna just before it was taken for dead: the cell is done, and the next claimant
    goes on to the next cell."""
    storage, study, a, b = board_pair(tmp_path)
    held = a.claim(1)[0]
    study.tell(held.number, 0.5)  # a told Optuna, then stalled before it heard so
    age_heartbeats(storage, 100)
    claimed = b.claim(1)
    assert [c.cell.key for c in claimed] == ["eps=0.1/seed=0"]
    assert "eps=0/seed=0" in [c.key for c in b.status()["done"]]


def test_a_running_trial_no_attempt_names_is_failed_by_tidy_and_its_cell_run(tmp_path):
    """An older sweep's worker killed mid-trial leaves a RUNNING trial outside the queue: tidy fails it."""
    storage, study, a, b = board_pair(tmp_path)
    orphan = study.ask()
    orphan.set_user_attr("cell", "eps=0/seed=0")
    live = a.claim(1)[0]  # a's popped trial is named by its attempt and must stay RUNNING throughout
    assert live.cell.key == "eps=0/seed=0" and live.attempt == 1  # numbered after the older attempt
    assert b.tidy() == 1
    by_id = {t._trial_id: t.state for t in study.get_trials()}
    assert by_id[orphan._trial_id] == FAIL and by_id[live.trial_id] == RUNNING


def test_a_worker_taken_for_dead_while_its_pop_was_slow_keeps_nothing(tmp_path):
    """a pops, then is starved past its grace before training: b expires the trial and runs the cell; a's
    records and its tell find the trial FAIL."""
    from sweep.study.records import write_records

    storage, study, a, b = board_pair(tmp_path)
    (held,) = a.claim(1)
    age_heartbeats(storage, 100)
    (taken,) = b.claim(1)
    assert taken.cell == held.cell and taken.attempt == 1
    assert write_records(storage, {held.trial_id: ({1: 0.4}, {})}) == {held.trial_id}
    assert a.complete(held, 0.5) is False and b.complete(taken, 0.6) is True


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
    from sweep.training.data import load

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
    from sweep.training.data import load

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


def test_a_sampled_eps_is_kept_by_the_retry_so_that_it_can_resume(tmp_path):
    """With --eps-range, ε is drawn when a slot is first popped; a retry of that slot trains the same ε (and so
    finds its checkpoint), not a fresh draw."""
    from sweep.study.space import range_cells

    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    study = prepare_study(storage, "s", {"protocol": "test"}, "test")
    a = Queue(study, storage, range_cells(12), (0.0, 0.3), 10.0, worker="a")
    first, *others = a.claim(11)
    assert 0.0 <= first.eps <= 0.3 and first.cell.key == "slot=0"
    for h in others:  # ten finished trials: TPE is past its random start-up, so a fresh draw would differ
        assert a.complete(h, 0.5 + h.eps)
    a.fail(first, mark="interrupted")
    again = a.claim(1)[0]
    assert again.cell.key == "slot=0" and again.attempt == 1 and again.eps == first.eps


def test_a_study_deleted_and_made_anew_under_the_same_ids_starts_clean(tmp_path):
    """SQLite gives a deleted study's ids (the study's and its trials') to the next ones: the attempts left
    behind must not pass for the new study's."""
    from sweep.study.storage import BLOCKS

    storage, study, a, _ = board_pair(tmp_path)
    a.complete(a.claim(1)[0], 0.5)
    with storage.engine.begin() as conn:  # an --until-precise block of the old study
        conn.execute(BLOCKS.insert().values(study_id=study._study_id, seed=2, decided_at=0.0, worker="a", record="{}"))
    optuna.delete_study(study_name="s", storage=storage)
    again = prepare_study(storage, "s2", {"protocol": "test"}, "test")
    assert again._study_id == study._study_id  # the id is reused here, as the test needs
    assert Queue(again, storage, grid_cells([0.0, 0.1], 2), None, 10.0, epsilons=[0.0, 0.1]).blocks() == []
    fresh = Queue(again, storage, grid_cells([0.0, 0.1], 2), None, 10.0, worker="c")
    fresh.tidy()
    got = fresh.claim(2)
    assert [h.cell.key for h in got] == ["eps=0/seed=0", "eps=0.1/seed=0"] and {h.attempt for h in got} == {0}
    assert all(fresh.complete(h, 0.5) for h in got) and fresh.status()["done"] == fresh.cells
