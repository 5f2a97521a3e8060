"""`sweep compare` on crafted study pairs in real SQLite storage, its statistics against scipy and statsmodels,
its refusals, and `run`'s bf16 recommendation."""

import numpy as np
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import create_trial
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

from tests.conftest import sweep_main as main
from sweep.launch import precision_chosen
from sweep.training.plan import BF16_MEASURED, bf16_tip
from sweep.training.runtime import cpu_flags, has_bf16_units
from sweep.report.compare import effects_frame, levels_frame, paired_cells, per_seed_effects, protocol_differences
from sweep.report.compare import contrast, family_verdict, judge
from sweep.report.tables import trials_frame
from sweep.study.storage import open_storage, prepare_study
from tests.conftest import file_digest

GRID, SEEDS = (0.0, 0.05, 0.1, 0.2), range(5)
DIST = {"label_smoothing": FloatDistribution(0.0, 1.0), "seed": IntDistribution(0, 2**31 - 1)}
CRAFTED = ("gap", "val_acc", "nll_gap", "val_ece", "train_acc", "val_nll")  # the metrics these studies have
PROTOCOL = {"epochs": 10, "batch_size": 128, "lr": 0.001, "subset": None, "train_eval_size": 10000, "ece_bins": 15,
            "precision": "fp32", "data_fingerprint": "ae3bcfea977962c9", "sampling": "grid", "sweep_version": "0.4.0",
            "training_revision": 1, "equivalence_margin_pp": 1.0, "equivalence_margin_nats": 0.02}


def base_values(eps: float, seed: int) -> dict:
    """A cell's metrics: a per-seed offset shared across ε (as a seed's weights and batch order make it), an ε
    effect, and a little noise of its own; the same for every study that asks."""
    rng = np.random.default_rng(1000 * seed + round(eps * 100))
    offset = np.random.default_rng(seed).normal(0, 0.01)
    val = 0.70 + offset + 0.05 * eps + rng.normal(0, 0.002)
    train = 0.85 + offset - 0.3 * eps + rng.normal(0, 0.002)
    val_nll, train_nll = 0.90 - 0.2 * eps + rng.normal(0, 0.003), 0.45 + eps + rng.normal(0, 0.003)
    return {"train_acc": train, "val_acc": val, "val_nll": val_nll, "train_nll": train_nll,
            "val_ece": 0.08 - 0.4 * eps + rng.normal(0, 0.002)}


def make_study(url: str, name: str, change=lambda eps, seed, v: v, protocol=None, cells=None) -> None:
    """A study made as `run` makes one (protocol in sweep's table and the study), with finished trials whose
    metrics are base_values changed by `change`; the gap and NLL gap follow from them."""
    study = prepare_study(open_storage(url), name, {**PROTOCOL, **(protocol or {})}, "folders:cifar10-jpeg")
    for eps, seed in cells or [(e, s) for s in SEEDS for e in GRID]:
        v = change(eps, seed, base_values(eps, seed))
        v.update(gap=v["train_acc"] - v["val_acc"], nll_gap=v["val_nll"] - v["train_nll"], seconds=60.0,
                 device="cpu", machine="test machine")
        study.add_trial(create_trial(params={"label_smoothing": eps, "seed": seed}, distributions=DIST,
                                     value=v["val_acc"], user_attrs=v))


def noise(eps, seed, sd=0.001):
    return np.random.default_rng(7 + 31 * seed + round(eps * 1000)).normal(0, sd)


def shifted(eps, seed, v):  # 3 pp more validation accuracy everywhere: levels move, effects do not
    return {**v, "val_acc": v["val_acc"] + 0.03 + noise(eps, seed)}


def steeper(eps, seed, v):  # validation accuracy 4 pp higher at ε = 0.2 only: the effect there changes
    return {**v, "val_acc": v["val_acc"] + (0.04 if eps == 0.2 else 0.0) + noise(eps, seed)}


def compare(tmp_path, capsys, *extra):
    code = main(["compare", "a", "b", "--storage", f"sqlite:///{tmp_path}/s.db", "--out", str(tmp_path / "out"),
                 *extra])
    out, err = capsys.readouterr()
    return code, out, err


