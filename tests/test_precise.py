"""`run --until-precise`: Stein's two-stage rule, its blocks added once each, whatever the layout."""

import math
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import optuna
import pytest
import sqlalchemy as sa
import torch
from scipy import stats

from sweep.study.space import grid_cells
from sweep.study.precision import METRICS, Decision, Need, Rule, decide, needs
from sweep.progress import Progress
from sweep.protocol import Protocol
from sweep.stats import stein, stein_seeds
from sweep.study.storage import BLOCKS, open_storage, prepare_study
from sweep.worker import Events, RunConfig, run_worker
from tests.claim_load import EPSILONS, ROOT, known_metrics, stub_train
from tests.conftest import file_digest

COMPLETE = optuna.trial.TrialState.COMPLETE
TARGET_PP, TARGET_NATS = 1.2, 0.01  # with known_metrics' noise: the gap's first stage asks for 9 seeds
BASE_SEEDS = 3  # Stein's first stage
K = len(EPSILONS) - 1  # comparisons with ε = 0: the Bonferroni family


def value(eps: float, seed: int, metric: str) -> float:
    m = known_metrics(eps, seed)
    return {"gap": m["train_acc"] - m["val_acc"], "nll_gap": m["val_nll"] - m["train_nll"]}.get(metric, m.get(metric))


def hand_needed(metrics=("gap",), n0: int = BASE_SEEDS) -> int:
    """The most seeds any targeted comparison's first stage asks for, from scipy's t quantile by hand."""
    c = stats.t.ppf(1 - 0.05 / (2 * K), n0 - 1)
    most = n0
    for metric in metrics:
        factor = 100 if METRICS[metric] == "pp" else 1
        target = TARGET_NATS if METRICS[metric] == "nats" else TARGET_PP
        for eps in EPSILONS[1:]:
            sd = np.std([(value(eps, s, metric) - value(0.0, s, metric)) * factor for s in range(n0)], ddof=1)
            most = max(most, math.ceil((c * sd / target) ** 2))
    return most


def rule(max_trials: int, metrics=("gap",)) -> Rule:
    return Rule(TARGET_PP, TARGET_NATS, max_trials, metrics, first_stage=BASE_SEEDS)


def new_study(url: str, name: str):
    storage = open_storage(url)
    protocol = Protocol(epochs=1)
    return storage, prepare_study(storage, name, {**protocol.study_attrs(), "stub": True}, "stub"), protocol


def run_here(url: str, name: str, folder: Path, max_trials: int, events=None) -> int:
    storage, study, protocol = new_study(url, name)
    cfg = RunConfig(protocol=protocol, cells=grid_cells(EPSILONS, BASE_SEEDS * len(EPSILONS)), eps_range=None,
                    batch_trials=1, checkpoint_dir=folder, device=torch.device("cpu"), heartbeat_interval=5,
                    epsilons=list(EPSILONS), rule=rule(max_trials))
    trainer = lambda *a, **k: stub_train(*a, max_sleep=0, metrics=known_metrics, **k)  # noqa: E731
    return run_worker(study, storage, None, cfg, trainer=trainer, **({"events": events} if events else {}))


def census(url: str, name: str) -> tuple[Counter, list[int]]:
    """COMPLETE trials per (ε, seed), and the block seeds recorded."""
    study = optuna.load_study(study_name=name, storage=url)
    done = Counter((t.params["label_smoothing"], t.params["seed"]) for t in study.get_trials(states=(COMPLETE,)))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        seeds = list(conn.execute(sa.select(BLOCKS.c.seed).where(BLOCKS.c.study_id == study._study_id)
                                  .order_by(BLOCKS.c.seed)).scalars())
    engine.dispose()
    return done, seeds


def assert_blocks(url: str, name: str, seeds: int) -> None:
    done, blocks = census(url, name)
    assert blocks == list(range(BASE_SEEDS, seeds)), blocks  # each block once, none skipped, none extra
    assert set(done) == {(e, s) for e in EPSILONS for s in range(seeds)} and set(done.values()) == {1}, done


# ------------------------------------------------------------------ the rule itself

