"""A newcomer's first hour: the README's quick run keeps to itself, credentials and a cache that cannot be
written are said at once in one line, and a rerun that would change the study's grid is refused."""

import re
import subprocess

import optuna
import pytest
import sqlalchemy as sa

from sweep.errors import UsageError
from tests.conftest import ROOT, dashboard_detail, file_digest

COMPLETE = optuna.trial.TrialState.COMPLETE


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- credentials, at once

def with_credentials(url: str, user=None, password=None, database=None) -> str:
    parsed = sa.engine.make_url(url)
    return parsed.set(username=user or parsed.username, password=password or parsed.password,
                      database=database or parsed.database).render_as_string(hide_password=False)


@pytest.mark.parametrize("change, words", [
    ({"password": "not-the-password"}, "password authentication failed"),
    ({"user": "nobody_here", "password": "x"}, "nobody_here"),
    ({"database": "no_such_database"}, "no_such_database"),
])
def test_a_refusal_for_good_from_postgres_is_bad_input_at_once(postgres_url, change, words):
    """A wrong password, an unknown role or database: no retry for --db-patience, one line, before any data."""
    from sweep.study.storage import open_storage

    url = with_credentials(postgres_url, **change)
    with pytest.raises(UsageError, match=words) as e:
        open_storage(url, patience=300)  # a retry would take the whole window
    assert "not-the-password" not in str(e.value)


def test_a_run_with_a_wrong_password_exits_2_before_decoding_the_data(cli, postgres_url, workdir):
    url = with_credentials(postgres_url, password="not-the-password")
    code, _, err = cli("run", "--trials", "1", "--epochs", "1", "--storage", url, "--db-patience", "300")
    line = one_line(err)
    assert code == 2 and "password authentication failed" in line and "not-the-password" not in line, err
    assert not (workdir / "cache").exists()  # the storage was checked before the images were decoded


def test_a_server_that_is_not_there_is_still_waited_for():
    from sweep.study.patience import transient

    refused = sa.exc.OperationalError("connect", {}, Exception(
        'connection failed: connection to server at "127.0.0.1", port 5433 failed: Connection refused'))
    starting = sa.exc.OperationalError("connect", {}, Exception("FATAL:  the database system is starting up"))
    wrong = sa.exc.OperationalError("connect", {}, Exception(
        'connection failed: ... failed: FATAL:  password authentication failed for user "sweep"'))
    assert transient(refused) and transient(starting) and not transient(wrong)


# ---------------------------------------------------------------- the cache

def test_a_cache_that_cannot_be_written_is_one_warning_and_the_data_load(folder_data, tmp_path, monkeypatch, capsys):
    from sweep.training import data as D

    def refuse(obj, path):  # what torch.save raises for a folder it may not write
        raise RuntimeError(f"File {path} cannot be opened.\nmore")

    monkeypatch.setattr(D.torch, "save", refuse)
    loaded = D.load(str(folder_data), str(tmp_path / "cache"))
    err = capsys.readouterr().err
    assert len(loaded.train_y) == 600 and "Traceback" not in err
    line = one_line(err)
    assert line.startswith("sweep: warning: cannot write the decoded-data cache") and "decoded again" in line
    assert list((tmp_path / "cache").glob("*")) == []  # no half-written file left


# ---------------------------------------------------------------- quick runs keep to themselves