def frames(tmp_path, name="b"):
    import optuna

    url = f"sqlite:///{tmp_path}/s.db"
    a, b = (trials_frame(optuna.load_study(study_name=n, storage=url)) for n in ("a", name))
    cells = paired_cells(a, b, CRAFTED)
    return cells, levels_frame(cells, CRAFTED), effects_frame(cells, CRAFTED)


# ---------------------------------------------------------------- the answers

def test_identical_studies_are_equivalent_everywhere(tmp_path, capsys):
    make_study(f"sqlite:///{tmp_path}/s.db", "a")
    make_study(f"sqlite:///{tmp_path}/s.db", "b")
    code, out, err = compare(tmp_path, capsys)
    assert code == 0, err
    cells, levels, effects = frames(tmp_path)
    assert len(cells) == 20 and (levels.verdict == "equivalent").all() and (effects.verdict == "equivalent").all()
    assert (levels["diff"] == 0).all() and (effects.lo_adj == 0).all()
    text = (tmp_path / "out" / "README.md").read_text()
    assert text.index("## The answer") < text.index("## ε effects")
    for name in ("Accuracy gap", "Validation accuracy", "NLL gap", "ECE"):
        assert f"**{name}: yes** (levels equivalent, effects equivalent)" in text
    assert (tmp_path / "out" / "effects_a_vs_b.png").stat().st_size > 10_000
    assert "0 of " in text and "rows disagree" in text and "no protocol field" in out


def test_a_shifted_level_with_the_same_effects(tmp_path, capsys):
    make_study(f"sqlite:///{tmp_path}/s.db", "a")
    make_study(f"sqlite:///{tmp_path}/s.db", "b", shifted, protocol={"precision": "bf16"})
    code, out, err = compare(tmp_path, capsys)
    assert code == 0, err
    assert "precision: 'fp32' -> 'bf16'" in out
    _, levels, effects = frames(tmp_path)
    val = levels[levels.metric == "val_acc"]
    assert (val.verdict == "different").all() and (val.lo_adj > 0).all() and val["diff"].between(0.029, 0.031).all()
    assert (effects[effects.metric == "val_acc"].verdict == "equivalent").all()
    text = (tmp_path / "out" / "README.md").read_text()
    assert "**Validation accuracy: yes** (levels differ, effects equivalent)" in text
    assert "- precision: A `fp32`, B `bf16`" in text
    # The gap moved with validation accuracy (train unchanged): the levels differ there too, the effects do not.
    assert "**Accuracy gap: yes** (levels differ, effects equivalent)" in text


def test_a_changed_effect_is_flagged(tmp_path, capsys):
    make_study(f"sqlite:///{tmp_path}/s.db", "a")
    make_study(f"sqlite:///{tmp_path}/s.db", "b", steeper)
    code, _, err = compare(tmp_path, capsys)
    assert code == 0, err
    _, levels, effects = frames(tmp_path)
    val = effects[effects.metric == "val_acc"].set_index("eps")
    assert val.loc[0.2, "verdict"] == "different" and val.loc[0.2, "lo_adj"] > 0.01
    assert (val.loc[[0.05, 0.1], "verdict"] == "equivalent").all()
    text = (tmp_path / "out" / "README.md").read_text()
    assert "**Validation accuracy: no** (levels differ, effects differ)" in text
    assert "differ at ε = 0.2 (B − A +4.0" in text
    # Each study's own verdict on validation accuracy at ε = 0.2 against ε = 0 is not the same call.
    verdicts = pd.read_csv(tmp_path / "out" / "verdicts.csv")
    row = verdicts[(verdicts.metric == "val_acc") & (verdicts.eps == 0.2)].iloc[0]
    assert row.diff_b - row.diff_a == pytest.approx(0.04, abs=0.002)


# ---------------------------------------------------------------- the statistics

