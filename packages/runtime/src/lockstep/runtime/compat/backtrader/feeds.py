"""Data feeds: ``PandasData`` and ``GenericCSVData``, loaded whole, then replayed bar by bar.

A feed reads its source once when a run starts (Backtrader's default
``preload``), keeps the bars as floats for the strategy's lines, and hands the
core the same bars as fixed-point integers through a Lockstep memory feed. The
two views never disagree: prices are converted by rounding each float to the
instrument's precision, and the layer rounds order prices so that every
comparison against a bar decides as Backtrader's float comparison does (see
:func:`price_units`).

Datetimes follow Backtrader: naive values are taken as UTC, aware ones are
converted to UTC; daily CSV bars are stamped at the session end.

Bad data stops the run with a :class:`~.errors.CompatFeedError` located like
the native feeds' errors (file, line, column, value), where Backtrader would
raise a bare ``ValueError``/``IndexError`` or, for a missing price, carry a
NaN into its lines: the core needs a finite open, high, low and close on
every bar, and a user needs to know which row to fix.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lockstep.adapters.errors import BAD_ROW, MISSING_COLUMN, NON_MONOTONIC_TIME
from lockstep.runtime.compat.backtrader import params as _params
from lockstep.runtime.compat.backtrader.errors import CompatError, CompatFeedError
from lockstep.runtime.compat.backtrader.errors import missing_names as _missing_names
from lockstep.runtime.compat.backtrader.lines import (
    DateTimeLine,
    LineBuffer,
    Lines,
    LineSeries,
    MetaLineSeries,
)
from lockstep.runtime.compat.backtrader.utils import date2num, num2date, to_naive_utc


class TimeFrame:
    """Backtrader's time frame constants."""

    Ticks, MicroSeconds, Seconds, Minutes, Days, Weeks, Months, Years, NoTimeFrame = range(1, 10)
    Names: ClassVar[list[str]] = [
        "",
        "Ticks",
        "MicroSeconds",
        "Seconds",
        "Minutes",
        "Days",
        "Weeks",
        "Months",
        "Years",
        "NoTimeFrame",
    ]

    @classmethod
    def getname(cls, tframe: int, compression: int | None = None) -> str:
        return cls.Names[tframe]

    @classmethod
    def TFrame(cls, name: str) -> int:  # noqa: N802 - Backtrader's name
        return int(getattr(cls, name))


SESSION_END = _dt.time(23, 59, 59, 999990)


@dataclass(frozen=True, slots=True)
class RawBar:
    """One loaded bar: its (naive UTC) datetime and float values, and where it was read.

    ``source`` and ``line`` locate the bar for errors found after loading
    (a NaN price, time going backwards), which only the bars that survive
    ``fromdate``/``todate`` are checked for.
    """

    stamp: _dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    openinterest: float
    source: str | None = None
    line: int | None = None


_PRICES = ("open", "high", "low", "close")
_FIELDS = (*_PRICES, "volume", "openinterest")


