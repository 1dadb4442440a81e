"""CSV bar files: one instrument per file, read row by row, checked at the edge.

The file is streamed (``csv.reader`` over an open file); nothing is held but the
current row and the previous timestamp, so file size does not matter. Decimal
strings become fixed-point integers with :func:`lockstep.core.to_fixed` at the
instrument's precision, which refuses rounding; a value that does not fit is a
``bad_row`` error naming the file, line and column. Each bar's timestamp is its
*close* time: a bar is only known once it has finished.

That row reader (:class:`CsvRows`, :meth:`CsvBarFeed.rows`) is the definition.
With pyarrow installed the feed reads plain rows vectorised into columns
(:mod:`lockstep.adapters.feeds.csv_columns`) and hands every other row to it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

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
from lockstep.adapters.feeds.batch import DEFAULT_BATCH_ROWS, BarBatch, check_max_rows
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

NO_ROWS = "the file has a header but no data rows"


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
        """The bars of the file; built from :meth:`bar_columns` when pyarrow is installed.

        Reading the columns and making events of them took 2.4-3.1 us per bar
        against the row reader's 7.6-8.0 us (100,000 one-minute bars), for the
        same bars, errors and skip report. Small files, where starting pyarrow
        costs more than it saves, are read by the row reader.
        """
        from lockstep.adapters.feeds.csv_columns import columns_pay

        if columns_pay(self) is None:
            return self.rows()
        return self._events_from_columns()

    def _events_from_columns(self) -> Iterator[MarketEvent]:
        for batch in self.bar_columns():
            yield from batch.events()

    def rows(self) -> Iterator[MarketEvent]:
        """The bars read row by row: the definition every faster reader is checked against."""
        with self.open_rows() as rows:
            yield from rows.events()
        refuse_no_bars(rows.report, self.instrument, NO_ROWS)

    def bar_columns(self, max_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[BarBatch]:
        """The bars of ``iter(self)`` as column batches, read with pyarrow when it is installed.

        See :mod:`lockstep.adapters.feeds.csv_columns`: rows the vectorised
        reader cannot vouch for are read by :meth:`open_rows`' definition, so
        the bars, the skip report and every error are those of the row reader.
        """
        from lockstep.adapters.feeds.csv_columns import read_bar_columns

        return read_bar_columns(self, check_max_rows(max_rows))

    def open_rows(self) -> CsvRows:
        """The file opened and its header checked, ready to be read row by row.

        Starts a fresh skip report. Raises :class:`FeedError` when the file
        cannot be opened or its header lacks a configured column.
        """
        report = SkipReport(self.name, self.keep_lines)
        self._report = report
        try:
            handle = self.path.open(newline="", encoding=self.encoding)
        except OSError as err:
            raise FeedError.at(
                self.name, None, None, BAD_ROW, f"cannot open: {err.strerror}"
            ) from None
        try:
            reader = csv.reader(handle, delimiter=self.delimiter, strict=True)
            positions, width = self._header(reader)
        except BaseException:
            handle.close()
            raise
        plan = _RowPlan(positions, width, self.columns.mapping())
        return CsvRows(self, handle, reader, plan, report)

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

    def parse_row(
        self, row: list[str], line: int, plan: _RowPlan, checker: BarChecker
    ) -> MarketEvent:
        """One record's bar, checked against ``checker``'s running state; a located error if bad."""
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


class CsvRows:
    """One open CSV file read row by row with the feed's row definition.

    The whole-file read (:meth:`CsvBarFeed.rows`) runs :meth:`events` to the
    end. A faster reader that handles most rows itself hands the others to
    :meth:`events` with a ``stop`` line, after :meth:`skip_to` passes over the
    lines it already took; since this reader keeps the running
    :class:`BarChecker` and the skip report, every error, message, line number
    and skipped row still comes from this one place.
    """

    __slots__ = ("_feed", "_handle", "_reader", "_skipped", "checker", "plan", "report")

    def __init__(
        self,
        feed: CsvBarFeed,
        handle: TextIO,
        reader: Any,
        plan: _RowPlan,
        report: SkipReport,
    ) -> None:
        self._feed = feed
        self._handle = handle
        self._reader = reader
        self._skipped = 0
        self.plan = plan
        self.report = report
        self.checker = BarChecker(feed.name, feed.instrument)

    def __enter__(self) -> CsvRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()

    @property
    def line(self) -> int:
        """Lines of the file read so far, the header included (the last line read)."""
        return int(self._reader.line_num) + self._skipped

    def skip_to(self, line: int) -> None:
        """Pass over the lines up to ``line`` unread; the next record starts after it.

        The caller vouches that those lines hold plain one-line records it has
        read itself, so skipping them leaves the line count and the file
        position where reading them would have.
        """
        count = line - self.line
        if count > 0:
            self._skipped += sum(1 for _ in islice(self._handle, count))

    def events(self, stop: int | None = None) -> Iterator[MarketEvent]:
        """Read records while the last line read is before ``stop`` (to the end when None).

        With ``stop`` one past :attr:`line`, that is exactly one record, which
        may span several lines when a quoted cell holds a line break.
        """
        feed = self._feed
        reader = self._reader
        report = self.report
        plan = self.plan
        checker = self.checker
        skipped = self._skipped
        while stop is None or reader.line_num + skipped < stop:
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as err:
                raise FeedError.at(
                    feed.name,
                    reader.line_num + skipped + 1,
                    None,
                    BAD_ROW,
                    f"unreadable row: {err}",
                ) from None
            line = reader.line_num + skipped
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line carries no data
            report.rows += 1
            try:
                yield feed.parse_row(row, line, plan, checker)
            except FeedError as err:
                if feed.skip_policy == "skip" and is_row_error(err):
                    report.add(err)
                    continue
                raise


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
