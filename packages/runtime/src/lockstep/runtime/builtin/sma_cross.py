"""SMA crossover: the built-in event-native strategy ``sma_cross`` (and the demo's).

Long-only, one position per instrument: when the fast simple moving average
of closes crosses above the slow one (above now, at or below on the previous
bar), buy with ``allocation`` of current equity (capped by cash); when it
crosses below (below now, at or above before), sell the whole position.
Orders are market orders, so they fill at the next bar's open.

The averages are compared without dividing (``fast_sum * slow > slow_sum *
fast``), so the decision is exact integer arithmetic on fixed-point closes:
rerunning it always gives the same intents.

Run it:

    lockstep backtest sma_cross --data daily --cash 100000
    lockstep backtest sma_cross --data daily --param fast=5 --param slow=20

``examples/sma_cross.py`` in the repository shows how to build your own
strategy on this one (it adds a stop-loss), and ``sma_cross_signals`` is the
same strategy woken by the core's signals instead of on every bar.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from lockstep.runtime import Context, Event, Strategy


class SmaCross(Strategy):
    name = "sma_cross"
    params: ClassVar[dict[str, object]] = {"fast": 10, "slow": 30, "allocation": Decimal("0.30")}

    def __init__(self, strategy_id: str | None = None, **overrides: object) -> None:
        super().__init__(strategy_id, **overrides)
        fast, slow = self.p.fast, self.p.slow
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast={fast} slow={slow}")
        if not Decimal(0) < self.p.allocation <= Decimal(1):
            raise ValueError(f"allocation must be in (0, 1], got {self.p.allocation}")
        self.history = slow + 1  # keep just the bars the averages need

    def on_event(self, ctx: Context, event: Event) -> None:
        instrument = event.instrument
        assert instrument is not None  # bars always name their instrument
        fast, slow = self.p.fast, self.p.slow
        closes = ctx.closes(instrument, slow + 1)
        if len(closes) < slow + 1:
            return  # not enough history yet
        now_fast, now_slow = sum(closes[-fast:]), sum(closes[-slow:])
        was_fast, was_slow = sum(closes[-fast - 1 : -1]), sum(closes[-slow - 1 : -1])
        # Compare fast/slow without dividing: sign(now_fast/fast - now_slow/slow).
        now = (now_fast * slow > now_slow * fast) - (now_fast * slow < now_slow * fast)
        before = (was_fast * slow > was_slow * fast) - (was_fast * slow < was_slow * fast)
        if now > 0 >= before:
            self.enter(ctx, instrument)
        elif now < 0 <= before:
            self.exit(ctx, instrument)

    def enter(self, ctx: Context, instrument: str) -> None:
        """The fast average crossed above the slow one: buy, unless already long."""
        if ctx.position(instrument) != 0:
            return
        budget = min(int(ctx.equity() * self.p.allocation), ctx.cash())
        qty = ctx.qty_for_value(instrument, budget)
        if qty > 0:
            ctx.buy(instrument, qty)

    def exit(self, ctx: Context, instrument: str) -> None:
        """The fast average crossed below the slow one: sell the whole position."""
        position = ctx.position(instrument)
        if position > 0:
            ctx.sell(instrument, position)
