"""Property tests: schema bounds and patterns agree with their plain-Python definitions."""

from __future__ import annotations

import re

import pytest

from lockstep.contracts import iter_errors

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given = hypothesis.given

I63 = 2**63 - 1
IDENT = re.compile(r"[A-Za-z0-9_.:/\-]{1,64}")
CCY = re.compile(r"[A-Z][A-Z0-9]{1,11}")


def position_delta_ok(value: int) -> bool:
    record = {
        "seq_id": 1,
        "origin": "input",
        "input": {
            "kind": "intent_batch",
            "seq_id": 1,
            "batch_id": "b",
            "strategy_id": "s",
            "ts": 0,
            "intents": [],
        },
        "transitions": [],
        "fills": [],
        "position_deltas": [{"instrument": "X", "delta": value}],
        "cash_deltas": [{"currency": "USD", "delta": 0}],
        "intent_outcomes": [],
        "diagnostics": [],
        "prev_hash": "0" * 64,
        "hash": "0" * 64,
    }
    return iter_errors("trace_record", record) == []


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_position_bounds(value: int) -> None:
    assert position_delta_ok(value) is (-I63 <= value <= I63)


@given(st.integers(min_value=-(2**130), max_value=2**130))
def test_money_bounds(value: int) -> None:
    state = {
        "business": {
            "orders": {},
            "positions": {},
            "cost_basis": {"X": value},
            "cash": {},
            "realized_pnl": {},
            "fees": {},
            "risk": {"halted": False, "reduce_only": False, "no_new_orders": False},
            "seen_keys": [],
            "quarantine": [],
        },
        "engine": {"last_seq_id": 0, "clock": 0, "marks": {}, "timers": {}, "last_hash": "0" * 64},
    }
    assert (iter_errors("state", state) == []) is (-(2**127) <= value <= 2**127 - 1)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_never_integers(value: float) -> None:
    assert not position_delta_ok(value)  # type: ignore[arg-type]


@given(st.text(max_size=70))
def test_identifier_pattern_is_a_full_match(text: str) -> None:
    intent = {"type": "cancel_order", "client_order_id": text}
    assert (iter_errors("intent", intent) == []) is (IDENT.fullmatch(text) is not None)


@given(st.text(alphabet="ABCXYZ019az\n -", max_size=14))
def test_currency_pattern_is_a_full_match(text: str) -> None:
    setup = {"currencies": [{"code": text, "money_precision": 2}], "venues": [], "instruments": []}
    assert (iter_errors("setup", setup) == []) is (CCY.fullmatch(text) is not None)