def units(value: float, precision: int) -> int:
    """The nearest fixed-point integer of ``value`` (ties to even)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return int(Decimal(value).scaleb(precision).to_integral_value(rounding=ROUND_HALF_EVEN))


def price_units(value: float, precision: int, direction: str) -> int:
    """An order price in price units, rounded so comparisons with bar prices keep their outcome.

    Bar prices are the nearest units of their floats. ``direction="down"``
    gives the largest units whose float is not above ``value`` (for prices
    that must be *at or above* a bar price to act: buy limits, sell stops);
    ``"up"`` the smallest whose float is not below it (sell limits, buy
    stops). Then ``bar <= value`` in floats holds exactly when it holds in
    units, which is what makes fills land on the same bars as in Backtrader.
    """
    nearest = units(value, precision)
    as_float = float(Decimal(nearest).scaleb(-precision))
    if direction == "down" and as_float > value:
        return nearest - 1
    if direction == "up" and as_float < value:
        return nearest + 1
    return nearest


def from_units(value: int, precision: int) -> float:
    return float(Decimal(value).scaleb(-precision))


class DataBase(LineSeries, metaclass=MetaLineSeries):
    """Base of the layer's data feeds: lines ``close low high open volume openinterest datetime``."""

    lines: Any = ("close", "low", "high", "open", "volume", "openinterest", "datetime")
    params: Any = (
        ("dataname", None),
        ("name", ""),
        ("compression", 1),
        ("timeframe", TimeFrame.Days),
        ("fromdate", None),
        ("todate", None),
        ("sessionstart", None),
        ("sessionend", None),
        ("tz", None),
        ("tzinput", None),
        ("calendar", None),
    )

    def __init__(self, **kwargs: Any) -> None:
        bag, rest = _params.split_kwargs(type(self), kwargs)
        if rest:
            raise CompatError(f"{type(self).__name__} got unknown parameters {sorted(rest)}")
        self.__dict__["params"] = bag
        self.__dict__["p"] = bag
        self._name: str = bag.name or ""
        self._dataname = bag.dataname
        self._timeframe: int = bag.timeframe
        self._compression: int = bag.compression
        self._compensate = None
        self._bars: list[RawBar] = []
        self._labels: dict[str, str] = {}
        """How errors name each field's column (``column 4 (close)``), filled while loading."""
        self._absent: dict[str, str] = {}
        """Fields the feed reads no column for, with the parameter that says so (``open=-1``)."""
        self._reset_lines()
        self.__dict__["_minperiod"] = 1

    def _reset_lines(self) -> None:
        names = list(type(self)._line_names)
        buffers: list[LineBuffer] = [
            DateTimeLine(n, self) if n == "datetime" else LineBuffer(n, self) for n in names
        ]
        self.__dict__["lines"] = Lines(buffers, names)

    # -- loading -----------------------------------------------------------------------------

    def _load_rows(self) -> list[RawBar]:
        raise NotImplementedError

    def _preload(self) -> list[RawBar]:
        """Load (once) and filter by ``fromdate``/``todate``; reset the lines for a new run."""
        for name in ("tz", "tzinput", "calendar"):
            if getattr(self.p, name) is not None:
                raise CompatError(
                    f"data feed parameter {name} is not supported: the layer reads naive "
                    "datetimes as UTC and converts aware ones to UTC"
                )
        if not self._bars:
            rows = self._load_rows()
            start = self._bound(self.p.fromdate, self.p.sessionstart or _dt.time(0, 0))
            end = self._bound(self.p.todate, self.p.sessionend or SESSION_END)
            bars = [
                r
                for r in rows
                if (start is None or r.stamp >= start) and (end is None or r.stamp <= end)
            ]
            self._check(bars)
            self._bars = bars
        self._reset_lines()
        return self._bars

    def _check(self, bars: list[RawBar]) -> None:
        """Refuse what the core cannot take: missing prices, bad volumes, times not increasing."""
        for field in _PRICES:
            if bars and field in self._absent:
                raise CompatFeedError(
                    "",
                    f"no {field} column ({self._absent[field]}); "
                    "the core needs open, high, low and close on every bar",
                    source=self._source_name(),
                    field=field,
                )
        previous: RawBar | None = None
        for bar in bars:
            for field in _PRICES:
                value = getattr(bar, field)
                if not math.isfinite(value):
                    problem = "empty or NaN" if value != value else f"{value!r} is not finite"
                    raise self._bar_error(
                        bar, field, f"{problem}; the core needs a price on every bar"
                    )
            if bar.volume == bar.volume and not (0 <= bar.volume < math.inf):
                raise self._bar_error(bar, "volume", f"{bar.volume!r} is not a volume")
            if previous is not None and bar.stamp <= previous.stamp:
                raise self._bar_error(
                    bar,
                    "datetime",
                    f"{bar.stamp} is not after the previous bar's {previous.stamp}: "
                    "bar times must strictly increase",
                    kind=NON_MONOTONIC_TIME,
                )
            previous = bar

    def _source_name(self) -> str:
        """How errors about the whole feed name it (a CSV feed: its file)."""
        return type(self).__name__

    def _bar_error(
        self, bar: RawBar, field: str, reason: str, kind: str = BAD_ROW
    ) -> CompatFeedError:
        source = bar.source or self._source_name()
        return CompatFeedError(
            self._labels.get(field, f"column {field!r}"),
            reason,
            source=source,
            line=bar.line,
            kind=kind,
            field=field,
        )

    @staticmethod
    def _bound(value: Any, at: _dt.time) -> _dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, _dt.datetime):
            return to_naive_utc(value)
        if isinstance(value, _dt.date):
            return _dt.datetime.combine(value, at)
        raise CompatError(f"fromdate/todate must be a date or datetime, got {value!r}")

    def _deliver(self, index: int) -> None:
        """Append bar ``index`` to the lines (the run calls this as the bar's time comes)."""
        bar = self._bars[index]
        lines = self.lines
        for name in ("open", "high", "low", "close", "volume", "openinterest"):
            getattr(lines, name).array.append(float(getattr(bar, name)))
        dt_line = lines.datetime
        assert isinstance(dt_line, DateTimeLine)
        dt_line.array.append(date2num(bar.stamp))
        dt_line.stamps.append(bar.stamp)

    # -- Backtrader API ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.lines.datetime)

    def buflen(self) -> int:
        return len(self._bars)

    def date2num(self, dt: _dt.datetime | _dt.date) -> float:
        return date2num(dt)

    def num2date(self, number: float | None = None, tz: Any = None, naive: bool = True) -> Any:
        if number is None:
            return self.lines.datetime.datetime(0)
        return num2date(number)

    def getlinealiases(self) -> tuple[str, ...]:
        return type(self)._line_names

    def _getlinealias(self, index: int) -> str:
        return type(self)._line_names[index]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name or '?'} len={len(self)}>"


