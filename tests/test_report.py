"""The report against a study built by hand with known metric values, and the real optuna-dashboard."""

import datetime
import json
import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from scipy import stats

from sweep.report import portable_paths, write_report
from sweep.report.analysis import comparisons_frame, shape, shape_words
from sweep.report.markdown import target_check
from sweep.report.answer import MAX_WORDS, word_count
from sweep.stats import holm, mean_correlation, t_interval
from sweep.report.tables import nll_onset, onset_fields, seed_matrix, signed_calibration, smoothed_loss_floor

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


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # 0.5 x 2 = 1.0, then the max keeps 1.0 for 0.6
    assert holm([0.02]) == pytest.approx([0.02]) and holm([]) == []


def test_nll_onset_on_crafted_histories():
    hist = lambda nll: [{"epoch": e, "val_nll": v, "val_acc": 0.5 + e / 100} for e, v in enumerate(nll, 1)]  # noqa: E731
    assert nll_onset(hist([2.0, 1.5, 1.2, 1.3, 1.6])) == 3
    assert nll_onset(hist([2.0, 1.2, 1.2, 1.5])) == 2  # ties: the first
    assert nll_onset(hist([2.0, 1.5, 1.2, 1.1])) == 4  # still falling: the last epoch
    assert nll_onset(list(reversed(hist([2.0, 1.5, 1.2, 1.3])))) == 3  # order of the records does not matter
    fields = onset_fields(hist([2.0, 1.5, 1.2, 1.3, 1.6]))
    # Noise from the second half (1.2, 1.3, 1.6): one second difference, 0.2, so σ = 0.2 / √6 and 3σ ≈ 0.245.
    assert fields == pytest.approx({"best_epoch": 3, "val_nll_min": 1.2, "nll_rise": 0.4, "last_epoch": 5,
                                    "nll_noise": 0.2 / math.sqrt(6), "rises": 1.0})
    # A rise within the jitter does not count: 1.20, 1.22, 1.19, 1.21 has noise ≈ 0.02 and rises 0.02.
    assert onset_fields(hist([2.0, 1.5, 1.3, 1.20, 1.22, 1.19, 1.21]))["rises"] == 0.0
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


def test_target_names_the_failing_side():
    assert target_check(0.1, 0.701, 0.790) == \
        "ε = 0.1: val 70.1 % (fails: not above 85 %), train 79.0 % (meets: below 92 %)"
    assert target_check(0, 0.88, 0.95) == "ε = 0: val 88.0 % (meets: above 85 %), train 95.0 % (fails: not below 92 %)"


def test_comparisons_on_the_hand_built_values():
    trials = pd.DataFrame([{"eps": e, "seed": i, "val_acc": v} for e, s in VALUES.items() for i, (_, v) in enumerate(s)])
    cmp = comparisons_frame(trials, ("val_acc",)).set_index("eps")
    assert list(cmp.index) == [0.1, 0.2] and set(cmp.method) == {"paired t"}
    a, b = np.array([0.74, 0.75, 0.76]), np.array([0.70, 0.72, 0.71])  # seeds 0, 1, 2 at ε = 0.1 and ε = 0
    ref = stats.ttest_rel(a, b)
    assert cmp.loc[0.1, "t"] == pytest.approx(ref.statistic) and cmp.loc[0.1, "p"] == pytest.approx(ref.pvalue)
    assert cmp.loc[0.1, "diff"] == pytest.approx(0.04)
    assert list(cmp.p_adj) == pytest.approx([min(1, 2 * p) for p in cmp.p])  # Bonferroni over the 2 ε
    ci = stats.ttest_rel(a, b).confidence_interval(1 - 0.05 / 2)
    assert (cmp.loc[0.1, "lo_adj"], cmp.loc[0.1, "hi_adj"]) == pytest.approx((ci.low, ci.high))
    assert cmp.loc[0.1, "significant"] and cmp.loc[0.1, "verdict"] == "higher" and cmp.loc[0.1, "family"] == "secondary"
    assert set(comparisons_frame(trials, ("val_acc",), primary="val_acc").family) == {"primary"}
    assert comparisons_frame(trials[trials.eps != 0.0], ("val_acc",)).empty
    # No seed shared with ε = 0: Welch, and the row says why.
    unshared = trials.assign(seed=trials.seed + 10 * (trials.eps != 0.0))
    row = comparisons_frame(unshared, ("val_acc",)).set_index("eps").loc[0.1]
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert row.method == "Welch" and row.p == pytest.approx(ref.pvalue) and "unpaired" in row.note


