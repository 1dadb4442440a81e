"""Blocks handed to the core are bounded in events, not items: a group counts each of its events."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lockstep.runtime.backtest import _take_events


def _item(size: int) -> dict[str, Any]:
    if size == 1:
        return {"kind": "event"}
    return {"kind": "event_group", "events": [{"kind": "event"}] * size}


def _events(item: dict[str, Any]) -> int:
    return len(item["events"]) if item["kind"] == "event_group" else 1


@given(st.lists(st.integers(1, 12), max_size=60), st.integers(1, 20))
def test_blocks_cover_the_source_in_order_and_stop_at_the_limit(
    sizes: list[int], limit: int
) -> None:
    items = [_item(n) for n in sizes]
    source = iter(items)
    blocks = []
    while block := _take_events(source, limit):
        blocks.append(block)
    assert [item for block in blocks for item in block] == items
    for n, block in enumerate(blocks):
        total = sum(_events(item) for item in block)
        # a block ends as soon as it reaches the limit: only its last item may cross it
        assert total - _events(block[-1]) < limit
        if n < len(blocks) - 1:
            assert total >= limit


def test_ten_instruments_make_blocks_of_a_tenth_as_many_items() -> None:
    source = iter([_item(10)] * 1000)
    assert len(_take_events(source, 4096)) == 410
