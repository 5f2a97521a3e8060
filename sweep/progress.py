"""Progress of a run, shown by the process the user started, however many workers train.

Workers report three events: a trial started, a group of trials finished an epoch, a trial
finished. In one process they go straight to `Progress`; a spawned worker writes them as JSON
lines on its stdout (`EventPipe`) and the parent feeds them to its `Progress` (`relay`). So the
parent knows each running trial's epoch without asking the database, and shows cells done /
running / left with an ETA from measured epoch times: a line per event when stderr is not a
terminal, a live bar when it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from typing import IO, Sequence

EVENT_PREFIX = "@sweep-event "


def say(line: str, stream: IO[str] | None = None) -> None:
    """One line in one write: lines that threads print at the same moment never run into each other."""
    stream = stream or sys.stderr
    stream.write(line + "\n")
    stream.flush()


def fmt_duration(seconds: float) -> str:
    # A clock (1:02:03) that ticks in place on a live line; the report's `tables.duration` writes words.
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """Cells done / running / left, each running trial's epoch, and an ETA; thread-safe."""

    def __init__(self, total: int, done: int, busy: Sequence[str], epochs: int,
                 stream: IO[str] | None = None, live: bool | None = None):
        self.total, self.own, self.epochs = total, done, epochs
        self.seen = 0  # cells done by the database's count, at the latest census
        self.busy = set(busy)  # cells held by live workers, this run's own included, at the latest census
        self.ended: set[str] = set()  # cells this run finished (a census read before that may still hold them)
        self.stream = stream or sys.stderr
        self.running: dict[str, int] = {}  # cell -> epochs finished
        self.epoch_seconds: list[float] = []
        self.plan = ""  # the precision rule's latest word (`--until-precise`)
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        live = self.stream.isatty() if live is None else live
        self.bar = None
        if live:
            from tqdm import tqdm

            self.bar = tqdm(total=total * epochs, initial=done * epochs, unit="epoch", file=self.stream,
                            dynamic_ncols=True, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} trial-epochs")

    # ------------------------------------------------------------ events
    def started(self, cells: Sequence[str], resumed_epoch: int = 0) -> None:
        with self.lock:
            for c in cells:
                self.running[c] = resumed_epoch
            self._show(f"started {_names(cells)}" + (f" from epoch {resumed_epoch}" if resumed_epoch else ""))

    def epoch(self, cells: Sequence[str], epoch: int, seconds: float) -> None:
        with self.lock:
            for c in cells:
                self.running[c] = epoch
            self.epoch_seconds.append(seconds)
            self._show(None)

    def finished(self, cell: str, line: str, counted: bool = True) -> None:
        """A trial ended; `counted` is False when another worker took its cell over."""
        with self.lock:
            self.running.pop(cell, None)
            self.own += counted
            if counted:  # a cell taken over is held elsewhere now
                self.ended.add(cell)
            self._show(line)

    def planned(self, total: int, line: str) -> None:
        """The study grew by a seed block (`--until-precise`), or its rule stopped: `line` says why."""
        with self.lock:
            if total > self.total and self.bar is not None:
                self.bar.total = total * self.epochs
            self.total = max(self.total, total)
            if line and line != self.plan:
                self.plan = line
                self._show(line)

    def census(self, done: int, busy: Sequence[str]) -> None:
        """What a worker read from the database: how many of the study's cells are done, and which are held by
        live workers (this run's own included), so that cells finished by other runs count as they finish.

        Held cells are matched by key, not counted: with several workers, one's census can reach the parent
        before another's `started` for the same cell, or after its `finished`.
        """
        with self.lock:
            before = self.done, self.elsewhere
            self.seen = max(self.seen, done)
            self.busy = set(busy)
            if (self.done, self.elsewhere) != before:
                self._show(None)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    # ------------------------------------------------------------ text
    @property
    def done(self) -> int:
        """Cells done: the database's latest count, or this run's own (the start plus every trial it finished), if
        that is ahead; never the two added, so a cell is counted once whichever word comes first."""
        return max(self.own, self.seen)

    @property
    def elsewhere(self) -> int:
        """Cells held by other runs: the latest census's, less those this run trains or has finished."""
        return len(self.busy - self.running.keys() - self.ended)

    def left(self) -> int:
        return max(0, self.total - self.done - len(self.running) - self.elsewhere)

    def eta_seconds(self) -> float | None:
        """Trial-epochs still to train × the mean measured epoch time ÷ the trials training at once."""
        if not self.epoch_seconds or not self.running:
            return None
        remaining = sum(self.epochs - e for e in self.running.values()) + self.left() * self.epochs
        per_epoch = sum(self.epoch_seconds) / len(self.epoch_seconds)
        return remaining * per_epoch / len(self.running)

    def summary(self) -> str:
        parts = [f"{self.done}/{self.total} done", f"{len(self.running)} running"]
        if self.elsewhere:
            parts.append(f"{self.elsewhere} elsewhere")
        parts.append(f"{self.left()} left")
        text = ", ".join(parts)
        if self.running:
            text += f"; {_epochs(self.running, self.epochs)}"
        eta = self.eta_seconds()
        if eta is not None:
            mean = sum(self.epoch_seconds) / len(self.epoch_seconds)
            text += f"; {mean:.1f} s/epoch; ETA {fmt_duration(eta)}"
        text += f"; elapsed {fmt_duration(time.monotonic() - self.t0)}"
        return f"{text}; {self.plan}" if self.plan else text

    def _show(self, message: str | None) -> None:
        if self.bar is not None:
            if message:
                self.bar.write(message, file=self.stream)
            self.bar.n = self.done * self.epochs + sum(self.running.values())
            self.bar.set_description_str(self.summary(), refresh=True)
            return
        if message:
            say(message, self.stream)
        say(f"progress: {self.summary()}", self.stream)


