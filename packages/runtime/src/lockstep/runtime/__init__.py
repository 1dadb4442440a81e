"""Lockstep runtime: run strategies against the deterministic core, store and verify runs.

Write a :class:`Strategy`, run it with :func:`run_backtest` (or ``lockstep
backtest``), and every input, trace record and checkpoint lands in a SQLite run
store that :func:`verify_run` can replay on a fresh core. The runtime owns I/O,
clocks and the process; it may depend on ``lockstep.adapters``,
``lockstep.core`` and ``lockstep.contracts``, never the other way round.
"""

from lockstep.runtime.backtest import BacktestResult, run_backtest
from lockstep.runtime.context import Context
from lockstep.runtime.errors import StoreError, StrategyError
from lockstep.runtime.metrics import EquityPoint, Metrics, compute_metrics
from lockstep.runtime.replay import VerifyReport, verify_run
from lockstep.runtime.signals import Signals
from lockstep.runtime.store import RunStore
from lockstep.runtime.strategy import Strategy, Subscriptions
from lockstep.runtime.trades import Trade, write_trades_csv
from lockstep.runtime.views import Bar, Event, Fill, OrderUpdate, OrderView, Signal

__version__ = "0.1.0"

__all__ = [
    "BacktestResult",
    "Bar",
    "Context",
    "EquityPoint",
    "Event",
    "Fill",
    "Metrics",
    "OrderUpdate",
    "OrderView",
    "RunStore",
    "Signal",
    "Signals",
    "StoreError",
    "Strategy",
    "StrategyError",
    "Subscriptions",
    "Trade",
    "VerifyReport",
    "__version__",
    "compute_metrics",
    "run_backtest",
    "verify_run",
    "write_trades_csv",
]
