"""Immutable values a strategy receives: events, bars, signals, fills, order updates, order views.

They are built from trace records and snapshots, never shared with the core,
so nothing a strategy does to them can reach engine state. Numbers are the
core's fixed-point integers; :class:`~lockstep.runtime.context.Context` has the
decimal helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar in price units (``volume`` in size units); ``time`` is its close time in ns."""

    time: int
    open: int
    high: int
    low: int
    close: int
    volume: int


@dataclass(frozen=True, slots=True)
class Signal:
    """A bar on which one or more of the strategy's declared conditions hold.

    ``fired`` names them (in name order); ``values`` are every declared
    indicator's value after this bar as exact decimals (``None`` while an
    indicator is still warming up), ``raw`` the same as the core computed them:
    integers with ``places`` decimal places (see ``docs/reference/signals.md``).
    """

    seq_id: int
    time: int
    instrument: str
    fired: tuple[str, ...]
    values: Mapping[str, Decimal | None]
    raw: Mapping[str, int | None]
    places: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Event:
    """A committed event that woke the strategy: market data, a timer or a control event."""

    seq_id: int
    time: int
    source: str
    event_type: str
    venue: str
    instrument: str | None
    payload: Mapping[str, Any]

    @property
    def bar(self) -> Bar | None:
        """The bar, for ``event_type == "bar"``; else None."""
        if self.event_type != "bar":
            return None
        p = self.payload
        return Bar(self.time, p["open"], p["high"], p["low"], p["close"], p["volume"])

    @classmethod
    def from_input(cls, seq_id: int, item: Mapping[str, Any]) -> Event:
        return cls(
            seq_id=seq_id,
            time=item["event_time"],
            source=item["source"],
            event_type=item["event_type"],
            venue=item["venue"],
            instrument=item["instrument"],
            payload=MappingProxyType(dict(item["payload"])),
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """A fill of one of the strategy's orders, as the trace recorded it (money in money units)."""

    seq_id: int
    time: int
    order_id: str
    fill_id: str
    instrument: str
    side: str
    qty: int
    price: int
    notional: int
    fee: int
    currency: str


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A state change of one of the strategy's orders, or the rejection of its intent.

    ``previous`` is None and ``trigger`` is ``"intent"`` when the core rejected
    the intent itself (then ``reason_code`` says why and no order exists).
    """

    seq_id: int
    time: int
    order_id: str | None
    status: str
    previous: str | None
    trigger: str
    reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as the core's snapshot shows it."""

    order_id: str
    instrument: str
    venue: str
    side: str
    order_type: str
    time_in_force: str
    qty: int
    price: int | None
    stop_price: int | None
    status: str
    filled_qty: int

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty

    @classmethod
    def from_state(cls, order: Mapping[str, Any]) -> OrderView:
        """The view of an order object of the state contract (extra fields are left out)."""
        return cls(**{name: order[name] for name in _ORDER_VIEW_FIELDS})


_ORDER_VIEW_FIELDS = tuple(f.name for f in fields(OrderView))
