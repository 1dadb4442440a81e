"""Property tests: random streams never break an invariant and always replay exactly."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.core import InputError, build_core
from lockstep.core.canonical import canonical_json, sha256_hex
from testkit import SETUP, T0, bar, batch, place, streams

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def run(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    core = build_core(SETUP)  # strict invariants: a violation raises and fails the test
    records: list[dict[str, Any]] = []
    for item in items:
        records.extend(core.step(item))
    return records, core


@PROPERTY_SETTINGS
@given(streams())
def test_random_streams_keep_invariants_and_chain_hashes(items: list[dict[str, Any]]) -> None:
    records, core = run(items)
    prev = "0" * 64
    for n, record in enumerate(records, start=1):
        assert record["seq_id"] == n
        assert record["prev_hash"] == prev
        body = {k: v for k, v in record.items() if k != "hash"}
        assert record["hash"] == sha256_hex(canonical_json(body))
        prev = record["hash"]
    snapshot = core.snapshot()
    assert core.state_hash() == sha256_hex(canonical_json(snapshot["business"]))
    for order in snapshot["business"]["orders"].values():
        assert 0 <= order["filled_qty"] <= order["qty"]


@PROPERTY_SETTINGS
@given(streams())
def test_replaying_recorded_inputs_reproduces_trace_and_hash(items: list[dict[str, Any]]) -> None:
    records, core = run(items)
    replay = build_core(SETUP)
    replayed: list[dict[str, Any]] = []
    for record in records:
        if record["origin"] == "input":
            replayed.extend(replay.step(record["input"]))  # seq_ids are kept from the log
    assert [canonical_json(r) for r in replayed] == [canonical_json(r) for r in records]
    assert replay.state_hash() == core.state_hash()
    assert replay.snapshot() == core.snapshot()


@PROPERTY_SETTINGS
@given(streams(), st.data())
def test_restoring_a_checkpoint_continues_identically(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(items)))
    first = build_core(SETUP)
    for item in items[:cut]:
        first.step(item)
    checkpoint = copy.deepcopy(first.snapshot())
    resumed = build_core(SETUP)
    resumed.restore(checkpoint)
    tail_a = [r for item in items[cut:] for r in first.step(item)]
    tail_b = [r for item in items[cut:] for r in resumed.step(item)]
    assert tail_a == tail_b
    assert first.state_hash() == resumed.state_hash()


@PROPERTY_SETTINGS
@given(streams(max_items=15), st.data())
def test_a_rejected_item_changes_nothing(items: list[dict[str, Any]], data: st.DataObject) -> None:
    _, core = run(items)
    before = copy.deepcopy(core.snapshot())
    victim = copy.deepcopy(data.draw(st.sampled_from(items)))
    target = victim["events"][0] if victim["kind"] == "event_group" else victim
    field = data.draw(st.sampled_from(sorted(target)))
    target[field] = data.draw(st.sampled_from([None, -1, 1.5, "x", [], {}, 2**64, True]))
    try:
        core.step(victim)
    except InputError:
        assert core.snapshot() == before
    # Otherwise the mutation happened to be valid (e.g. a null idempotency_key): fine.


def test_duplicate_report_leaves_the_state_hash_unchanged() -> None:
    core = build_core(SETUP)
    accepted = {
        "kind": "event",
        "seq_id": None,
        "event_time": T0,
        "ingest_time": T0,
        "source": "broker_report",
        "venue": "EXT",
        "instrument": "CCC",
        "event_type": "order_accepted",
        "payload": {"order_id": "o1"},
        "idempotency_key": "ack-1",
        "producer_index": 0,
    }
    core.step(batch(T0, place("o1", instrument="CCC")))
    core.step(accepted)
    hash_after_first = core.state_hash()
    record = core.apply(accepted)
    assert [d["code"] for d in record["diagnostics"]] == ["DUPLICATE"]
    assert core.state_hash() == hash_after_first
    assert core.snapshot()["engine"]["last_seq_id"] == record["seq_id"]


def test_time_cannot_go_backwards_for_market_data() -> None:
    core = build_core(SETUP)
    core.step(bar(T0 + 10, 100, 101, 99, 100))
    with pytest.raises(InputError, match="before the core clock"):
        core.step(bar(T0, 100, 101, 99, 100))


def test_a_corrupt_checkpoint_is_refused_and_changes_nothing() -> None:
    core = build_core(SETUP)
    core.step(bar(T0, 100, 101, 99, 100))
    checkpoint = copy.deepcopy(core.snapshot())
    fresh = build_core(SETUP)
    before = fresh.snapshot()
    broken = copy.deepcopy(checkpoint)
    broken["business"]["cash"]["USD"] = 1.5
    with pytest.raises(InputError, match=r"\$\.business\.cash"):
        fresh.restore(broken)
    other_setup = copy.deepcopy(checkpoint)
    del other_setup["business"]["positions"]["BBB"]
    with pytest.raises(InputError, match="different setup"):
        fresh.restore(other_setup)
    assert fresh.snapshot() == before


def test_event_groups_refuse_preassigned_seq_ids() -> None:
    core = build_core(SETUP)
    first, second = bar(T0, 100, 101, 99, 100), bar(T0, 100, 101, 99, 100, instrument="BBB")
    second["seq_id"] = 7
    with pytest.raises(InputError, match="sequenced by the core"):
        core.step({"kind": "event_group", "events": [first, second]})
    assert core.snapshot()["engine"]["last_seq_id"] == 0
