"""`sweep compare A B`: open two studies read-only, refuse what cannot be compared, write the comparison.

Nothing here writes to either database: Optuna's storage is opened without table creation, and a SQLite
file in read-only mode, so a refusal or a crash leaves both files byte for byte as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy as sa

from ..errors import UsageError
from ..study.storage import default_url

SQLITE = "sqlite:///"


@dataclass(frozen=True)
class Loaded:
    name: str
    url: str  # as given (default: sqlite:///studies/<name>.db)
    storage: optuna.storages.RDBStorage
    study: optuna.Study


def urls(a: str, b: str, storage: str | None, storage_b: str | None) -> tuple[str, str]:
    """A's storage: --storage or its own default file; B's: --storage-b, else --storage, else its own file."""
    return storage or default_url(a), storage_b or storage or default_url(b)


def same_place(url_a: str, url_b: str) -> bool:
    """Whether two URLs name one database: SQLite files compared by their resolved path."""
    if url_a.startswith(SQLITE) and url_b.startswith(SQLITE):
        return Path(url_a[len(SQLITE):]).expanduser().resolve() == Path(url_b[len(SQLITE):]).expanduser().resolve()
    return url_a == url_b


def readonly_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's storage on an existing database, opened so that nothing can be written to it."""
    from ..study.schema import check_schema
    from ..study.storage import _engine_kwargs, mask_url

    shown = mask_url(url)
    try:
        parsed = sa.engine.make_url(url)
        backend = parsed.get_backend_name()
    except Exception:
        raise UsageError(f"--storage {shown}: not a database URL (e.g. sqlite:///studies/x.db)")
    kwargs = _engine_kwargs(backend)
    if backend == "sqlite":
        path = Path(parsed.database or "").expanduser()
        if not parsed.database or not path.is_file():
            raise UsageError(f"no study database at {parsed.database or shown}")
        url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
    try:
        engine = sa.create_engine(url, **kwargs)
        try:
            if not {"studies", "trials"} <= set(sa.inspect(engine).get_table_names()):
                raise UsageError(f"{shown} holds no Optuna study")
            check_schema(engine, shown, writing=False)
        finally:
            engine.dispose()
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, skip_table_creation=True)
    except UsageError:
        raise
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"cannot read storage {shown}: {reason.replace(url, shown)}")


def load(name: str, url: str) -> Loaded:
    from ..study.storage import mask_url

    storage = readonly_storage(url)
    if name not in {s.study_name for s in storage.get_all_studies()}:
        raise UsageError(f"no study '{name}' in {mask_url(url)}")
    return Loaded(name, url, storage, optuna.load_study(study_name=name, storage=storage))


def protocol_of(loaded: Loaded) -> dict:
    """The protocol fixed with the study (sweep's table, else the study's attribute), math mode as in `run`."""
    from ..study.storage import _math_mode_of_old, _recorded_protocol

    recorded = _recorded_protocol(loaded.storage, loaded.name) or loaded.study.user_attrs.get("protocol")
    if recorded is None:
        raise UsageError(f"study '{loaded.name}' was not made by sweep (no recorded protocol)")
    if "training_revision" not in recorded:
        recorded = _math_mode_of_old(loaded.storage, loaded.name, recorded)
    return recorded


def side(loaded: Loaded, protocol: dict):
    from .analysis import first_stage, margins
    from .compare import normalised
    from .compare_text import Side
    from .tables import machines, trials_frame, wall_span
    from ..study.storage import mask_url

    trials = trials_frame(loaded.study)
    span = wall_span(loaded.study)
    wall = span.seconds if span else None
    grid = [t.params["label_smoothing"] for t in loaded.study.get_trials(deepcopy=False)
            if "label_smoothing" in t.params]
    return Side(loaded.name, mask_url(loaded.url), normalised(protocol, grid), trials, margins(protocol)[0], wall,
                machines(trials), first_stage(loaded.study.user_attrs))


def compare(a: str, b: str, storage: str | None, storage_b: str | None, out: str | None) -> tuple[Path, list]:
    """Write the comparison; returns its folder and the protocol fields that differ, (field, A's, B's)."""
    from .compare import paired_cells, protocol_differences, shared_margin
    from .compare_text import write_comparison
    from ..study.storage import writable_folder

    url_a, url_b = urls(a, b, storage, storage_b)
    if a == b and same_place(url_a, url_b):
        raise UsageError(f"'{a}' is compared with itself: name two studies (or the same name in two storages)")
    if out is None and any("/" in n or ".." in n for n in (a, b)):
        raise UsageError(f"'{a}', '{b}': a study name with '/' or '..' makes no folder name; give --out")
    folder = Path(out or f"reports/compare-{a}-{b}")
    if (folder.exists() and not folder.is_dir()) or not writable_folder(folder.expanduser().resolve()):
        raise UsageError(f"--out {folder}: cannot create or write this folder (or it is a file)")
    loaded_a, loaded_b = load(a, url_a), load(b, url_b)
    side_a, side_b = side(loaded_a, protocol_of(loaded_a)), side(loaded_b, protocol_of(loaded_b))
    allowed, refused = protocol_differences(side_a.protocol, side_b.protocol)
    if refused:
        what = "; ".join(f"{k}: {a} {va!r}, {b} {vb!r}" for k, va, vb in refused)
        raise UsageError(f"'{a}' and '{b}' differ in their training protocol ({what}); compare studies that differ "
                         "only in precision, sweep version or training revision")
    if not len(paired_cells(side_a.trials, side_b.trials, ())):
        raise UsageError(f"'{a}' and '{b}' have no cell (ε, seed) complete in both: nothing to pair")
    margin = shared_margin(side_a.protocol, side_b.protocol)
    return write_comparison(side_a, side_b, margin, folder, cwd=Path.cwd()), allowed
