"""DAY orders that expired before they could ever fill, found from the trace as it is written.

The core expires a ``DAY`` order on the first market event of its instrument
whose UTC day (``event_time // 86_400_000_000_000``) is later than the UTC day
of the intent batch that placed it, before matching that event (core model,
section 6). On data with one bar per day, stamped at the close, the strategy
places its order after the bar of day D and the next bar is on day D+1: the
order expires on that bar without ever being matched. The run looks fine
(no error, no rejection), it just never trades, so the runtime says so.

An order counts only when the core really expired it on the first market
event of its instrument after it was placed; an order that saw an event of
its own UTC day first had its chance and is not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lockstep.core.fixedpoint import DAY_NS

TERMINAL = frozenset({"filled", "cancelled", "rejected", "expired"})


@dataclass(frozen=True, slots=True)
class Stranded:
    """A DAY order that expired at the first market event of its instrument after it was placed."""

    order_id: str
    instrument: str
    placed: int
    expired: int


class DayOrderWatch:
    """Follows one strategy's DAY orders through the records of a run."""

    def __init__(self, strategy_id: str) -> None:
        self._sid = strategy_id
        self._waiting: dict[str, dict[str, int]] = {}
        """Per instrument: order id -> batch time, for DAY orders that saw no event yet."""
        self._doomed: dict[str, Stranded] = {}
        """Orders whose first event was on a later UTC day: the core expires them now."""
        self.count = 0
        self.first: Stranded | None = None

    @property
    def idle(self) -> bool:
        """No DAY order waits for its first event or its expiry, so no record matters here."""
        return not self._waiting and not self._doomed

    def observe(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Take the records of one committed item, in trace order."""
        for rec in records:
            item = rec["input"]
            if item["kind"] == "intent_batch":
                if item["strategy_id"] == self._sid:
                    self._placed(item, rec["intent_outcomes"])
            elif item["source"] == "market_data":
                waiting = self._waiting.get(item["instrument"])
                if waiting:
                    self._first_event(item["instrument"], item["event_time"], waiting)
            if self._doomed or self._waiting:
                self._transitions(rec["transitions"])
        self._doomed.clear()  # the expiry is generated in the step of the event, or not at all

    def warning(self) -> str | None:
        """One line summarising the stranded orders of the run, or None when there were none."""
        if self.first is None:
            return None
        first = self.first
        orders = "1 DAY order" if self.count == 1 else f"{self.count} DAY orders"
        return (
            f"{orders} of this run never had a chance to fill: each expired at the first market "
            "event of its instrument after it was placed, which fell on a later UTC day (first: "
            f"{first.order_id} on {first.instrument}, placed {_iso(first.placed)}, expired at "
            f"{_iso(first.expired)}); DAY means until the end of the UTC day the order was "
            "placed on, so with one bar per day use GTC and cancel the order yourself "
            "(see 'Time in force' in docs/guides/backtesting.md)"
        )

    def _placed(self, batch: Mapping[str, Any], outcomes: Iterable[Mapping[str, Any]]) -> None:
        intents = batch["intents"]
        for outcome in outcomes:
            if outcome["outcome"] != "accepted" or outcome["type"] != "place_order":
                continue
            intent = intents[outcome["index"]]
            if intent.get("time_in_force") == "DAY":
                waiting = self._waiting.setdefault(intent["instrument"], {})
                waiting[outcome["order_id"]] = batch["ts"]

    def _first_event(self, instrument: str, when: int, waiting: dict[str, int]) -> None:
        day = when // DAY_NS
        for order_id, placed in waiting.items():
            if day > placed // DAY_NS:
                self._doomed[order_id] = Stranded(order_id, instrument, placed, when)
        waiting.clear()

    def _transitions(self, transitions: Iterable[Mapping[str, Any]]) -> None:
        for t in transitions:
            to = t["to"]
            if to not in TERMINAL:
                continue
            order_id = t["order_id"]
            stranded = self._doomed.pop(order_id, None)
            if stranded is not None and to == "expired":
                self.count += 1
                if self.first is None:
                    self.first = stranded
            for waiting in self._waiting.values():
                waiting.pop(order_id, None)


def _iso(ns: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
