"""Regression tests for four parity bugs between the Python core, the schemas and the Rust core.

1. Identifiers with a trailing newline were accepted (``re.match``'s ``$``), so
   a core could take in an id its own snapshot could not be restored with.
2. Raw intents were echoed into the trace unchecked: a float landed in the
   hashed trace, and ``1e400`` made the encoder raise after ``seq_id`` and the
   clock had moved (state changed, nothing committed).
3. Errors inside an event group named the event's position after sorting,
   not the position in the group as given.
4. Orders placed by one batch share ``created_seq``; after a restore their
   matching order depended on the snapshot's key order.
"""

from __future__ import annotations

import copy
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.contracts.schemas import iter_errors
from lockstep.core import InputError, SetupError, build_core
from lockstep.core.canonical import canonical_json
from lockstep.core.intents import describe
from lockstep.core.validate import is_currency, is_identifier
from testkit import SETUP, T0, bar, batch, event, place, streams

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fingerprint(core: Any) -> tuple[Any, ...]:
    """Everything a refused item must leave alone."""
    return (core.snapshot(), core.state_hash(), core.last_seq_id, core.clock, core.last_hash)


# -- 1. identifiers match as a whole ------------------------------------------------------


@pytest.mark.parametrize("text", ["o1\n", "o1\n\n", "\n", "SIM\n", "a b", "", "x" * 65])
def test_identifiers_must_match_the_whole_string(text: str) -> None:
    assert not is_identifier(text)
    assert is_identifier(text.strip()) == (0 < len(text.strip()) <= 64 and " " not in text)


def test_currency_codes_must_match_the_whole_string() -> None:
    assert is_currency("USD") and not is_currency("USD\n") and not is_currency("usd")
    setup = copy.deepcopy(SETUP)
    setup["currencies"][0]["code"] = "USD\n"
    with pytest.raises(SetupError) as info:
        build_core(setup)
    assert info.value.path == "$.currencies[0].code"


@pytest.mark.parametrize(
    ("field", "path"),
    [("venue", "$.venue"), ("instrument", "$.instrument")],
)
def test_an_event_naming_an_id_with_a_newline_is_refused(field: str, path: str) -> None:
    core = build_core(SETUP)
    item = bar(T0, 100, 101, 99, 100)
    item[field] += "\n"
    before = fingerprint(core)
    with pytest.raises(InputError) as info:
        core.step(item)
    assert info.value.path == path
    assert fingerprint(core) == before
    assert iter_errors("input_item", item), "the schema refuses it too"


def test_an_order_id_with_a_newline_is_a_schema_invalid_intent_and_never_stored() -> None:
    core = build_core(SETUP)
    records = core.step(batch(T0, place("o1\n"), place("o2")))
    outcomes = [(o["order_id"], o["reason_code"]) for o in records[0]["intent_outcomes"]]
    assert outcomes == [(None, "SCHEMA_INVALID"), ("o2", None)]
    assert describe({"type": "cancel_order", "client_order_id": "o1\n"}) == ("cancel_order", None)
    assert sorted(core.snapshot()["business"]["orders"]) == ["o2"]


@SETTINGS
@given(streams(max_items=25))
def test_a_core_can_always_restore_its_own_snapshot(items: list[dict[str, Any]]) -> None:
    core = build_core(SETUP)
    for item in items:
        core.step(item)
    snapshot = json.loads(json.dumps(core.snapshot()))
    assert not iter_errors("state", snapshot)
    fresh = build_core(SETUP)
    fresh.restore(snapshot)
    assert fresh.state_hash() == core.state_hash()


# -- 2. raw intents hold integers only -------------------------------------------------------


