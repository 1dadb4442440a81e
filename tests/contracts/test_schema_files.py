"""The schema files themselves: well-formed, uniquely and stably identified, closed, self-contained."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import referencing.exceptions
from jsonschema import Draft202012Validator

from lockstep.contracts import (
    SCHEMA_NAMES,
    load_schema,
    load_transition_table,
    registry,
    schema_id,
    validator,
)

ID_RE = re.compile(r"^https://lockstep\.dev/schemas/[a-z][a-z0-9-]*/v[1-9][0-9]*\.json$")
I63 = 2**63 - 1


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema (dict) with its JSON pointer."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            yield from walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{pointer}/{i}")


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_has_title_description_and_versioned_id(name: str) -> None:
    schema = load_schema(name)
    assert ID_RE.match(schema["$id"]), schema["$id"]
    assert schema["$id"] == schema_id(name)
    assert schema["title"].strip()
    assert len(schema["description"]) > 40


def test_ids_are_unique() -> None:
    ids = [load_schema(name)["$id"] for name in SCHEMA_NAMES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_object_is_closed_or_says_why_not(name: str) -> None:
    for pointer, sub in walk(load_schema(name)):
        if sub.get("type") == "object":
            assert "additionalProperties" in sub or "$comment" in sub, f"{name}#{pointer} is open"
        if "properties" in sub and sub.get("additionalProperties") is False:
            assert set(sub.get("required", [])) <= set(sub["properties"]), f"{name}#{pointer}"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_ref_resolves_inside_the_registry(name: str) -> None:
    resolver = registry().resolver(base_uri=schema_id(name))
    for pointer, sub in walk(load_schema(name)):
        ref = sub.get("$ref")
        if isinstance(ref, str) and pointer.rsplit("/", 1)[-1] != "properties":
            assert ref.startswith(("#", "https://lockstep.dev/schemas/")), ref
            resolver.lookup(ref)


def test_registry_never_retrieves_unknown_uris() -> None:
    with pytest.raises(referencing.exceptions.Unresolvable):
        registry().resolver().lookup("https://example.com/not-bundled.json")


def test_schema_names_accept_aliases_and_reject_unknown() -> None:
    assert load_schema("intent-batch") == load_schema("intent_batch.schema.json")
    with pytest.raises(KeyError, match="unknown schema"):
        load_schema("order")


def test_load_schema_returns_a_fresh_copy() -> None:
    first = load_schema("setup")
    first["properties"].clear()
    assert load_schema("setup")["properties"]


def test_validators_are_cached() -> None:
    assert validator("setup") is validator("setup.schema.json")


def common_defs() -> dict[str, Any]:
    defs: dict[str, Any] = load_schema("common")["$defs"]
    return defs


@pytest.mark.parametrize(
    ("name", "lo", "hi"),
    [
        ("price", 1, I63),
        ("qty", 1, I63),
        ("size_or_zero", 0, I63),
        ("position", -I63, I63),
        ("money", -(2**127), 2**127 - 1),
        ("time_ns", 0, I63),
        ("seq_id", 1, I63),
        ("precision", 0, 18),
    ],
)
def test_numeric_bounds(name: str, lo: int, hi: int) -> None:
    spec = common_defs()[name]
    assert (spec["minimum"], spec["maximum"]) == (lo, hi)
    assert isinstance(spec["minimum"], int) and isinstance(spec["maximum"], int)


def test_money_bounds_written_out() -> None:
    spec = common_defs()["money"]
    assert spec["minimum"] == -170141183460469231731687303715884105728
    assert spec["maximum"] == 170141183460469231731687303715884105727


def test_string_patterns() -> None:
    defs = common_defs()
    assert defs["identifier"]["pattern"] == r"^[A-Za-z0-9_.:/\-]{1,64}$"
    assert defs["currency"]["pattern"] == r"^[A-Z][A-Z0-9]{1,11}$"
    assert defs["sha256"]["pattern"] == r"^[0-9a-f]{64}$"


def test_enums_are_exactly_the_specified_ones() -> None:
    defs = common_defs()
    assert defs["reason_code"]["enum"] == [
        "SCHEMA_INVALID",
        "UNKNOWN_VENUE",
        "UNKNOWN_INSTRUMENT",
        "ORDER_TYPE_UNSUPPORTED",
        "TIF_UNSUPPORTED",
        "REPLACE_UNSUPPORTED",
        "PRICE_OFF_TICK",
        "QTY_OFF_LOT",
        "HALTED",
        "RISK_FLAG_BLOCKED",
        "MAX_POSITION_EXCEEDED",
        "NO_REFERENCE_PRICE",
        "MAX_NOTIONAL_EXCEEDED",
        "VALUE_OUT_OF_RANGE",
        "DUPLICATE_ORDER_ID",
        "UNKNOWN_ORDER",
        "ORDER_NOT_CANCELABLE",
        "ORDER_NOT_REPLACEABLE",
        "INVALID_REPLACE",
    ]
    assert defs["reason_code_or_null"]["enum"] == [*defs["reason_code"]["enum"], None]
    assert defs["diagnostic_code"]["enum"] == [
        "IMPLIED_ACCEPT",
        "DUPLICATE",
        "TERMINAL_ABSORBED",
        "UNEXPECTED_REPORT",
        "UNKNOWN_ORDER_REPORT",
        "QUARANTINED_FILL",
        "INVALID_REPORT",
        "INVARIANT_WARNING",
    ]
    assert defs["quarantine_reason"]["enum"] == [
        "UNKNOWN_ORDER",
        "OVERFILL",
        "FILL_AFTER_TERMINAL",
        "VALUE_OUT_OF_RANGE",
        "NOT_ACCEPTED",
    ]
    assert defs["source"]["enum"] == ["market_data", "broker_report", "timer", "control"]
    assert defs["order_type"]["enum"] == ["market", "limit", "stop", "stop_limit"]
    assert defs["time_in_force"]["enum"] == ["GTC", "IOC", "FOK", "DAY"]
    assert defs["side"]["enum"] == ["buy", "sell"]


def test_state_and_trigger_enums_match_the_transition_table() -> None:
    table = load_transition_table()
    defs = common_defs()
    assert tuple(defs["order_state"]["enum"]) == table.states
    assert tuple(defs["trigger"]["enum"]) == table.triggers
    transition = load_schema("trace_record")["$defs"]["transition"]["properties"]
    common = "https://lockstep.dev/schemas/common/v1.json#/$defs/"
    assert transition["from"] == transition["to"] == {"$ref": common + "order_state"}
    assert transition["trigger"] == {"$ref": common + "trigger"}


def test_setup_defaults_are_documented() -> None:
    props = load_schema("setup")["properties"]
    assert props["source_priority"]["default"] == [
        "control",
        "broker_report",
        "market_data",
        "timer",
    ]
    assert props["invariant_mode"]["default"] == "strict"
    assert props["risk"]["default"] == {}
    assert props["timers"]["default"] == []
    assert props["starting_cash"]["default"] == {}
    assert load_schema("setup")["required"] == ["currencies", "venues", "instruments"]


def test_envelope_ties_every_event_type_to_one_source_and_payload() -> None:
    schema = load_schema("envelope")
    event_types = schema["properties"]["event_type"]["enum"]
    assert set(event_types) == set(schema["$defs"])
    tied = {
        rule["if"]["properties"]["event_type"]["const"]: rule["then"]
        for rule in schema["allOf"]
        if "event_type" in rule["if"]["properties"]
    }
    assert set(tied) == set(event_types)
    for event_type, then in tied.items():
        assert then["properties"]["payload"] == {"$ref": f"#/$defs/{event_type}"}
        assert then["properties"]["source"]["const"] in (
            "market_data",
            "broker_report",
            "timer",
            "control",
        )
        assert schema["$defs"][event_type]["additionalProperties"] is False


def test_envelope_and_batch_require_every_field() -> None:
    envelope = load_schema("envelope")
    assert set(envelope["required"]) == set(envelope["properties"])
    batch = load_schema("intent_batch")
    assert set(batch["required"]) == set(batch["properties"])
