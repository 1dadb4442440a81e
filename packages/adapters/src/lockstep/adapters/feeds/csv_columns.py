"""CSV bars read with pyarrow into int64 columns: a recogniser in front of the row reader.

Reading a CSV bar row by row costs microseconds of Python per row (a
``to_fixed`` per price, a timestamp parse, the bar checks). Here pyarrow reads
the file in blocks, every cell as text, and each block is judged with
vectorised kernels: a row whose cells are all in a *plain* form that the row
reader certainly accepts, and whose bar passes the checks, is converted to
fixed point in the columns directly. Every other row (a bad cell, an
unusual but valid spelling, a bar out of order, a blank line, a row with a
quote) is read by the row reader itself (:class:`~lockstep.adapters.feeds.csv.CsvRows`)
at its line, with the running bar checker and skip report. So the bars, the
errors with their messages and line numbers, and the skip report are the row
reader's by construction (ADR 0016, decision 2); a property test compares the
two on generated and bent files.

What a plain row is (anything else goes to the row reader):

- a price: ASCII digits with at most one ``.`` between digits and at most the
  instrument's price decimals after it, no sign, no exponent, no spaces;
  positive; at most ``I64_MAX`` in price units. A volume: the same at the size
  precision, zero allowed;
- a time: for ``iso``, ``YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}]`` followed by ``Z``
  or an offset ``+HH:MM`` / ``+HHMM``, years 1970-2259, and at or after the
  epoch (naive local times are left to the row reader, which owns the zone
  rules); for the epoch formats, a number read like a volume at the format's
  decimals;
- the bar: low <= open, close <= high, every price on the tick grid, and the
  time after the previous accepted bar's (across blocks too);
- the row: no ``"`` or NUL in any cell and no cell longer than the ``csv``
  module's field limit, so the row reader would split the line into exactly
  these cells.

Line numbers come from the reading itself: quoting is off in pyarrow, so
every line is one pyarrow row (blank lines come as rows of empty cells) or an
invalid row (a wrong field count) that pyarrow reports with its line number;
those lines go to the row reader too. Whatever pyarrow cannot read (a header
longer than a block, a file it refuses) sends the rest of the file to the row
reader. Files not valid UTF-8 or in another encoding are read by the row
reader alone, since where it fails on a bad byte depends on its own decoding
buffer.

Without pyarrow (an optional extra), and for files of a few hundred bars
(where starting pyarrow costs more than it saves), the row reader's bars are
packed into the same batches.
"""

from __future__ import annotations

import codecs
import csv
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from lockstep.adapters.feeds.barfile import PRICE_FIELDS
from lockstep.adapters.feeds.base import refuse_no_bars
from lockstep.adapters.feeds.batch import BarBatch, BarBatchBuilder, pack_events
from lockstep.adapters.feeds.columnar import MissingDependencyError, import_optional
from lockstep.adapters.timestamps import EPOCH_DIGITS
from lockstep.core.fixedpoint import I64_MAX

if TYPE_CHECKING:
    from lockstep.adapters.feeds.csv import CsvBarFeed, CsvRows

INSTALL = "lockstep-adapters[parquet]"
BLOCK_BYTES = 4 << 20
"""pyarrow's read block: large enough that per-block overhead vanishes, small enough to stream."""
ROW_READER_BELOW = 32 << 10
"""Files smaller than this (a few hundred bars) are read by the row reader alone.

Opening a pyarrow reader and running its kernels costs about 1.5 ms whatever
the file's size, which the row reader spends on about 250 bars.
"""
COLD_ROW_READER_BELOW = 2 << 20
"""The same limit before this process has read any file with pyarrow.

The first file costs about 0.2 s more (loading pyarrow and its compute
kernels, which also adds about 100 MiB to the process), what the row reader
spends on some 30,000 bars (about 1.6 MB of one-minute bars); below that the
row reader is faster, and a run over small files never loads pyarrow.
"""


class _Process:
    warm = False
    """Whether this process has started a pyarrow reader (its one-off cost is paid)."""


_I64_DIGITS = str(I64_MAX)
_ISO_PLAIN = (
    r"^(?:19[7-9][0-9]|2[01][0-9][0-9]|22[0-5][0-9])-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])$"
)
_PLACEHOLDER_ISO = "1970-01-01T00:00:00Z"
_UNSAFE_CELL = '["\\x00]'
_UTF8 = frozenset({"utf-8", "utf-8-sig"})


