"""SMA crossover on the core's signals: the built-in strategy ``sma_cross_signals``.

The same trades as ``sma_cross``, but the core computes the two averages and
wakes the strategy only on the bars where they cross, instead of calling it
on every bar to recompute them (``docs/reference/signals.md``). The core's
averages are floored at six places beyond the price's; two averages of
periods whose product is under a million differ by at least ``1/(fast*slow)``
of a tick when they differ at all, so the floored comparison orders them
exactly as ``sma_cross``'s cross-multiplication does.

Run it:

    lockstep backtest sma_cross_signals --data daily --cash 100000
"""

from __future__ import annotations

from lockstep.runtime import Context, Signal
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.signals import Signals, crossover, crossunder, sma


class SmaCrossSignals(SmaCross):
    name = "sma_cross_signals"

    def __init__(self, strategy_id: str | None = None, **overrides: object) -> None:
        super().__init__(strategy_id, **overrides)
        self.history = 1  # the core keeps the averages; only the latest mark is read

    def signals(self) -> Signals:
        return Signals(
            indicators={"fast": sma("close", self.p.fast), "slow": sma("close", self.p.slow)},
            conditions={"enter": crossover("fast", "slow"), "exit": crossunder("fast", "slow")},
        )

    def on_signal(self, ctx: Context, signal: Signal) -> None:
        if "enter" in signal.fired:
            self.enter(ctx, signal.instrument)
        elif "exit" in signal.fired:
            self.exit(ctx, signal.instrument)
