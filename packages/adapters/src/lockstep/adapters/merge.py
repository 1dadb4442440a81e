"""Merge several feeds into one deterministic stream of core input items.

Feeds are merged by event time; events from different feeds (or one feed)
that share a timestamp are emitted together as one ``event_group`` so the
core's sequencer, not the merge, decides their order (source priority, venue,
instrument, producer index; see ``docs/reference/ordering.md``). Each envelope's
``producer_index`` is its feed's position in the list, so the same feeds in the
same order always give the same items. The merge streams: it holds one pending
event per feed plus the current timestamp's group.
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Iterator, Sequence
from typing import Any

from lockstep.adapters.errors import NON_MONOTONIC_TIME, FeedError
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds.base import Feed


def merge_feeds(feeds: Sequence[Feed]) -> Iterator[dict[str, Any]]:
    """Yield envelopes (one event at a time) or ``event_group`` items (ties), in time order."""
    group: list[dict[str, Any]] = []
    group_time: int | None = None
    for event, index in _merged(feeds):
        if group_time is not None and event.event_time != group_time:
            yield _item(group)
            group = []
        group_time = event.event_time
        group.append(event.envelope(index))
    if group:
        yield _item(group)


def _item(envelopes: list[dict[str, Any]]) -> dict[str, Any]:
    if len(envelopes) == 1:
        return envelopes[0]
    return {"kind": "event_group", "events": envelopes}


def _merged(feeds: Sequence[Feed]) -> Iterator[tuple[MarketEvent, int]]:
    """K-way merge on (time, feed index, position in feed): total and deterministic."""
    iterators = [iter(feed) for feed in feeds]
    heap: list[tuple[int, int, int, MarketEvent]] = []
    counters = [0] * len(iterators)
    for index, iterator in enumerate(iterators):
        _push(heap, iterators, counters, index, iterator, None, feeds)
    while heap:
        _, index, _, event = heapq.heappop(heap)
        yield event, index
        _push(heap, iterators, counters, index, iterators[index], event.event_time, feeds)


def _push(
    heap: list[tuple[int, int, int, MarketEvent]],
    iterators: list[Iterator[MarketEvent]],
    counters: list[int],
    index: int,
    iterator: Iterator[MarketEvent],
    previous: int | None,
    feeds: Sequence[Feed],
) -> None:
    event = next(iterator, None)
    if event is None:
        return
    if previous is not None and event.event_time < previous:
        check_not_back_in_time(feeds[index].name, previous, (event.event_time,))
    counters[index] += 1
    heapq.heappush(heap, (event.event_time, index, counters[index], event))


def check_not_back_in_time(name: str, previous: int | None, times: Sequence[int]) -> None:
    """Refuse a feed whose next ``times`` (after ``previous``) are not in time order.

    Feeds check their own order, but the merge is what relies on it, so it
    holds every feed to it, bar files and hand-written feeds alike.
    """
    if not times:
        return
    if (previous is None or previous <= times[0]) and all(map(operator.le, times, times[1:])):
        return
    last = previous
    for time in times:
        if last is not None and time < last:
            raise FeedError.at(
                name,
                None,
                None,
                NON_MONOTONIC_TIME,
                f"feed went back in time: {time} ns after {last} ns",
            )
        last = time
