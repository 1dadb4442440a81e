"""ctx.round_price / ctx.round_qty: computed prices and sizes put on the instrument's grid.

The properties are checked against an independent exact computation (fractions
of fixed-point units), for every input form the helpers take, on instruments
with different precisions, ticks and lots. Runs through the API and the CLI
show that the results are what ``ctx.buy`` takes and what the core accepts.
"""

from __future__ import annotations

import csv
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lockstep.adapters import instruments_from_setup, load_dataset, setup_for
from lockstep.runtime import Context, Event, Strategy, StrategyError, run_backtest
from lockstep.runtime.context import RoundMode
from lockstep.runtime.ledger import Ledger
from runtime_kit import LOT, TST, daily_rows, run_cli, write_dataset

# Price precision 1 with a 0.5 tick and sizes to 0.001 in lots of 0.025; an odd tick of 0.07.
ODD = {
    "id": "ODD",
    "venue": "sim",
    "quote_currency": "USD",
    "price_precision": 1,
    "size_precision": 3,
    "tick_size": 5,
    "lot_size": 25,
}
SEVEN = dict(TST, id="SEVEN", tick_size=7, lot_size=3)
SPECS: dict[str, dict[str, Any]] = {str(s["id"]): s for s in (TST, LOT, ODD, SEVEN)}
MODES: tuple[RoundMode, ...] = ("down", "up", "nearest")


def _context() -> Context:
    """A context on a setup with the instruments above (only what the helpers read)."""
    setup = {
        "currencies": [{"code": "USD", "money_precision": 4}],
        "instruments": list(SPECS.values()),
        "starting_cash": {"USD": 10_000_000},
    }
    ledger = Ledger(setup, history=1)
    return Context("t", ledger, instruments_from_setup(setup), core=None)  # type: ignore[arg-type]


CTX = _context()


def _exact_units(value: int | str | Decimal | float, precision: int) -> Fraction:
    """The input in fixed-point units, exactly (the reference the helpers must match)."""
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    return Fraction(Decimal(value)) * Fraction(10**precision)


def _check(result: int, exact: Fraction, step: int, mode: RoundMode) -> None:
    assert isinstance(result, int) and not isinstance(result, bool)
    assert result % step == 0, "not on the grid"
    distance = result - exact
    if mode == "down":
        assert result <= exact and exact - result < step
    elif mode == "up":
        assert result >= exact and result - exact < step
    else:
        assert abs(distance) * 2 <= step
        if abs(distance) * 2 == step:  # a tie goes to the even multiple of the step
            assert (result // step) % 2 == 0


instrument_ids = st.sampled_from(sorted(SPECS))
modes = st.sampled_from(MODES)
decimals = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False, allow_infinity=False
)
floats = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
units = st.integers(min_value=-(10**15), max_value=10**15)


@given(instrument=instrument_ids, value=units, mode=modes)
@example(instrument="LOT", value=4047, mode="nearest")
@example(instrument="LOT", value=-5, mode="down")
def test_round_price_of_units_is_on_the_tick_and_in_the_mode_direction(
    instrument: str, value: int, mode: RoundMode
) -> None:
    spec = SPECS[instrument]
    result = CTX.round_price(instrument, value, mode)
    _check(result, Fraction(value), spec["tick_size"], mode)


@given(instrument=instrument_ids, value=decimals, mode=modes, as_text=st.booleans())
@example(instrument="LOT", value=Decimal("40.425"), mode="nearest", as_text=True)
@example(instrument="LOT", value=Decimal("40.475"), mode="nearest", as_text=False)
@example(instrument="ODD", value=Decimal("0.0125"), mode="nearest", as_text=True)
def test_round_price_and_qty_of_decimal_amounts(
    instrument: str, value: Decimal, mode: RoundMode, as_text: bool
) -> None:
    spec = SPECS[instrument]
    given_value: str | Decimal = str(value) if as_text else value
    price = CTX.round_price(instrument, given_value, mode)
    _check(price, _exact_units(value, spec["price_precision"]), spec["tick_size"], mode)
    qty = CTX.round_qty(instrument, given_value, mode)
    _check(qty, _exact_units(value, spec["size_precision"]), spec["lot_size"], mode)


