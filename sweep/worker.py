"""A worker: claim open cells, train them, record every epoch, until no cell is left."""

from __future__ import annotations

import json
import math
import queue
import signal
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import optuna
import torch

from . import timings
from .cells import CellBoard, Claimed, Heartbeat
from .checkpoint import checkpoint_key, checkpoint_path, load_checkpoint, save_checkpoint, worth_saving
from .data import Cifar
from .errors import Interrupted
from .patience import PATIENCE, Patience
from .precision import Rule, extend, latest_block
from .progress import say
from .protocol import Protocol
from .records import write_records
from .runtime import machine_name
from .space import Cell
from .train import Checkpoint, train

FINAL_KEYS = ("train_acc", "val_acc", "train_nll", "val_nll", "val_loss", "val_ece",
              "train_loss_running", "train_acc_running")


@dataclass
class RunConfig:
    protocol: Protocol
    cells: list[Cell]
    eps_range: tuple[float, float] | None
    batch_trials: int
    checkpoint_dir: Path
    device: torch.device
    heartbeat_interval: float = 20.0
    epsilons: list[float] | None = None  # the grid (None when ε is sampled): its seed blocks count as cells
    rule: Rule | None = None  # --until-precise: add seed blocks until the headline CIs are narrow enough
    db_patience: float = PATIENCE  # seconds every database step retries a transient error before giving up
    compile: bool = False  # the training step through torch.compile (see `sweep bench --compile`)


class Events:
    """What a worker tells about its progress (see sweep/progress.py); by default nobody listens."""

    def started(self, cells: Sequence[str], resumed_epoch: int = 0) -> None: ...
    def epoch(self, cells: Sequence[str], epoch: int, seconds: float) -> None: ...
    def finished(self, cell: str, line: str, counted: bool = True) -> None: ...
    def planned(self, total: int, line: str) -> None: ...
    def census(self, done: int, busy: int) -> None: ...


def trial_line(c: Claimed, m: dict) -> str:
    return (f"trial {c.trial.number}: eps={c.eps:.4g} seed={c.seed} train_acc={m['train_acc']:.4f} "
            f"val_acc={m['val_acc']:.4f} gap={m['gap']:+.4f} ({m['seconds']:.0f} s)")


class EpochWriter:
    """Per-epoch bookkeeping (Optuna reports, history, checkpoints) done in order by a thread.

    The next epoch trains meanwhile: the writes for 20 trials take a good part of a second on a
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

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet done (the queue counts them under its lock, across both threads)."""
        return self.queue.unfinished_tasks

    def _work(self) -> None:
        while (job := self.queue.get()) is not None:
            if self.error is None:
                try:
                    job()
                except BaseException as e:  # re-raised in the training thread
                    self.error = e
            self.queue.task_done()

    def close(self) -> None:
        """Wait for every submitted job; a failed job's error is left in `error`."""
        self.queue.put(None)
        self.thread.join()


Trainer = Callable[..., list[list[dict]]]  # train's signature; tests put a stand-in here


def run_worker(study: optuna.Study, storage, data: Cifar, cfg: RunConfig, events: Events = Events(),
               trainer: Trainer = train) -> int:
    """Claim and train open cells until none is left; returns how many trials this worker finished."""
    board = CellBoard(study, storage, cfg.cells, cfg.eps_range, cfg.heartbeat_interval, epsilons=cfg.epsilons)
    patient = Patience(cfg.db_patience, on_trouble=board.troubled)
    key = _key_maker(study, patient)
    finished, total = 0, len(cfg.cells)
    with Heartbeat(board):
        try:
            while True:
                claimed = patient(board.claim, cfg.batch_trials)
                events.census(**board.counts)  # cells finished or held elsewhere count as they change
                if len(board.cells) != total:  # a block added, here or by another worker
                    total = len(board.cells)
                    events.planned(total, patient(latest_block, board))
                if not claimed:
                    status = patient(board.status)
                    events.census(**board.counts)
                    if not status["busy"] and not status["open"]:
                        if cfg.rule is None:
                            return finished
                        decision = patient(extend, board, cfg.rule, cfg.epsilons)
                        line = decision.text(len({c.seed for c in board.cells}))
                        if decision.action != "add":
                            events.planned(total, line)
                            return finished
                        total = len(board.cells) + len(cfg.epsilons) * len(decision.seeds)
                        events.planned(total, line)
                        continue
                    # Cells held by other workers: wait until they finish, or until a dead worker's heartbeat
                    # goes stale and its cell reopens here (not within the grace period after an outage).
                    if not status["open"] or not board.settled():
                        time.sleep(min(cfg.heartbeat_interval, 5))
                    continue
                for group in _by_start_epoch(claimed, cfg, key):
                    finished += _run_group(board, data, cfg, group, events, trainer, patient, key)
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP (errors.Terminated), at whatever step
            board.release_all(mark="interrupted")  # the group that trained, any still waiting, a claim half made
            raise Interrupted("the trials this worker held are marked FAIL", getattr(e, "signum", signal.SIGINT))
        except BaseException:
            board.release_all()
            raise


