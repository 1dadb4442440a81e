"""Shared pieces of the feed tests: one instrument, and bars that went through CSV.

The Parquet and DataFrame feeds are both checked against the CSV feed on the
same generated bars; the generator and the CSV round trip live here once.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from lockstep.adapters import CsvBarFeed, InstrumentSpec, MarketEvent, write_bar_csv
from lockstep.adapters.events import bar_event

SPEC = InstrumentSpec("TST", "sim", "USD", price_precision=2, size_precision=0, tick_size=5)
T1 = 1704229200 * 10**9  # 2024-01-02T21:00:00Z
DAY = 86_400 * 10**9

BarRow = tuple[int, int, int, int]
"""(open in ticks, ticks up to the high, ticks down to the low, volume)."""

bar_rows = st.lists(
    st.tuples(st.integers(1, 5000), st.integers(0, 40), st.integers(0, 40), st.integers(0, 99)),
    min_size=1,
    max_size=30,
)


def bars_via_csv(
    tmp_path: Path, rows: list[BarRow]
) -> tuple[list[MarketEvent], Path, list[MarketEvent]]:
    """Daily bars of SPEC for ``rows``, written as CSV: (events, csv path, what CsvBarFeed reads)."""
    events = [
        bar_event(T1 + n * DAY, "sim", "TST", 5 * o, 5 * (o + up), 5 * max(1, o - down), 5 * o, v)
        for n, (o, up, down, v) in enumerate(rows)
    ]
    csv_path = tmp_path / "bars.csv"
    write_bar_csv(csv_path, SPEC, events)
    return events, csv_path, list(CsvBarFeed(csv_path, SPEC))