@given(instrument=instrument_ids, value=floats, mode=modes)
@example(instrument="TST", value=101.37, mode="down")
@example(instrument="TST", value=0.1 + 0.2, mode="up")
def test_floats_are_read_through_their_shortest_repr(
    instrument: str, value: float, mode: RoundMode
) -> None:
    spec = SPECS[instrument]
    price = CTX.round_price(instrument, value, mode)
    _check(price, _exact_units(value, spec["price_precision"]), spec["tick_size"], mode)
    qty = CTX.round_qty(instrument, value, mode)
    _check(qty, _exact_units(value, spec["size_precision"]), spec["lot_size"], mode)


@given(instrument=instrument_ids, value=decimals, mode=modes)
def test_a_rounded_value_is_a_fixed_point_and_what_buy_records(
    instrument: str, value: Decimal, mode: RoundMode
) -> None:
    price = CTX.round_price(instrument, value, mode)
    qty = CTX.round_qty(instrument, value, mode)
    for again in MODES:  # already on the grid: every mode leaves it alone
        assert CTX.round_price(instrument, price, again) == price
        assert CTX.round_qty(instrument, qty, again) == qty
    CTX.buy(instrument, qty, limit=price)
    (intent,) = CTX._drain()
    assert (intent["qty"], intent["price"]) == (qty, price)


def test_hand_computed_values() -> None:
    r = CTX.round_price
    # The float 0.29 is 0.28999999999999998... in binary, and 0.29 * 100 is 28.999999999999996:
    # read as it prints, it is 29 cents in every mode.
    assert 0.29 * 100 < 29
    assert [r("TST", 0.29, m) for m in MODES] == [29, 29, 29]
    assert [r("TST", 101.37, m) for m in MODES] == [10137, 10137, 10137]
    assert [r("TST", "101.375", m) for m in MODES] == [10137, 10138, 10138]  # 7 odd: tie up
    assert [r("TST", "101.365", m) for m in MODES] == [10136, 10137, 10136]  # 6 even: tie down
    assert [r("LOT", 40.4321, m) for m in MODES] == [4040, 4045, 4045]
    assert r("LOT", "40.425", "nearest") == 4040 and r("LOT", "40.475", "nearest") == 4050
    assert [r("LOT", -7, m) for m in MODES] == [-10, -5, -5]  # down is toward minus infinity
    assert [r("ODD", Decimal("2533.26"), m) for m in MODES] == [25330, 25335, 25335]
    q = CTX.round_qty
    assert [q("LOT", 137, m) for m in MODES] == [130, 140, 140]
    assert [q("LOT", 2500 / 40.45, m) for m in MODES] == [60, 70, 60]
    assert [q("ODD", "1.2345", m) for m in MODES] == [1225, 1250, 1225]
    assert q("LOT", "9.99", "down") == 0  # less than one lot
    assert r("SEVEN", 10**30 + 1, "up") % 7 == 0  # big ints stay exact


@pytest.mark.parametrize("mode", ["DOWN", "floor", "half_even", "", None, 1])
def test_an_unknown_mode_is_named(mode: object) -> None:
    with pytest.raises(StrategyError) as caught:
        CTX.round_price("TST", "1.00", mode)  # type: ignore[arg-type]
    message = str(caught.value)
    assert f"unknown rounding mode {mode!r}" in message
    assert "'down', 'up', 'nearest'" in message and "ctx.round_price('TST')" in message
    with pytest.raises(StrategyError, match="unknown rounding mode"):
        CTX.round_qty("TST", 1, mode)  # type: ignore[arg-type]


def test_the_mode_is_required() -> None:
    with pytest.raises(TypeError, match="mode"):
        CTX.round_price("TST", "1.00")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="mode"):
        CTX.round_qty("TST", 1)  # type: ignore[call-arg]


