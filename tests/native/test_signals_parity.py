"""Signals on the rust backend: the native core evaluates what the Python core evaluates.

``docs/reference/signals.md`` is the contract. For random bar series and
random declarations (every kind, op and operand, nesting, constants), after
every input item both cores hand out the same firings and the same values;
for bent declarations both refuse with the same ``SetupError`` path and
reason; bars through ``open_bars`` move signals as their envelopes through
``open_block`` do; and a wake filter with ``signals`` set stops blocks at
the same items on both cores.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.core import Core, LockstepError, SetupError, build_core
from lockstep.core.bars import BarBlock
from lockstep.core.block import BlockResult, WakeSpec
from lockstep.core.native import NativeCore
from testkit import I64_MAX, INSTRUMENT_VENUE, SETUP, T0, batch, event, place

FUZZ = settings(
    max_examples=int(os.environ.get("LOCKSTEP_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

INSTRUMENTS = ("AAA", "BBB", "CCC")
"""AAA and BBB have price_precision 2 (BBB size_precision 2), CCC price_precision 1."""
KINDS = ("sma", "ema", "rsi", "highest", "lowest")
FIELDS = ("open", "high", "low", "close", "volume")
INDICATOR_NAMES = ("fast", "slow", "mid", "_x", "a1", "Rsi_2", "z" * 40)
CONDITION_NAMES = ("enter", "exit", "open", "c_1", "_", "Z" * 40)
"""``open``: a condition may be named like a bar field (an indicator may not)."""
CONSTANTS = {
    # Prices are 100 to 110 ticks: 1.00 to 1.10 for AAA and BBB, 10.0 to 11.0 for CCC.
    "price": ("1", "1.05", "1.02", "10.3", "0", "-1", "1.030", "10.45", "0.000001"),
    # Volumes are 0 to 20 units: AAA and CCC count whole units, BBB hundredths.
    "volume": ("5", "10", "0.05", "0.1", "0", "-0"),
    "percent": ("30", "50", "70", "49.999999", "100", "0.5"),
}
WAKES = (
    WakeSpec(frozenset({"bar"}), signals=True),
    WakeSpec(frozenset({"bar"}), instruments=("BBB",), signals=True),
    WakeSpec(frozenset({"bar", "timer"}), fills=True, signals=True),
    WakeSpec(frozenset({"trade"}), signals=True),
    WakeSpec(frozenset({"bar"})),
)


def cores() -> tuple[Core, NativeCore]:
    python, rust = build_core(SETUP, backend="python"), build_core(SETUP, backend="rust")
    assert isinstance(python, Core) and isinstance(rust, NativeCore)
    return python, rust


def unit_of(operand: str, indicators: dict[str, Any]) -> str:
    if operand in indicators:
        if indicators[operand]["kind"] == "rsi":
            return "percent"
        operand = indicators[operand]["field"]
    return "volume" if operand == "volume" else "price"


# -- declarations ---------------------------------------------------------------------------


@st.composite
def conditions(draw: st.DrawFn, indicators: dict[str, Any], depth: int = 1) -> dict[str, Any]:
    if depth < 4 and draw(st.integers(0, 2)) == 0:
        op = draw(st.sampled_from(["all", "any", "not"]))
        if op == "not":
            return {"op": op, "of": draw(conditions(indicators, depth + 1))}
        parts = draw(st.lists(conditions(indicators, depth + 1), min_size=1, max_size=3))
        return {"op": op, "of": parts}
    op = draw(st.sampled_from(["above", "below", "crossover", "crossunder"]))
    left = draw(st.sampled_from([*indicators, *FIELDS]))
    unit = unit_of(left, indicators)
    same_unit = [o for o in [*indicators, *FIELDS] if unit_of(o, indicators) == unit]
    right: Any = draw(
        st.one_of(
            st.sampled_from(same_unit),
            st.sampled_from(CONSTANTS[unit]).map(lambda text: {"value": text}),
        )
    )
    if draw(st.booleans()):
        left, right = right, left
    return {"op": op, "left": left, "right": right}


@st.composite
def declarations(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(INDICATOR_NAMES), min_size=1, max_size=5, unique=True))
    indicators = {
        name: {
            "kind": draw(st.sampled_from(KINDS)),
            "field": draw(st.sampled_from(FIELDS)),
            "period": draw(st.integers(1, 6)),
        }
        for name in names
    }
    condition_names = draw(
        st.lists(st.sampled_from(CONDITION_NAMES), min_size=1, max_size=4, unique=True)
    )
    spec: dict[str, Any] = {
        "indicators": indicators,
        "conditions": {name: draw(conditions(indicators)) for name in condition_names},
    }
    scope = draw(
        st.sampled_from(
            ["absent", None, ["AAA"], ["BBB"], ["AAA", "BBB"], ["BBB", "AAA"], ["CCC", "AAA"]]
        )
    )
    if scope != "absent":
        spec["instruments"] = scope
    return spec


def scope_of(spec: dict[str, Any]) -> list[str]:
    scope = spec.get("instruments")
    return list(INSTRUMENTS) if scope is None else list(scope)


# -- bars -----------------------------------------------------------------------------------


@st.composite
def bar_rows(draw: st.DrawFn) -> list[list[int]]:
    """Rows ``[event_time, open, high, low, close, volume, instrument index]``: small
    prices with many ties, and now and then two or three instruments at one time."""
    used = draw(st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True))
    rows = []
    t = T0
    for _ in range(draw(st.integers(1, 45))):
        t += draw(st.sampled_from([60_000_000_000, 60_000_000_000, 3_600_000_000_000]))
        at_once = draw(st.lists(st.sampled_from(used), min_size=1, max_size=3, unique=True))
        for instrument in at_once:
            low = draw(st.integers(100, 106))
            high = low + draw(st.integers(0, 4))
            rows.append(
                [
                    t,
                    draw(st.integers(low, high)),
                    high,
                    low,
                    draw(st.integers(low, high)),
                    draw(st.integers(0, 20)),
                    instrument,
                ]
            )
    return rows


def bar_item(row: list[int], key: str | None = None) -> dict[str, Any]:
    t, o, h, lo, c, v, p = row
    instrument = INSTRUMENTS[p]
    payload = {"open": o, "high": h, "low": lo, "close": c, "volume": v}
    return event(
        t,
        "market_data",
        "bar",
        payload,
        venue=INSTRUMENT_VENUE[instrument],
        instrument=instrument,
        key=key,
        producer=p,
    )


def as_block(rows: list[list[int]]) -> BarBlock:
    sources = [(INSTRUMENT_VENUE[i], i) for i in INSTRUMENTS]
    return BarBlock.from_columns([list(column) for column in zip(*rows, strict=True)], sources)


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The rows' items, with trades, quotes, duplicate keys and refused bars mixed in
    (none of which may move a signal)."""
    items = as_block(draw(bar_rows())).items()
    out: list[dict[str, Any]] = []
    for item in items:
        extra = draw(st.integers(0, 12))
        if extra == 0 and item["kind"] == "event":
            out.append({**item, "idempotency_key": "k1"})  # a second k1 is a duplicate
            continue
        out.append(item)
        t = item["event_time"] if item["kind"] == "event" else item["events"][0]["event_time"]
        instrument = draw(st.sampled_from(INSTRUMENTS))
        venue = INSTRUMENT_VENUE[instrument]
        if extra == 1:
            trade = {"price": 150, "size": 3}
            out.append(event(t, "market_data", "trade", trade, venue=venue, instrument=instrument))
        elif extra == 2:
            quote = {"bid": 90, "ask": 92, "bid_size": 1, "ask_size": 1}
            out.append(event(t, "market_data", "quote", quote, venue=venue, instrument=instrument))
        elif extra == 3:
            bent = bar_item([t, 100, 99, 100, 100, 1, INSTRUMENTS.index(instrument)])
            out.append(bent)  # high below low: refused, moves nothing
    return out


