"""The report against a study built by hand with known metric values, and the real optuna-dashboard."""

import datetime
import json
import math
import threading
import urllib.request
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from scipy import stats

from sweep.report import (comparisons_frame, holm, min_detectable_difference, nll_onset, onset_fields,
                          portable_paths, smoothed_loss_floor, t_interval, target_check, trend_words, welch,
                          write_report)

T_975 = {2: 4.302652729911275, 3: 3.182446305284263}  # Student t quantiles, from tables
DIST = {"label_smoothing": FloatDistribution(0.0, 1.0), "seed": IntDistribution(0, 2**31 - 1)}
VALUES = {0.0: [(0.90, 0.70), (0.92, 0.72), (0.91, 0.71)], 0.1: [(0.86, 0.74), (0.85, 0.75), (0.87, 0.76)],
          0.2: [(0.80, 0.73), (0.82, 0.735), (0.81, 0.74)]}


def history(train, val, epochs=2):
    bins = [0] * 15
    bins[-1] = 10
    return [{"epoch": e, "train_acc": train - 0.1 * (epochs - e), "val_acc": val - 0.1 * (epochs - e),
             "train_nll": 0.5, "val_nll": 1.0, "val_loss": 1.1, "val_ece": 0.05, "val_bin_count": bins,
             "val_bin_acc": [None] * 14 + [val], "val_bin_conf": [None] * 14 + [0.97]} for e in range(1, epochs + 1)]


def hand_built_study(url="sqlite:///:memory:") -> optuna.Study:
    study = optuna.create_study(study_name="hand", storage=url, direction="maximize")
    study.set_user_attr("protocol", {"epochs": 2, "subset": 500, "batch_size": 128, "lr": 0.001, "precision": "fp32",
                                     "train_eval_size": 10000, "ece_bins": 15, "sampling": "grid"})
    study.set_user_attr("data_source", "folders:/data/cifar10-jpeg")
    for eps, seeds in VALUES.items():
        for seed, (tr, va) in enumerate(seeds):
            attrs = {"train_acc": tr, "val_acc": va, "gap": tr - va, "train_nll": 0.4 + eps, "val_nll": 0.9 - eps,
                     "nll_gap": 0.5 - 2 * eps, "val_loss": 1.0, "val_ece": 0.1 - eps / 4, "seconds": 3.0,
                     "device": "cpu", "history": history(tr, va)}
            study.add_trial(create_trial(params={"label_smoothing": eps, "seed": seed}, distributions=DIST, value=va,
                                         user_attrs=attrs, intermediate_values={1: va - 0.1, 2: va}))
    study.add_trial(create_trial(params={"label_smoothing": 0.2, "seed": 9}, distributions=DIST,
                                 state=TrialState.FAIL))
    running = study.ask()
    running.suggest_float("label_smoothing", 0.0, 1.0)
    return study


def test_t_interval_matches_the_textbook_formula():
    x = [0.70, 0.72, 0.71]
    mean, sd, lo, hi = t_interval(x)
    assert mean == pytest.approx(0.71) and sd == pytest.approx(0.01)
    assert (hi - lo) / 2 == pytest.approx(T_975[2] * 0.01 / math.sqrt(3))
    assert math.isnan(t_interval([0.5])[2])


