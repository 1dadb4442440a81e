"""The order transition table: valid, internally consistent, and read correctly by the loader."""

from __future__ import annotations

import json
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from lockstep.contracts import (
    KNOWN_GUARDS,
    ContractViolation,
    TransitionTable,
    iter_errors,
    load_transition_table,
    validate,
)


def raw_table() -> dict[str, Any]:
    text = (resources.files("lockstep.contracts") / "data" / "order_transitions.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


@pytest.fixture(scope="module")
def table() -> TransitionTable:
    return load_transition_table()


def test_table_file_validates_against_its_schema() -> None:
    data = raw_table()
    validate("order_transitions", data)
    assert data["schema"] == "https://lockstep.dev/schemas/order-transitions/v1.json"


def test_every_used_state_and_trigger_is_declared(table: TransitionTable) -> None:
    assert set(table.terminal_states) <= set(table.states)
    for row in table.rows:
        assert row.from_state in table.states
        assert row.to_state in table.states
        assert row.trigger in table.triggers
        assert row.guard is None or row.guard in dict(table.guards)


def test_every_declared_trigger_is_used(table: TransitionTable) -> None:
    assert {row.trigger for row in table.rows} == set(table.triggers)


def test_terminal_states_have_no_outgoing_rows(table: TransitionTable) -> None:
    assert table.terminal_states == {"filled", "cancelled", "rejected", "expired"}
    for state in table.terminal_states:
        assert table.rows_from(state) == ()
        assert table.is_terminal(state)


def test_guarded_rows_come_in_complementary_pairs(table: TransitionTable) -> None:
    groups: dict[tuple[str, str], list[str | None]] = defaultdict(list)
    for row in table.rows:
        groups[(row.from_state, row.trigger)].append(row.guard)
    for key, guards in groups.items():
        if any(g is not None for g in guards):
            assert sorted(g for g in guards if g is not None) == sorted(KNOWN_GUARDS), key
            assert None not in guards, key
        else:
            assert guards == [None], f"duplicate unguarded rows for {key}"


def test_guards_are_the_known_ones(table: TransitionTable) -> None:
    assert {name for name, _ in table.guards} == KNOWN_GUARDS


def reachable(table: TransitionTable, start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        state = todo.pop()
        for row in table.rows_from(state):
            if row.to_state not in seen:
                seen.add(row.to_state)
                todo.append(row.to_state)
    return seen


def test_every_non_terminal_state_can_reach_a_terminal_one(table: TransitionTable) -> None:
    for state in table.states:
        if not table.is_terminal(state):
            assert reachable(table, state) & table.terminal_states, state


def test_every_state_is_reachable_from_created(table: TransitionTable) -> None:
    assert table.states[0] == "created"
    assert reachable(table, "created") == set(table.states)


def test_issue_lifecycle_paths_exist(table: TransitionTable) -> None:
    path = [
        ("created", "submit", "submitted"),
        ("submitted", "accept", "accepted"),
        ("accepted", "fill", "partially_filled"),
        ("partially_filled", "fill_complete", "filled"),
        ("accepted", "cancel_request", "cancel_pending"),
        ("partially_filled", "cancel_request", "cancel_pending"),
        ("cancel_pending", "cancel", "cancelled"),
        ("submitted", "reject", "rejected"),
        ("accepted", "reject", "rejected"),
        ("submitted", "implied_accept", "accepted"),
    ]
    for state, trigger, expected in path:
        assert table.lookup(state, trigger, filled=state == "partially_filled") == expected


@pytest.mark.parametrize(
    ("state", "trigger", "filled", "expected"),
    [
        ("cancel_pending", "cancel_reject", False, "accepted"),
        ("cancel_pending", "cancel_reject", True, "partially_filled"),
        ("replace_pending", "replace", False, "accepted"),
        ("replace_pending", "replace", True, "partially_filled"),
        ("replace_pending", "replace_reject", False, "accepted"),
        ("replace_pending", "replace_reject", True, "partially_filled"),
        ("cancel_pending", "fill", True, "cancel_pending"),
        ("cancel_pending", "fill_complete", True, "filled"),
        ("accepted", "submit", False, None),
        ("submitted", "fill", False, None),
        ("filled", "cancel", True, None),
        ("cancelled", "fill", True, None),
    ],
)
def test_lookup(
    table: TransitionTable, state: str, trigger: str, filled: bool, expected: str | None
) -> None:
    assert table.lookup(state, trigger, filled) == expected


def test_lookup_rejects_undeclared_names(table: TransitionTable) -> None:
    with pytest.raises(ValueError, match="undeclared state"):
        table.lookup("open", "fill", False)
    with pytest.raises(ValueError, match="undeclared trigger"):
        table.lookup("accepted", "amend", False)


def test_table_is_cached_and_immutable(table: TransitionTable) -> None:
    assert load_transition_table() is table
    with pytest.raises(AttributeError):
        table.states = ()  # type: ignore[misc]


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "table.json"
    path.write_text(json.dumps(data))
    return path


def test_loading_an_explicit_path(tmp_path: Path, table: TransitionTable) -> None:
    assert load_transition_table(write(tmp_path, raw_table())) == table


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["transitions"].append(
                {"from": "filled", "trigger": "cancel", "to": "cancelled"}
            ),
            "terminal state 'filled' has an outgoing row",
        ),
        (
            lambda d: d["transitions"].append(
                {"from": "accepted", "trigger": "vanish", "to": "accepted"}
            ),
            "'vanish' is not declared",
        ),
        (
            lambda d: d["transitions"].append(
                {"from": "accepted", "trigger": "cancel", "to": "expired"}
            ),
            "must be one unguarded row",
        ),
        (
            lambda d: next(r for r in d["transitions"] if "guard" in r).pop("guard"),
            "must be one unguarded row",
        ),
        (lambda d: d["terminal_states"].append("gone"), "terminal state 'gone' is not declared"),
        (lambda d: d["guards"].update(odd="the day is odd"), "guard 'odd' is not supported"),
    ],
)
def test_inconsistent_tables_are_refused(tmp_path: Path, mutate: Any, message: str) -> None:
    data = raw_table()
    mutate(data)
    assert iter_errors("order_transitions", data) == []  # schema-valid, yet inconsistent
    with pytest.raises(ContractViolation, match=message):
        load_transition_table(write(tmp_path, data))


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(extra=1), "$.extra"),
        (lambda d: d.update(version=2), "$.version"),
        (lambda d: d["transitions"][0].update(when="always"), "$.transitions[0].when"),
        (lambda d: d["transitions"][0].pop("to"), "$.transitions[0].to"),
        (lambda d: d["states"].append("Bad State"), "$.states[10]"),
        (lambda d: d["triggers"].append("submit"), "$.triggers"),
    ],
)
def test_schema_invalid_tables_are_refused(tmp_path: Path, mutate: Any, path: str) -> None:
    data = raw_table()
    mutate(data)
    with pytest.raises(ContractViolation) as info:
        load_transition_table(write(tmp_path, data))
    assert info.value.path == path
