"""Bar blocks on the rust backend: packed columns give what their envelopes give.

``NativeCore.open_bars(block)`` hands the core a :class:`BarBlock` as packed
int64 columns; the core reads the rows without building an envelope, except
for rows it cannot plainly accept, which it refuses through the envelope
checks. Every run must therefore give exactly what
``open_block(block.items(), item_lines=True)`` gives on the same core:
the same records, wake-ups, checkpoint hashes, item lines and refusals.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.core import InputError, build_core
from lockstep.core.bars import BarBlock
from lockstep.core.block import BlockResult, WakeSpec
from lockstep.core.canonical import canonical_json_unchecked
from lockstep.core.native import NativeCore
from testkit import SETUP, T0, batch, place

FUZZ = settings(
    max_examples=int(os.environ.get("LOCKSTEP_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

VALID_SOURCES = [("SIM", "AAA"), ("SIM", "BBB"), ("EXT", "CCC")]
REFUSED_SOURCES = [("SIM", "CCC"), ("SIM", "ZZZ"), ("S M", "AAA"), ("SIM", "é"), ("SIM", "")]
"""Not listed on that venue, unknown, and not identifiers: each refused at its first bar."""

EDGES = [-(2**63), -1, 0, 1, 2**63 - 1]
WAKES = [
    None,
    WakeSpec(frozenset({"bar"}), instruments=("AAA",)),
    WakeSpec(frozenset({"bar", "timer"}), instruments=("BBB", "CCC"), fills=True),
    WakeSpec(frozenset({"timer"}), transitions=True),
]


def rust_core() -> NativeCore:
    core = build_core(SETUP, backend="rust")
    assert isinstance(core, NativeCore)
    return core


@st.composite
def bar_blocks(draw: st.DrawFn) -> BarBlock:
    """1-3 sources, times that repeat (groups), now and then a value or a source to refuse."""
    sources = draw(
        st.lists(
            st.sampled_from(VALID_SOURCES * 6 + REFUSED_SOURCES),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    columns: list[list[int]] = [[] for _ in range(7)]
    t = T0
    for _ in range(draw(st.integers(0, 40))):
        t += draw(st.sampled_from([0, 0, 1, 7, 2_500, 30_000_000_000_000]))
        low = draw(st.integers(1, 10_000))
        high = low + draw(st.integers(0, 500))
        row = [
            t,
            draw(st.integers(low, high)),
            high,
            low,
            draw(st.integers(low, high)),
            draw(st.integers(0, 10**6)),
            draw(st.integers(0, len(sources) - 1)),
        ]
        if draw(st.integers(0, 24)) == 0:
            column = draw(st.integers(0, 5))
            value = row[column]
            row[column] = draw(st.sampled_from([*EDGES, value - 1, value + 1, -value]))
        for column_values, value in zip(columns, row, strict=True):
            column_values.append(value)
    return BarBlock.from_columns(columns, sources)


def same_result(bars: BlockResult, items: BlockResult) -> None:
    assert (bars.consumed, bars.counts, bars.woke) == (items.consumed, items.counts, items.woke)
    assert bars.lines() == items.lines()
    assert bars.state_hashes == items.state_hashes
    assert type(bars.error) is type(items.error)
    if items.error is not None:  # bars are refused for their values or their timeline
        assert isinstance(bars.error, InputError) and isinstance(items.error, InputError)
        assert (bars.error.path, bars.error.reason) == (items.error.path, items.error.reason)
    # A JSON-lines run that commits nothing hands back no item lines at all.
    assert (bars.per_item_lines() or None) == (items.per_item_lines() or None)


@FUZZ
@given(
    block=bar_blocks(),
    wake=st.sampled_from(WAKES),
    orders=st.booleans(),
    item_lines=st.booleans(),
)
def test_a_bar_block_runs_as_its_envelopes(
    block: BarBlock, wake: WakeSpec | None, orders: bool, item_lines: bool
) -> None:
    """Run after run, resuming until the block is done or an item is refused."""
    by_bars, by_items = rust_core(), rust_core()
    if orders:  # resting orders, so bars make fills and transitions too
        opening = batch(
            T0,
            place("o1", qty=5, order_type="limit", price=5_000),
            place("o2", side="sell", qty=3, order_type="stop", stop_price=9_000),
            place("o3", instrument="CCC", order_type="limit", price=4_000),
        )
        by_bars.step(opening)
        by_items.step(opening)
    bars = by_bars.open_bars(block, item_lines=item_lines)
    items = by_items.open_block(block.items(), item_lines=True)
    hash_at = range(0, 200, 3)
    runs = 0
    while True:
        crossings = by_bars.crossings
        got, expected = bars.run(wake, hash_at), items.run(wake, hash_at)
        assert by_bars.crossings == crossings + 1
        if item_lines:
            assert got.per_item_lines() is not None
        else:
            assert got.per_item_lines() is None
            expected._item_lines = None
        same_result(got, expected)
        runs += 1
        if not got.woke:
            break
    if expected.error is not None:  # the next run meets the refused item again
        same_result(bars.run(wake, hash_at), items.run(wake, hash_at))
    elif wake is None:
        assert runs == 1
    assert by_bars.state_hash() == by_items.state_hash()
    assert by_bars.last_hash == by_items.last_hash


def test_item_lines_are_the_canonical_json_of_the_items() -> None:
    """Groups keep their rows' order (not the commit order) in their line."""
    block = BarBlock.from_columns(
        [
            [T0, T0, T0 + 1, T0 + 2, T0 + 2, T0 + 2],
            [100, 200, 100, 100, 100, 100],
            [110, 210, 110, 110, 110, 110],
            [90, 190, 90, 90, 90, 90],
            [105, 205, 105, 105, 105, 105],
            [1, 2, 3, 4, 5, 6],
            [1, 0, 0, 2, 1, 0],
        ],
        [("SIM", "AAA"), ("SIM", "BBB"), ("EXT", "CCC")],
    )
    core = rust_core()
    result = core.open_bars(block, item_lines=True).run()
    assert result.error is None and result.counts == [2, 1, 3]
    per_item = result.per_item_lines()
    assert per_item is not None
    assert [line for line, _ in per_item] == [
        canonical_json_unchecked(item).decode() for item in block.items()
    ]
    first_group = [e["instrument"] for e in block.items()[0]["events"]]
    assert first_group == ["BBB", "AAA"]
    assert [r["input"]["instrument"] for r in result.records()[:2]] == ["AAA", "BBB"]


