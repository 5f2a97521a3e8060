"""Makes tests/data/study-0.4.0.sql: a study left by sweep 0.4.0 (its SQLite database as SQL text), for the
test that a newer sweep resumes it.

Run with a checkout of sweep 0.4.0 first on the path (`git worktree add /tmp/v040 v0.4.0-commit`):

    PYTHONPATH=/tmp/v040 python tests/old_study.py tests/data/study-0.4.0.sql

Four cells on the grid 0, 0.05, 0.1, 0.2 (seed 0, one epoch, the tests' folder data): two finished by
`sweep run --trials 2`; of the other two, one handed back (FAIL, interrupted) and one held by a worker
that died (RUNNING, its claim row still 'running'), both through 0.4.0's own claim protocol.
"""

import os
import sqlite3
from contextlib import closing
import subprocess
import sys
import tempfile
from pathlib import Path

import sweep

def main(out: str) -> None:
    assert sweep.__version__ == "0.4.0", f"run with sweep 0.4.0 on PYTHONPATH, not {sweep.__version__}"
    sys.path.insert(0, str(Path(sweep.__file__).parents[1]))  # the old checkout's own test data, byte for byte
    from tests.conftest import write_folders

    work = Path(tempfile.mkdtemp())
    data = write_folders(work / "data")
    db = work / "studies" / "label-smoothing.db"
    common = ["--epochs", "1", "--data-dir", str(data), "--cache-dir", str(work / "cache"), "--device", "cpu",
              "--workers", "1", "--no-report"]
    subprocess.run([sys.executable, "-m", "sweep", "run", "--trials", "2", *common], cwd=work, check=True,
                   env={**os.environ, "PYTHONPATH": str(Path(sweep.__file__).parents[1])})

    import optuna

    from sweep.cells import CellBoard
    from sweep.space import grid_cells
    from sweep.storage import open_storage

    storage = open_storage(f"sqlite:///{db}")
    study = optuna.load_study(study_name="label-smoothing", storage=storage)
    board = CellBoard(study, storage, grid_cells([0.0, 0.05, 0.1, 0.2], 4), None, 20.0)
    handed_back, held = board.claim(2)
    board.fail(handed_back, mark="interrupted")  # Ctrl-C: FAIL, claim 'failed'
    assert held.cell.key == "eps=0.2/seed=0"  # and this worker dies holding the other
    storage.engine.dispose()
    with closing(sqlite3.connect(db)) as con:  # text, not a binary file, in the repository
        Path(out).write_text("\n".join(con.iterdump()) + "\n")
    print(out, [(t.number, t.state.name, t.user_attrs.get("cell")) for t in study.get_trials()])


if __name__ == "__main__":
    main(sys.argv[1])
