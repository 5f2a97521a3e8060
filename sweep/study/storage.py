"""The study database: URLs, opening it, sweep's own tables beside Optuna's, and the study itself.

Any number of workers may start at the same instant, on a fresh study or an empty database. So
table creation is serialised (an advisory lock on PostgreSQL; a retry where the database has no
such lock), and the study's protocol is fixed by whoever first inserts its row into
`sweep_studies`: every other worker reads it from there at once, before or after the Optuna study
itself exists, and is refused in one line if its own protocol differs.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy as sa

from .. import __version__
from ..errors import UsageError
from ..protocol import DEFAULT_PRIMARY, TRAINING_REVISION
from .schema import check_schema

METRIC_NAME = "val_acc"  # the objective, as the dashboard names it
QUESTION = "How does label smoothing change overfitting of a fixed CNN on CIFAR-10?"

optuna.logging.set_verbosity(optuna.logging.WARNING)

META = sa.MetaData()
STUDIES = sa.Table(
    "sweep_studies", META,
    sa.Column("study_name", sa.String(512), primary_key=True),
    sa.Column("protocol", sa.Text, nullable=False),  # JSON of study_protocol(): what every trial shares
)
# The attempts of every cell: see queue.py. A row is written with its trial, in one transaction, and never
# changes; the primary key lets no cell have two attempts of one number, and so never two live trials.
ATTEMPTS = sa.Table(
    "sweep_attempts", META,
    sa.Column("study_id", sa.Integer, primary_key=True),  # Optuna's id (reused on SQLite: see attempts.tidy)
    sa.Column("cell", sa.String(128), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("trial_id", sa.Integer, nullable=False),  # the Optuna trial that is this attempt
)
# Who holds each RUNNING trial, and its heartbeat on the database's clock (see queue.py): a row is written with
# the pop, in one transaction, and beaten by its holder (a reused trial id's stale row is replaced
# by the pop).
HOLDS = sa.Table(
    "sweep_holds", META,
    sa.Column("trial_id", sa.Integer, primary_key=True),
    sa.Column("worker", sa.String(256), primary_key=True),
    sa.Column("grace", sa.Double, nullable=False),  # seconds of silence after which its holder is taken as dead
    sa.Column("heartbeat", sa.DateTime, nullable=False),  # naive UTC, by the database's clock
)
# Seed blocks added by `run --until-precise`: see precision.py. One row per seed the decision added.
BLOCKS = sa.Table(
    "sweep_blocks", META,
    sa.Column("study_id", sa.Integer, primary_key=True),
    sa.Column("seed", sa.Integer, primary_key=True),  # the new seed every ε of the grid gets
    sa.Column("decided_at", sa.Double, nullable=False),  # the deciding worker's clock, seconds since 1970
    sa.Column("worker", sa.String(256), nullable=False),
    sa.Column("record", sa.Text, nullable=False),  # JSON: the widest half-width and the rule that decided
)


# ---------------------------------------------------------------- URLs

def mask_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)


def check_storage_url(url: str) -> None:
    """Refuse a URL that cannot work before anything is created."""
    shown = mask_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        raise UsageError(f"--storage {shown}: not a database URL (e.g. sqlite:///studies/x.db or postgresql://user@host/db)")
    try:
        parsed.get_dialect()
    except Exception as e:
        raise UsageError(f"--storage {shown}: unsupported database scheme '{parsed.drivername}' ({type(e).__name__})")
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise UsageError(f"--storage {shown}: a SQLite study needs a file path, e.g. sqlite:///studies/x.db")
        folder = Path(parsed.database).expanduser().resolve().parent
        if not writable_folder(folder):
            raise UsageError(f"--storage {shown}: cannot write the study database in {folder}")


def writable_folder(folder: Path) -> bool:
    """Whether `folder` exists as a writable folder or can be created: checked before anything starts."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    return existing is not None and existing.is_dir() and os.access(existing, os.W_OK)


# ---------------------------------------------------------------- opening

