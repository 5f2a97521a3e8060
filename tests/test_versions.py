"""Optuna's releases: a study goes on across the supported ones (5.0 and the newest), and a study whose schema this
sweep does not know, or whose times an older Optuna wrote in local time, is bad input said in one line."""

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing

import optuna
import pytest

from tests.conftest import ROOT, file_digest, sweep_process
from tests.test_faults import finished

COMPLETE = optuna.trial.TrialState.COMPLETE
DB = "studies/label-smoothing.db"


def restamp(db, revision=None, made_by=None) -> None:
    with closing(sqlite3.connect(db)) as con, con:
        if revision:
            con.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        if made_by:
            con.execute("UPDATE version_info SET library_version = ?", (made_by,))


@pytest.fixture
def made(cli, workdir):
    code, _, err = cli("run", "--trials", "1", "--epochs", "1", "--no-report")
    assert code == 0, err
    return workdir / DB


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_schema_revision_this_sweep_does_not_know_is_refused_by_run_report_and_compare(cli, made, workdir):
    restamp(made, revision="v99.0.0.a")
    (workdir / "studies" / "b.db").write_bytes(made.read_bytes())
    before = file_digest(made)
    for argv in (["run", "--trials", "2", "--epochs", "1", "--no-report"], ["report", "--out", "r"],
                 ["compare", "label-smoothing", "label-smoothing", "--storage-b", "sqlite:///studies/b.db", "--out", "c"]):
        code, _, err = cli(*argv)
        line = one_line(err)
        assert code == 2 and "v99.0.0.a" in line and "does not know" in line and "--storage" in line, (argv, err)
        assert file_digest(made) == before, argv
    assert not (workdir / "r").exists() and not (workdir / "c").exists()


def test_a_study_optuna_4_set_up_and_an_older_sweep_timed_is_refused_by_run_and_still_read_by_report(cli, made,
                                                                                                     workdir):
    restamp(made, made_by="4.5.0")
    with closing(sqlite3.connect(made)) as con, con:  # the trial as a sweep before 0.7.0 left it
        con.execute("DELETE FROM trial_user_attributes WHERE key = 'sweep'")
    before = file_digest(made)
    code, _, err = cli("run", "--trials", "2", "--epochs", "1", "--no-report")
    line = one_line(err)
    assert code == 2 and "Optuna 4.5.0" in line and "1 trial(s)" in line and "local time" in line, err
    assert file_digest(made) == before
    code, _, err = cli("report", "--out", "r")
    assert code == 0 and (workdir / "r" / "README.md").exists(), err


def test_a_study_optuna_4_only_set_up_goes_on(cli, made, workdir):
    """Every trial in it was timed by this sweep, on Optuna 5: nothing in it is in local time."""
    restamp(made, made_by="4.5.0")
    code, out, err = cli("run", "--trials", "2", "--epochs", "1", "--no-report")
    assert code == 0 and "2 cells, 1 done" in out, err
    trials = optuna.load_study(study_name="label-smoothing", storage=f"sqlite:///{made}").trials
    assert Counter(t.state for t in trials) == Counter({COMPLETE: 2})


def test_an_optuna_laying_out_an_unknown_revision_starts_no_new_study(cli, workdir, monkeypatch):
    monkeypatch.setattr("sweep.study.schema.installed_head", lambda: "v99.0.0.a")
    code, _, err = cli("run", "--trials", "1", "--epochs", "1", "--no-report")
    line = one_line(err)
    assert code == 2 and "v99.0.0.a" in line and "pip install" in line, err
    assert not (workdir / DB).exists() or not optuna.get_all_study_summaries(f"sqlite:///{workdir / DB}")


def other_optuna() -> str:
    """The python of a second environment holding another supported Optuna (.ci/run makes one with 5.0)."""
    other = os.environ.get("SWEEP_TEST_OTHER_PYTHON")
    if not other:
        if os.environ.get("CI"):
            pytest.fail("CI must name a second environment with another Optuna (SWEEP_TEST_OTHER_PYTHON); .ci/run does")
        pytest.skip("set SWEEP_TEST_OTHER_PYTHON to a python whose Optuna differs from this one's (.ci/run makes one)")
    return other


def test_a_study_goes_on_from_one_supported_optuna_to_another_and_back(folder_data, tmp_path):
    other = other_optuna()
    theirs = subprocess.run([other, "-c", "import optuna; print(optuna.__version__)"], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert theirs != optuna.__version__, "the second environment must hold another Optuna"
    common = ["--study-name", "label-smoothing", "--epochs", "1", "--data-dir", str(folder_data), "--cache-dir", str(tmp_path / "cache"), "--device",
              "cpu", "--workers", "1", "--no-report", "--epsilons", "0,0.1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    for trials, python in ((2, other), (4, sys.executable), (6, other)):
        if python == sys.executable:
            code, out, err = finished(sweep_process("run", "--trials", str(trials), *common, cwd=tmp_path))
        else:
            done = subprocess.run([python, "-m", "sweep", "run", "--trials", str(trials), *common], cwd=tmp_path,
                                  env=env, capture_output=True, text=True, timeout=300)
            code, out, err = done.returncode, done.stdout, done.stderr
        assert code == 0 and f"{trials} cells, {trials - 2} done" in out, (python, out + err)
    trials = optuna.load_study(study_name="label-smoothing", storage=f"sqlite:///{tmp_path / DB}").trials
    assert len(trials) == 6 and Counter(t.state for t in trials) == Counter({COMPLETE: 6})
    assert len({t.user_attrs["cell"] for t in trials}) == 6
    assert all(0 < t.duration.total_seconds() < 120 for t in trials)
