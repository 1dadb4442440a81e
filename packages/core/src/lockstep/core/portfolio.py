"""Positions, cash, average-cost realized P&L and fees.

A fill's effects are computed first (every bound checked) and committed only if
all of them fit, so an overflowing fill leaves the portfolio untouched and can
be quarantined instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.core import fixedpoint as fp


@dataclass(frozen=True, slots=True)
class FillEffects:
    instrument: str
    currency: str
    position: int
    cost: int
    cash: int
    realized: int
    fees: int
    cash_delta: int
    position_delta: int


class Portfolio:
    def __init__(self, starting_cash: dict[str, int]) -> None:
        self.positions: dict[str, int] = {}
        self.cost_basis: dict[str, int] = {}
        self.cash: dict[str, int] = dict(starting_cash)
        self.realized_pnl: dict[str, int] = {}
        self.fees: dict[str, int] = {}

    def plan_fill(
        self, instrument: str, currency: str, signed_qty: int, notional: int, fee: int
    ) -> FillEffects:
        """Compute a fill's effects; raises :class:`fixedpoint.OutOfRange` if any overflows."""
        pos = self.positions.get(instrument, 0)
        cost = self.cost_basis.get(instrument, 0)
        realized = self.realized_pnl.get(currency, 0)
        sign = 1 if signed_qty > 0 else -1
        if pos == 0 or (pos > 0) == (signed_qty > 0):
            new_pos = fp.position(pos + signed_qty)
            new_cost = fp.money(cost + sign * notional)
        else:
            size = abs(signed_qty)
            closed = min(size, abs(pos))
            removed = fp.trunc_div(fp.money(cost * closed), abs(pos))
            closed_notional = fp.trunc_div(fp.money(notional * closed), size)
            pos_sign = 1 if pos > 0 else -1
            realized = fp.money(realized + pos_sign * (closed_notional - abs(removed)))
            new_pos = fp.position(pos + signed_qty)
            new_cost = fp.money(cost - removed)
            if size > closed:
                new_cost = fp.money(sign * (notional - closed_notional))
        cash_delta = fp.money(-(notional + fee)) if signed_qty > 0 else fp.money(notional - fee)
        return FillEffects(
            instrument=instrument,
            currency=currency,
            position=new_pos,
            cost=new_cost,
            cash=fp.money(self.cash.get(currency, 0) + cash_delta),
            realized=realized,
            fees=fp.money(self.fees.get(currency, 0) + fee),
            cash_delta=cash_delta,
            position_delta=signed_qty,
        )

    def commit(self, effects: FillEffects) -> None:
        self.positions[effects.instrument] = effects.position
        self.cost_basis[effects.instrument] = effects.cost
        self.cash[effects.currency] = effects.cash
        self.realized_pnl[effects.currency] = effects.realized
        self.fees[effects.currency] = effects.fees