def test_levels_and_effects_match_scipy_and_statsmodels(tmp_path):
    make_study(f"sqlite:///{tmp_path}/s.db", "a")
    make_study(f"sqlite:///{tmp_path}/s.db", "b", lambda e, s, v: {**v, "val_acc": v["val_acc"] + noise(e, s, 0.004)})
    cells, levels, effects = frames(tmp_path)
    margin, k = 0.01, 4
    row = levels[(levels.metric == "val_acc") & (levels.eps == 0.1)].iloc[0]
    g = cells[cells.eps == 0.1]
    ref = stats.ttest_rel(g.val_acc_b, g.val_acc_a)
    assert row["diff"] == pytest.approx(float(np.mean(g.val_acc_b - g.val_acc_a)))
    assert row.p == pytest.approx(ref.pvalue) and row.p_adj == pytest.approx(min(1, k * ref.pvalue))
    assert (row.lo, row.hi) == pytest.approx(tuple(ref.confidence_interval(0.95)))
    assert (row.lo_adj, row.hi_adj) == pytest.approx(tuple(ref.confidence_interval(1 - 0.05 / k)))
    assert row.p_tost == pytest.approx(ttost_paired(g.val_acc_b.to_numpy(), g.val_acc_a.to_numpy(), -margin, margin)[0])
    e = per_seed_effects(cells, "val_acc", 0.2)
    ref = stats.ttest_rel(e.b, e.a)
    row = effects[(effects.metric == "val_acc") & (effects.eps == 0.2)].iloc[0]
    assert row.p == pytest.approx(ref.pvalue)
    assert (row.lo_adj, row.hi_adj) == pytest.approx(tuple(ref.confidence_interval(1 - 0.05 / 3)))
    assert row.p_tost == pytest.approx(ttost_paired(e.b.to_numpy(), e.a.to_numpy(), -margin, margin)[0])
    assert row.effect_a == pytest.approx(e.a.mean()) and row.n == 5
    # Every verdict agrees with the interval beside it.
    for frame in (levels, effects):
        tested = frame[frame.verdict.notna()]
        inside = (tested.lo_adj > -tested.margin) & (tested.hi_adj < tested.margin)
        excludes = (tested.lo_adj > 0) | (tested.hi_adj < 0)
        assert ((tested.verdict == "equivalent") == inside).all()
        assert ((tested.verdict == "different") == (excludes & ~inside)).all()


def test_a_shift_within_the_margin_is_equivalent_and_significant():
    a = np.array([0.70, 0.72, 0.71, 0.69, 0.73])
    b = a + 0.005 + np.array([0.0002, -0.0001, 0.0001, -0.0002, 0.0])
    (d,) = judge([contrast(b, a, 0.01)], 0.01)
    assert d.significant and d.equivalent and d.verdict == "equivalent" and 0 < d.lo_adj < d.hi_adj < 0.01
    (d,) = judge([contrast(b + 0.02, a, 0.01)], 0.01)
    assert d.verdict == "different" and contrast(b[:1], a[:1], 0.01) is None


def test_the_report_and_compare_read_their_verdicts_off_one_rule():
    """`sweep.stats.verdict` on the adjusted interval decides every row of the report's comparisons and of
    compare's levels; only the words differ ("higher, within the margin" against "equivalent")."""
    from sweep import stats as S
    from sweep.report.analysis import comparisons_frame, word

    rows = [{"eps": e, "seed": s, **base_values(e, s)} for e in GRID for s in SEEDS]
    a = pd.DataFrame(rows).assign(gap=lambda t: t.train_acc - t.val_acc, nll_gap=lambda t: t.val_nll - t.train_nll)
    b = a.assign(val_acc=a.val_acc + [0.004 + 0.03 * (e == 0.2) + noise(e, s) for e, s in zip(a.eps, a.seed)],
                 train_acc=a.train_acc + [0.03 * e + noise(e, s, 0.0005) for e, s in zip(a.eps, a.seed)])
    report = comparisons_frame(a, CRAFTED, {"pp": 0.01, "nats": 0.02})
    levels = levels_frame(paired_cells(a, b, CRAFTED), CRAFTED, {"pp": 0.01, "nats": 0.02})
    for frame, in_words in ((report, lambda v, d: word(*v, d)),
                            (levels, lambda v, d: "equivalent" if v.equivalent else "different" if v.significant
                             else "inconclusive")):
        for r in frame[frame.verdict.notna()].itertuples():
            v = S.verdict(r.lo_adj, r.hi_adj, r.margin)
            assert (bool(r.significant), bool(r.equivalent)) == v and r.verdict == in_words(v, r.diff), r
        assert frame.verdict.nunique() >= 2  # the data reach more than one verdict in each


