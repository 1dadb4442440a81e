"""SMA crossover with a protective stop: your own strategy, built on a shipped one.

The built-in strategy ``sma_cross`` (``lockstep.runtime.builtin.sma_cross``)
buys when the fast simple moving average of closes crosses above the slow one
and sells when it crosses below. This example keeps those rules and adds an
exit of its own: when a bar closes more than ``stop_pct`` below the average
price the position was bought at, it sells at once instead of waiting for the
averages to cross.

What it shows:

- extending a strategy's declared parameters (``params``), which the command
  line and config files can then set (``--param stop_pct=0.02``);
- ``on_fill``, to learn the real entry price from the fills of its own orders;
- ``ctx.position``, ``ctx.last_bar`` and ``ctx.sell`` in ``on_event``;
- exact decisions: prices are fixed-point integers and the stop level is
  compared with fractions, so a rerun always sends the same intents.

Run it:

    lockstep backtest examples/sma_cross.py --data daily --cash 100000
    lockstep backtest examples/sma_cross.py --data minute --param fast=5 --param slow=20
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from lockstep.runtime import Context, Event, Fill
from lockstep.runtime.builtin.sma_cross import SmaCross


class SmaCrossStop(SmaCross):
    name = "sma_cross_stop"
    params: ClassVar[dict[str, object]] = {**SmaCross.params, "stop_pct": Decimal("0.05")}

    def __init__(self, strategy_id: str | None = None, **overrides: object) -> None:
        super().__init__(strategy_id, **overrides)
        if not Decimal(0) < self.p.stop_pct < Decimal(1):
            raise ValueError(f"stop_pct must be in (0, 1), got {self.p.stop_pct}")
        self._bought: dict[str, tuple[int, int]] = {}
        """Per instrument: (quantity, quantity * price) of the buys of the open position."""

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        if fill.side == "buy":
            qty, cost = self._bought.get(fill.instrument, (0, 0))
            self._bought[fill.instrument] = (qty + fill.qty, cost + fill.qty * fill.price)
        elif ctx.position(fill.instrument) == 0:
            self._bought.pop(fill.instrument, None)  # flat again: forget the entry

    def on_event(self, ctx: Context, event: Event) -> None:
        instrument = event.instrument
        assert instrument is not None  # bars always name their instrument
        position = ctx.position(instrument)
        bar = ctx.last_bar(instrument)
        entry = self._bought.get(instrument)
        if position > 0 and bar is not None and entry is not None:
            qty, cost = entry
            stop = Fraction(cost, qty) * (1 - Fraction(self.p.stop_pct))
            if bar.close < stop:
                ctx.sell(instrument, position)
                return  # out for now; the crossover rules take over again from the next bar
        super().on_event(ctx, event)
