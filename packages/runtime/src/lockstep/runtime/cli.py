"""``lockstep``: run backtests, verify, report and inspect run stores, list data and extensions.

Exit codes:
  0  success
  1  verification failed (replay diverged, a result or sealed field differs, the data
     files differ, or the run is not complete); report or runs show of such a run
  2  bad input or usage (unknown strategy or data, bad parameter, malformed data,
     invalid setup, unreadable run store, strategy code that raised, bad config
     file, extension that failed under --strict-extensions, missing optional package)
  3  the requested engine is unavailable (for example --engine rust without the native core)
  4  the core reported an invariant violation
  70 internal error (a bug in Lockstep; set LOCKSTEP_DEBUG=1 for the traceback)
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from lockstep.adapters import Dataset, DatasetError, list_datasets, load_dataset, setup_for
from lockstep.adapters.data import check_starting_cash
from lockstep.adapters.feeds.columnar import MissingDependencyError
from lockstep.adapters.feeds.skiplimit import DEFAULT_MAX_SKIP_SHARE, skip_share
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
from lockstep.runtime.backtest import TRACE_MODES, run_backtest
from lockstep.runtime.blame import Blame
from lockstep.runtime.config import RunConfig, load_config
from lockstep.runtime.errors import StoreError, StrategyError
from lockstep.runtime.extensions import (
    BUILT_IN,
    ExtensionError,
    Extensions,
    extension_directories,
    load_extensions,
)
from lockstep.runtime.outdir import check_report_dir, default_out_dir, set_aside_unfinished
from lockstep.runtime.params import parse_assignments
from lockstep.runtime.progress import Progress, expected_events, progress_enabled
from lockstep.runtime.registry import builtin_strategies, load_strategy_class
from lockstep.runtime.report import chart_available, write_report
from lockstep.runtime.sinks import RunResults, Sink
from lockstep.runtime.store import RunStore
from lockstep.runtime.strategy import Strategy
from lockstep.runtime.summary import format_rows, summary_rows
from lockstep.runtime.trades import write_trades_csv
from lockstep.runtime.verification import (
    VerificationStatus,
    status_of_report,
    store_status,
    verify_and_record,
)
from lockstep.runtime.versions import ShowVersions

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_ENGINE_UNAVAILABLE = 3
EXIT_INVARIANT = 4
EXIT_INTERNAL = 70

_T = TypeVar("_T")


def _extension_options() -> argparse.ArgumentParser:
    """Options shared by every command that looks at extensions."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("extensions")
    group.add_argument(
        "--extensions-dir",
        dest="extension_dirs",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="also load extension files from DIR (repeatable; ./extensions and "
        "$LOCKSTEP_EXTENSIONS are always looked at)",
    )
    group.add_argument(
        "--strict-extensions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fail (exit 2) when any extension file fails to load, instead of warning",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lockstep",
        description="Deterministic backtests with replay verification.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=ShowVersions)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ext = _extension_options()

    bt = sub.add_parser(
        "backtest",
        parents=[ext],
        help="run a strategy on data and store the run",
        description="Run a strategy over a data set, print a summary, write DIR/run.db, "
        "DIR/trades.csv and the report (DIR/report.html, DIR/equity.png). Options given "
        "here override the --config file's.",
    )
    bt.add_argument(
        "strategy",
        metavar="STRATEGY",
        nargs="?",
        help="a .py file (FILE.py or FILE.py:Class), module:Class, a built-in name "
        f"({', '.join(builtin_strategies())}) or a name an extension registered "
        "(required unless the config file sets strategy)",
    )
    bt.add_argument(
        "--config", type=Path, metavar="FILE.toml", help="read the run's settings from a TOML file"
    )
    bt.add_argument(
        "--data",
        metavar="NAME_OR_PATH",
        help=f"bundled data set ({', '.join(list_datasets())}), a source an extension "
        "registered, or a directory with a dataset.json",
    )
    bt.add_argument(
        "--data-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pass an option to an extension source's factory (repeatable)",
    )
    bt.add_argument(
        "--cash", metavar="AMOUNT", help="starting cash in currency units (default 100000)"
    )
    bt.add_argument(
        "--fee-ppm",
        type=int,
        default=None,
        metavar="N",
        help="simulated venue fee in parts per million (default 0)",
    )
    bt.add_argument(
        "--participation-bps",
        type=int,
        default=None,
        metavar="N",
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
        "--out",
        type=Path,
        metavar="DIR",
        help="output directory (default: runs/<strategy>-<UTC time>-<random suffix>, new for "
        "every run)",
    )
    switches = (
        (
            "--overwrite",
            "replace a complete run in DIR/run.db and another run's report in DIR (a run that "
            "failed is moved aside to DIR/run.failed-<time>.db without it)",
        ),
        (
            "--skip-bad-rows",
            "skip malformed data rows instead of failing (every skipped row is counted and "
            "reported)",
        ),
        ("--report", "write report.html and equity.png into the output directory (default: on)"),
        (
            "--progress",
            "show a progress bar on standard error (default: only when the output is a terminal)",
        ),
    )
    for flag, text in switches:  # tri-state: None means "not given", so a config file decides
        bt.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
    bt.add_argument(
        "--max-skip-share",
        metavar="FRACTION",
        help="fail the run when a feed skips more than this share of its rows, from 0 to 1 "
        "(default 0.01, i.e. 1 %%; 0 allows none, 1 any)",
    )
    bt.add_argument(
        "--sink",
        action="append",
        default=[],
        metavar="NAME",
        help="also export the results with this sink (csv, parquet, sqlite, or an extension's; "
        "repeatable)",
    )
    bt.add_argument(
        "--warn-rejected-share",
        default=None,
        metavar="FRACTION",
        help="warn when more than this share of the strategy's intents is rejected (default: "
        "warn when any intent is rejected and no order ever fills)",
    )
    bt.add_argument(
        "--trace",
        choices=TRACE_MODES,
        default=None,
        help="what the run store keeps of the trace: every record (full, the default) or only "
        "inputs, checkpoints and final hashes (checkpoints: a far smaller store; verify still "
        "regenerates and checks everything, but places a difference only between checkpoints)",
    )

    replay = sub.add_parser("replay", help="verify stored runs by replaying them")
    replay_sub = replay.add_subparsers(dest="replay_command", required=True, metavar="COMMAND")
    verify = replay_sub.add_parser(
        "verify",
        help="re-apply a run's inputs to a fresh core and compare every record",
        description="Replay RUN.db on a fresh core (no strategy code) and check every record hash, "
        "checkpoint and the final state hash; recompute the results (metrics, trades, equity, "
        "counts) from the verified trace and compare them; check the metadata and timing against "
        "the run's seal. Every difference is listed with its field. The outcome is recorded in "
        "the store (runs show and report state it). Exit 0 when everything matches, 1 otherwise.",
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
    verify.add_argument(
        "--data",
        metavar="NAME_OR_PATH",
        help="also check that this data set's files are the ones the run read (their digest)",
    )
    verify.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on standard error (default: only when the output is a terminal)",
    )

    report = sub.add_parser(
        "report",
        parents=[ext],
        help="write the HTML report, equity chart and trade list of a stored run",
        description="Verify the run by replay (as replay verify does), then write report.html "
        "(self-contained: inline CSS, chart embedded, the verification status at the top), "
        "equity.png and trades.csv for a complete run. The chart needs matplotlib "
        "(pip install 'lockstep-runtime[report]'); --no-chart writes the rest without it.",
    )
    report.add_argument("run", type=Path, metavar="RUN.db")
    report.add_argument(
        "--out", type=Path, metavar="DIR", help="output directory (default: the run's directory)"
    )
    report.add_argument(
        "--no-chart", action="store_true", help="skip the chart (no matplotlib needed)"
    )
    report.add_argument(
        "--overwrite",
        action="store_true",
        help="replace report files in DIR that were written for another run (by default "
        "they are refused with exit 2; the same run's report is always rewritten)",
    )
    report.add_argument(
        "--unverified",
        action="store_true",
        help="write the report even when the run fails verification (it then carries a red "
        "banner listing what differs); by default such a run is refused with exit 1",
    )
    report.add_argument(
        "--sink",
        action="append",
        default=[],
        metavar="NAME",
        help="also export the results with this sink (repeatable)",
    )

    runs = sub.add_parser("runs", help="list or show stored runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")
    runs_list = runs_sub.add_parser("list", help="list run stores (*.db) under a directory")
    runs_list.add_argument("directory", type=Path, nargs="?", default=Path("runs"), metavar="DIR")
    runs_show = runs_sub.add_parser(
        "show",
        help="show a run's metadata, results and verification status",
        description="Show a run's summary, rejected intents by reason, provenance and whether "
        "it was verified (the last replay verify, re-checked against the run's seal). "
        "Exit 1 when the run is known to fail verification.",
    )
    runs_show.add_argument("run", type=Path, metavar="RUN.db")
    runs_show.add_argument(
        "--verify", action="store_true", help="verify the run by replay now (and record it)"
    )

    data = sub.add_parser("data", help="data sets and sources")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    data_sub.add_parser(
        "list", parents=[ext], help="list the bundled data sets and the extension sources"
    )

    strategies = sub.add_parser("strategies", help="built-in and extension strategies")
    strategies_sub = strategies.add_subparsers(
        dest="strategies_command", required=True, metavar="COMMAND"
    )
    strategies_sub.add_parser(
        "list", parents=[ext], help="list the strategies you can run by name, with parameters"
    )

    extensions = sub.add_parser("extensions", help="extension files")
    extensions_sub = extensions.add_subparsers(
        dest="extensions_command", required=True, metavar="COMMAND"
    )
    extensions_sub.add_parser(
        "list",
        parents=[ext],
        help="show what the extension directories registered and which files failed",
        description="Load every extension directory and list the strategies, sources and sinks "
        "registered (with the file each came from) and every file that failed, with the reason. "
        "Exit 0, or 2 with --strict-extensions when a file failed.",
    )

    demo = sub.add_parser(
        "demo",
        help="run the example strategy on the bundled daily data, store, verify and report it",
    )
    demo.add_argument("--out", type=Path, default=Path("runs") / "demo", help="default: runs/demo")
    demo.add_argument("--engine", choices=BACKENDS, default=None)
    demo.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a complete run in DIR that is not an earlier demo (and its report)",
    )
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
        if isinstance(err, StrategyError) and os.environ.get("LOCKSTEP_DEBUG"):
            traceback.print_exc()
        return _fail(EXIT_BAD_INPUT, str(err))
    except LockstepError as err:  # config, extension, missing optional package, ...
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
        return _verify(args)
    if args.command == "report":
        return _report(args)
    if args.command == "runs":
        return _runs_list(args.directory) if args.runs_command == "list" else _runs_show(args)
    if args.command == "data":
        return _data_list(_extensions(args))
    if args.command == "strategies":
        return _strategies_list(_extensions(args))
    if args.command == "extensions":
        return _extensions_list(args)
    return _demo(args.out, args.engine, args.overwrite)


