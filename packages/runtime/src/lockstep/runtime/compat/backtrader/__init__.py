"""Backtrader on the Lockstep core: ``import lockstep.runtime.compat.backtrader as bt``.

Strategies written for Backtrader run with only their import line changed.
Everything they do is translated: data feeds become the core's market events,
orders become intents in intent batches, and fills, cancels and expiries come
back from the core's state. Results (orders, fills, trades, final value)
match Backtrader's on the same data and settings, except where
``docs/guides/backtrader.md`` lists a divergence; the layer refuses settings
the core cannot honour rather than approximating them, and warns
(:class:`CompatWarning`) where a run reaches a known difference.

Each ``cerebro.run()`` is an ordinary Lockstep backtest
(:func:`lockstep.runtime.run_backtest`): pass ``store="run.db"`` to
``bt.Cerebro`` to keep it in a run database and ``lockstep replay verify`` it.
"""

from __future__ import annotations

from lockstep.runtime.compat.backtrader import analyzers, feeds, indicators, observers, sizers
from lockstep.runtime.compat.backtrader import broker as brokers
from lockstep.runtime.compat.backtrader.analyzers import Analyzer, TimeFrameAnalyzerBase
from lockstep.runtime.compat.backtrader.broker import BackBroker, BrokerBase
from lockstep.runtime.compat.backtrader.cerebro import Cerebro
from lockstep.runtime.compat.backtrader.comminfo import CommInfoBase, CommissionInfo
from lockstep.runtime.compat.backtrader.feeds import TimeFrame
from lockstep.runtime.compat.backtrader.indicators import (
    All,
    And,
    DivByZero,
    DivZeroByZero,
    If,
    Max,
    Min,
    Or,
    Sum,
)
from lockstep.runtime.compat.backtrader.lines import CompatError, Indicator, LineSeries
from lockstep.runtime.compat.backtrader.order import BuyOrder, Order, OrderBase, SellOrder
from lockstep.runtime.compat.backtrader.position import Position, Trade
from lockstep.runtime.compat.backtrader.sizers import Sizer
from lockstep.runtime.compat.backtrader.strategy import Strategy
from lockstep.runtime.compat.backtrader.utils import CompatWarning, date2num, num2date

ind = indicators

__all__ = [
    "All",
    "Analyzer",
    "And",
    "BackBroker",
    "BrokerBase",
    "BuyOrder",
    "Cerebro",
    "CommInfoBase",
    "CommissionInfo",
    "CompatError",
    "CompatWarning",
    "DivByZero",
    "DivZeroByZero",
    "If",
    "Indicator",
    "LineSeries",
    "Max",
    "Min",
    "Or",
    "Order",
    "OrderBase",
    "Position",
    "SellOrder",
    "Sizer",
    "Strategy",
    "Sum",
    "TimeFrame",
    "TimeFrameAnalyzerBase",
    "Trade",
    "analyzers",
    "brokers",
    "date2num",
    "feeds",
    "ind",
    "indicators",
    "num2date",
    "observers",
    "sizers",
]
