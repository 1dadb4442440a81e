"""Views of the core's state without a snapshot tree: the same content, less work.

Order lookups give the entries a snapshot lists, and only those; a
checkpoint is the snapshot's canonical JSON with the state hash of its
business part.

Runs on whichever backend ``LOCKSTEP_ENGINE`` names, so the native lane checks
the Rust core against the same statements.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.core import build_core, canonical_json
from lockstep.core.canonical import sha256_hex
from testkit import SETUP, streams

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TERMINAL = {"filled", "cancelled", "rejected", "expired"}


@SETTINGS
@given(streams(max_items=30), st.data())
def test_order_lookups_are_the_snapshots_entries(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    core = build_core(SETUP)
    core.step_block(items)
    orders = core.snapshot()["business"]["orders"]
    known = sorted(orders)
    asked = data.draw(st.lists(st.sampled_from([*known, "no-such-order", ""]), max_size=8))
    assert core.order_states(asked) == {oid: orders[oid] for oid in asked if oid in orders}
    assert list(core.order_states(asked)) == sorted({oid for oid in asked if oid in orders})
    open_orders = {oid: o for oid, o in orders.items() if o["status"] not in TERMINAL}
    assert core.open_order_states() == open_orders
    assert list(core.open_order_states()) == sorted(open_orders)


def test_order_ids_must_be_strings() -> None:
    core = build_core(SETUP)
    with pytest.raises(TypeError, match="order ids must be strings"):
        core.order_states(["a", 1])  # type: ignore[list-item]
    assert core.order_states([]) == {} and core.open_order_states() == {}


@SETTINGS
@given(streams(max_items=30))
def test_a_checkpoint_is_the_snapshots_canonical_json_and_the_state_hash(
    items: list[dict[str, Any]],
) -> None:
    core = build_core(SETUP)
    core.step_block(items)
    text, state_hash = core.checkpoint()
    snapshot = core.snapshot()
    assert text == canonical_json(snapshot)
    assert state_hash == core.state_hash() == sha256_hex(canonical_json(snapshot["business"]))
