"""A worker: pop waiting cells from the queue, train them, record every epoch, until no cell is left.

Started by `sweep run` in its own process, or as `python -m sweep worker` (one per GPU or core) by a
run that spawns several. `run_worker` is the loop; `Group` trains the trials popped together.
"""

from __future__ import annotations

import json
import math
import queue as jobqueue
import signal
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import optuna
import torch

from . import __version__
from .errors import Interrupted
from .progress import say
from .protocol import Protocol
from .study.clock import Heartbeat
from .study.patience import PATIENCE, Patience
from .study.precision import Rule, extend, latest_block
from .study.queue import Held, Queue
from .study.records import write_records
from .study.space import Cell
from .training import timings
from .training.checkpoint import checkpoint_key, checkpoint_path, load_checkpoint, save_checkpoint, worth_saving
from .training.data import Cifar
from .training.runtime import machine_name
from .training.train import Checkpoint, train

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
    trouble_at: float = -math.inf  # when opening the study found the database away (monotonic clock), if it did


class Events:
    """What a worker tells about its progress (see sweep/progress.py); by default nobody listens."""

    def started(self, cells: Sequence[str], resumed_epoch: int = 0) -> None: ...
    def epoch(self, cells: Sequence[str], epoch: int, seconds: float) -> None: ...
    def finished(self, cell: str, line: str, counted: bool = True) -> None: ...
    def planned(self, total: int, line: str) -> None: ...
    def census(self, done: int, busy: Sequence[str]) -> None: ...


def trial_line(c: Held, m: dict) -> str:
    return (f"trial {c.number}: eps={c.eps:.4g} seed={c.seed} train_acc={m['train_acc']:.4f} "
            f"val_acc={m['val_acc']:.4f} gap={m['gap']:+.4f} ({m['seconds']:.0f} s)")


class EpochWriter:
    """Per-epoch bookkeeping (Optuna reports, history, checkpoints) done in order by a thread.

    The next epoch trains meanwhile: the writes for 20 trials take a good part of a second on a
    local SQLite file, which matters when an epoch of all 20 takes about a second on a GPU. Not a
    one-thread `concurrent.futures` executor: its thread is joined at interpreter exit, so a run
    ending during an outage would wait on a write to a database that does not answer; and after a
    failed write nothing later may run.
    """

    def __init__(self):
        self.jobs: jobqueue.Queue = jobqueue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put(job)

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet done (the queue counts them under its lock, across both threads)."""
        return self.jobs.unfinished_tasks

    def _work(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is None:
                try:
                    job()
                except BaseException as e:  # re-raised in the training thread
                    self.error = e
            self.jobs.task_done()

    def close(self, within: float | None = None) -> None:
        """Wait for every submitted job (at most `within` seconds: a run that is ending does not wait on a
        database that does not answer); a failed job's error is left in `error`."""
        self.jobs.put(None)
        self.thread.join(within)


Trainer = Callable[..., list[list[dict]]]  # train's signature; tests put a stand-in here
WRITER_WITHIN = 3.0  # seconds an ending run waits for a database write in flight (retries are abandoned)


