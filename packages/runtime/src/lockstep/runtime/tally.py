"""Everything a user reads about a run, derived from its trace records alone.

The backtest loop and ``lockstep replay verify`` both feed records, in trace
order, into a :class:`Tally`: the backtest to produce the results it stores,
verify to recompute them from the verified trace and compare. One code path
for both is what makes "the stored metrics are the trace's metrics" a checked
claim instead of a hope.

What it derives: counts (records, bars, intent batches, intents, rejections by
reason code with the first examples, expired and cancelled orders), the trade
list (open trades marked to the last price at the end), the equity curve and
the metrics computed from it. Inputs that are not records (how many stored
items the run fed, the final state hash) come from the replay itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lockstep.core import fixedpoint as fp
from lockstep.runtime.ledger import Ledger
from lockstep.runtime.metrics import EquityCurve, EquityPoint, Metrics, compute_metrics
from lockstep.runtime.trades import Trade, TradeBook
from lockstep.runtime.views import Bar

REJECTION_EXAMPLES = 5
"""Rejected intents kept as examples (the first ones, in trace order)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected intent, with what a user needs to find and fix it."""

    seq_id: int
    time: int
    reason_code: str
    intent_type: str
    instrument: str | None
    side: str | None
    order_type: str | None
    qty: int | None
    price: int | None
    stop_price: int | None
    order_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq_id": self.seq_id,
            "time": self.time,
            "reason_code": self.reason_code,
            "intent_type": self.intent_type,
            "instrument": self.instrument,
            "side": self.side,
            "order_type": self.order_type,
            "qty": self.qty,
            "price": self.price,
            "stop_price": self.stop_price,
            "order_id": self.order_id,
        }


@dataclass(frozen=True, slots=True)
class TallyResult:
    """The derived part of a run's results (see :meth:`Tally.finish`)."""

    counts: dict[str, int]
    rejections: dict[str, Any]
    metrics: Metrics
    trades: tuple[Trade, ...]
    equity: tuple[EquityPoint, ...]

    def to_results(self, inputs: int) -> dict[str, Any]:
        """The entries the run store keeps under ``results`` for these values.

        ``inputs`` (items the run fed the core) is not visible in records
        (an event group is one input and several records): the caller knows it.
        """
        return {
            "counts": {"inputs": inputs, **self.counts},
            "rejections": self.rejections,
            "metrics": self.metrics.to_dict(),
            "trades": [t.to_dict() for t in self.trades],
            "equity": [[p.time, p.equity, p.exposed] for p in self.equity],
        }


RECOMPUTED_RESULTS = ("counts", "rejections", "metrics", "trades", "equity")
"""The ``results`` entries :class:`Tally` derives, so verify can recompute each."""