# --------------------------------------------------------------------------- extensions


def _extensions(
    args: argparse.Namespace, config_dirs: Sequence[Path] = (), strict: bool | None = None
) -> Extensions:
    """Load the extension directories; failures warn, or raise when strict."""
    extra = [(d, "config") for d in config_dirs]
    extra += [(d, "--extensions-dir") for d in args.extension_dirs]
    strict = args.strict_extensions if args.strict_extensions is not None else strict
    registry = load_extensions(extension_directories(extra), strict=bool(strict))
    for failure in registry.failures:
        print(
            f"lockstep: warning: extension {failure.path} not loaded: {failure.reason}",
            file=sys.stderr,
        )
    return registry


def _extensions_list(args: argparse.Namespace) -> int:
    dirs = extension_directories([(d, "--extensions-dir") for d in args.extension_dirs])
    registry = load_extensions(dirs)  # never strict here: list first, then fail if asked
    where = ", ".join(
        f"{d.path} ({d.origin}{'' if d.path.exists() else ', missing'})"
        for d in registry.directories
    )
    print(f"extension directories: {where or 'none'}")
    rows = [("kind", "name", "from", "description")]
    for kind, table in (
        ("strategy", registry.strategies),
        ("source", registry.sources),
        ("sink", registry.sinks),
    ):
        for name, reg in table.items():
            rows.append((kind, name, reg.origin, reg.description))
    print(_table(rows))
    if registry.failures:
        print("\nfailed to load:")
        for failure in registry.failures:
            print(f"  {failure}")
    if registry.failures and args.strict_extensions:
        try:
            registry.raise_failures()
        except ExtensionError as err:
            return _fail(EXIT_BAD_INPUT, str(err))
    return EXIT_OK


