import re
import shutil
import time
from pathlib import Path

import optuna
import pytest
import torch

from tests.conftest import sweep_main as main
from tests.conftest import file_digest

DB = Path("studies/label-smoothing.db")
URL = "sqlite:///studies/label-smoothing.db"


def load(url=URL, name="label-smoothing"):
    return optuna.load_study(study_name=name, storage=url)


def complete(study):
    return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


def test_two_trials_one_epoch_through_the_cli(cli):
    code, out, err = cli("run", "--trials", "2", "--epochs", "1", "--no-report")
    assert code == 0, err
    trials = complete(load())
    assert len(trials) == 2
    assert sorted((t.params["label_smoothing"], t.params["seed"]) for t in trials) == [(0.0, 0), (0.05, 0)]
    for t in trials:
        assert list(t.intermediate_values) == [1]
        assert t.value == t.user_attrs["val_acc"] == t.intermediate_values[1]
        assert t.user_attrs["gap"] == pytest.approx(t.user_attrs["train_acc"] - t.user_attrs["val_acc"])
        assert len(t.user_attrs["history"]) == 1 and len(t.user_attrs["history"][0]["val_bin_count"]) == 15
    proto = load().user_attrs["protocol"]
    assert proto["epochs"] == 1 and proto["batch_size"] == 128 and proto["lr"] == 1e-3 and proto["subset"] is None
    assert "eps=0.05 seed=0" in err and "progress: 2/2 done" in err  # progress and results on stderr
    assert "optuna-dashboard --host 127.0.0.1 sqlite:///studies/label-smoothing.db" in out
    assert not list(Path("studies/label-smoothing/checkpoints").glob("*.pt"))  # finished: deleted


def test_rerun_adds_nothing_and_more_trials_add_only_new_cells(cli):
    assert cli("run", "--trials", "2", "--epochs", "1", "--no-report")[0] == 0
    first = {t.number: t.user_attrs["val_acc"] for t in complete(load())}
    code, out, _ = cli("run", "--trials", "2", "--epochs", "1", "--no-report")
    assert code == 0 and "2 done" in out and len(load().trials) == 2
    assert cli("run", "--trials", "5", "--epochs", "1", "--no-report")[0] == 0
    trials = complete(load())
    assert len(trials) == 5 == len(load().trials)
    cells = sorted((t.params["label_smoothing"], t.params["seed"]) for t in trials)
    assert cells == [(0.0, 0), (0.0, 1), (0.05, 0), (0.1, 0), (0.2, 0)]
    assert {t.number: t.user_attrs["val_acc"] for t in trials if t.number in first} == first


def test_same_seed_gives_the_same_trial_in_both_layouts(cli, pickle_data):
    """PNG folders and pickles hold the same pixels: same fingerprint, same results."""
    assert cli("run", "--trials", "1", "--epochs", "1", "--no-report")[0] == 0
    code, _, err = cli("run", "--trials", "1", "--epochs", "1", "--no-report", "--study-name", "p",
                       "--data-dir", str(pickle_data), "--device", "cpu")
    assert code == 0, err
    a, b = complete(load())[0], complete(load("sqlite:///studies/p.db", "p"))[0]
    assert load().user_attrs["protocol"]["data_fingerprint"] == load("sqlite:///studies/p.db", "p").user_attrs["protocol"]["data_fingerprint"]
    assert a.user_attrs["val_acc"] == b.user_attrs["val_acc"] and a.user_attrs["val_nll"] == b.user_attrs["val_nll"]


