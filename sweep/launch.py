"""`sweep run`: open the study, queue its cells, choose workers and trials per worker, train here or spawn
`sweep worker` processes, finish.

With several workers, the process the user started never touches a GPU: it only counts them. Each
spawned worker (`python -m sweep worker` with the run's flags) sizes its own batch of trials from its
share of the open cells and of its GPU's free memory.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .errors import Interrupted, UsageError
from .training.plan import bf16_tip, plan_batch_trials, plan_workers, share_of


def given(argv, flag: str) -> bool:
    """Whether `flag` was on the command line (argparse also takes a unique prefix, e.g. --prec)."""
    return any(len(a) >= 4 and flag.startswith(a) for a in (a.partition("=")[0] for a in argv if a.startswith("--")))


def precision_chosen(argv) -> bool:
    return given(argv, "--precision")


# ---------------------------------------------------------------- the run

@dataclass
class Opened:
    """What a run has checked and opened before anything trains: the same in the parent and in every worker."""
    storage_url: str
    checkpoint_dir: Path
    data: object  # training.data.Cifar
    protocol: object  # protocol.Protocol
    storage: object  # optuna.storages.RDBStorage
    study: object  # optuna.Study
    cells: list
    eps_range: tuple[float, float] | None
    rule: object | None  # study.precision.Rule, with --until-precise
    trouble_at: float = -math.inf  # when opening last found the database away (monotonic clock), if it did


def run(args, device) -> int:
    """`sweep run` (the parent: queue, plan the workers, train here or spawn them, finish), or one spawned
    `sweep worker`."""
    from .progress import EventPipe

    opened = _open(args, device)
    if args.command == "worker":
        return _train_here(args, device, opened, args.share, EventPipe(), peers=args.peers)
    return _lead(args, device, opened)


def _open(args, device) -> Opened:
    """Check every input, load the data, open (or wait for) the database and the study; bad input is refused
    before anything is written."""
    from .protocol import Protocol
    from .study.space import grid_cells, range_cells
    from .study.storage import (check_storage_url, command_line, default_url, open_storage, prepare_study,
                                record_command, study_protocol)
    from .study.storage import writable_folder
    from .training.runtime import resolve_precision

    storage_url = args.storage or default_url(args.study_name)
    check_storage_url(storage_url)
    checkpoint_dir = Path(args.checkpoint_dir or f"studies/{args.study_name}/checkpoints")
    if not writable_folder(checkpoint_dir.expanduser().resolve()):
        raise UsageError(f"--checkpoint-dir {checkpoint_dir}: cannot create or write this folder")
    check_report_dir(args, storage_url)
    if args.eps_range and args.eps_range[0] >= args.eps_range[1]:
        raise UsageError(f"--eps-range {args.eps_range[0]} {args.eps_range[1]}: LO must be below HI")
    if args.eps_range and given(args.argv, "--epsilons"):
        raise UsageError("--eps-range samples ε from a range and --epsilons names a grid: give one of the two")
    if args.subset is not None and args.subset // 5 < 10 * 10:
        raise UsageError(f"--subset {args.subset}: {args.subset // 5} validation images, fewer than 10 per class to "
                         "read an accuracy from; use --subset 500 or more")
    rule = precision_rule(args)
    precision = resolve_precision(args.precision, device)
    protocol = Protocol(epochs=args.epochs, subset=args.subset, precision=precision)
    eps_range = tuple(args.eps_range) if args.eps_range else None

    trouble: list[float] = []
    if getattr(args, "trouble_ago", None) is not None:  # a worker: its parent found the database away then
        trouble.append(time.monotonic() - args.trouble_ago)
    # The storage before the data: a bad URL or password is said before a fresh cache's decoding, not after.
    storage = open_storage(storage_url, patience=args.db_patience,  # a database restarting is waited for
                           on_trouble=lambda: trouble.append(time.monotonic()))
    data = _load_data(args)
    study = prepare_study(storage, args.study_name, study_protocol(protocol, data, "range" if eps_range else "grid",
                                                                  args.equivalence_pp, args.equivalence_nats,
                                                                  args.primary), data.source,
                          (len(data.train_y), len(data.test_y)))
    if not eps_range:
        args.epsilons = _grid(args, study)
    if rule is not None:  # the first stage is the grid the rule began on, whatever later runs ask
        from .study.precision import check_frozen

        base = study.user_attrs.get("until_precise", {}).get("base_trials", args.trials)
        rule = replace(rule, first_stage=base // len(args.epsilons))
        check_frozen(study, rule)
    if args.command != "worker":
        record_command(study, command_line(args.argv))
        if not eps_range and args.epsilons != study.user_attrs.get("grid"):
            study.set_user_attr("grid", args.epsilons)
        if rule is not None:  # the report states the rule the study was last run under, and where blocks began
            study.set_user_attr("until_precise", {**asdict(rule), "epsilons": list(args.epsilons),
                                                  "base_trials": base, "procedure": "stein",
                                                  "first_stage_seeds": rule.first_stage})
    cells = range_cells(args.trials) if eps_range else grid_cells(args.epsilons, args.trials)
    return Opened(storage_url, checkpoint_dir, data, protocol, storage, study, cells, eps_range, rule,
                  max(trouble, default=-math.inf))


def _grid(args, study) -> list[float]:
    """The grid this run goes on with: the study's (recorded on its first run), whatever --epsilons says only
    where it is the same grid or --extend-grid adds to it."""
    from .study.space import grid_of, grid_text, next_grid

    known, recorded = grid_of(study)
    if recorded and not given(args.argv, "--epsilons"):  # a rerun goes on with the study's own grid
        return known
    grid = next_grid(known, args.epsilons, args.extend_grid, recorded)
    if grid is None and not given(args.argv, "--epsilons"):  # made before 0.7.0, on another grid than the default
        raise UsageError(f"study '{args.study_name}' has trials at ε {grid_text(known)}, which the default grid "
                         f"{grid_text(args.epsilons)} lacks (it was made before its grid was recorded); pass "
                         "its grid with --epsilons")
    if grid is None:
        ran = "was run on the grid" if recorded else "has trials at ε"
        raise UsageError(f"--epsilons {grid_text(args.epsilons)}: study '{args.study_name}' {ran} "
                         f"{grid_text(known)}; pass --extend-grid to add the new values to it, or use another "
                         "--study-name")
    return grid


def _lead(args, device, o: Opened) -> int:
    """The process the user started: queue the cells, choose the workers, train here or spawn, finish."""
    from .progress import Progress
    from .study.queue import Queue
    from .study.storage import mask_url
    from .training.runtime import cpu_flags

    queue = Queue(o.study, o.storage, o.cells, o.eps_range, args.heartbeat_interval,
                  epsilons=None if o.eps_range else args.epsilons)
    status = _tidy(queue, o.checkpoint_dir, args.db_patience, enqueue=True)
    o = replace(o, trouble_at=max(o.trouble_at, queue.trouble_at))  # an outage seen so far, opening or queueing
    n_open = len(status["open"])
    # A rule that may add blocks has at least a block's worth of work ahead, even on a finished grid.
    ahead = max(n_open, len(args.epsilons)) if o.rule is not None else n_open
    workers = plan_workers(args.workers, device.type, _gpu_count(device), _cores(), ahead)
    print(f"study '{args.study_name}' in {mask_url(o.storage_url)}: {len(queue.cells)} cells, "
          f"{len(status['done'])} done, {len(status['busy'])} running elsewhere, {n_open} to run "
          f"on {device} ({workers} worker{'s' if workers > 1 else ''}); data {o.data.source} "
          f"({len(o.data.train_y)} train / {len(o.data.test_y)} test)", flush=True)
    tip = bf16_tip(cpu_flags(), device.type, o.protocol.precision,  # a CPU with bf16 units training in fp32
                   args.precision != "auto" or precision_chosen(args.argv))
    if tip and not status["done"] and not status["busy"]:  # a study's math mode is fixed once it has trials
        print(tip, flush=True)
    if o.rule is not None:
        print(f"until precise: {precision_line(queue, o.rule, args.epsilons)}", flush=True)
    progress = Progress(total=len(queue.cells), done=len(status["done"]), busy=[c.key for c in status["busy"]],
                        epochs=o.protocol.epochs)
    codes = []
    try:
        if workers > 1:
            codes = _spawn_workers(args, device, workers, share_of(ahead, workers), progress, o.trouble_at)
        else:
            _train_here(args, device, o, ahead, progress)
    finally:
        progress.close()
    failed = [f"worker {i + 1} ({_ending(code)})" for i, code in enumerate(codes) if code]
    # Workers that failed may have waited out the database already: the report does not wait as long again.
    left = _finish(args, o, queue, min(args.db_patience, 10.0) if failed else args.db_patience)
    if o.rule is not None and not left:
        print(f"until precise: {precision_line(queue, o.rule, args.epsilons)}")
    if failed and left:
        print(f"sweep: {len(failed)} of {workers} workers failed: {', '.join(failed)}; the report covers the cells "
              "that finished; rerun the same command to run the rest", file=sys.stderr)
        return 1
    if failed:
        print(f"note: {', '.join(failed)} ended early; the other workers finished its cells")
    return 0


def _ending(code: int) -> str:
    if code < 0 or code > 128:
        with contextlib.suppress(ValueError):
            return f"ended by {signal.Signals(abs(code) if code < 0 else code - 128).name}"
    return f"exit code {code}"


def check_report_dir(args, storage_url: str) -> None:
    """The report's folder is checked before anything trains: a run must not end on a path it could not use,
    nor write over another study's report in a folder it was not told to use."""
    from .report.folder import check_folder
    from .study.storage import writable_folder

    if args.no_report:
        return
    if not writable_folder(Path(args.report_dir).expanduser().resolve()):
        raise UsageError(f"--report-dir {args.report_dir}: cannot create or write this folder (or it is a file)")
    check_folder(Path(args.report_dir), args.study_name, storage_url, given(args.argv, "--report-dir"),
                 "--report-dir")


