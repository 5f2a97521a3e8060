"""One study per report folder: which study a folder's report is of, and the files that report wrote.

A report writes `.sweep-report.json` beside its files: the study's name, its storage (a SQLite file's path
relative to the folder, so that the record holds wherever the repository is cloned), and the files it
wrote. The next report of the same study removes those it no longer writes (a plot left out at one
seed); a report of another study is refused unless the folder was named on the command line. A folder
from before the record (sweep 0.6.0 or older) is known by its README's title.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import sqlalchemy as sa

from ..errors import UsageError

RECORD = ".sweep-report.json"
TITLE = re.compile(r"^# .*: study `([^`]+)`$")  # the report README's first line (readme.py)


def holder(out: Path) -> dict | None:
    """The study whose report `out` holds ({"study", "storage" (None where not recorded), "files"}), or None."""
    record = out / RECORD
    if record.is_file():
        try:
            found = json.loads(record.read_text())
            return {"study": str(found["study"]), "storage": found.get("storage"), "files": list(found["files"])}
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: as if there were none, and the report's own README decides
    readme = out / "README.md"
    if readme.is_file():
        with readme.open(errors="replace") as f:
            match = TITLE.match(f.readline().rstrip("\n"))
        if match:
            return {"study": match.group(1), "storage": None, "files": []}
    return None


def where(storage_url: str | None, out: Path) -> str | None:
    """The storage as the record keeps it: a SQLite file relative to the report folder, any other URL masked."""
    from ..study.storage import mask_url

    if storage_url is None:
        return None
    parsed = sa.engine.make_url(storage_url)
    if parsed.get_backend_name() != "sqlite":
        return mask_url(storage_url)
    db = Path(parsed.database).expanduser().resolve()
    return "sqlite:///" + os.path.relpath(db, out.expanduser().resolve())


def check_folder(out: Path, study_name: str, storage_url: str, named: bool, flag: str) -> None:
    """Refuse, before anything runs, a folder holding another study's report unless `named` on the command line."""
    found = holder(out)
    if found is None or named or _same(found, study_name, storage_url, out):
        return
    from ..study.storage import mask_url

    kept = f" ({found['storage']}, from the folder)" if found["storage"] else ""
    raise UsageError(f"{flag} {out}: holds the report of study '{found['study']}'{kept}, not of '{study_name}' in "
                     f"{mask_url(storage_url)}; name the folder with {flag} to write over it, or choose another")


def _same(found: dict, study_name: str, storage_url: str | None, out: Path) -> bool:
    """The same study: its name, and its storage wherever both are known."""
    if found["study"] != study_name:
        return False
    return found["storage"] is None or storage_url is None or found["storage"] == where(storage_url, out)


def record(out: Path, study_name: str, storage_url: str | None, files: list[str]) -> None:
    """Remove the files the folder's last report wrote and this one did not; then record this one's."""
    before = holder(out)
    for name in set(before["files"] if before else []) - set(files):
        path = out / name
        if path.parent == out and path.is_file():  # only the report's own files, never a subfolder's
            path.unlink()
    (out / RECORD).write_text(json.dumps({"study": study_name, "storage": where(storage_url, out),
                                          "files": sorted(files)}, indent=1) + "\n")