class Tally:
    """Feed it a run's records in trace order; :meth:`finish` gives the results.

    ``ledger`` lets the backtest share the ledger its strategy context reads
    (records are applied to it here, once); verify passes none and gets a
    small one of its own.
    """

    def __init__(self, setup: Mapping[str, Any], ledger: Ledger | None = None) -> None:
        self.ledger = ledger if ledger is not None else Ledger(setup, history=0)
        self.curve = EquityCurve(self.ledger)
        self.book = TradeBook()
        self.records = 0
        self.bars = 0
        self.intent_batches = 0
        self.intents = 0
        self.reasons: Counter[str] = Counter()
        self.examples: list[Rejection] = []
        self.expired = 0
        self.cancelled = 0
        self._time: int | None = None
        self._market_seen = False

    def add(self, record: Mapping[str, Any]) -> None:
        """Apply one record: ledger, trades, counts, and the equity sample of the
        previous timestamp once this record starts a later one."""
        item = record["input"]
        is_batch = item["kind"] == "intent_batch"
        time = item["ts"] if is_batch else item["event_time"]
        self._advance(time)
        self.ledger.apply(record)
        self.records += 1
        if is_batch:
            self._batch(record, item, time)
        elif item["source"] == "market_data":
            self._market_seen = True
            if record["origin"] == "input":
                self.bars += 1
        for fill in record["fills"]:
            self.book.on_fill(fill, self.ledger.clock)
        for transition in record["transitions"]:
            to = transition["to"]
            if to == "expired":
                self.expired += 1
            elif to == "cancelled":
                self.cancelled += 1

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.add(record)

    def add_text(self, text: str) -> None:
        """One record as the canonical JSON line the core wrote (see :meth:`add`).

        Most records of a run are bars that changed nothing but a mark, and
        parsing each whole line is most of what verify spends on results. Such
        a line is read with a few string searches instead (its layout is fixed:
        canonical JSON, keys sorted, written by the core and already found
        equal to the replay's); any other line, and every line when this tally
        keeps bar history, is parsed and applied by :meth:`add`.
        """
        bar = None if self.ledger.keeps_bars else _quiet_bar(text)
        if bar is None:
            self.add(json.loads(text))
            return
        time, instrument, close, seq_id, record_hash = bar
        self._advance(time)
        self.ledger.apply_mark(time, instrument, close, seq_id, record_hash)
        self.records += 1
        self.bars += 1
        self._market_seen = True

    def add_quiet_bar(self, instrument: str, bar: Bar) -> None:
        """What :meth:`add` does for a quiet bar's record (see :func:`is_quiet_line`),
        given the bar the runtime fed; the ledger's seq_id and hash are the caller's
        to bring up to date (:meth:`Ledger.apply_head`)."""
        self._advance(bar.time)
        self.ledger.apply_quiet_bar(instrument, bar)
        self.records += 1
        self.bars += 1
        self._market_seen = True

    def _advance(self, time: int) -> None:
        """Sample the equity of the previous timestamp once a record starts a later one."""
        if self._time is not None and time > self._time and self._market_seen:
            self.curve.sample(self._time)
            self._market_seen = False
        self._time = time if self._time is None else max(self._time, time)

    def _batch(self, record: Mapping[str, Any], item: Mapping[str, Any], time: int) -> None:
        intents = item["intents"]
        self.intent_batches += 1
        self.intents += len(intents)
        for outcome in record["intent_outcomes"]:
            if outcome["outcome"] != "rejected":
                continue
            code = str(outcome["reason_code"])
            self.reasons[code] += 1
            if len(self.examples) < REJECTION_EXAMPLES:
                index = outcome["index"]
                intent = intents[index] if 0 <= index < len(intents) else {}
                self.examples.append(
                    Rejection(
                        seq_id=record["seq_id"],
                        time=time,
                        reason_code=code,
                        intent_type=str(outcome.get("type") or intent.get("type")),
                        instrument=intent.get("instrument"),
                        side=intent.get("side"),
                        order_type=intent.get("order_type"),
                        qty=intent.get("qty"),
                        price=intent.get("price"),
                        stop_price=intent.get("stop_price"),
                        order_id=outcome.get("order_id"),
                    )
                )

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def finish(self) -> TallyResult:
        """Take the last equity sample, mark open trades to the last price, compute metrics.

        Idempotent: the backtest and verify may both call it at the end.
        """
        if self._time is not None and self._market_seen:
            self.curve.sample(self._time)
            self._market_seen = False
        for trade in self.book.trades:
            if not trade.closed:
                self._mark(trade)
        trades = tuple(self.book.trades)
        counts = {
            "records": self.records,
            "bars": self.bars,
            "intent_batches": self.intent_batches,
            "intents": self.intents,
            "rejected_intents": self.rejected,
            "expired_orders": self.expired,
            "cancelled_orders": self.cancelled,
        }
        rejections = {
            "by_reason": dict(sorted(self.reasons.items())),
            "examples": [r.to_dict() for r in self.examples],
        }
        return TallyResult(
            counts=counts,
            rejections=rejections,
            metrics=compute_metrics(self.curve, trades),
            trades=trades,
            equity=tuple(self.curve.points),
        )

    def _mark(self, trade: Trade) -> None:
        """Value an open trade's remaining quantity at its instrument's last price."""
        mark = self.ledger.marks.get(trade.instrument)
        open_qty = trade.qty - trade.exit_qty
        if mark is None or open_qty <= 0:
            return
        shift = self.ledger.shift[trade.instrument]
        trade.mark_to(mark, fp.notional(mark, open_qty, shift), self.ledger.clock)


_QUIET_HEAD = '{"cash_deltas":[],"diagnostics":[],"fills":[],"hash":"'
_QUIET_INPUT = '","input":{"event_time":'
_QUIET_REST = ',"intent_outcomes":[],"origin":"input","position_deltas":[],"prev_hash":"'
_QUIET_TAIL = ',"transitions":[]}'
_BAR_KEYS = '"event_type":"bar","idempotency_key":'
_INSTRUMENT = '"instrument":"'
_CLOSE = '"kind":"event","payload":{"close":'
_SOURCE = '"source":"market_data"'
_SEQ = '"seq_id":'


def is_quiet_line(text: str) -> bool:
    """Whether a canonical record line is an input event's record with no effects and
    no diagnostics (three string tests; which event it was, the caller knows)."""
    return text.startswith(_QUIET_HEAD) and text.endswith(_QUIET_TAIL) and _QUIET_REST in text


def _quiet_bar(text: str) -> tuple[int, str, int, int, str] | None:
    """``(time, instrument, close, seq_id, hash)`` of a market bar input record with no
    effects and no diagnostics, else None (the caller then parses the line)."""
    if not (text.startswith(_QUIET_HEAD) and text.endswith(_QUIET_TAIL)):
        return None
    hash_end = len(_QUIET_HEAD) + 64
    if not text.startswith(_QUIET_INPUT, hash_end):
        return None
    rest = text.find(_QUIET_REST, hash_end)
    if rest < 0:
        return None
    start = hash_end + len(_QUIET_INPUT)
    item = text[start:rest]
    time_end = item.find(",")
    instrument_at = item.find(_INSTRUMENT)
    close_at = item.find(_CLOSE)
    if (
        not item.startswith(_BAR_KEYS, time_end + 1)
        or instrument_at < 0
        or close_at < 0
        or _SOURCE not in item
    ):
        return None
    instrument_at += len(_INSTRUMENT)
    close_at += len(_CLOSE)
    seq_at = text.rfind(_SEQ, rest) + len(_SEQ)
    return (
        int(item[:time_end]),
        item[instrument_at : item.index('"', instrument_at)],
        int(item[close_at : item.index(",", close_at)]),
        int(text[seq_at : len(text) - len(_QUIET_TAIL)]),
        text[len(_QUIET_HEAD) : hash_end],
    )