def pyarrow_modules() -> tuple[ModuleType, ModuleType, ModuleType] | None:
    """``pyarrow``, ``pyarrow.csv`` and ``pyarrow.compute``, or None when pyarrow is missing."""
    purpose = "reading CSV files into columns"
    try:
        return (
            import_optional("pyarrow", purpose=purpose, install=INSTALL),
            import_optional("pyarrow.csv", purpose=purpose, install=INSTALL),
            import_optional("pyarrow.compute", purpose=purpose, install=INSTALL),
        )
    except MissingDependencyError:
        return None


def columns_pay(feed: CsvBarFeed) -> tuple[ModuleType, ModuleType, ModuleType] | None:
    """The pyarrow modules when the column reader is worth starting for ``feed``'s file, else None.

    The size is looked at first, so a small file never imports pyarrow; a file
    that cannot be looked at is left to the row reader, which reports it.
    """
    try:
        if feed.path.stat().st_size < (
            ROW_READER_BELOW if _Process.warm else COLD_ROW_READER_BELOW
        ):
            return None
    except OSError:
        return None
    return pyarrow_modules()


def read_bar_columns(feed: CsvBarFeed, max_rows: int) -> Iterator[BarBatch]:
    """``feed``'s bars in batches of at most ``max_rows``: the body of ``CsvBarFeed.bar_columns``."""
    modules = columns_pay(feed)
    inst = feed.instrument
    if modules is None:
        return pack_events(feed.rows(), inst.venue, inst.id, max_rows)
    _Process.warm = True
    return _read(feed, modules, max_rows)


def _read(
    feed: CsvBarFeed, modules: tuple[ModuleType, ModuleType, ModuleType], max_rows: int
) -> Iterator[BarBatch]:
    from lockstep.adapters.feeds.csv import NO_ROWS

    inst = feed.instrument
    out = BarBatchBuilder(inst.venue, inst.id, max_rows)
    with feed.open_rows() as rows:
        try:
            if _eligible(feed):
                yield from _ArrowReader(feed, rows, modules, out).read()
            else:
                yield from _definition_to_end(rows, out)
        except Exception:
            # The bars before an error come first, as iterating the feed gives them.
            if (tail := out.rest()) is not None:
                yield tail
            raise
    if (tail := out.rest()) is not None:
        yield tail
    refuse_no_bars(rows.report, inst, NO_ROWS)


def _definition_to_end(rows: CsvRows, out: BarBatchBuilder) -> Iterator[BarBatch]:
    for event in rows.events():
        out.add_event(event)
        if out.full():
            yield from out.batches()


def _eligible(feed: CsvBarFeed) -> bool:
    """Whether pyarrow's reading of this file can be lined up with the row reader's."""
    try:
        codec = codecs.lookup(feed.encoding).name
    except LookupError:
        return False
    delimiter = feed.delimiter
    if codec not in _UTF8 or len(delimiter) != 1 or delimiter in '"\r\n\x00':
        return False
    return _valid_utf8(feed.path)


