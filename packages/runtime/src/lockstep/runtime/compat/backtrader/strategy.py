"""``bt.Strategy``: Backtrader's strategy base class on top of the Lockstep session.

A strategy sees data lines and indicators, places orders with ``buy``/``sell``
/``close``/``order_target_*`` and ``cancel``, and is told about order, trade
and cash changes through ``notify_*``. It never touches the core: orders go to
the session, which validates them as Backtrader's broker would and submits
them to the core as intents; what the core does comes back as notifications.

``prenext``/``nextstart``/``next`` are chosen exactly as Backtrader chooses
them: from the minimum periods of the indicators created in ``__init__``,
grouped by the data feed that clocks them.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, ClassVar

from lockstep.runtime.compat.backtrader import params as _params
from lockstep.runtime.compat.backtrader.lines import (
    _OWNERS,
    CompatError,
    DateTimeLine,
    LineOwner,
    Lines,
    LineSeries,
    MetaLineSeries,
)
from lockstep.runtime.compat.backtrader.position import Position, Trade
from lockstep.runtime.compat.backtrader.sizers import FixedSize, Sizer

if TYPE_CHECKING:
    from lockstep.runtime.compat.backtrader.order import Order

_CONTEXT: list[Any] = []
"""The session building strategies (set by the run while it instantiates them)."""


class ItemCollection:
    """Named items reachable by index and by attribute (``strat.analyzers.sharpe``)."""

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._names: list[str] = []

    def append(self, item: Any, name: str | None = None) -> None:
        self._items.append(item)
        if name:
            self._names.append(name)
            setattr(self, name, item)

    def __getitem__(self, index: int) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Any:
        return iter(self._items)

    def getnames(self) -> list[str]:
        return list(self._names)

    def getitems(self) -> list[tuple[str, Any]]:
        return list(zip(self._names, self._items, strict=False))

    def getbyname(self, name: str) -> Any:
        return self._items[self._names.index(name)]


class MetaStrategy(MetaLineSeries):
    """Builds a strategy inside a run: datas, broker and params first, then ``__init__``."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - a metaclass
        if not _CONTEXT:
            raise CompatError("strategies are created by cerebro.run(); add them with addstrategy")
        session = _CONTEXT[-1]
        obj: Any = object.__new__(cls)  # type: ignore[arg-type]
        bag, rest = _params.split_kwargs(cls, kwargs)
        obj._setup(session, bag)
        _OWNERS.append(obj)
        try:
            obj.__init__(*args, **rest)
        finally:
            _OWNERS.pop()
        return obj


