"""CSV bar feed: parsing, time formats and zones, every bad-input case, the skip policy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.adapters import BarColumns, CsvBarFeed, FeedError, InstrumentSpec, write_bar_csv
from lockstep.adapters.events import bar_event
from lockstep.core import InputError

SPEC = InstrumentSpec("TST", "sim", "USD", price_precision=2, size_precision=0, tick_size=5)
HEADER = "timestamp,open,high,low,close,volume"
T1 = "2024-01-02T21:00:00Z"
T2 = "2024-01-03T21:00:00Z"
T3 = "2024-01-04T21:00:00Z"


def _csv(tmp_path: Path, *lines: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _error(path: Path, **kw: object) -> FeedError:
    with pytest.raises(FeedError) as info:
        list(CsvBarFeed(path, SPEC, **kw))  # type: ignore[arg-type]
    return info.value


def test_reads_bars_as_fixed_point(tmp_path: Path) -> None:
    path = _csv(
        tmp_path, HEADER, f"{T1},100.00,101.50,99.5,101,1200", f"{T2},101.05,102,100.95,101.95,0"
    )
    events = list(CsvBarFeed(path, SPEC))
    assert [e.payload for e in events] == [
        {"open": 10000, "high": 10150, "low": 9950, "close": 10100, "volume": 1200},
        {"open": 10105, "high": 10200, "low": 10095, "close": 10195, "volume": 0},
    ]
    first = events[0]
    assert first.event_time == int(datetime(2024, 1, 2, 21, tzinfo=UTC).timestamp()) * 10**9
    assert (first.venue, first.instrument, first.event_type) == ("sim", "TST", "bar")
    assert first.envelope(3) == {
        "kind": "event",
        "seq_id": None,
        "event_time": first.event_time,
        "ingest_time": first.event_time,
        "source": "market_data",
        "venue": "sim",
        "instrument": "TST",
        "event_type": "bar",
        "payload": dict(first.payload),
        "idempotency_key": None,
        "producer_index": 3,
    }


def test_configurable_columns_delimiter_and_extra_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path, "when;symbol;o;h;l;c", "1704229200;TST;1.00;1.10;0.95;1.05")
    columns = BarColumns(time="when", open="o", high="h", low="l", close="c", volume=None)
    [event] = CsvBarFeed(path, SPEC, columns=columns, time_format="epoch_s", delimiter=";")
    assert event.event_time == 1704229200 * 10**9
    assert event.payload == {"open": 100, "high": 110, "low": 95, "close": 105, "volume": 0}


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("epoch_s", "1704229200", 1704229200 * 10**9),
        ("epoch_s", "1704229200.25", 1704229200 * 10**9 + 250_000_000),
        ("epoch_ms", "1704229200123", 1704229200123 * 10**6),
        ("epoch_us", "1704229200123456", 1704229200123456 * 10**3),
        ("epoch_ns", "1704229200123456789", 1704229200123456789),
        ("iso", "2024-01-02T21:00:00Z", 1704229200 * 10**9),
        ("iso", "2024-01-02T16:00:00-05:00", 1704229200 * 10**9),
        ("iso", "2024-01-02 21:00:00.000000001+0000", 1704229200 * 10**9 + 1),
    ],
)
def test_time_formats(tmp_path: Path, fmt: str, text: str, expected: int) -> None:
    path = _csv(tmp_path, HEADER, f"{text},1.00,1.00,1.00,1.00,1")
    [event] = CsvBarFeed(path, SPEC, time_format=fmt)
    assert event.event_time == expected


def test_naive_timestamps_use_the_configured_zone_with_dst(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER,
        "2024-03-08 16:00,1.00,1.00,1.00,1.00,1",
        "2024-03-11 16:00,1.00,1.00,1.00,1.00,1",
    )
    winter, summer = CsvBarFeed(path, SPEC, tz="America/New_York")
    assert winter.event_time == int(datetime(2024, 3, 8, 21, tzinfo=UTC).timestamp()) * 10**9
    assert summer.event_time == int(datetime(2024, 3, 11, 20, tzinfo=UTC).timestamp()) * 10**9


def test_naive_timestamp_without_zone_is_an_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER, "2024-01-02 16:00,1.00,1.00,1.00,1.00,1")
    err = _error(path)
    assert (err.file, err.line, err.field, err.kind) == (str(path), 2, "timestamp", "bad_row")
    assert "no UTC offset" in str(err) and "tz" in str(err)


def test_local_time_in_a_dst_gap_is_an_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER, "2024-03-10 02:30,1.00,1.00,1.00,1.00,1")
    err = _error(path, tz="America/New_York")
    assert err.line == 2 and "does not exist" in str(err)


def test_unknown_zone_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        CsvBarFeed(_csv(tmp_path, HEADER), SPEC, tz="Mars/Olympus")


BAD_CASES = [
    # (rows after the header, line, field, kind, words in the message)
    ([f"{T1},1.00,1.10,0.95"], 2, None, "bad_row", "4 fields"),
    (
        [f"{T1},1.00,1.10,0.95,1.05,1", "not-a-time,1.00,1.10,0.95,1.05,1"],
        3,
        "timestamp",
        "bad_row",
        "ISO-8601",
    ),
    ([f"{T1},1.00,1.10,0.95,abc,1"], 2, "close", "bad_row", "not a plain decimal"),
    ([f"{T1},1.00,1.10,0.95,1.055,1"], 2, "close", "bad_row", "more than 2 decimal places"),
    ([f"{T1},1.00,1.10,0.95,1.05,1.5"], 2, "volume", "bad_row", "decimal places"),
    ([f"{T1},0,1.10,0.00,1.05,1"], 2, "open", "bad_row", "outside the range"),
    ([f"{T1},1.00,1.10,0.95,1.05,-1"], 2, "volume", "bad_row", "outside the range"),
    ([f"{T1},1.00,1.10,0.95,1.03,1"], 2, "close", "off_tick", "tick size 0.05"),
    ([f"{T1},1.00,0.95,0.90,1.05,1"], 2, "high", "inconsistent_bar", "inconsistent"),
    ([f"{T1},1.00,1.10,1.05,1.05,1"], 2, "low", "inconsistent_bar", "inconsistent"),
    (
        [f"{T2},1.00,1.10,0.95,1.05,1", f"{T1},1.00,1.10,0.95,1.05,1"],
        3,
        "timestamp",
        "non_monotonic_time",
        "not after",
    ),
    (
        [f"{T1},1.00,1.10,0.95,1.05,1", f"{T1},1.00,1.10,0.95,1.05,1"],
        3,
        "timestamp",
        "non_monotonic_time",
        "not after",
    ),
]


@pytest.mark.parametrize(("rows", "line", "field", "kind", "words"), BAD_CASES)
def test_bad_rows_name_file_line_and_field(
    tmp_path: Path, rows: list[str], line: int, field: str | None, kind: str, words: str
) -> None:
    path = _csv(tmp_path, HEADER, *rows)
    err = _error(path)
    assert isinstance(err, InputError)
    assert (err.file, err.line, err.field, err.kind) == (str(path), line, field, kind)
    message = str(err)
    assert message.startswith(f"{path}:{line}: ")
    if field is not None:
        assert f"column {field!r}" in message
    assert words in message


def test_missing_column_names_it_and_lists_what_was_found(tmp_path: Path) -> None:
    path = _csv(tmp_path, "timestamp,open,high,low,volume", f"{T1},1.00,1.10,0.95,1")
    err = _error(path, skip_policy="skip")  # a missing column is never skippable
    assert (err.file, err.line, err.field, err.kind) == (str(path), 1, "close", "missing_column")
    assert "'timestamp', 'open'" in str(err)


def test_empty_file_and_duplicate_column(tmp_path: Path) -> None:
    empty = _csv(tmp_path, "", name="empty.csv")
    assert _error(empty).kind == "missing_column"
    twice = _csv(tmp_path, "timestamp,open,high,low,close,close,volume", name="twice.csv")
    err = _error(twice)
    assert err.field == "close" and "twice" in str(err)


def test_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "nope.csv")
    assert err.file == str(tmp_path / "nope.csv") and "cannot open" in str(err)


def test_skip_policy_counts_and_reports_every_skipped_row(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER,
        f"{T1},1.00,1.10,0.95,1.05,1",  # 2 ok
        f"{T2},1.00,1.10,0.95,1.03,1",  # 3 off tick
        f"{T1},1.00,1.10,0.95,1.05,1",  # 4 back in time
        "",  # 5 blank: no data, not a skip
        f"{T2},1.00,1.10,0.95,x,1",  # 6 bad number
        f"{T2},1.00,0.90,0.95,1.05,1",  # 7 inconsistent
        f"{T2},1.00,1.10,0.95,1.07,1",  # 8 off tick
        f"{T3},1.00,1.10,0.95,1.05,1",  # 9 ok
    )
    feed = CsvBarFeed(path, SPEC, skip_policy="skip", keep_lines=1)
    events = list(feed)
    assert [e.event_time for e in events] == sorted(e.event_time for e in events)
    assert len(events) == 2
    report = feed.skip_report
    assert report.total == 5
    assert report.counts == {
        "off_tick": 2,
        "non_monotonic_time": 1,
        "bad_row": 1,
        "inconsistent_bar": 1,
    }
    assert report.lines == {
        "off_tick": [3],
        "non_monotonic_time": [4],
        "bad_row": [6],
        "inconsistent_bar": [7],
    }
    assert "off_tick 2 (lines 3, ...)" in str(report)
    as_dict = report.to_dict()
    assert as_dict["total"] == 5 and as_dict["source"] == str(path)
    # A second pass starts a fresh report with the same verdicts.
    assert len(list(feed)) == 2 and feed.skip_report.total == 5


def test_unknown_skip_policy(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="skip_policy"):
        CsvBarFeed(_csv(tmp_path, HEADER), SPEC, skip_policy="ignore")


def test_feed_streams_rows_lazily(tmp_path: Path) -> None:
    rows = [f"{1704229200 + n * 60},1.00,1.00,1.00,1.00,1" for n in range(1000)]
    path = _csv(tmp_path, HEADER, *rows, "garbage-at-the-end")
    iterator = iter(CsvBarFeed(path, SPEC, time_format="epoch_s"))
    first = next(iterator)  # the bad last line has not been read yet
    assert first.payload["close"] == 100


def test_fingerprint_is_the_file_digest(tmp_path: Path) -> None:
    import hashlib

    path = _csv(tmp_path, HEADER, f"{T1},1.00,1.10,0.95,1.05,1")
    assert CsvBarFeed(path, SPEC).fingerprint() == hashlib.sha256(path.read_bytes()).hexdigest()


# -- round trips ---------------------------------------------------------------------------------

SPECS = [
    SPEC,
    InstrumentSpec("Z", "sim", "USD", price_precision=1, size_precision=3, tick_size=5),
    InstrumentSpec("W", "sim", "USD", price_precision=0, size_precision=0, tick_size=1),
]


@st.composite
def bar_series(draw: st.DrawFn) -> tuple[InstrumentSpec, list[tuple[int, int, int, int, int, int]]]:
    spec = draw(st.sampled_from(SPECS))
    tick = spec.tick_size
    t = draw(st.integers(0, 4_000_000_000)) * 10**9 + draw(st.integers(0, 10**9 - 1))
    bars = []
    for _ in range(draw(st.integers(1, 12))):
        t += draw(st.integers(1, 10**15))
        ticks = sorted(draw(st.lists(st.integers(1, 10**9), min_size=4, max_size=4)))
        lo, a, b, h = (x * tick for x in ticks)
        o, c = (a, b) if draw(st.booleans()) else (b, a)
        bars.append((t, o, h, lo, c, draw(st.integers(0, 10**12))))
    return spec, bars


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    series=bar_series(),
    fmt=st.sampled_from(["iso", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns"]),
    tz=st.sampled_from([None, "UTC", "America/New_York", "Asia/Kolkata"]),
)
def test_write_then_read_round_trips_exactly(
    tmp_path: Path,
    series: tuple[InstrumentSpec, list[tuple[int, int, int, int, int, int]]],
    fmt: str,
    tz: str | None,
) -> None:
    spec, rows = series
    events = [bar_event(t, spec.venue, spec.id, o, h, lo, c, v) for t, o, h, lo, c, v in rows]
    path = tmp_path / "round.csv"
    write_bar_csv(path, spec, events, time_format=fmt, tz=tz)
    first = path.read_bytes()
    assert list(CsvBarFeed(path, spec, time_format=fmt, tz=tz)) == events
    write_bar_csv(path, spec, events, time_format=fmt, tz=tz)
    assert path.read_bytes() == first