@pytest.mark.parametrize(
    ("intents", "path"),
    [
        ([{"type": "noop", "x": 1.5}], "$.intents[0].x"),
        ([{"type": "noop", "x": 1.0}], "$.intents[0].x"),
        ([{"type": "noop", "x": float("inf")}], "$.intents[0].x"),
        ([{"type": "noop", "x": -math.inf}], "$.intents[0].x"),
        ([{"type": "noop", "x": math.nan}], "$.intents[0].x"),
        ([{"type": "noop"}, {"type": "noop", "b": {"z": 1, "a": [1, 2.5]}}], "$.intents[1].b.a[1]"),
        # keys are walked in sorted order, whatever order the dict was built in
        ([{"type": "noop", "z": 0.5, "a": 0.5}], "$.intents[0].a"),
        ([place("o1", qty=10.0)], "$.intents[0].qty"),  # type: ignore[arg-type]
        ([{"type": "noop", "x": Decimal("1")}], "$.intents[0].x"),
        ([{"type": "noop", "x": {1, 2}}], "$.intents[0].x"),
        ([{"type": "noop", "x": {1: "a"}}], "$.intents[0].x"),
    ],
)
def test_a_batch_with_a_non_json_integer_anywhere_is_refused_whole(
    intents: list[Any], path: str
) -> None:
    # A dict with non-string keys has no JSON form (json.dumps would quietly turn
    # 1 into "1"); the rust backend's encoder refuses it as the Python core does.
    core = build_core(SETUP)
    core.step(bar(T0, 100, 101, 99, 100))
    before = fingerprint(core)
    with pytest.raises(InputError) as info:
        core.step(batch(T0 + 10, *intents))
    assert info.value.path == path
    assert fingerprint(core) == before  # seq_id and clock did not move either


def test_json_read_floats_are_refused_like_python_made_ones() -> None:
    core = build_core(SETUP)
    line = (
        '{"kind":"intent_batch","seq_id":null,"batch_id":"b","strategy_id":"s","ts":5,'
        '"intents":[{"type":"noop","x":1e400},{"type":"noop"}]}'
    )
    with pytest.raises(InputError) as info:
        core.step(json.loads(line))
    assert info.value.path == "$.intents[0].x"
    assert core.last_seq_id == 0 and core.clock == 0


def test_integers_of_any_size_tuples_and_nesting_are_fine() -> None:
    core = build_core(SETUP)
    intent = {"type": "noop", "big": 2**200, "t": (1, [True, None, "é"]), "n": {"m": -0}}
    records = core.step(batch(T0, intent))
    assert records[0]["intent_outcomes"][0]["reason_code"] == "SCHEMA_INVALID"
    assert canonical_json(records[0])  # the record is canonical JSON (no floats)