def precision_rule(args):
    """--until-precise's rule, checked before anything is opened; None without the flag."""
    from .study.precision import METRICS, Rule

    if args.until_precise is None:
        if args.until_precise_nats is not None or args.until_precise_secondary:
            raise UsageError("--until-precise-nats and --until-precise-secondary go with --until-precise")
        return None
    if args.eps_range:
        raise UsageError("--until-precise works on a grid (seed blocks keep the pairing): drop --eps-range")
    if 0.0 not in args.epsilons:
        raise UsageError("--until-precise compares each ε with ε = 0: include 0 in --epsilons")
    if args.trials % len(args.epsilons):
        raise UsageError(f"--until-precise adds whole seed blocks: --trials must be a multiple of the "
                         f"{len(args.epsilons)} ε values")
    if args.max_trials < args.trials:
        raise UsageError(f"--max-trials {args.max_trials} is below --trials {args.trials}")
    nats = args.until_precise_nats
    if nats is None:
        nats = args.until_precise * args.equivalence_nats / args.equivalence_pp
    metrics = tuple(METRICS) if args.until_precise_secondary else (args.primary,)
    if args.trials // len(args.epsilons) < 2:
        raise UsageError("--until-precise needs a first stage of at least two seeds per ε: raise --trials")
    return Rule(target_pp=args.until_precise, target_nats=nats, max_trials=args.max_trials, metrics=metrics)


