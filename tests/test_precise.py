"""`run --until-precise`: seed blocks added until every headline CI fits, once each, whatever the layout."""

import math
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
from scipy import stats

from sweep.space import grid_cells
from sweep.precision import METRICS, Decision, Rule, Width, decide, halfwidth, widths
from sweep.progress import Progress
from sweep.protocol import Protocol
from sweep.storage import BLOCKS, open_storage, prepare_study
from sweep.worker import Events, RunConfig, run_worker
from tests.claim_load import EPSILONS, ROOT, known_metrics, stub_train

COMPLETE = optuna.trial.TrialState.COMPLETE
TARGET_PP, TARGET_NATS = 1.2, 0.01  # with known_metrics' noise: met first at 7 seeds (checked below)
BASE_SEEDS = 2


def value(eps: float, seed: int, metric: str) -> float:
    m = known_metrics(eps, seed)
    return {"gap": m["train_acc"] - m["val_acc"], "nll_gap": m["val_nll"] - m["train_nll"]}.get(metric, m.get(metric))


def hand_halfwidths(n: int) -> dict:
    """Each headline comparison's 95 % CI half-width over seeds 0..n-1, by scipy's paired t-test."""
    out = {}
    for metric, unit in METRICS.items():
        factor = 100 if unit == "pp" else 1
        for eps in EPSILONS[1:]:
            ci = stats.ttest_rel([value(eps, s, metric) for s in range(n)],
                                 [value(0.0, s, metric) for s in range(n)]).confidence_interval(0.95)
            out[(metric, eps)] = (ci.high - ci.low) / 2 * factor
    return out


def fits(hw: dict) -> bool:
    return all(v <= (TARGET_NATS if METRICS[m] == "nats" else TARGET_PP) for (m, _), v in hw.items())


def expected_seeds(cap_seeds: int) -> int:
    """The first seed count from the base up whose CIs all fit, or the cap."""
    for n in range(BASE_SEEDS, cap_seeds + 1):
        hw = hand_halfwidths(n)
        # No half-width sits on its target within rounding: the decision cannot hinge on the last digit.
        assert all(abs(v / (TARGET_NATS if METRICS[m] == "nats" else TARGET_PP) - 1) > 1e-6 for (m, _), v in hw.items())
        if fits(hw):
            return n
    return cap_seeds


def new_study(url: str, name: str):
    storage = open_storage(url)
    protocol = Protocol(epochs=1)
    return storage, prepare_study(storage, name, {**protocol.study_attrs(), "stub": True}, "stub"), protocol


def run_here(url: str, name: str, folder: Path, max_trials: int, events=None) -> int:
    storage, study, protocol = new_study(url, name)
    cfg = RunConfig(protocol=protocol, cells=grid_cells(EPSILONS, BASE_SEEDS * len(EPSILONS)), eps_range=None,
                    batch_trials=1, checkpoint_dir=folder, device=torch.device("cpu"), heartbeat_interval=5,
                    epsilons=list(EPSILONS), rule=Rule(TARGET_PP, TARGET_NATS, max_trials))
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

def test_halfwidth_is_the_paired_t_interval_and_the_rule_ignores_the_estimates():
    a, b = [0.71, 0.69, 0.74, 0.70], [0.70, 0.66, 0.72, 0.69]
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert math.isclose(halfwidth([x - y for x, y in zip(a, b)]), (ci.high - ci.low) / 2, rel_tol=1e-9)
    assert halfwidth([0.3]) == math.inf
    rule = Rule(0.5, 0.01, 40)
    values = {(e, s): {m: 0.125 * s + (0.25 * s * s if e else 0.0) for m in METRICS} for e in EPSILONS for s in range(3)}
    shifted = {(e, s): {m: v + (4.0 if e else 0.0) for m, v in ms.items()} for (e, s), ms in values.items()}
    # A huge effect leaves every half-width as it was (to rounding): the rule cannot stop on significance.
    for a, b in zip(widths(values, rule), widths(shifted, rule)):
        assert math.isclose(a.halfwidth, b.halfwidth, rel_tol=1e-12)
    assert all(w.halfwidth > 0 and w.seeds == 3 for w in widths(values, rule))
    w = lambda hw: Width("gap", 0.1, 5, hw, 0.5)  # noqa: E731
    assert decide([w(0.4), w(0.5)], rule, cells=12, block=4, next_seed=3).action == "precise"
    assert decide([w(0.4), w(0.6)], rule, cells=12, block=4, next_seed=3) == Decision("add", 3, w(0.6))
    assert decide([w(0.4), w(0.6)], rule, cells=40, block=4, next_seed=3).action == "cap"  # 44 > 40
    assert decide([w(0.4), w(0.6)], rule, cells=36, block=4, next_seed=3).action == "add"  # 40 fits


def test_the_run_stops_at_the_first_block_whose_cis_all_fit(tmp_path):
    want = expected_seeds(cap_seeds=12)
    assert BASE_SEEDS + 2 <= want < 12  # the case is worth testing: blocks are added, and the cap is not what stops
    assert not fits(hand_halfwidths(want - 2)) and fits(hand_halfwidths(want))
    url = f"sqlite:///{tmp_path}/s.db"
    lines = []

    class Seen(Events):
        def planned(self, total, line): lines.append((total, line))

    run_here(url, "p", tmp_path / "ck", max_trials=48, events=Seen())
    assert_blocks(url, "p", want)
    assert lines[-1][1].startswith(f"precise with {want} seeds per ε")
    assert [t for t, line in lines if line.startswith("adding")] == [len(EPSILONS) * (n + 1) for n in range(BASE_SEEDS, want)]
    # A rerun of a finished study adds nothing.
    run_here(url, "p", tmp_path / "ck", max_trials=48)
    assert_blocks(url, "p", want)