def committed_report(folder) -> dict:
    """A report folder as the repository ships one (0.6.0's: no record, its README's title names the study)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("# Label smoothing and overfitting: study `label-smoothing`\n\nThe answer.\n")
    (folder / "gap_vs_epsilon.png").write_bytes(b"png")
    return {p.name: file_digest(p) for p in folder.iterdir()}


def test_the_readme_quick_run_gets_its_own_study_and_report_and_the_main_command_then_runs(folder_data, workdir,
                                                                                          capsys):
    from sweep.cli import main  # as a user types it: no study name

    shipped = committed_report(workdir / "reports")
    quick = ["run", "--trials", "2", "--epochs", "1", "--subset", "500", "--device", "cpu", "--workers", "1",
             "--data-dir", str(folder_data), "--cache-dir", "cache"]
    assert main(quick) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "study 'label-smoothing-subset500-e1'" in out
    assert (workdir / "reports" / "label-smoothing-subset500-e1" / "README.md").is_file()
    assert {p.name: file_digest(p) for p in (workdir / "reports").iterdir() if p.is_file()} == shipped
    # The main command (the default protocol; one cell here) is not refused by the quick study.
    assert main(["run", "--trials", "1", "--device", "cpu", "--workers", "1", "--data-dir", str(folder_data),
                 "--cache-dir", "cache"]) == 0, capsys.readouterr().err
    study = optuna.load_study(study_name="label-smoothing", storage="sqlite:///studies/label-smoothing.db")
    assert [t.state for t in study.trials] == [COMPLETE] and study.user_attrs["protocol"]["epochs"] == 10
    assert json_of(workdir / "reports")["study"] == "label-smoothing"


def json_of(folder) -> dict:
    import json

    return json.loads((folder / ".sweep-report.json").read_text())


@pytest.mark.parametrize("path", ["reports/label-smoothing-subset2000-e1/README.md",
                                  "studies/label-smoothing-subset2000-e1.db", "data/cache/x.pt"])
def test_what_the_readme_quick_run_writes_is_ignored_by_git(path):
    assert subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", path]).returncode == 0, path


def test_a_folder_holding_another_studys_report_is_refused_unless_named(cli, workdir):
    code, _, err = cli("run", "--study-name", "x", "--trials", "1", "--epochs", "1", "--report-dir", "reports")
    assert code == 0 and json_of(workdir / "reports")["study"] == "x", err
    before = file_digest(workdir / "reports" / "README.md")
    code, _, err = cli("run", "--study-name", "label-smoothing", "--trials", "1", "--epochs", "1")
    line = one_line(err)
    assert code == 2 and "holds the report of study 'x'" in line and "--report-dir" in line, err
    assert not (workdir / "studies" / "label-smoothing.db").exists()  # refused before anything was opened
    assert file_digest(workdir / "reports" / "README.md") == before
    # The report command alike: its default folder for x is reports/x; reports/ named, it writes over.
    code, _, err = cli("run", "--study-name", "y", "--trials", "1", "--epochs", "1", "--report-dir", "reports/x")
    assert code == 0, err
    code, _, err = cli("report", "--study-name", "x", "--storage", "sqlite:///studies/x.db")
    assert code == 2 and "holds the report of study 'y'" in one_line(err) and "--out" in err
    code, _, err = cli("report", "--study-name", "x", "--storage", "sqlite:///studies/x.db", "--out", "reports/x")
    assert code == 0 and json_of(workdir / "reports" / "x")["study"] == "x", err


def test_a_report_removes_the_files_its_last_report_wrote_and_it_no_longer_writes(cli, workdir):
    import json

    code, _, err = cli("run", "--study-name", "x", "--trials", "1", "--epochs", "1")
    assert code == 0, err
    folder = workdir / "reports" / "x"
    record = json_of(folder)
    assert record["storage"] == "sqlite:///../../studies/x.db" and "README.md" in record["files"]
    assert all((folder / name).is_file() for name in record["files"])
    (folder / "old_plot.png").write_bytes(b"an earlier report's")
    (folder / "notes.txt").write_text("the user's own")
    (folder / ".sweep-report.json").write_text(json.dumps({**record, "files": record["files"] + ["old_plot.png"]}))
    code, _, err = cli("report", "--study-name", "x", "--storage", "sqlite:///studies/x.db")
    assert code == 0, err
    assert not (folder / "old_plot.png").exists() and (folder / "notes.txt").is_file()
    assert json_of(folder)["files"] == record["files"]


# ---------------------------------------------------------------- no silent surprise

def test_a_rerun_on_another_grid_is_refused_and_extending_it_is_a_flag(cli, workdir):
    common = ["--study-name", "g", "--epochs", "1", "--no-report"]
    code, _, err = cli("run", *common, "--trials", "2", "--epsilons", "0,0.1")
    assert code == 0, err
    db = workdir / "studies" / "g.db"
    before = file_digest(db)
    code, _, err = cli("run", *common, "--trials", "2", "--epsilons", "0,0.2")
    line = one_line(err)
    assert code == 2 and "--epsilons 0,0.2" in line and "grid 0,0.1" in line and "--extend-grid" in line, err
    assert file_digest(db) == before
    code, out, err = cli("run", *common, "--trials", "3", "--epsilons", "0.2", "--extend-grid")
    assert code == 0 and "3 cells, 2 done" in out, err
    study = optuna.load_study(study_name="g", storage=f"sqlite:///{db}")
    assert study.user_attrs["grid"] == [0.0, 0.1, 0.2]
    assert sorted(t.user_attrs["cell"] for t in study.trials) == ["eps=0.1/seed=0", "eps=0.2/seed=0", "eps=0/seed=0"]
    code, out, err = cli("run", *common, "--trials", "3")  # no --epsilons: the study's own grid
    assert code == 0 and "3 cells, 3 done" in out, err


@pytest.mark.parametrize("known, recorded, asked, extend, grid", [
    ([0, 0.1], True, [0, 0.1], False, [0, 0.1]),
    ([0, 0.1], True, [0, 0.2], False, None),
    ([0, 0.1], True, [0.2], True, [0, 0.1, 0.2]),
    ([0, 0.1], False, [0, 0.1, 0.2], False, [0, 0.1, 0.2]),  # made before 0.7.0: its trials may be part of it
    ([0, 0.3], False, [0, 0.1], False, None),
    (None, False, [0, 0.2], False, [0, 0.2]),
])
def test_the_grid_a_rerun_goes_on_with(known, recorded, asked, extend, grid):
    from sweep.study.space import next_grid

    assert next_grid(known, asked, extend, recorded) == grid


@pytest.mark.parametrize("args, words", [
    (["--eps-range", "0", "0.3", "--epsilons", "0,0.1"], "give one of the two"),
    (["--subset", "499"], "fewer than 10 per class"),
])
def test_flags_that_would_be_ignored_or_unreadable_are_refused(cli, workdir, args, words):
    code, _, err = cli("run", "--trials", "1", "--epochs", "1", *args)
    assert code == 2 and words in one_line(err)
    assert not (workdir / "studies").exists()


# ---------------------------------------------------------------- the answer in the dashboard

def test_the_dashboard_shows_the_gap_against_eps_each_trials_curves_and_notes(cli, workdir):
    import json

    import numpy as np
    from scipy import stats

    code, _, err = cli("run", "--trials", "4", "--epochs", "2", "--epsilons", "0,0.1")
    assert code == 0, err
    url = "sqlite:///studies/label-smoothing.db"
    trials = optuna.load_study(study_name="label-smoothing", storage=url).trials
    detail = dashboard_detail(url)
    figures = {g["id"]: json.loads(g["graph_object"]) for g in detail["plotly_graph_objects"]}
    assert set(figures) == {"gap-vs-epsilon", "accuracy-per-epoch"}

    gap = {t["name"]: t for t in figures["gap-vs-epsilon"]["data"]}
    seeds = [t for t in figures["gap-vs-epsilon"]["data"] if t["name"] == "each seed"]
    assert len(seeds) == 2  # one line per seed, joining its trials across ε
    by_cell = {(t.params["label_smoothing"], t.params["seed"]): t.user_attrs["gap"] * 100 for t in trials}
    assert sorted(y for t in seeds for y in t["y"]) == pytest.approx(sorted(by_cell.values()))
    mean = gap["mean ± 95 % CI over seeds"]
    for i, eps in enumerate(mean["x"]):
        values = [by_cell[(eps, s)] for s in (0, 1)]
        half = stats.t.ppf(0.975, 1) * stats.sem(values)
        assert mean["y"][i] == pytest.approx(np.mean(values))
        assert mean["error_y"]["array"][i] == pytest.approx(half)
        assert mean["error_y"]["arrayminus"][i] == pytest.approx(half)

    curves = figures["accuracy-per-epoch"]["data"]
    assert len(curves) == 2 * len(trials)  # train and validation per trial
    colours = {t["name"]: {c["line"]["color"] for c in curves if c["name"] == t["name"]} for t in curves}
    assert set(colours) == {"ε = 0", "ε = 0.1"} and all(len(c) == 1 for c in colours.values())
    assert colours["ε = 0"] != colours["ε = 0.1"]
    val = sorted(tuple(round(y, 6) for y in c["y"]) for c in curves if c["line"]["dash"] == "solid")
    assert val == sorted(tuple(round(h["val_acc"] * 100, 6) for h in t.user_attrs["history"]) for t in trials)

    note = detail["note"]["body"]
    assert "**Does label smoothing" in note and "`reports/README.md`" in note and "sweep run` at its end" in note
    for t in detail["trials"]:
        body = t["note"]["body"]
        frozen = trials[t["number"]]
        assert f"ε = {frozen.params['label_smoothing']:g}, seed {frozen.params['seed']}" in body
        for h in frozen.user_attrs["history"]:
            assert f"| {h['epoch']} | {h['train_acc'] * 100:.2f} | {h['val_acc'] * 100:.2f} |" in body

    versions = {k: v for k, v in detail_versions(url).items()}
    code, _, err = cli("report")
    assert code == 0, err
    after = detail_versions(url)
    assert after.pop("dashboard:note_ver") == versions.pop("dashboard:note_ver") + 1  # another command wrote it
    assert after == versions  # the trials' notes, unchanged, are not written again
    assert "python -m sweep report" in dashboard_detail(url)["note"]["body"]


def detail_versions(url: str) -> dict:
    storage = optuna.storages.RDBStorage(url)
    study_id = storage.get_study_id_from_name("label-smoothing")
    return {k: v for k, v in storage.get_study_system_attrs(study_id).items() if k.endswith("note_ver")}


def test_the_gap_figure_against_scipy_and_a_one_seed_eps_without_an_interval():
    from scipy import stats

    from sweep.report.dashboard import gap_figure
    from sweep.report.tables import summary_frame, trials_frame
    from tests.test_report import hand_built_study

    study = hand_built_study()
    study.add_trial(optuna.trial.create_trial(
        params={"label_smoothing": 0.3, "seed": 0}, value=0.7, user_attrs={"train_acc": 0.8, "val_acc": 0.7,
                                                                          "gap": 0.1},
        distributions={k: v for k, v in study.trials[0].distributions.items()}))
    trials = trials_frame(study)
    data = gap_figure(trials, summary_frame(trials)).to_plotly_json()["data"]
    mean = next(t for t in data if t["name"] == "mean ± 95 % CI over seeds")
    for i, eps in enumerate(mean["x"]):
        gaps = 100 * trials[trials.eps == eps].gap.to_numpy()
        half = stats.t.ppf(0.975, len(gaps) - 1) * stats.sem(gaps)  # ε = 0's three seeds share one gap: 0
        assert (mean["y"][i], mean["error_y"]["array"][i], mean["error_y"]["arrayminus"][i]) == pytest.approx(
            (gaps.mean(), half, half))
    assert mean["error_y"]["array"][1] > 0.5  # ε = 0.1: 12, 10 and 11 pp
    assert mean["x"] == [0.0, 0.1, 0.2]
    (one,) = [t for t in data if t["name"] == "one seed (no interval)"]
    assert one["x"] == [0.3] and one["y"] == pytest.approx([10.0]) and "error_y" not in one
    assert "ε = 0.3: one seed" in gap_figure(trials, summary_frame(trials)).layout.title.text


# ---------------------------------------------------------------- the report's words at one seed, one epoch

def test_a_one_seed_one_epoch_report_says_only_what_it_shows(cli, workdir, monkeypatch):
    import matplotlib.pyplot as plt

    from sweep.report import plots_eps, plots_time

    figures = []

    def keep(fig, path):
        fig.canvas.draw()
        figures.append((path.name, fig))

    monkeypatch.setattr(plots_eps, "save", keep)
    monkeypatch.setattr(plots_time, "save", keep)
    code, _, err = cli("run", "--trials", "2", "--epochs", "1", "--epsilons", "0,0.1")
    assert code == 0, err
    text = (workdir / "reports" / "README.md").read_text()
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    for line in text.splitlines():
        if "95 % CI over seeds" in line and line.startswith("- ε"):
            assert "[" in line, line  # an interval is named only where one is printed
    assert "one epoch: no curve" in text and "rise beyond their noise" not in text
    commands = text.split("Made by these commands, in order:")[1].split("```")[1].strip().splitlines()
    assert len(commands) == 1 and commands[0].startswith("python -m sweep run ") and "--trials 2" in commands[0]
    assert "validation: 200 test images" in text  # the fake data's, not CIFAR-10's 10,000

    assert {name for name, _ in figures} >= {"gap_vs_epsilon.png", "overfitting_over_time.png"}
    for name, fig in figures:
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is not None and ax.axison:
                assert not legend.get_window_extent().overlaps(ax.get_window_extent()), name
            if ax.get_xlabel() == "epoch":
                lo, hi = ax.get_xlim()
                ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
                assert ticks and all(float(t).is_integer() for t in ticks), (name, ticks)
        plt.close(fig)

    code, _, err = cli("report")
    assert code == 0, err
    text = (workdir / "reports" / "README.md").read_text()
    commands = text.split("Made by these commands, in order:")[1].split("```")[1].strip().splitlines()
    assert len(commands) == 2 and commands[1].startswith("python -m sweep report  # sweep ")


def test_every_error_has_one_prefix(cli, workdir, capsys):
    from sweep.cli import main

    with pytest.raises(SystemExit) as e:  # argparse's own errors
        main(["run", "--trials", "zero"])
    assert e.value.code == 2 and one_line(capsys.readouterr().err).startswith("sweep: error: argument --trials")
    code, _, usage_err = cli("report", "--study-name", "absent")
    assert code == 2 and one_line(usage_err).startswith("sweep: error: no study database")


def test_a_database_that_takes_no_writes_still_gets_its_report_and_one_warning(tmp_path, capsys):
    from sweep.report import write_report
    from tests.test_report import hand_built_study

    hand_built_study(f"sqlite:///{tmp_path}/s.db")
    capsys.readouterr()
    readonly = optuna.storages.RDBStorage(f"sqlite:///file:{tmp_path}/s.db?mode=ro&uri=true")
    write_report(optuna.load_study(study_name="hand", storage=readonly), tmp_path / "out")
    assert (tmp_path / "out" / "README.md").is_file()
    line = one_line(capsys.readouterr().err)
    assert line.startswith("sweep: warning: the dashboard's notes and figures were not written")


def test_a_fault_in_the_dashboards_figures_is_no_refused_write(tmp_path, monkeypatch):
    """Only the database's refusal becomes the warning: a bug drawing a figure is raised, not hidden."""
    from sweep.report import write_report
    from tests.test_report import hand_built_study

    hand_built_study(f"sqlite:///{tmp_path}/s.db")
    monkeypatch.setattr("sweep.report.dashboard.gap_figure", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(optuna.load_study(study_name="hand", storage=f"sqlite:///{tmp_path}/s.db"), tmp_path / "out")
