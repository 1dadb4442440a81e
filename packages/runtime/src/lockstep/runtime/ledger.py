"""The runtime's running view of a run, kept from trace records alone.

Cash and positions change only by the deltas each record carries, marks by the
market events it committed, and the clock by the spec's ``max(C, T)`` rule, so
this view equals the core's snapshot after every step (the tests check it)
without asking any backend for a snapshot on every event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from lockstep.core import fixedpoint as fp
from lockstep.runtime.views import Bar


class Ledger:
    """Cash, positions, marks, clock and recent bars, updated record by record."""

    def __init__(self, setup: Mapping[str, Any], history: int = 500) -> None:
        self.currencies = {c["code"]: c["money_precision"] for c in setup["currencies"]}
        self.instruments = {i["id"]: dict(i) for i in setup["instruments"]}
        self.shift = {
            i["id"]: self.currencies[i["quote_currency"]]
            - i["price_precision"]
            - i["size_precision"]
            for i in setup["instruments"]
        }
        self.cash: dict[str, int] = {c: setup["starting_cash"].get(c, 0) for c in self.currencies}
        self.positions: dict[str, int] = dict.fromkeys(self.instruments, 0)
        self.marks: dict[str, int] = {}
        self.bars: dict[str, deque[Bar]] = {i: deque(maxlen=history) for i in self.instruments}
        self.keeps_bars = history > 0
        """A ledger that only values positions (verify's) keeps no bar history."""
        self.clock = 0
        self.last_seq_id = 0
        self.last_hash = "0" * 64

    def apply(self, record: Mapping[str, Any]) -> None:
        item = record["input"]
        time = item["ts"] if item["kind"] == "intent_batch" else item["event_time"]
        self.clock = max(self.clock, time)
        self.last_seq_id = record["seq_id"]
        self.last_hash = record["hash"]
        for delta in record["cash_deltas"]:
            self.cash[delta["currency"]] = self.cash.get(delta["currency"], 0) + delta["delta"]
        for delta in record["position_deltas"]:
            inst = delta["instrument"]
            self.positions[inst] = self.positions.get(inst, 0) + delta["delta"]
        if item["kind"] == "event" and item["source"] == "market_data":
            if any(d["code"] == "DUPLICATE" for d in record["diagnostics"]):
                return  # a duplicate changes nothing, not even the mark
            self._market(item)

    def apply_mark(self, time: int, instrument: str, mark: int, seq_id: int, hash_: str) -> None:
        """What :meth:`apply` does for a bar record with no deltas or diagnostics, given
        just its values (for a ledger that keeps no bar history)."""
        self.clock = max(self.clock, time)
        self.last_seq_id = seq_id
        self.last_hash = hash_
        self.marks[instrument] = mark

    def apply_quiet_bar(self, instrument: str, bar: Bar) -> None:
        """What :meth:`apply` does for a bar record with no deltas or diagnostics, from
        the bar itself (:meth:`apply_head` then sets the seq_id and hash)."""
        self.clock = max(self.clock, bar.time)
        self.marks[instrument] = bar.close
        if self.keeps_bars:
            self.bars[instrument].append(bar)

    def apply_head(self, seq_id: int, hash_: str) -> None:
        """The last record's seq_id and hash, when records were applied without them."""
        self.last_seq_id = seq_id
        self.last_hash = hash_

    def _market(self, item: Mapping[str, Any]) -> None:
        inst = item["instrument"]
        p = item["payload"]
        kind = item["event_type"]
        if kind == "bar":
            self.marks[inst] = p["close"]
            if self.keeps_bars:
                self.bars[inst].append(
                    Bar(item["event_time"], p["open"], p["high"], p["low"], p["close"], p["volume"])
                )
        elif kind == "trade":
            self.marks[inst] = p["price"]
        else:
            self.marks[inst] = (p["bid"] + p["ask"]) // 2

    def position_value(self, instrument: str) -> int:
        """Signed money value of a position at its mark (0 when flat or never marked)."""
        qty = self.positions.get(instrument, 0)
        mark = self.marks.get(instrument)
        if qty == 0 or mark is None:
            return 0
        value = fp.notional(mark, abs(qty), self.shift[instrument])
        return value if qty > 0 else -value

    def equity(self, currency: str) -> int:
        """Cash plus the marked value of every position quoted in ``currency`` (money units)."""
        total = self.cash.get(currency, 0)
        for inst, spec in self.instruments.items():
            if spec["quote_currency"] == currency:
                total += self.position_value(inst)
        return total
