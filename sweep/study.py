"""The Optuna side: the search space, claiming cells exactly once, and running trials.

A cell is one (ε, seed) pair of the grid, or one numbered slot when ε is sampled from a range.
Workers claim a cell by inserting (study, cell, attempt) into a small table beside Optuna's in the
same database; the primary key makes the claim atomic on SQLite and PostgreSQL alike, so a cell
is never run twice at once (Optuna's GridSampler and enqueued trials can both hand one grid
point to two workers). A cell whose trial FAILed (a crash, Ctrl-C, or a dead worker's stale
heartbeat) is claimed again under the next attempt number and resumes from its checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import socket
import threading
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import optuna
import sqlalchemy as sa
import torch
from optuna.trial import TrialState

from . import __version__
from .data import Cifar
from .protocol import Protocol
from .train import Checkpoint, train

DEFAULT_EPSILONS = (0.0, 0.05, 0.1, 0.2)
EPS_PARAM, SEED_PARAM = "label_smoothing", "seed"
SEED_HIGH = 2**31 - 1
FINAL_KEYS = ("train_acc", "val_acc", "train_nll", "val_nll", "val_loss", "val_ece",
              "train_loss_running", "train_acc_running")

optuna.logging.set_verbosity(optuna.logging.WARNING)


class UsageError(Exception):
    """A bad input or state the user can fix; the message is one line."""


class Interrupted(Exception):
    """Ctrl-C ended a trial; its cell is retried (from its checkpoint) on the next run."""


# ---------------------------------------------------------------- search space

@dataclass(frozen=True)
class Cell:
    key: str  # stable name of the cell, e.g. "eps=0.1/seed=3" or "slot=7"
    seed: int
    eps: float | None  # None: sampled by TPE from the range


def grid_cells(epsilons: Sequence[float], n: int) -> list[Cell]:
    """n cells filled round-robin over ε: seeds 0, 1, ... for each ε in turn."""
    return [Cell(f"eps={_fmt(epsilons[i % len(epsilons)])}/seed={i // len(epsilons)}",
                 seed=i // len(epsilons), eps=float(epsilons[i % len(epsilons)])) for i in range(n)]


def range_cells(n: int) -> list[Cell]:
    return [Cell(f"slot={i}", seed=i, eps=None) for i in range(n)]


def _fmt(x: float) -> str:
    return format(float(x), ".10g")


def _sampler(cell: Cell, eps_range: tuple[float, float] | None) -> optuna.samplers.BaseSampler:
    fixed = {SEED_PARAM: cell.seed} if cell.eps is None else {SEED_PARAM: cell.seed, EPS_PARAM: cell.eps}
    base = optuna.samplers.TPESampler(seed=cell.seed) if eps_range else optuna.samplers.RandomSampler(seed=0)
    return optuna.samplers.PartialFixedSampler(fixed, base)


def _suggest(trial: optuna.Trial, eps_range: tuple[float, float] | None) -> tuple[float, int]:
    lo, hi = eps_range or (0.0, 1.0)
    return trial.suggest_float(EPS_PARAM, lo, hi), trial.suggest_int(SEED_PARAM, 0, SEED_HIGH)


# ---------------------------------------------------------------- storage

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


def open_storage(url: str, heartbeat_interval: int) -> optuna.storages.RDBStorage:
    check_storage_url(url)
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        # Several local workers share one file: wait for its lock instead of failing.
        engine_kwargs = {"connect_args": {"timeout": 120}}
    elif parsed.get_backend_name() == "postgresql":
        engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    else:
        engine_kwargs = {"pool_pre_ping": True}
    try:
        with warnings.catch_warnings():  # heartbeat arguments are marked experimental; we rely on them
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                grace_period=3 * heartbeat_interval)
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"cannot open storage {mask_url(url)}: {reason.replace(url, mask_url(url))}")


def study_protocol(protocol: Protocol, data: Cifar, sampling: str) -> dict:
    """What every trial of a study shares; a rerun with any of it changed is refused."""
    return {**protocol.study_attrs(), "data_fingerprint": data.fingerprint, "sampling": sampling,
            "sweep_version": __version__}


def prepare_study(storage, name: str, expected: dict, data_source: str) -> optuna.Study:
    """Load or create the study, refusing one whose protocol differs or that sweep did not make."""
    existing = {s.study_name: s for s in storage.get_all_studies()}
    if name in existing:
        summary = existing[name]
        recorded = summary.user_attrs.get("protocol")
        if recorded is None:
            raise UsageError(f"study '{name}' was not made by sweep (no recorded protocol); choose another --study-name")
        if recorded != expected:
            diffs = ", ".join(f"{k}: study has {recorded.get(k)!r}, this run {expected.get(k)!r}"
                              for k in sorted(set(recorded) | set(expected)) if recorded.get(k) != expected.get(k))
            raise UsageError(f"study '{name}' was run with another protocol ({diffs}); use another --study-name")
        return optuna.load_study(study_name=name, storage=storage)
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    study.set_user_attr("protocol", expected)
    study.set_user_attr("data_source", data_source)
    study.set_user_attr("question", "How does label smoothing change overfitting of a fixed CNN on CIFAR-10?")
    return study


_META = sa.MetaData()
CLAIMS = sa.Table(
    "sweep_cell_claims", _META,
    sa.Column("study_name", sa.String(512), primary_key=True),
    sa.Column("cell", sa.String(128), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("trial_id", sa.Integer, nullable=True),
    sa.Column("claimed_at", sa.Float, nullable=False),
)


def ensure_claims_table(storage: optuna.storages.RDBStorage) -> None:
    try:
        _META.create_all(storage.engine, checkfirst=True)
    except sa.exc.SQLAlchemyError:
        # Another worker created it between the check and the CREATE.
        if not sa.inspect(storage.engine).has_table(CLAIMS.name):
            raise


@dataclass
class Claimed:
    cell: Cell
    trial: optuna.Trial
    eps: float
    seed: int
    attempt: int


class CellBoard:
    """Who holds which cell: claims are rows whose primary key only one worker can insert."""

    def __init__(self, study: optuna.Study, storage: optuna.storages.RDBStorage,
                 eps_range: tuple[float, float] | None):
        self.study, self.storage, self.eps_range = study, storage, eps_range
        self.grace = 3 * (storage.get_heartbeat_interval() or 60)

    def status(self, cells: Sequence[Cell]) -> dict[str, list[Cell]]:
        """Cells by state: 'done', 'busy' (running elsewhere), 'open' (to run now)."""
        _fail_stale(self.study)
        latest = self._latest()
        states = {t._trial_id: t.state for t in self.study.get_trials(deepcopy=False)}
        out: dict[str, list[Cell]] = {"done": [], "busy": [], "open": []}
        for cell in cells:
            out[self._state(latest.get(cell.key), states)].append(cell)
        return out

    def claim(self, cells: Sequence[Cell], k: int) -> list[Claimed]:
        """Claim up to k open cells, in order; each is a new RUNNING trial with its heartbeat."""
        _fail_stale(self.study)
        latest = self._latest()
        states = {t._trial_id: t.state for t in self.study.get_trials(deepcopy=False)}
        got: list[Claimed] = []
        for cell in cells:
            if len(got) == k:
                break
            row = latest.get(cell.key)
            if self._state(row, states) != "open":
                continue
            attempt = 0 if row is None else row.attempt + 1
            try:
                with self.storage.engine.begin() as conn:
                    conn.execute(CLAIMS.insert().values(study_name=self.study.study_name, cell=cell.key,
                                                        attempt=attempt, claimed_at=time.time()))
            except sa.exc.IntegrityError:
                continue  # another worker claimed it first
            got.append(self._start_trial(cell, attempt))
        return got

    def _start_trial(self, cell: Cell, attempt: int) -> Claimed:
        with warnings.catch_warnings():
            # Heartbeats come from our own thread (ask-and-tell on purpose); PartialFixedSampler is stable in use.
            warnings.simplefilter("ignore")
            self.study.sampler = _sampler(cell, self.eps_range)
            trial = self.study.ask()
        self.storage.record_heartbeat(trial._trial_id)
        eps, seed = _suggest(trial, self.eps_range)
        trial.set_user_attr("cell", cell.key)
        trial.set_user_attr("attempt", attempt)
        with self.storage.engine.begin() as conn:
            conn.execute(CLAIMS.update()
                         .where(CLAIMS.c.study_name == self.study.study_name, CLAIMS.c.cell == cell.key,
                                CLAIMS.c.attempt == attempt)
                         .values(trial_id=trial._trial_id))
        return Claimed(cell, trial, eps, seed, attempt)

    def _latest(self) -> dict:
        with self.storage.engine.connect() as conn:
            rows = conn.execute(sa.select(CLAIMS).where(CLAIMS.c.study_name == self.study.study_name)).all()
        latest = {}
        for r in rows:
            if r.cell not in latest or r.attempt > latest[r.cell].attempt:
                latest[r.cell] = r
        return latest

    def _state(self, row, states) -> str:
        if row is None:
            return "open"
        if row.trial_id is None:  # claimed, trial not yet created: a live worker's or a dead one's
            return "busy" if time.time() - row.claimed_at < self.grace else "open"
        state = states.get(row.trial_id)
        if state == TrialState.COMPLETE:
            return "done"
        if state in (TrialState.RUNNING, TrialState.WAITING):
            return "busy"
        return "open"


def _fail_stale(study: optuna.Study) -> None:
    """Mark trials of dead workers (no heartbeat within the grace period) FAIL, so their cells reopen."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