def test_stein_seeds_and_interval_by_hand():
    c = stats.t.ppf(1 - 0.05 / 6, 4)
    assert stein_seeds(1.0, 5, 0.5, k=3) == math.ceil((c * 1.0 / 0.5) ** 2)
    assert stein_seeds(0.01, 5, 0.5) == 5 and stein_seeds(0.0, 5, 0.5) == 5  # never below the first stage
    d = np.array([0.3, -0.1, 0.4, 0.2, 0.0, 0.5, 0.1])
    s = stein(d, np.zeros_like(d), 4)
    sd0 = d[:4].std(ddof=1)
    half = stats.t.ppf(0.975, 3) * sd0 / math.sqrt(7)
    assert (s.diff, s.df, s.sd) == pytest.approx((d.mean(), 3, sd0))
    assert (s.lo, s.hi) == pytest.approx((d.mean() - half, d.mean() + half))
    assert s.p == pytest.approx(2 * stats.t.sf(abs(d.mean()) / (sd0 / math.sqrt(7)), 3))


@pytest.mark.parametrize("n0, true_n", [(2, 7), (2, 15), (5, 7), (5, 15)])
def test_steins_interval_covers_at_its_level_however_the_number_of_seeds_falls(n0, true_n):
    """2,000 simulated studies of normal paired differences through the rule's own functions: the first stage's SD
    sets the seeds, the interval uses that SD with t on n0 − 1 df. A rule that stops on the running SD covers
    less (0.92 at a first stage of 5, 0.88 at 2); Stein's covers its 95 %."""
    rng = np.random.default_rng([n0, true_n])
    sigma, target = 1.0, stats.t.ppf(0.975, n0 - 1) / math.sqrt(true_n)  # (t · σ / target)² = true_n
    covered, seeds = 0, []
    for _ in range(2000):
        first = rng.normal(0.3, sigma, n0)
        n = stein_seeds(first.std(ddof=1), n0, target)
        d = np.concatenate([first, rng.normal(0.3, sigma, n - n0)])
        s = stein(d, np.zeros_like(d), n0)
        covered += s.lo <= 0.3 <= s.hi
        seeds.append(n)
    assert covered / 2000 >= 0.94, covered / 2000
    assert np.median(seeds) > n0  # the second stage is real: most studies add seeds


def test_a_rule_that_stops_on_the_running_sd_covers_less():
    """Why not the sequential rule of 0.4.0 (add a seed while the running 95 % CI is too wide): its stopping
    favours small SDs, so its intervals undercover; the simulation above, with Stein's rule, does not."""
    rng = np.random.default_rng(0)
    target, covered = stats.t.ppf(0.975, 14) / math.sqrt(15), 0
    for _ in range(2000):
        d = list(rng.normal(0.0, 1.0, 2))
        while stats.t.ppf(0.975, len(d) - 1) * np.std(d, ddof=1) / math.sqrt(len(d)) > target and len(d) < 200:
            d.append(rng.normal(0.0, 1.0))
        covered += stats.ttest_1samp(d, 0.0).pvalue >= 0.05
    assert covered / 2000 < 0.92, covered / 2000


def test_the_plan_reads_the_first_stage_alone_and_ignores_the_estimates():
    values = {(e, s): {m: value(e, s, m) for m in METRICS} for e in EPSILONS for s in range(12)}
    r = rule(80)
    first = {k: v for k, v in values.items() if k[1] < BASE_SEEDS}
    assert needs(values, r) == needs(first, r)  # later seeds never change the plan
    shifted = {(e, s): {m: v + (4.0 if e else 0.0) for m, v in ms.items()} for (e, s), ms in values.items()}
    for a, b in zip(needs(values, r), needs(shifted, r)):  # a huge effect leaves every need as it was
        assert a.needed == b.needed and math.isclose(a.sd, b.sd, rel_tol=1e-9)
    assert [n.metric for n in needs(values, r)] == ["gap"] * K  # the primary alone by default
    assert max(n.needed for n in needs(values, r)) == hand_needed()
    everything = needs(values, rule(80, tuple(METRICS)))
    assert {n.metric for n in everything} == set(METRICS)
    assert max(n.needed for n in everything) == hand_needed(tuple(METRICS))
    w = lambda n: Need("gap", 0.1, 3, 1.0, 3, 1.2, n)  # noqa: E731
    assert decide([w(2), w(3)], r, seeds=3, grid=4).action == "precise"
    assert decide([w(2), w(6)], r, seeds=3, grid=4) == Decision("add", (3, 4, 5), 6, w(6))
    assert decide([w(30)], rule(16), seeds=4, grid=4).action == "cap"  # 4 seeds fill the 16 cells
    assert decide([w(30)], rule(24), seeds=4, grid=4) == Decision("add", (4, 5), 30, w(30))  # up to the cap


