"""DataFrame bar feed: columns or index for time, exact conversion, bad cells, skips, fingerprints."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedkit import DAY, SPEC, T1, bar_rows, bars_via_csv
from lockstep.adapters import (
    BarColumns,
    CsvBarFeed,
    FeedError,
    merge_feeds,
)
from lockstep.adapters.feeds import DataFrameBarFeed, MissingDependencyError

EXPECTED = [
    {"open": 10000, "high": 10150, "low": 9950, "close": 10100, "volume": 1200},
    {"open": 10105, "high": 10200, "low": 10095, "close": 10195, "volume": 0},
]


def frame(**columns: Any) -> pd.DataFrame:
    base: dict[str, Any] = {
        "timestamp": pd.to_datetime(["2024-01-02T21:00:00Z", "2024-01-03T21:00:00Z"], utc=True),
        "open": [100.0, 101.05],
        "high": ["101.50", "102"],
        "low": [Decimal("99.5"), Decimal("100.95")],
        "close": [101, 101.95],
        "volume": [1200, 0],
    }
    base.update(columns)
    return pd.DataFrame({k: v for k, v in base.items() if v is not None})


def error(df: pd.DataFrame, **kw: Any) -> FeedError:
    with pytest.raises(FeedError) as info:
        list(DataFrameBarFeed(df, SPEC, **kw))
    return info.value


def test_mixed_column_types_convert_exactly() -> None:
    feed = DataFrameBarFeed(frame(), SPEC)
    events = list(feed)
    assert [e.payload for e in events] == EXPECTED
    assert [e.event_time for e in events] == [T1, T1 + DAY]
    assert feed.name == "dataframe:TST" and feed.row_count == 2


@pytest.mark.parametrize(
    ("times", "kw"),
    [
        (
            pd.to_datetime(["2024-01-02 16:00", "2024-01-03 16:00"]).tz_localize(
                "America/New_York"
            ),
            {},
        ),
        (pd.to_datetime(["2024-01-02 16:00", "2024-01-03 16:00"]), {"tz": "America/New_York"}),
        (["2024-01-02T21:00:00Z", "2024-01-03T21:00:00Z"], {}),
        ([T1 // 10**9, (T1 + DAY) // 10**9], {"time_format": "epoch_s"}),
        ([T1 / 10**9, (T1 + DAY) / 10**9], {"time_format": "epoch_s"}),
    ],
)
def test_time_columns(times: Any, kw: dict[str, Any]) -> None:
    events = list(DataFrameBarFeed(frame(timestamp=times), SPEC, **kw))
    assert [e.event_time for e in events] == [T1, T1 + DAY]


def test_nanoseconds_survive() -> None:
    times = pd.to_datetime(["2024-01-02T21:00:00.000000001Z", "2024-01-03T21:00:00.123456789Z"])
    events = list(DataFrameBarFeed(frame(timestamp=times), SPEC))
    assert [e.event_time for e in events] == [T1 + 1, T1 + DAY + 123456789]


def test_time_from_a_datetime_index() -> None:
    df = frame().set_index("timestamp")
    with pytest.raises(FeedError, match="use index_time=True"):
        list(DataFrameBarFeed(df, SPEC))
    events = list(DataFrameBarFeed(df, SPEC, index_time=True))
    assert [e.payload for e in events] == EXPECTED and events[1].event_time == T1 + DAY


def test_configurable_columns_without_volume() -> None:
    df = frame(volume=None).rename(
        columns={"open": "Open", "high": "High", "low": "Low", "close": "Close"}
    )
    cols = BarColumns(open="Open", high="High", low="Low", close="Close", volume=None)
    assert [e.payload["volume"] for e in DataFrameBarFeed(df, SPEC, columns=cols)] == [0, 0]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bar_rows, st.integers(1, 7))
def test_a_frame_reads_exactly_what_csv_reads(
    tmp_path: Path, bars: list[tuple[int, int, int, int]], chunk_rows: int
) -> None:
    _, csv_path, expected = bars_via_csv(tmp_path, bars)
    df = pd.read_csv(csv_path)  # floats for prices, strings for times: what people usually have
    assert list(DataFrameBarFeed(df, SPEC, chunk_rows=chunk_rows)) == expected
    # And merged with a second instrument it behaves like any other feed.
    assert list(merge_feeds([DataFrameBarFeed(df, SPEC)])) == list(
        merge_feeds([CsvBarFeed(csv_path, SPEC)])
    )


@pytest.mark.parametrize(
    ("columns", "field", "kind", "words"),
    [
        ({"close": [101.0, 101.951]}, "close", "bad_row", "'101.951' has more than 2 decimal places"),
        ({"close": [101.0, 101.97]}, "close", "off_tick", "not a multiple of the tick size"),
        ({"open": [100.0, float("nan")]}, "open", "bad_row", "the value is missing"),
        ({"open": ["100.00", None]}, "open", "bad_row", "the value is missing"),
        ({"volume": pd.array([1, None], dtype="Int64")}, "volume", "bad_row", "the value is missing"),
        (
            {"timestamp": pd.to_datetime(["2024-01-02T21:00:00Z", None], utc=True)},
            "timestamp", "bad_row", "the timestamp is missing",
        ),
        (
            {"timestamp": pd.to_datetime(["2024-01-02T21:00:00Z", "2024-01-01T21:00:00Z"], utc=True)},
            "timestamp", "non_monotonic_time", "is not after the previous row's",
        ),
        ({"high": ["101.50", "101.00"]}, "high", "inconsistent_bar", "bar is inconsistent"),
        ({"close": [101.0, object()]}, "close", "bad_row", "expected a number or a decimal string"),
    ],
)  # fmt: skip
def test_bad_cells_name_feed_row_column_and_label(
    columns: dict[str, Any], field: str, kind: str, words: str
) -> None:
    df = frame(**columns)
    df.index = pd.Index(["first", "second"])
    err = error(df)
    assert (err.file, err.line, err.field, err.kind) == ("dataframe:TST", 2, field, kind)
    assert str(err).startswith(f"dataframe:TST:2: column {field!r}: ")
    assert words in str(err) and str(err).endswith("(index label 'second')")


def test_naive_times_need_a_zone() -> None:
    err = error(
        frame(timestamp=pd.to_datetime(["2024-01-02 16:00", "2024-01-03 16:00"])), name="acme"
    )
    assert (err.file, err.line, err.field) == ("acme", 1, "timestamp")
    assert "has no UTC offset and the feed has no time zone" in str(err)


def test_skip_policy_counts_and_reports() -> None:
    feed = DataFrameBarFeed(frame(close=[101.0, 101.951]), SPEC, skip_policy="skip")
    assert [e.payload["close"] for e in feed] == [10100]
    assert feed.skip_report.to_dict()["counts"] == {"bad_row": 1}
    assert feed.skip_report.to_dict()["first_lines"] == {"bad_row": [2]}


def test_missing_column_always_fails() -> None:
    err = error(frame(low=None), skip_policy="skip")
    assert (err.kind, err.field, err.line) == ("missing_column", "low", None)
    assert "the frame has no column 'low' for the bar's low" in str(err)


def test_fingerprint_follows_the_data() -> None:
    a = DataFrameBarFeed(frame(), SPEC).fingerprint()
    assert a == DataFrameBarFeed(frame(), SPEC, chunk_rows=1).fingerprint()
    assert a != DataFrameBarFeed(frame(volume=[1200, 1]), SPEC).fingerprint()
    assert a != DataFrameBarFeed(frame(close=[101, "101.95"]), SPEC).fingerprint()


def test_the_frame_is_read_when_iterated_not_copied() -> None:
    df = frame()
    feed = DataFrameBarFeed(df, SPEC)
    df.loc[1, "volume"] = 5
    assert [e.payload["volume"] for e in feed] == [1200, 5]


def test_arguments_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="expected a pandas DataFrame, got list"):
        DataFrameBarFeed([], SPEC)
    with pytest.raises(ValueError, match="chunk_rows must be positive"):
        DataFrameBarFeed(frame(), SPEC, chunk_rows=0)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'lockstep-adapters\[pandas\]'"):
        DataFrameBarFeed(None, SPEC)
