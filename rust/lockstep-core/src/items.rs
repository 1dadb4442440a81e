//! Input items: event envelopes, intent batches and event groups.
//!
//! A port of `lockstep.core.items`: items arrive as JSON values and are checked
//! field by field, in Python's order, before the core sees them, so a malformed
//! item is refused whole with the path of the first offending field and never
//! half-applied. Event payloads become typed values; intents stay raw JSON
//! because each is judged on its own when the batch is applied (and the batch
//! is echoed verbatim in its trace record, which is why a number with a
//! fraction or an exponent anywhere inside them refuses the whole batch).

use serde_json::Value;

use crate::canonical::{self, write_int, write_name, write_opt_int, write_opt_str, write_str, ObjectWriter};
use crate::coresetup::Source;
use crate::errors::Invalid;
use crate::fixedpoint::{I64_MAX, MONEY_MAX, PRICE_MAX, PRICE_MIN, QTY_MAX, TIME_MAX};
use crate::validate::{self as v, field, Obj, VResult};

/// Every event type, in `SOURCE_OF` order, with the source it must come from.
pub const EVENT_TYPES: [&str; 14] = [
    "bar",
    "trade",
    "quote",
    "order_accepted",
    "order_rejected",
    "order_filled",
    "order_cancelled",
    "cancel_rejected",
    "order_expired",
    "order_replaced",
    "halt",
    "resume",
    "set_risk_flag",
    "timer",
];

fn source_of(event_type: &str) -> Source {
    match event_type {
        "bar" | "trade" | "quote" => Source::MarketData,
        "halt" | "resume" | "set_risk_flag" => Source::Control,
        "timer" => Source::Timer,
        _ => Source::BrokerReport,
    }
}

/// The two risk flags a control event or an intent can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskFlag {
    ReduceOnly,
    NoNewOrders,
}

impl RiskFlag {
    pub const NAMES: [&'static str; 2] = ["reduce_only", "no_new_orders"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn from_index(i: usize) -> RiskFlag {
        [RiskFlag::ReduceOnly, RiskFlag::NoNewOrders][i]
    }
}

/// Which request a `cancel_rejected` report answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Cancel,
    Replace,
}

/// A validated event payload; the variant is the event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Bar {
        open: i64,
        high: i64,
        low: i64,
        close: i64,
        volume: i64,
    },
    Trade {
        price: i64,
        size: i64,
    },
    Quote {
        bid: i64,
        ask: i64,
        bid_size: i64,
        ask_size: i64,
    },
    OrderAccepted {
        order_id: String,
    },
    OrderRejected {
        order_id: String,
        reason: String,
    },
    OrderFilled {
        order_id: String,
        fill_id: String,
        qty: i64,
        price: i64,
        fee: i128,
    },
    OrderCancelled {
        order_id: String,
        reason: String,
    },
    CancelRejected {
        order_id: String,
        request: Request,
        reason: String,
    },
    OrderExpired {
        order_id: String,
    },
    OrderReplaced {
        order_id: String,
        qty: i64,
        price: Option<i64>,
        stop_price: Option<i64>,
    },
    Timer {
        timer_id: String,
    },
    Halt {
        reason: String,
    },
    Resume,
    SetRiskFlag {
        flag: RiskFlag,
        value: bool,
    },
}

