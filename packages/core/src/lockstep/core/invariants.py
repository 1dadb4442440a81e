"""Invariant checks run after every committed record.

The checker keeps its own shadow ledger, built only from the fills listed in
records, and compares it with the core's portfolio. A bug in the core's update
code therefore shows up as a disagreement instead of being checked against
itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from lockstep.core.errors import InvariantViolation
from lockstep.core.orders import TABLE, TERMINAL, Order

_ROWS = {(row.from_state, row.trigger, row.to_state) for row in TABLE.rows}
_ACCEPTED_OR_LATER = frozenset(
    {"accepted", "partially_filled", "cancel_pending", "replace_pending", "filled"}
)


class InvariantChecker:
    def __init__(
        self,
        mode: str,
        cash: Mapping[str, int],
        positions: Mapping[str, int],
        orders: Mapping[str, Order],
    ) -> None:
        self.mode = mode
        self._cash = dict(cash)
        self._positions = dict(positions)
        self._filled = {oid: o.filled_qty for oid, o in orders.items()}
        self._remaining = {oid: o.remaining for oid, o in orders.items()}

    def check(
        self,
        record: Mapping[str, Any],
        orders: Mapping[str, Order],
        cash: Mapping[str, int],
        positions: Mapping[str, int],
        replaced: frozenset[str] = frozenset(),
    ) -> list[str]:
        """Return the violations found (and raise in strict mode)."""
        if self.mode == "off":
            return []
        problems: list[str] = []
        is_duplicate = any(d["code"] == "DUPLICATE" for d in record["diagnostics"])
        if is_duplicate and (
            record["transitions"]
            or record["fills"]
            or record["cash_deltas"]
            or record["position_deltas"]
        ):
            problems.append("a duplicate report changed state")
        for tr in record["transitions"]:
            if tr["from"] in TERMINAL:
                problems.append(f"order {tr['order_id']} left terminal state {tr['from']}")
            if (tr["from"], tr["trigger"], tr["to"]) not in _ROWS:
                problems.append(
                    f"transition {tr['from']} -{tr['trigger']}-> {tr['to']} is not in the table"
                )
        for fill in record["fills"]:
            order = orders.get(fill["order_id"])
            if order is None or order.status not in _ACCEPTED_OR_LATER:
                problems.append(f"fill {fill['fill_id']} applied to an order that was not accepted")
            signed = fill["qty"] if fill["side"] == "buy" else -fill["qty"]
            self._positions[fill["instrument"]] = (
                self._positions.get(fill["instrument"], 0) + signed
            )
            flow = (
                fill["notional"] - fill["fee"] if signed < 0 else -(fill["notional"] + fill["fee"])
            )
            self._cash[fill["currency"]] = self._cash.get(fill["currency"], 0) + flow
        for delta in record["cash_deltas"]:
            ccy = delta["currency"]
            if cash.get(ccy, 0) != self._cash.get(ccy, 0):
                problems.append(
                    f"cash in {ccy} is {cash.get(ccy, 0)}, fills account for {self._cash.get(ccy, 0)}"
                )
        for delta in record["position_deltas"]:
            inst = delta["instrument"]
            if positions.get(inst, 0) != self._positions.get(inst, 0):
                problems.append(
                    f"position in {inst} is {positions.get(inst, 0)}, fills account for {self._positions.get(inst, 0)}"
                )
        touched = {t["order_id"] for t in record["transitions"]} | {
            f["order_id"] for f in record["fills"]
        }
        for oid in sorted(touched):
            order = orders.get(oid)
            if order is None:
                continue
            before_filled = self._filled.get(oid, 0)
            before_remaining = self._remaining.get(oid, order.remaining)
            if order.filled_qty < before_filled:
                problems.append(f"filled quantity of {oid} decreased")
            if order.filled_qty > order.qty:
                problems.append(f"order {oid} is filled beyond its quantity")
            if order.remaining > before_remaining and oid not in replaced:
                problems.append(f"remaining quantity of {oid} increased")
            self._filled[oid] = order.filled_qty
            self._remaining[oid] = order.remaining
        for oid in replaced:
            self._remaining[oid] = orders[oid].remaining
        if problems:
            self._report(record, problems)
        return problems

    def _report(self, record: Mapping[str, Any], problems: list[str]) -> None:
        message = f"seq_id {record['seq_id']}: " + "; ".join(problems)
        if self.mode == "strict":
            raise InvariantViolation(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)
