"""Command line: `python -m sweep run | report | bench`.

A tiny CPU run on a local copy of CIFAR-10 (two trials, one epoch, 2,000 images):

    python -m sweep run --trials 2 --epochs 1 --subset 2000 --device cpu --data-dir ~/cifar10-jpeg
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_STUDY = "label-smoothing"


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2: no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got '{text}'")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def epsilon(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got '{text}'")
    # torch ignores nothing here loudly: a negative ε silently trains as if it were 0.
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"label smoothing must lie in [0, 1], got {value}")
    return value


def epsilon_list(text: str) -> list[float]:
    values = [epsilon(t) for t in text.replace(",", " ").split()]
    if not values:
        raise argparse.ArgumentTypeError("expected a comma-separated list such as 0,0.05,0.1,0.2")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"repeated value in '{text}'")
    return values


def auto_or_positive(text: str) -> int | str:
    return "auto" if text == "auto" else positive_int(text)


def build_parser() -> argparse.ArgumentParser:
    from .study import DEFAULT_EPSILONS

    parser = Parser(prog="python -m sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def storage_args(p):
        p.add_argument("--study-name", default=DEFAULT_STUDY, help=f"Optuna study name (default {DEFAULT_STUDY})")
        p.add_argument("--storage", help="Optuna storage URL, e.g. postgresql://user@host/db "
                                         "(default sqlite:///studies/<study-name>.db)")

    run = sub.add_parser("run", help="train the sweep's trials into an Optuna study, then write the report")
    run.add_argument("--trials", type=positive_int, default=20,
                     help="total cells of the study; on the grid, seeds 0, 1, ... for each ε in turn (default 20)")
    run.add_argument("--epsilons", type=epsilon_list, default=list(DEFAULT_EPSILONS),
                     help="comma-separated ε grid, each in [0, 1] (default 0,0.05,0.1,0.2)")
    run.add_argument("--eps-range", type=epsilon, nargs=2, metavar=("LO", "HI"),
                     help="sample ε in [LO, HI] with Optuna's TPE sampler instead of the grid, one seed per trial")
    run.add_argument("--epochs", type=positive_int, default=10, help="epochs per trial (default 10, the protocol)")
    storage_args(run)
    run.add_argument("--data-dir", help="local CIFAR-10 (cifar-10-batches-py/ or train/<class>/ + test/<class>/ "
                                        "image folders); default: download into ./data")
    run.add_argument("--cache-dir", default="data/cache", help="where decoded tensors are cached (default data/cache)")
    run.add_argument("--subset", type=positive_int,
                     help="quick runs: a fixed class-stratified sample of N training and N/5 test images")
    run.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    run.add_argument("--batch-trials", type=auto_or_positive, default="auto",
                     help="trials trained at once as one batched network; auto picks by device (default)")
    run.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                     help="fp32 (TF32 matmuls on GPU; default) or bf16 autocast")
    run.add_argument("--workers", type=auto_or_positive, default="auto",
                     help="worker processes on this machine; auto: one per GPU, or on a CPU one single-threaded "
                          "worker per core (at most 8 and the cells left); default auto")
    run.add_argument("--checkpoint-dir", help="per-epoch checkpoints (default studies/<study-name>/checkpoints)")
    run.add_argument("--heartbeat-interval", type=positive_int, default=20,
                     help="seconds between trial heartbeats; a worker silent for 3 intervals is taken as dead (default 20)")
    run.add_argument("--report-dir", default="reports", help="where the report is written (default reports)")
    run.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    run.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    run.add_argument("--threads", type=positive_int, help=argparse.SUPPRESS)  # set for CPU workers
    run.set_defaults(handler=cmd_run)

    rep = sub.add_parser("report", help="write plots and tables from a study")
    storage_args(rep)
    rep.add_argument("--out", default="reports", help="output folder (default reports)")
    rep.set_defaults(handler=cmd_report)

    bench = sub.add_parser("bench", help="time the seed's training loop against this project's paths")
    bench.add_argument("--data-dir", help="local CIFAR-10 copy (as for run); default: download into ./data")
    bench.add_argument("--cache-dir", default="data/cache", help="decoded-tensor cache (default data/cache)")
    bench.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    bench.add_argument("--steps", type=positive_int, default=40,
                       help="timed training steps per path in each round (default 40)")
    bench.add_argument("--rounds", type=positive_int, default=5,
                       help="rounds; each runs every path in turn and the median round is reported (default 5)")
    bench.add_argument("--ks", default="2,4", help="comma-separated K for the batched path (default 2,4)")
    bench.add_argument("--engines", default="grouped,vmap",
                       help="comma-separated batched engines to compare: grouped, vmap (default both)")
    bench.add_argument("--precisions", default="fp32", help="comma-separated: fp32, bf16 (default fp32)")
    bench.add_argument("--full", action="store_true", help="time one whole epoch per path instead of rounds of --steps")
    bench.add_argument("--out", default="reports/benchmark.md", help="markdown results (default reports/benchmark.md)")
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .data import DataError
    from .study import Interrupted, UsageError

    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if args.command in ("run", "bench"):
        from .runtime import keep_freed_memory

        keep_freed_memory()
    try:
        return args.handler(args) or 0
    except (UsageError, DataError) as e:
        print(f"sweep: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. a full disk mid-run; the running trials were marked FAIL
        print(f"sweep: error: {e}", file=sys.stderr)
        return 1
    except (Interrupted, KeyboardInterrupt) as e:
        what = f"{e}; " if isinstance(e, Interrupted) else ""
        if not getattr(args, "child", False):  # a worker's parent says it once for all
            print(f"sweep: interrupted: {what}rerun the same command to resume from the last finished epoch",
                  file=sys.stderr)
        return 130


def argv_of(args) -> list[str]:
    """The command line as typed, for the study's record of how it was made."""
    return getattr(args, "argv", None) or sys.argv[1:]


