"""The queue and the records against an older sweep's, side by side in one run: pops per second under load, the
cost of one heartbeat for K held trials, and the cost of a worker's records for K trials trained together.

    git worktree add /tmp/v060 <the 0.6.0 commit>
    python tests/queue_bench.py --storage postgresql://sweep:sweep@127.0.0.1/sweep --old /tmp/v060
    python tests/queue_bench.py --storage sqlite:////tmp/bench.db --old /tmp/v060 --workers 6 --cells 240

Pops per second: `tests.claim_load`'s race (16 workers over 1,000 cells by default, training replaced by a
stub, no kills), run in each tree in turn, `--rounds` times; both figures come from the same reading of the
study (trials started, over the span of their start times), never from each version's own counters.
Heartbeat: one worker holding K trials, `--beats` heartbeats timed; the median in ms.
Records: one worker holding `--record-k` trials (20 by default) writes what a worker writes per epoch (each
trial's report and its history so far, a real history's size) for 10 epochs, then the final metrics, then
tells Optuna; the median epoch, the finals and the tells in ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def beat_cost(url: str, k: int, beats: int) -> dict:
    """In the process of whichever sweep is on the path: hold k trials, time `beats` heartbeats."""
    import sweep

    try:  # the queue (0.6.0 on)
        from sweep.study.queue import Queue as Board
        from sweep.study.space import grid_cells
        from sweep.study.storage import open_storage, prepare_study
    except ImportError:  # the claims table (0.4.0, 0.5.0)
        from sweep.cells import CellBoard as Board
        from sweep.space import grid_cells
        from sweep.storage import open_storage, prepare_study

    storage = open_storage(url)
    study = prepare_study(storage, f"beat-{uuid.uuid4().hex[:8]}", {"bench": True}, "bench")
    board = Board(study, storage, grid_cells([0.0, 0.05, 0.1, 0.2], k), None, 20.0, worker="bench")
    held = board.claim(k)
    assert len(held) == k
    times = []
    for _ in range(beats):
        t0 = time.perf_counter()
        board.beat()
        times.append(time.perf_counter() - t0)
    return {"version": sweep.__version__, "k": k, "median_ms": 1000 * statistics.median(times),
            "p90_ms": 1000 * sorted(times)[int(0.9 * len(times))]}


HISTORY_ROW = {"train_loss_running": 1.3, "train_acc_running": 0.72, "train_acc": 0.81, "train_nll": 0.62,
               "train_loss": 0.62, "val_acc": 0.66, "val_nll": 0.99, "val_loss": 0.99, "val_ece": 0.04,
               "val_bin_count": [1000] * 15, "val_bin_acc": [0.5] * 15, "val_bin_conf": [0.5] * 15,
               "epoch_seconds": 30.1, "eval_seconds": 3.2, "trials_together": 20}  # a real epoch's keys and size
FINALS = ("train_acc", "val_acc", "train_nll", "val_nll", "val_loss", "val_ece", "train_loss_running",
          "train_acc_running", "gap", "nll_gap", "seconds")


def record_cost(url: str, k: int, epochs: int = 10) -> dict:
    """In the process of whichever sweep is on the path: hold k trials, write their records as a worker does."""
    import sweep
    from sweep.study.queue import Queue
    from sweep.study.records import write_records
    from sweep.study.space import grid_cells
    from sweep.study.storage import open_storage, prepare_study

    storage = open_storage(url)
    study = prepare_study(storage, f"records-{uuid.uuid4().hex[:8]}", {"bench": True}, "bench")
    queue = Queue(study, storage, grid_cells([0.0, 0.05, 0.1, 0.2], k), None, 20.0, worker="bench")
    held = queue.claim(k)
    assert len(held) == k

    def timed(step) -> float:
        t0 = time.perf_counter()
        step()
        return 1000 * (time.perf_counter() - t0)

    history: list[dict] = []
    per_epoch = []
    for e in range(1, epochs + 1):
        history = history + [{"epoch": e, **HISTORY_ROW}]
        rows = {h.trial_id: ({e: 0.5 + e / 100}, {"history": history}) for h in held}
        per_epoch.append(timed(lambda: write_records(storage, rows)))
    finals = timed(lambda: write_records(storage, {h.trial_id: ({}, {m: 0.5 for m in FINALS}) for h in held}))
    tells = timed(lambda: [queue.complete(h, 0.5) for h in held])
    done = study.get_trials(deepcopy=False)
    assert all(len(t.user_attrs["history"]) == epochs and "gap" in t.user_attrs for t in done)
    return {"version": sweep.__version__, "k": k, "epoch_ms": statistics.median(per_epoch), "finals_ms": finals,
            "tells_ms": tells}


def pops(tree: Path, url: str, workers: int, cells: int) -> dict:
    """One race in `tree`'s sweep; pops per second read from the study's trials."""
    import optuna

    code = ("import json, sys; from tests.claim_load import load_test; "
            f"r = load_test({url!r}, workers={workers}, cells={cells}, kill=0); "
            "print(json.dumps({'name': r['name'], 'codes': r['codes'], "
            "'once': sorted(set(r['complete_per_cell'].values())), 'cells': len(r['complete_per_cell'])}))")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                         capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["codes"] == [0] * workers and r["once"] == [1] and r["cells"] == cells, r
    trials = optuna.load_study(study_name=r["name"], storage=url).get_trials(deepcopy=False)
    starts = sorted(t.datetime_start.timestamp() for t in trials if t.datetime_start)
    return {"pops": len(starts), "span_s": starts[-1] - starts[0], "pops_per_s": len(starts) / (starts[-1] - starts[0]),
            "wall_s": wall}


def in_tree(tree: Path, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--storage", required=True, help="PostgreSQL (or SQLite) URL both trees use")
    p.add_argument("--old", required=True, type=Path, help="a checkout of the older sweep")
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--cells", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=2, help="races per tree, alternating (default 2)")
    p.add_argument("--k", type=int, default=64, help="trials held for the heartbeat timing (default 64)")
    p.add_argument("--beats", type=int, default=200)
    p.add_argument("--record-k", type=int, default=20, help="trials whose records are timed (default 20)")
    p.add_argument("--beat-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--records-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.beat_only:
        print(json.dumps(beat_cost(args.storage, args.k, args.beats)))
        return
    if args.records_only:
        print(json.dumps(record_cost(args.storage, args.record_k)))
        return
    trees = {"old": args.old.resolve(), "new": HERE}
    for rnd in range(2):  # alternating, twice: a drift in the machine's load shows as a change between rounds
        for name, tree in trees.items():
            r = in_tree(tree, "--storage", args.storage, "--old", str(args.old), "--record-k", str(args.record_k),
                        "--records-only")
            print(f"records, {name} ({r['version']}), K = {r['k']}, round {rnd + 1}: per epoch {r['epoch_ms']:.1f} ms "
                  f"(median of 10), final metrics {r['finals_ms']:.1f} ms, telling {r['tells_ms']:.1f} ms",
                  flush=True)
    for name, tree in trees.items():
        r = in_tree(tree, "--storage", args.storage, "--old", str(args.old), "--k", str(args.k), "--beats",
                    str(args.beats), "--beat-only")
        print(f"heartbeat, {name} ({r['version']}), K = {r['k']}: median {r['median_ms']:.2f} ms, "
              f"p90 {r['p90_ms']:.2f} ms per beat", flush=True)
    if not args.rounds:
        return
    found: dict[str, list[dict]] = {"old": [], "new": []}
    for i in range(args.rounds):
        for name, tree in trees.items():
            r = pops(tree, args.storage, args.workers, args.cells)
            found[name].append(r)
            print(f"round {i + 1}, {name}: {r['pops']} pops in {r['span_s']:.1f} s = {r['pops_per_s']:.1f}/s "
                  f"(race {r['wall_s']:.1f} s wall)", flush=True)
    med = {name: statistics.median(r["pops_per_s"] for r in rs) for name, rs in found.items()}
    print(f"pops per second, median of {args.rounds}: old {med['old']:.1f}, new {med['new']:.1f} "
          f"(new / old = {med['new'] / med['old']:.2f})")


if __name__ == "__main__":
    main()
