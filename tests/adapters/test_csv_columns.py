"""The pyarrow column reader of CSV bars gives exactly what the row reader gives.

``CsvBarFeed.bar_columns()`` reads plain rows vectorised and hands every other
row to the row reader (``CsvBarFeed.rows()``, the definition). The property
test writes bar files with random valid bars in varied spellings and bends
them (bad cells, bars out of shape, off tick or back in time, wrong field
counts, quoted cells and line breaks in them, blank lines, CRLF or CR line
ends, a BOM, bytes that are not UTF-8) and holds the column reader, with
small and large pyarrow blocks and batches, equal to the definition: the same
bars in the same order, the same error (type, message, line) and the same
skip report, under both skip policies. Without pyarrow the batches must be
the same too.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.adapters import BarColumns, CsvBarFeed, FeedError, InstrumentSpec
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds import csv_columns
from lockstep.adapters.feeds.batch import BarBatch
from lockstep.adapters.timestamps import EPOCH_DIGITS, TimeFormat, format_time
from lockstep.core import from_fixed

NS = 10**9
T0 = 1_704_153_600 * NS  # 2024-01-02T00:00:00Z
FORMATS: list[TimeFormat] = ["iso", "epoch_s", "epoch_ms", "epoch_ns"]
SPECS = [
    InstrumentSpec("A", "sim", "USD", price_precision=2, size_precision=0, tick_size=1),
    InstrumentSpec("B", "sim", "USD", price_precision=2, size_precision=3, tick_size=5),
    InstrumentSpec("C", "sim", "USD", price_precision=0, size_precision=0, tick_size=5),
    InstrumentSpec("D", "sim", "USD", price_precision=4, size_precision=2, tick_size=1),
]

Outcome = tuple[list[MarketEvent], tuple[Any, ...] | None, dict[str, object]]


@pytest.fixture(autouse=True)
def columns_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files here are small; read them with pyarrow all the same."""
    monkeypatch.setattr(csv_columns, "ROW_READER_BELOW", 0)
    monkeypatch.setattr(csv_columns, "COLD_ROW_READER_BELOW", 0)


# ------------------------------------------------------------------ running both
def outcome(read: Callable[[], Iterator[MarketEvent]], feed: CsvBarFeed) -> Outcome:
    """The bars read until the end or an error, the error, and the skip report."""
    events: list[MarketEvent] = []
    error = None
    try:
        for event in read():
            events.append(event)
    except FeedError as err:
        error = (type(err), str(err), err.line, err.kind, err.field)
    return events, error, feed.skip_report.to_dict()


def columns_of(feed: CsvBarFeed, max_rows: int) -> Callable[[], Iterator[MarketEvent]]:
    def read() -> Iterator[MarketEvent]:
        for batch in feed.bar_columns(max_rows):
            assert isinstance(batch, BarBatch)
            assert 0 < len(batch) <= max_rows
            assert (batch.venue, batch.instrument) == (feed.instrument.venue, feed.instrument.id)
            assert all(len(column) == len(batch) for column in batch.columns())
            yield from batch.events()

    return read


def assert_same(feed: CsvBarFeed, max_rows: int) -> Outcome:
    expected = outcome(feed.rows, feed)
    assert outcome(columns_of(feed, max_rows), feed) == expected
    assert outcome(lambda: iter(feed), feed) == expected
    return expected


# ------------------------------------------------------------------ writing files
def iso(ns: int, draw: st.DrawFn, varied: bool) -> str:
    """``ns`` as ISO text in one of the spellings the reader accepts (plain ones unless ``varied``)."""
    forms = ["Z", "space", "offset", "offset-compact", "fraction"] + (["naive"] if varied else [])
    form = draw(st.sampled_from(forms))
    if form in ("offset", "offset-compact"):
        minutes = draw(st.sampled_from([0, 60, -300, 330, 23 * 60 + 59, -(23 * 60 + 59)]))
        local = format_time(ns + minutes * 60 * NS, "iso").removesuffix("Z")
        sign = "-" if minutes < 0 else "+"
        hours, mins = divmod(abs(minutes), 60)
        sep = ":" if form == "offset" else ""
        return f"{local}{sign}{hours:02d}{sep}{mins:02d}"
    text = format_time(ns, "iso")
    if form == "space":
        return text.replace("T", " ")
    if form == "fraction" and "." not in text:
        return text[:-1] + "." + "0" * draw(st.integers(1, 9)) + "Z"
    if form == "naive":
        return text[:-1]  # read in the feed's zone (UTC when it has one here), else an error
    return text


