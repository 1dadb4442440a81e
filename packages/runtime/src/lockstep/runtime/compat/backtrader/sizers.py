"""Sizers: how many units ``buy()``/``sell()`` trade when no size is given.

They compute with the same float arithmetic as Backtrader's, from the cash
and positions the core reports, so they pick the same sizes. Fractional sizes
(``PercentSizer`` without ``retint``) reach the core rounded to the layer's
size precision (8 decimals by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockstep.runtime.compat.backtrader.errors import missing_names as _missing_names
from lockstep.runtime.compat.backtrader.lines import MetaLineSeries


class Sizer(metaclass=MetaLineSeries):
    """Base class: override ``_getsizing(comminfo, cash, data, isbuy)``."""

    params: Any = ()
    strategy: Any = None
    broker: Any = None

    def __init__(self, **kwargs: Any) -> None:
        from lockstep.runtime.compat.backtrader.params import split_kwargs

        bag, rest = split_kwargs(type(self), kwargs)
        if rest:
            raise TypeError(f"{type(self).__name__} got unknown parameters {sorted(rest)}")
        self.p = bag
        self.params = bag

    def getsizing(self, data: Any, isbuy: bool) -> Any:
        comminfo = self.broker.getcommissioninfo(data)
        return self._getsizing(comminfo, self.broker.getcash(), data, isbuy)

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> Any:
        raise NotImplementedError

    def set(self, strategy: Any, broker: Any) -> None:
        self.strategy = strategy
        self.broker = broker


class FixedSize(Sizer):
    params: Any = (("stake", 1), ("tranches", 1))

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> Any:
        if self.p.tranches > 1:
            return abs(int(self.p.stake / self.p.tranches))
        return self.p.stake

    def setsizing(self, stake: Any) -> None:
        if self.p.tranches > 1:
            self.p.stake = abs(int(self.p.stake / self.p.tranches))
        else:
            self.p.stake = stake


SizerFix = FixedSize


class FixedReverser(Sizer):
    params: Any = (("stake", 1),)

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> Any:
        position = self.strategy.getposition(data)
        return self.p.stake * (1 + (position.size != 0))


class PercentSizer(Sizer):
    """A percentage of cash at the current close; the open position's size when one exists."""

    params: Any = (("percents", 20), ("retint", False))

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> Any:
        position = self.broker.getposition(data)
        size = cash / data.close[0] * (self.p.percents / 100) if not position else position.size
        if self.p.retint:
            size = int(size)
        return size


class AllInSizer(PercentSizer):
    params: Any = (("percents", 100),)


class PercentSizerInt(PercentSizer):
    params: Any = (("retint", True),)


class AllInSizerInt(PercentSizerInt):
    params: Any = (("percents", 100),)


if not TYPE_CHECKING:  # at run time only, so mypy still checks every name imported from here
    __getattr__ = _missing_names("bt.sizers", "backtrader.sizers", __name__)
