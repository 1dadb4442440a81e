"""Feeds without a bar are refused, and a feed may skip at most a set share of its rows.

A bar file with only a header (or a Parquet file or DataFrame with no rows)
names its file and instrument when the reading reaches its end, which for an
empty file is the first pull. :class:`SkipLimitFeed` lets a feed skip up to
``max_share`` of the rows it read, compared exactly: at the limit passes, one
row more fails, with a message that says how to raise the limit.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedkit import DAY, SPEC, T1
from lockstep.adapters import (
    DEFAULT_MAX_SKIP_SHARE,
    CsvBarFeed,
    FeedError,
    MemoryFeed,
    SkipLimitFeed,
    limit_skips,
    skip_share,
)
from lockstep.adapters.feeds import DataFrameBarFeed, ParquetBarFeed

HEADER = "timestamp,open,high,low,close,volume"


def good_line(n: int) -> str:
    return f"{T1 // 10**9 + n * 86_400},1.00,1.10,0.95,1.05,1"


def off_tick_line(n: int) -> str:
    return f"{T1 // 10**9 + n * 86_400},1.00,1.10,0.95,1.07,1"  # SPEC's tick is 0.05


def write_csv(tmp_path: Path, lines: list[str], name: str = "TST.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_feed(path: Path, **kw: Any) -> CsvBarFeed:
    return CsvBarFeed(path, SPEC, time_format="epoch_s", **kw)


def bars_csv(tmp_path: Path, rows: int, bad: set[int]) -> Path:
    """``rows`` data rows, those numbered in ``bad`` (0-based) off the tick grid."""
    return write_csv(
        tmp_path, [HEADER] + [off_tick_line(n) if n in bad else good_line(n) for n in range(rows)]
    )


# --------------------------------------------------------------------------- no bars


@pytest.mark.parametrize("body", [[], ["", "  "]], ids=["header only", "header and blanks"])
def test_a_csv_without_data_rows_is_refused_naming_file_and_instrument(
    tmp_path: Path, body: list[str]
) -> None:
    path = write_csv(tmp_path, [HEADER, *body])
    iterator = iter(csv_feed(path))
    with pytest.raises(FeedError) as info:
        next(iterator)  # the first pull, before any event
    err = info.value
    assert err.kind == "no_data" and err.file == str(path)
    assert str(err) == (
        f"{path}: instrument TST: the file has a header but no data rows; "
        "every instrument needs at least one bar"
    )


def test_a_file_without_even_a_header_still_reports_the_missing_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [""])
    with pytest.raises(FeedError) as info:
        list(csv_feed(path))
    assert info.value.kind == "missing_column" and "no header at all" in str(info.value)


def test_a_csv_whose_every_row_was_skipped_is_refused(tmp_path: Path) -> None:
    path = bars_csv(tmp_path, 3, bad={0, 1, 2})
    with pytest.raises(FeedError) as info:
        list(csv_feed(path, skip_policy="skip"))
    assert info.value.kind == "no_data"
    assert str(info.value) == (
        f"{path}: instrument TST: all 3 data rows were skipped as malformed "
        "(off_tick 3 (lines 2, 3, 4)); every instrument needs at least one bar"
    )


def test_one_bar_is_enough(tmp_path: Path) -> None:
    feed = csv_feed(write_csv(tmp_path, [HEADER, good_line(0), ""]))
    assert [e.event_time for e in feed] == [T1]
    assert feed.skip_report.rows == 1  # the blank line is not a row


def test_a_parquet_file_with_no_rows_is_refused(tmp_path: Path) -> None:
    schema = pa.schema(
        [("timestamp", pa.timestamp("ns", tz="UTC"))]
        + [(c, pa.string()) for c in ("open", "high", "low", "close")]
        + [("volume", pa.int64())]
    )
    path = tmp_path / "TST.parquet"
    pq.write_table(schema.empty_table(), path)
    feed = ParquetBarFeed(path, SPEC)
    assert feed.row_count == 0
    with pytest.raises(FeedError) as info:
        next(iter(feed))
    assert info.value.kind == "no_data"
    assert str(info.value) == (
        f"{path}: instrument TST: the file has no rows; every instrument needs at least one bar"
    )


def test_a_dataframe_with_no_rows_is_refused() -> None:
    frame = pd.DataFrame({c: [] for c in HEADER.split(",")})
    with pytest.raises(FeedError) as info:
        list(DataFrameBarFeed(frame, SPEC))
    assert info.value.kind == "no_data"
    assert str(info.value).startswith("dataframe:TST: instrument TST: the frame has no rows;")


def test_an_empty_memory_feed_is_allowed() -> None:
    feed = MemoryFeed.from_bars(SPEC, [])
    assert list(feed) == [] and feed.skip_report.rows == 0


# --------------------------------------------------------------------------- rows in the report


def test_the_skip_report_counts_the_rows_read(tmp_path: Path) -> None:
    path = bars_csv(tmp_path, 8, bad={2, 5})
    feed = csv_feed(path, skip_policy="skip")
    assert len(list(feed)) == 6
    report = feed.skip_report
    assert (report.rows, report.total) == (8, 2)
    assert report.to_dict()["rows"] == 8
    assert str(report) == f"{path}: skipped 2 of 8 rows: off_tick 2 (lines 4, 7)"


def test_parquet_and_dataframe_reports_count_rows_too(tmp_path: Path) -> None:
    closes = ["1.05", "1.07", "1.10"]  # the middle one is off the 0.05 grid
    columns: dict[str, Any] = {
        "timestamp": [T1, T1 + DAY, T1 + 2 * DAY],
        "open": ["1.00"] * 3,
        "high": ["1.10"] * 3,
        "low": ["0.95"] * 3,
        "close": closes,
        "volume": [1, 1, 1],
    }
    path = tmp_path / "TST.parquet"
    pq.write_table(pa.table(columns), path)
    parquet = ParquetBarFeed(path, SPEC, time_format="epoch_ns", skip_policy="skip")
    frame = DataFrameBarFeed(
        pd.DataFrame(columns), SPEC, time_format="epoch_ns", skip_policy="skip"
    )
    for feed in (parquet, frame):
        assert len(list(feed)) == 2
        assert (feed.skip_report.rows, feed.skip_report.total) == (3, 1)


# --------------------------------------------------------------------------- the share rule


def test_one_bad_row_in_a_hundred_passes_the_default_limit(tmp_path: Path) -> None:
    inner = csv_feed(bars_csv(tmp_path, 100, bad={40}), skip_policy="skip")
    feed = SkipLimitFeed(inner)
    assert feed.max_share == DEFAULT_MAX_SKIP_SHARE == Fraction(1, 100)
    assert len(list(feed)) == 99
    assert feed.skip_report is inner.skip_report and feed.skip_report.total == 1
    assert feed.name == inner.name and feed.fingerprint() == inner.fingerprint()


def test_two_bad_rows_in_a_hundred_fail_with_the_numbers_and_the_way_out(tmp_path: Path) -> None:
    path = bars_csv(tmp_path, 100, bad={40, 70})
    feed = SkipLimitFeed(csv_feed(path, skip_policy="skip"))
    seen = []
    with pytest.raises(FeedError) as info:
        for event in feed:
            seen.append(event)
    assert len(seen) == 98  # every good row went through; the verdict comes at the end
    err = info.value
    assert err.kind == "too_many_skipped" and err.file == str(path)
    assert str(err) == (
        f"{path}: skipped rows: 2 of 100 rows were malformed and skipped (2 %), more than the "
        "limit of 1 % of a feed's rows (max skip share 0.01): off_tick 2 (lines 42, 72). "
        "Fix the data, or raise the limit to at least 0.02 with --max-skip-share on the "
        "command line, max_skip_share in a config file or API call"
    )


def test_the_limit_applies_to_each_feed_and_to_parquet_too(tmp_path: Path) -> None:
    times = [T1 + n * DAY for n in range(10)]
    closes = ["1.05"] * 9 + ["1.07"]
    columns = {"open": ["1.00"] * 10, "high": ["1.10"] * 10, "low": ["0.95"] * 10}
    path = tmp_path / "TST.parquet"
    pq.write_table(
        pa.table({"timestamp": times, **columns, "close": closes, "volume": [1] * 10}), path
    )
    parquet = ParquetBarFeed(path, SPEC, time_format="epoch_ns", skip_policy="skip")
    assert len(list(SkipLimitFeed(parquet, "0.1"))) == 9  # 1 of 10 at a 10 % limit
    with pytest.raises(FeedError, match=r"1 of 10 rows .* \(10 %\), more than the limit of 9.99 %"):
        list(SkipLimitFeed(parquet, "0.0999"))


def test_a_feed_that_skips_nothing_passes_even_a_zero_limit(tmp_path: Path) -> None:
    feed = SkipLimitFeed(csv_feed(bars_csv(tmp_path, 5, bad=set())), 0)
    assert len(list(feed)) == 5


def test_a_strict_feed_fails_on_the_bad_row_itself_not_on_the_share(tmp_path: Path) -> None:
    path = bars_csv(tmp_path, 5, bad={1})
    with pytest.raises(FeedError) as info:
        list(SkipLimitFeed(csv_feed(path), 1))
    assert info.value.kind == "off_tick" and info.value.line == 3


def test_a_custom_feed_is_held_to_the_limit_by_what_it_yields_and_reports() -> None:
    rows = [(T1 + n * DAY, "1.00", "1.10", "0.95", "1.05", "1") for n in range(4)]
    rows[2] = (T1 + 2 * DAY, "1.00", "1.10", "0.95", "1.07", "1")
    memory = MemoryFeed.from_bars(SPEC, rows, skip_policy="skip")
    assert len(list(SkipLimitFeed(memory, "0.25"))) == 3
    with pytest.raises(FeedError, match="1 of 4 rows"):
        list(SkipLimitFeed(memory, "0.2"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.05", Fraction(1, 20)),
        (" 0.05 ", Fraction(1, 20)),
        (0.05, Fraction(1, 20)),  # the float as written, not its binary neighbour
        (Decimal("0.001"), Fraction(1, 1000)),
        (Fraction(1, 3), Fraction(1, 3)),
        (0, Fraction(0)),
        (1, Fraction(1)),
        ("1.0", Fraction(1)),
    ],
)
def test_skip_share_reads_exact_fractions(value: Any, expected: Fraction) -> None:
    assert skip_share(value) == expected


@pytest.mark.parametrize("value", ["-0.01", "1.5", 2, "5%", "abc", "", "nan", "inf", True])
def test_skip_share_refuses_anything_outside_0_to_1(value: Any) -> None:
    with pytest.raises(ValueError, match=r"must be a fraction from 0 to 1 \(0\.01 is 1 %\), got"):
        skip_share(value)


def test_limit_skips_checks_the_limit_before_reading_anything(tmp_path: Path) -> None:
    missing = csv_feed(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match=r"got '1\.01'"):
        limit_skips([missing], "1.01")
    wrapped = limit_skips([missing], Decimal("0.5"))
    assert isinstance(wrapped[0], SkipLimitFeed) and wrapped[0].max_share == Fraction(1, 2)


@given(
    rows=st.integers(min_value=2, max_value=60),
    data=st.data(),
)
def test_exactly_at_the_limit_passes_and_just_above_fails(rows: int, data: st.DataObject) -> None:
    bad = data.draw(st.sets(st.integers(0, rows - 1), min_size=1, max_size=rows - 1))
    bars = [
        (T1 + n * DAY, "1.00", "1.10", "0.95", "1.07" if n in bad else "1.05", "1")
        for n in range(rows)
    ]
    feed = MemoryFeed.from_bars(SPEC, bars, skip_policy="skip")
    share = Fraction(len(bad), rows)
    assert len(list(SkipLimitFeed(feed, share))) == rows - len(bad)
    just_below = share - Fraction(1, rows * rows * 1000)
    with pytest.raises(FeedError) as info:
        list(SkipLimitFeed(feed, just_below))
    assert info.value.kind == "too_many_skipped"
    assert f"{len(bad)} of {rows} rows" in str(info.value)