def test_the_cap_stops_it_and_the_report_says_so(tmp_path):
    from sweep.report import write_report

    url = f"sqlite:///{tmp_path}/s.db"
    run_here(url, "p", tmp_path / "ck", max_trials=4 * 4)  # room for two blocks: 4 seeds, fewer than needed
    assert_blocks(url, "p", 4)
    study = optuna.load_study(study_name="p", storage=url)
    study.set_user_attr("until_precise", {"target_pp": TARGET_PP, "target_nats": TARGET_NATS, "max_trials": 16,
                                          "base_trials": 8})
    study.set_user_attr("protocol", {"epochs": 1, "subset": None, "batch_size": 128, "lr": 0.001,
                                     "precision": "fp32", "train_eval_size": 10000, "ece_bins": 15,
                                     "sampling": "grid", "data_fingerprint": "x"})
    text = (write_report(study, tmp_path / "rep") / "README.md").read_text()
    assert "it stopped on the cap, with 4 seeds per ε" in text
    assert "- seed blocks added: 2: seed 2 (decided on widest 95 % CI" in text
    hw = hand_halfwidths(4)
    row = next(line for line in text.splitlines() if line.startswith("| accuracy gap (pp) | 0.2 | 4 |"))
    assert f"±{hw[('gap', 0.2)]:.3g} |" in row
    assert "| no |" in text  # something does not fit, and its planning column asks for more seeds
    needs = [int(c) for line in text.splitlines() if line.startswith("| ") and "| no |" in line
             for c in [line.rstrip(" |").split("|")[-1].strip()]]
    assert needs and min(needs) > 4


def test_progress_shows_the_widest_ci_and_grows_with_each_block():
    import io

    out = io.StringIO()
    p = Progress(total=8, done=8, elsewhere=0, epochs=1, stream=out, live=False)
    p.planned(12, "adding seed 2 to every ε (2 → 3 seeds): widest 95 % CI ±3 pp (ECE, ε = 0.2, 2 seeds) vs target ±1 pp")
    assert p.total == 12 and p.left() == 4
    assert "widest 95 % CI ±3 pp" in p.summary() and "8/12 done" in p.summary()
    p.planned(12, "")  # a block noticed without its words keeps the last ones
    assert "widest 95 % CI ±3 pp" in p.summary()


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
    want = expected_seeds(cap_seeds=12)
    wait_all(start_workers(url, name, 3, tmp_path / "ck", max_trials=48, sleep=0.0))
    assert_blocks(url, name, want)


def test_a_kill_mid_block_and_a_rerun_neither_lose_nor_duplicate_a_block(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    name = "p"
    want = expected_seeds(cap_seeds=12)
    procs = start_workers(url, name, 2, tmp_path / "ck", max_trials=48, heartbeat=1.0, sleep=0.3)
    deadline = time.time() + 120
    while time.time() < deadline:  # kill both once the first block is under way
        try:
            _, blocks = census(url, name)
        except Exception:
            blocks = []
        if blocks:
            break
        time.sleep(0.1)
    assert blocks, "no block was added"
    for p in procs:
        p.send_signal(signal.SIGKILL)
        p.wait()
    done, blocks = census(url, name)
    assert len(blocks) < want - BASE_SEEDS  # killed before the end
    wait_all(start_workers(url, name, 2, tmp_path / "ck", max_trials=48, heartbeat=1.0, sleep=0.0))
    assert_blocks(url, name, want)
    study = optuna.load_study(study_name=name, storage=url)
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    # Each block's decision is recorded for the report (a kill between the two steps may leave one unrecorded).
    records = {int(k.split(":")[1]): v for k, v in study.user_attrs.items() if k.startswith("block:")}
    assert set(records) <= set(range(BASE_SEEDS, want)) and len(records) >= want - BASE_SEEDS - 1
    assert all(r["rule"]["target_pp"] == TARGET_PP and r["widest"]["halfwidth"] > TARGET_PP for r in records.values()
               if METRICS[r["widest"]["metric"]] == "pp")


# ------------------------------------------------------------------ the command line

@pytest.mark.parametrize("args, words", [
    (["--until-precise", "0.5", "--eps-range", "0", "0.2"], "works on a grid"),
    (["--until-precise", "0.5", "--epsilons", "0.05,0.1"], "include 0"),
    (["--until-precise", "0.5", "--trials", "6"], "multiple of the 4"),
    (["--until-precise", "0.5", "--trials", "8", "--max-trials", "4"], "below --trials"),
    (["--until-precise-nats", "0.01"], "goes with --until-precise"),
])
def test_bad_precision_rules_are_refused_in_one_line_before_anything_is_written(cli, workdir, args, words):
    code, out, err = cli("run", "--epochs", "1", "--subset", "100", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
    assert not (workdir / "studies").exists()


def test_the_command_runs_until_precise_and_the_report_states_the_rule(cli, workdir):
    code, out, err = cli("run", "--trials", "4", "--epochs", "1", "--subset", "100", "--until-precise", "0.01",
                         "--max-trials", "12", "--report-dir", "rep")
    assert code == 0, err
    assert "until precise: stopped by --max-trials with 3 seeds per ε" in out
    assert sum(line.startswith("adding seed") for line in err.splitlines()) == 2  # seeds 1 and 2
    text = (workdir / "rep" / "README.md").read_text()
    assert "## Seeds added until precise" in text and "it stopped on the cap, with 3 seeds per ε" in text
    assert "--until-precise 0.01" in text  # the command, as recorded