def paired_design(effect, seed_sd, noise, seeds=5, eps_values=(0.0, 0.05, 0.1, 0.2), rng_seed=1):
    """A seed × ε table of validation accuracy: a per-seed offset shared across ε (as a shared seed's initial
    weights and batch order make it), an ε effect, and a little independent noise."""
    rng = np.random.default_rng(rng_seed)
    offset = rng.normal(0, seed_sd, seeds)
    return pd.DataFrame([{"eps": e, "seed": s, "val_acc": 0.7 + offset[s] + effect(e) + rng.normal(0, noise)}
                         for s in range(seeds) for e in eps_values])


def test_a_paired_effect_that_welch_misses():
    trials = paired_design(lambda e: 0.01 * (e > 0), seed_sd=0.02, noise=0.001)
    cmp = comparisons_frame(trials, ("val_acc",))
    assert (cmp.method == "paired t").all() and cmp.significant.all() and (cmp.verdict == "higher").all()
    zero = trials[trials.eps == 0.0].val_acc
    welch_p = [stats.ttest_ind(trials[trials.eps == e].val_acc, zero, equal_var=False).pvalue for e in cmp.eps]
    assert min(welch_p) > 0.05  # the unpaired test would have called none of them
    assert mean_correlation(seed_matrix(trials, "val_acc").to_numpy()) > 0.9


def test_an_equivalent_pair_and_an_inconclusive_one():
    trials = paired_design(lambda e: 0.0, seed_sd=0.02, noise=0.0005)
    cmp = comparisons_frame(trials, ("val_acc",))
    assert (cmp.verdict == "equivalent").all() and not cmp.significant.any() and cmp.equivalent.all()
    assert ((-cmp.margin < cmp.lo_adj) & (cmp.hi_adj < cmp.margin)).all()  # read off the adjusted interval
    noisy = paired_design(lambda e: 0.0, seed_sd=0.0, noise=0.02, seeds=3)
    cmp = comparisons_frame(noisy, ("val_acc",))
    assert not cmp.equivalent.any() and cmp.verdict.str.startswith("inconclusive").all()
    assert (cmp.seeds_for_target > 3).all()  # the planning column asks for more seeds


def test_a_flat_curve_is_not_called_a_trend():
    trials = paired_design(lambda e: 0.0, seed_sd=0.01, noise=0.003, rng_seed=4)
    means = trials.groupby("eps").val_acc.mean()
    assert means.is_unique  # the means differ, as noise makes them ...
    sh = shape(trials, "val_acc", 0.01)
    assert {st.word for st in sh.steps} <= {"flat", "unclear"} and not sh.trend_word and not sh.extremum
    words = shape_words(sh)  # ... but no test says they move
    for word in ("rises", "falls", "up from", "down from", "peak", "trough"):
        assert word not in words


def test_a_v_shape_on_an_uneven_grid_is_not_a_trend():
    """ECE-like: high at both ends, low inside. The uneven grid gives the V a linear component, which a pooled
    or per-seed contrast test may call significant; the steps going both ways keep it from being a trend."""
    trials = paired_design(lambda e: {0.0: 0.115, 0.05: 0.032, 0.1: 0.024, 0.2: 0.1136}[e], seed_sd=0.01,
                           noise=0.002, seeds=7, rng_seed=2)
    sh = shape(trials, "val_acc", 0.01)
    assert [st.word for st in sh.steps][0] == "down" and sh.steps[-1].word == "up"
    assert sh.trend_word == "" and "rises with ε" not in shape_words(sh) and "falls with ε" not in shape_words(sh)
    assert sh.extremum == "a trough between ε = 0.05 and 0.2 (lowest mean at 0.1)"


def test_a_curve_that_falls_and_flattens_has_no_trough():
    trials = paired_design(lambda e: -0.3 * (1 - np.exp(-e / 0.08)), seed_sd=0.02, noise=0.002)
    sh = shape(trials, "val_acc", 0.01)
    assert [st.word for st in sh.steps] == ["down", "down", "down"] and not sh.extremum
    assert sh.trend_word == "falls" and "falls with ε overall" in shape_words(sh)