def _key_maker(study: optuna.Study, patient: Patience) -> Callable[[Protocol], dict]:
    """Checkpoint keys, from the study's recorded protocol read once: an epoch's checkpoint never waits on the
    database."""
    recorded = patient(lambda: study.user_attrs.get("protocol"))
    return lambda p: checkpoint_key(study.study_name, recorded, p.label_smoothing, p.seed)


def _by_start_epoch(claimed: list[Claimed], cfg: RunConfig, key) -> Iterator[list[tuple[Claimed, Checkpoint | None]]]:
    """Trials trained together must be at the same epoch: group fresh cells and each resume point."""
    groups: dict[int, list] = {}
    for c in claimed:
        p = replace(cfg.protocol, label_smoothing=c.eps, seed=c.seed)
        ckpt, why = load_checkpoint(checkpoint_path(cfg.checkpoint_dir, c.cell), key(p))
        if ckpt is None and (why or c.attempt > 0):  # a retry that cannot resume says so
            why = why or "its checkpoint is not here: none was written yet, or it is on another machine"
            say(f"sweep: restarting {c.cell.key} from epoch 0 ({why})")
        groups.setdefault(ckpt.epoch if ckpt else 0, []).append((c, ckpt))
    return iter(groups.values())


def _run_group(board: CellBoard, data, cfg: RunConfig, group, events: Events, trainer: Trainer,
               patient: Patience, key: Callable[[Protocol], dict]) -> int:
    claimed = [c for c, _ in group]
    keys = [c.cell.key for c in claimed]
    protocols = [replace(cfg.protocol, label_smoothing=c.eps, seed=c.seed) for c in claimed]
    paths = [checkpoint_path(cfg.checkpoint_dir, c.cell) for c in claimed]
    start = group[0][1].epoch if group[0][1] else 0
    lost: set[int] = set()  # trials another worker took over (this one missed its heartbeats)
    unsaved: list[Path] = []  # the first checkpoint that could not be written

    def kept(k: int, write: Callable[[], None]) -> None:
        """Write for trial k unless it was taken over; a taken-over trial is left alone from then on."""
        if k not in lost:
            try:
                patient(write)
            except optuna.exceptions.UpdateFinishedTrialError:
                lost.add(k)
                board.held.discard(claimed[k].cell.key)  # another worker's now: a later claim of it starts afresh

    for k, (c, ckpt) in enumerate(group):
        kept(k, lambda: _describe(c, ckpt, len(group), cfg))
    events.started(keys, start)

    save_cost: list[float] = []  # seconds the last checkpoint took to write

    def save(snapshot) -> None:
        t0 = time.perf_counter()
        for k in range(len(claimed)):
            if k not in lost:
                if not save_checkpoint(paths[k], snapshot(k), key(protocols[k])) and not unsaved:
                    unsaved.append(paths[k])  # once per group: a full disk stays full
                    say(f"sweep: warning: cannot write checkpoint {paths[k]} (disk full or read-only?); training "
                        "goes on, and a retry would start from an older checkpoint or epoch 0")
        save_cost[:] = [time.perf_counter() - t0]
        timings.add("checkpoint write", save_cost[0])

    def record(rows: dict[int, tuple[dict, dict]]) -> None:
        """One transaction for every trial still this worker's; a trial taken over is let go from then on."""
        t0 = time.perf_counter()
        live = {claimed[k].trial._trial_id: row for k, row in rows.items() if k not in lost}
        gone = patient(write_records, board.storage, live)
        for k, c in enumerate(claimed):
            if c.trial._trial_id in gone:
                lost.add(k)
                board.held.discard(c.cell.key)  # another worker's now: a later claim of it starts afresh
        timings.add("database writes", time.perf_counter() - t0)

    def on_epoch(epoch: int, histories, checkpoints) -> None:
        h = histories[0][-1]
        seconds = h["epoch_seconds"] + h["eval_seconds"]
        left = cfg.protocol.epochs - epoch
        # A queued save lands before this one: both must be on disk before the run ends to be of any use.
        cost = (saver.pending + 1) * (save_cost[0] if save_cost else estimated_save_seconds(len(claimed)))
        if worth_saving(left, seconds, cost):
            t0 = time.perf_counter()
            snapshot = _snapshot(checkpoints, len(claimed))  # copied now: the next epoch changes the weights
            timings.add("checkpoint snapshot", time.perf_counter() - t0)
            saver.submit(lambda: save(snapshot))
        elif left:
            timings.add("checkpoints skipped", 0.0)
        history = [list(h) for h in histories]  # the next epoch appends to the lists
        writer.submit(lambda: record({k: ({epoch: h[-1]["val_acc"]}, {"history": _jsonable(h)})
                                      for k, h in enumerate(history)}))
        events.epoch(keys, epoch, seconds)

    # Two threads: the checkpoints (files) never wait on, nor stop with, the database records.
    saver, writer = EpochWriter(), EpochWriter()
    try:
        histories = trainer(protocols, data, cfg.device, resume=[ck for _, ck in group], on_epoch=on_epoch,
                            compile=cfg.compile)
    finally:
        t0 = time.perf_counter()
        saver.close()  # interrupted or not, the epochs trained so far are kept
        t1 = time.perf_counter()
        writer.close()
        timings.add("checkpoint wait", t1 - t0)
        timings.add("database wait", time.perf_counter() - t1)
    for thread in (writer, saver):
        if thread.error is not None:
            raise thread.error
    finals = {k: final_metrics(h) for k, h in enumerate(histories)}
    record({k: ({}, m) for k, m in finals.items()})
    done = 0
    for k, (c, path) in enumerate(zip(claimed, paths)):
        metrics = finals[k]
        if k not in lost and patient(board.complete, c, metrics["val_acc"]):
            path.unlink(missing_ok=True)
            done += 1
            events.finished(c.cell.key, trial_line(c, metrics))
        else:
            board.held.discard(c.cell.key)
            events.finished(c.cell.key, f"trial {c.trial.number}: {c.cell.key} was taken over by another worker "
                                        "(this one missed its heartbeats); its result is not kept", counted=False)
    return done


