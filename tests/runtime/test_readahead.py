"""ReadAhead: same items in the same order, errors where they happened, stops when closed."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lockstep.runtime.readahead import ReadAhead


@given(st.lists(st.integers()), st.integers(1, 4))
def test_items_arrive_unchanged_and_in_order(items: list[int], depth: int) -> None:
    with ReadAhead(iter(items), depth=depth) as ahead:
        assert list(ahead) == items
        assert list(ahead) == []  # exhausted stays exhausted


def test_an_error_in_the_source_is_raised_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3 is corrupt")

    got: list[int] = []
    with ReadAhead(source()) as ahead, pytest.raises(ValueError, match="row 3 is corrupt"):
        for item in ahead:
            got.append(item)
    assert got == [1, 2]


def test_closing_early_stops_the_producer_and_closes_the_source() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            yield from itertools.count()
        finally:
            closed.set()

    ahead = ReadAhead(endless(), depth=1)
    assert next(ahead) == 0
    ahead.close()
    assert closed.wait(5)