def _valid_utf8(path: Path) -> bool:
    """Whether the whole file decodes; ASCII chunks (the usual case) are checked without decoding."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                if chunk.isascii() and not decoder.getstate()[0]:
                    continue
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except (OSError, UnicodeDecodeError):
        return False
    return True


class _OutOfStep(RuntimeError):
    """pyarrow's rows and the file's lines disagree: a bug here, never a data error."""


class _Block:
    """One pyarrow block converted: int64 columns, and which rows are plain and in order.

    ``ok`` is whether a row is plain on its own (cells and bar shape); ``bad``
    lists the rows that are not ``ok`` or not after the row before them. A run
    of rows between two ``bad`` rows needs only its first row compared with
    the last accepted time to be taken whole.
    """

    __slots__ = ("bad", "columns", "ok", "size")

    def __init__(self, size: int, columns: list[Any], ok: Any, bad: list[int]) -> None:
        self.size = size
        self.columns = columns
        self.ok = ok
        self.bad = bad

    def next_bad(self, pos: int) -> int:
        """The first row after ``pos`` that is not known to follow its predecessor plainly."""
        index = bisect_right(self.bad, pos)
        return self.bad[index] if index < len(self.bad) else self.size

    def time(self, pos: int) -> int:
        return int(self.columns[0][pos].as_py())

    def plain(self, pos: int) -> bool:
        return bool(self.ok[pos].as_py())

    def int64_views(self, start: int, stop: int) -> list[memoryview | bytes]:
        """Rows ``start:stop`` of every column as native int64 bytes, for ``array.frombytes``."""
        views: list[memoryview | bytes] = []
        for column in self.columns:
            if column is None:
                views.append(bytes(8 * (stop - start)))
                continue
            base = column.offset
            views.append(memoryview(column.buffers()[1])[(base + start) * 8 : (base + stop) * 8])
        return views


class _ArrowReader:
    """Walks pyarrow's blocks and the file's lines together; see the module docstring."""

    def __init__(
        self,
        feed: CsvBarFeed,
        rows: CsvRows,
        modules: tuple[ModuleType, ModuleType, ModuleType],
        out: BarBatchBuilder,
    ) -> None:
        self.pa, self.pcsv, self.pc = modules
        self.feed = feed
        self.rows = rows
        self.out = out
        plan = rows.plan
        self.names = [f"c{n}" for n in range(plan.width)]
        self.time_index = plan.time
        self.price_indexes = [index for _, index, _ in plan.prices]
        self.volume_index = None if plan.volume is None else plan.volume[0]
        used = {self.time_index, *self.price_indexes}
        if self.volume_index is not None:
            used.add(self.volume_index)
        self.extra_indexes = [n for n in range(plan.width) if n not in used]
        self.pow10 = self.pa.array([10**k for k in range(19)], self.pa.int64())
        self.next_line = rows.line + 1
        """The first line neither reader has taken yet (the header is behind)."""
        self.last_time: int | None = None
        """The time of the last bar accepted, by either reader."""
        self.pending_check: tuple[_Block, int, int] | None = None
        """The last fast-path bar (block, row, line), shown to the row reader's checker."""
        self.invalid: deque[int] = deque()
        self.invalid_last = 0
        self.lost = False

    # ------------------------------------------------------------------ reading
    def read(self) -> Iterator[BarBatch]:
        failures = (self.pa.ArrowException, OSError)
        try:
            reader = self._open()
        except failures:
            yield from self._rest_by_rows()
            return
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except failures:
                yield from self._rest_by_rows()
                return
            if self.lost:
                yield from self._rest_by_rows()
                return
            try:
                block = self._convert(batch)
            except failures:
                yield from self._rest_by_rows()
                return
            yield from self._block(block)
        # Lines pyarrow reported as invalid after its last row (a short last line).
        while self.invalid:
            line = self.invalid.popleft()
            if line != self.next_line:
                raise _OutOfStep(f"line {line} was reported after line {self.next_line}")
            yield from self._by_rows(line)
            self.next_line += 1

    def _open(self) -> Any:
        pa, pcsv = self.pa, self.pcsv
        read = pcsv.ReadOptions(
            skip_rows=self.rows.line,
            column_names=self.names,
            block_size=BLOCK_BYTES,
            use_threads=False,
        )
        parse = pcsv.ParseOptions(
            delimiter=self.feed.delimiter,
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
            invalid_row_handler=self._invalid_row,
        )
        convert = pcsv.ConvertOptions(
            column_types=dict.fromkeys(self.names, pa.string()),
            check_utf8=False,  # the whole file was checked before
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        return pcsv.open_csv(
            str(self.feed.path), read_options=read, parse_options=parse, convert_options=convert
        )

    def _invalid_row(self, row: Any) -> str:
        """A line with the wrong number of fields: remembered by line number, for the row reader."""
        number = row.number
        if number is None or number <= self.invalid_last:
            self.lost = True
        else:
            self.invalid.append(number)
            self.invalid_last = number
        return "skip"

    def _block(self, block: _Block) -> Iterator[BarBatch]:
        """The block's rows in line order, with the invalid lines among them, by either reader."""
        invalid = self.invalid
        row = 0
        line = self.next_line
        while row < block.size:
            if invalid and invalid[0] < line:
                raise _OutOfStep(f"line {invalid[0]} was reported after line {line}")
            if invalid and invalid[0] == line:
                invalid.popleft()
                yield from self._by_rows(line)
                line += 1
                continue
            run = block.size - row if not invalid else min(block.size - row, invalid[0] - line)
            yield from self._run(block, row, row + run, line)
            row += run
            line += run
        self.next_line = line

    def _run(self, block: _Block, start: int, stop: int, first_line: int) -> Iterator[BarBatch]:
        """Rows ``start:stop`` of ``block``, on consecutive lines from ``first_line``."""
        rows = self.rows
        pos = start
        while pos < stop:
            line = first_line + pos - start
            if line <= rows.line:
                # A record the row reader read ran over several lines; they are taken.
                pos = start + rows.line + 1 - first_line
                continue
            if block.plain(pos) and (self.last_time is None or block.time(pos) > self.last_time):
                end = min(block.next_bad(pos), stop)
                self._take(block, pos, end, first_line + end - 1 - start)
                pos = end
                if self.out.full():
                    yield from self.out.batches()
            else:
                yield from self._by_rows(line)
                pos += 1

    def _take(self, block: _Block, start: int, stop: int, last_line: int) -> None:
        self.out.add_bytes(block.int64_views(start, stop))
        self.rows.report.rows += stop - start
        self.last_time = block.time(stop - 1)
        self.pending_check = (block, stop - 1, last_line)

    def _by_rows(self, line: int) -> Iterator[BarBatch]:
        """The record starting at ``line``, read by the row reader (it may span more lines)."""
        rows = self.rows
        if line <= rows.line:
            return  # inside a record the row reader already read
        self._sync_checker()
        rows.skip_to(line - 1)
        if rows.line != line - 1:
            raise _OutOfStep(f"the file ended before line {line}")
        for event in rows.events(stop=line):
            self.out.add_event(event)
            self.last_time = event.event_time
        if self.out.full():
            yield from self.out.batches()

    def _sync_checker(self) -> None:
        """Show the row reader's checker the last fast-path bar, so its time order holds.

        The checker re-checks a bar that passed every check already, so this
        cannot fail; it only moves the checker's previous time forward.
        """
        if self.pending_check is not None:
            block, row, line = self.pending_check
            self.pending_check = None
            prices = {
                key: int(block.columns[n + 1][row].as_py()) for n, key in enumerate(PRICE_FIELDS)
            }
            self.rows.checker.check(line, block.time(row), prices, self.rows.plan.columns)

    def _rest_by_rows(self) -> Iterator[BarBatch]:
        """Everything from the first line not yet taken, by the row reader."""
        self._sync_checker()
        self.rows.skip_to(self.next_line - 1)
        yield from _definition_to_end(self.rows, self.out)

    # --------------------------------------------------------------- converting
    def _convert(self, batch: Any) -> _Block:
        pc = self.pc
        size = batch.num_rows
        inst = self.feed.instrument
        times, ok = self._times(batch.column(self.time_index))
        prices = []
        for index in self.price_indexes:
            values, plain = self._fixed(batch.column(index), inst.price_precision, positive=True)
            prices.append(values)
            ok = pc.and_(ok, plain)
        volume = None
        if self.volume_index is not None:
            volume, plain = self._fixed(
                batch.column(self.volume_index), inst.size_precision, positive=False
            )
            ok = pc.and_(ok, plain)
        open_, high, low, close = prices
        shape = pc.and_(
            pc.and_(pc.less_equal(low, open_), pc.less_equal(open_, high)),
            pc.and_(pc.less_equal(low, close), pc.less_equal(close, high)),
        )
        ok = pc.and_(ok, shape)
        tick = inst.tick_size
        if tick != 1:
            for values in prices:
                rest = pc.subtract(values, pc.multiply(pc.divide(values, tick), tick))
                ok = pc.and_(ok, pc.equal(rest, 0))
        limit = csv.field_size_limit()
        for index in self.extra_indexes:
            cells = batch.column(index)
            ok = pc.and_(ok, pc.invert(pc.match_substring_regex(cells, _UNSAFE_CELL)))
            ok = pc.and_(ok, pc.less_equal(pc.binary_length(cells), limit))
        if size > 1:
            after = pc.greater(times.slice(1), times.slice(0, size - 1))
            ordered = pc.and_(ok, self.pa.concat_arrays([self.pa.array([True]), after]))
        else:
            ordered = ok
        bad = pc.indices_nonzero(pc.invert(ordered)).to_pylist()
        return _Block(size, [times, *prices, volume], ok, bad)

    def _times(self, cells: Any) -> tuple[Any, Any]:
        fmt = self.feed.time_format
        if fmt != "iso":
            return self._fixed(cells, EPOCH_DIGITS[fmt], positive=False)
        pa, pc = self.pa, self.pc
        ok = pc.match_substring_regex(cells, _ISO_PLAIN)
        try:
            ns = self._iso_ns(cells, ok)
        except pa.ArrowInvalid:
            # A day the pattern allows but the calendar has not (2023-02-29): find such days.
            days = pc.utf8_slice_codeunits(cells, 0, 10)
            unreal = [d for d in pc.unique(pc.filter(days, ok)).to_pylist() if not _real_day(d)]
            ok = pc.and_(ok, pc.invert(pc.is_in(days, value_set=pa.array(unreal, pa.string()))))
            try:
                ns = self._iso_ns(cells, ok)
            except pa.ArrowInvalid:
                # Still refused: leave this block's times to the row reader.
                size = len(cells)
                return pa.array([0] * size, pa.int64()), pa.array([False] * size)
        return ns, pc.and_(ok, pc.greater_equal(ns, 0))

    def _iso_ns(self, cells: Any, ok: Any) -> Any:
        pa, pc = self.pa, self.pc
        if not pc.all(ok).as_py():
            cells = pc.if_else(ok, cells, _PLACEHOLDER_ISO)
        return pc.cast(pc.cast(cells, pa.timestamp("ns", "UTC")), pa.int64())

    def _fixed(self, cells: Any, places: int, *, positive: bool) -> tuple[Any, Any]:
        """Plain decimal cells as integers in ``10**-places`` units, and which cells were plain.

        The dot is removed and the digits are cast, then scaled by the
        decimals missing to ``places``; cells outside the plain form get 0
        and ``False``.
        """
        pa, pc = self.pa, self.pc
        dot = pc.find_substring(cells, ".")  # in bytes, like binary_length
        has_dot = pc.greater_equal(dot, 0)
        decimals = pc.if_else(has_dot, pc.subtract(pc.subtract(pc.binary_length(cells), dot), 1), 0)
        full = places > 0 and pc.all(pc.equal(decimals, places)).as_py()
        if full:
            # Written with exactly the instrument's decimals, as most files are: every dot
            # sits at one place from the end, and cutting that byte is cheaper than a search.
            digits = pc.binary_replace_slice(cells, -(places + 1), -places, "")
        elif pc.any(has_dot).as_py():
            digits = pc.replace_substring(cells, ".", "", max_replacements=1)
        else:
            digits = cells
        ok = pc.and_(pc.ascii_is_decimal(digits), pc.not_equal(dot, 0))
        ok = pc.and_(ok, pc.or_(pc.invert(has_dot), pc.greater(decimals, 0)))
        ok = pc.and_(ok, pc.less_equal(decimals, places))
        width = pc.add(pc.binary_length(digits), pc.subtract(places, decimals))
        ok = pc.and_(ok, pc.less_equal(width, 19))
        at_limit = pc.and_(ok, pc.equal(width, 19))
        if pc.any(at_limit).as_py():
            # 19 digits may pass I64_MAX: compare as text, digits padded to the scaled width.
            fits = pc.less_equal(pc.utf8_rpad(digits, 19, "0"), _I64_DIGITS)
            ok = pc.and_(ok, pc.or_(pc.invert(at_limit), fits))
        if not pc.all(ok).as_py():
            digits = pc.if_else(ok, digits, "0")
            decimals = pc.if_else(ok, decimals, places)
        values = pc.cast(digits, pa.int64())
        if not full:
            values = pc.multiply(values, pc.take(self.pow10, pc.subtract(places, decimals)))
        if positive:
            ok = pc.and_(ok, pc.greater(values, 0))
        return values, ok


def _real_day(text: str) -> bool:
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True