def test_welch_against_the_formula_by_hand():
    # Equal n and SDs: a = 1..5, b = 3..7 -> means 3 and 5, s² = 2.5 each, se = sqrt(2.5/5 + 2.5/5) = 1,
    # df = 1² / (0.5²/4 + 0.5²/4) = 8, t = −2; t_{0.975,8} = 2.306004 and two-sided p(|T_8| > 2) = 0.08052 (tables).
    res = welch([1, 2, 3, 4, 5], [3, 4, 5, 6, 7])
    assert res["diff"] == -2 and res["t"] == pytest.approx(-2) and res["df"] == pytest.approx(8)
    assert (res["lo"], res["hi"]) == pytest.approx((-2 - 2.306004, -2 + 2.306004), abs=1e-5)
    assert res["p"] == pytest.approx(0.08052, abs=1e-4)
    # Unequal: a = [1, 2, 3] (s² = 1, n 3), b = [4, 6] (s² = 2, n 2): se² = 1/3 + 1 = 4/3,
    # df = (4/3)² / ((1/3)²/2 + 1²/1) = (16/9) / (19/18) = 32/19, t = (2 − 5) / sqrt(4/3).
    res = welch([1, 2, 3], [4, 6])
    se, df = math.sqrt(4 / 3), 32 / 19
    assert res["df"] == pytest.approx(df) and res["t"] == pytest.approx(-3 / se)
    assert res["p"] == pytest.approx(2 * stats.t.sf(3 / se, df))
    assert res["hi"] - res["lo"] == pytest.approx(2 * stats.t.ppf(0.975, df) * se)
    with pytest.raises(ValueError):
        welch([1.0], [1.0, 2.0])


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # 0.5 x 2 = 1.0, then the max keeps 1.0 for 0.6
    assert holm([0.02]) == pytest.approx([0.02]) and holm([]) == []


