"""Parity: the rust backend gives byte-identical traces, errors and state to the Python core."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.contracts.golden import TRACE_FILE, list_cases, load_case
from lockstep.core import InputError, SequenceError, build_core
from lockstep.core.block import Expected, WakeSpec, record_keys
from lockstep.core.canonical import canonical_json_unchecked
from lockstep.core.native import NativeCore, encode_items
from parity_kit import run_both, save_failure
from testkit import SETUP, T0, bar, batch, place, streams

CASES = list_cases()
FUZZ = settings(
    max_examples=int(os.environ.get("LOCKSTEP_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("name", CASES)
def test_every_golden_case_is_byte_identical_on_rust(name: str) -> None:
    """The whole case in one block: the trace file's bytes and the expected state."""
    case = load_case(name)
    core = build_core(copy.deepcopy(case.setup), backend="rust")
    assert isinstance(core, NativeCore)
    result = core.step_block(case.inputs)
    assert result.error is None and result.consumed == len(case.inputs)
    trace = "".join(line + "\n" for line in result.lines())
    assert trace == (case.path / TRACE_FILE).read_text()
    assert core.snapshot() == case.expected_state
    assert core.crossings == 3  # construction, the block, the snapshot


@FUZZ
@given(streams(max_items=30))
def test_random_streams_agree_record_for_record(items: list[dict[str, Any]]) -> None:
    _, _, difference = run_both(SETUP, items)
    if difference:
        saved = save_failure(SETUP, items, difference)
        pytest.fail(f"backends diverge ({difference}); stream saved as {saved}")


@FUZZ
@given(streams(max_items=30))
def test_blocks_agree_with_single_steps(items: list[dict[str, Any]]) -> None:
    """One crossing for the whole stream gives what per-item steps give."""
    python, rust = build_core(SETUP, backend="python"), build_core(SETUP, backend="rust")
    assert isinstance(rust, NativeCore)
    wake = WakeSpec(frozenset({"bar", "timer"}), instruments=("AAA",), fills=True)
    offset = 0
    while offset < len(items):
        before = rust.crossings
        expected = python.step_block(items[offset:], wake=wake, hash_at=range(0, 500, 3))
        actual = rust.step_block(encode_items(items[offset:]), wake=wake, hash_at=range(0, 500, 3))
        assert rust.crossings == before + 1
        assert (actual.consumed, actual.counts, actual.woke) == (
            expected.consumed,
            expected.counts,
            expected.woke,
        )
        assert actual.lines() == expected.lines()
        assert actual.state_hashes == expected.state_hashes
        assert type(actual.error) is type(expected.error)
        assert getattr(actual.error, "path", None) == getattr(expected.error, "path", None)
        offset += actual.consumed + (1 if actual.error is not None else 0)
    assert rust.state_hash() == python.state_hash()


def test_errors_keep_their_python_types_and_paths() -> None:
    core = build_core(SETUP, backend="rust")
    core.step(bar(T0 + 10, 100, 101, 99, 100))
    with pytest.raises(SequenceError) as late:
        core.step(bar(T0, 100, 101, 99, 100))
    assert late.value.path == "$.event_time"
    with pytest.raises(InputError) as bad:
        core.step({**bar(T0 + 20, 100, 101, 99, 100), "payload": {"open": 1}})
    assert bad.value.path.startswith("$.payload")
    assert core.last_seq_id == 1  # refused items changed nothing


def test_a_block_stops_at_a_refused_item_and_keeps_the_prefix() -> None:
    core = build_core(SETUP, backend="rust")
    items = [bar(T0 + n, 100, 101, 99, 100) for n in range(5)]
    items[3] = bar(T0 - 1, 100, 101, 99, 100)
    result = core.step_block(items)
    assert result.consumed == 3 and isinstance(result.error, SequenceError)
    assert core.last_seq_id == 3


