"""Bars (or any market events) held in memory: for tests, notebooks and generated data.

Rows are checked exactly like CSV rows (tick grid, bar shape, strictly
increasing time per instrument) when iterated, with the same skip policy, so a
strategy tested on in-memory bars sees what it would see from a file. The
``line`` of an error is the 1-based position of the row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import tzinfo
from decimal import Decimal

from lockstep.adapters.errors import BAD_ROW, NON_MONOTONIC_TIME, FeedError
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds.barfile import PRICE_FIELDS, resolve_tz
from lockstep.adapters.feeds.base import (
    BarChecker,
    SkipPolicy,
    SkipReport,
    check_policy,
    is_row_error,
)
from lockstep.adapters.instruments import InstrumentSpec
from lockstep.adapters.timestamps import TimeFormat, TimestampError, check_format, parse_time
from lockstep.core import FixedPointError, canonical_json, to_fixed
from lockstep.core.canonical import canonical_json_unchecked
from lockstep.core.fixedpoint import QTY_MAX

Value = int | str | Decimal
BarRow = tuple[Value, Value, Value, Value, Value, Value]
"""``(time, open, high, low, close, volume)``: ints are fixed-point units (ns for time),
strings and Decimals are decimal amounts (or timestamps in ``time_format``)."""

_COLUMNS = {"time": "time", "open": "open", "high": "high", "low": "low", "close": "close"}


class MemoryFeed:
    """Market events from a sequence; bar rows of one instrument via :meth:`from_bars`.

    Unlike the file feeds, an empty sequence is accepted: code that builds
    events in memory (tests, the Backtrader layer's closing prints) may mean
    "nothing happens here", while an empty file is almost always a mistake.
    """

    def __init__(
        self,
        events: Iterable[MarketEvent],
        *,
        name: str = "memory",
        instrument: InstrumentSpec | None = None,
        skip_policy: SkipPolicy | str = "fail",
    ) -> None:
        self._rows: tuple[MarketEvent | BarRow, ...] = tuple(events)
        self._name = name
        self.instrument = instrument
        self.skip_policy = check_policy(skip_policy)
        self.time_format: TimeFormat = "epoch_ns"
        self.tz: tzinfo | None = None
        self._report = SkipReport(name)

    @classmethod
    def from_bars(
        cls,
        instrument: InstrumentSpec,
        rows: Iterable[Sequence[Value]],
        *,
        name: str | None = None,
        time_format: TimeFormat | str = "epoch_ns",
        tz: str | tzinfo | None = None,
        skip_policy: SkipPolicy | str = "fail",
    ) -> MemoryFeed:
        feed = cls((), name=name or f"memory:{instrument.id}", instrument=instrument)
        feed._rows = tuple(_as_row(r) for r in rows)
        feed.time_format = check_format(time_format)
        feed.tz = resolve_tz(tz)
        feed.skip_policy = check_policy(skip_policy)
        return feed

    @property
    def name(self) -> str:
        return self._name

    @property
    def skip_report(self) -> SkipReport:
        return self._report

    def fingerprint(self) -> str:
        items = []
        for row, event in self._iter_unchecked():
            if isinstance(row, MarketEvent):
                canonical_json(event.payload)  # a given event may hold a float: refused here
            items.append(event.envelope(0))
        # Bars built from rows hold checked ints only, so the whole list needs no second scan.
        return hashlib.sha256(canonical_json_unchecked(items)).hexdigest()

    def __iter__(self) -> Iterator[MarketEvent]:
        report = SkipReport(self._name)
        self._report = report
        checker = BarChecker(self._name, self.instrument) if self.instrument else None
        last_time: int | None = None
        for line, row in enumerate(self._rows, start=1):
            report.rows = line
            try:
                event = self._event(row, line)
                if checker is not None and event.event_type == "bar":
                    checker.check(line, event.event_time, dict(event.payload), _COLUMNS)
                elif last_time is not None and event.event_time < last_time:
                    raise FeedError.at(
                        self._name,
                        line,
                        "time",
                        NON_MONOTONIC_TIME,
                        f"time {event.event_time} ns is before the previous event's {last_time} ns",
                    )
            except FeedError as err:
                if self.skip_policy == "skip" and is_row_error(err):
                    report.add(err)
                    continue
                raise
            last_time = event.event_time
            yield event

    def _iter_unchecked(self) -> Iterator[tuple[MarketEvent | BarRow, MarketEvent]]:
        """Each convertible row with its event, without the order and shape checks."""
        for line, row in enumerate(self._rows, start=1):
            try:
                yield row, self._event(row, line)
            except FeedError:
                continue

    def _event(self, row: MarketEvent | BarRow, line: int) -> MarketEvent:
        if isinstance(row, MarketEvent):
            return row
        inst = self.instrument
        assert inst is not None
        time_value = row[0]
        if isinstance(time_value, int):
            event_time = time_value
        else:
            try:
                event_time = parse_time(str(time_value), self.time_format, self.tz)
            except TimestampError as err:
                raise FeedError.at(self._name, line, "time", BAD_ROW, str(err)) from None
        prices = {
            key: _fixed(row[n + 1], inst.price_precision, 1, self._name, line, key)
            for n, key in enumerate(PRICE_FIELDS)
        }
        volume = _fixed(row[5], inst.size_precision, 0, self._name, line, "volume")
        return MarketEvent(event_time, inst.venue, inst.id, "bar", {**prices, "volume": volume})


def _as_row(row: Sequence[Value] | MarketEvent) -> MarketEvent | BarRow:
    if isinstance(row, MarketEvent):
        return row
    if len(row) != 6:
        raise ValueError(f"a bar row is (time, open, high, low, close, volume), got {row!r}")
    return (row[0], row[1], row[2], row[3], row[4], row[5])


def _fixed(value: Value, precision: int, lo: int, source: str, line: int, column: str) -> int:
    if isinstance(value, bool | float):
        raise FeedError.at(
            source, line, column, BAD_ROW, f"expected an int or a decimal string, got {value!r}"
        )
    if isinstance(value, int):
        return check_units(value, lo, source, line, column)
    try:
        return to_fixed(str(value), precision, lo=lo, hi=QTY_MAX)
    except FixedPointError as err:
        raise FeedError.at(source, line, column, BAD_ROW, err.reason) from None


def check_units(value: int, lo: int, source: str, line: int, column: str) -> int:
    """``value`` if it is a valid amount in units (``lo`` is 1 for prices, 0 for sizes),
    else the ``bad_row`` error naming where it came from."""
    if not lo <= value <= QTY_MAX:
        raise FeedError.at(source, line, column, BAD_ROW, f"{value} is outside {lo}..{QTY_MAX}")
    return value