def stamp(ns: int, fmt: TimeFormat, draw: st.DrawFn, varied: bool) -> str:
    if fmt == "iso":
        return iso(ns, draw, varied)
    text = format_time(ns, fmt)
    if draw(st.integers(0, 4)) == 0 and EPOCH_DIGITS[fmt]:
        text += ("" if "." in text else ".") + "0" * draw(st.integers(1, 3))
    return text


def amount(value: int, places: int, draw: st.DrawFn, varied: bool) -> str:
    """``value`` units as decimal text, spelled one of several exact ways."""
    text = from_fixed(value, places)
    form = draw(st.integers(0, 9))
    if form == 0 and "." in text:
        text = text.rstrip("0").rstrip(".")  # 100.1, 100
    elif form == 1 and varied:
        text += ("" if "." in text else ".") + "00"  # more places, all zeros: exact, not plain
    elif form == 2:
        text = "0" + text
    return text


BAD_AMOUNTS = [
    "",
    "abc",
    "1e2",
    "1.2.3",
    ".5",
    "5.",
    " 1.00",
    "1.00 ",
    "+1.00",
    "-1.00",
    "-0",
    "0",
    "0.00",
    "1.23456789",
    "99999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
    "922337203685477580.8",
    "922337203685478",  # over I64_MAX at 4 places
    "92233720368547759",  # over I64_MAX at 2 places
    "92233720368547758.07",  # I64_MAX at 2 places
    "\uff11\uff12",  # fullwidth digits: to_fixed reads them, the fast path leaves them
    '"1.00"',
    '"1.0"0',
    'a"b',
    "NaN",
    "\x00",
]
BAD_TIMES = [
    "",
    "yesterday",
    "2023-02-29T00:00:00Z",
    "2024-02-30 10:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:30:00+01:00",
    "2024-01-02T24:00:00Z",
    "2024-01-02T10:00Z",
    "2024-01-02",
    "2024-01-02T10:00:00+24:00",
    " 2024-01-02T10:00:00Z",
    "2262-04-12T00:00:00Z",
    "1704153600",
    "1704153600.5",
    "1704153600.",
    ".5",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "9999999999999999999",
    "1.0000000001",
]
EXTRA_CELLS = ["x", "", '"q"', 'a"b', '"a,b"', '"q"x', '"open', "\x00", '"line\nbreak"', "t\tb"]
BENDS = range(13)