@SETTINGS
@given(streams(max_items=12), st.data())
def test_floats_never_reach_the_trace_and_refusals_change_nothing(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    core = build_core(SETUP)
    for item in items:
        if item["kind"] == "intent_batch" and data.draw(st.booleans()):
            item = copy.deepcopy(item)
            n = data.draw(st.integers(0, len(item["intents"]) - 1))
            key = data.draw(st.sampled_from(["qty", "price", "extra"]))
            item["intents"][n][key] = data.draw(
                st.floats(allow_nan=True, allow_infinity=True) | st.just(1.0)
            )
            before = fingerprint(core)
            with pytest.raises(InputError) as info:
                core.step(item)
            assert info.value.path.startswith(f"$.intents[{n}]")
            assert fingerprint(core) == before
            continue
        try:
            records = core.step(item)
        except InputError:
            continue
        for record in records:
            canonical_json(record)  # raises on any float


# -- 3. group errors name the position as given ------------------------------------------


def test_group_errors_name_the_event_as_given_not_as_sorted() -> None:
    core = build_core(SETUP)
    core.step(bar(T0 + 100, 100, 101, 99, 100))
    late = bar(T0 + 200, 100, 101, 99, 100)
    early = bar(T0 + 50, 100, 101, 99, 100)  # before the clock: a SequenceError
    halt = event(T0 + 200, "control", "halt", {"reason": "x"}, venue="ops", instrument=None)
    # As given: [late, halt, early]; sorted: [early, halt, late] (time first).
    before = fingerprint(core)
    with pytest.raises(Exception) as info:
        core.step({"kind": "event_group", "events": [late, halt, early]})
    assert getattr(info.value, "path", None) == "$.events[2].event_time"
    assert fingerprint(core) == before
    unlisted = bar(T0 + 300, 100, 101, 99, 100, instrument="BBB")
    unlisted["venue"] = "EXT"  # BBB is not listed on EXT
    with pytest.raises(InputError) as info:
        core.step({"kind": "event_group", "events": [late, late, unlisted]})
    assert info.value.path == "$.events[2].instrument"


def test_a_one_event_group_is_still_a_group() -> None:
    core = build_core(SETUP)
    core.step(bar(T0 + 100, 100, 101, 99, 100))
    with pytest.raises(Exception) as info:
        core.step({"kind": "event_group", "events": [bar(T0, 100, 101, 99, 100)]})
    assert getattr(info.value, "path", None) == "$.events[0].event_time"
    with_seq = bar(T0 + 200, 100, 101, 99, 100)
    with_seq["seq_id"] = 50
    with pytest.raises(InputError) as info:
        core.step({"kind": "event_group", "events": [with_seq]})
    assert info.value.path == "$.events[0].seq_id"


@SETTINGS
@given(st.permutations(list(range(4))), st.integers(0, 3))
def test_the_path_follows_the_bad_event_through_any_arrival_order(
    order: list[int], bad: int
) -> None:
    core = build_core(SETUP)
    core.step(bar(T0 + 1_000, 100, 101, 99, 100))
    events = [bar(T0 + 1_000 + 10 * n, 100, 101, 99, 100) for n in range(4)]
    events[bad]["payload"]["volume"] = -1  # an InputError inside the event itself
    events[bad]["event_time"] = T0  # and a SequenceError the precheck would find
    given_events = [events[n] for n in order]
    with pytest.raises(InputError) as info:
        core.step({"kind": "event_group", "events": given_events})
    assert info.value.path == f"$.events[{order.index(bad)}].payload.volume"
    events[bad]["payload"]["volume"] = 10
    with pytest.raises(Exception) as seq_info:
        core.step({"kind": "event_group", "events": given_events})
    assert getattr(seq_info.value, "path", None) == f"$.events[{order.index(bad)}].event_time"


# -- 4. creation order survives a restore ------------------------------------------------


def test_orders_of_one_batch_match_in_id_order_before_and_after_a_restore() -> None:
    # A participation cap leaves room for one order only: which one fills shows the order.
    core = build_core(SETUP)
    core.step(bar(T0, 100, 101, 99, 100, volume=40))
    core.step(batch(T0 + 1, place("o7", qty=20), place("o3", qty=20)))
    snapshot = json.loads(json.dumps(core.snapshot(), sort_keys=True))  # as read from a file
    restored = build_core(SETUP)
    restored.restore(snapshot)
    next_bar = bar(T0 + 2, 100, 101, 99, 100, volume=40)
    live, resumed = core.step(next_bar), restored.step(next_bar)
    assert live == resumed
    fills = [f["order_id"] for r in live for f in r["fills"]]
    assert fills == ["o3"]  # id order within the batch, not intent order


@SETTINGS
@given(streams(max_items=30), st.data())
def test_restoring_a_checkpoint_read_from_a_file_continues_identically(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(items)))
    first = build_core(SETUP)
    for item in items[:cut]:
        first.step(item)
    # Key order lost, as in a checkpoint file written with sorted keys.
    checkpoint = json.loads(json.dumps(first.snapshot(), sort_keys=True))
    resumed = build_core(SETUP)
    resumed.restore(checkpoint)
    tail_a = [r for item in items[cut:] for r in first.step(item)]
    tail_b = [r for item in items[cut:] for r in resumed.step(item)]
    assert tail_a == tail_b
    assert first.state_hash() == resumed.state_hash()


def test_a_checkpoint_whose_order_key_differs_from_its_id_is_refused() -> None:
    core = build_core(SETUP)
    core.step(batch(T0, place("o1")))
    snapshot = json.loads(json.dumps(core.snapshot()))
    orders = snapshot["business"]["orders"]
    orders["o2"] = orders.pop("o1")
    fresh = build_core(SETUP)
    before = fingerprint(fresh)
    with pytest.raises(InputError) as info:
        fresh.restore(snapshot)
    assert info.value.path == "$.business.orders"
    assert fingerprint(fresh) == before


def test_a_block_commits_the_items_before_one_that_has_no_json_form() -> None:
    """Both backends: the prefix is committed, the bad item is refused with its path."""
    bad = batch(T0 + 10, {"type": "noop", "x": {1: "a"}})
    items = [bar(T0, 100, 101, 99, 100), bad, bar(T0 + 20, 100, 101, 99, 100)]
    core = build_core(SETUP)
    result = core.step_block(items)
    assert result.consumed == 1 and result.counts == [1]
    assert isinstance(result.error, InputError) and result.error.path == "$.intents[0].x"
    assert core.last_seq_id == 1
    cursor = build_core(SETUP).open_block(items)
    assert cursor.run().consumed == 1
    again = cursor.run()  # the refused item stays refused
    assert again.consumed == 0 and isinstance(again.error, InputError)
