"""Orders as Backtrader strategies see them, and the bookkeeping of their executions.

An :class:`Order` is the layer's record of what the strategy asked for and of
what the core did with it. Its status follows Backtrader's lifecycle
(Created, Submitted, Accepted, Partial, Completed, Canceled, Expired, Margin,
Rejected); the strategy is notified with copies taken at each change, as
Backtrader does, so a notification never changes after the fact.
"""

from __future__ import annotations

import copy
import datetime as _dt
import itertools
from typing import Any, ClassVar

from lockstep.runtime.compat.backtrader.utils import AutoOrderedDict, date2num


class OrderData:
    """Creation or execution details: size, price, value, commission, P&L, dates."""

    def __init__(
        self,
        dt: float | None = None,
        size: float = 0,
        price: float = 0.0,
        pricelimit: float | None = None,
        remsize: float = 0,
        pclose: float = 0.0,
    ) -> None:
        self.dt = dt
        self.size = size
        self.remsize = remsize
        self.price = price
        self.pricelimit = pricelimit
        self.plimit = pricelimit
        self.pclose = pclose
        self.value = 0.0
        self.comm = 0.0
        self.pnl = 0.0
        self.margin: float | None = None
        self.psize: float = 0
        self.pprice = 0.0
        self.trailamount = None
        self.trailpercent = None

    def add(
        self,
        dt: float,
        size: float,
        price: float,
        value: float,
        comm: float,
        pnl: float,
        psize: float,
        pprice: float,
    ) -> None:
        """Accumulate one execution; the price becomes the size-weighted average."""
        total = self.size + size
        self.price = (self.size * self.price + size * price) / total if total else price
        self.size = total
        self.remsize -= size
        self.dt = dt
        self.value += value
        self.comm += comm
        self.pnl += pnl
        self.psize = psize
        self.pprice = pprice

    def clone(self) -> OrderData:
        return copy.copy(self)


class OrderBase:
    """Constants and the status/exec-type vocabulary shared by all orders."""

    DAY = _dt.timedelta()
    Market, Close, Limit, Stop, StopLimit, StopTrail, StopTrailLimit, Historical = range(8)
    ExecTypes: ClassVar[list[str]] = [
        "Market",
        "Close",
        "Limit",
        "Stop",
        "StopLimit",
        "StopTrail",
        "StopTrailLimit",
        "Historical",
    ]
    OrdTypes: ClassVar[list[str]] = ["Buy", "Sell"]
    Buy, Sell = range(2)
    Created, Submitted, Accepted, Partial, Completed, Canceled, Expired, Margin, Rejected = range(9)
    Cancelled = Canceled
    Status: ClassVar[list[str]] = [
        "Created",
        "Submitted",
        "Accepted",
        "Partial",
        "Completed",
        "Canceled",
        "Expired",
        "Margin",
        "Rejected",
    ]


_REFS = itertools.count(1)


class Order(OrderBase):
    """One order of a strategy on one data feed."""

    def __init__(
        self,
        *,
        owner: Any,
        data: Any,
        ordtype: int,
        size: float,
        price: float | None,
        plimit: float | None,
        exectype: int | None,
        valid: Any,
        tradeid: int,
        extra: dict[str, Any],
    ) -> None:
        self.ref = next(_REFS)
        self.owner = owner
        self.data = data
        self.ordtype = ordtype
        self.exectype = self.Market if exectype is None else exectype
        self.size = size if ordtype == self.Buy else -size
        self.price = price
        self.pricelimit = plimit
        self.plimit = plimit
        self.tradeid = tradeid
        self.info = AutoOrderedDict()
        for key, value in extra.items():
            self.info[key] = value
        self.status = self.Created
        self.triggered = False
        self.broker: Any = None
        self.comminfo: Any = None
        self.trailamount = None
        self.trailpercent = None
        self.parent = None
        self.transmit = True
        self.position = 0
        pclose = data.close[0]
        created_price = pclose if not price and not plimit else price
        self.created = OrderData(
            dt=data.datetime[0],
            size=self.size,
            price=created_price if created_price is not None else pclose,
            pricelimit=plimit,
            pclose=pclose,
        )
        self.executed = OrderData(remsize=self.size)
        self.valid = self._valid(valid)
        self.dteos = self._end_of_session()
        self.p = self

    def _valid(self, valid: Any) -> Any:
        """Backtrader's reading of ``valid`` (including its quirks: ``0`` never expires)."""
        data = self.data
        if isinstance(valid, _dt.date):
            return date2num(valid)
        if isinstance(valid, _dt.timedelta):
            if valid == self.DAY:
                end = _dt.datetime.combine(data.datetime.date(0), _dt.time(23, 59, 59, 9999))
            else:
                end = data.datetime.datetime(0) + valid
            return date2num(end)
        return valid

    @property
    def day_order(self) -> bool:
        """Valid until the end of the creation day, which the core's ``DAY`` expresses."""
        if not isinstance(self.valid, float):
            return False
        end = _dt.datetime.combine(self.data.datetime.date(0), _dt.time(23, 59, 59, 9999))
        return self.valid == date2num(end)

    def _end_of_session(self) -> float:
        now = self.data.datetime.datetime(0)
        session = getattr(self.data.p, "sessionend", None) or _dt.time(23, 59, 59, 999990)
        end = now.replace(
            hour=session.hour,
            minute=session.minute,
            second=session.second,
            microsecond=session.microsecond,
        )
        if end < now:
            end += _dt.timedelta(days=1)
        return date2num(end)

    # -- Backtrader API ----------------------------------------------------------------------

    def isbuy(self) -> bool:
        return self.ordtype == self.Buy

    def issell(self) -> bool:
        return self.ordtype == self.Sell

    def alive(self) -> bool:
        return self.status in (self.Created, self.Submitted, self.Partial, self.Accepted)

    def active(self) -> bool:
        return True

    def getstatusname(self, status: int | None = None) -> str:
        return self.Status[self.status if status is None else status]

    def getordername(self, exectype: int | None = None) -> str:
        return self.ExecTypes[self.exectype if exectype is None else exectype]

    def ordtypename(self, ordtype: int | None = None) -> str:
        return self.OrdTypes[self.ordtype if ordtype is None else ordtype]

    @classmethod
    def ExecType(cls, exectype: str) -> int:  # noqa: N802 - Backtrader's name
        return int(getattr(cls, exectype))

    def addinfo(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            self.info[key] = value

    def clone(self) -> Order:
        """A snapshot for a notification: later changes do not reach it."""
        out = copy.copy(self)
        out.executed = self.executed.clone()
        out.created = self.created.clone()
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Order) and other.ref == self.ref

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.ref)

    def __repr__(self) -> str:
        return (
            f"<Order ref={self.ref} {self.ordtypename()} {self.getordername()} "
            f"size={self.size} status={self.getstatusname()}>"
        )


class BuyOrder(Order):
    pass


class SellOrder(Order):
    pass