@pytest.mark.parametrize("significant, equivalent, diff, report, compare, call", [
    (True, False, +1, "higher", "different", "higher"),
    (True, False, -1, "lower", "different", "lower"),
    (True, True, +1, "higher, within the margin", "equivalent", "equivalent"),  # a shift within the margin
    (False, True, -1, "equivalent", "equivalent", "equivalent"),
    (False, False, +1, "inconclusive", "inconclusive", "inconclusive")])
def test_each_verdict_in_each_vocabulary(significant, equivalent, diff, report, compare, call):
    from sweep.report.analysis import word
    from sweep.report.compare import call as call_of, said

    assert word(significant, equivalent, diff) == report and said(significant, equivalent, diff, True) == compare
    assert call_of({"verdict": compare, "significant": significant, "equivalent": equivalent, "diff": diff}) == call
    assert call_of({"verdict": float("nan")}) == "untested"


def test_one_word_per_metric():
    nan = float("nan")
    assert family_verdict(["equivalent"] * 3) == "equivalent"
    assert family_verdict(["equivalent", nan]) == "incomplete"  # never "yes" on a partly tested metric
    assert family_verdict(["equivalent", "different", nan]) == "different"
    assert family_verdict(["equivalent", "inconclusive"]) == "inconclusive"
    assert family_verdict([nan, nan]) == "untested"


def test_protocol_differences_name_every_field():
    a = {**PROTOCOL, "epsilons": [0.0, 0.1]}
    b = {**a, "precision": "bf16", "sweep_version": "0.5.0", "epochs": 2, "epsilons": [0.0, 0.2]}
    allowed, refused = protocol_differences(a, b)
    assert [k for k, *_ in allowed] == ["precision", "sweep_version"]
    assert refused == [("epochs", 10, 2), ("epsilons", [0.0, 0.1], [0.0, 0.2])]


def test_cells_only_one_study_has_are_left_out(tmp_path, capsys):
    make_study(f"sqlite:///{tmp_path}/s.db", "a")
    make_study(f"sqlite:///{tmp_path}/s.db", "b", cells=[(e, s) for s in range(3) for e in GRID])
    assert compare(tmp_path, capsys)[0] == 0
    cells, levels, _ = frames(tmp_path)
    assert len(cells) == 12 and (levels.n == 3).all()


def test_two_storages(tmp_path, capsys):
    make_study(f"sqlite:///{tmp_path}/a.db", "s")
    make_study(f"sqlite:///{tmp_path}/b.db", "s", shifted)
    code = main(["compare", "s", "s", "--storage", f"sqlite:///{tmp_path}/a.db", "--storage-b",
                 f"sqlite:///{tmp_path}/b.db", "--out", str(tmp_path / "o")])
    assert code == 0, capsys.readouterr().err
    assert "levels differ, effects equivalent" in (tmp_path / "o" / "README.md").read_text()


# ---------------------------------------------------------------- refusals

def refused(tmp_path, capsys, argv, dbs=("s.db",)):
    before = {db: file_digest(tmp_path / db) for db in dbs}
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert {db: file_digest(tmp_path / db) for db in dbs} == before
    assert not (tmp_path / "out").exists()
    return err


@pytest.mark.parametrize("change, words", [
    ({"epochs": 2}, "epochs: a 10, b 2"),
    ({"data_fingerprint": "0123"}, "data_fingerprint"),
    ({"subset": 2000}, "subset: a None, b 2000"),
])
def test_another_training_protocol_is_refused(tmp_path, capsys, change, words):
    make_study(f"sqlite:///{tmp_path}/s.db", "a")
    make_study(f"sqlite:///{tmp_path}/s.db", "b", protocol=change)
    err = refused(tmp_path, capsys, ["compare", "a", "b", "--storage", f"sqlite:///{tmp_path}/s.db", "--out",
                                     str(tmp_path / "out")])
    assert words in err and "training protocol" in err


