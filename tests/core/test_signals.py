"""Signals on the Python core: the golden signal cases, the refusal list, the
arithmetic against a plain reading of the contract, and the wake filter.

The native core is held to the same files and to this core in
tests/native/test_signals_parity.py.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.contracts import (
    iter_errors,
    list_signal_cases,
    load_signal_case,
    load_signal_refusals,
    signals_root,
)
from lockstep.contracts.golden import read_json
from lockstep.core import SetupError, build_core
from lockstep.core.block import WakeSpec
from lockstep.core.cases import run_signal_case, signal_refusal

T0 = 1_767_623_400_000_000_000
MINUTE = 60_000_000_000
SETUP = read_json(signals_root() / "refusals" / "setup.json")  # AAPL (2 places) and BTC (1)


def _bar(n: int, close: int, instrument: str = "AAPL", **fields: int) -> dict[str, Any]:
    payload = {"open": close, "high": close, "low": close, "close": close, "volume": 10}
    payload.update(fields)
    return {
        "kind": "event",
        "seq_id": None,
        "event_time": T0 + n * MINUTE,
        "ingest_time": T0 + n * MINUTE,
        "source": "market_data",
        "venue": "sim",
        "instrument": instrument,
        "event_type": "bar",
        "payload": payload,
        "idempotency_key": None,
        "producer_index": 0,
    }


def _one(kind: str, period: int, field: str = "close") -> dict[str, Any]:
    return {
        "instruments": ["AAPL"],
        "indicators": {"v": {"kind": kind, "field": field, "period": period}},
        "conditions": {"c": {"op": "above", "left": "close", "right": {"value": "0"}}},
    }


@pytest.mark.parametrize("name", list_signal_cases())
def test_golden_signal_case_reproduces_byte_for_byte(name: str) -> None:
    case = load_signal_case(name)
    assert case.expected is not None, f"{name}: run nox -s golden -- --update"
    assert iter_errors("signals", case.spec) == []
    expected = (case.path / "expected.jsonl").read_bytes()
    assert run_signal_case(case.path, backend="python") == expected


def test_there_are_golden_signal_cases_that_fire() -> None:
    fired = 0
    for name in list_signal_cases():
        case = load_signal_case(name)
        assert case.expected is not None
        fired += sum(len(line["firings"]) for line in case.expected)
    assert len(list_signal_cases()) >= 3 and fired >= 20


# Rules the schema cannot state: they need the setup (instruments, places) or
# cross-reference names, or count depth.
NEEDS_THE_CORE = (
    "unknown instrument",
    "unknown indicator",
    "compares ",
    "decimal places for",
    "out of range for",
    "nest at most",
)


def test_every_refusal_is_the_cores_and_the_schema_agrees() -> None:
    setup, refusals = load_signal_refusals()
    assert len(refusals) >= 50
    for refusal in refusals:
        assert signal_refusal(setup, refusal.spec, backend="python") == (
            refusal.path,
            refusal.reason,
        )
        schema_ok = (
            iter_errors("signals", refusal.spec) == [] if isinstance(refusal.spec, dict) else False
        )
        # What the schema accepts, only a rule that needs the setup can refuse.
        assert not schema_ok or any(part in refusal.reason for part in NEEDS_THE_CORE), refusal


def test_refusal_message_names_path_and_reason() -> None:
    core = build_core(SETUP, backend="python")
    with pytest.raises(SetupError, match=r"\$\.indicators\.a\.period: must be an integer"):
        core.declare_signals(
            {
                "indicators": {"a": {"kind": "sma", "field": "close", "period": 0}},
                "conditions": {"c": {"op": "above", "left": "a", "right": "close"}},
            }
        )
    core.declare_signals(_one("sma", 3))
    with pytest.raises(SetupError, match="already declared"):
        core.declare_signals(_one("sma", 3))
    with pytest.raises(SetupError, match="'BTC' is not one of the signals' instruments"):
        core.signal_values("BTC")
    with pytest.raises(SetupError, match="no signals are declared"):
        build_core(SETUP, backend="python").signal_values("AAPL")


# -- the arithmetic, against a plain reading of docs/reference/signals.md -------------------


def _reference(kind: str, n: int, xs: list[int]) -> list[int | None]:
    scaled = [x * 10**6 for x in xs]
    out: list[int | None] = []
    ema: int | None = None
    au = ad = 0
    for t in range(len(scaled)):
        window = scaled[max(0, t - n + 1) : t + 1]
        if kind == "sma":
            out.append(math.floor(Fraction(sum(window), n)) if len(window) == n else None)
        elif kind in ("highest", "lowest"):
            pick = max if kind == "highest" else min
            out.append(pick(window) if len(window) == n else None)
        elif kind == "ema":
            if t + 1 == n:
                ema = math.floor(Fraction(sum(window), n))
            elif ema is not None:
                ema = ema + math.floor(Fraction(2 * (scaled[t] - ema), n + 1))
            out.append(ema)
        else:
            changes = [scaled[k] - scaled[k - 1] for k in range(1, t + 1)]
            if len(changes) < n:
                out.append(None)
                continue
            up, down = max(changes[-1], 0), max(-changes[-1], 0)
            if len(changes) == n:
                au = math.floor(Fraction(sum(max(c, 0) for c in changes), n))
                ad = math.floor(Fraction(sum(max(-c, 0) for c in changes), n))
            else:
                au = math.floor(Fraction(au * (n - 1) + up, n))
                ad = math.floor(Fraction(ad * (n - 1) + down, n))
            total = au + ad
            out.append(50 * 10**6 if total == 0 else math.floor(Fraction(100 * 10**6 * au, total)))
    return out


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(["sma", "ema", "rsi", "highest", "lowest"]),
    n=st.integers(1, 9),
    closes=st.lists(st.integers(1, 60), min_size=1, max_size=40),
)
def test_indicator_values_follow_the_contract(kind: str, n: int, closes: list[int]) -> None:
    core = build_core(SETUP, backend="python")
    core.declare_signals(_one(kind, n))
    got = []
    for t, close in enumerate(closes):
        core.step(_bar(t, close))
        got.append(core.signal_values("AAPL")["v"])
    assert got == _reference(kind, n, closes)


@settings(max_examples=100, deadline=None)
@given(closes=st.lists(st.integers(1, 30), min_size=2, max_size=40), level=st.integers(1, 30))
def test_crossings_and_levels_fire_where_the_contract_says(closes: list[int], level: int) -> None:
    """close against a constant (the AAPL close has 2 places: level/100 is level units)."""
    constant = {"value": f"{level // 100}.{level % 100:02d}"}
    core = build_core(SETUP, backend="python")
    core.declare_signals(
        {
            "instruments": ["AAPL"],
            "indicators": {"v": {"kind": "sma", "field": "close", "period": 1}},
            "conditions": {
                "up": {"op": "crossover", "left": "close", "right": constant},
                "down": {"op": "crossunder", "left": "close", "right": constant},
                "high": {"op": "above", "left": "close", "right": constant},
                "calm": {
                    "op": "not",
                    "of": {
                        "op": "any",
                        "of": [
                            {"op": "above", "left": "close", "right": constant},
                            {"op": "below", "left": "close", "right": constant},
                        ],
                    },
                },
            },
        }
    )
    for t, close in enumerate(closes):
        core.step(_bar(t, close))
        fired = [name for f in core.take_signals() for name in f["fired"]]
        previous = closes[t - 1] if t else None
        expect = []
        if close == level:
            expect.append("calm")
        if previous is not None and close < level <= previous:
            expect.append("down")
        if close > level:
            expect.append("high")
        if previous is not None and close > level >= previous:
            expect.append("up")
        assert fired == expect


def test_trades_and_refused_bars_do_not_move_signals() -> None:
    core = build_core(SETUP, backend="python")
    core.declare_signals(_one("sma", 2))
    core.step(_bar(0, 10))
    trade = dict(_bar(1, 0), event_type="trade", payload={"price": 99, "size": 1})
    core.step(trade)
    with pytest.raises(Exception, match="high"):
        core.step(_bar(2, 50, high=1))  # high below close: refused, never committed
    core.step(_bar(3, 20))
    assert core.signal_values("AAPL") == {"v": 15 * 10**6}


def test_restore_clears_values_but_keeps_the_declaration() -> None:
    core = build_core(SETUP, backend="python")
    core.declare_signals(_one("sma", 2))
    for t in range(3):
        core.step(_bar(t, 10 + t))
    snapshot = core.snapshot()
    state_hash = core.state_hash()
    assert core.signal_values("AAPL") == {"v": 11_500_000}
    core.restore(snapshot)
    assert core.state_hash() == state_hash  # signals are not business state
    assert core.signal_values("AAPL") == {"v": None}
    core.step(_bar(3, 20))
    core.step(_bar(4, 30))
    assert core.signal_values("AAPL") == {"v": 25_000_000}


def test_a_signal_wake_stops_the_block_only_on_firing_bars() -> None:
    core = build_core(SETUP, backend="python")
    core.declare_signals(
        {
            "instruments": ["AAPL"],
            "indicators": {"v": {"kind": "sma", "field": "close", "period": 1}},
            "conditions": {"up": {"op": "crossover", "left": "close", "right": {"value": "0.05"}}},
        }
    )
    closes = [1, 2, 9, 3, 4, 7, 1, 1, 8]
    wake = WakeSpec(event_types=frozenset({"bar"}), signals=True)
    cursor = core.open_block([_bar(t, c) for t, c in enumerate(closes)])
    stops = []
    done = 0
    while True:
        result = cursor.run(wake=wake)
        done += result.consumed
        if not result.woke:
            break
        stops.append(done - 1)
        assert [f["seq_id"] for f in core.take_signals()] == [done]
    assert stops == [2, 5, 8]
    assert done == len(closes)


def test_the_schema_and_the_core_name_the_same_kinds_fields_and_ops() -> None:
    from lockstep.contracts import load_schema
    from lockstep.core import signals

    schema = load_schema("signals")
    assert sorted(schema["$defs"]["indicator"]["properties"]["kind"]["enum"]) == list(signals.KINDS)
    assert sorted(schema["$defs"]["field"]["enum"]) == list(signals.FIELDS)
    ops = [o for branch in schema["$defs"]["condition"]["oneOf"] for o in _enum(branch)]
    assert sorted(ops) == list(signals.OPS)


def _enum(branch: dict[str, Any]) -> list[str]:
    op = branch["properties"]["op"]
    return list(op.get("enum", [op.get("const")]))