def run_worker(study: optuna.Study, storage, data: Cifar, cfg: RunConfig, events: Events = Events(),
               trainer: Trainer = train) -> int:
    """Pop and train waiting cells until none is left; returns how many trials this worker finished."""
    queue = Queue(study, storage, cfg.cells, cfg.eps_range, cfg.heartbeat_interval, epsilons=cfg.epsilons)
    queue.trouble_at = cfg.trouble_at  # a worker that started in an outage gives the others their grace too
    patient = Patience(cfg.db_patience, on_trouble=queue.troubled)
    key = _key_maker(study, patient)
    finished, total = 0, len(cfg.cells)
    with Heartbeat(queue):
        try:
            while True:
                held = patient(queue.claim, cfg.batch_trials)
                events.census(**queue.counts)  # cells finished or held elsewhere count as they change
                if len(queue.cells) != total:  # a block added, here or by another worker
                    total = len(queue.cells)
                    events.planned(total, patient(latest_block, queue))
                if held:
                    for start, group in _by_start_epoch(held, cfg, key).items():
                        finished += Group(queue, cfg, group, start, patient, key).train(data, events, trainer)
                    continue
                status = patient(queue.status)
                events.census(**queue.counts)
                if status["busy"] or status["open"]:
                    # Cells held by other workers: wait until they finish, or until a dead worker's heartbeat
                    # goes stale and its cell is requeued here (not within the grace period after an outage).
                    if not status["open"] or queue.in_outage_grace():
                        time.sleep(min(cfg.heartbeat_interval, 5))
                    continue
                if cfg.rule is None:
                    return finished
                decision = patient(extend, queue, cfg.rule, cfg.epsilons)
                line = decision.text(len({c.seed for c in queue.cells}))
                if decision.action != "add":
                    events.planned(total, line)
                    return finished
                total = len(queue.cells)
                events.planned(total, line)
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP (errors.Terminated), at whatever step
            patient.abandon()  # the database may be away: the run ends now, not after the retry window
            # Every trial held, training or waiting, back in the queue; or, the database silent, left to go stale.
            released = queue.release_all(mark="interrupted")
            raise Interrupted("the trials this worker held are marked FAIL and queued again" if released else
                              "the database did not answer: the trials this worker held are taken back once their "
                              "heartbeats are stale", getattr(e, "signum", signal.SIGINT))
        except BaseException:
            patient.abandon()
            queue.release_all()
            raise


def _key_maker(study: optuna.Study, patient: Patience) -> Callable[[Protocol], dict]:
    """Checkpoint keys, from the study's recorded protocol read once: an epoch's checkpoint never waits on the
    database."""
    recorded = patient(lambda: study.user_attrs.get("protocol"))
    return lambda p: checkpoint_key(study.study_name, recorded, p.label_smoothing, p.seed)


def _by_start_epoch(held: list[Held], cfg: RunConfig, key) -> dict[int, list[tuple[Held, Checkpoint | None]]]:
    """Trials trained together must be at the same epoch: group fresh cells and each resume point."""
    groups: dict[int, list] = {}
    for h in held:
        p = replace(cfg.protocol, label_smoothing=h.eps, seed=h.seed)
        ckpt, why = load_checkpoint(checkpoint_path(cfg.checkpoint_dir, h.cell.key), key(p))
        if ckpt is None and (why or h.attempt > 0):  # a retry that cannot resume says so
            why = why or "its checkpoint is not here: none was written yet, or it is on another machine"
            say(f"sweep: restarting {h.cell.key} from epoch 0 ({why})")
        groups.setdefault(ckpt.epoch if ckpt else 0, []).append((h, ckpt))
    return groups