class PandasData(DataBase):
    """Bars from a pandas DataFrame: the index (or a ``datetime`` column) and OHLCV columns.

    Column parameters follow Backtrader: ``None`` (absent), ``-1`` (find by
    name, case-insensitive with ``nocase``), an int (position) or a name.
    """

    params: Any = (
        ("nocase", True),
        ("datetime", None),
        ("open", -1),
        ("high", -1),
        ("low", -1),
        ("close", -1),
        ("volume", -1),
        ("openinterest", -1),
    )

    def _column(self, frame: Any, field: str) -> Any:
        spec = getattr(self.p, field)
        names = list(frame.columns)
        if spec is None:
            return None
        if isinstance(spec, int) and not isinstance(spec, bool):
            if spec < 0:
                for name in names:
                    if isinstance(name, str) and (
                        name.lower() == field.lower() if self.p.nocase else name == field
                    ):
                        self._labels[field] = f"column {name!r}"
                        return frame[name]
                return None
            if spec >= len(names):
                raise CompatError(
                    f"PandasData({field}={spec}): the DataFrame has only {len(names)} columns"
                )
            self._labels[field] = f"column {spec} ({field})"
            return frame.iloc[:, spec]
        for name in names:
            if isinstance(name, str) and (
                name.lower() == str(spec).lower() if self.p.nocase else name == spec
            ):
                self._labels[field] = f"column {name!r}"
                return frame[name]
        found = ", ".join(repr(n) for n in names)
        raise CompatError(f"PandasData({field}={spec!r}): no such column (found {found})")

    def _load_rows(self) -> list[RawBar]:
        frame = self.p.dataname
        if frame is None or not hasattr(frame, "columns"):
            raise CompatError("PandasData needs dataname=<a pandas DataFrame>")
        # None, or -1 with no column named "datetime": the index holds the times, as in Backtrader
        dt_column = self._column(frame, "datetime")
        stamps = list(frame.index if dt_column is None else dt_column)
        columns = {f: self._column(frame, f) for f in _FIELDS}
        values = {f: (list(c) if c is not None else None) for f, c in columns.items()}
        self._absent = {f: f"{f}={getattr(self.p, f)!r}" for f, c in columns.items() if c is None}
        rows: list[RawBar] = []
        for n, stamp in enumerate(stamps):
            where = f"PandasData row {n}"
            when = stamp.to_pydatetime() if hasattr(stamp, "to_pydatetime") else stamp
            if not isinstance(when, _dt.datetime):
                if isinstance(when, _dt.date):
                    when = _dt.datetime.combine(when, _dt.time())
                else:
                    raise CompatFeedError(
                        self._labels.get("datetime", "index"),
                        f"{stamp!r} is not a datetime",
                        source=where,
                    )
            got: dict[str, float] = {}
            for field in _FIELDS:
                column_values = values[field]
                if column_values is None:
                    got[field] = math.nan
                    continue
                try:
                    got[field] = float(column_values[n])
                except (TypeError, ValueError):
                    raise CompatFeedError(
                        self._labels.get(field, f"column {field!r}"),
                        f"{column_values[n]!r} is not a number",
                        source=where,
                        field=field,
                    ) from None
            rows.append(RawBar(to_naive_utc(when), **got, source=where, line=None))
        return rows


