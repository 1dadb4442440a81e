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
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, ClassVar

from lockstep.runtime.compat.backtrader import params as _params
from lockstep.runtime.compat.backtrader.lines import (
    CompatError,
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
    """One loaded bar: its (naive UTC) datetime and float values."""

    stamp: _dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    openinterest: float


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
            self._bars = [
                r
                for r in rows
                if (start is None or r.stamp >= start) and (end is None or r.stamp <= end)
            ]
        self._reset_lines()
        return self._bars

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


def _float(value: Any, where: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise CompatError(f"{where}: {value!r} is not a number") from None
    return out


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
    _FIELDS = ("open", "high", "low", "close", "volume", "openinterest")

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
                        return frame[name]
                return None
            return frame.iloc[:, spec]
        for name in names:
            if isinstance(name, str) and (
                name.lower() == str(spec).lower() if self.p.nocase else name == spec
            ):
                return frame[name]
        raise CompatError(f"PandasData: no column {spec!r} for {field}")

    def _load_rows(self) -> list[RawBar]:
        frame = self.p.dataname
        if frame is None or not hasattr(frame, "columns"):
            raise CompatError("PandasData needs dataname=<a pandas DataFrame>")
        if self.p.datetime is None:
            stamps = list(frame.index)
        else:
            spec = self.p.datetime
            column = (
                frame.iloc[:, spec]
                if isinstance(spec, int) and not isinstance(spec, bool) and spec >= 0
                else frame[spec]
            )
            stamps = list(column)
        columns = {f: self._column(frame, f) for f in self._FIELDS}
        values = {f: (list(c) if c is not None else None) for f, c in columns.items()}
        rows: list[RawBar] = []
        for n, stamp in enumerate(stamps):
            when = stamp.to_pydatetime() if hasattr(stamp, "to_pydatetime") else stamp
            if not isinstance(when, _dt.datetime):
                if isinstance(when, _dt.date):
                    when = _dt.datetime.combine(when, _dt.time())
                else:
                    raise CompatError(f"PandasData row {n}: {stamp!r} is not a datetime")
            got: dict[str, float] = {}
            for field in self._FIELDS:
                column_values = values[field]
                got[field] = (
                    math.nan
                    if column_values is None
                    else _float(column_values[n], f"row {n} {field}")
                )
            rows.append(RawBar(to_naive_utc(when), **got))
        return rows


class GenericCSVData(DataBase):
    """Bars from a CSV file with configurable column positions and datetime format."""

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

    def _parse_time(self, fields: Sequence[str]) -> _dt.datetime:
        text = fields[self.p.datetime]
        fmt = self.p.dtformat
        if isinstance(fmt, str):
            if self.p.time is not None and self.p.time >= 0:
                text += "T" + fields[self.p.time]
                fmt += "T" + self.p.tmformat
            parsed = _dt.datetime.strptime(text, fmt)
        elif isinstance(fmt, int):
            seconds = int(text) if fmt == 1 else float(text)
            parsed = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=seconds)
        else:
            convert: Callable[[str], _dt.datetime] = fmt
            parsed = convert(text)
        naive = to_naive_utc(parsed)
        if self.p.timeframe >= TimeFrame.Days:
            end = _dt.datetime.combine(parsed.date(), self.p.sessionend or SESSION_END)
            if end > naive:
                return end
        return naive

    def _load_rows(self) -> list[RawBar]:
        path = Path(str(self.p.dataname))
        rows: list[RawBar] = []
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter=self.p.separator)
            for line, fields in enumerate(reader, start=1):
                if line == 1 and self.p.headers:
                    continue
                if not fields:
                    continue
                got: dict[str, float] = {}
                for field in PandasData._FIELDS:
                    index = getattr(self.p, field)
                    raw = (
                        fields[index]
                        if index is not None and 0 <= index < len(fields)
                        else self.p.nullvalue
                    )
                    got[field] = (
                        _float(self.p.nullvalue, f"{path}:{line}")
                        if raw == ""
                        else _float(raw, f"{path}:{line} {field}")
                    )
                rows.append(RawBar(self._parse_time(fields), **got))
        return rows


PandasDirectData = PandasData
