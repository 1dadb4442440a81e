"""Input items: event envelopes, intent batches and event groups.

Items arrive as JSON-shaped dicts (from files, the runtime, or a store) and are
checked field by field here before the core sees them, so a malformed item is
refused whole with the path of the offending field and never half-applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from lockstep.core import validate as v
from lockstep.core.fixedpoint import I64_MAX, MONEY_MAX, PRICE_MAX, PRICE_MIN, QTY_MAX, TIME_MAX

MARKET_EVENTS = ("bar", "trade", "quote")
REPORT_EVENTS = (
    "order_accepted",
    "order_rejected",
    "order_filled",
    "order_cancelled",
    "cancel_rejected",
    "order_expired",
    "order_replaced",
)
CONTROL_EVENTS = ("halt", "resume", "set_risk_flag")
RISK_FLAGS = ("reduce_only", "no_new_orders")

SOURCE_OF: dict[str, str] = {
    **dict.fromkeys(MARKET_EVENTS, "market_data"),
    **dict.fromkeys(REPORT_EVENTS, "broker_report"),
    **dict.fromkeys(CONTROL_EVENTS, "control"),
    "timer": "timer",
}

ENVELOPE_KEYS = (
    "kind",
    "seq_id",
    "event_time",
    "ingest_time",
    "source",
    "venue",
    "instrument",
    "event_type",
    "payload",
    "idempotency_key",
    "producer_index",
)


@dataclass(frozen=True, slots=True)
class Event:
    seq_id: int | None
    event_time: int
    ingest_time: int
    source: str
    venue: str
    instrument: str | None
    event_type: str
    payload: Mapping[str, Any]
    idempotency_key: str | None
    producer_index: int

    @property
    def time(self) -> int:
        return self.event_time

    def with_seq(self, seq_id: int) -> Event:
        # Spelled out: ``dataclasses.replace`` re-reads the fields on every call.
        return Event(
            seq_id,
            self.event_time,
            self.ingest_time,
            self.source,
            self.venue,
            self.instrument,
            self.event_type,
            self.payload,
            self.idempotency_key,
            self.producer_index,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "event",
            "seq_id": self.seq_id,
            "event_time": self.event_time,
            "ingest_time": self.ingest_time,
            "source": self.source,
            "venue": self.venue,
            "instrument": self.instrument,
            "event_type": self.event_type,
            "payload": dict(self.payload),
            "idempotency_key": self.idempotency_key,
            "producer_index": self.producer_index,
        }


@dataclass(frozen=True, slots=True)
class IntentBatch:
    seq_id: int | None
    batch_id: str
    strategy_id: str
    ts: int
    intents: tuple[Any, ...]
    """Raw intents: each is validated on its own so one bad intent rejects only itself."""

    @property
    def time(self) -> int:
        return self.ts

    def with_seq(self, seq_id: int) -> IntentBatch:
        return replace(self, seq_id=seq_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "intent_batch",
            "seq_id": self.seq_id,
            "batch_id": self.batch_id,
            "strategy_id": self.strategy_id,
            "ts": self.ts,
            "intents": list(self.intents),
        }


@dataclass(frozen=True, slots=True)
class EventGroup:
    events: tuple[Event, ...]


Item = Event | IntentBatch


def parse_input(obj: object) -> Event | IntentBatch | EventGroup:
    """Parse any input item; raises :class:`InputError` naming the bad field."""
    item = v.require_object(obj, "$")
    kind = item.get("kind")
    if kind == "event":
        return parse_event(item, "$")
    if kind == "intent_batch":
        return parse_intent_batch(item)
    if kind == "event_group":
        v.exact_keys(item, "$", ("kind", "events"))
        raw = item["events"]
        if not isinstance(raw, list) or not raw:
            v.fail("$.events", "expected a non-empty array of event envelopes")
        events = []
        for n, event in enumerate(raw):
            path = f"$.events[{n}]"
            envelope = v.require_object(event, path)
            if envelope.get("kind") != "event":
                v.fail(f"{path}.kind", "expected 'event'")
            events.append(parse_event(envelope, path))
        return EventGroup(tuple(events))
    v.fail("$.kind", f"expected 'event', 'intent_batch' or 'event_group', got {kind!r}")


def parse_event(obj: Mapping[str, Any], path: str = "$") -> Event:
    """Check one event envelope; bars and trades that pass :func:`_plain_market_event`
    skip the field readers."""
    event = _plain_market_event(obj)
    if event is not None:
        return event
    return parse_event_checked(obj, path)


_ENVELOPE_KEY_SET = frozenset(ENVELOPE_KEYS)
_BAR_KEY_SET = frozenset(("open", "high", "low", "close", "volume"))
_TRADE_KEY_SET = frozenset(("price", "size"))


def _plain_market_event(obj: Mapping[str, Any]) -> Event | None:
    """The event of a bar or trade envelope that is valid beyond doubt, else ``None``.

    Bars (and, in the Backtrader layer, a closing trade per bar) are almost
    every item of a backtest, and reading each field through the generic
    readers was most of what the Python core spent on one. This accepts only
    what :func:`parse_event_checked` accepts (exact types, the same ranges and
    identifier rule) and returns the same event; anything it is not sure of,
    including every invalid envelope, goes to the readers, so refusals and
    their messages have one home.
    """
    if type(obj) is not dict or obj.keys() != _ENVELOPE_KEY_SET:
        return None
    payload = obj["payload"]
    if obj["source"] != "market_data" or type(payload) is not dict:
        return None
    event_type = obj["event_type"]
    if event_type == "bar":
        if payload.keys() != _BAR_KEY_SET:
            return None
        o, h, lo, c = payload["open"], payload["high"], payload["low"], payload["close"]
        size = payload["volume"]
        if not (
            type(o) is type(h) is type(lo) is type(c) is type(size) is int
            and PRICE_MIN <= lo <= o <= h <= PRICE_MAX
            and lo <= c <= h
            and 0 <= size <= QTY_MAX
        ):
            return None
    elif event_type == "trade":
        if payload.keys() != _TRADE_KEY_SET:
            return None
        price, size = payload["price"], payload["size"]
        if not (
            type(price) is type(size) is int
            and PRICE_MIN <= price <= PRICE_MAX
            and 0 <= size <= QTY_MAX
        ):
            return None
    else:
        return None
    seq_id, event_time, ingest_time = obj["seq_id"], obj["event_time"], obj["ingest_time"]
    producer_index, key = obj["producer_index"], obj["idempotency_key"]
    venue, instrument = obj["venue"], obj["instrument"]
    if not (
        (seq_id is None or (type(seq_id) is int and 1 <= seq_id <= I64_MAX))
        and type(event_time) is int
        and 0 <= event_time <= TIME_MAX
        and type(ingest_time) is int
        and 0 <= ingest_time <= TIME_MAX
        and type(producer_index) is int
        and 0 <= producer_index <= I64_MAX
        and (key is None or (type(key) is str and 1 <= len(key) <= 128))
        and v.is_identifier(venue)
        and v.is_identifier(instrument)
    ):
        return None
    return Event(
        seq_id=seq_id,
        event_time=event_time,
        ingest_time=ingest_time,
        source="market_data",
        venue=venue,
        instrument=instrument,
        event_type=event_type,
        payload=dict(payload),
        idempotency_key=key,
        producer_index=producer_index,
    )


def parse_event_checked(obj: Mapping[str, Any], path: str = "$") -> Event:
    """Every field through the readers: the one definition of a valid envelope and its errors."""
    v.exact_keys(obj, path, ENVELOPE_KEYS)
    seq_id = v.optional_integer(obj, "seq_id", path, 1, I64_MAX)
    event_time = v.integer(obj, "event_time", path, 0, TIME_MAX)
    ingest_time = v.integer(obj, "ingest_time", path, 0, TIME_MAX)
    event_type = v.choice(obj, "event_type", path, SOURCE_OF)
    source = v.choice(obj, "source", path, ("market_data", "broker_report", "timer", "control"))
    if SOURCE_OF[event_type] != source:
        v.fail(
            f"{path}.source",
            f"event_type {event_type!r} comes from {SOURCE_OF[event_type]!r}, not {source!r}",
        )
    venue = v.identifier(obj, "venue", path)
    instrument = v.optional_identifier(obj, "instrument", path)
    if instrument is None and source in ("market_data", "broker_report"):
        v.fail(f"{path}.instrument", f"{source} events must name an instrument")
    key = obj["idempotency_key"]
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 128):
        v.fail(f"{path}.idempotency_key", "expected null or a string of 1..128 characters")
    producer_index = v.integer(obj, "producer_index", path, 0, I64_MAX)
    payload = _payload(
        event_type, v.require_object(obj["payload"], f"{path}.payload"), f"{path}.payload"
    )
    return Event(
        seq_id=seq_id,
        event_time=event_time,
        ingest_time=ingest_time,
        source=source,
        venue=venue,
        instrument=instrument,
        event_type=event_type,
        payload=payload,
        idempotency_key=key,
        producer_index=producer_index,
    )


def parse_intent_batch(obj: Mapping[str, Any]) -> IntentBatch:
    v.exact_keys(obj, "$", ("kind", "seq_id", "batch_id", "strategy_id", "ts", "intents"))
    intents = obj["intents"]
    if not isinstance(intents, list):
        v.fail("$.intents", "expected an array of intents")
    for n, intent in enumerate(intents):
        if not isinstance(intent, dict) or not isinstance(intent.get("type"), str):
            v.fail(f"$.intents[{n}]", "expected an object with a string 'type'")
        _integers_only(intent, f"$.intents[{n}]")
    return IntentBatch(
        seq_id=v.optional_integer(obj, "seq_id", "$", 1, I64_MAX),
        batch_id=v.identifier(obj, "batch_id", "$"),
        strategy_id=v.identifier(obj, "strategy_id", "$"),
        ts=v.integer(obj, "ts", "$", 0, TIME_MAX),
        intents=tuple(intents),
    )


def _integers_only(value: object, path: str) -> None:
    """Refuse anything in a raw intent that canonical JSON cannot carry, naming its path.

    Raw intents are echoed into the hashed trace, and canonical JSON holds
    integers only (ADR 0005, ADR 0008): a float would make the trace depend on
    float formatting, and NaN, infinities or non-JSON objects would make the
    encoder fail after the batch was applied. So the whole batch is refused
    before anything changes. Keys are walked in sorted order, as every core does.
    """
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        v.fail(path, "expected an integer, got a float (numbers are fixed-point integers)")
    if isinstance(value, list | tuple):
        for n, item in enumerate(value):
            _integers_only(item, f"{path}[{n}]")
        return
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            v.fail(path, "object keys must be strings")
        for key in sorted(value):
            _integers_only(value[key], f"{path}.{key}")
        return
    v.fail(path, f"expected a JSON value, got {type(value).__name__}")


def _price(obj: Mapping[str, Any], key: str, path: str) -> int:
    return v.integer(obj, key, path, PRICE_MIN, PRICE_MAX)


def _size(obj: Mapping[str, Any], key: str, path: str) -> int:
    return v.integer(obj, key, path, 0, QTY_MAX)


def _qty(obj: Mapping[str, Any], key: str, path: str) -> int:
    return v.integer(obj, key, path, 1, QTY_MAX)


def _payload(event_type: str, obj: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Check a payload against its event type and return a plain copy."""
    if event_type == "bar":
        v.exact_keys(obj, path, ("open", "high", "low", "close", "volume"))
        o, h, lo, c = (_price(obj, k, path) for k in ("open", "high", "low", "close"))
        _size(obj, "volume", path)
        if not (lo <= o <= h and lo <= c <= h):
            v.fail(
                path,
                f"bar is inconsistent: need low <= open, close <= high (o={o} h={h} l={lo} c={c})",
            )
    elif event_type == "trade":
        v.exact_keys(obj, path, ("price", "size"))
        _price(obj, "price", path)
        _size(obj, "size", path)
    elif event_type == "quote":
        v.exact_keys(obj, path, ("bid", "ask", "bid_size", "ask_size"))
        for key in ("bid", "ask"):
            _price(obj, key, path)
        for key in ("bid_size", "ask_size"):
            _size(obj, key, path)
    elif event_type in ("order_accepted", "order_expired"):
        v.exact_keys(obj, path, ("order_id",))
        v.identifier(obj, "order_id", path)
    elif event_type in ("order_rejected", "order_cancelled"):
        v.exact_keys(obj, path, ("order_id", "reason"))
        v.identifier(obj, "order_id", path)
        v.string(obj, "reason", path)
    elif event_type == "order_filled":
        v.exact_keys(obj, path, ("order_id", "fill_id", "qty", "price", "fee"))
        v.identifier(obj, "order_id", path)
        v.identifier(obj, "fill_id", path)
        _qty(obj, "qty", path)
        _price(obj, "price", path)
        v.integer(obj, "fee", path, 0, MONEY_MAX)
    elif event_type == "cancel_rejected":
        v.exact_keys(obj, path, ("order_id", "request", "reason"))
        v.identifier(obj, "order_id", path)
        v.choice(obj, "request", path, ("cancel", "replace"))
        v.string(obj, "reason", path)
    elif event_type == "order_replaced":
        v.exact_keys(obj, path, ("order_id", "qty", "price", "stop_price"))
        v.identifier(obj, "order_id", path)
        _qty(obj, "qty", path)
        v.optional_integer(obj, "price", path, PRICE_MIN, PRICE_MAX)
        v.optional_integer(obj, "stop_price", path, PRICE_MIN, PRICE_MAX)
    elif event_type == "timer":
        v.exact_keys(obj, path, ("timer_id",))
        v.identifier(obj, "timer_id", path)
    elif event_type == "halt":
        v.exact_keys(obj, path, ("reason",))
        v.string(obj, "reason", path)
    elif event_type == "resume":
        v.exact_keys(obj, path, ())
    elif event_type == "set_risk_flag":
        v.exact_keys(obj, path, ("flag", "value"))
        v.choice(obj, "flag", path, RISK_FLAGS)
        v.boolean(obj, "value", path)
    return dict(obj)