def resolve_device(name: str):
    import torch

    from .study import UsageError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"--device {name}: expected auto, cpu, cuda or cuda:N")
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise UsageError(f"--device {name}: expected auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise UsageError(f"--device {name}: no CUDA GPU is available here; use --device cpu")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) here")
    return device


def load_data(args):
    from .data import load, stratified_subset

    data = load(args.data_dir, args.cache_dir)
    if args.subset:
        data = stratified_subset(data, args.subset)
    return data


def cmd_run(args) -> int:
    import torch
    from tqdm import tqdm

    from . import study as S
    from .protocol import Protocol
    from .runtime import use_fast_kernels

    storage_url = args.storage or f"sqlite:///studies/{args.study_name}.db"
    S.check_storage_url(storage_url)
    checkpoint_dir = Path(args.checkpoint_dir or f"studies/{args.study_name}/checkpoints")
    if not S.writable_folder(checkpoint_dir.expanduser().resolve()):
        raise S.UsageError(f"--checkpoint-dir {checkpoint_dir}: cannot create or write this folder")
    device = resolve_device(args.device)
    data = load_data(args)
    protocol = Protocol(epochs=args.epochs, subset=args.subset, precision=args.precision)
    sampling = "range" if args.eps_range else "grid"
    if args.eps_range and args.eps_range[0] >= args.eps_range[1]:
        raise S.UsageError(f"--eps-range {args.eps_range[0]} {args.eps_range[1]}: LO must be below HI")

    storage = S.open_storage(storage_url, args.heartbeat_interval)
    study = S.prepare_study(storage, args.study_name, S.study_protocol(protocol, data, sampling), data.source)
    S.ensure_claims_table(storage)
    if not args.child:
        command = " ".join(["python -m sweep", *(S.mask_url(a) if "://" in a else a for a in argv_of(args))])
        study.set_user_attr("commands", study.user_attrs.get("commands", []) + [command])
    cells = S.range_cells(args.trials) if args.eps_range else S.grid_cells(args.epsilons, args.trials)
    board = S.CellBoard(study, storage, tuple(args.eps_range) if args.eps_range else None)
    status = board.status(cells)
    workers = 1 if args.child else _pick_workers(args.workers, device, len(status["open"]))
    k = _pick_batch_trials(args.batch_trials, device, len(status["open"]))
    if not args.child:
        how = f"{workers} workers" if workers > 1 else f"{k} at a time"
        print(f"study '{args.study_name}' in {S.mask_url(storage_url)}: {len(cells)} cells, "
              f"{len(status['done'])} done, {len(status['busy'])} running elsewhere, {len(status['open'])} to run "
              f"on {device} ({how}); data {data.source} ({len(data.train_y)} train / {len(data.test_y)} test)",
              flush=True)
    if workers > 1:
        return _spawn_workers(args, device, storage_url, workers)

    if args.threads:
        torch.set_num_threads(args.threads)
    use_fast_kernels(device)
    cfg = S.RunConfig(protocol=protocol, cells=cells, eps_range=tuple(args.eps_range) if args.eps_range else None,
                      batch_trials=k, device=device,
                      checkpoint_dir=checkpoint_dir)
    bar = tqdm(total=len(status["open"]), unit="trial", leave=False,
               disable=args.child or not status["open"] or not sys.stderr.isatty())

    def done(c, m):
        bar.update(1)
        tag = f"[{os.getpid()}] " if args.child else ""
        bar.write(f"{tag}trial {c.trial.number}: eps={c.eps:.4g} seed={c.seed} train_acc={m['train_acc']:.4f} "
                  f"val_acc={m['val_acc']:.4f} gap={m['gap']:+.4f} ({m['seconds']:.0f} s)")

    data = data.to(device)
    try:
        S.run_worker(study, storage, data, cfg, on_trial_done=done)
    finally:
        bar.close()
    if not args.child:
        _finish(args, study, storage_url, board, cells)
    return 0


