"""A pop race: poppers (sweep's own `Queue.claim`) released at one gate, popping until nothing waits.

    python -m tests.pop_race GATE STORAGE STUDY CELLS [--naive]     # one popper (what `race` starts)
    python -m tests.pop_race demo STORAGE [--naive]                 # the rounds, with what each trial saw

Every pop it wins is written to the table `race_pops` (study, trial, worker) in the same database, so the
test reads at the database what each worker took. `--naive` pops as a read of the state and an update
by id in separate transactions, on an engine whose transactions begin DEFERRED: the race the test must be able
to see.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
POPPERS, ROUNDS, CELLS = 6, 3, 120  # 6 processes, 3 rounds of 120 WAITING trials each

RACE = sa.MetaData()
POPS = sa.Table("race_pops", RACE, sa.Column("study", sa.String(64)), sa.Column("trial_id", sa.Integer),
                sa.Column("worker", sa.String(64)))
EPSILONS = (0.0, 0.05, 0.1, 0.2)


def naive_pop(queue, plain: sa.Engine):
    """Read the state, then update by id: no compare-and-set, no lock held from the read to the write."""
    from sweep.study.attempts import RUNNING, WAITING, state_of
    from sweep.study.clock import utc_now
    from sweep.study.schema import TRIALS
    from sweep.study.storage import HOLDS

    def pop(trial_id: int) -> bool:
        with plain.connect() as conn:
            state = state_of(conn.execute(sa.select(TRIALS.c.state).where(TRIALS.c.trial_id == trial_id)).scalar())
        if state != WAITING:
            return False
        with plain.begin() as conn:
            conn.execute(TRIALS.update().where(TRIALS.c.trial_id == trial_id).values(state=RUNNING))
            conn.execute(HOLDS.insert().values(trial_id=trial_id, worker=queue.worker, grace=queue.grace,
                                               heartbeat=utc_now(queue.dialect)))
        return True

    return pop


def race(url: str, tmp_path: Path, naive: bool = False) -> list[dict]:
    """Run the rounds; per round, which workers popped each trial (from `race_pops`) and hold it (sweep_holds)."""
    from sweep.study.queue import Queue
    from sweep.study.space import grid_cells
    from sweep.study.storage import HOLDS, open_storage, prepare_study

    storage = open_storage(url)
    RACE.create_all(storage.engine)
    rounds = []
    for _ in range(ROUNDS):
        name = f"race-{uuid.uuid4().hex[:8]}"
        study = prepare_study(storage, name, {"protocol": "race"}, "test")
        Queue(study, storage, grid_cells(list(EPSILONS), CELLS), None, 60.0, worker="setup").enqueue()
        gate = tmp_path / f"gate-{name}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "tests.pop_race", str(gate), url, name, str(CELLS)] + ["--naive"] * naive
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(POPPERS)]
        end = time.time() + 120
        while len(list(tmp_path.glob(f"{gate.name}.ready.*"))) < POPPERS:
            assert time.time() < end and all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.02)
        gate.touch()
        outs = [p.communicate(timeout=300) for p in procs]
        assert all(p.returncode == 0 for p in procs), outs
        ids = [t._trial_id for t in study.get_trials(deepcopy=False)]  # before the engine's own transaction
        with storage.engine.connect() as conn:
            popped = conn.execute(sa.select(POPS.c.trial_id, POPS.c.worker).where(POPS.c.study == name)).all()
            held = conn.execute(sa.select(HOLDS.c.trial_id, HOLDS.c.worker).where(HOLDS.c.trial_id.in_(ids))).all()
        winners = Counter(int(out) > 0 for out, _ in outs)
        rounds.append({"pops": Counter(t for t, _ in popped), "holds": Counter(t for t, _ in held),
                       "popped_by": _by_trial(popped), "held_by": _by_trial(held), "trials": len(ids),
                       "poppers_that_won": winners[True]})
    storage.engine.dispose()
    return rounds


def _by_trial(rows) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for trial_id, worker in rows:
        out.setdefault(trial_id, []).append(worker)
    return {t: sorted(w) for t, w in out.items()}


def main(gate: str, url: str, study_name: str, cells: int, naive: bool) -> None:
    import optuna

    from sweep.study.queue import Queue
    from sweep.study.space import grid_cells
    from sweep.study.storage import open_storage

    storage = open_storage(url)
    study = optuna.load_study(study_name=study_name, storage=storage)
    worker = f"w{os.getpid()}"
    queue = Queue(study, storage, grid_cells(list(EPSILONS), cells), None, 60.0, worker=worker)
    if naive:
        queue._pop = naive_pop(queue, sa.create_engine(url, connect_args={"timeout": 120} if url.startswith("sqlite") else {}))
    queue.look()  # connections made and warm before the gate
    Path(f"{gate}.ready.{os.getpid()}").touch()
    while not Path(gate).exists():
        time.sleep(0.001)
    won = 0
    while held := queue.claim(1):
        with storage.engine.begin() as conn:
            conn.execute(POPS.insert(), [{"study": study_name, "trial_id": h.trial_id, "worker": worker}
                                         for h in held])
        won += len(held)
    print(won, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "demo":
        for r in race(sys.argv[2], Path(tempfile.mkdtemp()), naive="--naive" in sys.argv[3:]):
            print(f"{r['trials']} trials: popped twice {sum(n > 1 for n in r['pops'].values())}, held twice "
                  f"{sum(n > 1 for n in r['holds'].values())}; {r['poppers_that_won']} of {POPPERS} poppers won")
        sys.exit(0)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), "--naive" in sys.argv[5:])
