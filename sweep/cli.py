"""Command line: `python -m sweep run | report | compare | bench` (and `worker`, which `run` starts).

A tiny CPU run on a local copy of CIFAR-10 (two trials, one epoch, 2,000 images):

    python -m sweep run --trials 2 --epochs 1 --subset 2000 --device cpu --data-dir ~/cifar10-jpeg
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from pathlib import Path

DEFAULT_STUDY = "label-smoothing"
MAX_TRIALS = 80  # --until-precise's default cap: 20 seeds on the default grid


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2: no usage dump
        self.exit(2, f"sweep: error: {message}\n")  # the prefix of every other error


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
    if any(not item.strip() for item in text.split(",")) and text.strip():
        raise argparse.ArgumentTypeError(f"empty item in '{text}': expected a comma-separated list such as 0,0.05,0.1")
    values = [epsilon(t) for t in text.replace(",", " ").split()]
    if not values:
        raise argparse.ArgumentTypeError("expected a comma-separated list such as 0,0.05,0.1,0.2")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"repeated value in '{text}'")
    return values


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'")
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def study_name(text: str) -> str:
    """Letters, digits, '.', '_' and '-', starting with a letter or digit, at most 100: the name is also a file
    name (studies/<name>.db, studies/<name>/checkpoints), so no separators, no '..', never empty."""
    if not STUDY_NAME.fullmatch(text) or ".." in text:
        raise argparse.ArgumentTypeError(f"'{text}': use letters, digits, '.', '_' and '-' (starting with a letter "
                                         "or digit, at most 100, no '..')")
    return text


def auto_or_positive(text: str) -> int | str:
    return "auto" if text == "auto" else positive_int(text)


def run_arguments(run, storage_args) -> None:
    """The flags of `run`, which each spawned `worker` gets too."""
    from .metrics import HEADLINE
    from .protocol import DEFAULT_EPSILONS, DEFAULT_PRIMARY, MARGIN_NATS, MARGIN_PP
    from .study.patience import PATIENCE

    run.add_argument("--trials", type=positive_int, default=20,
                     help="total cells of the study; on the grid, seeds 0, 1, ... for each ε in turn (default 20)")
    run.add_argument("--epsilons", type=epsilon_list, default=list(DEFAULT_EPSILONS),
                     help="comma-separated ε grid, each in [0, 1] (default 0,0.05,0.1,0.2)")
    run.add_argument("--extend-grid", action="store_true",
                     help="add the --epsilons values a study's grid lacks to it (without it, a rerun whose grid "
                          "differs from the study's is refused); --trials then counts cells over the wider grid")
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
    run.add_argument("--precision", choices=("auto", "fp32", "tf32", "bf16"), default="auto",
                     help="math mode, fixed with the study: fp32 (IEEE), tf32 (TF32 tensor cores, GPU only) or bf16 "
                          "autocast; auto: tf32 on a GPU, fp32 on a CPU (default)")
    run.add_argument("--compile", action="store_true",
                     help="run the training step through torch.compile (off by default: slower on the CPUs measured, "
                          "see reports/benchmark.md; the first epoch pays the compilation)")
    run.add_argument("--workers", type=auto_or_positive, default="auto",
                     help="worker processes on this machine; auto: one per GPU, or on a CPU one single-threaded "
                          "worker per core (at most 8 and the cells left); default auto")
    run.add_argument("--checkpoint-dir", help="per-epoch checkpoints (default studies/<study-name>/checkpoints)")
    run.add_argument("--heartbeat-interval", type=positive_int, default=20,
                     help="seconds between trial heartbeats; a worker silent for 3 intervals is taken as dead (default 20)")
    run.add_argument("--db-patience", type=positive_float, default=PATIENCE, metavar="S",
                     help="seconds a worker rides out an unreachable database (a restart, a dropped connection; "
                          "also one down when the run starts), retrying every step with backoff, before it stops in "
                          f"one line (default {PATIENCE:g})")
    run.add_argument("--equivalence-pp", type=positive_float, default=MARGIN_PP, metavar="PP",
                     help="equivalence margin for accuracies, the gap and ECE, in percentage points; fixed with "
                          f"the study (default {MARGIN_PP})")
    run.add_argument("--equivalence-nats", type=positive_float, default=MARGIN_NATS, metavar="NATS",
                     help=f"equivalence margin for NLL and the NLL gap, in nats; fixed with the study (default {MARGIN_NATS})")
    run.add_argument("--primary", choices=HEADLINE, default=DEFAULT_PRIMARY,
                     help="the primary comparison against ε = 0, fixed with the study before its first trial; the "
                          "other metrics are secondary (default gap: the train − validation accuracy gap)")
    run.add_argument("--until-precise", type=positive_float, metavar="PP",
                     help="Stein's two-stage rule: the grid is the first stage; its SD sets, once, the seed blocks "
                          "that make the primary comparison's adjusted 95 %% CI half-width at most PP pp (under "
                          "--max-trials); the rule never looks at estimates or p-values")
    run.add_argument("--until-precise-nats", type=positive_float, metavar="NATS",
                     help="the half-width target for the NLL gap, nats, where it is targeted (default PP × the nats "
                          "margin / the pp margin: 0.02 × PP with the default margins)")
    run.add_argument("--until-precise-secondary", action="store_true",
                     help="size the study for every headline comparison (gap, validation accuracy, NLL gap, ECE), "
                          "not the primary alone")
    run.add_argument("--max-trials", type=positive_int, default=MAX_TRIALS,
                     help=f"--until-precise adds no block past this many cells (default {MAX_TRIALS})")
    run.add_argument("--report-dir", help="where the report is written (default reports/ for the default study, "
                                          "reports/<study-name>/ for any other)")
    run.add_argument("--no-report", action="store_true", help="do not write the report at the end")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def storage_args(p, checked=True):  # a run's name is also a path; a report may read any study by URL
        default = (f"{DEFAULT_STUDY}, or for a quick run (--subset, --epochs, --precision, --eps-range) one that "
                   f"says how, e.g. {DEFAULT_STUDY}-subset2000-e1") if checked else DEFAULT_STUDY
        p.add_argument("--study-name", type=study_name if checked else str, default=None if checked else DEFAULT_STUDY,
                       help=f"Optuna study name: letters, digits, '.', '_', '-' (default {default})")
        p.add_argument("--storage", help="Optuna storage URL, e.g. postgresql://user@host/db "
                                         "(default sqlite:///studies/<study-name>.db)")

    run = sub.add_parser("run", help="train the sweep's trials into an Optuna study, then write the report")
    run_arguments(run, storage_args)
    run.set_defaults(handler=cmd_run)

    # A run with several workers starts each as `python -m sweep worker <the run's flags> ...`.
    worker = sub.add_parser("worker", help="(internal) one worker process of a `run` that spawns several: the run's "
                                           "flags, plus how many cells it holds, its GPU's peers and its threads")
    run_arguments(worker, storage_args)
    worker.add_argument("--share", type=positive_int, default=1, help="cells this worker holds at once at most")
    worker.add_argument("--peers", type=positive_int, default=1, help="workers sharing this worker's GPU")
    worker.add_argument("--threads", type=positive_int, help="CPU threads for this worker's training")
    worker.add_argument("--trouble-ago", type=float, metavar="SECONDS",
                        help="seconds since the run last found the database away: no other worker's cell is "
                             "taken as stale within the grace after it")
    worker.set_defaults(handler=cmd_run)

    rep = sub.add_parser("report", help="write plots and tables from a study")
    storage_args(rep, checked=False)
    rep.add_argument("--out", help="output folder (default reports/ for the default study, reports/<study-name>/ "
                                   "for any other)")
    rep.set_defaults(handler=cmd_report)

    cmp = sub.add_parser("compare", help="compare two studies of one protocol cell by cell (another precision, "
                                         "machine or sweep version): does B give A's answer?")
    cmp.add_argument("study_a", metavar="A", help="the reference study's name")
    cmp.add_argument("study_b", metavar="B", help="the study compared with A")
    cmp.add_argument("--storage", help="A's storage URL, and B's unless --storage-b is given "
                                       "(default: sqlite:///studies/<name>.db for each study)")
    cmp.add_argument("--storage-b", help="B's storage URL, where it differs from A's")
    cmp.add_argument("--out", help="output folder (default reports/compare-A-B)")
    cmp.set_defaults(handler=cmd_compare)

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
    bench.add_argument("--precisions", default="fp32", help="comma-separated: fp32 (IEEE), tf32 (GPU), bf16 (default fp32)")
    bench.add_argument("--compile", action="store_true",
                       help="also time each of this project's grouped paths through torch.compile, beside eager")
    bench.add_argument("--full", action="store_true", help="time one whole epoch per path instead of rounds of --steps")
    bench.add_argument("--no-seed-loop", action="store_true",
                       help="leave the seed's loop out (ratios are then to the first path timed)")
    bench.add_argument("--out", default="reports/benchmark.md", help="markdown results (default reports/benchmark.md)")
    bench.set_defaults(handler=cmd_bench)
    return parser


def quick_name(args) -> str:
    """The default study's name; for a protocol other than the default, one that says how (a quick run must not
    land in the main study, nor be refused by it)."""
    from .protocol import Protocol

    parts = [DEFAULT_STUDY]
    if args.subset:
        parts.append(f"subset{args.subset}")
    if args.epochs != Protocol.epochs:
        parts.append(f"e{args.epochs}")
    if args.precision != "auto":
        parts.append(args.precision)
    if args.eps_range:
        parts.append("range")
    return "-".join(parts)


def report_folder(name: str) -> str:
    return "reports" if name == DEFAULT_STUDY else f"reports/{name}"


def main(argv: list[str] | None = None) -> int:
    from .errors import DataError, Interrupted, UsageError, die_with_parent, end_on_signals

    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if args.command in ("run", "worker"):
        args.study_name = args.study_name or quick_name(args)
        args.report_dir = args.report_dir or report_folder(args.study_name)
    if args.command == "report":
        args.out = args.out or report_folder(args.study_name)
    previous = {}
    try:
        if args.command in ("run", "worker"):
            previous = end_on_signals()
            if argv is None:  # a process keeps its handlers to the end: see `finally`
                previous = {}
            if args.command == "worker":
                die_with_parent()
        if args.command in ("run", "worker", "bench"):
            from .training.runtime import keep_freed_memory

            keep_freed_memory()
        return args.handler(args) or 0
    except (UsageError, DataError) as e:
        print(f"sweep: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. a full disk mid-run; the running trials were marked FAIL
        print(f"sweep: error: {e}", file=sys.stderr)
        return 1
    except (Interrupted, KeyboardInterrupt) as e:
        signum = getattr(e, "signum", signal.SIGINT)
        what = f"{e}; " if isinstance(e, Interrupted) else ""
        how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        if args.command != "worker":  # a worker's parent says it once for all
            print(f"sweep: {how}: {what}rerun the same command to resume from the last checkpoint",
                  file=sys.stderr)
        return 128 + signum
    except Exception as e:
        from .study.patience import DatabaseGone, database_error, reason

        if not database_error(e):
            raise
        # The database went away or refused mid-run: held cells reopen once their heartbeats are stale.
        waited = f" ({e})" if isinstance(e, DatabaseGone) else ""
        print(f"sweep: database error: {reason(e)}{waited}; rerun the same command to go on", file=sys.stderr)
        return 1
    finally:
        # Called as a function (argv given: tests), the caller gets its handlers back. A process (argv None)
        # keeps ignoring repeats to the end: a second Ctrl-C during shutdown must not print a traceback.
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def resolve_device(name: str):
    import torch

    from .errors import UsageError

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


def cmd_run(args) -> int:
    from .launch import run

    return run(args, resolve_device(args.device))


def cmd_report(args) -> int:
    from .report import write_report
    from .launch import given
    from .report.folder import check_folder
    from .errors import UsageError
    from .study.storage import command_line, default_url, load_study, open_storage

    storage_url = args.storage or default_url(args.study_name)
    if not args.storage:
        try:
            study_name(args.study_name)
        except argparse.ArgumentTypeError as e:
            raise UsageError(f"--study-name {e}")
    study = load_study(open_storage(storage_url, access="report"), args.study_name, storage_url)
    check_folder(Path(args.out), args.study_name, storage_url, given(args.argv, "--out"), "--out")
    command = command_line(args.argv)
    print(f"report: {write_report(study, Path(args.out), storage_url=storage_url, command=command)}")
    return 0


def cmd_compare(args) -> int:
    from .report.compare_text import compare
    from .errors import UsageError

    defaulted = [name for name, url in ((args.study_a, args.storage), (args.study_b, args.storage_b or args.storage))
                 if not url]
    for name in defaulted:  # the name becomes a file name, studies/<name>.db
        try:
            study_name(name)
        except argparse.ArgumentTypeError as e:
            raise UsageError(f"study name {e}")
    out, changed = compare(args.study_a, args.study_b, args.storage, args.storage_b, args.out)
    what = "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in changed) or "no protocol field"
    print(f"compare: {args.study_b} against {args.study_a} (differ in {what}): {out / 'README.md'}")
    return 0


def cmd_bench(args) -> int:
    from .bench.run import SEED_WARMUP, run_bench
    from .training.data import load
    from .training.runtime import use_fast_kernels
    from .errors import UsageError
    from .training.train import ENGINES

    try:
        ks = [positive_int(k) for k in args.ks.split(",") if k.strip()]
    except argparse.ArgumentTypeError as e:
        raise UsageError(f"--ks: {e}")
    engines = _choices("--engines", args.engines, ENGINES)
    precisions = _choices("--precisions", args.precisions, ("fp32", "tf32", "bf16"))
    device = resolve_device(args.device)
    if "tf32" in precisions and device.type != "cuda":
        raise UsageError("--precisions tf32 is a GPU math mode; on a CPU use fp32 or bf16")
    use_fast_kernels(device)
    load(args.data_dir, args.cache_dir)  # decode once, so that the timing below reads the cache
    t0 = time.perf_counter()
    data = load(args.data_dir, args.cache_dir)
    if len(data.train_y) < (SEED_WARMUP + 1) * 128:
        raise UsageError(f"bench: needs at least {(SEED_WARMUP + 1) * 128} training images, found {len(data.train_y)}")
    run_bench(data, device, steps=None if args.full else args.steps, ks=ks, out=Path(args.out),
              load_seconds=time.perf_counter() - t0, precisions=precisions, engines=engines, rounds=args.rounds,
              compile=args.compile, seed=not args.no_seed_loop)
    return 0


def _choices(flag: str, text: str, allowed: tuple[str, ...]) -> list[str]:
    from .errors import UsageError

    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad or not items:
        raise UsageError(f"{flag}: expected a comma-separated list of {', '.join(allowed)}; got {text!r}")
    return items
