"""Trial times in every time zone: what sweep writes into Optuna's trials is naive UTC, as Optuna 5 writes it,
so durations, the dashboard's times and the report's wall time are true under any TZ, on SQLite and PostgreSQL."""

import datetime
import re
import time
import uuid

import optuna
import pytest

from sweep.study.queue import Queue
from sweep.study.space import grid_cells
from sweep.study.storage import open_storage, prepare_study
from tests.conftest import sweep_process
from tests.test_faults import finished
from tests.test_scale import age_heartbeats

ZONES = ("America/New_York", "Asia/Tokyo")  # west and east of UTC: -5/-4 h and +9 h
FAIL = optuna.trial.TrialState.FAIL


@pytest.fixture
def zone(request, monkeypatch):
    """This process and the processes it starts in another time zone; the zone restored after."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def storage_url(kind: str, tmp_path, request) -> str:
    return f"sqlite:///{tmp_path / 'zones.db'}" if kind == "sqlite" else request.getfixturevalue("postgres_url")


def near_now(when: datetime.datetime) -> bool:
    """`when` (naive local time, as Optuna hands a trial's datetimes back) within two minutes of now."""
    return abs((datetime.datetime.now() - when).total_seconds()) < 120


@pytest.mark.parametrize("zone", ZONES, indirect=True)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_run_outside_utc_records_true_durations_and_a_true_wall_time(kind, zone, folder_data, tmp_path, request):
    url, name = storage_url(kind, tmp_path, request), f"tz-{uuid.uuid4().hex[:8]}"
    code, out, err = finished(sweep_process(
        "run", "--trials", "2", "--epochs", "1", "--storage", url, "--study-name", name, "--data-dir",
        str(folder_data), "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "--workers", "1",
        "--report-dir", str(tmp_path / "report"), cwd=tmp_path))
    assert code == 0, err
    trials = optuna.load_study(study_name=name, storage=url).trials
    assert len(trials) == 2
    for t in trials:
        assert datetime.timedelta(0) < t.duration < datetime.timedelta(minutes=2), (zone, t.duration)
        assert near_now(t.datetime_start) and near_now(t.datetime_complete)
    wall = re.search(r"- wall time: ([^,]+),", (tmp_path / "report" / "README.md").read_text()).group(1)
    assert re.fullmatch(r"(\d+ min )?\d+ s", wall), wall  # seconds, not "5 h 0 min"


@pytest.mark.parametrize("zone", ZONES, indirect=True)
def test_a_trial_failed_by_the_queue_outside_utc_keeps_true_times(zone, tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    study = prepare_study(storage, "s", {"protocol": "test"}, "test")
    cells = grid_cells([0.0], 1)
    a, b = (Queue(study, storage, cells, None, 10.0, worker=w) for w in "ab")
    (held,) = a.claim(1)
    age_heartbeats(storage, 100)  # a falls silent: b fails its trial and takes the cell over
    (taken,) = b.claim(1)
    failed = study._storage.get_trial(held.trial_id)
    assert failed.state == FAIL and taken.cell == held.cell
    for when in (failed.datetime_start, failed.datetime_complete,
                 study._storage.get_trial(taken.trial_id).datetime_start):
        assert near_now(when), (zone, when)
    assert datetime.timedelta(0) <= failed.duration < datetime.timedelta(minutes=1)
