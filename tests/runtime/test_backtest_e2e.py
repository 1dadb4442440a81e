"""End-to-end backtests on tiny hand-made CSV files; every expected number is worked out here."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import (
    Context,
    Event,
    Fill,
    OrderUpdate,
    RunStore,
    Strategy,
    run_backtest,
    verify_run,
)
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.tally import Tally
from runtime_kit import LOT, TST, daily_rows, write_dataset

# Closes 10, 10, 10, 9, 12, 13, 11, 8, 8.20 (price units of 0.01).
SMA_BARS = [
    ("10.00", "10.10", "9.90", "10.00"),
    ("10.00", "10.10", "9.90", "10.00"),
    ("10.00", "10.10", "9.90", "10.00"),
    ("10.00", "10.00", "8.90", "9.00"),
    ("9.00", "12.10", "9.00", "12.00"),
    ("12.50", "13.10", "12.40", "13.00"),
    ("13.00", "13.00", "10.90", "11.00"),
    ("10.50", "10.60", "7.90", "8.00"),
    ("8.50", "8.60", "7.90", "8.20"),
]


def test_sma_cross_on_a_hand_made_series(tmp_path: Path) -> None:
    """SMA(2) vs SMA(3), half the equity, 0.1 % fees, 10,000.00 USD (money precision 2).

    Averages are compared as sums: fast_sum * 3 > slow_sum * 2 means "fast above slow".
    Bar 4 (closes 10,10,10,9): sums 19 and 29 -> 57 < 58, not above.
    Bar 5 (10,10,9,12): 21*3=63 > 31*2=62 above; before (bar 4) not above: cross up, flat,
      budget = 10,000.00 * 0.5 = 5,000.00 -> qty = 500000 // 1200 = 416 at the 12.00 mark.
    Bar 6: the market buy fills at the open 12.50: 416 * 1250 = 520000, fee ceil(520) = 520.
    Bar 7 (9,12,13,11): 24*3=72 vs 36*2=72, equal: not below yet, so no cross down.
    Bar 8 (12,13,11,8): 19*3=57 < 32*2=64, below; before (bar 7) equal: cross down, sell 416.
    Bar 9: the sell fills at the open 8.50: 416 * 850 = 353600, fee ceil(353.6) = 354.
    """
    data = write_dataset(tmp_path / "sma", {"TST": daily_rows(SMA_BARS)})
    setup = setup_for(load_dataset(data), cash="10000", fee_ppm=1000)
    strategy = SmaCross(fast=2, slow=3, allocation="0.5")
    result = run_backtest(strategy, data, setup, store=tmp_path / "run.db")

    cash = 1_000_000 - 520_000 - 520 + 353_600 - 354
    assert cash == 832_726
    assert result.metrics.final_equity == cash
    assert result.metrics.initial_equity == 1_000_000

    [trade] = result.trades
    assert trade.closed and trade.direction == "long" and trade.instrument == "TST"
    assert (trade.qty, trade.entry_notional, trade.exit_notional, trade.fees) == (
        416,
        520_000,
        353_600,
        874,
    )
    assert trade.pnl == 353_600 - 520_000 - 874
    day = 86_400 * 10**9
    first = result.equity[0].time
    assert (trade.entry_time - first, trade.exit_time - first) == (5 * day, 8 * day)

    assert result.intent_batches == 2 and result.intents == 2 and result.rejected_intents == 0
    assert result.bars == 9

    m = result.metrics
    assert m.total_return == float(Fraction(cash - 1_000_000, 1_000_000))
    assert (m.trades, m.open_trades, m.win_rate, m.profit_factor) == (1, 0, 0.0, 0.0)
    # Equity: 1,000,000 for bars 1-5; bars 6-8: 479,480 + 416 * close; bar 9: cash.
    assert [p.equity for p in result.equity] == [1_000_000] * 5 + [
        479_480 + 540_800,
        479_480 + 457_600,
        479_480 + 332_800,
        cash,
    ]
    assert [p.exposed for p in result.equity] == [False] * 5 + [True, True, True, False]
    assert m.max_drawdown == float(Fraction(1_020_280 - 812_280, 1_020_280))
    assert (m.max_drawdown_duration_samples, m.max_drawdown_duration_days) == (3, 3.0)
    assert m.exposure == 3 / 9

    assert verify_run(tmp_path / "run.db").ok
    # The equity curve and trades can be rebuilt from the stored records alone.
    with RunStore.open(tmp_path / "run.db") as store:
        import json

        tally = Tally(result.setup)
        tally.add_all(json.loads(r.record) for r in store.records())
    derived = tally.finish()
    assert derived.equity == result.equity
    assert [t.to_dict() for t in derived.trades] == [t.to_dict() for t in result.trades]


class Scripted(Strategy):
    """Acts on the first bar time only; records what it is told."""

    name = "scripted"

    def __init__(self) -> None:
        super().__init__()
        self.fills: list[Fill] = []
        self.updates: list[OrderUpdate] = []
        self.events: list[tuple[str | None, int]] = []

    def on_event(self, ctx: Context, event: Event) -> None:
        self.events.append((event.instrument, event.seq_id))
        if len(self.events) == 1:
            ctx.buy("TST", 5, limit="99.00")  # rests: the first bar closed above
            ctx.buy("LOT", 15)  # 15 is not a multiple of the lot size 10: rejected
            ctx.sell("LOT", "20", limit="50.05")  # sell 20 at 50.05 or better

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        self.fills.append(fill)

    def on_order(self, ctx: Context, update: OrderUpdate) -> None:
        self.updates.append(update)


def test_limit_orders_rejections_and_callbacks_across_two_instruments(tmp_path: Path) -> None:
    """Two instruments at the same times: one event group per time, one intent batch per step.

    TST bar 2 (open 100.00, low 98.50): the buy limit 99.00 fills at 99.00 (open above the limit).
    LOT bar 2 (open 50.50): the sell limit 50.05 fills at the open 50.50 (open at or above the limit).
    Fees 0. Cash: 10,000.00 - 5 * 99.00 + 20 * 50.50 = 10,515.00.
    """
    rows = {
        "TST": daily_rows(
            [("100.00", "101.00", "99.50", "100.50"), ("100.00", "100.20", "98.50", "99.20")]
        ),
        "LOT": daily_rows(
            [("50.00", "50.10", "49.90", "50.00"), ("50.50", "50.60", "50.40", "50.45")]
        ),
    }
    data = write_dataset(tmp_path / "two", rows, [TST, LOT])
    setup = setup_for(load_dataset(data), cash="10000")
    strategy = Scripted()
    result = run_backtest(strategy, data, setup)

    assert result.intent_batches == 1 and result.intents == 3 and result.rejected_intents == 1
    assert [(f.order_id, f.instrument, f.side, f.qty, f.price) for f in strategy.fills] == [
        ("scripted-3", "LOT", "sell", 20, 5050),
        ("scripted-1", "TST", "buy", 5, 9900),
    ]
    rejected = [u for u in strategy.updates if u.status == "rejected"]
    assert [(u.order_id, u.trigger, u.reason_code) for u in rejected] == [
        ("scripted-2", "intent", "QTY_OFF_LOT")
    ]
    assert [u.status for u in strategy.updates if u.order_id == "scripted-1"] == [
        "submitted",
        "accepted",
        "filled",
    ]
    cash = 1_000_000 - 5 * 9_900 + 20 * 5_050
    assert cash == 1_051_500
    # Marked at the closes 99.20 and 50.45: long 5 TST, short 20 LOT.
    assert result.metrics.final_equity == cash + 5 * 9_920 - 20 * 5_045
    assert [(t.instrument, t.direction) for t in result.trades] == [
        ("LOT", "short"),
        ("TST", "long"),
    ]
    assert all(not t.closed for t in result.trades)
    # Bars of both instruments woke the strategy, in the sequencer's order within each group.
    assert [i for i, _ in strategy.events] == ["LOT", "TST", "LOT", "TST"]