class Heartbeat:
    """Records heartbeats for a batch of trials from a thread (Optuna's own runs only in optimize())."""

    def __init__(self, storage: optuna.storages.RDBStorage, trial_ids: Sequence[int]):
        self.storage, self.ids = storage, list(trial_ids)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        interval = self.storage.get_heartbeat_interval() or 60
        while not self.stop.wait(interval):
            for tid in self.ids:
                try:
                    self.storage.record_heartbeat(tid)
                except Exception:
                    pass  # a missed beat is retried next interval; the grace period covers a few

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


class EpochWriter:
    """Per-epoch bookkeeping (Optuna reports, history, checkpoints) done in order by a thread.

    The next epoch trains meanwhile: for 20 trials these writes take about 0.3 s per epoch on a
    local SQLite file, which matters when an epoch of all 20 takes about a second on a GPU.
    """

    def __init__(self):
        self.queue: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(job)

    def _work(self) -> None:
        while (job := self.queue.get()) is not None:
            if self.error is None:
                try:
                    job()
                except BaseException as e:  # re-raised in the training thread
                    self.error = e

    def close(self) -> None:
        """Wait for every submitted job; a failed job's error is left in `error`."""
        self.queue.put(None)
        self.thread.join()


# ---------------------------------------------------------------- checkpoints