def _engine_kwargs(backend: str) -> dict:
    if backend == "sqlite":
        return {"connect_args": {"timeout": 120}}  # local workers share one file: wait for its lock
    if backend == "postgresql":
        # A server gone silent (a dead host, a dropped route) is noticed in about 30 s, not the kernel's minutes:
        # a worker that is ending must not hang on a socket nobody answers.
        return {"connect_args": {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 10,
                                 "keepalives_interval": 5, "keepalives_count": 3, "tcp_user_timeout": 30_000},
                "pool_pre_ping": True}
    return {"pool_pre_ping": True}


def open_storage(url: str, patience: float = 0.0, access: str = "write",
                 on_trouble=None) -> optuna.storages.RDBStorage:
    """Optuna's storage, safe to open from many processes at the same instant on an empty database.

    `access` is what the caller does: "write" (`run`: may make the database and its tables), "report" (reads
    an existing study and writes only its dashboard notes; SQLite's transactions left as they are, so a file
    it may only read stays readable) or "read" (`compare`: an existing study, opened so that nothing can be
    written, a SQLite file in read-only mode). A database that is down or restarting is waited for up to
    `patience` seconds (then `DatabaseGone`, a database error, not bad input); an error that waiting does
    not cure (a bad password, a missing database) is a UsageError. A schema this sweep does not know is bad
    input, said before Optuna touches the file (schema.py). `on_trouble` is called when the database did not
    answer (see Queue.troubled)."""
    from .patience import DatabaseGone, Patience

    shown = mask_url(url)
    if access != "read":
        check_storage_url(url)
    try:
        parsed = sa.engine.make_url(url)
        backend = parsed.get_backend_name()
    except Exception:
        raise UsageError(f"--storage {shown}: not a database URL (e.g. sqlite:///studies/x.db)")
    if access not in ("write", "report", "read"):
        raise ValueError(f"access {access!r}: expected write, report or read")
    kwargs, opened = _engine_kwargs(backend), url
    if backend == "sqlite":
        # Only "read" opens the path it checks (resolved, ~ expanded); the others hand SQLite the URL's own.
        path = Path(parsed.database or "").expanduser() if access != "report" else Path(parsed.database or "")
        if access == "write":
            path.resolve().parent.mkdir(parents=True, exist_ok=True)
        elif not parsed.database or not path.is_file():
            raise UsageError(f"no study database at {parsed.database or shown}; run `python -m sweep run` first")
        elif access == "read":
            opened = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"

    def attempt() -> optuna.storages.RDBStorage:
        engine = sa.create_engine(opened, **kwargs)
        try:
            if access == "read" and not {"studies", "trials"} <= set(sa.inspect(engine).get_table_names()):
                raise UsageError(f"{shown} holds no Optuna study")
            check_schema(engine, shown, writing=access == "write")
            if access == "read":
                return optuna.storages.RDBStorage(opened, engine_kwargs=kwargs, skip_table_creation=True)
            return _once(engine, lambda: optuna.storages.RDBStorage(url, engine_kwargs=kwargs))
        finally:
            engine.dispose()

    try:  # a reader of two studies for a comparison waits for neither: what it cannot read is said at once
        storage = attempt() if access == "read" else Patience(patience, on_trouble=on_trouble)(attempt)
    except (UsageError, DatabaseGone):  # a database away is no bad input: DatabaseGone, for the caller to say so
        raise
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        verb = "read" if access == "read" else "open"
        raise UsageError(f"cannot {verb} storage {shown}: {reason.replace(opened, shown).replace(url, shown)}")
    if backend == "sqlite" and access == "write":
        immediate_transactions(storage.engine)
    return storage


def load_study(storage: optuna.storages.RDBStorage, name: str, url: str) -> optuna.Study:
    """The study `name`, or bad input saying where it was looked for."""
    if name not in {s.study_name for s in storage.get_all_studies()}:
        raise UsageError(f"no study '{name}' in {mask_url(url)}")
    return optuna.load_study(study_name=name, storage=storage)