impl Payload {
    pub fn event_type(&self) -> &'static str {
        match self {
            Payload::Bar { .. } => "bar",
            Payload::Trade { .. } => "trade",
            Payload::Quote { .. } => "quote",
            Payload::OrderAccepted { .. } => "order_accepted",
            Payload::OrderRejected { .. } => "order_rejected",
            Payload::OrderFilled { .. } => "order_filled",
            Payload::OrderCancelled { .. } => "order_cancelled",
            Payload::CancelRejected { .. } => "cancel_rejected",
            Payload::OrderExpired { .. } => "order_expired",
            Payload::OrderReplaced { .. } => "order_replaced",
            Payload::Timer { .. } => "timer",
            Payload::Halt { .. } => "halt",
            Payload::Resume => "resume",
            Payload::SetRiskFlag { .. } => "set_risk_flag",
        }
    }

    /// `payload.get("order_id")`: broker reports name the order they are about.
    pub fn order_id(&self) -> Option<&str> {
        match self {
            Payload::OrderAccepted { order_id }
            | Payload::OrderRejected { order_id, .. }
            | Payload::OrderFilled { order_id, .. }
            | Payload::OrderCancelled { order_id, .. }
            | Payload::CancelRejected { order_id, .. }
            | Payload::OrderExpired { order_id }
            | Payload::OrderReplaced { order_id, .. } => Some(order_id),
            _ => None,
        }
    }

    /// Canonical JSON of the payload object (keys in sorted order).
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        // Market data is most of any log: integer-only objects, written directly.
        match *self {
            Payload::Bar {
                open,
                high,
                low,
                close,
                volume,
            } => {
                let members = [
                    ("close", close),
                    ("high", high),
                    ("low", low),
                    ("open", open),
                    ("volume", volume),
                ];
                return write_int_object(out, &members);
            }
            Payload::Trade { price, size } => {
                return write_int_object(out, &[("price", price), ("size", size)]);
            }
            Payload::Quote {
                bid,
                ask,
                bid_size,
                ask_size,
            } => {
                let members = [
                    ("ask", ask),
                    ("ask_size", ask_size),
                    ("bid", bid),
                    ("bid_size", bid_size),
                ];
                return write_int_object(out, &members);
            }
            _ => {}
        }
        let mut o = ObjectWriter::new(out);
        match self {
            Payload::Bar { .. } | Payload::Trade { .. } | Payload::Quote { .. } => {
                unreachable!("written above")
            }
            Payload::OrderAccepted { order_id } | Payload::OrderExpired { order_id } => {
                o.str("order_id", order_id);
            }
            Payload::OrderRejected { order_id, reason } | Payload::OrderCancelled { order_id, reason } => {
                o.str("order_id", order_id);
                o.str("reason", reason);
            }
            Payload::OrderFilled {
                order_id,
                fill_id,
                qty,
                price,
                fee,
            } => {
                o.int("fee", *fee);
                o.str("fill_id", fill_id);
                o.str("order_id", order_id);
                o.int("price", *price);
                o.int("qty", *qty);
            }
            Payload::CancelRejected {
                order_id,
                request,
                reason,
            } => {
                o.str("order_id", order_id);
                o.str("reason", reason);
                o.str(
                    "request",
                    if *request == Request::Cancel {
                        "cancel"
                    } else {
                        "replace"
                    },
                );
            }
            Payload::OrderReplaced {
                order_id,
                qty,
                price,
                stop_price,
            } => {
                o.str("order_id", order_id);
                o.opt_int("price", *price);
                o.int("qty", *qty);
                o.opt_int("stop_price", *stop_price);
            }
            Payload::Timer { timer_id } => o.str("timer_id", timer_id),
            Payload::Halt { reason } => o.str("reason", reason),
            Payload::Resume => {}
            Payload::SetRiskFlag { flag, value } => {
                o.str("flag", flag.as_str());
                o.bool("value", *value);
            }
        }
        o.end();
    }
}

/// An event envelope; `seq_id` is `None` until the sequencer assigns one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq_id: Option<i64>,
    pub event_time: i64,
    pub ingest_time: i64,
    pub source: Source,
    pub venue: String,
    pub instrument: Option<String>,
    pub payload: Payload,
    pub idempotency_key: Option<String>,
    pub producer_index: i64,
}

impl Event {
    pub fn event_type(&self) -> &'static str {
        self.payload.event_type()
    }

    /// Canonical JSON of the envelope (literal key runs in sorted order, as in
    /// [`crate::record::Record`]'s writer).
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"event_time\":");
        write_int(out, self.event_time);
        out.extend_from_slice(b",\"event_type\":");
        write_name(out, self.event_type());
        out.extend_from_slice(b",\"idempotency_key\":");
        write_opt_str(out, self.idempotency_key.as_deref());
        out.extend_from_slice(b",\"ingest_time\":");
        write_int(out, self.ingest_time);
        out.extend_from_slice(b",\"instrument\":");
        write_opt_str(out, self.instrument.as_deref());
        out.extend_from_slice(b",\"kind\":\"event\",\"payload\":");
        self.payload.write_canonical(out);
        out.extend_from_slice(b",\"producer_index\":");
        write_int(out, self.producer_index);
        out.extend_from_slice(b",\"seq_id\":");
        write_opt_int(out, self.seq_id);
        out.extend_from_slice(b",\"source\":");
        write_name(out, self.source.as_str());
        out.extend_from_slice(b",\"venue\":");
        write_str(out, &self.venue);
        out.push(b'}');
    }
}

