"""Metrics and trades on hand-built equity curves and fills."""

from __future__ import annotations

import csv
import itertools
import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lockstep.runtime.ledger import Ledger
from lockstep.runtime.metrics import EquityCurve, EquityPoint, compute_metrics
from lockstep.runtime.trades import TradeBook, write_trades_csv
from runtime_kit import TST

DAY = 86_400 * 10**9
SETUP = {
    "currencies": [{"code": "USD", "money_precision": 2}],
    "instruments": [TST],
    "starting_cash": {"USD": 1000},
}


def _curve(values: list[int], exposed: list[bool] | None = None, step: int = DAY) -> EquityCurve:
    curve = EquityCurve(Ledger(SETUP))
    flags = exposed or [False] * len(values)
    curve.points = [
        EquityPoint(n * step, v, e) for n, (v, e) in enumerate(zip(values, flags, strict=True))
    ]
    return curve


def test_returns_drawdown_and_exposure_by_hand() -> None:
    values = [1000, 1100, 990, 1210, 1100]
    m = compute_metrics(_curve(values, [False, True, True, False, True]), [])
    assert (m.initial_equity, m.final_equity) == (1000, 1100)
    assert m.total_return == pytest.approx(0.1)
    returns = [0.1, -0.1, Fraction(220, 990), Fraction(-110, 1210)]
    returns = [float(r) for r in returns]
    years = 4 * DAY / (365.25 * DAY)
    ppy = 4 / years
    mean = sum(returns) / 4
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    assert m.sharpe == pytest.approx(mean / sd * math.sqrt(ppy))
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / 4)
    assert m.sortino == pytest.approx(mean / downside * math.sqrt(ppy))
    assert m.cagr == pytest.approx(1.1 ** (1 / years) - 1)
    # Peak 1100 (day 1) -> 990 (day 2) is -10 %; 1210 -> 1100 is -9.09 %: the first is the max.
    assert m.max_drawdown == pytest.approx(0.1)
    assert (m.max_drawdown_duration_samples, m.max_drawdown_duration_days) == (
        2,
        2.0,
    )  # back above on day 3
    assert m.exposure == 3 / 5
    assert m.samples == 5 and m.periods_per_year == pytest.approx(ppy)


def test_unrecovered_drawdown_runs_to_the_end() -> None:
    m = compute_metrics(_curve([1000, 900, 950]), [])
    assert m.max_drawdown == pytest.approx(0.1)
    assert (m.max_drawdown_duration_samples, m.max_drawdown_duration_days) == (2, 2.0)


def test_flat_and_degenerate_curves() -> None:
    flat = compute_metrics(_curve([1000, 1000, 1000]), [])
    assert (flat.total_return, flat.sharpe, flat.sortino, flat.max_drawdown) == (
        0.0,
        None,
        None,
        0.0,
    )
    single = compute_metrics(_curve([1000]), [])
    assert (single.cagr, single.sharpe, single.years) == (None, None, None)
    empty = compute_metrics(_curve([]), [])
    assert empty.final_equity == 1000 and empty.exposure == 0.0
    ruined = compute_metrics(_curve([1000, 0, 10]), [])
    assert ruined.sharpe is None and ruined.cagr is not None


def _fill(side: str, qty: int, price: int, fee: int = 0) -> dict[str, object]:
    return {
        "order_id": "o",
        "fill_id": "f",
        "instrument": "TST",
        "side": side,
        "qty": qty,
        "price": price,
        "notional": qty * price,
        "fee": fee,
        "currency": "USD",
    }


