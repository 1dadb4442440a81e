"""``lockstep``: run backtests, verify and inspect run stores, list data sets.

Exit codes:
  0  success
  1  verification failed (replay diverged, or the run is not complete)
  2  bad input or usage (unknown strategy or data, bad parameter, malformed data,
     invalid setup, unreadable run store, strategy code that raised)
  3  the requested engine is unavailable (for example --engine rust without the native core)
  4  the core reported an invariant violation
  70 internal error (a bug in Lockstep; set LOCKSTEP_DEBUG=1 for the traceback)
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from lockstep.adapters import list_datasets, load_dataset, setup_for
from lockstep.core import (
    BACKENDS,
    CoreFailed,
    InputError,
    InvariantViolation,
    LockstepError,
    NativeBackendUnavailable,
    SetupError,
    resolve_backend,
)
from lockstep.core.backend import ENV_VAR
from lockstep.runtime.backtest import run_backtest
from lockstep.runtime.errors import StoreError, StrategyError
from lockstep.runtime.params import parse_assignments
from lockstep.runtime.registry import builtin_strategies, load_strategy_class
from lockstep.runtime.replay import verify_run
from lockstep.runtime.store import RunStore
from lockstep.runtime.strategy import Strategy
from lockstep.runtime.summary import format_rows, summary_rows
from lockstep.runtime.trades import write_trades_csv

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_ENGINE_UNAVAILABLE = 3
EXIT_INVARIANT = 4
EXIT_INTERNAL = 70


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lockstep",
        description="Deterministic backtests with replay verification.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    bt = sub.add_parser(
        "backtest",
        help="run a strategy on data and store the run",
        description="Run a strategy over a data set, print a summary, write DIR/run.db and DIR/trades.csv.",
    )
    bt.add_argument(
        "strategy",
        metavar="STRATEGY",
        help="a .py file (FILE.py or FILE.py:Class), module:Class, or a built-in name "
        f"({', '.join(builtin_strategies())})",
    )
    bt.add_argument(
        "--data",
        required=True,
        metavar="NAME_OR_PATH",
        help=f"bundled data set ({', '.join(list_datasets())}) or a directory with a dataset.json",
    )
    bt.add_argument(
        "--cash", default="100000", help="starting cash in currency units (default 100000)"
    )
    bt.add_argument(
        "--fee-ppm", type=int, default=0, help="simulated venue fee in parts per million"
    )
    bt.add_argument(
        "--participation-bps",
        type=int,
        default=None,
        help="cap fills at this share of each bar's volume (default: no cap)",
    )
    bt.add_argument(
        "--engine", choices=BACKENDS, default=None, help="default: $LOCKSTEP_ENGINE or python"
    )
    bt.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a declared strategy parameter (repeatable)",
    )
    bt.add_argument(
        "--out", type=Path, help="output directory (default: runs/<strategy>-<UTC time>)"
    )
    bt.add_argument("--overwrite", action="store_true", help="replace an existing DIR/run.db")
    bt.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="skip malformed data rows instead of failing (every skipped row is counted and reported)",
    )

    replay = sub.add_parser("replay", help="verify stored runs by replaying them")
    replay_sub = replay.add_subparsers(dest="replay_command", required=True, metavar="COMMAND")
    verify = replay_sub.add_parser(
        "verify",
        help="re-apply a run's inputs to a fresh core and compare every record",
        description="Replay RUN.db on a fresh core (no strategy code) and check every record hash, "
        "checkpoint and the final state hash. Exit 0 when everything matches, 1 otherwise.",
    )
    verify.add_argument("run", type=Path, metavar="RUN.db")
    verify.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="also check runs that did not complete (only their committed part)",
    )
    verify.add_argument(
        "--engine",
        choices=BACKENDS,
        default=None,
        help="replay on this engine (default: the run's)",
    )

    runs = sub.add_parser("runs", help="list or show stored runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")
    runs_list = runs_sub.add_parser("list", help="list run stores (*.db) under a directory")
    runs_list.add_argument("directory", type=Path, nargs="?", default=Path("runs"), metavar="DIR")
    runs_show = runs_sub.add_parser("show", help="show a run's metadata and results")
    runs_show.add_argument("run", type=Path, metavar="RUN.db")

    data = sub.add_parser("data", help="bundled data sets")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    data_sub.add_parser("list", help="list the bundled data sets")

    strategies = sub.add_parser("strategies", help="built-in strategies")
    strategies_sub = strategies.add_subparsers(
        dest="strategies_command", required=True, metavar="COMMAND"
    )
    strategies_sub.add_parser("list", help="list the built-in strategies and their parameters")

    demo = sub.add_parser(
        "demo", help="run the example strategy on the bundled daily data, store and verify it"
    )
    demo.add_argument("--out", type=Path, default=Path("runs") / "demo", help="default: runs/demo")
    demo.add_argument("--engine", choices=BACKENDS, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except NativeBackendUnavailable as err:
        return _fail(EXIT_ENGINE_UNAVAILABLE, str(err))
    except (InvariantViolation, CoreFailed) as err:
        return _fail(EXIT_INVARIANT, f"invariant violated: {err}")
    except (InputError, SetupError, StrategyError, StoreError, UsageError) as err:
        return _fail(EXIT_BAD_INPUT, str(err))
    except OSError as err:
        return _fail(EXIT_BAD_INPUT, f"{err.filename or ''}: {err.strerror or err}")
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    except Exception as err:
        if os.environ.get("LOCKSTEP_DEBUG"):
            traceback.print_exc()
        return _fail(
            EXIT_INTERNAL,
            f"internal error: {type(err).__name__}: {err} (set LOCKSTEP_DEBUG=1 for the traceback)",
        )


def _fail(code: int, message: str) -> int:
    print(f"lockstep: error: {message}", file=sys.stderr)
    return code


class UsageError(LockstepError, ValueError):
    """A command-line choice that argparse cannot check (for example $LOCKSTEP_ENGINE)."""


def _dispatch(args: argparse.Namespace) -> int:
    if hasattr(args, "engine"):
        try:
            resolve_backend(args.engine)
        except ValueError as err:
            raise UsageError(f"{err} (from ${ENV_VAR})") from None
    if args.command == "backtest":
        return _backtest(args)
    if args.command == "replay":
        return _verify(args.run, args.allow_incomplete, args.engine)
    if args.command == "runs":
        return _runs_list(args.directory) if args.runs_command == "list" else _runs_show(args.run)
    if args.command == "data":
        return _data_list()
    if args.command == "strategies":
        return _strategies_list()
    from lockstep.runtime.demo import run_demo

    report = run_demo(args.out, engine=args.engine)
    return EXIT_OK if report.ok else EXIT_VERIFY_FAILED


def _make_strategy(spec: str, pairs: Sequence[str]) -> Strategy:
    cls = load_strategy_class(spec)
    overrides = parse_assignments(pairs)
    try:
        return cls(**overrides)
    except StrategyError:
        raise
    except Exception as err:
        raise StrategyError(f"strategy {spec}: {type(err).__name__}: {err}") from None


def _backtest(args: argparse.Namespace) -> int:
    strategy = _make_strategy(args.strategy, args.param)
    dataset = load_dataset(args.data)
    setup = setup_for(
        dataset, cash=args.cash, fee_ppm=args.fee_ppm, participation_bps=args.participation_bps
    )
    out: Path = args.out or Path("runs") / (
        f"{strategy.strategy_id}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    )
    db = out / "run.db"
    result = run_backtest(
        strategy,
        dataset,
        setup,
        engine=args.engine,
        store=db,
        overwrite=args.overwrite,
        skip_policy="skip" if args.skip_bad_rows else "fail",
    )
    trades_csv = out / "trades.csv"
    write_trades_csv(
        trades_csv,
        result.trades,
        {i["id"]: i for i in setup["instruments"]},
        {c["code"]: c["money_precision"] for c in setup["currencies"]},
    )
    with RunStore.open(db) as store:
        print(format_rows(summary_rows(store.meta(), store.results())))
    for report in result.skipped:
        if report["total"]:
            print(
                f"lockstep: warning: {report['source']}: skipped {report['total']} rows "
                f"{report['counts']} (first lines {report['first_lines']})",
                file=sys.stderr,
            )
    print(f"run store       {db}")
    print(f"trade list      {trades_csv}")
    return EXIT_OK


def _verify(run: Path, allow_incomplete: bool, engine: str | None) -> int:
    report = verify_run(run, allow_incomplete=allow_incomplete, backend=engine)
    print(report)
    return EXIT_OK if report.ok else EXIT_VERIFY_FAILED


def _runs_list(directory: Path) -> int:
    if not directory.is_dir():
        raise StoreError(directory, "no such directory")
    rows = [("run", "status", "strategy", "data", "engine", "records", "final state", "started")]
    for path in sorted(directory.rglob("*.db")):
        try:
            with RunStore.open(path) as store:
                meta, results = store.meta(), store.results()
                records = str(store.counts()["records"])
        except StoreError as err:
            print(f"lockstep: note: skipping {err}", file=sys.stderr)
            continue
        rows.append(
            (
                str(path),
                str(meta.get("status")),
                str(meta.get("strategy_id")),
                str(meta.get("data", {}).get("name")),
                str(meta.get("engine")),
                records,
                str(results.get("final_state_hash", "-"))[:16],
                str(meta.get("started")),
            )
        )
    if len(rows) == 1:
        print(f"no run stores under {directory}")
        return EXIT_OK
    print(_table(rows))
    return EXIT_OK


def _runs_show(run: Path) -> int:
    with RunStore.open(run) as store:
        meta, results, counts = store.meta(), store.results(), store.counts()
    rows = summary_rows(meta, results)
    rows += [
        ("started", str(meta.get("started"))),
        ("finished", str(meta.get("finished"))),
        ("data digest", str(meta.get("data_digest"))),
        (
            "stored",
            f"{counts['inputs']} inputs, {counts['records']} records, {counts['checkpoints']} checkpoints",
        ),
        (
            "versions",
            ", ".join(f"{k} {v}" for k, v in sorted((meta.get("versions") or {}).items())),
        ),
    ]
    if meta.get("error"):
        rows.append(("error", str(meta["error"])))
    print(format_rows(rows))
    return EXIT_OK


def _data_list() -> int:
    rows = [("name", "interval", "instruments", "rows", "description")]
    for name in list_datasets():
        ds = load_dataset(name)
        counts = ds.row_counts()
        rows.append(
            (
                name,
                ds.bar_interval,
                ", ".join(i.id for i in ds.instruments),
                str(sum(counts.values())),
                ds.description,
            )
        )
    print(_table(rows))
    return EXIT_OK


def _strategies_list() -> int:
    rows = [("name", "class", "parameters")]
    for name, where in builtin_strategies().items():
        cls = load_strategy_class(name)
        params = ", ".join(f"{k}={v}" for k, v in cls.params.items())
        rows.append((name, where, params))
    print(_table(rows))
    return EXIT_OK


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