def test_a_long_block_crosses_once_and_a_wake_resumes_at_its_row() -> None:
    n = 5_000
    block = BarBlock.from_columns(
        [
            [T0 + k for k in range(n)],
            [100] * n,
            [101] * n,
            [99] * n,
            [100] * n,
            [10] * n,
            [1 if k % 1000 == 999 else 0 for k in range(n)],
        ],
        [("SIM", "AAA"), ("SIM", "BBB")],
    )
    core = rust_core()
    start = core.crossings
    result = core.open_bars(block).run()
    assert result.consumed == n and result.error is None
    assert core.crossings == start + 1
    core = rust_core()
    cursor = core.open_bars(block)
    wake = WakeSpec(frozenset({"bar"}), instruments=("BBB",))
    consumed = [cursor.run(wake).consumed for _ in range(6)]
    assert consumed == [1000, 1000, 1000, 1000, 1000, 0]


def test_a_row_without_a_source_is_refused_at_its_producer_index() -> None:
    """A :class:`BarBlock` cannot hold one; the core still refuses it by itself."""
    core = rust_core()
    good = BarBlock.from_columns(
        [[T0, T0 + 1, T0 + 1], [100] * 3, [101] * 3, [99] * 3, [100] * 3, [1] * 3, [0, 0, 2]],
        [("SIM", "AAA"), ("SIM", "BBB"), ("EXT", "CCC")],
    )
    consumed, end_row, counts, _, _, woke, error, _, lines = core._native.step_bars(
        good.data, good.rows, good.sources[:2], item_lines=True
    )
    assert (consumed, end_row, counts, woke) == (1, 1, [1], False)
    assert error == (
        1,
        "InputError",
        "$.events[1].producer_index",
        "expected the index of one of the bar block's 2 sources, got 2",
    )
    assert lines == canonical_json_unchecked(good.items()[0]) + b"\n"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((b"\0" * 55, 1, []), "a bar block of 1 rows holds 56 bytes, not 55"),
        ((b"", 0, [], None, [], 1), "bar block start row 1 is beyond its 0 rows"),
    ],
)
def test_a_malformed_block_is_refused_whole(args: tuple[Any, ...], reason: str) -> None:
    core = rust_core()
    with pytest.raises(InputError) as refused:
        core._call(core._native.step_bars, *args)
    assert (refused.value.path, refused.value.reason) == ("$", reason)
    assert core.last_seq_id == 0