def _pick_batch_trials(choice, device, open_cells: int) -> int:
    if choice != "auto":
        return choice
    if device.type == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        per_trial = 512 * 2**20  # generous: activations of a 128-image step plus Adam state
        return max(1, min(open_cells, 64, int(free * 0.8) // per_trial))
    # On CPU a batched step costs each model as much as training it alone (the convolutions
    # are compute-bound) plus the batching, so trials go one by one: see `python -m sweep bench`.
    return 1


def _pick_workers(choice, device, open_cells: int) -> int:
    if choice != "auto":
        return choice
    if device.type == "cuda":
        import torch

        return max(1, min(open_cells, torch.cuda.device_count())) if device.index is None else 1
    # Small convolutions use one core well and two cores less than twice as well, so on a CPU
    # single-threaded workers, one per core, train more trials per hour: see `python -m sweep bench`.
    from .runtime import cpu_cores

    return max(1, min(open_cells, cpu_cores(), 8))


def _spawn_workers(args, device, storage_url: str, workers: int) -> int:
    import torch

    from .runtime import cpu_cores

    argv = argv_of(args)
    gpus = torch.cuda.device_count() if device.type == "cuda" and device.index is None else 0
    # The workers import this very copy of the package, installed or not.
    here = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    procs = []
    for i in range(workers):
        extra = ["--workers", "1", "--child", "--no-report"]
        if gpus > 1:
            extra += ["--device", f"cuda:{i % gpus}"]
        if device.type == "cpu":
            extra += ["--threads", str(max(1, cpu_cores() // workers))]
        procs.append(subprocess.Popen([sys.executable, "-m", "sweep", *argv, *extra], env=env))
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        codes = [p.wait() for p in procs]
        from .study import Interrupted

        raise Interrupted(f"{workers} workers stopped")
    if any(codes):
        print(f"sweep: {sum(c != 0 for c in codes)} of {workers} workers failed (exit codes {codes})",
              file=sys.stderr)
        return 1
    from . import study as S

    storage = S.open_storage(storage_url, args.heartbeat_interval)
    study = S.optuna.load_study(study_name=args.study_name, storage=storage)
    cells = S.range_cells(args.trials) if args.eps_range else S.grid_cells(args.epsilons, args.trials)
    _finish(args, study, storage_url, S.CellBoard(study, storage, tuple(args.eps_range) if args.eps_range else None),
            cells)
    return 0


def _finish(args, study, storage_url, board, cells) -> None:
    from .report import per_epsilon_table, trials_frame, write_report
    from .study import mask_url

    status = board.status(cells)
    if status["busy"] or status["open"]:
        print(f"{len(status['busy']) + len(status['open'])} of {len(cells)} cells are not done "
              "(running elsewhere, or left by a dead worker and retried once its heartbeat is stale): rerun to finish")
    frame = trials_frame(study)
    if len(frame):
        print(per_epsilon_table(frame).to_string(float_format=lambda v: f"{v:.4f}"))
    if not args.no_report:
        out = write_report(study, Path(args.report_dir), storage_url=storage_url)
        print(f"report: {out}")
    print(f"dashboard: optuna-dashboard --host 127.0.0.1 {mask_url(storage_url)}")


def cmd_report(args) -> int:
    import optuna

    from .report import write_report
    from .study import UsageError, check_storage_url, mask_url, open_storage

    storage_url = args.storage or f"sqlite:///studies/{args.study_name}.db"
    check_storage_url(storage_url)
    parsed_db = storage_url.removeprefix("sqlite:///")
    if storage_url.startswith("sqlite:///") and not Path(parsed_db).is_file():
        raise UsageError(f"no study database at {parsed_db}; run `python -m sweep run` first")
    storage = open_storage(storage_url, 60)
    if args.study_name not in {s.study_name for s in storage.get_all_studies()}:
        raise UsageError(f"no study '{args.study_name}' in {mask_url(storage_url)}")
    study = optuna.load_study(study_name=args.study_name, storage=storage)
    print(f"report: {write_report(study, Path(args.out), storage_url=storage_url)}")
    return 0


def cmd_bench(args) -> int:
    from .bench import SEED_WARMUP, run_bench
    from .data import load
    from .runtime import use_fast_kernels
    from .study import UsageError
    from .train import ENGINES

    try:
        ks = [positive_int(k) for k in args.ks.split(",") if k.strip()]
    except argparse.ArgumentTypeError as e:
        raise UsageError(f"--ks: {e}")
    engines = _choices("--engines", args.engines, ENGINES)
    precisions = _choices("--precisions", args.precisions, ("fp32", "bf16"))
    device = resolve_device(args.device)
    use_fast_kernels(device)
    load(args.data_dir, args.cache_dir)  # decode once, so that the timing below reads the cache
    t0 = time.perf_counter()
    data = load(args.data_dir, args.cache_dir)
    if len(data.train_y) < (SEED_WARMUP + 1) * 128:
        raise UsageError(f"bench: needs at least {(SEED_WARMUP + 1) * 128} training images, found {len(data.train_y)}")
    run_bench(data, device, steps=None if args.full else args.steps, ks=ks, out=Path(args.out),
              load_seconds=time.perf_counter() - t0, precisions=precisions, engines=engines, rounds=args.rounds)
    return 0


def _choices(flag: str, text: str, allowed: tuple[str, ...]) -> list[str]:
    from .study import UsageError

    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad or not items:
        raise UsageError(f"{flag}: expected a comma-separated list of {', '.join(allowed)}; got {text!r}")
    return items