def precision_line(queue, rule, epsilons) -> str:
    """Where the rule stands on the study's finished trials (the same reckoning the workers make)."""
    from .study.precision import decide, finished_values, needs

    status = queue.status()  # also reads the blocks added so far
    seeds = len({c.seed for c in queue.cells})
    ns = needs(finished_values(queue.study, {c.key for c in queue.cells}), rule)
    if status["open"] or status["busy"]:
        return (f"Stein's two-stage rule on the first {rule.first_stage} seeds per ε, targets ±{rule.target_pp:g} pp"
                + (f" (NLL gap ±{rule.target_nats:.3g} nats)" if "nll_gap" in rule.metrics else "")
                + f" for {', '.join(rule.metrics)}, at most {rule.max_trials} trials; {seeds} seeds per ε planned so far")
    return decide(ns, rule, seeds, len(epsilons)).text(seeds)


def _train_here(args, device, o: Opened, share: int, events, peers: int = 1) -> int:
    import torch

    from .training.runtime import use_fast_kernels
    from .worker import RunConfig, run_worker

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    use_fast_kernels(device)
    free = None
    if device.type == "cuda":  # less the images, moved and normalised (`train.prepared`): not the trials' memory
        images = len(o.data.train_y) + len(o.data.test_y)
        free = torch.cuda.mem_get_info(device)[0] - images * 3 * 32 * 32 * (1 + 4 + 4)
    k = plan_batch_trials(args.batch_trials, device.type, max(1, share), free, peers)
    cfg = RunConfig(protocol=o.protocol, cells=o.cells, eps_range=o.eps_range, batch_trials=k,
                    checkpoint_dir=o.checkpoint_dir, device=device, heartbeat_interval=args.heartbeat_interval,
                    epsilons=None if o.eps_range else args.epsilons, rule=o.rule, db_patience=args.db_patience,
                    compile=args.compile, trouble_at=o.trouble_at)
    run_worker(o.study, o.storage, o.data.to(device), cfg, events=events)
    return 0


