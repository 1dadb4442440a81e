"""The session: one Backtrader run translated into a Lockstep backtest.

How a Backtrader bar maps onto the core
---------------------------------------
Each bar of each data feed reaches the core twice: as a ``bar`` event at its
time ``T`` and as a closing print (a ``trade`` event at the bar's close) at
``T + 1 ns``. The bar is what resting orders match against: market orders
at the open, limits and stops by the rules Backtrader's broker also uses. The
print exists for ``Close`` orders: the layer places them as market orders
between the bar and its print, so they fill at the close. Every other order
has already matched the bar, and a print at the close cannot match what the
bar did not (the close lies inside the bar's range), so the print changes
nothing else.

The cycle
---------
When the last print of a time step has been committed, the session runs one
Backtrader cycle, in Backtrader's order:

1. the data feeds append the bar and every indicator computes its value;
2. *broker phase*: the core's state shows what happened to each order since
   the last cycle (fills, cancels, expiries); in order of acceptance, each
   becomes an execution (position, trade and commission bookkeeping) and a
   notification, after the notifications left from the last cycle
   (``Submitted``, ``Accepted``, ``Margin``, ``Canceled``);
3. each strategy is notified, then runs ``prenext``/``nextstart``/``next``,
   then its analyzers;
4. *submission*: new orders pass Backtrader's submission check (enough cash at
   the creation price, ``checksubmit``) and become ``place_order`` intents;
   cancels become ``cancel_order`` intents; orders whose validity ends before
   their data's next bar are cancelled ahead of that bar (``valid`` == ``DAY``
   becomes the core's ``DAY`` time in force instead). All of it is one intent
   batch, which the runtime submits.

The core is the only engine: the session never decides a fill. It only
decides what Backtrader's broker decides *before* an order reaches a market
(acceptance, expiry) and it reads everything else from the core's state.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from lockstep.adapters import InstrumentSpec
from lockstep.runtime.compat.backtrader.analyzers import _STRATEGY
from lockstep.runtime.compat.backtrader.broker import BackBroker
from lockstep.runtime.compat.backtrader.core_feeds import BarColumns, ColumnFeed
from lockstep.runtime.compat.backtrader.feeds import (
    DataBase,
    TimeFrame,
    from_units,
    price_units,
    units,
)
from lockstep.runtime.compat.backtrader.lines import CompatError
from lockstep.runtime.compat.backtrader.order import Order
from lockstep.runtime.compat.backtrader.position import Position, Trade
from lockstep.runtime.compat.backtrader.strategy import _CONTEXT, Strategy
from lockstep.runtime.compat.backtrader.utils import CompatWarning, date2num, to_ns
from lockstep.runtime.context import Context
from lockstep.runtime.strategy import Strategy as LockstepStrategy
from lockstep.runtime.strategy import Subscriptions
from lockstep.runtime.views import Event, OrderUpdate

CURRENCY = "USD"
_UNSUPPORTED_EXEC = {
    Order.StopTrail: "StopTrail",
    Order.StopTrailLimit: "StopTrailLimit",
    Order.Historical: "Historical",
}


@dataclass(slots=True)
class _Track:
    """What the session knows about one order beyond Backtrader's view of it."""

    order: Order
    strategy: Strategy
    data_index: int
    state: str = "new"
    """new (created this cycle), held (accepted Close order), core (in the core), done."""
    core_id: str | None = None
    tif: str = "GTC"
    filled: int = 0
    notional: int = 0
    fees: int = 0
    cancel_kind: str | None = None
    """Why the session cancelled it in the core: ``user`` or ``expire``."""
    expire_now: bool = False


@dataclass(slots=True)
class _Outcome:
    ref: int
    kind: str
    qty: int = 0
    notional: int = 0
    fee: int = 0


@dataclass(slots=True)
class Precision:
    """Fixed-point scales of every instrument of a compat run."""

    price: int = 8
    size: int = 8
    money: int = 18

    def __post_init__(self) -> None:
        if not (0 <= self.price <= 18 and 0 <= self.size <= 18):
            raise CompatError("price_precision and size_precision must be 0..18")
        if self.price + self.size > 18:
            raise CompatError(
                "price_precision + size_precision must not exceed 18 (the core's money scale)"
            )
        self.money = min(18, self.price + self.size + 6)


