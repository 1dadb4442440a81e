"""CSV bar files: one instrument per file, read row by row, checked at the edge.

The file is streamed (``csv.reader`` over an open file); nothing is held but the
current row and the previous timestamp, so file size does not matter. Decimal
strings become fixed-point integers with :func:`lockstep.core.to_fixed` at the
instrument's precision, which refuses rounding; a value that does not fit is a
``bad_row`` error naming the file, line and column. Each bar's timestamp is its
*close* time: a bar is only known once it has finished.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from pathlib import Path

from lockstep.adapters.errors import BAD_ROW, MISSING_COLUMN, FeedError
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds.barfile import PRICE_FIELDS, BarColumns, BarFile, resolve_tz
from lockstep.adapters.feeds.base import (
    BarChecker,
    SkipPolicy,
    SkipReport,
    is_row_error,
    refuse_no_bars,
)
from lockstep.adapters.instruments import InstrumentSpec
from lockstep.adapters.timestamps import (
    TimeFormat,
    TimestampError,
    check_format,
    format_time,
    parse_time,
)
from lockstep.core import FixedPointError, from_fixed, to_fixed
from lockstep.core.fixedpoint import QTY_MAX


class CsvBarFeed(BarFile):
    """Bars of one instrument from a CSV file with a header row.

    ``skip_policy="fail"`` (the default) stops at the first bad row with a
    :class:`FeedError`; ``"skip"`` drops bad rows but counts each one in
    :attr:`skip_report`. A missing column always fails: no row could be read.
    So does a file without a single bar (only a header, or every row
    skipped), when the reading reaches its end: an instrument with no data
    would make a backtest that trades nothing look like a valid result.
    """

    def __init__(
        self,
        path: str | Path,
        instrument: InstrumentSpec,
        *,
        columns: BarColumns | None = None,
        time_format: TimeFormat | str = "iso",
        tz: str | tzinfo | None = None,
        skip_policy: SkipPolicy | str = "fail",
        delimiter: str = ",",
        encoding: str = "utf-8-sig",
        keep_lines: int = 10,
    ) -> None:
        super().__init__(
            path,
            instrument,
            columns=columns,
            time_format=time_format,
            tz=tz,
            skip_policy=skip_policy,
            keep_lines=keep_lines,
        )
        self.delimiter = delimiter
        self.encoding = encoding

    def __iter__(self) -> Iterator[MarketEvent]:
        report = SkipReport(self.name, self.keep_lines)
        self._report = report
        try:
            handle = self.path.open(newline="", encoding=self.encoding)
        except OSError as err:
            raise FeedError.at(
                self.name, None, None, BAD_ROW, f"cannot open: {err.strerror}"
            ) from None
        with handle:
            reader = csv.reader(handle, delimiter=self.delimiter, strict=True)
            positions, width = self._header(reader)
            checker = BarChecker(self.name, self.instrument)
            plan = _RowPlan(positions, width, self.columns.mapping())
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except (csv.Error, UnicodeDecodeError) as err:
                    raise FeedError.at(
                        self.name, reader.line_num + 1, None, BAD_ROW, f"unreadable row: {err}"
                    ) from None
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line carries no data
                report.rows += 1
                try:
                    yield self._parse(row, line, plan, checker)
                except FeedError as err:
                    if self.skip_policy == "skip" and is_row_error(err):
                        report.add(err)
                        continue
                    raise
        refuse_no_bars(report, self.instrument, "the file has a header but no data rows")

    def _header(self, reader: Iterator[list[str]]) -> tuple[dict[str, int], int]:
        try:
            header = next(reader)
        except StopIteration:
            header = []
        except (csv.Error, UnicodeDecodeError) as err:
            raise FeedError.at(self.name, 1, None, BAD_ROW, f"unreadable header: {err}") from None
        names = [h.strip() for h in header]
        positions: dict[str, int] = {}
        for field, column in self.columns.mapping().items():
            if names.count(column) > 1:
                raise FeedError.at(
                    self.name, 1, column, MISSING_COLUMN, "the header names this column twice"
                )
            if column not in names:
                found = ", ".join(repr(n) for n in names) if names else "no header at all"
                raise FeedError.at(
                    self.name,
                    1,
                    column,
                    MISSING_COLUMN,
                    f"the header has no column {column!r} for the bar's {field} (found {found})",
                )
            positions[field] = names.index(column)
        return positions, len(names)

    def _parse(self, row: list[str], line: int, plan: _RowPlan, checker: BarChecker) -> MarketEvent:
        if len(row) != plan.width:
            raise FeedError.at(
                self.name,
                line,
                None,
                BAD_ROW,
                f"row has {len(row)} fields, the header has {plan.width}",
            )
        try:
            event_time = parse_time(row[plan.time], self.time_format, self.tz)
        except TimestampError as err:
            raise FeedError.at(self.name, line, plan.columns["time"], BAD_ROW, str(err)) from None
        inst = self.instrument
        precision = inst.price_precision
        payload: dict[str, int] = {}
        for key, index, column in plan.prices:
            try:
                payload[key] = to_fixed(row[index], precision, lo=1, hi=QTY_MAX)
            except FixedPointError as err:
                raise FeedError.at(self.name, line, column, BAD_ROW, err.reason) from None
        volume = 0
        if plan.volume is not None:
            index, column = plan.volume
            try:
                volume = to_fixed(row[index], inst.size_precision, lo=0, hi=QTY_MAX)
            except FixedPointError as err:
                raise FeedError.at(self.name, line, column, BAD_ROW, err.reason) from None
        checker.check(line, event_time, payload, plan.columns)
        payload["volume"] = volume
        return MarketEvent(event_time, inst.venue, inst.id, "bar", payload)


class _RowPlan:
    """Where each bar field sits in a row and what its column is called, worked out once.

    Every row needs the same positions and names; looking them up per field
    per row was a measurable share of the row's cost.
    """

    __slots__ = ("columns", "prices", "time", "volume", "width")

    def __init__(self, positions: dict[str, int], width: int, columns: dict[str, str]) -> None:
        self.width = width
        self.columns = columns
        self.time = positions["time"]
        self.prices = [(key, positions[key], columns[key]) for key in PRICE_FIELDS]
        self.volume = (positions["volume"], columns["volume"]) if "volume" in positions else None


def write_bar_csv(
    path: str | Path,
    instrument: InstrumentSpec,
    bars: Iterable[MarketEvent],
    *,
    columns: BarColumns | None = None,
    time_format: TimeFormat | str = "iso",
    tz: str | tzinfo | None = None,
    delimiter: str = ",",
) -> int:
    """Write bar events as a CSV that :class:`CsvBarFeed` reads back identically.

    Decimals are written with exactly the instrument's precision and ``\\n``
    line ends, so the same bars always give the same bytes. Returns the row count.
    """
    cols = columns or BarColumns()
    fmt = check_format(time_format)
    zone_info = resolve_tz(tz)
    names = cols.mapping()
    count = 0
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(list(names.values()))
        for bar in bars:
            p = bar.payload
            row = [format_time(bar.event_time, fmt, zone_info)]
            row += [from_fixed(p[k], instrument.price_precision) for k in PRICE_FIELDS]
            if "volume" in names:
                row.append(from_fixed(p["volume"], instrument.size_precision))
            writer.writerow(row)
            count += 1
    return count
