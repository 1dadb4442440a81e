"""Observer names, accepted by ``cerebro.addobserver`` and ignored.

Observers record values for plotting; they never place orders, so leaving
them out changes no result. The names exist so that strategies and scripts
that add them keep running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockstep.runtime.compat.backtrader.errors import missing_names as _missing_names


class Observer:
    """Placeholder base: observers are not run by the Lockstep layer."""


class Broker(Observer):
    pass


class Cash(Observer):
    pass


class Value(Observer):
    pass


class BuySell(Observer):
    pass


class Trades(Observer):
    pass


class DataTrades(Observer):
    pass


class DrawDown(Observer):
    pass


class TimeReturn(Observer):
    pass


if not TYPE_CHECKING:  # at run time only, so mypy still checks every name imported from here
    __getattr__ = _missing_names("bt.observers", "backtrader.observers", __name__)