# -- comparing ------------------------------------------------------------------------------


def outcome(call: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", call(*args)
    except LockstepError as err:
        return type(err).__name__, (getattr(err, "path", None), getattr(err, "reason", str(err)))


def same_signals(python: Core, rust: NativeCore, spec: dict[str, Any] | None) -> int:
    """Both cores' firings and values agree; returns how many firings were taken."""
    taken = python.take_signals()
    assert rust.take_signals() == taken
    for instrument in INSTRUMENTS:
        expected = outcome(python.signal_values, instrument)
        assert outcome(rust.signal_values, instrument) == expected
        in_scope = spec is not None and instrument in scope_of(spec)
        assert (expected[0] == "ok") == in_scope
    return len(taken)


def same_runs(python: BlockResult, rust: BlockResult) -> None:
    assert (rust.consumed, rust.counts, rust.woke) == (python.consumed, python.counts, python.woke)
    assert rust.lines() == python.lines()
    assert type(rust.error) is type(python.error)


# -- properties -----------------------------------------------------------------------------


@FUZZ
@given(spec=declarations(), items=streams(), data=st.data())
def test_both_cores_fire_and_value_alike_after_every_item(
    spec: dict[str, Any], items: list[dict[str, Any]], data: st.DataObject
) -> None:
    python, rust = cores()
    declare_at = data.draw(st.integers(0, min(5, len(items))), label="declare_at")
    restore_at = data.draw(st.integers(0, len(items) + 1), label="restore_at")
    snapshot = None
    declared: dict[str, Any] | None = None
    firings = 0
    for n, item in enumerate(items):
        if n == declare_at:
            python.declare_signals(spec)
            rust.declare_signals(spec)
            declared = spec
        if n == restore_at // 2:
            snapshot = python.snapshot()
        if n == restore_at and snapshot is not None:
            python.restore(snapshot)
            rust.restore(snapshot)
        expected = outcome(python.step, item)
        got = outcome(rust.step, item)
        assert got[0] == expected[0]
        if expected[0] == "ok":
            assert got[1] == expected[1]
        firings += same_signals(python, rust, declared)
    assert python.state_hash() == rust.state_hash()


@FUZZ
@given(spec=declarations(), rows=bar_rows(), wake=st.sampled_from(WAKES), orders=st.booleans())
def test_bar_blocks_and_wake_filters_stop_alike(
    spec: dict[str, Any], rows: list[list[int]], wake: WakeSpec, orders: bool
) -> None:
    """Run after run, each core through ``open_bars`` and the native core also
    through ``open_block(block.items())``: same stops, same firings."""
    block = as_block(rows)
    python, rust = cores()
    _, by_items = cores()
    for core in (python, rust, by_items):
        if orders:  # resting orders, so bars make fills too
            core.step(batch(T0, place("o1", qty=5, order_type="limit", price=103)))
        core.declare_signals(spec)
    runs: list[Any] = [
        python.open_bars(block),
        rust.open_bars(block),
        by_items.open_block(block.items()),
    ]
    while True:
        expected, got, again = (run.run(wake) for run in runs)
        same_runs(expected, got)
        same_runs(expected, again)
        taken = python.take_signals()
        assert rust.take_signals() == taken
        assert by_items.take_signals() == taken
        if wake.signals and wake.event_types == frozenset({"bar"}) and wake.instruments is None:
            # Such a run stops exactly on an item whose bars fired.
            assert expected.woke == bool(taken)
        if not expected.woke:
            break
        assert expected.consumed > 0
    assert python.state_hash() == rust.state_hash() == by_items.state_hash()
    for instrument in scope_of(spec):
        assert rust.signal_values(instrument) == python.signal_values(instrument)


JUNK: tuple[Any, ...] = (
    None,
    True,
    1,
    1.0,
    -1,
    0,
    10_001,
    2**70,
    "x",
    "",
    "close",
    "fast",
    "1e3",
    "ZZZ",
    "AAA",
    {},
    [],
    ["AAA"],
    ["AAA", "AAA"],
    {"value": "1.5"},
    {"value": "1.1234567"},
    {"value": "1.12345678"},
    {"value": "-0.0000001"},
    {"value": "99999999999999"},
    {"value": "92233720368.54775807"},
    {"value": 3},
    {"value": "+1"},
    {"value": "1", "x": 1},
    {"op": "not"},
    {"op": "above", "left": "close", "right": "volume"},
    {"op": "any", "of": [{"value": "1"}]},
    {"op": "all", "of": [{"op": "below", "left": "volume", "right": "fast"}] * 17},
    {"kind": "rsi", "field": "volume", "period": 3},
)
KEYS = (
    "extra",
    "op",
    "of",
    "left",
    "right",
    "kind",
    "field",
    "period",
    "value",
    "instruments",
    "9bad",
    "a-b",
    "open",
    "é",
    "x" * 41,
    "fast\n",
    "",
)


def spots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree (as a path of keys and indexes)."""
    out = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            out.extend(spots(child, (*path, key)))
    elif isinstance(value, list):
        for n, child in enumerate(value):
            out.extend(spots(child, (*path, n)))
    return out


@st.composite
def bent_declarations(draw: st.DrawFn) -> Any:
    """A valid declaration bent in one to three places (replaced, dropped, added,
    renamed or nested too deep), so most bends hit one rule and some hit several."""
    spec: Any = copy.deepcopy(draw(declarations()))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(spots(spec)))
        parent: Any = None
        target = spec
        for step in path:
            parent, target = target, target[step]
        how = draw(st.sampled_from(["replace", "drop", "add", "rename", "deepen"]))
        if how == "replace" or (how in ("drop", "rename") and parent is None):
            new: Any = copy.deepcopy(draw(st.sampled_from(JUNK)))
            if parent is None:
                spec = new
            else:
                parent[path[-1]] = new
        elif how == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif how == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = parent.pop(path[-1])
        elif how == "add" and isinstance(target, dict):
            target[draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(st.sampled_from(JUNK)))
        elif how == "deepen" and isinstance(target, dict) and parent is not None:
            for _ in range(draw(st.integers(1, 9))):
                target = {"op": "not", "of": target}
            parent[path[-1]] = target
    return spec


@FUZZ
@given(spec=bent_declarations())
def test_bent_declarations_are_refused_alike(spec: Any) -> None:
    python, rust = cores()
    expected = outcome(python.declare_signals, spec)
    assert outcome(rust.declare_signals, spec) == expected
    assert expected[0] in ("ok", "SetupError")


@pytest.mark.parametrize(
    "spec",
    [
        {"indicators": {"a": {"kind": "sma", "field": "close", "period": (3,)}}},
        {"indicators": {"a": {"kind": "sma", "field": "close", "period": float("nan")}}},
        {"instruments": ("AAA",), "indicators": {}, "conditions": {}},
    ],
)
def test_a_declaration_json_cannot_carry_gets_the_python_refusal(spec: Any) -> None:
    python, rust = cores()
    expected = outcome(python.declare_signals, spec)
    assert expected[0] == "SetupError"
    assert outcome(rust.declare_signals, spec) == expected


@pytest.mark.parametrize("table", ["indicators", "conditions"])
def test_each_name_is_checked_whole_before_the_next(table: str) -> None:
    """Rules 4 and 5 go name by name: the first name's body is refused before a
    later name's spelling is looked at."""
    spec: dict[str, Any] = {
        "indicators": {"a": {"kind": "sma", "field": "close", "period": 3}},
        "conditions": {"x": {"op": "above", "left": "a", "right": "close"}},
    }
    spec[table] = {"a": 5, "b-c": spec[table][next(iter(spec[table]))]}
    python, rust = cores()
    assert outcome(rust.declare_signals, spec) == (
        "SetupError",
        (f"$.{table}.a", "must be an object"),
    )
    assert outcome(python.declare_signals, spec) == outcome(rust.declare_signals, spec)


def test_declaring_again_is_refused_alike() -> None:
    """A second declaration, valid or not: the contract checks the declaration
    (rules 1 to 5) before refusing a second one (rule 6)."""
    spec = {
        "indicators": {"a": {"kind": "sma", "field": "close", "period": 3}},
        "conditions": {"x": {"op": "above", "left": "a", "right": "close"}},
    }
    python, rust = cores()
    python.declare_signals(spec)
    rust.declare_signals(spec)
    again: Any
    for again in (spec, {**spec, "extra": 1}, []):
        expected = outcome(python.declare_signals, again)
        assert expected[0] == "SetupError"
        assert outcome(rust.declare_signals, again) == expected


def test_before_a_declaration_there_is_nothing_to_take_or_read() -> None:
    python, rust = cores()
    for core in (python, rust):
        assert core.take_signals() == []
        with pytest.raises(SetupError) as refused:
            core.signal_values("AAA")
        assert (refused.value.path, refused.value.reason) == ("$", "no signals are declared")


def test_a_long_series_with_extreme_prices_agrees() -> None:
    """Averages of prices near the int64 bound need more than 64 bits; both cores
    must carry them exactly (the native core in i128)."""
    spec = {
        "instruments": ["AAA", "BBB"],
        "indicators": {
            "fast": {"kind": "sma", "field": "close", "period": 10},
            "slow": {"kind": "sma", "field": "close", "period": 30},
            "smooth": {"kind": "ema", "field": "close", "period": 7},
            "strength": {"kind": "rsi", "field": "close", "period": 14},
            "top": {"kind": "highest", "field": "high", "period": 20},
            "floor": {"kind": "lowest", "field": "volume", "period": 20},
            "flow": {"kind": "ema", "field": "volume", "period": 5},
        },
        "conditions": {
            "enter": {
                "op": "all",
                "of": [
                    {"op": "crossover", "left": "fast", "right": "slow"},
                    {"op": "below", "left": "strength", "right": {"value": "70"}},
                ],
            },
            "exit": {"op": "crossunder", "left": "fast", "right": "slow"},
            "breakout": {"op": "not", "of": {"op": "below", "left": "high", "right": "top"}},
            "busy": {"op": "above", "left": "volume", "right": "flow"},
        },
    }
    rows = []
    for k in range(600):
        big = k % 200 >= 100
        base = I64_MAX - 5_000 if big else 10_000
        close = base + (k * 7919) % 1_000 + (k // 50) * (1 if big else 40)
        volume = I64_MAX - k if big else (k * 31) % 500
        rows.append([T0 + k * 60_000_000_000, close, close + 3, close - 3, close, volume, k % 2])
    python, rust = cores()
    python.declare_signals(spec)
    rust.declare_signals(spec)
    block = as_block(rows)
    wake = WakeSpec(frozenset({"bar"}), signals=True)
    runs = (python.open_bars(block), rust.open_bars(block))
    stops = 0
    while True:
        expected, got = (run.run(wake) for run in runs)
        same_runs(expected, got)
        assert got.error is None
        taken = python.take_signals()
        assert rust.take_signals() == taken
        for instrument in ("AAA", "BBB"):
            assert rust.signal_values(instrument) == python.signal_values(instrument)
        if not expected.woke:
            break
        stops += 1
    assert stops > 20
    assert any(v is not None and v > I64_MAX for v in python.signal_values("AAA").values())