class Strategy(LineSeries, LineOwner, metaclass=MetaStrategy):
    """Base class of Backtrader strategies; override the lifecycle methods you need."""

    params: Any = ()
    lines: Any = ("datetime",)
    _session: Any
    _trades: dict[Any, dict[int, list[Trade]]]
    _minperiods: list[int]
    _pending_orders: list[Order]
    _pending_trades: list[Trade]
    analyzers: ItemCollection
    csv: ClassVar[bool] = True

    def _setup(self, session: Any, bag: _params.ParamsBag) -> None:
        d = self.__dict__
        d["params"] = bag
        d["p"] = bag
        d["_session"] = session
        d["env"] = d["cerebro"] = session.cerebro
        d["broker"] = session.broker
        d["datas"] = list(session.datas)
        d["_children"] = []
        d["data"] = session.datas[0] if session.datas else None
        for n, data in enumerate(session.datas):
            d[f"data{n}"] = data
        d["dnames"] = {data._name: data for data in session.datas if data._name}
        dt_line = DateTimeLine("datetime")
        d["lines"] = Lines([dt_line], ["datetime"])
        d["_sizer"] = FixedSize()
        d["_trades"] = {}
        d["_pending_orders"] = []
        d["_pending_trades"] = []
        d["analyzers"] = ItemCollection()
        d["stats"] = d["observers"] = ItemCollection()
        d["_minperiods"] = []
        d["_minperstatus"] = 2**63 - 1
        d["_len"] = 0
        self._sizer.set(self, session.broker)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("data") and "_" in name:
            head, _, line = name.partition("_")
            data = self.__dict__["data"] if head == "data" else self.__dict__.get(head)
            if data is not None:
                if line.isdigit():
                    return data.lines[int(line)]
                return getattr(data.lines, line)
        return super().__getattr__(name)

    def __len__(self) -> int:
        return int(self.__dict__["_len"])

    # -- minimum periods -----------------------------------------------------------------------

    def _periodset(self) -> None:
        """Per data feed, the largest minimum period of the objects it clocks."""
        per_data: dict[int, list[int]] = {}
        for child in self._children:
            clock = child._clock
            if clock is not None:
                per_data.setdefault(id(clock), []).append(child._minperiod)
        self.__dict__["_minperiods"] = [
            max(per_data.get(id(data), [data._minperiod])) for data in self.datas
        ]
        self.__dict__["_minperiod"] = max(
            [c._minperiod for c in self._children] or [self._minperiod]
        )

    def _getminperstatus(self) -> int:
        status = max(mp - len(d) for mp, d in zip(self._minperiods, self.datas, strict=True))
        self.__dict__["_minperstatus"] = status
        return status

    def _step_lines(self) -> None:
        for child in self._children:
            child._step()

    # -- lifecycle hooks -----------------------------------------------------------------------

    def start(self) -> None:
        """Called before the first bar."""

    def prenext(self) -> None:
        """Called while some indicator still lacks its minimum period."""

    def nextstart(self) -> None:
        """Called once, on the first bar on which every minimum period is met."""
        self.next()

    def next(self) -> None:
        """Called on every bar from then on."""

    def stop(self) -> None:
        """Called after the last bar."""

    def notify_order(self, order: Order) -> None:
        pass

    def notify_trade(self, trade: Trade) -> None:
        pass

    def notify_cashvalue(self, cash: float, value: float) -> None:
        pass

    def notify_fund(self, cash: float, value: float, fundvalue: float, shares: float) -> None:
        pass

    def notify_store(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        pass

    def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def add_timer(self, *args: Any, **kwargs: Any) -> None:
        raise CompatError("timers (add_timer) are not supported by the Lockstep layer")

    # -- data and positions --------------------------------------------------------------------

    def getdatanames(self) -> list[str]:
        return [d._name for d in self.datas]

    def getdatabyname(self, name: str) -> Any:
        for data in self.datas:
            if data._name == name:
                return data
        raise KeyError(f"no data named {name!r}")

    def getposition(self, data: Any = None, broker: Any = None) -> Position:
        data = data if data is not None else self.datas[0]
        position: Position = self._session.position(data)
        return position

    def getpositionbyname(self, name: str | None = None, broker: Any = None) -> Position:
        data = self.datas[0] if not name else self.getdatabyname(name)
        return self.getposition(data)

    @property
    def position(self) -> Position:
        return self.getposition(self.datas[0])

    @property
    def positions(self) -> dict[Any, Position]:
        return {d: self.getposition(d) for d in self.datas}

    @property
    def positionsbyname(self) -> dict[str, Position]:
        return {d._name: self.getposition(d) for d in self.datas}

    def getpositions(self, broker: Any = None) -> dict[Any, Position]:
        return self.positions

    # -- sizers --------------------------------------------------------------------------------

    def setsizer(self, sizer: Sizer) -> Sizer:
        self.__dict__["_sizer"] = sizer
        sizer.set(self, self.broker)
        return sizer

    def getsizer(self) -> Sizer:
        sizer: Sizer = self.__dict__["_sizer"]
        return sizer

    @property
    def sizer(self) -> Sizer:
        return self.getsizer()

    @sizer.setter
    def sizer(self, sizer: Sizer) -> None:
        self.setsizer(sizer)

    def getsizing(self, data: Any = None, isbuy: bool = True) -> Any:
        data = data if data is not None else self.datas[0]
        return self.getsizer().getsizing(data, isbuy=isbuy)

    # -- orders --------------------------------------------------------------------------------

    def _data(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.getdatabyname(data)
        return data if data is not None else self.datas[0]

    def buy(
        self,
        data: Any = None,
        size: float | None = None,
        price: float | None = None,
        plimit: float | None = None,
        exectype: int | None = None,
        valid: Any = None,
        tradeid: int = 0,
        oco: Any = None,
        trailamount: float | None = None,
        trailpercent: float | None = None,
        parent: Any = None,
        transmit: bool = True,
        **kwargs: Any,
    ) -> Order | None:
        """A buy order (market unless ``exectype`` says otherwise); None when the size is 0."""
        return self._place(
            True,
            data,
            size,
            price=price,
            plimit=plimit,
            exectype=exectype,
            valid=valid,
            tradeid=tradeid,
            oco=oco,
            trailamount=trailamount,
            trailpercent=trailpercent,
            parent=parent,
            transmit=transmit,
            **kwargs,
        )

    def sell(
        self,
        data: Any = None,
        size: float | None = None,
        price: float | None = None,
        plimit: float | None = None,
        exectype: int | None = None,
        valid: Any = None,
        tradeid: int = 0,
        oco: Any = None,
        trailamount: float | None = None,
        trailpercent: float | None = None,
        parent: Any = None,
        transmit: bool = True,
        **kwargs: Any,
    ) -> Order | None:
        """A sell order; see :meth:`buy`."""
        return self._place(
            False,
            data,
            size,
            price=price,
            plimit=plimit,
            exectype=exectype,
            valid=valid,
            tradeid=tradeid,
            oco=oco,
            trailamount=trailamount,
            trailpercent=trailpercent,
            parent=parent,
            transmit=transmit,
            **kwargs,
        )

    def _place(self, isbuy: bool, data: Any, size: float | None, **order_args: Any) -> Order | None:
        """What :meth:`buy` and :meth:`sell` share: default data and sizing, no order for 0."""
        data = self._data(data)
        size = size if size is not None else self.getsizing(data, isbuy=isbuy)
        if not size:
            return None
        place = self.broker.buy if isbuy else self.broker.sell
        order: Order = place(self, data, abs(size), **order_args)
        return order

    def close(self, data: Any = None, size: float | None = None, **kwargs: Any) -> Order | None:
        """An order that flattens the position in ``data`` (or reduces it by ``size``)."""
        data = self._data(data)
        possize = self.getposition(data).size
        size = abs(size if size is not None else possize)
        if possize > 0:
            return self.sell(data=data, size=size, **kwargs)
        if possize < 0:
            return self.buy(data=data, size=size, **kwargs)
        return None

    def cancel(self, order: Order) -> None:
        self.broker.cancel(order)

    def order_target_size(self, data: Any = None, target: float = 0, **kwargs: Any) -> Order | None:
        data = self._data(data)
        possize = self.getposition(data).size
        if not target and possize:
            return self.close(data=data, size=possize, **kwargs)
        if target > possize:
            return self.buy(data=data, size=target - possize, **kwargs)
        if target < possize:
            return self.sell(data=data, size=possize - target, **kwargs)
        return None

    def order_target_value(
        self, data: Any = None, target: float = 0.0, price: float | None = None, **kwargs: Any
    ) -> Order | None:
        data = self._data(data)
        possize = self.getposition(data).size
        if not target and possize:
            return self.close(data=data, size=possize, price=price, **kwargs)
        value = self.broker.getvalue(datas=[data])
        comminfo = self.broker.getcommissioninfo(data)
        price = price if price is not None else data.close[0]
        if target > value:
            size = comminfo.getsize(price, target - value)
            return self.buy(data=data, size=size, price=price, **kwargs)
        if target < value:
            size = comminfo.getsize(price, value - target)
            return self.sell(data=data, size=size, price=price, **kwargs)
        return None

    def order_target_percent(
        self, data: Any = None, target: float = 0.0, **kwargs: Any
    ) -> Order | None:
        data = self._data(data)
        target *= self.broker.getvalue()
        return self.order_target_value(data=data, target=target, **kwargs)

    def buy_bracket(self, *args: Any, **kwargs: Any) -> Any:
        raise CompatError("bracket orders are not supported by the Lockstep layer")

    sell_bracket = buy_bracket

    # -- the run calls these -------------------------------------------------------------------

    def _start(self) -> None:
        self._periodset()
        for analyzer in self.analyzers:
            analyzer._start()
        self.start()

    def _cycle(self, stamp: _dt.datetime, number: float) -> None:
        """One bar: notifications, then prenext/nextstart/next, then the analyzers."""
        self.__dict__["_len"] = self._len + 1
        dt_line = self.lines.datetime
        assert isinstance(dt_line, DateTimeLine)
        dt_line.array.append(number)
        dt_line.stamps.append(stamp)
        self._notify()
        status = self._getminperstatus()
        if status < 0:
            self.next()
        elif status == 0:
            self.nextstart()
        else:
            self.prenext()
        for analyzer in self.analyzers:
            if status < 0:
                analyzer._next()
            elif status == 0:
                analyzer._nextstart()
            else:
                analyzer._prenext()
        self._pending_orders.clear()
        self._pending_trades.clear()

    def _notify(self) -> None:
        for order in self._pending_orders:
            self.notify_order(order)
            for analyzer in self.analyzers:
                analyzer._notify_order(order)
        for trade in self._pending_trades:
            self.notify_trade(trade)
            for analyzer in self.analyzers:
                analyzer._notify_trade(trade)
        broker = self.broker
        cash, value = broker.getcash(), broker.getvalue()
        fundvalue, shares = broker.fundvalue, broker.fundshares
        self.notify_cashvalue(cash, value)
        self.notify_fund(cash, value, fundvalue, shares)
        for analyzer in self.analyzers:
            analyzer._notify_cashvalue(cash, value)
            analyzer._notify_fund(cash, value, fundvalue, shares)

    def _stop(self) -> None:
        self.stop()
        for analyzer in self.analyzers:
            analyzer._stop()
