"""The queue against an older sweep's claim protocol, side by side in one run: pops per second under load, and
the cost of one heartbeat for K held trials.

    git worktree add /tmp/v040 <the 0.4.0 commit>
    python tests/queue_bench.py --storage postgresql://sweep:sweep@127.0.0.1/sweep --old /tmp/v040

Pops per second: `tests.claim_load`'s race (16 workers over 1,000 cells by default, training replaced by a
stub, no kills), run in each tree in turn, `--rounds` times; both figures come from the same reading of the
study (trials started, over the span of their start times), never from each version's own counters.
Heartbeat: one worker holding K trials, `--beats` heartbeats timed; the median in ms.
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
    p.add_argument("--beat-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.beat_only:
        print(json.dumps(beat_cost(args.storage, args.k, args.beats)))
        return
    trees = {"old": args.old.resolve(), "new": HERE}
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