def test_an_unknown_instrument_is_named_with_the_known_ones() -> None:
    with pytest.raises(StrategyError) as caught:
        CTX.round_price("NOPE", 1.5, "down")
    assert "unknown instrument 'NOPE'" in str(caught.value)
    assert str(sorted(SPECS)) in str(caught.value)
    with pytest.raises(StrategyError, match="unknown instrument 'NOPE'"):
        CTX.round_qty("NOPE", 1, "down")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        (Decimal("NaN"), "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("ten", "not a decimal number"),
        (True, "is a bool"),
        (Fraction(1, 3), "is a Fraction"),
        ([1], "is a list"),
    ],
)
def test_values_that_are_not_numbers_are_refused(value: object, words: str) -> None:
    with pytest.raises(StrategyError, match=words):
        CTX.round_price("TST", value, "down")  # type: ignore[arg-type]
    with pytest.raises(StrategyError, match=words):
        CTX.round_qty("TST", value, "down")  # type: ignore[arg-type]


# -- in a run ------------------------------------------------------------------------------------

GRID_BARS = [
    ("10.00", "10.20", "9.90", "10.10"),
    ("10.10", "10.20", "9.90", "10.00"),
    ("10.00", "10.10", "9.80", "9.95"),
]


class DipOnLots(Strategy):
    """Buys a computed float dip on an instrument with a 0.05 tick and lots of 10."""

    params: ClassVar[dict[str, object]] = {"rounded": True}

    def on_event(self, ctx: Context, event: Event) -> None:
        if ctx.position("LOT") or ctx.open_orders() or ctx.order("dip_on_lots-1"):
            return
        close = float(ctx.price_decimal("LOT", ctx.closes("LOT")[-1]))
        price, size = close * 0.997, 2500 / close  # 10.0699..., 247.52...
        if self.p.rounded:
            ctx.buy(
                "LOT",
                ctx.round_qty("LOT", size, "down"),
                limit=ctx.round_price("LOT", price, "down"),
            )
        else:  # what a strategy without the helpers ends up sending
            ctx.buy("LOT", int(size), limit=int(price * 100))


def _lot_data(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "lots", {"LOT": daily_rows(GRID_BARS)}, [LOT])


def test_rounded_orders_are_accepted_and_fill_where_unrounded_ones_are_rejected(
    tmp_path: Path,
) -> None:
    data = _lot_data(tmp_path)
    setup = setup_for(load_dataset(data), cash="10000")
    rounded = run_backtest(DipOnLots(), data, setup)
    assert rounded.rejected_intents == 0
    (trade,) = rounded.trades
    # 247.5 -> 240 (lots of 10); 10.0699 -> 10.05, filled at that limit: 240 * 10.05 = 2412.00 USD
    assert (trade.qty, trade.entry_notional) == (240, 241_200)
    raw = run_backtest(DipOnLots(rounded=False), data, setup)
    assert raw.rejected_intents == raw.intents > 0 and not raw.trades  # off the tick and the lot


STRATEGY_FILE = """
from lockstep.runtime import Strategy


class Dip(Strategy):
    def on_event(self, ctx, event):
        if ctx.position("LOT") == 0 and not ctx.open_orders() and not ctx.order("dip-1"):
            close = float(ctx.price_decimal("LOT", ctx.closes("LOT")[-1]))
            qty = ctx.round_qty("LOT", 2500 / close, "down")
            ctx.buy("LOT", qty, limit=ctx.round_price("LOT", close * 0.997, "down"))
"""


def test_cli_run_with_the_helpers(tmp_path: Path) -> None:
    data = _lot_data(tmp_path)
    strategy = tmp_path / "dip.py"
    strategy.write_text(STRATEGY_FILE, encoding="utf-8")
    out = tmp_path / "run"
    result = run_cli(
        "backtest", str(strategy), "--data", str(data), "--cash", "10000", "--out", str(out),
        "--no-report",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "0 rejected" in result.stdout
    with (out / "trades.csv").open(encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["instrument"], row["qty"]) == ("LOT", "240")
    assert Decimal(row["entry_price"]) == Decimal("10.05")
