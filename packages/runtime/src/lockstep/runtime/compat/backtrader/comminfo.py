"""Commission schemes: what the core's per-venue ``fee_ppm`` can express.

The core charges ``ceil(notional * fee_ppm / 1e6)`` on every fill: a
percentage of traded value. Backtrader's stock-like percentage scheme is
exactly that, so it maps to ``fee_ppm``; schemes the core cannot express
(fixed per-share fees, futures margin and multipliers, leverage, credit
interest) are refused when the run is set up instead of silently charging
something else.
"""

from __future__ import annotations

from typing import Any

from lockstep.runtime.compat.backtrader.lines import CompatError
from lockstep.runtime.compat.backtrader.params import ParamsBag, split_kwargs


class CommInfoBase:
    """A stock-like percentage commission (``commission=0.001`` with ``percabs`` is 0.1%)."""

    COMM_PERC, COMM_FIXED = range(2)
    params: Any = (
        ("commission", 0.0),
        ("mult", 1.0),
        ("margin", None),
        ("commtype", None),
        ("stocklike", False),
        ("percabs", False),
        ("interest", 0.0),
        ("interest_long", False),
        ("leverage", 1.0),
        ("automargin", False),
    )

    def __init__(self, **kwargs: Any) -> None:
        from lockstep.runtime.compat.backtrader.params import prepare_class

        if "_own_params" not in type(self).__dict__:
            prepare_class(type(self))
        bag, rest = split_kwargs(type(self), kwargs)
        if rest:
            raise CompatError(f"{type(self).__name__} got unknown parameters {sorted(rest)}")
        self.p: ParamsBag = bag
        self.params = bag
        self._check()
        self.rate = float(bag.commission) if bag.percabs else float(bag.commission) / 100.0

    def _check(self) -> None:
        p = self.p
        problems = []
        if p.margin:
            problems.append("margin (futures-like)")
        if p.commtype == self.COMM_FIXED:
            problems.append("commtype=COMM_FIXED (a fixed fee per unit)")
        if p.mult != 1.0:
            problems.append("mult != 1")
        if p.interest:
            problems.append("interest")
        if p.leverage != 1.0:
            problems.append("leverage != 1")
        if p.automargin:
            problems.append("automargin")
        if problems:
            raise CompatError(
                "the Lockstep core charges fees as a percentage of traded value only; "
                f"this commission scheme uses {', '.join(problems)} (see the divergence "
                "table in docs/guides/backtrader.md)"
            )

    @property
    def fee_ppm(self) -> int:
        """The rate in parts per million, as the core's venue setup takes it."""
        ppm = self.rate * 1_000_000
        whole = round(ppm)
        if abs(ppm - whole) > 1e-6 or not 0 <= whole <= 1_000_000:
            raise CompatError(
                f"commission {self.rate!r} is not a whole number of parts per million "
                "between 0 and 100%; the core's fee_ppm is an integer"
            )
        return int(whole)

    # -- Backtrader API ----------------------------------------------------------------------

    @property
    def margin(self) -> Any:
        return self.p.margin

    @property
    def stocklike(self) -> bool:
        return True

    def get_leverage(self) -> float:
        return 1.0

    def getsize(self, price: float, cash: float) -> int:
        return int(cash // price)

    def getoperationcost(self, size: float, price: float) -> float:
        return abs(size) * price

    def getvaluesize(self, size: float, price: float) -> float:
        return size * price

    def getvalue(self, position: Any, price: float) -> float:
        size: float = position.size
        if size >= 0:
            return size * price
        value: float = position.price * size
        value += (position.price - price) * size
        return float(value)

    def getcommission(self, size: float, price: float) -> float:
        return abs(size) * self.rate * price

    def profitandloss(self, size: float, price: float, newprice: float) -> float:
        return size * (newprice - price)

    def cashadjust(self, size: float, price: float, newprice: float) -> float:
        return 0.0


CommissionInfo = CommInfoBase
