"""Round-trip trades reconstructed from fills, and the trade-list CSV.

A trade opens when an instrument's position leaves zero and closes when it
returns to zero; a fill that flips the position closes one trade and opens the
next, its notional and fee split by quantity (truncated, as the core divides).
P&L is the trade's own cash flow: exit notional minus entry notional (reversed
for shorts) minus every fee paid on it, all in integer money units.

A trade still open at the end of a run is *marked*: its remaining quantity is
valued at the instrument's last price (:meth:`Trade.mark_to`). Its P&L is then
realised (the part already exited, and every fee paid) plus unrealised (the
remaining quantity at the mark against what it cost), and both parts are
reported, so an open position never reads as a total loss.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from lockstep.core import from_fixed
from lockstep.core.fixedpoint import trunc_div

TRADE_COLUMNS = (
    "trade",
    "instrument",
    "direction",
    "status",
    "entry_time",
    "exit_time",
    "qty",
    "entry_price",
    "exit_price",
    "pnl",
    "unrealised_pnl",
    "mark_price",
    "fees",
    "return",
    "currency",
)


@dataclass(slots=True)
class Trade:
    number: int
    instrument: str
    direction: str
    entry_time: int
    currency: str
    qty: int = 0
    """Total quantity opened (size units)."""
    exit_qty: int = 0
    entry_notional: int = 0
    exit_notional: int = 0
    fees: int = 0
    exit_time: int | None = None
    mark_price: int | None = None
    """Open trades only: the price the remaining quantity is valued at (price units)."""
    mark_notional: int = 0
    """Open trades only: the remaining quantity's value at ``mark_price`` (money units)."""
    mark_time: int | None = None

    @property
    def closed(self) -> bool:
        return self.exit_time is not None

    def mark_to(self, price: int, notional: int, time: int) -> None:
        """Value the open quantity at ``price`` (``notional`` is its exact money value)."""
        self.mark_price, self.mark_notional, self.mark_time = price, notional, time

    @property
    def _sign(self) -> int:
        return 1 if self.direction == "long" else -1

    @property
    def exited_cost(self) -> int:
        """The part of the entry notional that the exits so far closed (truncated, like fills)."""
        if self.qty == 0:
            return 0
        return trunc_div(self.entry_notional * self.exit_qty, self.qty)

    @property
    def realised_pnl(self) -> int:
        """Money units: the exited part's result minus every fee paid on the trade."""
        return self._sign * (self.exit_notional - self.exited_cost) - self.fees

    @property
    def unrealised_pnl(self) -> int:
        """Money units: the open quantity at its mark against its cost (0 when closed or unmarked)."""
        if self.closed or self.mark_price is None:
            return 0
        return self._sign * (self.mark_notional - (self.entry_notional - self.exited_cost))

    @property
    def pnl(self) -> int:
        """Money units: realised plus unrealised (an open trade is valued at its mark)."""
        return self.realised_pnl + self.unrealised_pnl

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "instrument": self.instrument,
            "direction": self.direction,
            "status": "closed" if self.closed else "open",
            "entry_time": self.entry_time,
            "exit_time": self.exit_time,
            "qty": self.qty,
            "exit_qty": self.exit_qty,
            "entry_notional": self.entry_notional,
            "exit_notional": self.exit_notional,
            "fees": self.fees,
            "pnl": self.pnl,
            "realised_pnl": self.realised_pnl,
            "unrealised_pnl": self.unrealised_pnl,
            "mark_price": self.mark_price,
            "mark_notional": self.mark_notional,
            "mark_time": self.mark_time,
            "currency": self.currency,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trade:
        """A trade as :meth:`to_dict` wrote it (derived amounts are recomputed, not read)."""
        return cls(
            number=data["number"],
            instrument=data["instrument"],
            direction=data["direction"],
            entry_time=data["entry_time"],
            currency=data["currency"],
            qty=data["qty"],
            exit_qty=data["exit_qty"],
            entry_notional=data["entry_notional"],
            exit_notional=data["exit_notional"],
            fees=data["fees"],
            exit_time=data["exit_time"],
            mark_price=data.get("mark_price"),
            mark_notional=data.get("mark_notional", 0),
            mark_time=data.get("mark_time"),
        )