@st.composite
def bar_files(draw: st.DrawFn) -> tuple[bytes, InstrumentSpec, TimeFormat, BarColumns, bool]:
    """A bar file's bytes and how to read it.

    Each file has a few kinds of bend (and one bad value of each sort), so a
    bend shows up often enough to meet the rows around it: a row the row
    reader accepts followed by one going back in time, a bad cell at a block
    boundary, and so on.
    """
    spec = draw(st.sampled_from(SPECS))
    fmt = draw(st.sampled_from(FORMATS))
    has_volume = draw(st.booleans())
    extra = draw(st.sampled_from([None, 0, 2, 6]))  # where a column the feed ignores sits
    names = ["timestamp", "open", "high", "low", "close"] + (["volume"] if has_volume else [])
    if extra is not None:
        names.insert(min(extra, len(names)), "note")
    bends = sorted(draw(st.sets(st.sampled_from(BENDS), max_size=3)))
    rate = draw(st.sampled_from([2, 3, 6]))
    varied = draw(st.booleans())  # valid spellings the fast path leaves to the row reader
    bad_amount = draw(st.sampled_from(BAD_AMOUNTS))
    bad_time = draw(st.sampled_from(BAD_TIMES))
    note = draw(st.sampled_from(EXTRA_CELLS))
    tick = spec.tick_size
    time = T0 + draw(st.integers(0, 10**6)) * NS
    rows: list[str] = []
    for _ in range(draw(st.integers(0, 30))):
        time += draw(st.sampled_from([60 * NS, 1, 3_600 * NS, 250_000_000]))
        ticks = sorted(draw(st.lists(st.integers(1, 10**6), min_size=4, max_size=4)))
        low, a, b, high = (x * tick for x in ticks)
        open_, close = (a, b) if draw(st.booleans()) else (b, a)
        places = spec.price_precision
        cells = {
            "timestamp": stamp(time, fmt, draw, varied),
            "open": amount(open_, places, draw, varied),
            "high": amount(high, places, draw, varied),
            "low": amount(low, places, draw, varied),
            "close": amount(close, places, draw, varied),
            "volume": amount(draw(st.integers(0, 10**9)), spec.size_precision, draw, varied),
            "note": "n",
        }
        line: str | None = None
        if bends and draw(st.integers(1, rate)) == 1:
            bend = draw(st.sampled_from(bends))
            if bend == 0:
                key = draw(st.sampled_from(["open", "high", "low", "close", "volume"]))
                cells[key] = bad_amount
            elif bend == 1:
                cells["timestamp"] = bad_time
            elif bend == 2:
                cells["high"], cells["low"] = cells["low"], cells["high"]  # inconsistent
            elif bend == 3:
                cells["close"] = amount(close + 1, places, draw, varied)  # off tick, maybe
            elif bend == 4:
                back = draw(st.sampled_from([0, 1, 60 * NS, 10**6 * NS]))
                cells["timestamp"] = stamp(time - back, fmt, draw, varied)  # equal or earlier
            elif bend == 5:
                cells["note"] = note
            elif bend == 6:
                key = draw(st.sampled_from(list(cells)))
                cells[key] = '"' + cells[key] + '"'  # quoted: the same value
            elif bend == 7:
                key = draw(st.sampled_from(["open", "close", "timestamp"]))
                cells[key] = '"' + cells[key][:1] + "\n" + cells[key][1:] + '"'
            elif bend == 8:
                line = draw(st.sampled_from(["", "   ", ",,,,,", "\t"]))
            elif bend == 9:
                line = ",".join(cells[n] for n in names) + ",extra"
            elif bend == 10:
                line = ",".join(cells[n] for n in names[:-1])
            elif bend == 11:
                line = ",".join(cells[n] for n in names) + "\r\n"  # an empty line after it
            else:
                cells["low"], cells["open"] = cells["open"], cells["low"]  # low above open
        rows.append(line if line is not None else ",".join(cells[n] for n in names))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    lines = [",".join(names), *rows]
    if newline == "mixed":
        text = "".join(line + draw(st.sampled_from(["\n", "\r\n", "\r"])) for line in lines)
    else:
        text = newline.join(lines) + draw(st.sampled_from([newline, "", newline * 2]))
    if draw(st.integers(0, 3)) == 0:
        text = "\ufeff" + text
    data = text.encode("utf-8")
    if bends and draw(st.integers(0, 15)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + b"\xff" + data[cut:]  # not UTF-8: the row reader reads it all
    columns = BarColumns(volume="volume" if has_volume else None)
    return data, spec, fmt, columns, draw(st.booleans())


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=bar_files(),
    block=st.sampled_from([64, 200, 1 << 20]),
    max_rows=st.sampled_from([1, 3, 65_536]),
)
def test_columns_equal_the_row_reader(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[bytes, InstrumentSpec, TimeFormat, BarColumns, bool],
    block: int,
    max_rows: int,
) -> None:
    data = case[0]
    monkeypatch.setattr(csv_columns, "BLOCK_BYTES", block)
    path = tmp_path / "bars.csv"
    path.write_bytes(data)
    for policy in ("fail", "skip"):
        assert_same(_feed(path, case, policy), max_rows)


# ------------------------------------------------------------------ particular files
SPEC = SPECS[1]  # tick 5, price precision 2, size precision 3
HEADER = "timestamp,open,high,low,close,volume"