def test_a_peak_is_placed_between_the_grid_points_that_bracket_it():
    trials = paired_design(lambda e: -2.0 * (e - 0.08) ** 2, seed_sd=0.02, noise=0.0003, seeds=8)
    sh = shape(trials, "val_acc", 0.01)
    assert [st.word for st in sh.steps] == ["up", "up", "down"]
    assert sh.extremum == "a peak between ε = 0.05 and 0.2 (highest mean at 0.1)"
    # Adjacent steps are paired t-tests, Bonferroni over the 3 steps.
    wide = trials.pivot(index="seed", columns="eps", values="val_acc")
    ref = stats.ttest_rel(wide[0.2], wide[0.1])
    assert sh.steps[2].p_adj == pytest.approx(min(1, 3 * ref.pvalue))
    assert (sh.steps[2].lo_adj, sh.steps[2].hi_adj) == pytest.approx(tuple(ref.confidence_interval(1 - 0.05 / 3)))


def test_signed_calibration_from_the_reliability_bins():
    h = [{"epoch": 1, "val_nll": 1.0, "val_bin_count": [2, 0, 8], "val_bin_acc": [0.5, None, 0.75],
          "val_bin_conf": [0.4, None, 0.9]}]
    assert signed_calibration(h) == pytest.approx((2 * (0.4 - 0.5) + 8 * (0.9 - 0.75)) / 10)
    assert math.isnan(signed_calibration([{"epoch": 1, "val_nll": 1.0}]))


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
    assert "- Validation accuracy (%): 71.00 (ε = 0), 75.00 (ε = 0.1), 73.50 (ε = 0.2); up from 0 to 0.1 (+4.00 " in text
    assert "highest" not in text and "monoton" not in text
    for png in ("differences_vs_zero", "gap_vs_epsilon", "accuracy_vs_epsilon", "overfitting_over_time",
                "loss_vs_epsilon", "calibration"):
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
# Mean confidence − accuracy: over-confident without smoothing, under-confident at ε = 0.2, each seed crossing
# zero between 0.05 and 0.1.
SIGNED = {0.0: 0.10, 0.05: 0.03, 0.1: -0.02, 0.2: -0.10}
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
             "val_bin_conf": [None] * 14 + [val + SIGNED[eps] + noise], "epoch_seconds": 60.0}
            for e in range(1, epochs + 1)]


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
    assert len(pngs) == 6 and all((out / png).is_file() for png in pngs)
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
    assert "- ECE (%): 5.00 (ε = 0), 2.00 (ε = 0.05), 3.00 (ε = 0.1), 8.00 (ε = 0.2); down from 0 to 0.05" in text
    assert "a trough between ε = 0 and 0.1 (lowest mean at 0.05)" in text  # the grid interval, no parabola
    assert "rises with ε" not in text.split("- ECE (%)")[1].split("\n")[0]  # a V is not a trend
    answer = text.split("## The answer")[1].split("## ")[0]
    prose = answer.strip().split("\n\n")[0]
    assert word_count(prose) <= MAX_WORDS
    assert prose.startswith("**Does label smoothing shrink the train–validation accuracy gap?** Yes: smoothing "
                            "narrowed the train–validation accuracy gap by 1.5–4.5 pp at ε = 0.05, 0.1 and 0.2.")
    assert "validation accuracy higher at ε = 0.05, 0.1 and 0.2 (0.5–2.0 pp)" in prose
    assert "over-confident at ε = 0 (confidence − accuracy +10.0 pp), under-confident at ε = 0.2 (-10.0 pp)" in prose
    # Every seed's signed error crosses 0 between 0.05 and 0.1, at 0.05 + 0.05 · (3 + noise) / 5 by interpolation.
    noise = np.array([(s - 2) * 0.002 for s in range(5)])
    at = 0.05 + 0.05 * (0.03 + noise) / 0.05
    ref = stats.t.interval(0.95, 4, loc=at.mean(), scale=stats.sem(at))
    assert f"every seed crosses zero between ε = 0.05 and 0.1, at ε ≈ {at.mean():.3f} [{ref[0]:.3f}, {ref[1]:.3f}]" \
        in prose
    # The verdict table: the primary first, every interval the one its verdict is read off.
    assert "| **accuracy gap (pp), primary** | -1.50 [-1.50, -1.50] **narrower** |" in answer
    assert "| ECE (pp), secondary | -3.00 [-3.00, -3.00] **lower** | -2.00 [-2.00, -2.00] **lower** | +3.00 " \
           "[+3.00, +3.00] **higher** |" in answer
    assert "equivalence margins: ±1 pp (accuracies, gap, ECE), ±0.02 nats (NLL, NLL gap), the defaults" in text
    assert "primary comparison: accuracy gap against ε = 0 (the default: this study was made before" in text
    cmp = pd.read_csv(out / "comparisons.csv")
    assert {"metric", "family", "eps", "diff", "lo", "hi", "lo_adj", "hi_adj", "p_adj", "significant", "equivalent",
            "method", "verdict"} <= set(cmp.columns)
    assert len(cmp) == 3 * 9 and set(cmp.eps) == {0.05, 0.1, 0.2} and (cmp.method == "paired t").all()
    assert {"gap", "val_acc", "nll_gap", "val_ece", "train_acc", "val_nll", "val_sce", "nll_rise",
            "stopped_val_acc"} == set(cmp.metric)
    assert set(cmp[cmp.metric == "gap"].family) == {"primary"} and set(cmp[cmp.metric != "gap"].family) == {"secondary"}
    assert ((cmp.lo_adj > 0) | (cmp.hi_adj < 0)).tolist() == cmp.significant.tolist()
    assert ((-cmp.margin < cmp.lo_adj) & (cmp.hi_adj < cmp.margin)).tolist() == cmp.equivalent.tolist()
    assert (cmp.lo_adj <= cmp.lo).all() and (cmp.hi_adj >= cmp.hi).all() and (cmp.p_adj >= cmp.p).all()
    trials = pd.read_csv(out / "trials.csv")
    assert {"best_epoch", "val_nll_min", "nll_rise", "nll_noise", "rises", "stopped_val_acc", "machine"} <= \
        set(trials.columns)
    zero = trials[trials.eps == 0.0].set_index("seed")
    assert list(zero.best_epoch) == [3, 4, 3, 4, 3]
    assert zero.loc[0, "nll_rise"] == pytest.approx(0.02 * 9) and zero.loc[0, "val_nll_min"] == pytest.approx(0.996)
    # Validation accuracy climbs to its last epoch in every trial, so the other seeds' mean peaks there too:
    # the stopping rule picks on the quantity it reports and favours no ε.
    assert set(zero.stop_epoch) == {6} and zero.loc[0, "stopped_val_acc"] == pytest.approx(0.70 - 0.004)
    assert "- ε = 0 (n = 5): lowest validation NLL at epoch 3.4 on average (range 3–4, last epoch 6)" in text
    assert "5 of 5 seeds rise beyond their noise" in text
    assert "- ε = 0.2 (n = 5): lowest validation NLL at epoch 6.0 on average (range 6–6, last epoch 6); mean rise " \
           "0.000 nats; 0 of 5 seeds rise" in text
    # Five seeds: the sign-flip test's smallest p is 0.0625 at best, so the onsets are described, not tested;
    # at ε = 0.05 every onset difference is 0, and no sign flip can move them at all.
    assert "ε = 0.2: +2.6 epochs (described, not tested: over these 5 seeds the smallest p this test can give is " \
           "0.062)" in text and "Holm p" not in text
    assert "ε = 0.05: +0.0 epochs (described, not tested: over these 5 seeds the smallest p this test can give is 1)" \
        in text
    assert "stops where the *other* seeds' mean validation accuracy at its ε peaks" in text
    assert "Target (val > 85 %, train < 92 %, means over seeds): not met at any ε." in text
    assert "ε = 0.1: val 72.0 % (fails: not above 85 %), train 78.5 % (meets: below 92 %)" in text
    assert "study made by sweep 0.1.0, this report by sweep" in text