def estimated_save_seconds(trials: int) -> float:
    """A checkpoint's write time before the first is timed: weights and two Adam moments in float32."""
    return trials * 3 * 545_098 * 4 / SAVE_BYTES_PER_S


SAVE_BYTES_PER_S = 200e6  # a slow local disk; the first write timed replaces this guess


def _snapshot(checkpoints, n: int):
    """Every trial's state, taken now; a stand-in trainer's plain `checkpoints(k)` is called now too."""
    take = getattr(checkpoints, "take", None)
    if take is not None:
        return take().trial
    taken = [checkpoints(k) for k in range(n)]
    return lambda k: taken[k]


def _describe(c: Claimed, ckpt: Checkpoint | None, together: int, cfg: RunConfig) -> None:
    c.trial.set_user_attr("device", str(cfg.device))
    c.trial.set_user_attr("threads", torch.get_num_threads())
    c.trial.set_user_attr("machine", machine_name(cfg.device))
    c.trial.set_user_attr("trials_together", together)
    c.trial.set_user_attr("compiled", cfg.compile)
    c.trial.set_user_attr("resumed_from_epoch", ckpt.epoch if ckpt else 0)
    for h in ckpt.history if ckpt else []:
        c.trial.report(h["val_acc"], h["epoch"])


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
