"""A Backtrader strategy on the Lockstep core: only the import line differs from Backtrader.

The strategy is Backtrader's classic moving-average crossover, written
against Backtrader's API. Run with ``import backtrader as bt`` it is a
Backtrader script; with the import below, every order goes through Lockstep's
deterministic core, and the run can be stored and verified by replay.

Run it (the bundled daily data, no network needed):

    python examples/backtrader_sma.py                 # print the trades and the final value
    python examples/backtrader_sma.py runs/bt.db      # also keep the run database, then
    lockstep replay verify runs/bt.db                 # ... re-apply its inputs and check every hash
"""

from __future__ import annotations

import sys

import lockstep.runtime.compat.backtrader as bt
from lockstep.adapters import dataset_path


class SmaCross(bt.Strategy):
    params = (("fast", 10), ("slow", 30), ("printlog", True))

    def __init__(self):
        fast = bt.ind.SMA(self.data.close, period=self.p.fast)
        slow = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.crossover = bt.ind.CrossOver(fast, slow)
        self.order = None

    def log(self, text):
        if self.p.printlog:
            print(f"{self.data.datetime.date(0)} {text}")

    def notify_order(self, order):
        if order.status in (order.Submitted, order.Accepted):
            return
        if order.status == order.Completed:
            side = "BUY " if order.isbuy() else "SELL"
            self.log(
                f"{side} {abs(order.executed.size)} @ {order.executed.price:.2f} "
                f"(commission {order.executed.comm:.2f})"
            )
        else:
            self.log(f"order {order.ref} {order.getstatusname()}")
        self.order = None

    def notify_trade(self, trade):
        if trade.isclosed:
            self.log(f"trade closed: gross {trade.pnl:.2f}, net {trade.pnlcomm:.2f}")

    def next(self):
        if self.order:
            return
        if not self.position and self.crossover > 0:
            self.order = self.buy()
        elif self.position and self.crossover < 0:
            self.order = self.close()

    def stop(self):
        self.log(f"final value {self.broker.getvalue():.2f}")


def main(store=None, printlog=True):
    """Run the example on the bundled ACME daily bars; returns the final portfolio value."""
    # store= and overwrite= are the Lockstep layer's additions (a run database to verify)
    cerebro = bt.Cerebro(**({"store": store, "overwrite": True} if store else {}))
    data = bt.feeds.GenericCSVData(
        dataname=str(dataset_path("daily") / "ACME.csv"),
        dtformat="%Y-%m-%dT%H:%M:%S%z",
        openinterest=-1,
    )
    cerebro.adddata(data, name="ACME")
    cerebro.addstrategy(SmaCross, printlog=printlog)
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addsizer(bt.sizers.FixedSize, stake=200)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    (strategy,) = cerebro.run()
    closed = strategy.analyzers.trades.get_analysis().total.closed
    print(f"closed trades: {closed}, final value: {cerebro.broker.getvalue():.2f}")
    return cerebro.broker.getvalue()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
