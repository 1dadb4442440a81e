"""Stepping against an expected trace: equal records stay in the core, the rest come back.

Runs on whichever backend ``LOCKSTEP_ENGINE`` names, so the native lane checks
the Rust core against the same statements.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.core import build_core
from lockstep.core.block import Expected, record_keys
from lockstep.core.native import encode_items
from testkit import SETUP, streams

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _trace(records: list[dict[str, Any]], lines: list[str]) -> Expected:
    return Expected(
        "".join(line + "\n" for line in lines).encode(),
        "".join(record_keys(r) + "\n" for r in records).encode(),
    )


def _reference(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    result = build_core(SETUP, backend="python").step_block(items)
    return result.records()[:], result.lines()[:]


@SETTINGS
@given(streams(max_items=25))
def test_an_equal_trace_is_verified_whole_and_nothing_comes_back(
    items: list[dict[str, Any]],
) -> None:
    records, lines = _reference(items)
    trace = _trace(records, lines)
    core = build_core(SETUP)
    result = core.step_block(encode_items(items), expect=trace)
    assert result.verified == len(lines) and not result.diverged
    assert result.lines() == []
    assert result.expect_end == (len(trace.lines), len(trace.keys))
    assert result.consumed == len(result.counts) and sum(result.counts) == len(lines)


@SETTINGS
@given(streams(max_items=25), st.data())
def test_the_first_difference_stops_the_block_and_comes_back_first(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    records, lines = _reference(items)
    if not lines:
        return
    bad = data.draw(st.integers(0, len(lines) - 1))
    column = data.draw(st.sampled_from(["record", "keys"]))
    if column == "record":
        lines[bad] = lines[bad][:-1] + " }"
    else:
        records[bad] = {**records[bad], "origin": "forged"}
    result = build_core(SETUP).step_block(items, expect=_trace(records, lines))
    assert result.diverged and result.verified == bad
    assert result.lines()[0].startswith('{"cash_deltas"')
    assert result.records()[0]["seq_id"] == records[bad]["seq_id"]
    # The block stopped right after the item holding the differing record.
    assert sum(result.counts) == bad + len(result.lines())


@SETTINGS
@given(streams(max_items=25), st.data())
def test_records_past_the_end_of_the_trace_come_back_unchecked(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    records, lines = _reference(items)
    cut = data.draw(st.integers(1, max(1, len(lines))))
    result = build_core(SETUP).step_block(items, expect=_trace(records[:cut], lines[:cut]))
    assert not result.diverged and result.verified == min(cut, len(lines))
    produced = sum(result.counts)
    assert result.lines() == lines[result.verified : produced]
    # It stops after the item that used up the trace (or at the end of the stream).
    if result.error is None and result.consumed < len(items):
        assert produced - result.counts[-1] < cut <= produced