def checkpoint_path(folder: Path, cell: Cell) -> Path:
    return folder / (re.sub(r"[^A-Za-z0-9.=_-]+", "_", cell.key) + ".pt")


def save_checkpoint(path: Path, ckpt: Checkpoint, key: dict) -> None:
    """Written to a temporary file and renamed: a kill mid-write leaves the previous checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"key": key, "checkpoint": ckpt.as_dict()}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, key: dict) -> Checkpoint | None:
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:
        return None  # unreadable: start the cell afresh
    if blob.get("key") != key:
        return None
    return Checkpoint(**blob["checkpoint"])


# ---------------------------------------------------------------- running

@dataclass
class RunConfig:
    protocol: Protocol
    cells: list[Cell]
    eps_range: tuple[float, float] | None
    batch_trials: int
    checkpoint_dir: Path
    device: torch.device


def run_worker(study: optuna.Study, storage, data: Cifar, cfg: RunConfig,
               on_trial_done: Callable[[Claimed, dict], None] = lambda c, m: None) -> int:
    """Claim and train open cells until none is left; returns how many trials this worker finished."""
    board = CellBoard(study, storage, cfg.eps_range)
    finished = 0
    while True:
        claimed = board.claim(cfg.cells, cfg.batch_trials)
        if not claimed:
            # Cells held by other workers: wait until they finish, or until a dead worker's
            # heartbeat goes stale and its cell reopens here.
            if not board.status(cfg.cells)["busy"]:
                return finished
            time.sleep(min(storage.get_heartbeat_interval() or 60, 5))
            continue
        for group in _by_start_epoch(claimed, cfg, study):
            finished += _run_group(study, storage, data, cfg, group, on_trial_done)


def _ckpt_key(study: optuna.Study, protocol: Protocol) -> dict:
    return {"study": study.study_name, "protocol": study.user_attrs.get("protocol"), "eps": protocol.label_smoothing,
            "seed": protocol.seed}


def _by_start_epoch(claimed: list[Claimed], cfg: RunConfig, study) -> Iterator[list[tuple[Claimed, Checkpoint | None]]]:
    """Trials trained together must be at the same epoch: group fresh cells and each resume point."""
    groups: dict[int, list] = {}
    for c in claimed:
        p = replace(cfg.protocol, label_smoothing=c.eps, seed=c.seed)
        ckpt = load_checkpoint(checkpoint_path(cfg.checkpoint_dir, c.cell), _ckpt_key(study, p))
        groups.setdefault(ckpt.epoch if ckpt else 0, []).append((c, ckpt))
    return iter(groups.values())


def _run_group(study, storage, data, cfg: RunConfig, group, on_trial_done) -> int:
    claimed = [c for c, _ in group]
    protocols = [replace(cfg.protocol, label_smoothing=c.eps, seed=c.seed) for c in claimed]
    paths = [checkpoint_path(cfg.checkpoint_dir, c.cell) for c in claimed]
    for c, ckpt in group:
        c.trial.set_user_attr("device", str(cfg.device))
        c.trial.set_user_attr("threads", torch.get_num_threads())
        c.trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        c.trial.set_user_attr("trials_together", len(group))
        c.trial.set_user_attr("resumed_from_epoch", ckpt.epoch if ckpt else 0)
        for h in ckpt.history if ckpt else []:
            c.trial.report(h["val_acc"], h["epoch"])

    def record(epoch: int, histories: list[list[dict]], checkpoints: list[Checkpoint | None]) -> None:
        for k, c in enumerate(claimed):
            c.trial.report(histories[k][-1]["val_acc"], epoch)
            c.trial.set_user_attr("history", _jsonable(histories[k]))
            if checkpoints[k] is not None:
                save_checkpoint(paths[k], checkpoints[k], _ckpt_key(study, protocols[k]))

    def on_epoch(epoch: int, histories, checkpoint) -> None:
        # Copied now, while training waits: the next epoch changes the weights in place.
        last = epoch == cfg.protocol.epochs
        snapshot = ([list(h) for h in histories], [None if last else checkpoint(k) for k in range(len(claimed))])
        writer.submit(lambda: record(epoch, *snapshot))

    writer = EpochWriter()
    try:
        with Heartbeat(storage, [c.trial._trial_id for c in claimed]):
            try:
                histories = train(protocols, data, cfg.device, resume=[ck for _, ck in group], on_epoch=on_epoch)
            finally:
                writer.close()  # interrupted or not, the epochs trained so far are recorded
            if writer.error is not None:
                raise writer.error
    except KeyboardInterrupt:
        for c in claimed:
            c.trial.set_user_attr("interrupted", True)
            study.tell(c.trial, state=TrialState.FAIL)
        raise Interrupted(f"{len(claimed)} running trial(s) marked FAIL")
    except BaseException:
        for c in claimed:
            study.tell(c.trial, state=TrialState.FAIL)
        raise
    for c, hist, path in zip(claimed, histories, paths):
        metrics = final_metrics(hist)
        for key, value in metrics.items():
            c.trial.set_user_attr(key, value)
        study.tell(c.trial, metrics["val_acc"])
        path.unlink(missing_ok=True)
        on_trial_done(c, metrics)
    return len(claimed)


def final_metrics(history: list[dict]) -> dict:
    last = history[-1]
    m = {k: last[k] for k in FINAL_KEYS}
    m["gap"] = last["train_acc"] - last["val_acc"]
    m["nll_gap"] = last["val_nll"] - last["train_nll"]
    m["seconds"] = sum(h["epoch_seconds"] + h["eval_seconds"] for h in history)
    return m


def _jsonable(history: list[dict]) -> list[dict]:
    """NaN (empty reliability bins) is not JSON: store None."""
    clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
    return json.loads(json.dumps([{k: ([clean(x) for x in v] if isinstance(v, list) else clean(v))
                                   for k, v in h.items()} for h in history]))