def _names(cells: Sequence[str]) -> str:
    return ", ".join(cells) if len(cells) <= 4 else f"{len(cells)} trials ({cells[0]} … {cells[-1]})"


def _epochs(running: dict[str, int], total: int) -> str:
    """Each running trial's epoch, or their range when many train at once."""
    if len(running) <= 4:
        return ", ".join(f"{c} epoch {e}/{total}" for c, e in running.items())
    lo, hi = min(running.values()), max(running.values())
    return f"epochs {lo}/{total}" if lo == hi else f"epochs {lo}–{hi}/{total}"


class EventPipe:
    """A spawned worker's side: events as JSON lines on a stream its parent reads."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def _emit(self, **event) -> None:
        with self.lock:
            if self.stream is None:
                return
            try:
                self.stream.write(EVENT_PREFIX + json.dumps(event) + "\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                # The parent is gone (or stopped reading): progress is lost, never the trial it reports on.
                if self.stream is sys.stdout:  # and the exit's own flush must not fail either
                    with contextlib.suppress(OSError, ValueError):
                        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                self.stream = None

    def started(self, cells: Sequence[str], resumed_epoch: int = 0) -> None:
        self._emit(kind="started", cells=list(cells), resumed_epoch=resumed_epoch)

    def epoch(self, cells: Sequence[str], epoch: int, seconds: float) -> None:
        self._emit(kind="epoch", cells=list(cells), epoch=epoch, seconds=seconds)

    def finished(self, cell: str, line: str, counted: bool = True) -> None:
        self._emit(kind="finished", cell=cell, line=line, counted=counted)

    def planned(self, total: int, line: str) -> None:
        self._emit(kind="planned", total=total, line=line)

    def census(self, done: int, busy: Sequence[str]) -> None:
        self._emit(kind="census", done=done, busy=list(busy))


def relay(stream: IO[str], progress: Progress, out: IO[str] | None = None) -> None:
    """Feed a worker's events to `progress`; pass its other lines through to `out`.

    Reads to the end whatever a line holds: a worker blocked on a full pipe would stall the sweep.
    """
    out = out or sys.stdout
    for raw in stream:
        try:
            if raw.startswith(EVENT_PREFIX):
                event = json.loads(raw[len(EVENT_PREFIX):])
                getattr(progress, event.pop("kind"))(**event)
            else:
                out.write(raw)
                out.flush()
        except Exception:  # a torn line from a killed worker, a closed terminal: keep draining
            continue