@dataclass(slots=True)
class _DataFeedInfo:
    data: DataBase
    spec: InstrumentSpec
    ns: list[int] = field(default_factory=list)


class Session:
    """The state of one compat run: data, strategies, orders, and the mapping to the core."""

    def __init__(
        self,
        cerebro: Any,
        datas: Sequence[DataBase],
        broker: BackBroker,
        strategies: Sequence[tuple[type, tuple[Any, ...], dict[str, Any]]],
        sizers: Mapping[int | None, tuple[type, tuple[Any, ...], dict[str, Any]]],
        analyzers: Sequence[tuple[type, tuple[Any, ...], dict[str, Any]]],
        precision: Precision,
    ) -> None:
        if not datas:
            raise CompatError("cerebro has no data: call adddata() before run()")
        self.cerebro = cerebro
        self.datas = list(datas)
        self.broker = broker
        self.precision = precision
        broker._check_settings()
        self.infos = self._instruments()
        self.timeline = self._timeline()
        self.k = 0
        self._bars_seen = 0
        self._prints_seen = 0
        self.ctx: Context | None = None
        self.tracks: dict[int, _Track] = {}
        self.live: dict[int, _Track] = {}
        """The tracks not yet done, in ref order: what each bar looks at, so its cost
        follows the orders still working, not every order the run ever made."""
        self.notifs: list[Order] = []
        self.new_orders: list[_Track] = []
        self.intents: list[dict[str, Any]] = []
        self.deferred: list[str] = []
        self.deferred_after = 0
        self.positions: dict[int, Position] = {i: Position() for i in range(len(self.datas))}
        self.strategy_id = "backtrader"
        self._next_order = 1
        self._warned: set[str] = set()
        self.final_cash: float | None = None
        self.final_value: float | None = None
        broker._session = self
        try:
            self.strategies = self._build(strategies, sizers, analyzers)
        finally:
            broker._session = None

    # -- setup -------------------------------------------------------------------------------

    def _instruments(self) -> list[_DataFeedInfo]:
        out: list[_DataFeedInfo] = []
        used: set[str] = set()
        for n, data in enumerate(self.datas):
            base = "".join(c for c in (data._name or "") if c.isalnum() or c in "_.:/-")[:40]
            ident = base or f"data{n}"
            if ident in used:
                ident = f"{ident}-{n}"
            used.add(ident)
            spec = InstrumentSpec(
                id=ident,
                venue=f"sim{n}",
                quote_currency=CURRENCY,
                price_precision=self.precision.price,
                size_precision=self.precision.size,
            )
            info = _DataFeedInfo(data, spec)
            # _preload refuses bars the core cannot take, naming the file and line
            for bar in data._preload():
                info.ns.append(to_ns(bar.stamp))
            out.append(info)
        return out

    def _timeline(self) -> list[tuple[int, list[tuple[int, int]]]]:
        at: dict[int, list[tuple[int, int]]] = {}
        for di, info in enumerate(self.infos):
            for bi, ns in enumerate(info.ns):
                at.setdefault(ns, []).append((di, bi))
        stamps = sorted(at)
        for a, b in itertools.pairwise(stamps):
            if b - a < 2:
                raise CompatError(
                    "bars 1 ns apart cannot be told from the closing prints the layer adds"
                )
        return [(ns, at[ns]) for ns in stamps]

    def setup(self) -> dict[str, Any]:
        """The core setup: one simulated venue per data feed, carrying its commission as fee_ppm."""
        venues = []
        for info in self.infos:
            comm = self.broker.getcommissioninfo(info.data)
            venues.append(
                {
                    "name": info.spec.venue,
                    "simulated": True,
                    "order_types": ["limit", "market", "stop", "stop_limit"],
                    "time_in_force": ["DAY", "GTC"],
                    "supports_replace": False,
                    "fee_ppm": comm.fee_ppm,
                    "participation_bps": None,
                }
            )
        cash = units(self.broker.startingcash, self.precision.money)
        return {
            "currencies": [{"code": CURRENCY, "money_precision": self.precision.money}],
            "venues": venues,
            "instruments": [info.spec.to_setup() for info in self.infos],
            "starting_cash": {CURRENCY: cash},
            "risk": {"max_position": {}, "max_order_notional": {}},
            "invariant_mode": "strict",
            "timers": [],
        }

    def feeds(self) -> list[ColumnFeed]:
        """Bars of every data feed, then their closing prints (1 ns after each bar)."""
        pp, sp = self.precision.price, self.precision.size
        bar_feeds, print_feeds = [], []
        for info in self.infos:
            columns = BarColumns()
            for ns, bar in zip(info.ns, info.data._bars, strict=True):
                columns.append(
                    ns,
                    units(bar.open, pp),
                    units(bar.high, pp),
                    units(bar.low, pp),
                    units(bar.close, pp),
                    0 if bar.volume != bar.volume else units(bar.volume, sp),
                )
            name = f"bt:{info.spec.id}"
            bar_feeds.append(ColumnFeed(info.spec, columns, prints=False, name=name))
            print_feeds.append(ColumnFeed(info.spec, columns, prints=True, name=f"{name}:close"))
        return bar_feeds + print_feeds

    def _build(
        self,
        specs: Sequence[tuple[type, tuple[Any, ...], dict[str, Any]]],
        sizers: Mapping[int | None, tuple[type, tuple[Any, ...], dict[str, Any]]],
        analyzers: Sequence[tuple[type, tuple[Any, ...], dict[str, Any]]],
    ) -> list[Strategy]:
        out: list[Strategy] = []
        _CONTEXT.append(self)
        try:
            for idx, (cls, args, kwargs) in enumerate(specs):
                strat = cls(*args, **kwargs)
                if not isinstance(strat, Strategy):
                    raise CompatError(f"{cls.__name__} is not a bt.Strategy")
                _STRATEGY.append(strat)
                try:
                    names: dict[str, int] = {}
                    for acls, aargs, akwargs in analyzers:
                        akwargs = dict(akwargs)
                        name = akwargs.pop("_name", "") or acls.__name__.lower()
                        count = names.get(name, 0)
                        names[name] = count + 1
                        strat.analyzers.append(
                            acls(*aargs, **akwargs), name + (str(count) if count else "")
                        )
                finally:
                    _STRATEGY.pop()
                sizer = sizers.get(idx, sizers.get(None))
                if sizer is not None:
                    scls, sargs, skwargs = sizer
                    strat.setsizer(scls(*sargs, **skwargs))
                out.append(strat)
        finally:
            _CONTEXT.pop()
        return out

    # -- what the strategy asks --------------------------------------------------------------

    def _money(self, value: int) -> float:
        return from_units(value, self.precision.money)

    def cash(self) -> float:
        if self.ctx is None:
            return self.broker.startingcash
        return self._money(self.ctx.cash())

    def value(self) -> float:
        if self.ctx is None:
            return self.broker.startingcash
        return self._money(self.ctx.equity())

    def data_value(self, datas: list[Any]) -> float:
        total = 0.0
        for data in datas:
            pos = self.position(data)
            total += pos.size * data.close[0] if len(data) else 0.0
        return total

    def _index(self, data: Any) -> int:
        for n, d in enumerate(self.datas):
            if d is data:
                return n
        raise CompatError(f"{data!r} is not one of this run's data feeds")

    def position(self, data: Any) -> Position:
        return self.positions[self._index(data)]

    def open_orders(self) -> list[Order]:
        return [t.order for t in self.tracks.values() if t.order.alive()]

    def create_order(
        self, owner: Any, data: Any, ordtype: int, size: float, kwargs: dict[str, Any]
    ) -> Order:
        """A new order from ``buy``/``sell``: Submitted now, checked after the strategy phase."""
        kwargs = dict(kwargs)
        for name in ("oco", "parent", "trailamount", "trailpercent"):
            if kwargs.pop(name, None) is not None:
                raise CompatError(f"orders with {name} are not supported by the Lockstep layer")
        transmit = kwargs.pop("transmit", True)
        if not transmit:
            raise CompatError("transmit=False (bracket building) is not supported")
        exectype = kwargs.pop("exectype", None)
        if exectype in _UNSUPPORTED_EXEC:
            raise CompatError(f"exectype {_UNSUPPORTED_EXEC[exectype]} is not supported")
        kwargs.pop("histnotify", None)
        kwargs.pop("_checksubmit", None)
        order = Order(
            owner=owner,
            data=data,
            ordtype=ordtype,
            size=size,
            price=kwargs.pop("price", None),
            plimit=kwargs.pop("plimit", None),
            exectype=exectype,
            valid=kwargs.pop("valid", None),
            tradeid=kwargs.pop("tradeid", 0),
            extra=kwargs,
        )
        order.broker = self.broker
        order.comminfo = self.broker.getcommissioninfo(data)
        track = _Track(order, owner, self._index(data))
        self.tracks[order.ref] = self.live[order.ref] = track
        self.new_orders.append(track)
        order.status = Order.Submitted
        if self.broker.p.checksubmit:
            self.notifs.append(order.clone())
        else:
            order.status = Order.Accepted
            self.notifs.append(order.clone())
        return order

    def cancel(self, order: Order) -> bool:
        """Backtrader cancels only accepted, live orders; the notification is immediate."""
        track = self.tracks.get(order.ref)
        if track is None or track.state not in ("held", "core") or not order.alive():
            return False
        order.status = Order.Canceled
        order.executed.dt = order.data.datetime[0]
        self.notifs.append(order.clone())
        if track.state == "core":
            assert track.core_id is not None
            self.intents.append({"type": "cancel_order", "client_order_id": track.core_id})
            track.cancel_kind = "user"
        else:
            track.state = "done"
        return True

    # -- the runtime calls these -------------------------------------------------------------

    def on_start(self, ctx: Context) -> None:
        self.ctx = ctx
        self.broker._session = self
        for strat in self.strategies:
            strat._start()

    def on_event(self, ctx: Context, event: Event) -> None:
        self.ctx = ctx
        if self.k >= len(self.timeline):
            raise CompatError(f"market event at {event.time} after the last bar")
        ns, entries = self.timeline[self.k]
        if event.event_type == "bar":
            if event.time != ns:
                raise CompatError(f"bar at {event.time} where the layer expected {ns}")
            self._bars_seen += 1
            if self._bars_seen == len(entries):
                self._bar_phase(ctx, entries)
        elif event.event_type == "trade":
            if event.time != ns + 1:
                raise CompatError(f"closing print at {event.time}, expected {ns + 1}")
            self._prints_seen += 1
            if self._prints_seen == len(entries):
                self._cycle(ctx, entries)
                self.k += 1
                self._bars_seen = self._prints_seen = 0

    def on_order(self, ctx: Context, update: OrderUpdate) -> None:
        """Cancels of orders placed in the batch just committed (their first chance is gone)."""
        if self.deferred and update.seq_id > self.deferred_after:
            for core_id in self.deferred:
                ctx.cancel(core_id)
            self.deferred = []

    def on_stop(self, ctx: Context) -> None:
        self.ctx = ctx
        for strat in self.strategies:
            strat._stop()
        self.final_cash = self.cash()
        self.final_value = self.value()
        self.broker._session = None
        self.broker._final_cash = self.final_cash
        self.broker._final_value = self.final_value
        self.broker._positions = {self.datas[i]: p for i, p in self.positions.items()}

    # -- phases ------------------------------------------------------------------------------

    def _bar_phase(self, ctx: Context, entries: list[tuple[int, int]]) -> None:
        """Between a step's bars and its closing prints: send the Close orders now due."""
        present = {di: bi for di, bi in entries}
        for track in self._live_tracks():
            if track.state != "held" or track.data_index not in present:
                continue
            order = track.order
            bar = self.datas[track.data_index]._bars[present[track.data_index]]
            number = date2num(bar.stamp)
            if order.valid and number > order.valid:
                track.expire_now = True
                continue
            created = order.created.dt
            assert created is not None
            if number > created and number >= order.dteos:
                self._place(ctx, track, "market", None, None)
                if self.datas[track.data_index]._timeframe < TimeFrame.Days:
                    self._warn(
                        "close-intraday",
                        "Close orders on intraday data fill at the next bar's close; "
                        "Backtrader waits for the session's last bar",
                    )

    def _cycle(self, ctx: Context, entries: list[tuple[int, int]]) -> None:
        for di, bi in entries:
            self.datas[di]._deliver(bi)
        for strat in self.strategies:
            strat._step_lines()
        self._broker_phase(ctx)
        dt_max = max(
            (d.lines.datetime.datetime(0) for d in self.datas if len(d)),
        )
        for strat in self.strategies:
            strat._cycle(dt_max, date2num(dt_max))
        self._submission(ctx)

    def _broker_phase(self, ctx: Context) -> None:
        outcomes = self._outcomes(ctx)
        for strat in self.strategies:
            for note in self.notifs:
                if note.owner is strat:
                    strat._pending_orders.append(note)
        self.notifs = []
        opened_short_of_cash = executed = False
        for outcome in sorted(outcomes, key=lambda o: o.ref):
            track = self.tracks[outcome.ref]
            order = track.order
            if outcome.kind == "fill":
                executed = True
                opened = self._execute(track, outcome)
                opened_short_of_cash = opened_short_of_cash or opened
                continue
            if outcome.kind == "expired":
                order.status = Order.Expired
            elif outcome.kind == "rejected":
                order.status = Order.Rejected
                self._warn(
                    f"rejected-{order.ref}",
                    f"the core rejected order {order.ref} ({order.getordername()}); "
                    "Backtrader would have accepted it",
                )
            else:
                order.status = Order.Canceled
            order.executed.dt = order.data.datetime[0]
            track.state = "done"
            track.strategy._pending_orders.append(order.clone())
        if executed:  # positions move only by fills, in the core and in the mirror alike
            self._check_positions()
        if opened_short_of_cash and self.cash() < 0:
            self._warn(
                "margin",
                "an execution left cash negative; Backtrader's broker would have refused it "
                "with Margin (the core has no cash check at fill time)",
            )

    def _check_positions(self) -> None:
        """The float mirror must round to the core's position, or the bookkeeping is broken."""
        if self.ctx is None:
            return
        for n, info in enumerate(self.infos):
            mirror = self.positions[n].size
            core = self.ctx.position(info.spec.id)
            if units(mirror, self.precision.size) != core:
                raise CompatError(
                    f"internal: position mirror {mirror} of {info.spec.id} differs from the "
                    f"core's {core} size units"
                )

    def _outcomes(self, ctx: Context) -> list[_Outcome]:
        """What the core did to each live order since the last cycle."""
        out: list[_Outcome] = []
        live = self._live_tracks()
        in_core = [t for t in live if t.state == "core"]
        orders: Mapping[str, Any] = {}
        if in_core:
            orders = ctx._order_states(t.core_id for t in in_core if t.core_id is not None)
        for track in in_core:
            assert track.core_id is not None
            state = orders.get(track.core_id)
            if state is None:
                out.append(_Outcome(track.order.ref, "rejected"))
                continue
            if state["filled_qty"] > track.filled:
                out.append(
                    _Outcome(
                        track.order.ref,
                        "fill",
                        state["filled_qty"] - track.filled,
                        state["filled_notional"] - track.notional,
                        state["fees"] - track.fees,
                    )
                )
                track.filled = state["filled_qty"]
                track.notional = state["filled_notional"]
                track.fees = state["fees"]
            status = state["status"]
            if status == "filled":
                track.state = "done"
            elif status == "cancelled":
                track.state = "done"
                if track.cancel_kind == "expire":
                    out.append(_Outcome(track.order.ref, "expired"))
                elif track.cancel_kind != "user":
                    out.append(_Outcome(track.order.ref, "cancelled"))
            elif status == "expired":
                track.state = "done"
                out.append(_Outcome(track.order.ref, "expired"))
            elif status == "rejected":
                track.state = "done"
                out.append(_Outcome(track.order.ref, "rejected"))
        for track in live:
            if track.expire_now:
                track.expire_now = False
                out.append(_Outcome(track.order.ref, "expired"))
        return out

    def _execute(self, track: _Track, outcome: _Outcome) -> bool:
        """Book one fill as Backtrader books an execution; True if it opened size."""
        order = track.order
        data = order.data
        sp, pp = self.precision.size, self.precision.price
        shift = self.precision.money - pp - sp
        qty = outcome.qty
        exact = Fraction(outcome.notional, qty * 10**shift)
        price = float(Decimal(exact.numerator) / Decimal(exact.denominator) / Decimal(10**pp))
        size: float = from_units(qty, sp) * (1 if order.isbuy() else -1)
        if isinstance(order.size, int) and qty % 10**sp == 0:
            size = int(size)  # whole sizes stay ints, as Backtrader keeps them
        fee = self._money(outcome.fee)
        position = self.positions[track.data_index]
        price_orig = position.price
        psize, pprice, opened, closed = position.update(size, price, data.datetime.datetime(0))
        pnl = -closed * (price - price_orig)
        closedvalue = -closed * price_orig
        openedvalue = opened * price
        closedcomm = fee * abs(closed) / abs(size) if size else 0.0
        openedcomm = fee - closedcomm
        order.executed.add(
            data.datetime[0],
            size,
            price,
            closedvalue + openedvalue,
            closedcomm + openedcomm,
            pnl,
            psize,
            pprice,
        )
        order.executed.margin = None
        complete = track.filled >= units(abs(order.size), sp)
        order.status = Order.Completed if complete else Order.Partial
        if complete:
            order.executed.remsize = 0
        strat = track.strategy
        strat._pending_orders.append(order.clone())
        self._book_trade(strat, order, closed, opened, price, closedcomm, openedcomm)
        return bool(opened)

    def _book_trade(
        self,
        strat: Strategy,
        order: Order,
        closed: float,
        opened: float,
        price: float,
        closedcomm: float,
        openedcomm: float,
    ) -> None:
        import copy

        per_data = strat._trades.setdefault(order.data, {})
        trades = per_data.setdefault(order.tradeid, [])
        if not trades:
            trades.append(Trade(order.data, order.tradeid))
        trade = trades[-1]
        if closed:
            trade.update(closed, price, closedcomm)
            if trade.isclosed:
                strat._pending_trades.append(copy.copy(trade))
        if opened:
            if trade.isclosed:
                trade = Trade(order.data, order.tradeid)
                trades.append(trade)
            trade.update(opened, price, openedcomm)
            if trade.isclosed:
                strat._pending_trades.append(copy.copy(trade))
        if trade.justopened:
            strat._pending_trades.append(copy.copy(trade))

    def _submission(self, ctx: Context) -> None:
        """Accept or refuse new orders, then send intents for the next bar."""
        news, self.new_orders = self.new_orders, []
        cash = self.cash()
        clones: dict[int, Position] = {}
        accepted: list[_Track] = []
        for track in news:
            order = track.order
            if self.broker.p.checksubmit:
                position = clones.setdefault(
                    track.data_index, self.positions[track.data_index].clone()
                )
                cash = self._pseudo_execute(order, cash, position)
                if cash < 0.0:
                    order.status = Order.Margin
                    order.executed.dt = order.data.datetime[0]
                    track.state = "done"
                    self.notifs.append(order.clone())
                    continue
                order.status = Order.Accepted
                self.notifs.append(order.clone())
            accepted.append(track)
        for track in accepted:
            if track.order.exectype == Order.Close:
                track.state = "held"
            else:
                self._place_order(ctx, track)
        self._expiry_lookahead()
        for intent in self.intents:
            ctx.submit(intent)
        self.intents = []
        if self.deferred:
            self.deferred_after = ctx._last_seq_id()

    def _pseudo_execute(self, order: Order, cash: float, position: Position) -> float:
        """Backtrader's submission check: cash after executing at the creation price."""
        comminfo = order.comminfo
        price = order.created.price
        size = order.executed.remsize
        _, _, opened, closed = position.update(size, price)
        if closed:
            cash += -closed * price
            cash -= comminfo.getcommission(closed, price)
        if opened:
            cash -= opened * price
            cash -= comminfo.getcommission(opened, price)
        return float(cash)

    def _place_order(self, ctx: Context, track: _Track) -> None:
        order = track.order
        buy = order.isbuy()
        pp = self.precision.price
        kind = order.exectype
        if kind == Order.Market:
            self._place(ctx, track, "market", None, None)
            return
        stop_side = "up" if buy else "down"
        limit_side = "down" if buy else "up"
        if kind == Order.Limit:
            self._place(ctx, track, "limit", price_units(order.created.price, pp, limit_side), None)
        elif kind == Order.Stop:
            self._place(ctx, track, "stop", None, price_units(order.created.price, pp, stop_side))
        elif kind == Order.StopLimit:
            plimit = order.created.pricelimit
            if plimit is None:
                raise CompatError("a StopLimit order needs plimit (the limit price)")
            self._place(
                ctx,
                track,
                "stop_limit",
                price_units(plimit, pp, limit_side),
                price_units(order.created.price, pp, stop_side),
            )
        else:
            raise CompatError(f"exectype {order.getordername()} is not supported")

    def _place(
        self,
        ctx: Context,
        track: _Track,
        order_type: str,
        price: int | None,
        stop: int | None,
    ) -> None:
        order = track.order
        info = self.infos[track.data_index]
        qty = units(abs(order.size), self.precision.size)
        # ids count per run (Backtrader's refs count per process): reruns give equal traces
        track.core_id = f"{self.strategy_id}-o{self._next_order}"
        self._next_order += 1
        track.state = "core"
        if order.exectype != Order.Market and order.day_order:
            track.tif = "DAY"
        self.intents.append(
            {
                "type": "place_order",
                "client_order_id": track.core_id,
                "venue": info.spec.venue,
                "instrument": info.spec.id,
                "side": "buy" if order.isbuy() else "sell",
                "order_type": order_type,
                "time_in_force": track.tif,
                "qty": qty,
                "price": price,
                "stop_price": stop,
            }
        )
        if order.exectype == Order.Close:
            # Close orders are sent during the bar phase, straight to the batch.
            ctx.submit(self.intents.pop())

    def _expiry_lookahead(self) -> None:
        """Cancel, ahead of it, orders that Backtrader would expire on their data's next bar."""
        if self.k + 1 >= len(self.timeline):
            return
        upcoming = dict(self.timeline[self.k + 1][1])
        for track in self._live_tracks():
            order = track.order
            if (
                track.state != "core"
                or track.tif == "DAY"
                or track.cancel_kind is not None
                or order.exectype == Order.Market
                or not order.valid
                or track.data_index not in upcoming
            ):
                continue
            bar = self.datas[track.data_index]._bars[upcoming[track.data_index]]
            if date2num(bar.stamp) <= order.valid:
                continue
            assert track.core_id is not None
            track.cancel_kind = "expire"
            if any(
                i.get("client_order_id") == track.core_id and i["type"] == "place_order"
                for i in self.intents
            ):
                self.deferred.append(track.core_id)
            else:
                self.intents.append({"type": "cancel_order", "client_order_id": track.core_id})

    def _live_tracks(self) -> list[_Track]:
        """The tracks not done, in ref order (refs grow with creation); done ones leave here."""
        live = self.live
        for ref in [ref for ref, track in live.items() if track.state == "done"]:
            del live[ref]
        return list(live.values())

    def _warn(self, key: str, message: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        warnings.warn(message, CompatWarning, stacklevel=3)


class BacktraderBridge(LockstepStrategy):
    """The Lockstep strategy that hosts a Backtrader run (one per ``cerebro.run()`` run)."""

    name = "backtrader"
    subscriptions = Subscriptions(event_types=frozenset({"bar", "trade"}))
    history = 1

    def __init__(self, session: Session, strategy_id: str = "backtrader") -> None:
        super().__init__(strategy_id)
        self.session = session
        session.strategy_id = self.strategy_id

    @property
    def authored_class(self) -> type:
        """The user's Backtrader strategy class: what the run store names and seals
        (its module and source file), rather than this bridge."""
        return type(self.session.strategies[0])

    def on_start(self, ctx: Context) -> None:
        self.session.on_start(ctx)

    def on_event(self, ctx: Context, event: Event) -> None:
        self.session.on_event(ctx, event)

    def on_order(self, ctx: Context, update: OrderUpdate) -> None:
        self.session.on_order(ctx, update)

    def on_stop(self, ctx: Context) -> None:
        self.session.on_stop(ctx)
