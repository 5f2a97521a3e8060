"""Load test of the queue: many worker processes over many cells, training replaced by a stub.

Each worker is sweep's own `run_worker` (claims, heartbeats, per-epoch records, checkpoints,
completion) with a stand-in for `train` that sleeps a random while per epoch. Some workers are
killed with SIGKILL partway; the others must pick up their cells once their heartbeats are stale.

    python -m tests.claim_load --storage postgresql://sweep:sweep@127.0.0.1/sweep --workers 16 --cells 1000

prints pops per second (over the span of the trials' start times, on this machine's clock) and database
statements per cell, and checks that every cell is COMPLETE exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPSILONS = (0.0, 0.05, 0.1, 0.2)


def known_metrics(eps: float, seed: int, sigma: float = 0.004) -> dict:
    """Metrics with a known effect of ε, a seed effect shared across ε (so pairing pays), and noise of SD
    `sigma` per trial: the same numbers on any machine (numpy's seeded generator)."""
    import numpy as np

    u = np.random.default_rng([seed]).normal(0, 0.02, 5)  # the seed's own level, the same at every ε
    e = np.random.default_rng([seed, round(eps * 10_000)]).normal(0, sigma, 5)
    train_acc, val_acc = 0.80 - 0.05 * eps + u[0] + e[0], 0.70 + 0.02 * eps + u[1] + e[1]
    train_nll, val_nll = 0.60 + 0.5 * eps + u[2] + e[2], 0.90 + 0.2 * eps + u[3] + e[3] / 4
    return {"train_acc": train_acc, "val_acc": val_acc, "train_nll": train_nll, "val_nll": val_nll,
            "val_ece": 0.08 - 0.1 * eps + u[4] / 4 + e[4]}


def stub_train(protocols, data, device, resume=None, on_epoch=None, max_sleep=0.02, metrics=None, **_):
    """`train`'s contract (histories, checkpoints, on_epoch) without the training; `metrics(eps, seed)` sets a
    trial's values (default: the same for every trial)."""
    import torch

    from sweep.training.train import Checkpoint

    rng = random.Random()
    resume = list(resume or [None] * len(protocols))
    start = resume[0].epoch if resume[0] else 0
    histories = [list(c.history) if c else [] for c in resume]
    for epoch in range(start + 1, protocols[0].epochs + 1):
        time.sleep(rng.uniform(0, max_sleep))
        for p, h in zip(protocols, histories):
            own = metrics(p.label_smoothing, p.seed) if metrics else {}
            h.append({"epoch": epoch, "train_acc": 0.5, "val_acc": 0.4, "train_nll": 1.0, "val_nll": 1.2,
                      "train_loss": 1.0, "val_loss": 1.2, "val_ece": 0.05, "train_loss_running": 1.1,
                      "train_acc_running": 0.45, "epoch_seconds": 0.01, "eval_seconds": 0.0,
                      "val_bin_count": [0] * 14 + [10], "val_bin_acc": [None] * 14 + [0.4],
                      "val_bin_conf": [None] * 14 + [0.95], **own})

        def checkpoint(k, epoch=epoch):
            return Checkpoint(epoch=epoch, model={}, adam={"step": 0.0, "exp_avg": {}, "exp_avg_sq": {}},
                              shuffle_rng=torch.zeros(1, dtype=torch.uint8), history=list(histories[k]))

        if on_epoch is not None:
            on_epoch(epoch, histories, checkpoint)
    return histories


def worker(storage_url: str, study_name: str, cells: int, epochs: int, heartbeat: float, folder: str,
           precise: list[float] | None = None, max_sleep: float = 0.02) -> None:
    """One worker process: sweep's worker loop with the stub; prints its statement count. `precise`: the
    `--until-precise` rule (target pp, target nats, max trials), on `known_metrics`."""
    import functools

    import sqlalchemy as sa
    import torch

    from sweep.study.space import grid_cells
    from sweep.study.precision import Rule
    from sweep.protocol import Protocol
    from sweep.study.storage import open_storage, prepare_study
    from sweep.worker import RunConfig, run_worker

    storage = open_storage(storage_url)
    statements = Counter()
    sa.event.listen(storage.engine, "before_cursor_execute", lambda *a: statements.update(["n"]))
    protocol = Protocol(epochs=epochs)
    study = prepare_study(storage, study_name, {**protocol.study_attrs(), "stub": True}, "stub")
    rule = Rule(precise[0], precise[1], int(precise[2]), first_stage=cells // len(EPSILONS)) if precise else None
    cfg = RunConfig(protocol=protocol, cells=grid_cells(EPSILONS, cells), eps_range=None, batch_trials=1,
                    checkpoint_dir=Path(folder), device=torch.device("cpu"), heartbeat_interval=heartbeat,
                    epsilons=list(EPSILONS), rule=rule)
    trainer = functools.partial(stub_train, max_sleep=max_sleep, metrics=known_metrics if precise else None)
    finished = run_worker(study, storage, None, cfg, trainer=trainer)
    print(json.dumps({"finished": finished, "statements": statements["n"]}), flush=True)


def rows_by_state(storage_url: str, study_name: str, engine=None) -> dict[str, list]:
    """The study's trials by state: {"COMPLETE": [...], "RUNNING": [...], ...}, each with its `worker` (None
    while WAITING). Pass `engine` when polling: a new engine (or Optuna storage) per call leaves connections open
    until garbage collection, and a server's connection limit is soon reached beside 16 workers."""
    import sqlalchemy as sa

    from sweep.study.schema import STUDIES, TRIALS
    from sweep.study.storage import HOLDS

    own = engine is None
    engine = engine or sa.create_engine(storage_url)
    query = (sa.select(TRIALS.c.trial_id, TRIALS.c.state, HOLDS.c.worker)
             .select_from(TRIALS.join(STUDIES, STUDIES.c.study_id == TRIALS.c.study_id)
                          .outerjoin(HOLDS, HOLDS.c.trial_id == TRIALS.c.trial_id))
             .where(STUDIES.c.study_name == study_name))
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    finally:
        if own:
            engine.dispose()
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(getattr(r.state, "name", str(r.state)), []).append(r)
    return out


def load_test(storage_url: str, workers: int = 16, cells: int = 1000, kill: int = 3, epochs: int = 2,
              heartbeat: float = 3.0, kill_after: float = 0.2, timeout: float = 600) -> dict:
    """Run the race; return its figures and the number of COMPLETE trials per cell."""
    name = f"load-{uuid.uuid4().hex[:8]}"
    folder = tempfile.mkdtemp(prefix="claim-load-")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "tests.claim_load", "--worker", "--storage", storage_url, "--study-name", name,
           "--cells", str(cells), "--epochs", str(epochs), "--heartbeat", str(heartbeat), "--folder", folder]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
    t0 = time.time()
    killed: list[subprocess.Popen] = []
    import sqlalchemy as sa

    engine = sa.create_engine(storage_url)  # one, for the whole watch
    while len(killed) < kill and time.time() - t0 < timeout and any(p.poll() is None for p in procs):
        rows = _safe_rows(storage_url, name, engine)
        if len(rows.get("COMPLETE", [])) >= kill_after * cells:
            # Workers that hold a cell right now (worker ids are host:pid:tag), so each kill leaves one behind.
            holding = {int(r.worker.split(":")[1]) for r in rows.get("RUNNING", []) if r.worker}
            for p in procs:
                if p.pid in holding and p not in killed and len(killed) < kill:
                    p.send_signal(signal.SIGKILL)
                    killed.append(p)
        time.sleep(0.2)
    engine.dispose()
    outputs = [p.communicate(timeout=max(1, timeout - (time.time() - t0))) for p in procs]
    codes = [p.returncode for p in procs]
    return {"name": name, "codes": codes, "killed": len(killed), "stderr": [e for _, e in outputs],
            "stats": [json.loads(o.strip().splitlines()[-1]) for (o, _), c in zip(outputs, codes) if c == 0],
            **_census(storage_url, name, cells)}


def _safe_rows(storage_url: str, name: str, engine) -> dict[str, list]:
    try:
        return rows_by_state(storage_url, name, engine)
    except Exception:  # the study or the tables may not exist yet
        return {}


def _census(storage_url: str, name: str, cells: int) -> dict:
    """Cells COMPLETE per cell, and the pops: attempts made, and pops per second over the span of the trials'
    starts (every worker on this machine, one clock)."""
    import optuna

    study = optuna.load_study(study_name=name, storage=storage_url)
    trials = study.get_trials(deepcopy=False)
    complete = Counter(t.user_attrs["cell"] for t in trials if t.state == optuna.trial.TrialState.COMPLETE)
    starts = sorted(t.datetime_start.timestamp() for t in trials if t.datetime_start is not None)
    span = starts[-1] - starts[0] if len(starts) > 1 else 0.0
    return {"complete_per_cell": complete, "claims": len(starts), "claim_span_s": span,
            "claims_per_s": len(starts) / max(span, 1e-9), "retries": len(trials) - cells}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", required=True, help="PostgreSQL (or SQLite) URL")
    parser.add_argument("--workers", type=int, default=16, help="worker processes (default 16)")
    parser.add_argument("--cells", type=int, default=1000, help="cells of the study (default 1000)")
    parser.add_argument("--kill", type=int, default=3, help="workers killed with SIGKILL partway (default 3)")
    parser.add_argument("--epochs", type=int, default=2, help="stub epochs per cell (default 2)")
    parser.add_argument("--heartbeat", type=float, default=3.0, help="heartbeat interval, s (default 3)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--precise", type=float, nargs=3, help=argparse.SUPPRESS)  # target pp, nats, max trials
    parser.add_argument("--max-sleep", type=float, default=0.02, help=argparse.SUPPRESS)
    parser.add_argument("--study-name", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.storage, args.study_name, args.cells, args.epochs, args.heartbeat, args.folder, args.precise,
               args.max_sleep)
        return
    r = load_test(args.storage, args.workers, args.cells, args.kill, args.epochs, args.heartbeat)
    per_cell = r["complete_per_cell"]
    stats = r["stats"]
    finished = sum(s["finished"] for s in stats)
    print(f"{args.workers} workers ({r['killed']} killed), {args.cells} cells: exit codes {sorted(r['codes'])}")
    print(f"cells COMPLETE once: {sum(v == 1 for v in per_cell.values())}/{args.cells}, "
          f"more than once: {sum(v > 1 for v in per_cell.values())}")
    print(f"claims: {r['claims']} ({r['retries']} retried after a kill) in {r['claim_span_s']:.1f} s "
          f"= {r['claims_per_s']:.1f} pops/s (trial starts)")
    if finished:
        print(f"database statements per finished cell (surviving workers): "
              f"{sum(s['statements'] for s in stats) / finished:.1f}")


if __name__ == "__main__":
    main()