def test_a_backtest_block_crosses_once_per_wake() -> None:
    """Only bars of AAA wake the strategy; BBB bars ride along in the same crossing."""
    core = build_core(SETUP, backend="rust")
    assert isinstance(core, NativeCore)
    items = []
    for n in range(100):
        instrument = "AAA" if n % 10 == 9 else "BBB"
        items.append(bar(T0 + n, 100, 101, 99, 100, instrument=instrument))
    wake = WakeSpec(frozenset({"bar"}), instruments=("AAA",))
    start, blocks = core.crossings, 0
    remaining = items
    while remaining:
        result = core.step_block(remaining, wake=wake)
        blocks += 1
        remaining = remaining[result.consumed :]
    assert blocks == 10
    assert core.crossings - start == 10


def test_snapshot_and_restore_cross_between_backends() -> None:
    python, rust = build_core(SETUP, backend="python"), build_core(SETUP, backend="rust")
    items = [batch(T0, place("o1", qty=5)), bar(T0 + 1, 100, 101, 99, 100)]
    python.apply_many(items)
    rust.restore(python.snapshot())
    assert rust.state_hash() == python.state_hash()
    assert rust.snapshot() == python.snapshot()
    later = bar(T0 + 2, 100, 102, 98, 101)
    assert rust.step(later) == python.step(later)


def _expected_trace(lines: list[str], cut: int, flip: int | None) -> Expected:
    """The trace of ``lines`` up to ``cut`` records, with record ``flip`` altered by one byte."""
    kept = lines[:cut]
    keys = [record_keys(json.loads(line)) for line in kept]
    if flip is not None and flip < len(kept):
        kept[flip] = kept[flip].replace('"seq_id":', '"seq_id": ', 1)
    return Expected(
        "".join(x + "\n" for x in kept).encode(), "".join(k + "\n" for k in keys).encode()
    )


@FUZZ
@given(streams(max_items=30), st.integers(0, 200), st.none() | st.integers(0, 200))
def test_checking_against_a_trace_agrees(
    items: list[dict[str, Any]], cut: int, flip: int | None
) -> None:
    """Both cores verify, stop and hand back the unmatched records alike."""
    reference = build_core(SETUP, backend="python").step_block(items)
    trace = _expected_trace(reference.lines(), cut, flip)
    python, rust = build_core(SETUP, backend="python"), build_core(SETUP, backend="rust")
    start = (0, 0)
    offset = 0
    while offset < len(items):
        expect = Expected(trace.lines, trace.keys, start)
        expected = python.step_block(items[offset:], expect=expect)
        actual = rust.step_block(encode_items(items[offset:]), expect=expect)
        assert (actual.consumed, actual.counts, actual.verified, actual.diverged) == (
            expected.consumed,
            expected.counts,
            expected.verified,
            expected.diverged,
        )
        assert actual.expect_end == expected.expect_end
        assert actual.lines() == expected.lines()
        assert type(actual.error) is type(expected.error)
        if actual.diverged or actual.error is not None or actual.consumed == 0:
            break
        offset += actual.consumed
        start = actual.expect_end
    assert rust.state_hash() == python.state_hash()


@FUZZ
@given(streams(max_items=30))
def test_item_lines_are_the_canonical_json_a_store_would_write(items: list[dict[str, Any]]) -> None:
    """With ``item_lines``, each committed item comes back with its records as canonical lines.

    The run store keeps these lines as they are, so they must be exactly what
    encoding the item and the records would give; without it, none come back.
    """
    rust = build_core(SETUP, backend="rust")
    assert isinstance(rust, NativeCore)
    assert rust.open_block(items).run().per_item_lines() is None
    rust = build_core(SETUP, backend="rust")
    assert isinstance(rust, NativeCore)
    cursor = rust.open_block(items, item_lines=True)
    done = 0
    while done < len(items):
        result = cursor.run(wake=WakeSpec(frozenset({"bar"})))
        pairs = result.per_item_lines()
        if result.consumed:
            assert pairs is not None and len(pairs) == result.consumed
            for item, records, (item_line, record_lines) in zip(
                items[done:], result.per_item(), pairs, strict=False
            ):
                assert item_line == canonical_json_unchecked(item).decode()
                assert record_lines == [canonical_json_unchecked(r).decode() for r in records]
        done += result.consumed
        if result.error is not None or result.consumed == 0:
            break