def _load_data(args):
    from .training.data import load, stratified_subset

    data = load(args.data_dir, args.cache_dir)
    return stratified_subset(data, args.subset) if args.subset else data


def _gpu_count(device) -> int:
    import torch

    # device_count() asks the driver without creating a CUDA context in this process.
    return torch.cuda.device_count() if device.type == "cuda" and device.index is None else 1


def _cores() -> int:
    from .training.runtime import cpu_cores

    return cpu_cores()


def _spawn_workers(args, device, workers: int, share: int, progress, trouble_at: float) -> int:
    """`trouble_at`: when this process last found the database away; each worker gives others its grace."""
    from .progress import relay

    gpus = _gpu_count(device) if device.type == "cuda" else 0
    # The workers import this very copy of the package, installed or not.
    here = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])),
           "SWEEP_PARENT_PID": str(os.getpid())}
    peers = math.ceil(workers / max(1, gpus)) if device.type == "cuda" else 1  # workers sharing one GPU
    procs, relays = [], []
    try:
        for i in range(workers):
            extra = ["--workers", "1", "--no-report", "--share", str(share), "--peers", str(peers)]
            if gpus > 1:
                extra += ["--device", f"cuda:{i % gpus}"]
            if device.type == "cpu":
                extra += ["--threads", str(max(1, _cores() // workers))]
            if math.isfinite(trouble_at):
                extra += ["--trouble-ago", f"{time.monotonic() - trouble_at:.3f}"]
            # Workers report progress as event lines on stdout; this process shows them.
            proc = subprocess.Popen([sys.executable, "-m", "sweep", "worker", *args.argv[1:], *extra], env=env,
                                    stdout=subprocess.PIPE, text=True, bufsize=1)
            procs.append(proc)
            relays.append(threading.Thread(target=relay, args=(proc.stdout, progress), daemon=True))
            relays[-1].start()
        return [p.wait() for p in procs]
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP (errors.Terminated)
        signum = getattr(e, "signum", signal.SIGINT)
        _stop(procs, signum)
        raise Interrupted(f"{workers} workers stopped", signum)
    finally:
        for t in relays:
            t.join(timeout=10)


STOP_WAIT = 25  # seconds a signalled worker has to hand its cells back before it is killed


def _stop(procs: list[subprocess.Popen], signum: int) -> None:
    """Pass the signal on: it may have reached this process alone (a scheduler signalling the job's main
    process); a worker that had it already ignores the repeat. One still running after STOP_WAIT is stuck
    (a lock, a hung file system) and is killed: a scheduler's grace period is about 30 s."""
    for p in procs:
        with contextlib.suppress(OSError):
            p.send_signal(signum)
    deadline = time.monotonic() + STOP_WAIT  # one wait for all of them, not one each
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _tidy(queue, checkpoint_dir: Path, patience: float, enqueue: bool = False) -> dict:
    """Fail an older sweep's dead workers' trials, queue the cells (at the start), and remove this machine's
    checkpoints of finished cells, wherever they finished; returns the cells by state."""
    from .study.patience import Patience
    from .training.checkpoint import remove_checkpoints

    patient = Patience(patience, on_trouble=queue.troubled)
    patient(queue.tidy)
    if enqueue:
        patient(queue.enqueue)  # every cell waits as a trial from now on, in the dashboard too
    status = patient(queue.status)
    remove_checkpoints(checkpoint_dir, [c.key for c in status["done"]])
    return status


def _finish(args, o: Opened, queue, patience: float) -> int:
    """Tidy (with this machine's checkpoints of finished cells), print the table, write the report; returns the
    cells not done."""
    from .report import per_epsilon_table, trials_frame, write_report
    from .study.storage import mask_url

    status = _tidy(queue, o.checkpoint_dir, patience)
    left = len(status["busy"]) + len(status["open"])
    if left:
        print(f"{left} of {len(queue.cells)} cells are not done "
              "(running elsewhere, or left by a dead worker and retried once its heartbeat is stale): rerun to finish")
    frame = trials_frame(o.study)
    if len(frame):
        print(per_epsilon_table(frame).to_string(float_format=lambda v: f"{v:.4f}"))
    if not args.no_report:
        out = write_report(o.study, Path(args.report_dir), storage_url=o.storage_url)
        print(f"report: {out}")
    print(f"dashboard: optuna-dashboard --host 127.0.0.1 {mask_url(o.storage_url)}")
    return left