def test_margins_recorded_with_the_study_are_used(tmp_path):
    study = hand_built_study()
    study.set_user_attr("protocol", {**study.user_attrs["protocol"], "equivalence_margin_pp": 0.5,
                                     "equivalence_margin_nats": 0.01})
    out = write_report(study, tmp_path)
    assert "equivalence margins: ±0.5 pp (accuracies, gap, ECE), ±0.01 nats (NLL, NLL gap), fixed with the study" \
        in (out / "README.md").read_text()
    cmp = pd.read_csv(out / "comparisons.csv").set_index("metric")
    assert cmp.loc["val_acc", "margin"].tolist() == [0.005, 0.005] and cmp.loc["nll_gap", "margin"].iloc[0] == 0.01


def test_unrepeated_seeds_fall_back_to_unpaired_tests_and_say_so(tmp_path):
    """--eps-range: every trial has its own ε and seed, so nothing is paired and nothing is compared with ε = 0."""
    study = optuna.create_study(storage="sqlite:///:memory:")
    rng = np.random.default_rng(0)
    for slot, eps in enumerate(np.linspace(0.0, 0.3, 8)):
        val = 0.7 + 0.05 * eps + rng.normal(0, 0.002)
        study.add_trial(create_trial(params={"label_smoothing": float(eps), "seed": slot}, distributions=DIST,
                                     value=val, user_attrs={"train_acc": 0.9, "val_acc": val, "gap": 0.9 - val,
                                                            "history": history(0.9, val)}))
    out = write_report(study, tmp_path)
    text = (out / "README.md").read_text()
    assert "Not tested yet: the train–validation accuracy gap needs two seeds at ε = 0" in text
    assert "shape not tested (no two seeds present at every ε)" in text  # no seed repeats across ε
    assert "differences_vs_zero.png" not in text and not (out / "differences_vs_zero.png").exists()


