"""Hand-written valid examples pass, targeted invalid ones fail at the right path."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from contract_examples import invalid_cases, load_example, valid_examples

from lockstep.contracts import ContractViolation, iter_errors, validate

VALID = valid_examples()
INVALID = invalid_cases()


def test_there_are_examples_for_every_instance_schema() -> None:
    schemas = {schema for schema, _, _ in VALID}
    assert schemas == {
        "setup",
        "envelope",
        "intent",
        "intent_batch",
        "event_group",
        "trace_record",
        "state",
    }


def test_every_event_type_and_intent_type_has_an_example() -> None:
    event_types = {inst["event_type"] for schema, _, inst in VALID if schema == "envelope"}
    assert len(event_types) == 14
    intent_types = {inst["type"] for schema, _, inst in VALID if schema == "intent"}
    assert intent_types == {"place_order", "cancel_order", "replace_order", "set_risk_flag", "noop"}
    order_types = {
        inst["order_type"]
        for schema, _, inst in VALID
        if schema == "intent" and "order_type" in inst
    }
    assert order_types == {"market", "limit", "stop", "stop_limit"}


@pytest.mark.parametrize(
    ("schema", "name", "instance"), VALID, ids=[f"{s}/{n}" for s, n, _ in VALID]
)
def test_valid_example(schema: str, name: str, instance: Any) -> None:
    validate(schema, instance)
    assert iter_errors(schema, instance) == []


@pytest.mark.parametrize(
    ("schema", "instance"),
    [(s, i) for s, _, i in VALID if s in ("envelope", "intent_batch", "event_group")],
)
def test_valid_items_are_input_items(schema: str, instance: Any) -> None:
    validate("input_item", instance)


def test_batch_items_are_only_checked_for_a_string_type() -> None:
    batch = load_example("intent_batch/with_invalid_intents")
    validate("intent_batch", batch)
    # ...while the per-intent schema rejects the bad ones, which the core turns into SCHEMA_INVALID.
    verdicts = [not iter_errors("intent", intent) for intent in batch["intents"]]
    assert verdicts == [True, False, False]


def test_a_float_at_any_depth_of_an_intent_invalidates_the_batch() -> None:
    """The core refuses such a batch whole (its intents are echoed into the hashed trace)."""
    batch = load_example("intent_batch/with_invalid_intents")
    batch["intents"][1]["x"] = {"levels": [1, {"deep": 2.5}]}
    with pytest.raises(ContractViolation) as info:
        validate("intent_batch", batch)
    assert info.value.path == "$.intents[1].x.levels[1].deep"


@pytest.mark.parametrize("case", INVALID, ids=[c.name for c in INVALID])
def test_invalid_example(case: Any) -> None:
    with pytest.raises(ContractViolation) as info:
        validate(case.schema, case.instance)
    violation = info.value
    assert violation.schema == case.schema
    assert violation.path == case.path, str(violation)
    assert case.reason in violation.reason, str(violation)
    assert str(violation) == f"{case.schema}: {case.path}: {violation.reason}"
    assert any(v.path == case.path for v in iter_errors(case.schema, case.instance))


def test_contract_violation_is_a_value_error_with_structured_fields() -> None:
    intent = load_example("intent/place_order_limit")
    intent["qty"] = -1
    with pytest.raises(ValueError, match=r"^intent: \$\.qty: -1 is less than the minimum of 1$"):
        validate("intent", intent)
    try:
        validate("intent", intent)
    except ContractViolation as violation:
        assert violation.location == ("qty",)
        assert violation.keyword == "minimum"


def test_iter_errors_lists_every_violation_in_a_stable_order() -> None:
    intent = load_example("intent/place_order_limit")
    intent.update(qty=0, side="short", price=None, extra=1)
    found = iter_errors("intent", intent)
    assert [v.path for v in found] == ["$.extra", "$.price", "$.qty", "$.side"]
    assert found == sorted(found, key=lambda v: (v.path, v.reason))
    assert [str(v) for v in iter_errors("intent", copy.deepcopy(intent))] == [str(v) for v in found]


def test_map_keys_are_quoted_in_paths() -> None:
    state = load_example("state/snapshot")
    state["business"]["positions"]["BTC-USDT"] = 2**63
    with pytest.raises(ContractViolation) as info:
        validate("state", state)
    assert info.value.path == '$.business.positions["BTC-USDT"]'
    assert info.value.location == ("business", "positions", "BTC-USDT")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1, True),
        (2**63 - 1, True),
        (2**63, False),
        (0, False),
        (-1, False),
        (1.0, False),
        (True, False),
        (None, False),
    ],
)
def test_price_bounds(value: Any, ok: bool) -> None:
    trade = load_example("envelope/trade")
    trade["payload"]["price"] = value
    assert (iter_errors("envelope", trade) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (2**127 - 1, True),
        (-(2**127), True),
        (0, True),
        (2**127, False),
        (-(2**127) - 1, False),
        (0.5, False),
    ],
)
def test_money_bounds(value: Any, ok: bool) -> None:
    record = load_example("trace_record/generated_fill")
    record["cash_deltas"][0]["delta"] = value
    assert (iter_errors("trace_record", record) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a", True),
        ("A-z_0.9:/x", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("sim\n", False),
        ("\nsim", False),
        ("s m", False),
        ("sïm", False),
    ],
)
def test_identifier_pattern_is_anchored_like_ecma_262(value: str, ok: bool) -> None:
    intent = load_example("intent/cancel_order")
    intent["client_order_id"] = value
    assert (iter_errors("intent", intent) == []) is ok


def test_timer_and_control_events_may_have_an_instrument_but_need_not() -> None:
    halt = load_example("envelope/halt")
    assert halt["instrument"] is None
    validate("envelope", halt)
    halt["instrument"] = "AAPL"
    validate("envelope", halt)