def test_the_run_adds_the_planned_blocks_once(tmp_path):
    want = hand_needed()
    assert BASE_SEEDS + 2 <= want < 12  # the case is worth testing: blocks are added, and the cap is not what stops
    url = f"sqlite:///{tmp_path}/s.db"
    lines = []

    class Seen(Events):
        def planned(self, total, line): lines.append((total, line))

    run_here(url, "p", tmp_path / "ck", max_trials=48, events=Seen())
    assert_blocks(url, "p", want)
    assert lines[-1][1].startswith(f"precise with {want} seeds per ε")
    adding = [line for _, line in lines if line.startswith("adding")]
    assert len(adding) == 1 and adding[0].startswith(f"adding seeds {BASE_SEEDS}–{want - 1} to every ε")
    # A rerun of a finished study adds nothing.
    run_here(url, "p", tmp_path / "ck", max_trials=48)
    assert_blocks(url, "p", want)


def test_the_cap_stops_it_and_the_report_uses_steins_interval(tmp_path):
    from sweep.report import write_report

    url = f"sqlite:///{tmp_path}/s.db"
    run_here(url, "p", tmp_path / "ck", max_trials=5 * 4)  # room for two blocks: 5 seeds, fewer than needed
    assert_blocks(url, "p", 5)
    study = optuna.load_study(study_name="p", storage=url)
    plan = study.user_attrs["precise_plan"]  # the last look says why it stopped
    assert plan["action"] == "cap" and plan["needed"] == hand_needed()
    study.set_user_attr("until_precise", {"target_pp": TARGET_PP, "target_nats": TARGET_NATS, "max_trials": 20,
                                          "base_trials": 12, "metrics": ["gap"], "procedure": "stein",
                                          "first_stage_seeds": BASE_SEEDS, "epsilons": list(EPSILONS)})
    study.set_user_attr("protocol", {"epochs": 1, "subset": None, "batch_size": 128, "lr": 0.001,
                                     "precision": "fp32", "train_eval_size": 10000, "ece_bins": 15,
                                     "sampling": "grid", "data_fingerprint": "x"})
    out = write_report(study, tmp_path / "rep")
    text = (out / "README.md").read_text()
    assert f"- Plan: {hand_needed()} seeds per ε, capped at 5; complete." in text
    assert "Stein's two-stage paired t" in text
    import pandas as pd

    row = pd.read_csv(out / "comparisons.csv").set_index(["metric", "eps"]).loc[("gap", 0.2)]
    d = np.array([value(0.2, s, "gap") - value(0.0, s, "gap") for s in range(5)])
    half = stats.t.ppf(1 - 0.05 / 6, BASE_SEEDS - 1) * d[:BASE_SEEDS].std(ddof=1) / math.sqrt(5)
    assert row.method == "Stein two-stage" and row.df == BASE_SEEDS - 1
    assert (row.lo_adj, row.hi_adj) == pytest.approx((d.mean() - half, d.mean() + half))


def test_progress_shows_the_widest_ci_and_grows_with_each_block():
    import io

    out = io.StringIO()
    p = Progress(total=8, done=8, busy=[], epochs=1, stream=out, live=False)
    p.planned(12, "adding seeds 2–2 to every ε (2 → 3 seeds, decided once from the first stage): accuracy gap, "
                  "ε = 0.2: first-stage SD 3 pp over 2 seeds needs 3 seeds for ±1 pp")
    assert p.total == 12 and p.left() == 4
    assert "first-stage SD 3 pp" in p.summary() and "8/12 done" in p.summary()
    p.planned(12, "")  # a block noticed without its words keeps the last ones
    assert "first-stage SD 3 pp" in p.summary()


# ------------------------------------------------------------------ many workers, kills

def start_workers(url: str, name: str, n: int, folder: Path, max_trials: int, heartbeat: float = 2.0,
                  sleep: float = 0.02) -> list[subprocess.Popen]:
    cmd = [sys.executable, "-m", "tests.claim_load", "--worker", "--storage", url, "--study-name", name,
           "--cells", str(BASE_SEEDS * len(EPSILONS)), "--epochs", "2", "--heartbeat", str(heartbeat),
           "--folder", str(folder), "--precise", str(TARGET_PP), str(TARGET_NATS), str(max_trials),
           "--max-sleep", str(sleep)]
    env = {"PYTHONPATH": str(ROOT)}
    import os

    return [subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(n)]


def wait_all(procs, timeout=300) -> None:
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_three_workers_started_together_add_each_block_once(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path}/s.db" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    name = f"precise-{uuid.uuid4().hex[:8]}"
    want = hand_needed()
    wait_all(start_workers(url, name, 3, tmp_path / "ck", max_trials=48, sleep=0.0))
    assert_blocks(url, name, want)