# --------------------------------------------------------------------------- backtest


@dataclass
class _Settings:
    """A backtest's choices: the command line over the config file over the defaults."""

    strategy: str
    data: str
    params: dict[str, str] = field(default_factory=dict)
    data_options: dict[str, str] = field(default_factory=dict)
    cash: str = "100000"
    fee_ppm: int = 0
    participation_bps: int | None = None
    engine: str | None = None
    out: Path | None = None
    overwrite: bool = False
    skip_bad_rows: bool = False
    max_skip_share: Fraction = DEFAULT_MAX_SKIP_SHARE
    trace: str = "full"
    warn_rejected_share: Fraction | None = None
    sinks: list[str] = field(default_factory=list)
    report: bool = True
    progress: bool | None = None


def _first(default: _T, *values: _T | None) -> _T:
    """The first value that was set (flag, then config file), else ``default``."""
    return next((v for v in values if v is not None), default)


def _settings(args: argparse.Namespace, cfg: RunConfig) -> _Settings:
    strategy = args.strategy or cfg.strategy
    if not strategy:
        raise UsageError(
            "the following arguments are required: STRATEGY (on the command line or as "
            "strategy in --config)"
        )
    data = args.data or cfg.data
    if not data:
        raise UsageError(
            "the following arguments are required: --data (on the command line or as "
            "data in --config)"
        )
    engine = args.engine or cfg.engine
    try:
        resolve_backend(engine)
    except ValueError as err:
        raise UsageError(str(err)) from None
    # Refused here to name the flag (setup_for and run_backtest would refuse them too);
    # the config file's values were checked when it was loaded.
    if args.cash is not None:
        try:
            check_starting_cash(args.cash)
        except ValueError as err:
            raise UsageError(f"--cash {err}") from None
    share = _fraction_flag("--max-skip-share", args.max_skip_share)
    warn_share = _fraction_flag("--warn-rejected-share", args.warn_rejected_share)
    return _Settings(
        strategy=strategy,
        data=data,
        params={**cfg.params, **parse_assignments(args.param)},
        data_options={**cfg.data_options, **_options(args.data_option)},
        cash=_first("100000", args.cash, cfg.cash),
        fee_ppm=_first(0, args.fee_ppm, cfg.fee_ppm),
        participation_bps=_first(None, args.participation_bps, cfg.participation_bps),
        engine=engine,
        out=_first(None, args.out, cfg.out),
        overwrite=_first(False, args.overwrite, cfg.overwrite),
        skip_bad_rows=_first(False, args.skip_bad_rows, cfg.skip_bad_rows),
        max_skip_share=_first(DEFAULT_MAX_SKIP_SHARE, share, cfg.max_skip_share),
        trace=_first("full", args.trace, cfg.trace),
        warn_rejected_share=_first(None, warn_share, cfg.warn_rejected_share),
        sinks=list(args.sink) or list(cfg.sinks),
        report=_first(True, args.report, cfg.report),
        progress=_first(None, args.progress, cfg.progress),
    )