def immediate_transactions(engine: sa.Engine) -> None:
    """Every transaction on this SQLite engine takes the write lock when it begins (BEGIN IMMEDIATE).

    Python's sqlite3 begins DEFERRED: two transactions that both read and then write (a queue look, then
    a pop) can both read, and the second writer then fails at once as locked, without waiting. Taking
    the lock at BEGIN makes each transaction wait its turn (the connection's 120 s timeout) instead."""

    @sa.event.listens_for(engine, "connect")
    def _no_pysqlite_begin(dbapi_connection, record):
        dbapi_connection.isolation_level = None  # sqlite3 then leaves BEGIN to the hook below

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections made before the hooks are dropped: every new one has them


def ensure_tables(storage: optuna.storages.RDBStorage) -> None:
    """sweep's tables beside Optuna's; made only once a study is known to be sweep's."""
    _once(storage.engine, lambda: META.create_all(storage.engine, checkfirst=True))
    inspector = sa.inspect(storage.engine)
    for table in META.sorted_tables:
        missing = {c.name for c in table.columns} - {c["name"] for c in inspector.get_columns(table.name)}
        if missing:  # made by another version of sweep
            raise UsageError(f"table {table.name} in this database lacks {', '.join(sorted(missing))}: it was made by "
                             "another version of sweep; use another database")


def _once(engine: sa.Engine, create, tries: int = 8):
    """Run a table-creating step under PostgreSQL's advisory lock, or retry where there is none."""
    for attempt in range(tries):
        try:
            with _creation_lock(engine):
                return create()
        except (sa.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError) as e:
            # Without an advisory lock two workers can both find a table missing and both create it.
            if attempt == tries - 1 or not _lost_creation_race(e):
                raise
            time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _creation_lock(engine: sa.Engine):
    if engine.dialect.name != "postgresql":
        yield
        return
    key = 0x5357_4545_5001  # any constant: one lock for table creation by sweep in this database
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _lost_creation_race(e: Exception) -> bool:
    text = f"{e} {e.__cause__}".lower()
    return isinstance(e, sa.exc.IntegrityError) or "already exists" in text or "database is locked" in text


# ---------------------------------------------------------------- the study

def default_url(name: str) -> str:
    """Where a study lives unless --storage says otherwise: one SQLite file per study under studies/."""
    return f"sqlite:///studies/{name}.db"


def study_protocol(protocol, data, sampling: str, margin_pp: float, margin_nats: float,
                   primary: str = DEFAULT_PRIMARY) -> dict:
    """What every trial of a study shares, and the analysis fixed in advance (the equivalence
    margins and the primary comparison); a rerun with any of it changed is refused."""
    return {**protocol.study_attrs(), "data_fingerprint": data.fingerprint, "sampling": sampling,
            "sweep_version": __version__, "training_revision": TRAINING_REVISION,
            "equivalence_margin_pp": margin_pp, "equivalence_margin_nats": margin_nats, "primary": primary}


def comparable(protocol: dict) -> dict:
    """What must match for a rerun to join a study: everything but the sweep version that started it, as long
    as the training revision (1 where unrecorded) is the same; a study made before the primary comparison was
    recorded reads as primary = gap, the question it was made for."""
    return {**{k: v for k, v in protocol.items() if k != "sweep_version"},
            "training_revision": protocol.get("training_revision", 1), "primary": protocol.get("primary", DEFAULT_PRIMARY)}