def test_subset_is_stratified_and_recorded(cli):
    code, out, _ = cli("run", "--trials", "1", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 0 and "(500 train / 100 test)" in out
    assert load().user_attrs["protocol"]["subset"] == 500


def test_eps_range_samples_within_the_range(cli):
    code, _, err = cli("run", "--trials", "3", "--epochs", "1", "--eps-range", "0.02", "0.3", "--no-report")
    assert code == 0, err
    trials = complete(load())
    assert len(trials) == 3 and sorted(t.params["seed"] for t in trials) == [0, 1, 2]
    assert all(0.02 <= t.params["label_smoothing"] <= 0.3 for t in trials)
    assert len({t.params["label_smoothing"] for t in trials}) == 3


# ------------------------------------------------------------------ bad input, one table

@pytest.fixture(scope="module")
def base_study(tmp_path_factory, folder_data):
    """A real one-trial study to check that refused runs leave the database as it was."""
    where = tmp_path_factory.mktemp("base")
    import os

    old = os.getcwd()
    os.chdir(where)
    try:
        assert main(["run", "--trials", "1", "--epochs", "1", "--no-report", "--data-dir", str(folder_data),
                     "--device", "cpu"]) == 0
    finally:
        os.chdir(old)
    return where / DB


def broken_copy(src: Path, dst: Path, how: str) -> Path:
    shutil.copytree(src, dst)
    victim = sorted((dst / "train" / "cat").iterdir())[0]
    if how == "truncated":
        victim.write_bytes(victim.read_bytes()[:40])
    elif how == "not-an-image":
        victim.write_text("this is not a picture")
    elif how == "wrong-size":
        from PIL import Image

        Image.new("RGB", (28, 28)).save(victim)
    elif how == "missing-class":
        shutil.rmtree(dst / "test" / "truck")
    elif how == "extra-class":
        shutil.copytree(dst / "train" / "cat", dst / "train" / "lion")
    elif how == "empty":
        shutil.rmtree(dst / "train")
        shutil.rmtree(dst / "test")
    return dst


def other_tool_study(url):
    s = optuna.create_study(study_name="label-smoothing", storage=url)
    s.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1), n_trials=2)


BAD = {
    "trials-zero": (["--trials", "0"], "--trials"),
    "trials-negative": (["--trials", "-3"], "--trials"),
    "trials-text": (["--trials", "abc"], "--trials"),
    "eps-negative": (["--epsilons", "0,-0.1"], "[0, 1]"),
    "eps-above-one": (["--epsilons", "1.5"], "[0, 1]"),
    "eps-range-reversed": (["--eps-range", "0.3", "0.1"], "LO must be below HI"),
    "eps-empty-item": (["--epsilons", "0,,0.1"], "empty item"),
    "study-name-outside": (["--study-name", "../../etc/x"], "--study-name"),
    "study-name-empty": (["--study-name", ""], "--study-name"),
    "study-name-folder": (["--study-name", "my study/v2"], "--study-name"),
    "report-dir-a-file": (["--report-dir", "studies/label-smoothing.db"], "--report-dir"),
    "epochs-zero": (["--epochs", "0"], "--epochs"),
    "workers-zero": (["--workers", "0"], "--workers"),
    "batch-trials-zero": (["--batch-trials", "0"], "--batch-trials"),
    "storage-malformed": (["--storage", "not a url"], "not a database URL"),
    "storage-unknown-scheme": (["--storage", "nosuchdb://host/x"], "unsupported database scheme"),
    "storage-unwritable": (["--storage", "sqlite:///studies/label-smoothing.db/inner.db"], "cannot write"),
    "checkpoint-dir-unwritable": (["--checkpoint-dir", "studies/label-smoothing.db/ckpt"], "--checkpoint-dir"),
    "device-unknown": (["--device", "tpu"], "--device"),
    "protocol-differs": (["--epochs", "2"], "another protocol"),
    "margin-differs": (["--equivalence-pp", "0.5"], "equivalence_margin_pp: study has 1.0, this run 0.5"),
    "margin-zero": (["--equivalence-nats", "0"], "--equivalence-nats"),
    "margin-text": (["--equivalence-pp", "one"], "--equivalence-pp"),
    "subset-too-large": (["--subset", "100000"], "--subset"),
    "data-missing": (["--data-dir", "/nonexistent/cifar"], "no such data folder"),
    "data-empty": ("empty", "no CIFAR-10 here"),
    "data-truncated": ("truncated", "unreadable image"),
    "data-not-an-image": ("not-an-image", "unreadable image"),
    "data-wrong-size": ("wrong-size", "expected 32x32"),
    "data-missing-class": ("missing-class", "missing class folders: truck"),
    "data-extra-class": ("extra-class", "unexpected class folders: lion"),
    "other-tool-study": ("other-tool", "not made by sweep"),
}
if not torch.cuda.is_available():
    BAD["device-cuda-without-gpu"] = (["--device", "cuda"], "no CUDA GPU")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_and_leaves_the_study_as_it_was(case, workdir, base_study, folder_data, capsys):
    spec, expected = BAD[case]
    DB.parent.mkdir()
    if spec == "other-tool":
        other_tool_study(URL)
    else:
        shutil.copy(base_study, DB)
    before = file_digest(DB)
    extra = ["--data-dir", str(folder_data)]
    if isinstance(spec, str) and spec != "other-tool":
        extra = ["--data-dir", str(broken_copy(folder_data, workdir / "broken", spec))]
        spec = []
    elif spec == "other-tool":
        spec = []
    args = ["run", "--trials", "1", "--epochs", "1", "--device", "cpu", *extra, *spec]
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected in lines[0] and "Traceback" not in err
    assert "s3cret" not in out + err
    assert file_digest(DB) == before
    assert not Path("studies/inner.db").exists()


