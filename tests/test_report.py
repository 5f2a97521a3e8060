"""The report against a study built by hand with known metric values, and the real optuna-dashboard."""

import json
import math
import threading
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from sweep.report import compare_to_baseline, smoothed_loss_floor, t_interval, write_report

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


def test_welch_verdict_against_baseline():
    trials = pd.DataFrame([{"eps": e, "val_acc": v} for e, s in VALUES.items() for _, v in s])
    res = compare_to_baseline(trials, 0.1)
    a, b = np.array([0.74, 0.75, 0.76]), np.array([0.70, 0.72, 0.71])
    t = (a.mean() - b.mean()) / math.sqrt(a.var(ddof=1) / 3 + b.var(ddof=1) / 3)
    assert res["t"] == pytest.approx(t) and res["diff"] == pytest.approx(0.04)
    assert res["significant"] and res["p"] < 0.05
    assert compare_to_baseline(trials[trials.eps != 0.0], 0.1) is None


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
    assert "Best mean validation accuracy: ε = 0.1 (75.00 %)" in text
    assert "significant" in text and "not significant" not in text
    assert "stratified subset of 500 (protocol changed)" in text and "JPEG q75 copy" in text
    assert "Target (val > 85 %, train < 92 %): not met" in text
    assert "| 0.1 | 3 | 86.00 ± 2.48 | 75.00 ± 2.48 |" in text
    for png in ("gap_vs_epsilon", "accuracy_vs_epsilon", "learning_curves", "loss_vs_epsilon", "calibration"):
        assert (out / f"{png}.png").stat().st_size > 10_000 and f"({png}.png)" in text


def test_one_seed_per_eps_says_there_is_no_ci(tmp_path):
    study = optuna.create_study(storage="sqlite:///:memory:")
    for eps in (0.0, 0.1):
        study.add_trial(create_trial(params={"label_smoothing": eps, "seed": 0}, distributions=DIST, value=0.5,
                                     user_attrs={"train_acc": 0.6, "val_acc": 0.5, "gap": 0.1, "history": history(0.6, 0.5)}))
    text = (write_report(study, tmp_path) / "README.md").read_text()
    assert "One seed per ε: no confidence intervals" in text


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
