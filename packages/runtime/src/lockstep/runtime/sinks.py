"""Result sinks: write a finished run's results somewhere else (CSV, Parquet, SQLite, or your own).

A sink reads :class:`RunResults` (the metadata and results of one complete
run, loaded from its run store, so any stored run can be exported again
later) and writes files into a directory. Sinks are registered by name with a
:class:`SinkSpec`: the built-in ones below, and any that an extension file
declares (see :mod:`lockstep.runtime.extensions`). ``lockstep backtest --sink
NAME`` and ``lockstep report RUN.db --sink NAME`` run them.

Exported numbers stay exact: money, prices and quantities are decimal text
(CSV, SQLite) or ``decimal128`` (Parquet) at the precision the run used;
only ratios such as drawdown and the metrics that are floats in the run store
are floats here.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import sqlite3
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from lockstep.adapters.feeds.columnar import import_optional
from lockstep.core import LockstepError, from_fixed
from lockstep.runtime.errors import StoreError
from lockstep.runtime.metrics import Metrics
from lockstep.runtime.store import RunStore
from lockstep.runtime.trades import Trade, iso_utc, write_trades_csv

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
"""Names of sources, sinks and extension strategies: usable as a command-line word, never a path."""


class SpecError(LockstepError, ValueError):
    """A source, sink or strategy declaration is malformed (bad name, factory not callable)."""


def check_spec(kind: str, name: object, factory: object, description: object) -> None:
    """Refuse a malformed spec when it is created, so the extension loader can name the file."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise SpecError(
            f"{kind} name {name!r} must be 1..40 letters, digits, '_' or '-', starting with a letter"
        )
    if not callable(factory):
        raise SpecError(f"{kind} {name!r}: factory must be callable, got {type(factory).__name__}")
    if not isinstance(description, str):
        raise SpecError(f"{kind} {name!r}: description must be a string")


# --------------------------------------------------------------------------- the results


@dataclass(frozen=True, slots=True)
class EquityRow:
    time: int
    """ns since the epoch (UTC)."""
    equity: int
    """Money units of the run's currency."""
    drawdown: float
    """Fall from the running peak (the starting equity counts), as a fraction of the peak."""
    exposed: bool


