"""Parquet bar feed: typed columns to exact fixed point, streaming, every bad-input case, skips."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedkit import DAY, SPEC, T1, bar_rows, bars_via_csv
from lockstep.adapters import BarColumns, FeedError
from lockstep.adapters.feeds import MissingDependencyError, ParquetBarFeed


def table(**columns: Any) -> pa.Table:
    base: dict[str, Any] = {
        "timestamp": pa.array([T1, T1 + DAY, T1 + 2 * DAY], pa.timestamp("ns", tz="UTC")),
        "open": ["100.00", "101.05", "102.00"],
        "high": ["101.50", "102.00", "103.00"],
        "low": ["99.50", "100.95", "101.00"],
        "close": ["101.00", "101.95", "102.50"],
        "volume": [1200, 0, 7],
    }
    base.update(columns)
    return pa.table({k: v for k, v in base.items() if v is not None})


def write(tmp_path: Path, data: pa.Table, name: str = "bars.parquet", **kw: Any) -> Path:
    path = tmp_path / name
    pq.write_table(data, path, **kw)
    return path


def error(path: Path, **kw: Any) -> FeedError:
    with pytest.raises(FeedError) as info:
        list(ParquetBarFeed(path, SPEC, **kw))
    return info.value


EXPECTED = [
    {"open": 10000, "high": 10150, "low": 9950, "close": 10100, "volume": 1200},
    {"open": 10105, "high": 10200, "low": 10095, "close": 10195, "volume": 0},
    {"open": 10200, "high": 10300, "low": 10100, "close": 10250, "volume": 7},
]


@pytest.mark.parametrize(
    "prices",
    [
        {},  # decimal strings
        {  # decimal128
            "open": pa.array(
                [Decimal("100.00"), Decimal("101.05"), Decimal("102")], pa.decimal128(12, 2)
            ),
            "close": pa.array(
                [Decimal("101"), Decimal("101.95"), Decimal("102.50")], pa.decimal128(12, 3)
            ),
        },
        {"high": [101.5, 102.0, 103.0], "low": [99.5, 100.95, 101.0]},  # floats, read by repr
        {"high": pa.array([101.5, 102, 103], pa.float32())},  # float32 values that are exact
    ],
)
def test_typed_price_columns_convert_exactly(tmp_path: Path, prices: dict[str, Any]) -> None:
    feed = ParquetBarFeed(write(tmp_path, table(**prices)), SPEC)
    events = list(feed)
    assert [e.payload for e in events] == EXPECTED
    assert [e.event_time for e in events] == [T1, T1 + DAY, T1 + 2 * DAY]
    assert (events[0].venue, events[0].instrument, events[0].event_type) == ("sim", "TST", "bar")
    assert feed.row_count == 3 and feed.skip_report.total == 0


@pytest.mark.parametrize(
    ("column", "kw"),
    [
        (
            pa.array(
                [T1 // 1000, (T1 + DAY) // 1000, (T1 + 2 * DAY) // 1000],
                pa.timestamp("us", tz="Europe/Berlin"),
            ),
            {},
        ),
        (
            pa.array(
                [T1 // 10**9, (T1 + DAY) // 10**9, (T1 + 2 * DAY) // 10**9],
                pa.timestamp("s", tz="UTC"),
            ),
            {},
        ),
        (["2024-01-02T21:00:00Z", "2024-01-03T16:00:00-05:00", "2024-01-04 21:00:00+00:00"], {}),
        ([T1 // 10**6, (T1 + DAY) // 10**6, (T1 + 2 * DAY) // 10**6], {"time_format": "epoch_ms"}),
        (["2024-01-02 16:00", "2024-01-03 16:00", "2024-01-04 16:00"], {"tz": "America/New_York"}),
        (  # naive Arrow timestamps are wall-clock times in the feed's zone
            pa.array([T1 - 5 * 3600 * 10**9 + n * DAY for n in range(3)], pa.timestamp("ns")),
            {"tz": "America/New_York"},
        ),
    ],
)
def test_time_columns(tmp_path: Path, column: Any, kw: dict[str, Any]) -> None:
    path = write(tmp_path, table(timestamp=column))
    assert [e.event_time for e in ParquetBarFeed(path, SPEC, **kw)] == [T1, T1 + DAY, T1 + 2 * DAY]


def test_date_column_is_midnight_in_the_zone(tmp_path: Path) -> None:
    dates = pa.array([date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)], pa.date32())
    [first, *_] = ParquetBarFeed(write(tmp_path, table(timestamp=dates)), SPEC, tz="UTC")
    assert first.event_time == 1704153600 * 10**9


def test_configurable_columns_and_no_volume(tmp_path: Path) -> None:
    data = table().rename_columns(["when", "o", "h", "l", "c", "v"]).drop_columns(["v"])
    data = data.append_column("symbol", pa.array(["TST"] * 3))
    cols = BarColumns(time="when", open="o", high="h", low="l", close="c", volume=None)
    events = list(ParquetBarFeed(write(tmp_path, data), SPEC, columns=cols))
    assert [e.payload["volume"] for e in events] == [0, 0, 0]
    assert events[2].payload["close"] == 10250


def test_streams_in_batches_and_never_reads_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 1000
    data = table(
        timestamp=pa.array([T1 + n * 60 * 10**9 for n in range(rows)], pa.timestamp("ns", tz="UTC")),
        open=["1.00"] * rows, high=["1.00"] * rows, low=["1.00"] * rows, close=["1.00"] * rows,
        volume=[1] * rows,
    )  # fmt: skip
    path = write(tmp_path, data, row_group_size=100)
    batches: list[int] = []
    real = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Any:
        for batch in real(self, *args, **kwargs):
            batches.append(batch.num_rows)
            yield batch

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the feed must not read the whole file")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    monkeypatch.setattr(pq.ParquetFile, "read", refuse)
    monkeypatch.setattr(pq, "read_table", refuse)
    feed = ParquetBarFeed(path, SPEC, batch_size=64)
    iterator = iter(feed)
    next(iterator)
    assert batches == [64]  # the first event needs only the first batch
    assert sum(1 for _ in iterator) == rows - 1
    assert sum(batches) == rows and max(batches) <= 64


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bar_rows, st.integers(1, 7))
def test_parquet_reads_exactly_what_csv_reads(
    tmp_path: Path, bars: list[tuple[int, int, int, int]], batch_size: int
) -> None:
    """The same bars written as CSV and as Parquet (strings, decimals, floats) give equal events."""
    events, _, expected = bars_via_csv(tmp_path, bars)
    text = {
        k: [str(SPEC.price_decimal(e.payload[k])) for e in events]
        for k in ("open", "high", "low", "close")
    }
    data = table(
        timestamp=pa.array([e.event_time for e in events], pa.timestamp("ns", tz="UTC")),
        open=text["open"],
        high=pa.array([Decimal(t) for t in text["high"]], pa.decimal128(18, 2)),
        low=[float(t) for t in text["low"]],
        close=text["close"],
        volume=[e.payload["volume"] for e in events],
    )
    path = write(tmp_path, data, name="bars.parquet", row_group_size=3)
    assert list(ParquetBarFeed(path, SPEC, batch_size=batch_size)) == expected


@pytest.mark.parametrize(
    ("columns", "row", "field", "kind", "words"),
    [
        ({"close": ["101.00", "101.97", "102.50"]}, 2, "close", "off_tick", "not a multiple of the tick size"),
        ({"close": ["101.00", "101.955", "102.50"]}, 2, "close", "bad_row", "more than 2 decimal places"),
        ({"low": [99.5, 0.1 + 0.2, 101.0]}, 2, "low", "bad_row", "'0.30000000000000004' has more than 2"),
        ({"open": ["100.00", None, "102.00"]}, 2, "open", "bad_row", "the value is missing"),
        ({"high": [101.5, float("nan"), 103.0]}, 2, "high", "bad_row", "the value is missing"),
        ({"high": [101.5, float("inf"), 103.0]}, 2, "high", "bad_row", "inf is not a finite number"),
        ({"close": ["101.00", "abc", "102.50"]}, 2, "close", "bad_row", "'abc' is not a plain decimal"),
        ({"volume": [1, -3, 2]}, 2, "volume", "bad_row", "outside the range"),
        ({"high": ["101.50", "101.00", "103.00"]}, 2, "high", "inconsistent_bar", "bar is inconsistent"),
        (
            {"timestamp": pa.array([T1, T1, T1 + DAY], pa.timestamp("ns", tz="UTC"))},
            2, "timestamp", "non_monotonic_time", "is not after the previous row's",
        ),
        (
            {"timestamp": pa.array([T1, None, T1 + DAY], pa.timestamp("ns", tz="UTC"))},
            2, "timestamp", "bad_row", "the timestamp is missing",
        ),
        (
            {"timestamp": ["2024-01-02T21:00:00Z", "yesterday", "2024-01-04T21:00:00Z"]},
            2, "timestamp", "bad_row", "'yesterday' is not an ISO-8601 timestamp",
        ),
        (
            {"timestamp": pa.array([T1, T1 + DAY, T1 + 2 * DAY], pa.timestamp("ns"))},
            1, "timestamp", "bad_row", "has no UTC offset and the feed has no time zone",
        ),
        ({"open": [True, False, True]}, 1, "open", "bad_row", "expected a number, got the boolean True"),
    ],
)  # fmt: skip
def test_bad_cells_name_file_row_and_column(
    tmp_path: Path, columns: dict[str, Any], row: int, field: str, kind: str, words: str
) -> None:
    path = write(tmp_path, table(**columns))
    err = error(path)
    assert (err.file, err.line, err.field, err.kind) == (str(path), row, field, kind)
    assert str(err).startswith(f"{path}:{row}: column {field!r}: ")
    assert words in str(err), str(err)


def test_skip_policy_counts_and_reports(tmp_path: Path) -> None:
    path = write(tmp_path, table(close=["101.00", "101.97", "x"]))
    feed = ParquetBarFeed(path, SPEC, skip_policy="skip")
    assert [e.payload["close"] for e in feed] == [10100]
    report = feed.skip_report.to_dict()
    assert report["total"] == 2
    assert report["counts"] == {"bad_row": 1, "off_tick": 1}
    assert report["first_lines"] == {"bad_row": [3], "off_tick": [2]}
    assert list(feed) and feed.skip_report.total == 2  # a second pass starts a fresh report


def test_missing_or_doubled_column_always_fails(tmp_path: Path) -> None:
    path = write(tmp_path, table(volume=None))
    err = error(path, skip_policy="skip")
    assert (err.kind, err.field, err.line) == ("missing_column", "volume", None)
    assert "the file has no column 'volume' for the bar's volume (found 'timestamp', 'open'" in str(
        err
    )
    assert str(err).startswith(f"{path}: column 'volume': ")


def test_unreadable_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet at all")
    assert "cannot read as Parquet" in str(error(junk))
    missing = tmp_path / "missing.parquet"
    assert str(error(missing)) == f"{missing}: row: cannot open: no such file"
    with pytest.raises(FeedError, match="cannot open"):
        ParquetBarFeed(missing, SPEC).fingerprint()


def test_fingerprint_is_the_file_bytes(tmp_path: Path) -> None:
    a = ParquetBarFeed(write(tmp_path, table(), name="a.parquet"), SPEC)
    b = ParquetBarFeed(write(tmp_path, table(), name="b.parquet"), SPEC)
    c = ParquetBarFeed(write(tmp_path, table(volume=[1, 2, 3]), name="c.parquet"), SPEC)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="batch_size must be positive"):
        ParquetBarFeed("x.parquet", SPEC, batch_size=0)
    with pytest.raises(ValueError, match="skip_policy"):
        ParquetBarFeed("x.parquet", SPEC, skip_policy="ignore")


def test_without_pyarrow_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingDependencyError) as info:
        ParquetBarFeed("x.parquet", SPEC)
    assert str(info.value) == (
        "reading Parquet files needs the optional package 'pyarrow', which is not installed; "
        "install it with: pip install 'lockstep-adapters[parquet]'"
    )
    assert isinstance(info.value, ImportError)