class TradeBook:
    """Feed it fills in trace order; it keeps the list of trades."""

    def __init__(self) -> None:
        self.trades: list[Trade] = []
        self._open: dict[str, Trade] = {}
        self._position: dict[str, int] = {}

    def on_fill(self, fill: Mapping[str, Any], time: int) -> None:
        inst = fill["instrument"]
        qty, notional, fee = fill["qty"], fill["notional"], fill["fee"]
        signed = qty if fill["side"] == "buy" else -qty
        position = self._position.get(inst, 0)
        if position == 0 or (position > 0) == (signed > 0):
            self._add_entry(inst, signed, notional, fee, time, fill["currency"])
        else:
            closed = min(qty, abs(position))
            part_notional = trunc_div(notional * closed, qty)
            part_fee = trunc_div(fee * closed, qty)
            trade = self._open[inst]
            trade.exit_qty += closed
            trade.exit_notional += part_notional
            trade.fees += part_fee
            if closed == abs(position):
                trade.exit_time = time
                del self._open[inst]
            rest = qty - closed
            if rest:
                self._position[inst] = 0
                rest_signed = rest if signed > 0 else -rest
                self._add_entry(
                    inst,
                    rest_signed,
                    notional - part_notional,
                    fee - part_fee,
                    time,
                    fill["currency"],
                )
                return
        self._position[inst] = position + signed

    def _add_entry(
        self, inst: str, signed: int, notional: int, fee: int, time: int, currency: str
    ) -> None:
        trade = self._open.get(inst)
        if trade is None:
            direction = "long" if signed > 0 else "short"
            trade = Trade(len(self.trades) + 1, inst, direction, time, currency)
            self.trades.append(trade)
            self._open[inst] = trade
        trade.qty += abs(signed)
        trade.entry_notional += notional
        trade.fees += fee
        self._position[inst] = self._position.get(inst, 0) + signed

    @property
    def closed(self) -> list[Trade]:
        return [t for t in self.trades if t.closed]


def average_price(
    notional: int, qty: int, scale_shift: int, price_precision: int
) -> Decimal | None:
    """Average price as a decimal with two more places than the instrument's precision."""
    if qty == 0:
        return None
    units = Fraction(notional, qty * 10**scale_shift)
    return _decimal(units / 10**price_precision, price_precision + 2)


def _decimal(value: Fraction, places: int) -> Decimal:
    scaled = value * 10**places
    rounded = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    return Decimal(rounded).scaleb(-places)


def iso_utc(ns: int | None) -> str:
    if ns is None:
        return ""
    stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_trades_csv(
    path: str | Path,
    trades: Iterable[Trade],
    instruments: Mapping[str, Mapping[str, Any]],
    money_precision: Mapping[str, int],
) -> int:
    """Write the trade list (decimal strings, UTC times); returns the number of rows."""
    count = 0
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TRADE_COLUMNS)
        for t in trades:
            spec = instruments[t.instrument]
            mp = money_precision[t.currency]
            shift = mp - spec["price_precision"] - spec["size_precision"]
            entry = average_price(t.entry_notional, t.qty, shift, spec["price_precision"])
            exit_ = average_price(t.exit_notional, t.exit_qty, shift, spec["price_precision"])
            ret = _decimal(Fraction(t.pnl, t.entry_notional), 6) if t.entry_notional else ""
            mark = "" if t.mark_price is None else from_fixed(t.mark_price, spec["price_precision"])
            writer.writerow(
                [
                    t.number,
                    t.instrument,
                    t.direction,
                    "closed" if t.closed else "open",
                    iso_utc(t.entry_time),
                    iso_utc(t.exit_time),
                    from_fixed(t.qty, spec["size_precision"]),
                    entry if entry is not None else "",
                    exit_ if exit_ is not None else "",
                    from_fixed(t.pnl, mp),
                    from_fixed(t.unrealised_pnl, mp),
                    mark,
                    from_fixed(t.fees, mp),
                    ret,
                    t.currency,
                ]
            )
            count += 1
    return count