/// A strategy's intents; each raw intent is validated on its own when applied.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentBatch {
    pub seq_id: Option<i64>,
    pub batch_id: String,
    pub strategy_id: String,
    pub ts: i64,
    pub intents: Vec<Value>,
}

impl IntentBatch {
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        let mut o = ObjectWriter::new(out);
        o.str("batch_id", &self.batch_id);
        let buf = o.key("intents");
        buf.push(b'[');
        for (n, intent) in self.intents.iter().enumerate() {
            if n > 0 {
                buf.push(b',');
            }
            canonical::write_value(buf, intent).expect("intents were checked to be canonical when parsed");
        }
        buf.push(b']');
        o.str("kind", "intent_batch");
        o.opt_int("seq_id", self.seq_id);
        o.str("strategy_id", &self.strategy_id);
        o.int("ts", self.ts);
        o.end();
    }
}

/// One committed item: what a trace record's `input` holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Event(Event),
    Batch(IntentBatch),
}

impl Item {
    /// `event_time` of an event, `ts` of a batch: the time the item moves the clock to.
    pub fn time(&self) -> i64 {
        match self {
            Item::Event(e) => e.event_time,
            Item::Batch(b) => b.ts,
        }
    }

    pub fn seq_id(&self) -> Option<i64> {
        match self {
            Item::Event(e) => e.seq_id,
            Item::Batch(b) => b.seq_id,
        }
    }

    pub fn set_seq_id(&mut self, seq_id: i64) {
        match self {
            Item::Event(e) => e.seq_id = Some(seq_id),
            Item::Batch(b) => b.seq_id = Some(seq_id),
        }
    }

    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Item::Event(e) => e.write_canonical(out),
            Item::Batch(b) => b.write_canonical(out),
        }
    }
}

/// A parsed input line: one item, or an event group still to be ordered.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Item(Item),
    Group(Vec<Event>),
}

/// Parse any input item; the error names the bad field.
pub fn parse_input(value: &Value) -> VResult<Parsed> {
    let item = v::require_object(value, "$")?;
    match item.get("kind").and_then(Value::as_str) {
        Some("event") => Ok(Parsed::Item(Item::Event(parse_event(item, "$")?))),
        Some("intent_batch") => Ok(Parsed::Item(Item::Batch(parse_intent_batch(item)?))),
        Some("event_group") => {
            v::exact_keys(item, "$", &["kind", "events"], &[])?;
            let raw = match &item["events"] {
                Value::Array(list) if !list.is_empty() => list,
                _ => return v::fail("$.events", "expected a non-empty array of event envelopes"),
            };
            let mut events = Vec::with_capacity(raw.len());
            for (n, event) in raw.iter().enumerate() {
                let path = format!("$.events[{n}]");
                let envelope = v::require_object(event, &path)?;
                if envelope.get("kind").and_then(Value::as_str) != Some("event") {
                    return v::fail(field(&path, "kind"), "expected 'event'");
                }
                events.push(parse_event(envelope, &path)?);
            }
            Ok(Parsed::Group(events))
        }
        _ => v::fail(
            "$.kind",
            format!(
                "expected 'event', 'intent_batch' or 'event_group', got {}",
                item.get("kind").map_or("None".to_string(), Value::to_string)
            ),
        ),
    }
}

const ENVELOPE_KEYS: [&str; 11] = [
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
];

pub fn parse_event(obj: &Obj, path: &str) -> VResult<Event> {
    v::exact_keys(obj, path, &ENVELOPE_KEYS, &[])?;
    let seq_id = v::optional_integer64(obj, "seq_id", path, 1, I64_MAX)?;
    let event_time = v::integer64(obj, "event_time", path, 0, TIME_MAX)?;
    let ingest_time = v::integer64(obj, "ingest_time", path, 0, TIME_MAX)?;
    let event_type = EVENT_TYPES[v::choice(obj, "event_type", path, &EVENT_TYPES)?];
    let source = Source::ALL[v::choice(
        obj,
        "source",
        path,
        &["control", "broker_report", "market_data", "timer"],
    )?];
    if source_of(event_type) != source {
        return v::fail(
            field(path, "source"),
            format!(
                "event_type {event_type:?} comes from {:?}, not {:?}",
                source_of(event_type).as_str(),
                source.as_str()
            ),
        );
    }
    let venue = v::identifier(obj, "venue", path)?.to_string();
    let instrument = v::optional_identifier(obj, "instrument", path)?.map(str::to_string);
    if instrument.is_none() && matches!(source, Source::MarketData | Source::BrokerReport) {
        return v::fail(
            field(path, "instrument"),
            format!("{} events must name an instrument", source.as_str()),
        );
    }
    let idempotency_key = match &obj["idempotency_key"] {
        Value::Null => None,
        Value::String(s) if (1..=128).contains(&s.chars().count()) => Some(s.clone()),
        _ => {
            return v::fail(
                field(path, "idempotency_key"),
                "expected null or a string of 1..128 characters",
            )
        }
    };
    let producer_index = v::integer64(obj, "producer_index", path, 0, I64_MAX)?;
    let payload_path = field(path, "payload");
    let payload = parse_payload(
        event_type,
        v::require_object(&obj["payload"], &payload_path)?,
        &payload_path,
    )?;
    Ok(Event {
        seq_id,
        event_time,
        ingest_time,
        source,
        venue,
        instrument,
        payload,
        idempotency_key,
        producer_index,
    })
}