class GenericCSVData(DataBase):
    """Bars from a CSV file with configurable column positions and datetime format.

    The file must exist when the feed is created: a wrong path then fails on
    the line that names it, not later inside ``cerebro.run()``.
    """

    params: Any = (
        ("nullvalue", float("nan")),
        ("dtformat", "%Y-%m-%d %H:%M:%S"),
        ("tmformat", "%H:%M:%S"),
        ("datetime", 0),
        ("time", -1),
        ("open", 1),
        ("high", 2),
        ("low", 3),
        ("close", 4),
        ("volume", 5),
        ("openinterest", 6),
        ("headers", True),
        ("separator", ","),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        name = self.p.dataname
        if not isinstance(name, str | os.PathLike):
            raise CompatError(
                f"{type(self).__name__} needs dataname=<the path of a CSV file>, got {name!r}"
            )
        if not isinstance(self.p.separator, str) or len(self.p.separator) != 1:
            raise CompatError(
                f"{type(self).__name__}(separator={self.p.separator!r}): the layer reads "
                "one-character separators only"
            )
        self._source = str(name)
        path = Path(self._source)
        if not path.exists():
            raise CompatFeedError("", "no such data file", source=self._source)
        if path.is_dir():
            raise CompatFeedError("", "is a directory, not a data file", source=self._source)
        for field in _FIELDS:
            index = getattr(self.p, field)
            if index is None or index < 0:
                self._absent[field] = f"{field}={index!r}"
            else:
                self._labels[field] = f"column {index} ({field})"
        self._labels["datetime"] = f"column {self.p.datetime} (datetime)"

    def _source_name(self) -> str:
        return self._source

    def _load_rows(self) -> list[RawBar]:
        try:
            with Path(self._source).open(newline="", encoding="utf-8") as handle:
                return self._read(handle)
        except FileNotFoundError:
            raise CompatFeedError("", "no such data file", source=self._source) from None
        except OSError as err:
            raise CompatFeedError(
                "", f"cannot read: {err.strerror or err}", source=self._source
            ) from None

    def _read(self, handle: Iterable[str]) -> list[RawBar]:
        rows: list[RawBar] = []
        reader = csv.reader(handle, delimiter=self.p.separator)
        skip_header = bool(self.p.headers)
        first = True
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError:
                raise CompatFeedError(
                    "", f"not UTF-8 text after line {reader.line_num}", source=self._source
                ) from None
            except csv.Error as err:
                raise CompatFeedError(
                    "row", f"unreadable: {err}", source=self._source, line=reader.line_num
                ) from None
            if skip_header:
                skip_header = False
                continue
            if not fields:
                continue  # a blank line carries no bar
            rows.append(_CsvRow(self, fields, reader.line_num, first).bar())
            first = False
        return rows


class _CsvRow:
    """One data row of a :class:`GenericCSVData` file, read into a bar or refused with its place."""

    def __init__(self, feed: GenericCSVData, fields: list[str], line: int, first: bool) -> None:
        self.feed = feed
        self.p = feed.p
        self.fields = fields
        self.line = line
        self.first = first

    def error(self, path: str, reason: str, field: str, kind: str = BAD_ROW) -> CompatFeedError:
        return CompatFeedError(
            path, reason, source=self.feed._source, line=self.line, kind=kind, field=field
        )

    def cell(self, field: str, index: int) -> str:
        width = len(self.fields)
        if -width <= index < width:
            return self.fields[index]
        hint = ""
        if self.first and field in ("volume", "openinterest"):
            hint = f"; pass {field}=-1 if the file has no {field} column"
        raise self.error(
            f"column {index} ({field})",
            f"missing, the row has {width} field{'' if width == 1 else 's'}{hint}",
            field,
            # on the first row the file as a whole lacks the column; later, one row is short
            MISSING_COLUMN if self.first else BAD_ROW,
        )

    def bar(self) -> RawBar:
        stamp = self.stamp()
        got: dict[str, float] = {}
        for field in _FIELDS:
            index = getattr(self.p, field)
            raw = self.p.nullvalue if index is None or index < 0 else self.cell(field, index)
            if isinstance(raw, str) and raw == "":
                raw = self.p.nullvalue
            try:
                got[field] = float(raw)
            except (TypeError, ValueError):
                raise self.error(
                    f"column {index} ({field})", f"{raw!r} is not a number", field
                ) from None
        return RawBar(stamp, **got, source=self.feed._source, line=self.line)

    def stamp(self) -> _dt.datetime:
        """The bar's naive UTC datetime; daily and coarser bars are moved to the session end."""
        p = self.p
        text = self.cell("datetime", p.datetime)
        fmt = p.dtformat
        path = f"column {p.datetime} (datetime)"
        parsed: Any
        if isinstance(fmt, str):
            what = "dtformat"
            if p.time is not None and p.time >= 0:
                text += "T" + self.cell("time", p.time)
                fmt += "T" + p.tmformat
                path = f"columns {p.datetime} and {p.time} (datetime, time)"
                what = "dtformat + 'T' + tmformat"
            try:
                parsed = _dt.datetime.strptime(text, fmt)
            except ValueError as err:
                detail = str(err)
                reason = (
                    f"{text!r} does not match {what} {fmt!r}"
                    if detail.startswith("time data")
                    else f"{text!r} does not fit {what} {fmt!r}: {detail}"
                )
                raise self.error(path, reason, "datetime") from None
        elif isinstance(fmt, int):
            try:
                seconds = int(text) if fmt == 1 else float(text)
                parsed = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=seconds)
            except (ValueError, OverflowError):
                raise self.error(
                    path, f"{text!r} is not a Unix timestamp (dtformat={fmt})", "datetime"
                ) from None
        else:
            convert: Callable[[str], Any] = fmt
            try:
                parsed = convert(text)
            except Exception as err:
                raise self.error(
                    path, f"dtformat failed on {text!r}: {type(err).__name__}: {err}", "datetime"
                ) from None
            if not isinstance(parsed, _dt.datetime):
                raise self.error(
                    path, f"dtformat returned {parsed!r} for {text!r}, not a datetime", "datetime"
                )
        naive = to_naive_utc(parsed)
        if p.timeframe >= TimeFrame.Days:
            end = _dt.datetime.combine(parsed.date(), p.sessionend or SESSION_END)
            if end > naive:
                return end
        return naive


PandasDirectData = PandasData


if not TYPE_CHECKING:  # at run time only, so mypy still checks every name imported from here
    __getattr__ = _missing_names("bt.feeds", "backtrader.feeds", __name__)