def test_another_grid_no_common_cells_unknown_names_and_itself_are_refused(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/s.db"
    make_study(url, "a")
    make_study(url, "wide", cells=[(e, s) for s in SEEDS for e in (*GRID, 0.3)])
    make_study(url, "apart", cells=[(e, s + 10) for s in SEEDS for e in GRID])
    make_study(f"sqlite:///{tmp_path}/t.db", "a")
    base = ["--storage", url, "--out", str(tmp_path / "out")]
    dbs = ("s.db", "t.db")
    assert "epsilons" in refused(tmp_path, capsys, ["compare", "a", "wide", *base], dbs)
    assert "no cell (ε, seed) complete in both" in refused(tmp_path, capsys, ["compare", "a", "apart", *base], dbs)
    assert "no study 'nope'" in refused(tmp_path, capsys, ["compare", "a", "nope", *base], dbs)
    assert "compared with itself" in refused(tmp_path, capsys, ["compare", "a", "a", *base], dbs)
    assert "compared with itself" in refused(tmp_path, capsys, ["compare", "a", "a", *base, "--storage-b",
                                                                 f"sqlite:///{tmp_path}/../{tmp_path.name}/s.db"], dbs)
    missing = ["compare", "a", "b", "--storage", url, "--storage-b", f"sqlite:///{tmp_path}/none.db", "--out",
               str(tmp_path / "out")]
    assert "no study database" in refused(tmp_path, capsys, missing, dbs)
    assert not (tmp_path / "none.db").exists()


def test_default_storage_is_one_file_per_study(workdir, capsys):
    make_study("sqlite:///studies/a.db", "a")
    make_study("sqlite:///studies/b.db", "b", protocol={"precision": "bf16"})
    assert main(["compare", "a", "b"]) == 0, capsys.readouterr().err
    assert (workdir / "reports" / "compare-a-b" / "README.md").is_file()
    assert main(["compare", "a", "../b"]) == 2 and "study name" in capsys.readouterr().err


# ---------------------------------------------------------------- run's bf16 recommendation

def test_the_recommendation_needs_bf16_units_fp32_by_default_and_a_cpu():
    flags = {"fpu", "avx2", "avx512f", "avx512_bf16"}
    line = bf16_tip(flags, "cpu", "fp32", chosen=False)
    m = BF16_MEASURED
    assert line.count("\n") == 1 and "--precision bf16" in line and f"{m['speedup']:.2f}x faster" in line
    assert m["fp32"] in line and m["bf16"] in line and m["report"] in line and "default stays fp32" in line
    assert all(len(part) <= 160 for part in line.splitlines())
    assert has_bf16_units({"amx_bf16"}) and not has_bf16_units({"avx512f", "avx2"})
    assert bf16_tip({"avx512f", "avx2"}, "cpu", "fp32", chosen=False) is None
    assert bf16_tip(flags, "cpu", "fp32", chosen=True) is None
    assert bf16_tip(flags, "cpu", "bf16", chosen=False) is None and bf16_tip(flags, "cuda", "tf32", False) is None


def test_precision_on_the_command_line_and_cpu_flags(tmp_path):
    assert precision_chosen(["--trials", "4", "--precision", "auto"]) and precision_chosen(["--prec=fp32"])
    assert not precision_chosen(["--trials", "4", "--device", "cpu"]) and not precision_chosen(["--p"])
    assert not precision_chosen(["--primary", "gap", "--pri=gap"])
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(str(info)) == {"fpu", "avx512f", "avx512_bf16"} and cpu_flags(str(tmp_path / "no")) == set()


@pytest.mark.parametrize("flags, shown", [({"avx512f", "avx512_bf16"}, True), ({"avx512f", "avx2"}, False)])
def test_run_prints_the_recommendation_only_with_bf16_units(cli, monkeypatch, flags, shown):
    monkeypatch.setattr("sweep.training.runtime.cpu_flags", lambda: flags)
    code, out, err = cli("run", "--trials", "1", "--epochs", "1", "--no-report")
    assert code == 0, err
    assert sum(line.startswith("tip: this CPU has bf16 units") for line in out.splitlines()) == int(shown)