@dataclass(frozen=True)
class RunResults:
    """What a complete run stored: metadata, metrics, trades and the equity curve."""

    path: Path
    meta: Mapping[str, Any]
    results: Mapping[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> RunResults:
        """Read a run store; a run that did not complete has no results and is refused."""
        target = Path(path)
        with RunStore.open(target) as store:
            meta, results = store.meta(), store.results()
        status = meta.get("status")
        if status != "complete":
            error = f" ({meta['error']})" if meta.get("error") else ""
            raise StoreError(
                target,
                f"the run's status is {status!r}, not 'complete'{error}; it has no results to report",
            )
        return cls(target, meta, results)

    @property
    def setup(self) -> Mapping[str, Any]:
        setup: Mapping[str, Any] = self.meta.get("setup") or {}
        return setup

    @property
    def instruments(self) -> dict[str, Mapping[str, Any]]:
        return {i["id"]: i for i in self.setup.get("instruments", [])}

    @property
    def money_precisions(self) -> dict[str, int]:
        return {c["code"]: c["money_precision"] for c in self.setup.get("currencies", [])}

    @property
    def metrics(self) -> Mapping[str, Any]:
        metrics: Mapping[str, Any] = self.results.get("metrics") or {}
        return metrics

    @property
    def currency(self) -> str:
        return str(self.metrics.get("currency") or next(iter(self.money_precisions), ""))

    @property
    def money_precision(self) -> int:
        return int(self.metrics.get("money_precision", self.money_precisions.get(self.currency, 0)))

    def money(self, units: int) -> str:
        """Money units as decimal text in the run's currency precision."""
        return from_fixed(units, self.money_precision)

    def trades(self) -> list[Trade]:
        return [Trade.from_dict(t) for t in self.results.get("trades", [])]

    def write_trades_csv(self, path: str | Path) -> int:
        """The trade list as ``lockstep backtest`` writes it (decimal prices, UTC times)."""
        return write_trades_csv(path, self.trades(), self.instruments, self.money_precisions)

    def trade_table(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the trade list, exactly as in ``trades.csv``."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trades.csv"
            self.write_trades_csv(path)
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
        return rows[0], rows[1:]

    def equity(self) -> list[EquityRow]:
        initial = int(self.metrics.get("initial_equity", 0))
        peak = initial
        out = []
        for time, equity, exposed in self.results.get("equity", []):
            peak = max(peak, equity)
            drawdown = float(Fraction(peak - equity, peak)) if peak > 0 else 0.0
            out.append(EquityRow(time, equity, drawdown, bool(exposed)))
        return out

    def metric_items(self) -> list[tuple[str, object]]:
        """Every stored metric, in the order :class:`Metrics` declares them."""
        names = [f.name for f in dataclasses.fields(Metrics)]
        names += sorted(set(self.metrics) - set(names))
        return [(name, self.metrics.get(name)) for name in names if name in self.metrics]


# --------------------------------------------------------------------------- sinks


class Sink(Protocol):
    """Writes a run's results into ``directory``; returns the paths it wrote."""

    def write(self, run: RunResults, directory: Path) -> Sequence[Path]: ...


@dataclass(frozen=True, slots=True)
class SinkSpec:
    """A named sink: ``factory(**options)`` returns a :class:`Sink` (a class is a fine factory)."""

    name: str
    factory: Callable[..., Sink]
    description: str = ""

    def __post_init__(self) -> None:
        check_spec("sink", self.name, self.factory, self.description)


def _text(value: object) -> str:
    """A metric value as text: empty for None, ``repr`` for floats (round-trips exactly)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class CsvSink:
    """``trades.csv``, ``equity.csv`` and ``metrics.csv``: plain files any tool can read."""

    def write(self, run: RunResults, directory: Path) -> Sequence[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        trades = directory / "trades.csv"
        run.write_trades_csv(trades)
        equity = directory / "equity.csv"
        with equity.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["time", "time_ns", "equity", "drawdown", "exposed"])
            for row in run.equity():
                writer.writerow(
                    [
                        iso_utc(row.time),
                        row.time,
                        run.money(row.equity),
                        repr(row.drawdown),
                        "true" if row.exposed else "false",
                    ]
                )
        metrics = directory / "metrics.csv"
        with metrics.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["name", "value"])
            for name, value in run.metric_items():
                writer.writerow([name, _text(value)])
        return [trades, equity, metrics]


class ParquetSink:
    """``trades.parquet``, ``equity.parquet`` and ``metrics.parquet`` (needs pyarrow).

    Built when the sink is chosen, so a missing pyarrow is reported before the
    backtest runs, not after.
    """

    def __init__(self) -> None:
        self._pa = import_optional(
            "pyarrow", purpose="the parquet sink", install="lockstep-adapters[parquet]"
        )
        self._pq = import_optional(
            "pyarrow.parquet", purpose="the parquet sink", install="lockstep-adapters[parquet]"
        )

    def write(self, run: RunResults, directory: Path) -> Sequence[Path]:
        pa = self._pa
        directory.mkdir(parents=True, exist_ok=True)
        header, rows = run.trade_table()
        trades = run.trades()
        columns: dict[str, Any] = {}
        for index, name in enumerate(header):
            values = [row[index] for row in rows]
            if name == "trade":
                columns[name] = pa.array([int(v) for v in values], pa.int64())
            elif name in ("entry_time", "exit_time"):
                times = [t.entry_time if name == "entry_time" else t.exit_time for t in trades]
                columns[name] = pa.array(times, pa.timestamp("ns", tz="UTC"))
            elif name in ("instrument", "direction", "status", "currency"):
                columns[name] = pa.array(values, pa.string())
            else:
                columns[name] = _decimals(pa, [Decimal(v) if v else None for v in values])
        equity = run.equity()
        paths = [directory / "trades.parquet", directory / "equity.parquet"]
        self._write(pa.table(columns) if header else pa.table({}), paths[0])
        equity_table = pa.table(
            {
                "time": pa.array([r.time for r in equity], pa.timestamp("ns", tz="UTC")),
                "equity": pa.array(
                    [Decimal(run.money(r.equity)) for r in equity],
                    pa.decimal128(38, run.money_precision),
                ),
                "drawdown": pa.array([r.drawdown for r in equity], pa.float64()),
                "exposed": pa.array([r.exposed for r in equity], pa.bool_()),
            }
        )
        self._write(equity_table, paths[1])
        metrics = directory / "metrics.parquet"
        self._write(pa.table({name: [value] for name, value in run.metric_items()}), metrics)
        return [*paths, metrics]

    def _write(self, table: Any, path: Path) -> None:
        self._pq.write_table(table, path)


def _decimals(pa: ModuleType, values: list[Decimal | None]) -> Any:
    """A ``decimal128`` column wide enough for the most precise value (no rounding)."""
    exponents = [int(v.as_tuple().exponent) for v in values if v is not None]
    scale = max([0, *(-e for e in exponents)])
    return pa.array(values, pa.decimal128(38, scale))


class SqliteSink:
    """``results.sqlite``: tables ``run``, ``metrics``, ``trades`` and ``equity`` for ad-hoc SQL.

    Not to be confused with the run store (``run.db``): this file holds only
    the results, flattened into tables, and is rewritten on every export.
    """

    def write(self, run: RunResults, directory: Path) -> Sequence[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "results.sqlite"
        path.unlink(missing_ok=True)
        header, rows = run.trade_table()
        conn = sqlite3.connect(path)
        try:
            with conn:
                conn.execute("CREATE TABLE run (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.executemany(
                    "INSERT INTO run VALUES (?, ?)",
                    [(k, json.dumps(v, sort_keys=True)) for k, v in sorted(run.meta.items())],
                )
                conn.execute("CREATE TABLE metrics (name TEXT PRIMARY KEY, value)")
                conn.executemany("INSERT INTO metrics VALUES (?, ?)", run.metric_items())
                columns = ", ".join(f'"{c}" TEXT' for c in header)
                conn.execute(f"CREATE TABLE trades ({columns})")
                marks = ", ".join("?" for _ in header)
                conn.executemany(f"INSERT INTO trades VALUES ({marks})", rows)
                conn.execute(
                    "CREATE TABLE equity (time_ns INTEGER PRIMARY KEY, time TEXT, equity TEXT, "
                    "equity_units INTEGER, drawdown REAL, exposed INTEGER)"
                )
                conn.executemany(
                    "INSERT INTO equity VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r.time,
                            iso_utc(r.time),
                            run.money(r.equity),
                            r.equity,
                            r.drawdown,
                            int(r.exposed),
                        )
                        for r in run.equity()
                    ],
                )
        finally:
            conn.close()
        return [path]


BUILTIN_SINKS: tuple[SinkSpec, ...] = (
    SinkSpec("csv", CsvSink, "trades.csv, equity.csv and metrics.csv"),
    SinkSpec("parquet", ParquetSink, "trades, equity and metrics as Parquet (needs pyarrow)"),
    SinkSpec("sqlite", SqliteSink, "results.sqlite with run, metrics, trades and equity tables"),
)
"""The sinks every installation has, in the order ``lockstep extensions list`` shows them."""
