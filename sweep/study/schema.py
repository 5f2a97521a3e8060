"""Optuna's tables as sweep's own SQL sees them, and the schema revisions that SQL is written for.

sweep declares the few columns of Optuna's tables that its own statements touch (attempts.py), rather
than importing Optuna's private models: a table of another shape is then a refusal in one line, not a
wrong row. Every supported Optuna (5.0 and 5.1) lays out its tables at alembic revision `v3.2.0.a`.

Optuna 5.0 changed what the trials' datetime columns mean without a new revision: 4.x wrote naive local
time, 5.0 writes naive UTC (its setter converts from local, its reader converts back). A study file set
up by Optuna 4.x (its `version_info` row says so) and holding trials that an older sweep timed (no `sweep`
attribute: 0.7.0 writes it on each trial it trains, and runs on Optuna 5 only) is refused by `run`: trials
written in both zones would make every duration and wall time wrong by the zone's offset. A file Optuna 4.x
only set up, with no trial timed before 0.7.0, goes on.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from optuna.trial import TrialState
from packaging.version import InvalidVersion, Version  # Optuna's own dependency

from ..errors import UsageError

KNOWN_REVISIONS = ("v3.2.0.a",)  # the alembic heads sweep's SQL was checked against (Optuna 4.5 to 5.1)
UTC_SINCE = (5, 0)  # the first Optuna release whose trial datetimes are naive UTC

OPTUNA = sa.MetaData()
STUDIES = sa.Table("studies", OPTUNA, sa.Column("study_id", sa.Integer, primary_key=True),
                   sa.Column("study_name", sa.String(512)))
TRIALS = sa.Table(
    "trials", OPTUNA,
    sa.Column("trial_id", sa.Integer, primary_key=True),
    sa.Column("number", sa.Integer),
    sa.Column("study_id", sa.Integer),
    sa.Column("state", sa.Enum(TrialState), nullable=False),  # stored by name, as Optuna's own Enum column
    sa.Column("datetime_start", sa.DateTime),  # naive UTC (Optuna >= 5.0)
    sa.Column("datetime_complete", sa.DateTime),
)
PARAMS = sa.Table(
    "trial_params", OPTUNA,
    sa.Column("param_id", sa.Integer, primary_key=True),
    sa.Column("trial_id", sa.Integer),
    sa.Column("param_name", sa.String(512)),
    sa.Column("param_value", sa.Float),  # the distribution's internal representation
    sa.Column("distribution_json", sa.Text),
)
ATTRS = sa.Table(
    "trial_user_attributes", OPTUNA,
    sa.Column("trial_user_attribute_id", sa.Integer, primary_key=True),
    sa.Column("trial_id", sa.Integer),
    sa.Column("key", sa.String(512)),
    sa.Column("value_json", sa.Text),
)
REVISION = sa.Table("alembic_version", OPTUNA, sa.Column("version_num", sa.String(32), primary_key=True))
VERSION_INFO = sa.Table("version_info", OPTUNA, sa.Column("version_info_id", sa.Integer, primary_key=True),
                        sa.Column("library_version", sa.String(256)))


def recorded_schema(engine: sa.Engine) -> tuple[str | None, str | None]:
    """(alembic revision, Optuna release that set the file up), each None where absent (a new database)."""
    names = set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        revision = conn.execute(sa.select(REVISION.c.version_num)).scalar() if REVISION.name in names else None
        made_by = (conn.execute(sa.select(VERSION_INFO.c.library_version)).scalar()
                   if VERSION_INFO.name in names else None)
    return revision, made_by


def check_schema(engine: sa.Engine, shown_url: str, writing: bool) -> None:
    """Refuse, in one line and before Optuna touches it, a study database whose schema this sweep does not know."""
    import optuna

    revision, made_by = recorded_schema(engine)
    if writing and installed_head() not in KNOWN_REVISIONS:
        raise UsageError(f"Optuna {optuna.__version__} lays out its tables at revision {installed_head()}, which this "
                         f"sweep's SQL does not know ({', '.join(KNOWN_REVISIONS)}): install an Optuna that does (5.0 or 5.1: pip install "
                         "'optuna>=5.0,<5.2') or a sweep that knows this one")
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise UsageError(f"{shown_url}: Optuna schema revision {revision}, which this sweep (Optuna "
                         f"{optuna.__version__}, revision {', '.join(KNOWN_REVISIONS)}) does not know: the file was "
                         "written by another Optuna; open it with the sweep and Optuna that wrote it (pip install "
                         "'optuna==<that release>'), or use another --storage")
    if writing and made_by is not None and _release(made_by) < UTC_SINCE and (n := _timed_before_utc(engine)):
        raise UsageError(f"{shown_url}: set up by Optuna {made_by}, and {n} trial(s) timed by a sweep before 0.7.0, "
                         f"which may have run on Optuna 4.x (trial times in local time); Optuna {optuna.__version__} "
                         "writes UTC, and one study in both would get every duration wrong: go on with the sweep and "
                         "Optuna that made it, or start a new --storage")


def _timed_before_utc(engine: sa.Engine) -> int:
    """Trials with a start or end time and no `sweep` attribute: timed by a sweep older than 0.7.0."""
    marked = sa.select(ATTRS.c.trial_id).where(ATTRS.c.key == "sweep")
    timed = sa.or_(TRIALS.c.datetime_start.is_not(None), TRIALS.c.datetime_complete.is_not(None))
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(TRIALS)
                            .where(timed, TRIALS.c.trial_id.not_in(marked))).scalar_one()


@functools.lru_cache(maxsize=1)
def installed_head() -> str:
    """The schema revision the installed Optuna creates, read off a throwaway in-memory study database."""
    import optuna

    return optuna.storages.RDBStorage("sqlite://").get_current_version()


def _release(text: str) -> tuple[int, ...]:
    try:
        return Version(text).release[:2]
    except InvalidVersion:  # not a release Optuna wrote: no claim to UTC times
        return (0, 0)
