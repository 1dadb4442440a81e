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

A Backtrader name the layer does not provide (``bt.ind.ADX``) raises
:class:`CompatAttributeError`, naming it and the documented list of supported
names, rather than a bare ``AttributeError``. Run a script with
``python -m lockstep.runtime.compat.backtrader SCRIPT.py`` to have the layer's
errors reported as one line and exit code 2, as the ``lockstep`` command does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockstep.runtime.compat.backtrader import analyzers, feeds, indicators, observers, sizers
from lockstep.runtime.compat.backtrader import broker as brokers
from lockstep.runtime.compat.backtrader.analyzers import Analyzer, TimeFrameAnalyzerBase
from lockstep.runtime.compat.backtrader.broker import BackBroker, BrokerBase
from lockstep.runtime.compat.backtrader.cerebro import Cerebro
from lockstep.runtime.compat.backtrader.comminfo import CommInfoBase, CommissionInfo
from lockstep.runtime.compat.backtrader.errors import (
    CompatAttributeError,
    CompatError,
    CompatFeedError,
)
from lockstep.runtime.compat.backtrader.errors import missing_names as _missing_names
from lockstep.runtime.compat.backtrader.feeds import TimeFrame
from lockstep.runtime.compat.backtrader.indicators import (
    All,
    And,
    Any,
    DivByZero,
    DivZeroByZero,
    If,
    Max,
    Min,
    Or,
    Sum,
)
from lockstep.runtime.compat.backtrader.lines import Indicator, LineSeries
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
    "Any",
    "BackBroker",
    "BrokerBase",
    "BuyOrder",
    "Cerebro",
    "CommInfoBase",
    "CommissionInfo",
    "CompatAttributeError",
    "CompatError",
    "CompatFeedError",
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

if not TYPE_CHECKING:  # at run time only, so mypy still checks every name imported from here
    __getattr__ = _missing_names("bt", "backtrader", __name__)