def write(tmp_path: Path, *lines: str, end: str = "\n", name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((end.join(lines) + end).encode("utf-8"))
    return path


def plain_rows(count: int, start: int = 0) -> list[str]:
    return [
        f"{format_time(T0 + (start + n) * 60 * NS, 'iso')},100.05,100.10,99.95,100.00,{n}.5"
        for n in range(count)
    ]


def count_row_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Line numbers of the rows the row reader parses from now on."""
    seen: list[int] = []
    parse = CsvBarFeed.parse_row

    def spy(self: CsvBarFeed, row: list[str], line: int, *args: Any) -> MarketEvent:
        seen.append(line)
        return parse(self, row, line, *args)

    monkeypatch.setattr(CsvBarFeed, "parse_row", spy)
    return seen


def test_plain_rows_never_reach_the_row_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, HEADER, *plain_rows(500))
    monkeypatch.setattr(csv_columns, "BLOCK_BYTES", 1000)  # many blocks
    feed = CsvBarFeed(path, SPEC)
    expected = list(feed.rows())
    seen = count_row_reads(monkeypatch)
    batches = list(feed.bar_columns(128))
    assert [len(b) for b in batches] == [128, 128, 128, 116]
    assert [e for b in batches for e in b.events()] == expected
    assert seen == []
    assert feed.skip_report.rows == 500


def test_only_the_bent_rows_reach_the_row_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = plain_rows(10)
    rows[3] = rows[3].replace("100.00", "1e2")  # line 5: refused
    rows[6] = rows[6].replace("100.00", "100.000")  # line 8: accepted, but not plain
    path = write(tmp_path, "\ufeff" + HEADER, *rows, "", end="\r\n")
    feed = CsvBarFeed(path, SPEC, skip_policy="skip")
    seen = count_row_reads(monkeypatch)
    events = [e for b in feed.bar_columns() for e in b.events()]
    assert seen == [5, 8]  # the blank line 12 is read by it too, but is no row
    assert len(events) == 9
    assert feed.skip_report.lines == {"bad_row": [5]}
    assert feed.skip_report.rows == 10


def test_small_files_are_left_to_the_row_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_columns, "ROW_READER_BELOW", 32 << 10)
    monkeypatch.setattr(csv_columns, "COLD_ROW_READER_BELOW", 100 << 10)
    monkeypatch.setattr(csv_columns._Process, "warm", False)
    seen = count_row_reads(monkeypatch)
    small = write(tmp_path, HEADER, *plain_rows(100), name="small.csv")  # about 6 KB
    large = write(tmp_path, HEADER, *plain_rows(1000), name="large.csv")  # about 60 KB
    larger = write(tmp_path, HEADER, *plain_rows(2000), name="larger.csv")  # about 120 KB

    def read(path: Path) -> int:
        return len([e for b in CsvBarFeed(path, SPEC).bar_columns() for e in b.events()])

    # Before pyarrow has read anything in this process, its one-off cost sets a higher bar.
    assert read(large) == 1000 and len(seen) == 1000
    seen.clear()
    assert read(larger) == 2000 and seen == []
    # Once it has, only small files are left to the row reader.
    assert read(small) == 100 and len(seen) == 100
    seen.clear()
    assert read(large) == 1000 and seen == []


def test_an_error_comes_after_the_bars_before_it(tmp_path: Path) -> None:
    rows = plain_rows(6)
    rows[4] = plain_rows(1, start=1)[0]  # line 6 goes back to the time of line 3
    feed = CsvBarFeed(write(tmp_path, HEADER, *rows), SPEC)
    reader = feed.bar_columns(3)
    assert len(next(reader)) == 3
    assert len(next(reader)) == 1
    with pytest.raises(FeedError) as info:
        next(reader)
    assert (info.value.line, info.value.kind) == (6, "non_monotonic_time")
    assert "is not after the previous row's" in str(info.value)


def test_a_line_break_in_a_quoted_cell_keeps_the_line_numbers(tmp_path: Path) -> None:
    rows = plain_rows(5)
    rows[1] = rows[1].replace(",100.05,", ',"100\n.05",')  # one record over lines 3-4
    rows[3] = rows[3].replace("100.00", "x")  # line 6
    feed = CsvBarFeed(write(tmp_path, HEADER, *rows), SPEC, skip_policy="skip")
    expected = assert_same(feed, 65_536)
    # The row reader names a record by its last line.
    assert feed.skip_report.lines == {"bad_row": [4, 6]}
    assert len(expected[0]) == 3


def test_pyarrow_failing_to_read_leaves_the_rest_to_the_row_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = plain_rows(50)
    rows[30] = rows[30].replace("100.00", "1" * 200)  # longer than a block: pyarrow gives up
    monkeypatch.setattr(csv_columns, "BLOCK_BYTES", 150)
    feed = CsvBarFeed(write(tmp_path, HEADER, *rows), SPEC, skip_policy="skip")
    events, error, report = assert_same(feed, 7)
    assert error is None and len(events) == 49 and report["first_lines"] == {"bad_row": [32]}


def test_a_quoted_cell_over_several_lines_takes_the_plain_rows_inside_it(
    tmp_path: Path,
) -> None:
    rows = [row + ",n" for row in plain_rows(6)]
    rows[1] = rows[1][:-1] + '"open'  # the note opens a quote on line 3 ...
    rows[3] = rows[3][:-1] + 'close"'  # ... and closes it on line 5: one record
    feed = CsvBarFeed(write(tmp_path, HEADER + ",note", *rows), SPEC)
    events, error, _ = assert_same(feed, 65_536)
    assert error is None and len(events) == 4


def sweep_lines(spec: InstrumentSpec, fmt: TimeFormat, *, readable: bool) -> list[str]:
    """Plain rows with every bad value of the tables in every column between them.

    ``readable`` leaves out the values the csv module cannot read at all
    (an error no skip policy skips), so every other row can be compared.
    """
    lines = []
    time = T0
    price = from_fixed(100 * spec.tick_size, spec.price_precision)
    volume = from_fixed(7, spec.size_precision)

    def row(cells: dict[str, str]) -> str:
        return ",".join(cells[n] for n in ("timestamp", "open", "high", "low", "close", "volume"))

    bent: list[tuple[str, str]] = [
        (column, value)
        for column in ("open", "high", "low", "close", "volume")
        for value in BAD_AMOUNTS
    ]
    bent += [("timestamp", value) for value in BAD_TIMES]
    if readable:
        bent = [(column, value) for column, value in bent if value != '"1.0"0']
    for column, value in bent:
        time += 60 * NS
        plain = {key: price for key in ("open", "high", "low", "close")}
        plain["timestamp"] = format_time(time, fmt)
        plain["volume"] = volume
        lines.append(row(plain))
        time += 60 * NS
        plain["timestamp"] = format_time(time, fmt)
        lines.append(row({**plain, column: value}))
    return lines


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.id)
def test_every_bad_value_in_every_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: InstrumentSpec, fmt: TimeFormat
) -> None:
    lines = sweep_lines(spec, fmt, readable=True)
    path = write(tmp_path, HEADER, *lines)
    events, _, report = assert_same(CsvBarFeed(path, spec, time_format=fmt, skip_policy="skip"), 7)
    assert report["rows"] == len(lines) and len(events) > len(lines) // 4
    monkeypatch.setattr(csv_columns, "BLOCK_BYTES", 256)  # bad rows at block edges
    assert_same(CsvBarFeed(path, spec, time_format=fmt, skip_policy="skip"), 65_536)
    if fmt != "iso":
        return
    lines = sweep_lines(spec, fmt, readable=False)
    for n in range(1, len(lines), 2):  # each bad row alone, failing, after a good one
        single = write(tmp_path, HEADER, *lines[: n + 1], *lines[n - 1 : n])
        assert_same(CsvBarFeed(single, spec, time_format=fmt), 65_536)
    for value in BAD_TIMES:  # as the first row, with no earlier time to be after
        first = write(tmp_path, HEADER, f"{value},{lines[0].partition(',')[2]}")
        assert_same(CsvBarFeed(first, spec, time_format=fmt, skip_policy="skip"), 65_536)


def test_without_pyarrow_the_row_reader_is_packed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = plain_rows(20)
    rows[7] = rows[7].replace("100.00", "100.01")  # off tick
    path = write(tmp_path, HEADER, *rows)
    feed = CsvBarFeed(path, SPEC, skip_policy="skip")
    with_pyarrow = outcome(columns_of(feed, 6), feed)
    for module in ("pyarrow", "pyarrow.csv", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, module, None)
    assert csv_columns.pyarrow_modules() is None
    expected = outcome(feed.rows, feed)
    seen = count_row_reads(monkeypatch)
    without = outcome(columns_of(feed, 6), feed)
    assert without == with_pyarrow == expected
    assert len(seen) == 20  # every row by the row reader
    assert without[2]["first_lines"] == {"off_tick": [9]}
    failing = CsvBarFeed(path, SPEC)
    assert outcome(columns_of(failing, 6), failing) == outcome(failing.rows, failing)


@settings(max_examples=60, deadline=None)
@given(case=bar_files(), max_rows=st.sampled_from([1, 5, 65_536]))
def test_without_pyarrow_columns_equal_the_row_reader(
    case: tuple[bytes, InstrumentSpec, TimeFormat, BarColumns, bool], max_rows: int
) -> None:
    data = case[0]
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        patch.setattr(csv_columns, "pyarrow_modules", lambda: None)
        path = Path(folder) / "bars.csv"
        path.write_bytes(data)
        for policy in ("fail", "skip"):
            assert_same(_feed(path, case, policy), max_rows)


def _feed(path: Path, case: Any, policy: str) -> CsvBarFeed:
    """The generated ``case``'s file read as a CsvBarFeed with ``policy``."""
    _, spec, fmt, columns, zoned = case
    return CsvBarFeed(
        path,
        spec,
        columns=columns,
        time_format=fmt,
        tz="UTC" if zoned else None,
        skip_policy=policy,
    )