def test_a_database_down_at_start_up_is_waited_for_within_db_patience_then_ends_in_one_line_exit_1(
        workdir, base_study, folder_data, capsys):
    """Unreachable is not bad input (exit 2, which a job array may take as permanent): it is retried for
    --db-patience seconds, then ends as a database error (exit 1), saying that it waited and for how long."""
    DB.parent.mkdir()
    shutil.copy(base_study, DB)
    before = file_digest(DB)
    t0 = time.monotonic()
    code = main(["run", "--trials", "1", "--epochs", "1", "--device", "cpu", "--data-dir", str(folder_data),
                 "--storage", "postgresql://sweep:s3cret@127.0.0.1:9/sweep", "--db-patience", "3"])
    waited = time.monotonic() - t0
    out, err = capsys.readouterr()
    said = [line for line in err.strip().splitlines() if line.startswith("sweep:")]
    assert code == 1 and "Traceback" not in err, err
    assert len(said) == 2 and said[0].startswith("sweep: database unreachable") and "retrying for up to 3 s" in said[0]
    assert said[1].startswith("sweep: database error:") and "still unreachable after 3 s" in said[1], said
    assert waited >= 3 and "s3cret" not in out + err
    assert file_digest(DB) == before


def test_auto_workers_on_a_cpu_are_single_threaded_processes_one_per_core(workdir, folder_data, capsys):
    from sweep.training.runtime import cpu_cores

    code = main(["run", "--trials", "4", "--epochs", "1", "--no-report", "--data-dir", str(folder_data),
                 "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    trials = complete(load())
    assert len(trials) == 4 and len(load().trials) == 4
    workers = min(cpu_cores(), 4, 8)
    assert f"({workers} workers)" in out if workers > 1 else "(1 worker)" in out
    # Which worker trains which cell is a race; how many threads each one uses is not.
    assert {t.user_attrs["threads"] for t in trials} == {max(1, cpu_cores() // workers)}


def test_a_two_worker_run_shows_progress_from_the_parent_before_its_first_trial_finishes(folder_data, tmp_path):
    from tests.conftest import sweep_process

    proc = sweep_process("run", "--trials", "2", "--epochs", "3", "--workers", "2", "--data-dir", str(folder_data),
                         "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "--no-report", cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    lines = err.splitlines()  # stderr is a pipe here: plain lines, no live bar
    first_result = next(i for i, line in enumerate(lines) if line.startswith("trial "))
    # Each worker's epochs reach the parent before its trial's result does.
    assert any(re.fullmatch(r"progress: 0/2 done, [12] running, [01] left; .*epoch 1/3.*; ETA \d+:\d\d; elapsed .*",
                            line) for line in lines[:first_result]), err
    assert lines[-1].startswith("progress: 2/2 done, 0 running, 0 left")


def test_progress_eta_is_the_trial_epochs_left_at_the_measured_pace():
    import io

    from sweep.progress import Progress

    stream = io.StringIO()
    p = Progress(total=4, done=0, busy=[], epochs=10, stream=stream, live=False)
    p.started(["a", "b"])
    p.epoch(["a"], 3, 10.0)
    p.epoch(["b"], 5, 20.0)
    # (10 - 3) + (10 - 5) epochs of the running trials, 2 cells × 10 epochs left, 15 s each, 2 at once.
    assert p.eta_seconds() == pytest.approx((7 + 5 + 2 * 10) * 15.0 / 2)
    assert "a epoch 3/10, b epoch 5/10" in stream.getvalue().splitlines()[-1]
    p.finished("a", "trial 0: done")
    assert stream.getvalue().splitlines()[-2:] == ["trial 0: done", stream.getvalue().splitlines()[-1]]
    assert "1/4 done, 1 running, 2 left" in stream.getvalue().splitlines()[-1]


def test_the_real_dashboard_serves_the_objective_name_and_the_sampled_ranges(cli):
    from tests.conftest import dashboard_detail

    assert cli("run", "--trials", "6", "--epochs", "1", "--no-report")[0] == 0
    detail = dashboard_detail(URL)
    assert detail["objective_names"] == ["val_acc"]
    space = {p["name"]: p["distribution"] for p in detail["union_search_space"]}
    assert space["label_smoothing"]["type"] == "FloatDistribution"
    assert (space["label_smoothing"]["low"], space["label_smoothing"]["high"]) == (0.0, 0.2)  # the grid's span
    assert (space["seed"]["low"], space["seed"]["high"]) == (0, 1)  # the seeds in use, not [0, 2^31)


def test_the_math_mode_is_the_protocols_and_a_resume_across_modes_is_refused(cli, workdir, monkeypatch):
    import torch

    from sweep.training.runtime import resolve_precision

    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == "tf32"
    code, out, err = cli("run", "--trials", "1", "--epochs", "1", "--subset", "500", "--precision", "tf32")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "GPU math mode" in err
    assert not (workdir / "studies").exists()
    code, out, err = cli("run", "--trials", "1", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 0, err
    db = workdir / "studies" / "label-smoothing.db"
    assert optuna.load_study(study_name="label-smoothing", storage=f"sqlite:///{db}").user_attrs[
        "protocol"]["precision"] == "fp32"
    before = db.read_bytes()
    # The same command where CUDA is the default device: auto means TF32 there, which this study did not use.
    monkeypatch.setattr("sweep.cli.resolve_device", lambda name: torch.device("cuda"))
    code, out, err = cli("run", "--trials", "2", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "precision: study has 'fp32', this run 'tf32'" in err and "pass --precision fp32" in err
    assert db.read_bytes() == before


def test_an_old_studys_fp32_is_read_as_tf32_where_its_trials_ran_on_a_gpu(cli, workdir):
    """sweep 0.3.0 recorded "fp32" for TF32 on a GPU (and IEEE fp32 on a CPU), with no training revision."""
    import json

    import sqlalchemy as sa

    from sweep.study.storage import STUDIES

    code, out, err = cli("run", "--trials", "1", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 0, err
    url = f"sqlite:///{workdir}/studies/label-smoothing.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # what 0.3.0 left: no training revision, trials that do not say "compiled"
        proto = json.loads(conn.execute(sa.select(STUDIES.c.protocol)).scalar())
        proto.pop("training_revision")
        proto["sweep_version"] = "0.3.0"
        conn.execute(STUDIES.update().values(protocol=json.dumps(proto)))
        conn.execute(sa.text("DELETE FROM trial_user_attributes WHERE key = 'compiled'"))
    engine.dispose()
    code, out, err = cli("run", "--trials", "2", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 0, err  # made on a CPU: its fp32 was IEEE, as this run's is
    set_device = "UPDATE trial_user_attributes SET value_json = '\"cuda:0\"' WHERE key = 'device' AND trial_id = {}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the trial a later sweep added on a GPU says nothing of the old ones' mode
        conn.execute(sa.text(set_device.format(2)))
    code, out, err = cli("run", "--trials", "2", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 0, err
    with engine.begin() as conn:  # but had 0.3.0's own trial trained on a GPU, its "fp32" was TF32
        conn.execute(sa.text(set_device.format(1)))
    engine.dispose()
    code, out, err = cli("run", "--trials", "3", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 2 and "precision: study has 'tf32', this run 'fp32'" in err, err


def test_the_primary_comparison_is_fixed_with_the_study_and_an_older_study_reads_as_the_gap(cli, workdir):
    import json

    import sqlalchemy as sa

    from sweep.study.storage import STUDIES

    code, out, err = cli("run", "--trials", "1", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 0, err
    assert load().user_attrs["protocol"]["primary"] == "gap"
    url = f"sqlite:///{workdir}/studies/label-smoothing.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # what 0.4.0 left: no primary recorded
        proto = json.loads(conn.execute(sa.select(STUDIES.c.protocol)).scalar())
        proto.pop("primary")
        conn.execute(STUDIES.update().values(protocol=json.dumps(proto)))
    engine.dispose()
    code, out, err = cli("run", "--trials", "2", "--epochs", "1", "--subset", "500", "--no-report")
    assert code == 0, err  # read as primary = gap, the question it was made for
    before = file_digest(DB)
    code, out, err = cli("run", "--trials", "2", "--epochs", "1", "--subset", "500", "--no-report",
                         "--primary", "val_ece")
    assert code == 2 and "primary: study has 'gap', this run 'val_ece'" in err and len(err.strip().splitlines()) == 1
    assert file_digest(DB) == before
