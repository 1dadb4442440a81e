"""The columnar merge gives the items ``merge_feeds`` gives, packed as bar blocks."""

from __future__ import annotations

from array import array
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.adapters import FeedError, MemoryFeed, merge_feeds
from lockstep.adapters.bar_merge import columnar_feeds, merge_bar_columns
from lockstep.adapters.events import MarketEvent, bar_event
from lockstep.adapters.feeds.base import SkipReport
from lockstep.adapters.feeds.batch import BarBatch
from lockstep.adapters.feeds.skiplimit import limit_skips


class _ColumnFeed:
    """Bars as given (unchecked, so the merge's own checks show), also packed in batches."""

    def __init__(self, events: list[MarketEvent], batch: int, name: str) -> None:
        self.events = events
        self.batch = batch
        self.name = name
        self.skip_report = SkipReport(name)

    def __iter__(self) -> Iterator[MarketEvent]:
        return iter(self.events)

    def fingerprint(self) -> str:
        return self.name

    def bar_columns(self, max_rows: int = 65536) -> Iterator[BarBatch]:
        step = min(self.batch, max_rows)
        for start in range(0, max(len(self.events), 1), step):
            chunk = self.events[start : start + step]
            yield BarBatch(
                "SIM",
                self.events[0].instrument if self.events else "X",
                *(
                    array("q", [e.event_time if f == "t" else e.payload[f] for e in chunk])
                    for f in ("t", "open", "high", "low", "close", "volume")
                ),
            )


def _feed(index: int, times: list[int], batch: int) -> _ColumnFeed:
    name = f"I{index}"
    events = [bar_event(t, "SIM", name, 10 + n, 12 + n, 9, 11, n) for n, t in enumerate(times)]
    return _ColumnFeed(events, batch, f"memory:{name}")


feeds_strategy = st.lists(
    st.tuples(
        st.lists(st.integers(0, 40), max_size=30).map(sorted),
        st.integers(1, 7),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(feeds_strategy, st.integers(1, 9))
def test_blocks_hold_the_items_merge_feeds_gives(
    spec: list[tuple[list[int], int]], block_rows: int
) -> None:
    feeds = [_feed(n, times, batch) for n, (times, batch) in enumerate(spec)]
    expected = list(merge_feeds(feeds))
    blocks = list(merge_bar_columns(feeds, block_rows))
    assert [item for block in blocks for item in block.items()] == expected
    for block in blocks:
        times = block.columns()[0]
        assert block.rows > 0
        # A block never splits the rows of one time: the next block starts later.
        assert list(times) == sorted(times)
    starts = [b.columns()[0][0] for b in blocks]
    ends = [b.columns()[0][-1] for b in blocks]
    assert all(end < start for end, start in zip(ends, starts[1:], strict=False))


def test_a_feed_going_back_in_time_is_refused_as_merge_feeds_refuses_it() -> None:
    feed = _feed(0, [5, 9, 7], 2)
    with pytest.raises(FeedError) as by_events:
        list(merge_feeds([feed]))
    with pytest.raises(FeedError) as by_columns:
        list(merge_bar_columns([feed], 4))
    assert str(by_columns.value) == str(by_events.value)
    assert "7 ns after 9 ns" in str(by_columns.value)


def test_only_feeds_that_all_give_columns_are_merged_as_columns() -> None:
    plain = MemoryFeed([bar_event(1, "SIM", "A", 1, 1, 1, 1, 0)])
    columnar = _feed(1, [1, 2], 2)
    assert columnar_feeds([columnar]) == [columnar]
    assert columnar_feeds([columnar, plain]) is None
    assert columnar_feeds([]) is None
    wrapped = limit_skips([columnar, plain])
    assert callable(getattr(wrapped[0], "bar_columns", None))
    assert not hasattr(wrapped[1], "bar_columns")
    blocks = list(merge_bar_columns(columnar_feeds(wrapped[:1]) or [], 8))
    assert [i for b in blocks for i in b.items()] == list(merge_feeds([columnar]))