def prepare_study(storage: optuna.storages.RDBStorage, name: str, expected: dict, data_source: str,
                  images: tuple[int, int] | None = None) -> optuna.Study:
    """Load or create the study; refuse one whose protocol differs or that sweep did not make."""
    exists = name in {s.study_name for s in storage.get_all_studies()}
    recorded = _recorded_protocol(storage, name)
    if exists and recorded is None:
        # Made by another tool (or by a sweep older than the sweep_studies table).
        recorded = optuna.load_study(study_name=name, storage=storage).user_attrs.get("protocol")
        if recorded is None:
            raise UsageError(f"study '{name}' was not made by sweep (no recorded protocol); choose another --study-name")
    ensure_tables(storage)
    if recorded is None:
        recorded = _claim_protocol(storage, name, expected)
    if exists and "training_revision" not in recorded:
        recorded = _math_mode_of_old(storage, name, recorded)
    if comparable(recorded) != comparable(expected):
        a, b = comparable(recorded), comparable(expected)
        diffs = ", ".join(f"{k}: study has {a.get(k)!r}, this run {b.get(k)!r}"
                          for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))
        only_math = {k for k in set(a) | set(b) if a.get(k) != b.get(k)} == {"precision"}
        hint = (f"; pass --precision {a['precision']} to go on in the study's math mode" if only_math
                else "; use another --study-name")
        raise UsageError(f"study '{name}' was run with another protocol ({diffs}){hint}")
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
        # SQLite gives a deleted study's id to the next one: seed blocks decided for the old one are not this
        # one's (none can be decided yet: a block waits for a whole first stage).
        with storage.engine.begin() as conn:
            conn.execute(BLOCKS.delete().where(BLOCKS.c.study_id == study._study_id))
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage)
    if study.user_attrs.get("protocol") is None:  # the same values from every racing worker
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([METRIC_NAME])
        study.set_user_attr("data_source", data_source)
        study.set_user_attr("images", list(images or ()))  # train, validation: the report's protocol lines
        study.set_user_attr("question", QUESTION)
        study.set_user_attr("protocol", expected)
    return study


def _math_mode_of_old(storage, name: str, recorded: dict) -> dict:
    """Before math modes were named (sweep 0.3.0), "fp32" trained in TF32 on a GPU and in IEEE fp32 on a CPU: read
    which from the devices its trials ran on."""
    if recorded.get("precision") != "fp32":
        return recorded
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    # Only the trials that sweep 0.3.0 trained: later ones record "compiled", and their math mode is named.
    on_gpu = any(str(t.user_attrs.get("device", "")).startswith("cuda") for t in trials if "compiled" not in t.user_attrs)
    return {**recorded, "precision": "tf32"} if on_gpu else recorded


def recorded_protocol(storage, study: optuna.Study) -> dict | None:
    """The protocol fixed with the study (sweep's table, else the study's attribute), its math mode read as
    `run` reads it; None for a study sweep did not make."""
    recorded = _recorded_protocol(storage, study.study_name) or study.user_attrs.get("protocol")
    if recorded is not None and "training_revision" not in recorded:
        recorded = _math_mode_of_old(storage, study.study_name, recorded)
    return recorded


def _recorded_protocol(storage, name: str) -> dict | None:
    if not sa.inspect(storage.engine).has_table(STUDIES.name):
        return None
    with storage.engine.connect() as conn:
        text = conn.execute(sa.select(STUDIES.c.protocol).where(STUDIES.c.study_name == name)).scalar()
    return None if text is None else json.loads(text)


def _claim_protocol(storage, name: str, expected: dict) -> dict:
    """The first worker to insert the row fixes the protocol; the others read the winner's."""
    try:
        with storage.engine.begin() as conn:
            conn.execute(STUDIES.insert().values(study_name=name, protocol=json.dumps(expected)))
        return expected
    except sa.exc.IntegrityError:
        return _recorded_protocol(storage, name)


def command_line(argv) -> str:
    """A command as the report lists it: passwords masked, the sweep that ran it named."""
    return " ".join(["python -m sweep", *(mask_url(a) if "://" in a else a for a in argv)]) + f"  # sweep {__version__}"


def record_command(study: optuna.Study, command: str) -> None:
    """One attribute per command: processes started together never overwrite each other's."""
    study.set_user_attr(f"command:{time.time():.6f}:{os.getpid()}", command)


def recorded_commands(study: optuna.Study) -> list[str]:
    """The commands that made the study, in the order they started."""
    attrs = study.user_attrs
    keyed = sorted((k for k in attrs if k.startswith("command:")), key=lambda k: float(k.split(":")[1]))
    return list(attrs.get("commands", [])) + [attrs[k] for k in keyed]
