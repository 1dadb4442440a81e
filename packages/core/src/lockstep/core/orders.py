"""Orders and the table-driven order state machine.

The legal transitions are not written here: they are loaded from the
``order_transitions`` contract, so the Python core, a native core and the docs
all follow one table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lockstep.contracts.transitions import load_transition_table

TABLE = load_transition_table()
TERMINAL = frozenset(TABLE.terminal_states)
WORKING = frozenset({"accepted", "partially_filled"})
"""States in which an order rests at a simulated venue and can be matched."""


def next_state(status: str, trigger: str, filled_qty: int) -> str | None:
    """Target state for ``trigger`` from ``status``, or None when the table has no row."""
    return TABLE.lookup(status, trigger, filled_qty > 0)


@dataclass(slots=True)
class Order:
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
    filled_notional: int
    fees: int
    created_seq: int
    submit_day: int
    triggered: bool

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty

    @property
    def sign(self) -> int:
        return 1 if self.side == "buy" else -1

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "instrument": self.instrument,
            "venue": self.venue,
            "side": self.side,
            "order_type": self.order_type,
            "time_in_force": self.time_in_force,
            "qty": self.qty,
            "price": self.price,
            "stop_price": self.stop_price,
            "status": self.status,
            "filled_qty": self.filled_qty,
            "filled_notional": self.filled_notional,
            "fees": self.fees,
            "created_seq": self.created_seq,
            "submit_day": self.submit_day,
            "triggered": self.triggered,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        return cls(**data)


def sorted_order_ids(order_ids: Iterable[str]) -> list[str]:
    """The distinct ids of an order lookup, sorted; anything but strings is a caller's mistake."""
    ids = set(order_ids)
    if not all(isinstance(oid, str) for oid in ids):
        raise TypeError("order ids must be strings")
    return sorted(ids)