def _fraction_flag(flag: str, value: str | None) -> Fraction | None:
    """A share from 0 to 1 given on the command line, refused naming the flag."""
    try:
        return None if value is None else skip_share(value)
    except ValueError as err:
        raise UsageError(f"{flag} {err}") from None


def _options(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data-option {pair!r} is not of the form KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _make_strategy(
    spec: str, overrides: Mapping[str, str], registry: Extensions | None = None
) -> Strategy:
    cls = load_strategy_class(spec, registry.strategy_classes() if registry else None)
    try:
        return cls(**overrides)
    except StrategyError:
        raise
    except Exception as err:
        where = Blame(cls).where(err)
        raise StrategyError(f"strategy {spec}: {type(err).__name__}: {err}{where}") from None


def _dataset(name: str, options: Mapping[str, str], registry: Extensions) -> Dataset:
    if name in registry.sources:
        return registry.build_source(name, options)
    if options:
        raise UsageError(
            f"--data-option applies to sources registered by extensions; {name!r} is not one"
        )
    try:
        return load_dataset(name)
    except DatasetError as err:
        if registry.sources and err.source is None:
            names = ", ".join(sorted(registry.sources))
            raise DatasetError(f"{err.reason}; extension sources: {names}") from None
        raise


def _sinks(names: Sequence[str], registry: Extensions) -> list[tuple[str, Sink]]:
    """Build every requested sink before the run, so an unknown name costs no backtest."""
    out = []
    for name in names:
        if name not in registry.sinks:
            known = ", ".join(sorted(registry.sinks))
            raise UsageError(f"unknown sink {name!r}; known sinks: {known}")
        out.append((name, registry.build_sink(name)))
    return out


def _backtest(args: argparse.Namespace) -> int:
    cfg = load_config(args.config) if args.config else RunConfig()
    settings = _settings(args, cfg)
    registry = _extensions(args, cfg.extensions, cfg.strict_extensions)
    strategy = _make_strategy(settings.strategy, settings.params, registry)
    dataset = _dataset(settings.data, settings.data_options, registry)
    sinks = _sinks(settings.sinks, registry)
    setup = setup_for(
        dataset,
        cash=settings.cash,
        fee_ppm=settings.fee_ppm,
        participation_bps=settings.participation_bps,
    )
    out: Path = settings.out or default_out_dir(strategy.strategy_id)
    db = out / "run.db"
    _make_room(db, overwrite=settings.overwrite)
    data: Dataset = dataset
    progress = None
    if progress_enabled(settings.progress):
        progress = Progress(expected_events(dataset), label=strategy.strategy_id)
        data = progress.attach(dataset)
    try:
        result = run_backtest(
            strategy,
            data,
            setup,
            engine=settings.engine,
            store=db,
            overwrite=settings.overwrite,
            skip_policy="skip" if settings.skip_bad_rows else "fail",
            max_skip_share=settings.max_skip_share,
            trace=settings.trace,
            warn_rejected_share=None
            if settings.warn_rejected_share is None
            else float(settings.warn_rejected_share),
        )
    finally:
        if progress is not None:
            progress.close()
    trades_csv = out / "trades.csv"
    write_trades_csv(
        trades_csv,
        result.trades,
        {i["id"]: i for i in setup["instruments"]},
        {c["code"]: c["money_precision"] for c in setup["currencies"]},
    )
    with RunStore.open(db) as store:
        print(format_rows(summary_rows(store.meta(), store.results())))
    for warning in result.warnings:
        print(f"lockstep: warning: {warning}", file=sys.stderr)
    for report in result.skipped:
        if report["total"]:
            print(
                f"lockstep: warning: {report['source']}: skipped {report['total']} rows "
                f"{report['counts']} (first lines {report['first_lines']})",
                file=sys.stderr,
            )
    print(f"run store       {db}")
    print(f"trade list      {trades_csv}")
    if settings.report or sinks:
        run = RunResults.load(db)
        if settings.report:
            _write_report(run, out, chart=chart_available(), chart_note=True)
        _run_sinks(sinks, run, out)
    return EXIT_OK


def _make_room(
    db: Path, *, overwrite: bool, replaceable: Callable[[Mapping[str, Any]], bool] | None = None
) -> None:
    """Before a run: set a failed run aside, refuse to replace a complete run or another
    run's report (see lockstep.runtime.outdir), so nothing is computed only to be refused."""
    moved = set_aside_unfinished(db, overwrite=overwrite, replaceable=replaceable)
    if moved is not None:
        print(
            f"lockstep: note: {db} held a run that did not complete; moved it to {moved}",
            file=sys.stderr,
        )
    check_report_dir(db.parent, db, None, overwrite=overwrite)


def _write_report(
    run: RunResults,
    out: Path,
    *,
    chart: bool,
    chart_note: bool = False,
    verification: VerificationStatus | None = None,
) -> None:
    files = write_report(run, out, chart=chart, verification=verification)
    if files.chart is not None:
        print(f"chart           {files.chart}")
    elif chart_note:
        print(
            "lockstep: note: the report has no chart; "
            "pip install 'lockstep-runtime[report]' (matplotlib) for one",
            file=sys.stderr,
        )
    print(f"report          {files.html}")


def _run_sinks(sinks: Sequence[tuple[str, Sink]], run: RunResults, out: Path) -> None:
    for name, sink in sinks:
        try:
            paths = sink.write(run, out)
        except LockstepError:
            raise
        except Exception as err:
            raise ExtensionError(
                f"sink {name!r} raised {type(err).__name__}: {err} (the run itself is stored "
                f"in {run.path})"
            ) from None
        print(f"sink {name:<10} {', '.join(str(p) for p in paths) or '(nothing written)'}")


def _report(args: argparse.Namespace) -> int:
    registry = _extensions(args) if args.sink else None
    sinks = _sinks(args.sink, registry) if registry is not None else []
    run = RunResults.load(args.run)
    out: Path = args.out or args.run.parent
    check_report_dir(out, run.path, run.results.get("final_state_hash"), overwrite=args.overwrite)
    checked, _ = verify_and_record(args.run)
    verification = status_of_report(checked)
    print(f"verification    {verification.summary}")
    if not checked.ok:
        print(checked, file=sys.stderr)
        if not args.unverified:
            return _fail(
                EXIT_VERIFY_FAILED,
                f"{args.run} fails verification, so no report was written "
                "(--unverified writes one with a banner saying so)",
            )
    try:
        _write_report(run, out, chart=not args.no_chart, verification=verification)
    except MissingDependencyError as err:
        raise UsageError(f"{err} (or pass --no-chart for a report without the chart)") from None
    print(f"trade list      {out / 'trades.csv'}")
    _run_sinks(sinks, run, out)
    return EXIT_OK


def _demo(out: Path, engine: str | None, overwrite: bool) -> int:
    from lockstep.runtime.demo import is_demo_run, run_demo

    _make_room(out / "run.db", overwrite=overwrite, replaceable=is_demo_run)
    report = run_demo(out, engine=engine)
    if report.ok:
        _write_report(
            RunResults.load(out / "run.db"),
            out,
            chart=chart_available(),
            chart_note=True,
            verification=status_of_report(report),
        )
    return EXIT_OK if report.ok else EXIT_VERIFY_FAILED


def _verify(args: argparse.Namespace) -> int:
    progress = None
    if progress_enabled(args.progress):
        with RunStore.open(args.run) as store:
            total = store.counts()["inputs"]
        progress = Progress(total, label="verify")
    try:
        report, recorded = verify_and_record(
            args.run,
            allow_incomplete=args.allow_incomplete,
            backend=args.engine,
            data=args.data,
            on_progress=progress.advance if progress is not None else None,
        )
    finally:
        if progress is not None:
            progress.close()
    print(report)
    if not recorded and not report.refused:
        print(
            f"lockstep: note: {args.run} is not writable; this verification was not recorded",
            file=sys.stderr,
        )
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


def _runs_show(args: argparse.Namespace) -> int:
    run: Path = args.run
    if args.verify:
        verify_and_record(run)
    with RunStore.open(run) as store:
        meta, results, counts = store.meta(), store.results(), store.counts()
        verification = store_status(store)
    rows = summary_rows(meta, results)
    rows.insert(0, ("verification", verification.summary))
    rows += [(" ", problem) for problem in verification.problems]
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
    return EXIT_VERIFY_FAILED if verification.state in ("failed", "changed") else EXIT_OK


def _data_list(registry: Extensions) -> int:
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
    for name, reg in registry.sources.items():
        rows.append((name, "-", "-", "-", f"{reg.description} (extension: {reg.origin})".lstrip()))
    print(_table(rows))
    return EXIT_OK


def _strategies_list(registry: Extensions) -> int:
    rows = [("name", "class", "parameters")]
    for name, where in builtin_strategies().items():
        cls = load_strategy_class(name)
        rows.append((name, where, _params_text(cls)))
    for name, reg in registry.strategies.items():
        where = f"{reg.origin}:{reg.obj.__name__}" if reg.origin != BUILT_IN else reg.origin
        rows.append((name, where, _params_text(reg.obj)))
    print(_table(rows))
    return EXIT_OK


def _params_text(cls: type[Strategy]) -> str:
    return ", ".join(f"{k}={v}" for k, v in cls.params.items())


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
