"""Positions and trades as Backtrader reports them, rebuilt from the core's fills.

The core owns the position (an integer in size units); the layer mirrors it
with Backtrader's float view (size and average price) and groups executions
into :class:`Trade` objects the way Backtrader does: a trade opens when a
position leaves zero and closes when it returns there; a reversal closes one
trade and opens the next. The mirror's size is checked against the core's
after every execution.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar


class Position:
    """Size (signed) and average price of the holding in one data feed."""

    def __init__(self, size: float = 0, price: float = 0.0) -> None:
        self.size = size
        self.price = price if size else 0.0
        self.price_orig = self.price
        self.upopened: float = size
        self.upclosed: float = 0
        self.adjbase: float | None = None
        self.datetime: Any = None

    def update(
        self, size: float, price: float, dt: Any = None
    ) -> tuple[float, float, float, float]:
        """Apply an execution; returns ``(size, price, opened, closed)`` (signed parts)."""
        self.datetime = dt
        self.price_orig = self.price
        old = self.size
        self.size += size
        opened: float
        closed: float
        if not self.size:
            opened, closed = 0, size
            self.price = 0.0
        elif not old:
            opened, closed = size, 0
            self.price = price
        elif old > 0:
            if size > 0:
                opened, closed = size, 0
                self.price = (self.price * old + size * price) / self.size
            elif self.size > 0:
                opened, closed = 0, size
            else:
                opened, closed = self.size, -old
                self.price = price
        elif size < 0:
            opened, closed = size, 0
            self.price = (self.price * old + size * price) / self.size
        elif self.size < 0:
            opened, closed = 0, size
        else:
            opened, closed = self.size, -old
            self.price = price
        self.upopened, self.upclosed = opened, closed
        return self.size, self.price, opened, closed

    def clone(self) -> Position:
        return Position(self.size, self.price)

    def __len__(self) -> int:
        return int(abs(self.size))

    def __bool__(self) -> bool:
        return self.size != 0

    def __repr__(self) -> str:
        return f"<Position size={self.size} price={self.price}>"


_TRADE_REFS = itertools.count(1)


class Trade:
    """A round trip in one data feed (per ``tradeid``)."""

    Created, Open, Closed = range(3)
    status_names: ClassVar[list[str]] = ["Created", "Open", "Closed"]

    def __init__(self, data: Any = None, tradeid: int = 0) -> None:
        self.ref = next(_TRADE_REFS)
        self.data = data
        self.tradeid = tradeid
        self.size: float = 0
        self.price = 0.0
        self.value = 0.0
        self.commission = 0.0
        self.pnl = 0.0
        self.pnlcomm = 0.0
        self.justopened = False
        self.isopen = False
        self.isclosed = False
        self.baropen = 0
        self.dtopen = 0.0
        self.barclose = 0
        self.dtclose = 0.0
        self.barlen = 0
        self.long = False
        self.historyon = False
        self.history: list[Any] = []
        self.status = self.Created

    def update(self, size: float, price: float, commission: float) -> None:
        """Add one execution part (``size`` signed) at ``price`` with its commission."""
        if not size:
            return
        self.commission += commission
        old = self.size
        self.size += size
        self.justopened = bool(not old and size)
        if self.justopened:
            self.baropen = len(self.data)
            self.dtopen = self.data.datetime[0]
            self.long = self.size > 0
        self.isopen = bool(self.size)
        self.barlen = len(self.data) - self.baropen
        self.isclosed = bool(old and not self.size)
        if self.isclosed:
            self.isopen = False
            self.barclose = len(self.data)
            self.dtclose = self.data.datetime[0]
            self.status = self.Closed
        elif self.isopen:
            self.status = self.Open
        if abs(self.size) > abs(old):
            self.price = (old * self.price + size * price) / self.size
            pnl = 0.0
        else:
            pnl = -size * (price - self.price)
        self.pnl += pnl
        self.pnlcomm = self.pnl - self.commission
        self.value = self.size * self.price

    def getdataname(self) -> str:
        return str(getattr(self.data, "_name", ""))

    def open_datetime(self, tz: Any = None, naive: bool = True) -> Any:
        return self.data.num2date(self.dtopen)

    def close_datetime(self, tz: Any = None, naive: bool = True) -> Any:
        return self.data.num2date(self.dtclose)

    def __len__(self) -> int:
        return int(abs(self.size))

    def __bool__(self) -> bool:
        return self.size != 0

    def __repr__(self) -> str:
        return (
            f"<Trade ref={self.ref} {self.status_names[self.status]} size={self.size} "
            f"price={self.price} pnl={self.pnl} pnlcomm={self.pnlcomm}>"
        )
