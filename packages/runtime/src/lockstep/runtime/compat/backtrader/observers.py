"""Observer names, accepted by ``cerebro.addobserver`` and ignored.

Observers record values for plotting; they never place orders, so leaving
them out changes no result. The names exist so that strategies and scripts
that add them keep running.
"""

from __future__ import annotations


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
