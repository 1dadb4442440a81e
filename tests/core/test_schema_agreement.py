"""The core's hand-written input checks and the JSON Schemas must give the same verdict.

The core validates input by hand (fast, and reproducible by a native core
without a schema engine); the schemas are what users and other tools read. A
disagreement means one of them documents a rule the other does not enforce.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lockstep.contracts.schemas import iter_errors
from lockstep.core import CoreSetup, InputError, SetupError
from lockstep.core.intents import Rejected, parse_intent
from lockstep.core.items import parse_input
from testkit import SETUP, streams

ODD_VALUES = st.sampled_from(
    [
        None,
        0,
        -1,
        1,
        2**63,
        2**127,
        1.0,
        1.5,
        "",
        "x",
        "USD",
        "bad id!",
        True,
        [],
        {},
        "bar",
        "event",
    ]
)


def core_accepts_item(item: Any) -> bool:
    try:
        parse_input(item)
    except InputError as err:
        # The schema cannot compare fields with each other; the core also checks bar consistency.
        return "bar is inconsistent" in err.reason
    return True


def mutate(value: Any, data: st.DataObject) -> Any:
    """Replace, drop or add one field somewhere inside ``value``."""
    value = copy.deepcopy(value)
    node = value
    while True:
        children = (
            [k for k, v in node.items() if isinstance(v, dict)] if isinstance(node, dict) else []
        )
        if not children or data.draw(st.booleans()):
            break
        node = node[data.draw(st.sampled_from(sorted(children)))]
    action = data.draw(st.sampled_from(["set", "drop", "add"]))
    if action == "add" or not node:
        node[data.draw(st.sampled_from(["extra", "qty", "price", "seq_id"]))] = data.draw(
            ODD_VALUES
        )
    elif action == "drop":
        del node[data.draw(st.sampled_from(sorted(node)))]
    else:
        node[data.draw(st.sampled_from(sorted(node)))] = data.draw(ODD_VALUES)
    return value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(max_items=6), st.data())
def test_input_items_agree_with_the_input_item_schema(
    items: list[Any], data: st.DataObject
) -> None:
    item = data.draw(st.sampled_from(items))
    if data.draw(st.booleans()):
        item = mutate(item, data)
    schema_ok = not iter_errors("input_item", item)
    assert core_accepts_item(item) == schema_ok, (item, iter_errors("input_item", item))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(max_items=8), st.data())
def test_a_float_anywhere_in_an_intent_is_refused_by_both(
    items: list[Any], data: st.DataObject
) -> None:
    """The batch schema and the core both refuse a float at any depth of any intent."""
    batches = [i for i in items if i["kind"] == "intent_batch" and i["intents"]]
    assume(batches)
    batch = copy.deepcopy(data.draw(st.sampled_from(batches)))
    intent = data.draw(st.sampled_from(batch["intents"]))
    assume(isinstance(intent, dict))
    key = data.draw(st.sampled_from(["qty", "price", "extra"]))
    intent[key] = data.draw(st.sampled_from([1.5, [1, 2.5], {"k": 0.1}, 1.0]))
    assert iter_errors("input_item", batch)
    assert not core_accepts_item(batch)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(max_items=6), st.data())
def test_intents_agree_with_the_intent_schema(items: list[Any], data: st.DataObject) -> None:
    batches = [i for i in items if i["kind"] == "intent_batch"]
    intents = [intent for b in batches for intent in b["intents"]] or [{"type": "noop"}]
    intent = data.draw(st.sampled_from(intents))
    if data.draw(st.booleans()) and isinstance(intent, dict) and intent:
        intent = mutate(intent, data)
    try:
        parse_intent(intent)
        core_ok = True
    except Rejected:
        core_ok = False
    assert core_ok == (not iter_errors("intent", intent)), intent


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_setups_the_core_accepts_are_schema_valid(data: st.DataObject) -> None:
    setup = mutate(SETUP, data) if data.draw(st.booleans()) else copy.deepcopy(SETUP)
    try:
        CoreSetup.from_dict(setup)
    except SetupError:
        return  # the core is allowed to be stricter (uniqueness, exact notionals)
    assert not iter_errors("setup", setup), setup


def test_the_normalized_setup_is_schema_valid() -> None:
    assert not iter_errors("setup", dict(CoreSetup.from_dict(SETUP).raw))
