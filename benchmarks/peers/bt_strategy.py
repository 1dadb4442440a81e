"""The spec's strategies written once for Backtrader, run by Backtrader and by Lockstep's layer.

``strategy_class(bt, strategy)`` builds the class against whichever ``bt``
module it is given (``backtrader`` or ``lockstep.runtime.compat.backtrader``),
so both engines run the very same source, as a user switching import lines
would. It uses Backtrader's own indicators the way users write them:

- ``sma``: ``bt.ind.SMA`` (``math.fsum`` of the window / period). The cross is
  tested in ``next`` with the spec's rule (``fast[0] > slow[0] and fast[-1]
  <= slow[-1]``), not with ``bt.ind.CrossOver``, which skips a cross that
  starts from equality after an earlier cross the same way (it remembers the
  last *non-zero* difference) and so is a different rule.
- ``rsi``: ``bt.ind.RSI`` with ``safediv=True``. Its moving average is
  Backtrader's ``SmoothedMovingAverage`` (seeded with the plain mean of the
  first ``period`` moves, then ``prev * (1 - 1/period) + x / period``): the
  spec's formula up to float rounding in the last bits, which the generated
  data keeps away from every threshold (``data.py``). ``safediv`` makes a
  zero average loss give RSI 100, as the spec says (Backtrader's default
  would divide by zero); its other case, 0/0, cannot happen after a move.

``start`` and ``stop`` take the time of the engine's loop: Backtrader calls
them after the feeds are preloaded and after the last bar, the layer from
the backtest's ``on_start`` and ``on_stop``.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

from peers.spec import CASH, QTY, DataSet, Strategy


def strategy_class(bt: ModuleType, strategy: Strategy) -> type:
    """The Backtrader strategy class for ``strategy`` against the module ``bt``."""
    base = _base(bt)
    if strategy.name == "sma":
        return _sma(bt, base, strategy.params)
    if strategy.name == "rsi":
        return _rsi(bt, base, strategy.params)
    raise ValueError(f"no Backtrader version of strategy {strategy.name!r}")


def _base(bt: ModuleType) -> type:
    class Timed(bt.Strategy):  # type: ignore[name-defined,misc]
        """Counts entry fills and times the loop."""

        def start(self) -> None:
            self.entries = 0
            self.loop_started = time.perf_counter()
            self.loop_stopped = self.loop_started

        def stop(self) -> None:
            self.loop_stopped = time.perf_counter()

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed and order.isbuy():
                self.entries += 1

    return Timed


def _sma(bt: ModuleType, base: type, params: dict[str, int]) -> type:
    fast_n, slow_n = params["fast"], params["slow"]

    class PeerSma(base):  # type: ignore[misc]
        def __init__(self) -> None:
            self.averages = [
                (d, bt.ind.SMA(d.close, period=fast_n), bt.ind.SMA(d.close, period=slow_n))
                for d in self.datas
            ]

        def next(self) -> None:
            if len(self) <= slow_n:  # both averages must exist at t-1 too
                return
            for data, fast, slow in self.averages:
                held = self.getposition(data).size
                if held == 0 and fast[0] > slow[0] and fast[-1] <= slow[-1]:
                    self.buy(data=data, size=QTY)
                elif held > 0 and fast[0] < slow[0] and fast[-1] >= slow[-1]:
                    self.close(data=data)

    return PeerSma


def _rsi(bt: ModuleType, base: type, params: dict[str, int]) -> type:
    period, lower, upper = params["period"], params["lower"], params["upper"]

    class PeerRsi(base):  # type: ignore[misc]
        def __init__(self) -> None:
            self.rsis = [(d, bt.ind.RSI(d.close, period=period, safediv=True)) for d in self.datas]

        def next(self) -> None:
            for data, rsi in self.rsis:
                held = self.getposition(data).size
                value = rsi[0]
                if held == 0 and value < lower:
                    self.buy(data=data, size=QTY)
                elif held > 0 and value > upper:
                    self.close(data=data)

    return PeerRsi


def csv_feed(bt: ModuleType, path: str, name: str) -> Any:
    """A ``GenericCSVData`` of one generated file, minute bars, as a user would declare it."""
    return bt.feeds.GenericCSVData(
        dataname=path,
        name=name,
        dtformat="%Y-%m-%dT%H:%M:%SZ",
        datetime=0,
        open=1,
        high=2,
        low=3,
        close=4,
        volume=5,
        openinterest=-1,
        headers=True,
        timeframe=bt.TimeFrame.Minutes,
        compression=1,
    )


def run_cerebro(
    bt: ModuleType, strategy: Strategy, data: DataSet, **cerebro_args: Any
) -> tuple[Any, Any, float]:
    """``(cerebro, the strategy instance, final broker value)`` of one run of ``strategy``.

    The same steps for real Backtrader and for the Lockstep layer (``bt`` is
    either module), so the two runs differ only in the engine underneath.
    """
    cerebro = bt.Cerebro(stdstats=False, **cerebro_args)
    for name, path in zip(data.instruments, data.files, strict=True):
        cerebro.adddata(csv_feed(bt, str(path), name), name=name)
    cerebro.broker.setcash(float(CASH))
    cerebro.broker.setcommission(commission=0.0)
    cerebro.addstrategy(strategy_class(bt, strategy))
    (strat,) = cerebro.run()
    return cerebro, strat, cerebro.broker.getvalue()