class Group:
    """Trials this worker trains together, as one batched network, from one start epoch to the end.

    It holds, per trial: the popped cell (`held`), its protocol, its checkpoint file and, once another
    worker has taken the trial over (this one missed its heartbeats), its index in `lost`; from then on
    nothing of that trial is written. Epoch records go to the database and checkpoints to disk from two
    threads of their own, so the next epoch trains meanwhile.
    """

    def __init__(self, queue: Queue, cfg: RunConfig, group: list[tuple[Held, Checkpoint | None]], start: int,
                 patient: Patience, key: Callable[[Protocol], dict]):
        self.queue, self.cfg, self.patient, self.key = queue, cfg, patient, key
        self.held = [h for h, _ in group]
        self.resume = [ck for _, ck in group]
        self.start = start
        self.protocols = [replace(cfg.protocol, label_smoothing=h.eps, seed=h.seed) for h in self.held]
        self.paths = [checkpoint_path(cfg.checkpoint_dir, h.cell.key) for h in self.held]
        self.lost: set[int] = set()
        self.unsaved = False  # a checkpoint could not be written: said once (a full disk stays full)
        self.save_cost: float | None = None  # seconds the last checkpoint took to write
        self.saver = self.writer = None

    def train(self, data, events: Events, trainer: Trainer) -> int:
        """Train the group to the end; returns how many trials finished here."""
        self.record({k: ({h["epoch"]: h["val_acc"] for h in ck.history} if ck else {}, self._described(ck))
                     for k, ck in enumerate(self.resume)})
        keys = [h.cell.key for h in self.held]
        events.started(keys, self.start)
        self.saver, self.writer = EpochWriter(), EpochWriter()
        ending = False
        try:
            histories = trainer(self.protocols, data, self.cfg.device, resume=self.resume,
                                on_epoch=lambda *a: self.on_epoch(*a, events=events), compile=self.cfg.compile)
        except BaseException:
            self.patient.abandon()  # ending: a write waiting on the database is given up, not waited out
            ending = True
            raise
        finally:
            t0 = time.perf_counter()
            self.saver.close()  # interrupted or not, the epochs trained so far are kept
            t1 = time.perf_counter()
            self.writer.close(within=WRITER_WITHIN if ending else None)
            timings.add("checkpoint wait", t1 - t0)
            timings.add("database wait", time.perf_counter() - t1)
        for thread in (self.writer, self.saver):
            if thread.error is not None:
                raise thread.error
        finals = {k: final_metrics(h) for k, h in enumerate(histories)}
        self.record({k: ({}, m) for k, m in finals.items()})
        done = 0
        for k, (h, path) in enumerate(zip(self.held, self.paths)):
            if k not in self.lost and self.patient(self.queue.complete, h, finals[k]["val_acc"]):
                path.unlink(missing_ok=True)
                done += 1
                events.finished(h.cell.key, trial_line(h, finals[k]))
            else:
                self.queue.let_go(h)
                events.finished(h.cell.key, f"trial {h.number}: {h.cell.key} was taken over by another worker "
                                            "(this one missed its heartbeats); its result is not kept", counted=False)
        return done

    def _described(self, ckpt: Checkpoint | None) -> dict:
        cfg = self.cfg
        return {"device": str(cfg.device), "threads": torch.get_num_threads(), "machine": machine_name(cfg.device),
                "trials_together": len(self.held), "compiled": cfg.compile,
                "resumed_from_epoch": ckpt.epoch if ckpt else 0, "sweep": __version__}

    def on_epoch(self, epoch: int, histories, checkpoints, events: Events) -> None:
        h = histories[0][-1]
        seconds = h["epoch_seconds"] + h["eval_seconds"]
        left = self.cfg.protocol.epochs - epoch
        # A queued save lands before this one: both must be on disk before the run ends to be of any use.
        cost = (self.saver.pending + 1) * (self.save_cost or estimated_save_seconds(len(self.held)))
        if worth_saving(left, seconds, cost):
            t0 = time.perf_counter()
            snapshot = _snapshot(checkpoints, len(self.held))  # copied now: the next epoch changes the weights
            timings.add("checkpoint snapshot", time.perf_counter() - t0)
            self.saver.submit(lambda: self.save(snapshot))
        elif left:
            timings.add("checkpoints skipped", 0.0)
        history = [list(h) for h in histories]  # the next epoch appends to the lists
        self.writer.submit(lambda: self.record({k: ({epoch: h[-1]["val_acc"]}, {"history": _jsonable(h)})
                                                for k, h in enumerate(history)}))
        events.epoch([h.cell.key for h in self.held], epoch, seconds)

    def save(self, snapshot) -> None:
        t0 = time.perf_counter()
        for k, path in enumerate(self.paths):
            if k not in self.lost and not save_checkpoint(path, snapshot(k), self.key(self.protocols[k])):
                if not self.unsaved:
                    self.unsaved = True
                    say(f"sweep: warning: cannot write checkpoint {path} (disk full or read-only?); training "
                        "goes on, and a retry would start from an older checkpoint or epoch 0")
        self.save_cost = time.perf_counter() - t0
        timings.add("checkpoint write", self.save_cost)

    def record(self, rows: dict[int, tuple[dict, dict]]) -> None:
        """Every trial still this worker's, through Optuna's setters; a trial taken over is let go from then on."""
        t0 = time.perf_counter()
        live = {self.held[k].trial_id: row for k, row in rows.items() if k not in self.lost}
        gone = self.patient(write_records, self.queue.storage, live)
        for k, h in enumerate(self.held):
            if h.trial_id in gone:
                self.lost.add(k)
                self.queue.let_go(h)  # another worker's now
        timings.add("database writes", time.perf_counter() - t0)


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