def test_a_kill_mid_block_and_a_rerun_neither_lose_nor_duplicate_a_block(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    name = "p"
    want = hand_needed()
    procs = start_workers(url, name, 2, tmp_path / "ck", max_trials=48, heartbeat=1.0, sleep=0.3)
    deadline = time.time() + 120
    while time.time() < deadline:  # kill both once the blocks are decided and training them is under way
        try:
            done, blocks = census(url, name)
        except Exception:
            done, blocks = Counter(), []
        if blocks and any(s >= BASE_SEEDS for _, s in done):
            break
        time.sleep(0.1)
    assert blocks, "no block was added"
    for p in procs:
        p.send_signal(signal.SIGKILL)
        p.wait()
    done, blocks = census(url, name)
    assert len(done) < len(EPSILONS) * want  # killed before the end
    wait_all(start_workers(url, name, 2, tmp_path / "ck", max_trials=48, heartbeat=1.0, sleep=0.0))
    assert_blocks(url, name, want)
    study = optuna.load_study(study_name=name, storage=url)
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    plan = study.user_attrs["precise_plan"]  # the decision, recorded for the report
    assert plan["needed"] == want and plan["rule"]["target_pp"] == TARGET_PP


# ------------------------------------------------------------------ the command line

@pytest.mark.parametrize("args, words", [
    (["--until-precise", "0.5", "--eps-range", "0", "0.2"], "works on a grid"),
    (["--until-precise", "0.5", "--epsilons", "0.05,0.1"], "include 0"),
    (["--until-precise", "0.5", "--trials", "6"], "multiple of the 4"),
    (["--until-precise", "0.5", "--trials", "8", "--max-trials", "4"], "below --trials"),
    (["--until-precise", "0.5", "--trials", "4"], "first stage of at least two seeds"),
    (["--until-precise-nats", "0.01"], "go with --until-precise"),
    (["--until-precise-secondary"], "go with --until-precise"),
])
def test_bad_precision_rules_are_refused_in_one_line_before_anything_is_written(cli, workdir, args, words):
    code, out, err = cli("run", "--epochs", "1", "--subset", "500", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
    assert not (workdir / "studies").exists()


def test_the_command_runs_until_precise_and_the_report_states_the_rule(cli, workdir):
    # On 100 images the gap can be the same for two seeds; ECE (also targeted with the secondaries) is not.
    code, out, err = cli("run", "--trials", "8", "--epochs", "1", "--subset", "500", "--until-precise", "0.01",
                         "--until-precise-secondary", "--max-trials", "16", "--report-dir", "rep")
    assert code == 0, err
    assert "until precise: stopped by --max-trials with 4 seeds per ε" in out
    assert sum(line.startswith("adding seeds 2–3 to every ε") for line in err.splitlines()) >= 1
    text = (workdir / "rep" / "README.md").read_text()
    assert "## Seeds set by the first stage (`--until-precise`)" in text and "capped at 4; complete." in text
    assert "--until-precise 0.01" in text  # the command, as recorded
    # The plan was fixed at the first look: another target now would make Stein's intervals depend on the data.
    before = file_digest(workdir / "studies" / "label-smoothing.db")
    code, out, err = cli("run", "--trials", "8", "--epochs", "1", "--subset", "500", "--until-precise", "0.5",
                         "--until-precise-secondary", "--max-trials", "16", "--no-report")
    assert code == 2 and "fixed at its first look" in err and len(err.strip().splitlines()) == 1, err
    assert file_digest(workdir / "studies" / "label-smoothing.db") == before
    # A study extended by 0.4.0's sequential rule has no first stage Stein's rule could stand on.
    study = optuna.load_study(study_name="label-smoothing", storage=f"sqlite:///{workdir}/studies/label-smoothing.db")
    old = {k: v for k, v in study.user_attrs["until_precise"].items() if k not in ("procedure", "first_stage_seeds")}
    study.set_user_attr("until_precise", old)
    study.set_user_attr("precise_plan", None)
    before = file_digest(workdir / "studies" / "label-smoothing.db")
    code, out, err = cli("run", "--trials", "8", "--epochs", "1", "--subset", "500", "--until-precise", "0.01",
                         "--until-precise-secondary", "--max-trials", "16", "--no-report")
    assert code == 2 and "sequential rule of sweep 0.4.0" in err and len(err.strip().splitlines()) == 1, err
    assert file_digest(workdir / "studies" / "label-smoothing.db") == before
