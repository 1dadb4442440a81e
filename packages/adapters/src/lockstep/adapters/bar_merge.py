"""Merge bar feeds into :class:`~lockstep.core.BarBlock`\\ s: the columnar form of :func:`merge_feeds`.

When every feed of a run reads bars and can hand them over as columns
(``bar_columns()``), the runtime gives the core packed blocks instead of
envelopes, and no bar becomes a Python object between the file and the core.
The blocks hold exactly the items :func:`~lockstep.adapters.merge_feeds`
would yield for the same feeds, in the same order and grouped the same way
(rows are ordered by time, then feed, then position in the feed; rows of
one time form one item): ``BarBlock.items()`` of the blocks, concatenated,
equals ``list(merge_feeds(feeds))``, which the tests hold for generated feeds.

A block never splits the rows of one time, so a group is never cut in two.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Protocol, cast

from lockstep.adapters.feeds.base import Feed
from lockstep.adapters.feeds.batch import BAR_FIELDS, BarBatch
from lockstep.adapters.merge import check_not_back_in_time
from lockstep.core import BarBlock


class BarColumnsFeed(Feed, Protocol):
    """A feed of bars that can also give them as column batches."""

    def bar_columns(self, max_rows: int = ...) -> Iterator[BarBatch]: ...


def columnar_feeds(feeds: Sequence[Feed]) -> list[BarColumnsFeed] | None:
    """``feeds`` when every one of them can give bar columns, else None (use ``merge_feeds``)."""
    if not feeds or not all(callable(getattr(f, "bar_columns", None)) for f in feeds):
        return None
    # Every feed, in order: a feed's position is its producer_index.
    return [cast(BarColumnsFeed, f) for f in feeds]


class _Pending:
    """One feed's rows read but not yet merged, and whether the feed has more."""

    __slots__ = ("batches", "columns", "exhausted", "feed", "index", "last_time", "sources")

    def __init__(self, feed: BarColumnsFeed, index: int, rows: int) -> None:
        self.feed = feed
        self.index = index
        self.batches = iter(feed.bar_columns(rows))
        self.columns: list[array[int]] = [array("q") for _ in BAR_FIELDS]
        self.last_time: int | None = None
        self.sources: tuple[str, str] = ("", "")
        self.exhausted = False

    def read_past(self, time: int | None) -> None:
        """Read batches until a row later than ``time`` (any row when None) or the end."""
        while not self.exhausted and (self.last_time is None or self.last_time == time):
            batch = next(self.batches, None)
            if batch is None:
                self.exhausted = True
                return
            self.sources = (batch.venue, batch.instrument)
            times = batch.event_time
            if len(times):
                check_not_back_in_time(self.feed.name, self.last_time, times)
                self.last_time = times[-1]
            for column, values in zip(self.columns, batch.columns(), strict=True):
                column.extend(values)

    def take(self, before: int | None) -> list[array[int]]:
        """Remove and return the pending rows with time below ``before`` (all when None)."""
        cut = len(self.columns[0]) if before is None else bisect_left(self.columns[0], before)
        taken = [column[:cut] for column in self.columns]
        self.columns = [column[cut:] for column in self.columns]
        return taken


def merge_bar_columns(feeds: Sequence[BarColumnsFeed], block_rows: int) -> Iterator[BarBlock]:
    """Blocks of about ``block_rows`` rows (more when one time has more) of the merged feeds."""
    pending = [_Pending(feed, n, block_rows) for n, feed in enumerate(feeds)]
    for feed in pending:
        feed.read_past(None)
    while live := [p for p in pending if not p.exhausted]:
        # Rows before the earliest last-read time of a feed that has more are final: no
        # feed can still produce an earlier one, or one of the same time (same group).
        horizon = min(p.last_time for p in live if p.last_time is not None)
        yield from _blocks([(p.index, p.take(horizon)) for p in pending], pending, block_rows)
        for feed in live:
            feed.read_past(horizon)
    yield from _blocks([(p.index, p.take(None)) for p in pending], pending, block_rows)


def _blocks(
    chunks: list[tuple[int, list[array[int]]]], pending: list[_Pending], block_rows: int
) -> Iterator[BarBlock]:
    """The rows of ``chunks`` (one per feed, each in time order) merged, in blocks."""
    chunks = [(index, columns) for index, columns in chunks if len(columns[0])]
    if not chunks:
        return
    sources = tuple(p.sources for p in pending)
    if len(chunks) == 1:
        index, columns = chunks[0]
        producer = array("q", [index]) * len(columns[0])
        merged = [*columns, producer]
    else:
        flat = [array("q") for _ in range(len(BAR_FIELDS) + 1)]
        for index, columns in chunks:
            for column, values in zip(flat, columns, strict=False):
                column.extend(values)
            flat[-1].extend(array("q", [index]) * len(columns[0]))
        # A stable sort on time keeps feed order, then position, among equal times.
        order = sorted(range(len(flat[0])), key=flat[0].__getitem__)
        merged = [array("q", [column[n] for n in order]) for column in flat]
    yield from _cut(merged, sources, block_rows)


def _cut(
    columns: list[array[int]], sources: tuple[tuple[str, str], ...], block_rows: int
) -> Iterator[BarBlock]:
    """``columns`` in blocks of at least ``block_rows`` rows, each ending where the time changes."""
    times = columns[0]
    start = 0
    total = len(times)
    while start < total:
        end = min(start + block_rows, total)
        if end < total:
            end = bisect_left(times, times[end - 1] + 1, lo=end - 1)
        yield BarBlock.from_columns([column[start:end] for column in columns], sources)
        start = end
