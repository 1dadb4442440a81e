"""What the data edge needs to know about an instrument.

Feeds convert decimal strings to the core's fixed-point integers, so they need
the instrument's precisions and tick size before the first row; the same
fields appear in the core setup, and :func:`instruments_from_setup` reads them
from there so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lockstep.core import to_fixed
from lockstep.core.fixedpoint import QTY_MAX


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """An instrument as the setup declares it (``tick_size`` in price units, ``lot_size`` in size units)."""

    id: str
    venue: str
    quote_currency: str
    price_precision: int
    size_precision: int
    tick_size: int = 1
    lot_size: int = 1

    def price(self, text: str | Decimal) -> int:
        """A decimal price as fixed-point price units (exact, or an error)."""
        return to_fixed(str(text), self.price_precision)

    def size(self, text: str | Decimal, *, allow_zero: bool = False) -> int:
        """A decimal quantity as fixed-point size units (exact, or an error)."""
        return to_fixed(str(text), self.size_precision, lo=0 if allow_zero else 1, hi=QTY_MAX)

    def price_decimal(self, value: int) -> Decimal:
        return Decimal(value).scaleb(-self.price_precision)

    def size_decimal(self, value: int) -> Decimal:
        return Decimal(value).scaleb(-self.size_precision)

    def to_setup(self) -> dict[str, Any]:
        """The instrument entry of a core setup."""
        return {
            "id": self.id,
            "venue": self.venue,
            "quote_currency": self.quote_currency,
            "price_precision": self.price_precision,
            "size_precision": self.size_precision,
            "tick_size": self.tick_size,
            "lot_size": self.lot_size,
        }

    @classmethod
    def from_setup(cls, entry: Mapping[str, Any]) -> InstrumentSpec:
        return cls(
            id=entry["id"],
            venue=entry["venue"],
            quote_currency=entry["quote_currency"],
            price_precision=entry["price_precision"],
            size_precision=entry["size_precision"],
            tick_size=entry.get("tick_size", 1),
            lot_size=entry.get("lot_size", 1),
        )


def instruments_from_setup(setup: Mapping[str, Any]) -> dict[str, InstrumentSpec]:
    """Instrument specs keyed by id, in setup order."""
    return {e["id"]: InstrumentSpec.from_setup(e) for e in setup.get("instruments", [])}