def test_min_detectable_difference_by_hand():
    # sd 1, n 5 on both sides: df = (2/5)² / (2 · (1/5)²/4) = 8; t_{0.975,8} = 2.306004, t_{0.80,8} = 0.888889
    # (tables), so MDD = (2.306004 + 0.888889) · sqrt(1/5 + 1/5) = 2.02062.
    assert min_detectable_difference(1.0, 5, 1.0, 5) == pytest.approx(3.194893 * math.sqrt(0.4), abs=1e-5)
    # Unequal, as in the Welch case above: df = 32/19, se = sqrt(4/3).
    df = 32 / 19
    expected = (stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * math.sqrt(4 / 3)
    assert min_detectable_difference(1.0, 3, math.sqrt(2), 2) == pytest.approx(expected)
    assert min_detectable_difference(1.0, 5, 1.0, 5, power=0.5) == pytest.approx(2.306004 * math.sqrt(0.4), abs=1e-5)


def test_nll_onset_on_crafted_histories():
    hist = lambda nll: [{"epoch": e, "val_nll": v, "val_acc": 0.5 + e / 100} for e, v in enumerate(nll, 1)]  # noqa: E731
    assert nll_onset(hist([2.0, 1.5, 1.2, 1.3, 1.6])) == 3
    assert nll_onset(hist([2.0, 1.2, 1.2, 1.5])) == 2  # ties: the first
    assert nll_onset(hist([2.0, 1.5, 1.2, 1.1])) == 4  # still falling: the last epoch
    assert nll_onset(list(reversed(hist([2.0, 1.5, 1.2, 1.3])))) == 3  # order of the records does not matter
    fields = onset_fields(hist([2.0, 1.5, 1.2, 1.3, 1.6]))
    assert fields == pytest.approx({"best_epoch": 3, "best_val_acc": 0.53, "val_nll_min": 1.2, "nll_rise": 0.4,
                                    "last_epoch": 5})
    assert math.isnan(onset_fields([])["best_epoch"])


def test_portable_paths():
    cwd = "/work/main"
    assert portable_paths("folders:/data/cifar10-jpeg", cwd) == "folders:cifar10-jpeg"
    assert portable_paths("folders:/work/main/data/x", cwd) == "folders:data/x"
    assert portable_paths("sqlite:////work/main/studies/x.db", cwd) == "sqlite:///studies/x.db"
    assert portable_paths("sqlite:////srv/runs/x.db", cwd) == "sqlite:///x.db"
    assert portable_paths("python -m sweep run --data-dir /home/me/cifar --cache-dir=/tmp/c "
                          "--storage sqlite:////work/main/studies/s.db", cwd) == \
        "python -m sweep run --data-dir cifar --cache-dir=c --storage sqlite:///studies/s.db"
    assert portable_paths("/work/main", cwd) == "." and portable_paths("/work/mainly/x", cwd) == "x"
    for kept in ("postgresql://user:***@host:5432/db", "sqlite:///studies/x.db", "sqlite:///:memory:",
                 "--epochs 10 --ks 2,4", "data/cifar10"):
        assert portable_paths(kept, cwd) == kept


def test_trend_words():
    assert trend_words([1, 2, 3]) == "rises monotonically"
    assert trend_words([3, 2, 2, 1]) == "falls monotonically"
    assert trend_words([5, 3, 4]) == "not monotone: falls, then rises"
    assert trend_words([1, 1]) == "flat"


def test_target_names_the_failing_side():
    assert target_check(0.1, 0.701, 0.790) == \
        "ε = 0.1: val 70.1 % (fails: not above 85 %), train 79.0 % (meets: below 92 %)"
    assert target_check(0, 0.88, 0.95) == "ε = 0: val 88.0 % (meets: above 85 %), train 95.0 % (fails: not below 92 %)"


def test_comparisons_on_the_hand_built_values():
    trials = pd.DataFrame([{"eps": e, "val_acc": v} for e, s in VALUES.items() for _, v in s])
    cmp = comparisons_frame(trials, ("val_acc",)).set_index("eps")
    assert list(cmp.index) == [0.1, 0.2]
    a, b = np.array([0.74, 0.75, 0.76]), np.array([0.70, 0.72, 0.71])
    t = (a.mean() - b.mean()) / math.sqrt(a.var(ddof=1) / 3 + b.var(ddof=1) / 3)
    assert cmp.loc[0.1, "t"] == pytest.approx(t) and cmp.loc[0.1, "diff"] == pytest.approx(0.04)
    assert list(cmp.p_holm) == pytest.approx(holm(list(cmp.p)))
    assert cmp.loc[0.1, "significant"] and cmp.loc[0.1, "p_holm"] < 0.05
    assert comparisons_frame(trials[trials.eps != 0.0], ("val_acc",)).empty


def test_smoothed_loss_floor():
    assert smoothed_loss_floor(0.0) == 0.0
    q = np.array([1 - 0.2 + 0.02] + [0.02] * 9)
    assert smoothed_loss_floor(0.2) == pytest.approx(-(q * np.log(q)).sum())


def test_report_tables_numbers_and_text(tmp_path):
    study = hand_built_study()
    out = write_report(study, tmp_path)
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 9  # COMPLETE only
    summary = pd.read_csv(out / "summary.csv").set_index("eps")
    for eps, seeds in VALUES.items():
        gaps = np.array([tr - va for tr, va in seeds])
        row = summary.loc[eps]
        assert row.n == 3
        assert row.gap_mean == pytest.approx(gaps.mean())
        assert row.gap_sd == pytest.approx(gaps.std(ddof=1))
        half = T_975[2] * gaps.std(ddof=1) / math.sqrt(3)
        assert (row.gap_ci_lo, row.gap_ci_hi) == pytest.approx((gaps.mean() - half, gaps.mean() + half))
    epochs = pd.read_csv(out / "epochs.csv")
    assert len(epochs) == 18 and set(epochs.epoch) == {1, 2}
    text = (out / "README.md").read_text()
    assert "9 complete (used), 1 running, 1 failed" in text
    assert "Best mean validation accuracy" not in text  # no best ε picked after the fact
    assert "stratified subset of 500 (protocol changed)" in text and "JPEG q75 copy" in text
    assert "`folders:cifar10-jpeg`" in text
    assert "Target (val > 85 %, train < 92 %, means over seeds): not met at any ε." in text
    assert "ε = 0.1: val 75.0 % (fails: not above 85 %), train 86.0 % (meets: below 92 %)" in text
    assert "| 0.1 | 3 | 86.00 ± 2.48 | 75.00 ± 2.48 |" in text
    assert "- Validation accuracy (%): 71.00 (ε = 0), 75.00 (ε = 0.1), 73.50 (ε = 0.2); highest at ε = 0.1, " \
           "lowest at ε = 0; not monotone: rises, then falls with ε." in text
    for png in ("gap_vs_epsilon", "accuracy_vs_epsilon", "overfitting_over_time", "loss_vs_epsilon", "calibration"):
        assert (out / f"{png}.png").stat().st_size > 10_000 and f"({png}.png)" in text


def test_one_seed_per_eps_says_there_is_no_ci(tmp_path):
    study = optuna.create_study(storage="sqlite:///:memory:")
    for eps in (0.0, 0.1):
        study.add_trial(create_trial(params={"label_smoothing": eps, "seed": 0}, distributions=DIST, value=0.5,
                                     user_attrs={"train_acc": 0.6, "val_acc": 0.5, "gap": 0.1, "history": history(0.6, 0.5)}))
    text = (write_report(study, tmp_path) / "README.md").read_text()
    assert "One seed per ε: no confidence intervals" in text
    assert "Not tested: every ε compared, or ε = 0, has a single seed" in text


EPS = (0.0, 0.05, 0.1, 0.2)
CAT = {"label_smoothing": CategoricalDistribution(list(EPS)), "seed": IntDistribution(0, 4)}
# Per ε: (final train acc, final val acc, ECE, epoch of the lowest val NLL for even seeds); 6 epochs.
# ECE is lowest at an intermediate ε, and at ε = 0.2 the validation NLL never rises.
SHAPE = {0.0: (0.80, 0.70, 0.05, 3), 0.05: (0.79, 0.705, 0.02, 3), 0.1: (0.785, 0.72, 0.03, 4),
         0.2: (0.77, 0.715, 0.08, 6)}
START = datetime.datetime(2025, 1, 1, 10, 0)


def crafted_history(eps, seed, epochs=6):
    """Accuracies climbing to their final values; validation NLL a parabola with its minimum at the onset."""
    train, val, ece, onset = SHAPE[eps]
    onset = min(onset + seed % 2, epochs)  # odd seeds overfit one epoch later
    noise, val_noise = (seed - 2) * 0.002, (seed * 3 % 5 - 2) * 0.002  # each sums to zero over seeds 0-4
    bins = [0] * 14 + [10]
    return [{"epoch": e, "train_acc": train + noise - 0.03 * (epochs - e),
             "val_acc": val + val_noise - 0.02 * (epochs - e),
             "train_nll": 0.6 - 0.05 * e, "val_nll": 1.0 + noise + 0.02 * (e - onset) ** 2, "val_loss": 1.1,
             "val_ece": ece + noise, "val_bin_count": bins, "val_bin_acc": [None] * 14 + [val],
             "val_bin_conf": [None] * 14 + [0.9], "epoch_seconds": 60.0} for e in range(1, epochs + 1)]


def synthetic_study(url, data_dir, cwd, seeds_of=lambda eps: range(5)) -> optuna.Study:
    """Trials made by hand with create_trial, ten minutes apart, as `python -m sweep run` would record them."""
    study = optuna.create_study(study_name="synthetic", storage=url, direction="maximize")
    study.set_user_attr("protocol", {"epochs": 6, "subset": None, "batch_size": 128, "lr": 0.001, "precision": "fp32",
                                     "train_eval_size": 10000, "ece_bins": 15, "sampling": "grid",
                                     "data_fingerprint": "abc123", "sweep_version": "0.1.0"})
    study.set_user_attr("data_source", f"folders:{data_dir}")
    study.set_user_attr("commands", [f"python -m sweep run --trials 20 --data-dir {data_dir} "
                                     f"--cache-dir={data_dir.parent}/cache --storage sqlite:///{cwd}/studies/s.db"])
    slot = 0
    for eps in EPS:
        for seed in seeds_of(eps):
            h = crafted_history(eps, seed)
            last = h[-1]
            attrs = {"train_acc": last["train_acc"], "val_acc": last["val_acc"],
                     "gap": last["train_acc"] - last["val_acc"], "train_nll": last["train_nll"],
                     "val_nll": last["val_nll"], "nll_gap": last["val_nll"] - last["train_nll"], "val_loss": 1.1,
                     "val_ece": last["val_ece"], "seconds": 360.0, "device": "cpu", "history": h}
            if (eps, seed) != (0.2, 4):  # an old trial, from before machines were recorded
                attrs["machine"] = "Test CPU, 2 cores, AVX2"
            trial = create_trial(params={"label_smoothing": eps, "seed": seed}, distributions=CAT,
                                 value=last["val_acc"], user_attrs=attrs)
            trial.datetime_start = START + datetime.timedelta(minutes=10 * slot)
            trial.datetime_complete = trial.datetime_start + datetime.timedelta(minutes=9)
            study.add_trial(trial)
            slot += 1
    return study


@pytest.fixture
def project(tmp_path, monkeypatch):
    """(cwd, data dir): a project folder to run from, and a data folder outside it."""
    cwd, data = tmp_path / "project", tmp_path / "datasets" / "cifar10-jpeg"
    (cwd / "studies").mkdir(parents=True)
    data.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    return cwd, data


def test_report_of_a_full_sweep_names_no_machine_path(project, tmp_path):
    cwd, data = project
    url = f"sqlite:///{cwd}/studies/s.db"
    out = write_report(synthetic_study(url, data, cwd), Path("reports"), storage_url=url)
    files = [f for f in out.rglob("*") if f.is_file()]
    assert {f.name for f in files} >= {"README.md", "trials.csv", "epochs.csv", "summary.csv", "comparisons.csv"}
    for f in files:
        body = f.read_bytes()
        assert str(tmp_path).encode() not in body and str(data).encode() not in body, f.name
    text = (out / "README.md").read_text()
    assert "`folders:cifar10-jpeg`" in text and "storage `sqlite:///studies/s.db`" in text
    assert "--data-dir cifar10-jpeg --cache-dir=cache --storage sqlite:///studies/s.db" in text
    pngs = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(pngs) == 5 and all((out / png).is_file() for png in pngs)
    assert sorted(pngs) == sorted(f.name for f in files if f.suffix == ".png")


def test_report_of_a_full_sweep_tells_the_story(project):
    cwd, data = project
    url = f"sqlite:///{cwd}/studies/s.db"
    out = write_report(synthetic_study(url, data, cwd), cwd / "reports", storage_url=url)
    text = (out / "README.md").read_text()
    # 20 trials, ten minutes apart, nine minutes each: 3 h 19 min from the first start to the last completion
    assert "- wall time: 3 h 19 min" in text and "2 h 0 min of training summed" in text
    assert "Test CPU, 2 cores, AVX2 (device cpu): 19 trials; machine not recorded (device cpu): 1 trial" in text
    assert "- seeds per ε: 0: n = 5, 0.05: n = 5, 0.1: n = 5, 0.2: n = 5" in text
    assert "- ECE (%): 5.00 (ε = 0), 2.00 (ε = 0.05), 3.00 (ε = 0.1), 8.00 (ε = 0.2); highest at ε = 0.2, " \
           "lowest at ε = 0.05; not monotone: falls, then rises with ε." in text
    cmp = pd.read_csv(out / "comparisons.csv")
    assert len(cmp) == 3 * 4 and set(cmp.metric) == {"val_acc", "gap", "val_nll", "val_ece"}
    assert set(cmp.eps) == {0.05, 0.1, 0.2} and (cmp.p_holm >= cmp.p).all()
    assert cmp[~cmp.significant.astype(bool)].mdd.notna().all() and cmp[cmp.significant.astype(bool)].mdd.isna().all()
    trials = pd.read_csv(out / "trials.csv")
    assert {"best_epoch", "best_val_acc", "val_nll_min", "nll_rise", "machine"} <= set(trials.columns)
    zero = trials[trials.eps == 0.0].set_index("seed")
    assert list(zero.best_epoch) == [3, 4, 3, 4, 3]
    assert zero.loc[0, "nll_rise"] == pytest.approx(0.02 * 9) and zero.loc[0, "val_nll_min"] == pytest.approx(0.996)
    assert zero.loc[0, "best_val_acc"] == pytest.approx(0.70 - 0.004 - 0.02 * 3)  # seed 0: val noise −0.004
    # ε = 0: onsets 3, 4, 3, 4, 3 -> mean 3.4; every seed rises before epoch 6
    assert "- ε = 0 (n = 5): lowest validation NLL at epoch 3.4 ± " in text
    assert "5 of 5 seeds reach it before the last epoch (6)" in text
    assert "- ε = 0.2 (n = 5): lowest validation NLL at epoch 6.0 ± 0.0 on average; 0 of 5 seeds" in text
    assert "ε = 0.2 removes the rise (no seed's validation NLL is lowest before the last epoch)" in text
    assert "Stopping each trial at its lowest-validation-NLL epoch" in text
    assert "Target (val > 85 %, train < 92 %, means over seeds): not met at any ε." in text
    assert "ε = 0.1: val 72.0 % (fails: not above 85 %), train 78.5 % (meets: below 92 %)" in text
    assert "pp short" not in text


def test_a_one_seed_epsilon_has_no_error_bar(project):
    cwd, data = project
    study = synthetic_study("sqlite:///:memory:", data, cwd, seeds_of=lambda eps: range(1 if eps == 0.2 else 3))
    out = write_report(study, cwd / "reports")
    text = (out / "README.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 0.2 |"))
    assert "1 (one seed)" in row and "±" not in row
    assert "ε = 0.2 (one seed)" in text and "0.2: one seed" in text
    assert "- ε = 0.2 (one seed): lowest validation NLL at epoch 6, not before the last epoch (6); rise 0.000" in text
    assert "ε = 0.2 removes the rise (no seed's validation NLL is lowest before the last epoch, but from one seed" in text
    cmp = pd.read_csv(out / "comparisons.csv")
    assert len(cmp) == 12 and (cmp[cmp.eps == 0.2].note == "not tested: one seed at ε = 0.2 (no spread to test)").all()
    assert cmp[cmp.eps == 0.2].p.isna().all() and cmp[cmp.eps != 0.2].p.notna().all()


def test_report_cli_on_missing_study_is_one_line(workdir, capsys):
    from sweep.cli import main

    assert main(["report"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def test_optuna_dashboard_serves_the_study_and_its_learning_curves(tmp_path):
    from optuna_dashboard import wsgi

    url = f"sqlite:///{tmp_path}/s.db"
    study = hand_built_study(url)
    write_report(study, tmp_path / "reports")
    server = make_server("127.0.0.1", 0, wsgi(optuna.storages.RDBStorage(url)), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        get = lambda path: json.loads(urllib.request.urlopen(base + path, timeout=30).read())  # noqa: E731
        studies = get("/api/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == ["hand"]
        detail = get(f"/api/studies/{studies[0]['study_id']}?after=0")
        complete = [t for t in detail["trials"] if t["state"] == "Complete"]
        assert len(complete) == 9
        assert all(len(t["intermediate_values"]) == 2 for t in complete)
        assert any(a["key"] == "val_acc" for a in complete[0]["user_attrs"])
        assert "reports/README.md" in json.dumps(detail.get("note", ""))
    finally:
        server.shutdown()