pub fn parse_intent_batch(obj: &Obj) -> VResult<IntentBatch> {
    v::exact_keys(
        obj,
        "$",
        &["kind", "seq_id", "batch_id", "strategy_id", "ts", "intents"],
        &[],
    )?;
    let intents = match &obj["intents"] {
        Value::Array(list) => list,
        _ => return v::fail("$.intents", "expected an array of intents"),
    };
    for (n, intent) in intents.iter().enumerate() {
        let typed = matches!(intent, Value::Object(m) if m.get("type").is_some_and(Value::is_string));
        if !typed {
            return v::fail(
                format!("$.intents[{n}]"),
                "expected an object with a string 'type'",
            );
        }
        integers_only(intent, &format!("$.intents[{n}]"))?;
    }
    Ok(IntentBatch {
        seq_id: v::optional_integer64(obj, "seq_id", "$", 1, I64_MAX)?,
        batch_id: v::identifier(obj, "batch_id", "$")?.to_string(),
        strategy_id: v::identifier(obj, "strategy_id", "$")?.to_string(),
        ts: v::integer64(obj, "ts", "$", 0, TIME_MAX)?,
        intents: intents.clone(),
    })
}

/// Refuse a number with a fraction or an exponent anywhere inside a raw
/// intent, naming its path (object keys in sorted order, as Python walks them).
///
/// Raw intents are echoed into the hashed trace, and canonical JSON carries
/// integers only (ADR 0005, ADR 0008): a float there would make the trace
/// depend on float formatting, and one too large for a double could not be
/// written at all. So the whole batch is refused before anything changes.
fn integers_only(value: &Value, path: &str) -> VResult<()> {
    match value {
        Value::Number(n) if !canonical::is_integer_text(n.as_str()) => v::fail(
            path,
            "expected an integer, got a float (numbers are fixed-point integers)",
        ),
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                integers_only(item, &format!("{path}[{n}]"))?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if !keys.is_sorted() {
                keys.sort_unstable(); // only with serde_json's `preserve_order`
            }
            for key in keys {
                integers_only(&map[key.as_str()], &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn price(obj: &Obj, key: &str, path: &str) -> VResult<i64> {
    v::integer64(obj, key, path, PRICE_MIN, PRICE_MAX)
}

fn size(obj: &Obj, key: &str, path: &str) -> VResult<i64> {
    v::integer64(obj, key, path, 0, QTY_MAX)
}

fn qty(obj: &Obj, key: &str, path: &str) -> VResult<i64> {
    v::integer64(obj, key, path, 1, QTY_MAX)
}

fn ident(obj: &Obj, key: &str, path: &str) -> VResult<String> {
    v::identifier(obj, key, path).map(str::to_string)
}

fn text(obj: &Obj, key: &str, path: &str) -> VResult<String> {
    v::string(obj, key, path, 200).map(str::to_string)
}

/// Check a payload against its event type (Python's `_payload`).
fn parse_payload(event_type: &str, obj: &Obj, path: &str) -> Result<Payload, Invalid> {
    let payload = match event_type {
        "bar" => {
            v::exact_keys(obj, path, &["open", "high", "low", "close", "volume"], &[])?;
            let open = price(obj, "open", path)?;
            let high = price(obj, "high", path)?;
            let low = price(obj, "low", path)?;
            let close = price(obj, "close", path)?;
            let volume = size(obj, "volume", path)?;
            if !(low <= open && open <= high && low <= close && close <= high) {
                return v::fail(
                    path,
                    format!(
                        "bar is inconsistent: need low <= open, close <= high (o={open} h={high} l={low} c={close})"
                    ),
                );
            }
            Payload::Bar {
                open,
                high,
                low,
                close,
                volume,
            }
        }
        "trade" => {
            v::exact_keys(obj, path, &["price", "size"], &[])?;
            Payload::Trade {
                price: price(obj, "price", path)?,
                size: size(obj, "size", path)?,
            }
        }
        "quote" => {
            v::exact_keys(obj, path, &["bid", "ask", "bid_size", "ask_size"], &[])?;
            Payload::Quote {
                bid: price(obj, "bid", path)?,
                ask: price(obj, "ask", path)?,
                bid_size: size(obj, "bid_size", path)?,
                ask_size: size(obj, "ask_size", path)?,
            }
        }
        "order_accepted" | "order_expired" => {
            v::exact_keys(obj, path, &["order_id"], &[])?;
            let order_id = ident(obj, "order_id", path)?;
            if event_type == "order_accepted" {
                Payload::OrderAccepted { order_id }
            } else {
                Payload::OrderExpired { order_id }
            }
        }
        "order_rejected" | "order_cancelled" => {
            v::exact_keys(obj, path, &["order_id", "reason"], &[])?;
            let order_id = ident(obj, "order_id", path)?;
            let reason = text(obj, "reason", path)?;
            if event_type == "order_rejected" {
                Payload::OrderRejected { order_id, reason }
            } else {
                Payload::OrderCancelled { order_id, reason }
            }
        }
        "order_filled" => {
            v::exact_keys(obj, path, &["order_id", "fill_id", "qty", "price", "fee"], &[])?;
            Payload::OrderFilled {
                order_id: ident(obj, "order_id", path)?,
                fill_id: ident(obj, "fill_id", path)?,
                qty: qty(obj, "qty", path)?,
                price: price(obj, "price", path)?,
                fee: v::integer(obj, "fee", path, 0, MONEY_MAX)?,
            }
        }
        "cancel_rejected" => {
            v::exact_keys(obj, path, &["order_id", "request", "reason"], &[])?;
            let order_id = ident(obj, "order_id", path)?;
            let request =
                [Request::Cancel, Request::Replace][v::choice(obj, "request", path, &["cancel", "replace"])?];
            let reason = text(obj, "reason", path)?;
            Payload::CancelRejected {
                order_id,
                request,
                reason,
            }
        }
        "order_replaced" => {
            v::exact_keys(obj, path, &["order_id", "qty", "price", "stop_price"], &[])?;
            Payload::OrderReplaced {
                order_id: ident(obj, "order_id", path)?,
                qty: qty(obj, "qty", path)?,
                price: v::optional_integer64(obj, "price", path, PRICE_MIN, PRICE_MAX)?,
                stop_price: v::optional_integer64(obj, "stop_price", path, PRICE_MIN, PRICE_MAX)?,
            }
        }
        "timer" => {
            v::exact_keys(obj, path, &["timer_id"], &[])?;
            Payload::Timer {
                timer_id: ident(obj, "timer_id", path)?,
            }
        }
        "halt" => {
            v::exact_keys(obj, path, &["reason"], &[])?;
            Payload::Halt {
                reason: text(obj, "reason", path)?,
            }
        }
        "resume" => {
            v::exact_keys(obj, path, &[], &[])?;
            Payload::Resume
        }
        "set_risk_flag" => {
            v::exact_keys(obj, path, &["flag", "value"], &[])?;
            Payload::SetRiskFlag {
                flag: RiskFlag::from_index(v::choice(obj, "flag", path, &RiskFlag::NAMES)?),
                value: v::boolean(obj, "value", path)?,
            }
        }
        other => unreachable!("event type {other} was checked against EVENT_TYPES"),
    };
    Ok(payload)
}

pub(crate) fn risk_flag_from_index(i: usize) -> RiskFlag {
    RiskFlag::from_index(i)
}

/// `{"key":value,...}` for integer members given in sorted key order: the
/// market-data payloads, which are most of any log, written without the
/// general object writer.
fn write_int_object(out: &mut Vec<u8>, members: &[(&str, i64)]) {
    for (n, (key, value)) in members.iter().enumerate() {
        out.extend_from_slice(if n == 0 { b"{\"" } else { b",\"" });
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        write_int(out, *value);
    }
    out.push(b'}');
}