def test_trade_book_round_trips_and_flips() -> None:
    book = TradeBook()
    book.on_fill(_fill("buy", 10, 100, 3), 1)
    book.on_fill(_fill("buy", 10, 110, 3), 2)  # adds to the long
    book.on_fill(_fill("sell", 5, 120, 1), 3)  # reduces
    book.on_fill(_fill("sell", 25, 130, 10), 4)  # closes 15, opens a 10 short
    book.on_fill(_fill("buy", 10, 125, 2), 5)  # closes the short
    long, short = book.trades
    assert long.closed and long.direction == "long" and long.exit_time == 4
    assert (long.qty, long.entry_notional) == (20, 1000 + 1100)
    # 15 of the 25 sold close the long: 3250 * 15 / 25 = 1950 notional, fee 10 * 15 / 25 = 6.
    assert (long.exit_qty, long.exit_notional, long.fees) == (20, 600 + 1950, 3 + 3 + 1 + 6)
    assert long.pnl == 2550 - 2100 - 13
    assert short.direction == "short" and (short.entry_time, short.exit_time) == (4, 5)
    assert (short.qty, short.entry_notional, short.exit_notional, short.fees) == (
        10,
        1300,
        1250,
        4 + 2,
    )
    assert short.pnl == 1300 - 1250 - 6
    m = compute_metrics(_curve([1000, 1000]), book.trades)
    assert (m.trades, m.win_rate, m.gross_profit, m.gross_loss, m.profit_factor) == (
        2,
        1.0,
        437 + 44,
        0,
        None,
    )


def test_profit_factor_and_win_rate() -> None:
    book = TradeBook()
    for buy, sell in ((100, 130), (100, 90), (100, 110)):
        book.on_fill(_fill("buy", 1, buy), 1)
        book.on_fill(_fill("sell", 1, sell), 2)
    book.on_fill(_fill("buy", 1, 100), 3)  # still open: not counted
    m = compute_metrics(_curve([1000, 1000]), book.trades)
    assert (m.trades, m.open_trades) == (3, 1)
    assert m.win_rate == pytest.approx(2 / 3)
    assert m.profit_factor == pytest.approx(40 / 10)


def test_trades_csv(tmp_path: Path) -> None:
    book = TradeBook()
    book.on_fill(_fill("buy", 3, 1001, 5), 1_704_229_200 * 10**9)
    book.on_fill(_fill("sell", 3, 1100, 5), 1_704_315_600 * 10**9)
    book.on_fill(_fill("sell", 2, 1000), 1_704_315_600 * 10**9)
    path = tmp_path / "trades.csv"
    assert write_trades_csv(path, book.trades, {"TST": TST}, {"USD": 2}) == 2
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0] == {
        "trade": "1",
        "instrument": "TST",
        "direction": "long",
        "status": "closed",
        "entry_time": "2024-01-02T21:00:00Z",
        "exit_time": "2024-01-03T21:00:00Z",
        "qty": "3",
        "entry_price": "10.0100",
        "exit_price": "11.0000",
        "pnl": "2.87",
        "unrealised_pnl": "0.00",
        "mark_price": "",
        "fees": "0.10",
        "return": "0.095571",
        "currency": "USD",
    }
    assert (
        rows[1]["status"] == "open" and rows[1]["exit_time"] == "" and rows[1]["exit_price"] == ""
    )


def _returns_by_fractions(equities: list[int]) -> list[float] | None:
    """The exact definition the fast ``_returns`` must equal: one Fraction per step."""
    out = []
    for before, after in itertools.pairwise(equities):
        if before <= 0:
            return None
        out.append(float(Fraction(after - before, before)))
    return out


def _drawdown_by_fractions(initial: int, values: list[int]) -> Fraction:
    """The largest fall from a peak as an exact fraction, the plain way."""
    worst, peak = Fraction(0), initial
    for value in [initial, *values]:
        peak = max(peak, value)
        if peak > 0 and value < peak:
            worst = max(worst, Fraction(peak - value, peak))
    return worst


@given(st.lists(st.integers(-(10**15), 10**15), min_size=1, max_size=60))
def test_returns_and_drawdown_equal_their_exact_definitions(values: list[int]) -> None:
    from lockstep.runtime.metrics import _max_drawdown, _returns

    points = [EquityPoint(n * DAY, v, False) for n, v in enumerate(values)]
    assert _returns(values) == _returns_by_fractions(values)
    initial = 1000
    assert _max_drawdown(initial, points)[0] == float(_drawdown_by_fractions(initial, values))
