"""Makes tests/data/study-0.6.0-new-york.sql: a study left by sweep 0.6.0 run outside UTC (its SQLite database
as SQL text), for the test that a newer sweep resumes it and reports its wall time truly.

sweep 0.6.0 wrote a trial's start in local time and Optuna 5 its completion in UTC, so each of its trials
reads back as lasting the zone's offset more than it did. Run with a checkout of 0.6.0 first on the path:

    TZ=America/New_York PYTHONPATH=/tmp/v060 python tests/zoned_study.py tests/data/study-0.6.0-new-york.sql

Three of the four cells of the grid 0, 0.05, 0.1, 0.2 (seed 0, one epoch, the tests' folder data), finished
by `sweep run --trials 3`.
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

import sweep


def main(out: str) -> None:
    assert sweep.__version__ == "0.6.0", f"run with sweep 0.6.0 on PYTHONPATH, not {sweep.__version__}"
    assert os.environ.get("TZ") == "America/New_York", "run with TZ=America/New_York"
    old = Path(sweep.__file__).parents[1]
    sys.path.insert(0, str(old))  # the old checkout's own test data, byte for byte
    from tests.conftest import write_folders

    work = Path(tempfile.mkdtemp())
    data = write_folders(work / "data")
    subprocess.run([sys.executable, "-m", "sweep", "run", "--trials", "3", "--epochs", "1", "--data-dir", str(data),
                    "--cache-dir", str(work / "cache"), "--device", "cpu", "--workers", "1", "--no-report"],
                   cwd=work, check=True, env={**os.environ, "PYTHONPATH": str(old)})
    with closing(sqlite3.connect(work / "studies" / "label-smoothing.db")) as con:  # text, not a binary file
        Path(out).write_text("\n".join(con.iterdump()) + "\n")
        print(out, con.execute("SELECT number, state, datetime_start, datetime_complete FROM trials").fetchall())


if __name__ == "__main__":
    main(sys.argv[1])
