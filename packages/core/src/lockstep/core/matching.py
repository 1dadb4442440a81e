"""The simulated venue: deterministic matching of resting orders against market data.

Matching is a state transition, not I/O, so it lives in the core. It only
*proposes* broker reports; those go through the sequencer and the state machine
like reports from a real venue, which keeps backtests and live runs on one path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lockstep.core import fixedpoint as fp
from lockstep.core.coresetup import Instrument, Venue
from lockstep.core.orders import Order


@dataclass(frozen=True, slots=True)
class Proposal:
    """A broker report the simulated venue wants to emit."""

    event_type: str
    payload: dict[str, Any]


@dataclass(slots=True)
class _Book:
    """Quantity still available to fill from one market event.

    ``None`` means no participation cap. Bars and trades have one volume both
    sides draw from (``shared``); quotes have a size per side.
    """

    buy: int | None
    sell: int | None
    shared: bool

    def fillable(self, side: str, wanted: int, lot: int) -> int:
        available = self.buy if side == "buy" else self.sell
        qty = wanted if available is None else min(wanted, available)
        return qty - qty % lot

    def consume(self, side: str, qty: int) -> None:
        if self.buy is not None and (side == "buy" or self.shared):
            self.buy -= qty
        if self.sell is not None and (side == "sell" or self.shared):
            self.sell -= qty


def match_event(
    event_type: str,
    payload: Mapping[str, Any],
    market_seq: int,
    day: int,
    venue: Venue,
    inst: Instrument,
    orders: Iterable[Order],
) -> list[Proposal]:
    """Match working ``orders`` (in creation order) against one market event."""
    book = _available(event_type, payload, venue.participation_bps)
    proposals: list[Proposal] = []
    for order in orders:
        if order.time_in_force == "DAY" and day > order.submit_day:
            proposals.append(Proposal("order_expired", {"order_id": order.order_id}))
            continue
        price = _fill_price(order, event_type, payload)
        wanted = order.remaining
        qty = 0 if price is None else book.fillable(order.side, wanted, inst.lot_size)
        if order.time_in_force == "FOK" and qty < wanted:
            proposals.append(_cancel(order, "FOK order could not be filled in full"))
            continue
        if price is not None and qty > 0:
            try:
                value = fp.notional(price, qty, inst.scale_shift)
                charge = fp.fee(value, venue.fee_ppm)
            except fp.OutOfRange:
                proposals.append(_cancel(order, "fill value is outside the money range"))
                continue
            book.consume(order.side, qty)
            payload_out = {
                "order_id": order.order_id,
                "fill_id": f"sim-{market_seq}-{len(proposals)}",
                "qty": qty,
                "price": price,
                "fee": charge,
            }
            proposals.append(Proposal("order_filled", payload_out))
        if order.time_in_force == "IOC" and qty < wanted:
            proposals.append(_cancel(order, "IOC remainder cancelled"))
    return proposals


def _cancel(order: Order, reason: str) -> Proposal:
    return Proposal("order_cancelled", {"order_id": order.order_id, "reason": reason})


def _available(event_type: str, payload: Mapping[str, Any], bps: int | None) -> _Book:
    if bps is None:
        return _Book(None, None, shared=False)
    if event_type == "quote":
        return _Book(
            payload["ask_size"] * bps // fp.BPS, payload["bid_size"] * bps // fp.BPS, shared=False
        )
    base = payload["volume"] if event_type == "bar" else payload["size"]
    return _Book(base * bps // fp.BPS, base * bps // fp.BPS, shared=True)


def _fill_price(order: Order, event_type: str, p: Mapping[str, Any]) -> int | None:
    """The price this event fills ``order`` at, or None. Sets ``triggered`` on stop-limits."""
    buy = order.side == "buy"
    kind = order.order_type
    if event_type == "bar":
        o, h, lo = p["open"], p["high"], p["low"]
        if kind == "market":
            return int(o)
        if kind == "limit":
            return _bar_limit(buy, order.price, o, h, lo)
        assert order.stop_price is not None
        stop = order.stop_price
        if kind == "stop":
            if order.triggered:
                return int(o)
            if buy:
                price = int(o) if o >= stop else stop if h >= stop else None
            else:
                price = int(o) if o <= stop else stop if lo <= stop else None
            order.triggered = price is not None
            return price
        # stop_limit: once triggered, it is a limit order
        if order.triggered:
            return _bar_limit(buy, order.price, o, h, lo)
        if (buy and o >= stop) or (not buy and o <= stop):
            order.triggered = True
            return _bar_limit(buy, order.price, o, h, lo)
        if (buy and h >= stop) or (not buy and lo <= stop):
            order.triggered = True
            return _bar_limit(buy, order.price, stop, h, lo)
        return None
    if event_type == "trade":
        return _tick_price(order, int(p["price"]), passive=True)
    return _tick_price(order, int(p["ask"] if buy else p["bid"]), passive=False)


def _bar_limit(buy: bool, limit: int | None, o: int, h: int, lo: int) -> int | None:
    assert limit is not None
    if buy:
        return o if o <= limit else limit if lo <= limit else None
    return o if o >= limit else limit if h >= limit else None


def _tick_price(order: Order, px: int, *, passive: bool) -> int | None:
    """Match against one price: a trade print (``passive``) or the quote touch.

    A resting limit filled by a trade print fills at its own limit; against a
    quote it takes the touch. Stops trigger on the price and then fill at it.
    """
    buy = order.side == "buy"
    kind = order.order_type
    if kind == "market":
        return px
    if kind in ("stop", "stop_limit") and not order.triggered:
        assert order.stop_price is not None
        if not ((buy and px >= order.stop_price) or (not buy and px <= order.stop_price)):
            return None
        order.triggered = True
    if kind == "stop":
        return px
    limit = order.price
    assert limit is not None
    crosses = px <= limit if buy else px >= limit
    if not crosses:
        return None
    return limit if passive else px