def test_a_one_seed_epsilon_has_no_error_bar(project):
    cwd, data = project
    study = synthetic_study("sqlite:///:memory:", data, cwd, seeds_of=lambda eps: range(1 if eps == 0.2 else 3))
    out = write_report(study, cwd / "reports")
    text = (out / "README.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 0.2 |"))
    assert "1 (one seed)" in row and "±" not in row
    assert "ε = 0.2 (one seed)" in text and "0.2: one seed" in text
    assert "- ε = 0.2 (one seed): lowest validation NLL at epoch 6.0 on average (range 6–6, last epoch 6); mean rise " \
           "0.000 nats; 0 of 1 seeds rise" in text
    cmp = pd.read_csv(out / "comparisons.csv")
    assert len(cmp) == 3 * 9
    one = cmp[(cmp.eps == 0.2) & (cmp.metric != "stopped_val_acc")]
    assert (one.note == "not tested: one seed at ε = 0.2 (no spread to test)").all()
    # A lone seed has no other seeds to pick its stopping epoch.
    assert cmp[(cmp.eps == 0.2) & (cmp.metric == "stopped_val_acc")].note.iloc[0].startswith("not tested: no value")
    assert cmp[cmp.eps == 0.2].p.isna().all() and cmp[cmp.eps != 0.2].p.notna().all()


def test_report_cli_on_missing_study_is_one_line(workdir, capsys):
    from sweep.cli import main

    assert main(["report"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_optuna_dashboard_serves_the_study_and_its_learning_curves(tmp_path):
    from tests.conftest import dashboard_detail

    url = f"sqlite:///{tmp_path}/s.db"
    study = hand_built_study(url)
    write_report(study, tmp_path / "reports")
    detail = dashboard_detail(url)
    assert detail["study_name"] == "hand"
    complete = [t for t in detail["trials"] if t["state"] == "Complete"]
    assert len(complete) == 9
    assert all(len(t["intermediate_values"]) == 2 for t in complete)
    assert any(a["key"] == "val_acc" for a in complete[0]["user_attrs"])
    assert "reports/README.md" in json.dumps(detail.get("note", ""))


def test_a_study_made_by_0_6_0_reports_the_same_numbers_it_reported_then(tmp_path):
    """tests/data/study-0.6.0-golden.sql: 12 trials (ε 0, 0.1, 0.2 × 4 seeds, 3 epochs, --subset 1000 of the
    JPEG copy) run and reported by sweep 0.6.0, whose comparisons.csv and summary.csv are kept beside it. The
    report of this sweep reads the same study file and must give every number again (to 12 digits: the
    statistics may be computed another way, not to another value)."""
    import sqlite3
    from contextlib import closing

    import pandas as pd

    data = Path(__file__).parent / "data"
    with closing(sqlite3.connect(tmp_path / "golden.db")) as con:
        con.executescript((data / "study-0.6.0-golden.sql").read_text())
    study = optuna.load_study(study_name="golden", storage=f"sqlite:///{tmp_path}/golden.db")
    write_report(study, tmp_path / "report")
    for name in ("comparisons", "summary"):
        then, now = (pd.read_csv(folder / f"{name}.csv") for folder in (data / "golden-0.6.0", tmp_path / "report"))
        pd.testing.assert_frame_equal(now, then, check_exact=False, rtol=1e-12, atol=1e-15)
